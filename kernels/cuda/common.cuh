/*
 * common.cuh - what every file of the CUDA backend shares: the C headers of the library seen
 * from C++, the (score, id) order of results, the cosine epilogue, the allow-list test on the
 * device, and turning CUDA / cuBLAS errors into statuses.
 *
 * The epilogue is the CPU's, the same function (mvke_cosine, kernels/cosine.h):
 *     s = den2 > qtr * 1e-9 * rtr && den2 > 0 ? num / sqrt(den2) : 0, clamped to [-1, 1]
 * with qtr, rtr the traces (squared norms) of the query and row Gram triangles, so that the two
 * backends agree to rounding and give exactly 0 in the same degenerate cases.
 */
#ifndef MVKE_CUDA_COMMON_CUH
#define MVKE_CUDA_COMMON_CUH

#include <cublas_v2.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

extern "C" {
#include "../backend.h"
#include "../gram.h"
#include "../half.h"
#include "../runtime.h"
}

/* Threads per block of the selection kernels. */
#define MVKE_CU_THREADS 256
/* Largest k of top-k searches the selection kernels take (the CPU backend has no limit; the
 * GPU backend hands larger k to it, see cuda_backend.cu). */
#define MVKE_CU_MAX_K 2048

/* A result candidate. Empty entries have id -1 and score -INFINITY. */
typedef struct mvke_cu_cand {
    float s;
    int64_t id;
} mvke_cu_cand;

/* Whether a ranks strictly above b: larger score, or equal score and smaller id. Empty entries
 * (id < 0) rank below everything. */
__device__ __forceinline__ bool mvke_cu_better(float as, int64_t aid, float bs, int64_t bid) {
    if (aid < 0) return false;
    if (bid < 0) return true;
    return as > bs || (as == bs && aid < bid);
}

/* The gated cosine of one (row, query) pair from its numerator and Gram triangles. */
__device__ __forceinline__ float mvke_cu_cosine(float num, const float *__restrict__ grow,
                                                const float *__restrict__ gq, int P, float rtr,
                                                float qtr) {
    float den2 = 0.0f;
    for (int p = 0; p < P; p++) den2 = fmaf(grow[p], gq[p], den2);
    return mvke_cosine(num, den2, qtr * MVKE_DEN2_REL_FLOOR * rtr);
}

/* The allow-list on the device: kind 0 lets every id pass, kind 1 is a bitmap over
 * [0, nbits), kind 2 a sorted id array (possibly empty: nothing passes), as mvke_kfilter_pass. */
typedef struct mvke_cu_filter {
    int kind;
    const uint8_t *bits;
    int64_t nbits;
    const int64_t *sorted;
    int64_t nsorted;
} mvke_cu_filter;

__device__ __forceinline__ bool mvke_cu_pass(const mvke_cu_filter &f, int64_t id) {
    if (f.kind == 0) return true;
    if (f.kind == 1) return id >= 0 && id < f.nbits && ((f.bits[id >> 3] >> (id & 7)) & 1);
    int64_t lo = 0, hi = f.nsorted;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (f.sorted[mid] < id) lo = mid + 1; else hi = mid;
    }
    return lo < f.nsorted && f.sorted[lo] == id;
}

/* Row values as float whatever their storage. */
__device__ __forceinline__ float mvke_cu_load(const float *p, int64_t i) { return p[i]; }
__device__ __forceinline__ float mvke_cu_load(const __half *p, int64_t i) { return __half2float(p[i]); }

/* Sets the calling thread's error from a CUDA error and returns the status to fail with
 * (MVKE_ERR_NOMEM for device allocations, MVKE_ERR_BACKEND otherwise). */
mvke_status mvke_cu_fail(cudaError_t err, const char *what, int device);
mvke_status mvke_cu_fail_blas(cublasStatus_t err, const char *what, int device);

#define MVKE_CU_TRY(dev, expr)                                                              \
    do {                                                                                    \
        cudaError_t e_ = (expr);                                                            \
        if (e_ != cudaSuccess) return mvke_cu_fail(e_, #expr, (dev));                       \
    } while (0)

#define MVKE_BLAS_TRY(dev, expr)                                                            \
    do {                                                                                    \
        cublasStatus_t e_ = (expr);                                                         \
        if (e_ != CUBLAS_STATUS_SUCCESS) return mvke_cu_fail_blas(e_, #expr, (dev));        \
    } while (0)

/* Returns early when a status is not MVKE_OK. */
#define MVKE_OK_OR_RETURN(expr)                                                             \
    do {                                                                                    \
        mvke_status s_ = (expr);                                                            \
        if (s_ != MVKE_OK) return s_;                                                       \
    } while (0)

/* Checks the last kernel launch (and clears a launch error so it does not stick). */
#define MVKE_CU_LAUNCHED(dev, what)                                                         \
    do {                                                                                    \
        cudaError_t e_ = cudaGetLastError();                                                \
        if (e_ != cudaSuccess) return mvke_cu_fail(e_, "launching " what, (dev));           \
    } while (0)

#endif
