/*
 * refine.h - exact re-scoring of a codec index's candidates with the float32 rows it keeps
 * (the layout's refine plane). Called by the search drivers under the index's read lock.
 */
#ifndef MVKE_INDEX_REFINE_H
#define MVKE_INDEX_REFINE_H

#include <stdint.h>

#include "store.h"

/* The exact score of the row at position p for query z (K*d floats) with plain Gram triangle
 * qgram and trace qtr, computed in double with the backends' guard and clamp. */
float mvke_refine_score(const mvke_store *s, int64_t p, const float *z, const float *qgram, float qtr);

/* For each of nq queries: re-scores its kk candidates (cand_i, -1 for none) exactly and writes
 * the k best (score, then smaller id) to out_s/out_i (nq*k, padded with -INFINITY / -1). */
void mvke_refine_topk(const mvke_store *s, int64_t nq, const float *z, const float *qgram, int64_t kk,
                      const int64_t *cand_i, int64_t k, float *out_s, int64_t *out_i);

/* Re-scores n hits in place exactly and keeps those with score >= min_score, sorted; returns the
 * count kept. */
int64_t mvke_refine_hits(const mvke_store *s, const float *z, const float *qgram, float min_score, int64_t n,
                         int64_t *ids, float *scores);

#endif
