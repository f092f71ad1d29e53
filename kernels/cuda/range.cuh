/*
 * range.cuh - threshold search on the device in two passes over the same product tiles: a
 * count pass (per-query counters, warp-aggregated atomics) sizes the output exactly, then a
 * write pass stores each hit at its query's offset plus an atomic cursor. Hits of a query come
 * out in no particular order; the host sorts each list (score descending, then id).
 */
#ifndef MVKE_CUDA_RANGE_CUH
#define MVKE_CUDA_RANGE_CUH

#include "shard.cuh"

typedef struct mvke_cu_range_args {
    const float *num;               /* num[u + q * ld] */
    int64_t ld;
    mvke_cu_rows rows;
    const float *gq, *qtr;
    int tq, P;
    mvke_cu_filter filter;
    float min_score;
    unsigned long long *count;      /* tq counters (count pass: incremented) */
    unsigned long long *cursor;     /* tq cursors (write pass) */
    const int64_t *offset;          /* tq output offsets (write pass) */
    float *hit_s;                   /* write pass output */
    int64_t *hit_id;
} mvke_cu_range_args;

mvke_status mvke_cu_range_count(const mvke_cu_range_args *a, cudaStream_t stream, int device);

/* Writes hits; a query never gets more than count[q] of them (the counts of the first pass). */
mvke_status mvke_cu_range_write(const mvke_cu_range_args *a, cudaStream_t stream, int device);

#endif
