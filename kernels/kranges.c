/*
 * kranges.c - the variable-length results of threshold searches (backend.h), shared by the
 * backends.
 */
#include "backend.h"
#include "runtime.h"

void mvke_kranges_release(mvke_kranges *r) {
    mvke_free(r->lims);
    mvke_free(r->ids);
    mvke_free(r->scores);
    r->lims = NULL;
    r->ids = NULL;
    r->scores = NULL;
    r->nq = 0;
}

mvke_status mvke_kranges_alloc(mvke_kranges *r, int64_t nq, int64_t total) {
    r->nq = nq;
    r->lims = mvke_malloc_array((size_t)nq + 1, sizeof *r->lims);
    r->ids = mvke_malloc_array((size_t)(total ? total : 1), sizeof *r->ids);
    r->scores = mvke_malloc_array((size_t)(total ? total : 1), sizeof *r->scores);
    if (r->lims && r->ids && r->scores) return MVKE_OK;
    mvke_kranges_release(r);
    return mvke_error(MVKE_ERR_NOMEM, "out of memory collecting %lld threshold hits", (long long)total);
}
