/*
 * result.c - mvke_result: per-query lists of (id, score).
 */
#include "result.h"

#include <string.h>

#include "../kernels/runtime.h"

mvke_status mvke_result_from_ranges(mvke_kranges *r, mvke_result **out) {
    mvke_result *res = mvke_calloc(1, sizeof *res);
    if (!res) {
        mvke_kranges_release(r);
        return mvke_error(MVKE_ERR_NOMEM, "out of memory for a result");
    }
    res->r = *r;
    memset(r, 0, sizeof *r);
    *out = res;
    return MVKE_OK;
}

mvke_status mvke_result_from_topk(int64_t nq, int64_t k, const float *D, const int64_t *I,
                                  mvke_result **out) {
    int64_t total = 0;
    for (int64_t i = 0; i < nq * k; i++) total += I[i] >= 0;
    mvke_kranges r = {nq, NULL, NULL, NULL};
    r.lims = mvke_malloc_array((size_t)nq + 1, sizeof *r.lims);
    r.ids = mvke_malloc_array((size_t)(total ? total : 1), sizeof *r.ids);
    r.scores = mvke_malloc_array((size_t)(total ? total : 1), sizeof *r.scores);
    if (!r.lims || !r.ids || !r.scores) {
        mvke_kranges_release(&r);
        return mvke_error(MVKE_ERR_NOMEM, "out of memory for a result of %lld entries", (long long)total);
    }
    int64_t at = 0;
    for (int64_t q = 0; q < nq; q++) {
        r.lims[q] = at;
        for (int64_t j = 0; j < k && I[q * k + j] >= 0; j++, at++) {
            r.ids[at] = I[q * k + j];
            r.scores[at] = D[q * k + j];
        }
    }
    r.lims[nq] = at;
    return mvke_result_from_ranges(&r, out);
}

mvke_status mvke_result_nqueries(const mvke_result *res, int64_t *nq) {
    if (!res || !nq) return mvke_error(MVKE_ERR_INVALID, "result or nq is NULL");
    *nq = res->r.nq;
    return MVKE_OK;
}

mvke_status mvke_result_get(const mvke_result *res, int64_t i, const int64_t **ids,
                            const float **scores, int64_t *n) {
    if (!res || !n) return mvke_error(MVKE_ERR_INVALID, "result or n is NULL");
    if (i < 0 || i >= res->r.nq)
        return mvke_error(MVKE_ERR_INVALID, "query %lld is out of range [0, %lld)", (long long)i,
                          (long long)res->r.nq);
    int64_t a = res->r.lims[i];
    *n = res->r.lims[i + 1] - a;
    if (ids) *ids = res->r.ids + a;
    if (scores) *scores = res->r.scores + a;
    return MVKE_OK;
}

mvke_status mvke_result_total(const mvke_result *res, int64_t *total) {
    if (!res || !total) return mvke_error(MVKE_ERR_INVALID, "result or total is NULL");
    *total = res->r.lims[res->r.nq];
    return MVKE_OK;
}

void mvke_result_free(mvke_result *res) {
    if (!res) return;
    mvke_kranges_release(&res->r);
    mvke_free(res);
}
