/*
 * tagtop.cuh - user -> tags and batch tagging in one fused kernel: many query rows (users)
 * against a small resident database (the gated rows of a task's tags), keeping the top M of
 * each query in shared memory. Only M ids and scores per query leave the kernel.
 *
 * Design notes.
 * 1. One warp scores one query. The block's warps share tiles of database rows staged in shared
 *    memory (widened to float32), so each tag row is read from device memory once per block of
 *    8 queries, not once per query.
 * 2. The score of one (query, row) pair is a warp reduction over the K*d products and the P
 *    Gram products, then the epilogue of common.cuh: every lane holds the same score.
 * 3. Each warp keeps its list sorted in shared memory. A row enters only when it beats the M-th
 *    entry (rare after the first rows); the warp then finds the position by a ballot count and
 *    shifts the tail by one in parallel.
 */
#ifndef MVKE_CUDA_TAGTOP_CUH
#define MVKE_CUDA_TAGTOP_CUH

#include "shard.cuh"

/* Largest M the fused kernel keeps per query. */
#define MVKE_CU_TAGTOP_MAX_M 128

/* Rows of the database staged per tile for rows of D values and P Gram entries, or 0 when a
 * useful tile does not fit in shared memory (then the caller uses the product path). */
int mvke_cu_tagtop_tile_rows(int D, int P, int64_t m);

/* For nq query rows (q: nq * D floats, gq: nq * P plain Gram triangles, qtr: nq traces, all on
 * the device), the best m rows of `rows` per query into out_s / out_id (nq * m, sorted,
 * padded with -INFINITY / -1). */
mvke_status mvke_cu_tagtop(const float *q, const float *gq, const float *qtr, int64_t nq,
                           const mvke_cu_rows *rows, int K, int d, const mvke_cu_filter *filter,
                           int64_t m, float *out_s, int64_t *out_id, cudaStream_t stream,
                           int device);

#endif
