/*
 * gemm.cuh - the numerator product of a row tile and a query tile with cuBLAS:
 *     num[u + q * n] = <row u, query q>       (n tile rows, tq queries, column-major)
 * float32 rows: exact float32 products, or TF32 tensor cores when asked (about 1e-3 relative
 * error, so off by default: the backends must agree to 1e-5). float16 rows: float16 inputs
 * (the queries rounded once per search) with float32 accumulation (cublasGemmEx).
 */
#ifndef MVKE_CUDA_GEMM_CUH
#define MVKE_CUDA_GEMM_CUH

#include "shard.cuh"

/* qf: tq float32 queries (rows of D); qh: the same rounded to float16 (used with float16
 * rows). num: room for rows->n * tq floats. */
mvke_status mvke_cu_gemm_num(cublasHandle_t blas, const mvke_cu_rows *rows, int D, const float *qf,
                             const __half *qh, int tq, float *num, int tf32, int device);

/* dst[i] = (half)src[i] for i < n. */
mvke_status mvke_cu_to_half(const float *src, __half *dst, int64_t n, cudaStream_t stream, int device);

#endif
