/*
 * gemm.cu - the numerator product with cuBLAS (see gemm.cuh).
 */
#include "gemm.cuh"

mvke_status mvke_cu_gemm_num(cublasHandle_t blas, const mvke_cu_rows *rows, int D, const float *qf,
                             const __half *qh, int tq, float *num, int tf32, int device) {
    if (rows->n <= 0 || tq <= 0) return MVKE_OK;
    const float one = 1.0f, zero = 0.0f;
    const int n = (int)rows->n;
    /* Column-major view: the row tile is a D x n matrix (one row per column), transposed. */
    if (rows->half) {
        MVKE_BLAS_TRY(device, cublasGemmEx(blas, CUBLAS_OP_T, CUBLAS_OP_N, n, tq, D, &one, rows->x,
                                           CUDA_R_16F, D, qh, CUDA_R_16F, D, &zero, num, CUDA_R_32F,
                                           n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    } else {
        MVKE_BLAS_TRY(device, cublasGemmEx(blas, CUBLAS_OP_T, CUBLAS_OP_N, n, tq, D, &one, rows->x,
                                           CUDA_R_32F, D, qf, CUDA_R_32F, D, &zero, num, CUDA_R_32F,
                                           n, tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F,
                                           CUBLAS_GEMM_DEFAULT));
    }
    return MVKE_OK;
}

__global__ void to_half_kernel(const float *src, __half *dst, int64_t n) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) dst[i] = __float2half_rn(src[i]);
}

mvke_status mvke_cu_to_half(const float *src, __half *dst, int64_t n, cudaStream_t stream, int device) {
    if (n <= 0) return MVKE_OK;
    to_half_kernel<<<(unsigned)((n + 255) / 256), 256, 0, stream>>>(src, dst, n);
    MVKE_CU_LAUNCHED(device, "the float16 conversion kernel");
    return MVKE_OK;
}
