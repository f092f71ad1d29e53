/*
 * listed.h - searches of an index by its lists (listed.c), for the search drivers (search.c).
 */
#ifndef MVKE_INDEX_LISTED_H
#define MVKE_INDEX_LISTED_H

#include "../kernels/backend.h"
#include "mvke/mvke.h"

/* Whether the index's searches go by lists: it has lists and searches on the CPU. */
int mvke_listed_applies(const mvke_index *ix);

/* Top-k and threshold searches as the backend's knn and range over db (the whole store, viewed
 * under the read lock), reading the lists the bounds or the probe count choose. db->stats, when
 * set, receives the users a query read (mean over the queries), the users re-scored, whether
 * every answer is certified exact and the lists read (summed over the queries). */
mvke_status mvke_listed_knn(const mvke_index *ix, const mvke_kdb *db, const mvke_kqueries *q, int64_t k,
                            const mvke_kfilter *filter, float *out_s, int64_t *out_i);
mvke_status mvke_listed_range(const mvke_index *ix, const mvke_kdb *db, const mvke_kqueries *q, float min_score,
                              const mvke_kfilter *filter, mvke_kranges *out);

#endif
