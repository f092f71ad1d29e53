/*
 * select.cuh - per-query top-k selection on the device, fused with the cosine epilogue.
 *
 * Design notes.
 * 1. One row tile of the product, num (tile rows x tile queries, column-major), is cut into
 *    chunks of rows. One thread block takes one (chunk, query): it turns each product into a
 *    cosine (Gram dot product, guard, clamp) and offers it to a selector in shared memory, then
 *    writes the chunk's best k. The product tile is the only score memory; scores are never
 *    written back, only k candidates per chunk.
 * 2. The selector is a buffer of B = next power of two >= k + threads entries: a round appends
 *    the candidates that beat the current threshold (atomic slot counter); when the next round
 *    might not fit, the buffer is bitonic-sorted and cut to k, and the k-th entry becomes the
 *    threshold. Each chunk starts from the query's running k-th best, so in steady state almost
 *    nothing is appended and the cost is the epilogue itself.
 * 3. A second kernel merges each query's running list with its chunk candidates (the same
 *    selector), so after every tile the running list holds the best k of all rows seen.
 * 4. The order is total: score descending, then smaller id; empty entries are (-INFINITY, -1)
 *    and rank last. This is the CPU backend's order, so results match exactly up to rounding.
 */
#ifndef MVKE_CUDA_SELECT_CUH
#define MVKE_CUDA_SELECT_CUH

#include "shard.cuh"

typedef struct mvke_cu_select_args {
    const float *num;       /* num[u + q * ld]: products of tile row u with query q */
    int64_t ld;
    mvke_cu_rows rows;      /* the tile's rows */
    const float *gq;        /* tq * P query Gram triangles (plain) */
    const float *qtr;       /* tq query traces */
    int tq, P;
    mvke_cu_filter filter;
    int64_t k;              /* 1 <= k <= MVKE_CU_MAX_K */
    int64_t chunk;          /* rows per block */
    int nchunks;            /* ceil(rows.n / chunk) */
    float *run_s;           /* tq * k: running best per query (updated) */
    int64_t *run_id;
    float *cand_s;          /* tq * nchunks * k scratch */
    int64_t *cand_id;
} mvke_cu_select_args;

/* Rows per chunk for a given k. */
int64_t mvke_cu_select_chunk(int64_t k);

/* Allows the selection kernels the shared memory that k = MVKE_CU_MAX_K needs, on the
 * current device. */
mvke_status mvke_cu_select_setup(int device);

/* Sets n entries of a running list to empty. */
mvke_status mvke_cu_select_clear(float *s, int64_t *id, int64_t n, cudaStream_t stream, int device);

/* Folds one scored tile into the running lists (both kernels of the design notes). */
mvke_status mvke_cu_select_tile(const mvke_cu_select_args *a, cudaStream_t stream, int device);

/* Merges other (tq lists of k) into run (tq lists of k). */
mvke_status mvke_cu_select_merge(float *run_s, int64_t *run_id, const float *other_s,
                                 const int64_t *other_id, int tq, int64_t k, cudaStream_t stream,
                                 int device);

#endif
