/*
 * shard.cuh - database rows on a device. A shard is a contiguous range of the index's rows in
 * storage order (rows of every block, one after the other), kept on one device as one view:
 * rows (float32, or float16 when every block of the index stores float16), Gram triangles, ids
 * and the traces of the triangles (computed on the device). The same staging code fills a
 * resident shard once and, for indexes larger than device memory, each streamed row tile.
 */
#ifndef MVKE_CUDA_SHARD_CUH
#define MVKE_CUDA_SHARD_CUH

#include "resources.cuh"

/* A device view of n consecutive rows. */
typedef struct mvke_cu_rows {
    const void *x;       /* n * D values: __half when half, else float */
    int half;
    const float *gram;   /* n * P */
    const int64_t *ids;  /* n */
    const float *rtr;    /* n traces of the Gram triangles */
    int64_t n;
} mvke_cu_rows;

/* The view of rows [off, off + n) of a view. */
mvke_cu_rows mvke_cu_rows_slice(const mvke_cu_rows *r, int64_t off, int64_t n, int D, int P);

/* Where the rows of a database are: block b holds global rows [start[b], start[b+1]). */
typedef struct mvke_cu_layout {
    const mvke_kdb *db;
    int64_t *start;      /* nblocks + 1 entries, mvke_malloc'd */
    int64_t nrows;
    int half;            /* every non-empty block stores float16 */
} mvke_cu_layout;

mvke_status mvke_cu_layout_make(mvke_cu_layout *L, const mvke_kdb *db);
void mvke_cu_layout_release(mvke_cu_layout *L);

/* Device bytes one row takes in a shard. */
size_t mvke_cu_row_bytes(int D, int P, int half);

/* Device buffers of a set of rows. */
typedef struct mvke_cu_rowbufs {
    mvke_cu_buf *x, *gram, *ids, *rtr;
} mvke_cu_rowbufs;

/* Reserves room for n rows in bufs. Errors: MVKE_ERR_NOMEM. */
mvke_status mvke_cu_rows_reserve(const mvke_cu_rowbufs *bufs, int64_t n, int D, int P, int half,
                                 int device);

/* Copies global rows [r0, r0 + n) into bufs (reserved for n rows) asynchronously on stream:
 * they are converted into pinned `bounce` on the host, then copied, then their traces computed.
 * The caller must have waited for the previous copy out of bounce. Fills *view.
 * Errors: MVKE_ERR_NOMEM (pinned memory), MVKE_ERR_BACKEND. */
mvke_status mvke_cu_rows_stage(const mvke_cu_layout *L, int64_t r0, int64_t n,
                               const mvke_cu_rowbufs *bufs, mvke_cu_hostbuf *bounce,
                               cudaStream_t stream, int device, mvke_cu_rows *view);

/* Uploads global rows [r0, r0 + n) into bufs in pieces through bounce and waits for the
 * copies: the resident shard of a device. */
mvke_status mvke_cu_rows_upload(const mvke_cu_layout *L, int64_t r0, int64_t n,
                                const mvke_cu_rowbufs *bufs, mvke_cu_hostbuf *bounce,
                                cudaStream_t stream, int device, mvke_cu_rows *view);

/* Traces of n Gram triangles (same summation order as mvke_gram_trace). */
mvke_status mvke_cu_traces(const float *gram, int64_t n, int K, float *rtr, cudaStream_t stream,
                           int device);

#endif
