/*
 * host.cu - the library functions the module calls (runtime.h, backend.h, half.h, layout.h,
 * topk.h), defined here over the host table that mvke_cuda_module_entry received (host.cuh).
 * Hidden like everything in the module but its entry point, so they never stand in for the
 * library's own functions in the process that loads the module.
 */
#include <stdarg.h>
#include <stdio.h>

extern "C" {
#include "../backend.h"
#include "../half.h"
#include "../layout.h"
#include "../runtime.h"
#include "../cpu/topk.h"
}
#include "host.cuh"

static const mvke_cuda_host *H;

int mvke_cuda_host_set(const mvke_cuda_host *host) {
    if (!host || host->abi != MVKE_CUDA_MODULE_ABI || host->size != sizeof(mvke_cuda_host)) return -1;
    H = host;
    return 0;
}

extern "C" {

static mvke_status verror(mvke_status status, const char *fmt, va_list ap) {
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    return H->error(status, msg);
}

mvke_status mvke_error(mvke_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    mvke_status st = verror(status, fmt, ap);
    va_end(ap);
    return st;
}

void mvke_error_clear(void) { H->error_clear(); }
const char *mvke_last_error(void) { return H->last_error(); }
void *mvke_malloc(size_t size) { return H->malloc(size); }
void *mvke_calloc(size_t count, size_t size) { return H->calloc(count, size); }
void *mvke_realloc(void *ptr, size_t size) { return H->realloc(ptr, size); }
void mvke_free(void *ptr) { H->free(ptr); }
void *mvke_malloc_array(size_t count, size_t size) { return H->malloc_array(count, size); }
const mvke_backend *mvke_backend_cpu(void) { return H->backend_cpu(); }
mvke_status mvke_kranges_alloc(mvke_kranges *r, int64_t nq, int64_t total) { return H->kranges_alloc(r, nq, total); }
void mvke_kranges_release(mvke_kranges *r) { H->kranges_release(r); }
void mvke_half_from_float(const float *src, uint16_t *dst, size_t n) { H->half_from_float(src, dst, n); }
void mvke_layout_get(const mvke_layout *L, const void *block, int64_t cap, int64_t r, float *row, float *gram) {
    H->layout_get(L, block, cap, r, row, gram);
}
void mvke_pairs_sort(float *s, int64_t *id, int64_t n) { H->pairs_sort(s, id, n); }
void mvke_topk_init(mvke_topk *h, float *s, int64_t *id, int64_t k) { H->topk_init(h, s, id, k); }
void mvke_topk_push(mvke_topk *h, float s, int64_t id) { H->topk_push(h, s, id); }
void mvke_topk_finish(mvke_topk *h) { H->topk_finish(h); }

}
