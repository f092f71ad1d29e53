/*
 * resources.cuh - what one device needs for searches, owned in one place: two lanes (a stream,
 * a cuBLAS handle bound to it and the lane's scratch memory each), so that the upload or the
 * selection of one row tile overlaps the product of the next; plus the per-search buffers
 * (queries, allow-list) shared by both lanes. Nothing uses the default stream.
 *
 * Buffers only grow: a search reserves what its plan needs, and later searches of the same
 * shape allocate nothing.
 */
#ifndef MVKE_CUDA_RESOURCES_CUH
#define MVKE_CUDA_RESOURCES_CUH

#include "common.cuh"

/* Device memory that only grows. */
typedef struct mvke_cu_buf {
    void *p;
    size_t bytes;
} mvke_cu_buf;

/* Pinned host memory that only grows (for asynchronous copies). */
typedef struct mvke_cu_hostbuf {
    void *p;
    size_t bytes;
} mvke_cu_hostbuf;

/* One stream with its cuBLAS handle and scratch. */
typedef struct mvke_cu_lane {
    cudaStream_t stream;
    cublasHandle_t blas;
    cudaEvent_t done;
    mvke_cu_buf num;                /* the product tile: tile rows x tile queries floats */
    mvke_cu_buf cand_s, cand_id;    /* per (query, chunk) candidates of the tile */
    mvke_cu_buf run_s, run_id;      /* per query: the best k so far on this lane */
    mvke_cu_buf tx, tg, tid, trtr;  /* a streamed row tile: rows, Gram, ids, traces */
    mvke_cu_hostbuf bounce;         /* pinned staging of a streamed tile or query chunk */
    mvke_cu_hostbuf bounce_out;     /* pinned staging of results going back */
    mvke_cu_buf out_s, out_id;      /* results of a query chunk (fused user -> tags path) */
} mvke_cu_lane;

typedef struct mvke_cu_res {
    int device;
    int tf32;
    mvke_cu_lane lane[2];
    mvke_cu_buf q, qh, gq, qtr;     /* the current query tile: float rows, float16 rows, Gram, traces */
    mvke_cu_buf fbits, fsorted;     /* the allow-list of the current search */
    mvke_cu_buf count, cursor;      /* per query hit counters of a threshold search */
    mvke_cu_buf hit_s, hit_id;      /* threshold hits of a query tile */
} mvke_cu_res;

/* Creates the streams, handles and events of device `device` (made current).
 * Errors: MVKE_ERR_BACKEND naming the failing call. On error nothing is left allocated. */
mvke_status mvke_cu_res_init(mvke_cu_res *r, int device, int tf32);

/* Frees everything (on the right device). Safe on a zeroed or partly made resources object. */
void mvke_cu_res_release(mvke_cu_res *r);

/* Makes b hold at least `bytes` bytes (contents not kept). Errors: MVKE_ERR_NOMEM. */
mvke_status mvke_cu_reserve(mvke_cu_buf *b, size_t bytes, int device);
mvke_status mvke_cu_reserve_host(mvke_cu_hostbuf *b, size_t bytes, int device);

void mvke_cu_buf_release(mvke_cu_buf *b);
void mvke_cu_hostbuf_release(mvke_cu_hostbuf *b);

#endif
