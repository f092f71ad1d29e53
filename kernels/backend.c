/*
 * backend.c - where backends are registered and picked.
 */
#include "backend.h"

#include "runtime.h"

const mvke_backend *mvke_backend_default(void) { return mvke_backend_cpu(); }

/* The one place that knows whether the CUDA backend was built: without it, its constructor and
 * device count say so. With it, both are defined in kernels/cuda/cuda_backend.cu. */
#ifndef MVKE_WITH_CUDA
#define MVKE_NO_CUDA_MESSAGE \
    "this library was built without the CUDA backend (nvcc was not found at build time, or " \
    "-Dcuda=disabled); searches run on the CPU backend"

mvke_status mvke_backend_cuda_new(const mvke_cuda_config *cfg, const mvke_backend **out) {
    (void)cfg;
    if (out) *out = NULL;
    return mvke_error(MVKE_ERR_UNSUPPORTED, "%s", MVKE_NO_CUDA_MESSAGE);
}

mvke_status mvke_cuda_device_count(int *n) {
    if (n) *n = 0;
    return mvke_error(MVKE_ERR_UNSUPPORTED, "%s", MVKE_NO_CUDA_MESSAGE);
}
#endif

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
