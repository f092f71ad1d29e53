/*
 * result.h - building mvke_result objects from backend output.
 */
#ifndef MVKE_INDEX_RESULT_H
#define MVKE_INDEX_RESULT_H

#include "../kernels/backend.h"
#include "mvke/mvke.h"

struct mvke_result {
    mvke_kranges r;
};

/* Takes over the arrays of r (r is zeroed). */
mvke_status mvke_result_from_ranges(mvke_kranges *r, mvke_result **out);

/* A result from fixed-size top-k output: nq rows of k entries, padding (id -1) dropped. */
mvke_status mvke_result_from_topk(int64_t nq, int64_t k, const float *D, const int64_t *I,
                                  mvke_result **out);

#endif
