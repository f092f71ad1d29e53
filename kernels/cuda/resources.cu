/*
 * resources.cu - per-device streams, cuBLAS handles and grow-only scratch (see resources.cuh),
 * and the translation of CUDA and cuBLAS errors into statuses.
 */
#include <string.h>

#include "resources.cuh"

mvke_status mvke_cu_fail(cudaError_t err, const char *what, int device) {
    mvke_status st = err == cudaErrorMemoryAllocation ? MVKE_ERR_NOMEM : MVKE_ERR_BACKEND;
    return mvke_error(st, "CUDA error on device %d in %s: %s (%s)", device, what,
                      cudaGetErrorString(err), cudaGetErrorName(err));
}

mvke_status mvke_cu_fail_blas(cublasStatus_t err, const char *what, int device) {
    mvke_status st = err == CUBLAS_STATUS_ALLOC_FAILED ? MVKE_ERR_NOMEM : MVKE_ERR_BACKEND;
    return mvke_error(st, "cuBLAS error on device %d in %s: %s", device, what,
                      cublasGetStatusString(err));
}

mvke_status mvke_cu_res_init(mvke_cu_res *r, int device, int tf32) {
    memset(r, 0, sizeof *r);
    r->device = device;
    r->tf32 = tf32;
    mvke_status st = MVKE_OK;
    cudaError_t e = cudaSetDevice(device);
    if (e != cudaSuccess) return mvke_cu_fail(e, "cudaSetDevice", device);
    for (int l = 0; l < 2 && st == MVKE_OK; l++) {
        mvke_cu_lane *ln = &r->lane[l];
        if ((e = cudaStreamCreateWithFlags(&ln->stream, cudaStreamNonBlocking)) != cudaSuccess)
            st = mvke_cu_fail(e, "cudaStreamCreateWithFlags", device);
        else if ((e = cudaEventCreateWithFlags(&ln->done, cudaEventDisableTiming)) != cudaSuccess)
            st = mvke_cu_fail(e, "cudaEventCreateWithFlags", device);
        else {
            cublasStatus_t b = cublasCreate(&ln->blas);
            if (b != CUBLAS_STATUS_SUCCESS) {
                ln->blas = NULL;
                st = mvke_cu_fail_blas(b, "cublasCreate", device);
            } else if ((b = cublasSetStream(ln->blas, ln->stream)) != CUBLAS_STATUS_SUCCESS) {
                st = mvke_cu_fail_blas(b, "cublasSetStream", device);
            } else if ((b = cublasSetPointerMode(ln->blas, CUBLAS_POINTER_MODE_HOST)) !=
                       CUBLAS_STATUS_SUCCESS) {
                st = mvke_cu_fail_blas(b, "cublasSetPointerMode", device);
            }
        }
    }
    if (st != MVKE_OK) mvke_cu_res_release(r);
    return st;
}

void mvke_cu_buf_release(mvke_cu_buf *b) {
    if (b->p) cudaFree(b->p);
    b->p = NULL;
    b->bytes = 0;
}

void mvke_cu_hostbuf_release(mvke_cu_hostbuf *b) {
    if (b->p) cudaFreeHost(b->p);
    b->p = NULL;
    b->bytes = 0;
}

void mvke_cu_res_release(mvke_cu_res *r) {
    if (cudaSetDevice(r->device) != cudaSuccess) {
        cudaGetLastError();
        memset(r, 0, sizeof *r);
        return;
    }
    for (int l = 0; l < 2; l++) {
        mvke_cu_lane *ln = &r->lane[l];
        if (ln->stream) cudaStreamSynchronize(ln->stream);
        mvke_cu_buf *bufs[] = {&ln->num, &ln->cand_s, &ln->cand_id, &ln->run_s, &ln->run_id,
                               &ln->tx, &ln->tg, &ln->tid, &ln->trtr, &ln->out_s, &ln->out_id};
        for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) mvke_cu_buf_release(bufs[i]);
        mvke_cu_hostbuf_release(&ln->bounce);
        mvke_cu_hostbuf_release(&ln->bounce_out);
        if (ln->blas) cublasDestroy(ln->blas);
        if (ln->done) cudaEventDestroy(ln->done);
        if (ln->stream) cudaStreamDestroy(ln->stream);
    }
    mvke_cu_buf *bufs[] = {&r->q, &r->qh, &r->gq, &r->qtr, &r->fbits, &r->fsorted,
                           &r->count, &r->cursor, &r->hit_s, &r->hit_id};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) mvke_cu_buf_release(bufs[i]);
    cudaGetLastError();
    int dev = r->device;
    memset(r, 0, sizeof *r);
    r->device = dev;
}

mvke_status mvke_cu_reserve(mvke_cu_buf *b, size_t bytes, int device) {
    if (bytes == 0) bytes = 1;
    if (b->bytes >= bytes) return MVKE_OK;
    mvke_cu_buf_release(b);
    cudaError_t e = cudaMalloc(&b->p, bytes);
    if (e != cudaSuccess) {
        cudaGetLastError();
        b->p = NULL;
        return mvke_error(MVKE_ERR_NOMEM, "cannot allocate %zu bytes on device %d: %s", bytes,
                          device, cudaGetErrorString(e));
    }
    b->bytes = bytes;
    return MVKE_OK;
}

mvke_status mvke_cu_reserve_host(mvke_cu_hostbuf *b, size_t bytes, int device) {
    if (bytes == 0) bytes = 1;
    if (b->bytes >= bytes) return MVKE_OK;
    mvke_cu_hostbuf_release(b);
    cudaError_t e = cudaMallocHost(&b->p, bytes);
    if (e != cudaSuccess) {
        cudaGetLastError();
        b->p = NULL;
        return mvke_error(MVKE_ERR_NOMEM, "cannot allocate %zu bytes of pinned host memory for device %d: %s",
                          bytes, device, cudaGetErrorString(e));
    }
    b->bytes = bytes;
    return MVKE_OK;
}
