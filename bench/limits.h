/*
 * limits.h - the machine's own limits, measured in the same process as the searches: streaming
 * read bandwidth and sgemm throughput at the shapes the searches use.
 */
#ifndef MVKE_BENCH_LIMITS_H
#define MVKE_BENCH_LIMITS_H

#include <stddef.h>

#include "bench.h"

/* The sgemm shape a batch of nq queries is compared with: nq x TU x K*d products, TU = 65536 /
 * min(nq, 256) clamped to [64, 8192] (a tile of rows that stays in cache with its scores). */
int bench_tile_rows(int nq);

/* Streaming read bandwidth of `threads` threads over a buffer of `bytes` (allocated and touched
 * here), the best of `passes`, GB/s; 0 when the buffer cannot be allocated. */
double bench_read_bandwidth(size_t bytes, int threads, int passes);

/* GFLOP/s of `threads` concurrent single-threaded sgemms of m x n x k (C = A . B^T, operands in
 * cache), each run for about `seconds`, the best of three; 0 when memory is short. */
double bench_sgemm_rate(int m, int n, int k, int threads, double seconds);

/* Measures every limit for every thread count of cfg. Returns 0, or 1 after printing why. */
int bench_limits_measure(const bench_config *cfg, bench_limits *lim);

#endif
