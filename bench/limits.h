/*
 * limits.h - the machine's own limits, measured in the same process as the searches: streaming
 * read bandwidth and sgemm throughput at the shapes the searches use.
 */
#ifndef MVKE_BENCH_LIMITS_H
#define MVKE_BENCH_LIMITS_H

#include "bench.h"

/* The tile shape (rows of the product) the CPU backend uses for a batch of nq queries: it keeps
 * TQ x TU scores per tile, TQ = min(nq, 256), TU = 65536 / TQ clamped to [64, 8192]. */
int bench_tile_rows(int nq);

/* Measures every limit for every thread count of cfg. Returns 0, or 1 after printing why. */
int bench_limits_measure(const bench_config *cfg, bench_limits *lim);

#endif
