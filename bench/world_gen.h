/*
 * world_gen.h - the synthetic users and tags every method of the benchmark searches.
 *
 * Users: K experts of d dimensions (--K, --d; 5 and 30 by default) with independent standard
 * normal entries from the counter-based generator of support/rng.h, so that any range of rows can
 * be made on its own (in parallel, in chunks, the same rows for every method). Tags: 1,786 per
 * task for the tasks "interest" (the first 3/5 of the experts: 0-2 for K = 5) and "intention"
 * (the last 4/5: 1-4), normal embeddings, gates from random virtual kernels by softmax
 * (mvke_gates_from_vk), as in the paper's Virtual-Kernel Gate.
 */
#ifndef MVKE_BENCH_WORLD_GEN_H
#define MVKE_BENCH_WORLD_GEN_H

#include <stdint.h>

#include "bench.h"

typedef struct bench_world {
    uint64_t seed;
    int K, d, row, P;                            /* row = K*d, P = K(K+1)/2 */
    float *vk;                                   /* virtual kernels, K x d */
    const char *task[BENCH_NTASKS];
    int experts[BENCH_NTASKS][MVKE_MAX_K];
    int nexperts[BENCH_NTASKS];
    int64_t *tag_ids;                            /* BENCH_NTAGS ids, shared by both tasks */
    float *q[BENCH_NTASKS];                      /* BENCH_NTAGS x d embeddings */
    float *w[BENCH_NTASKS];                      /* BENCH_NTAGS x K gates */
    float *z[BENCH_NTASKS];                      /* BENCH_NTAGS x K*d gated rows */
} bench_world;

/* Makes the tags of a world of K experts of dimension d (users are made on demand). Returns 0,
 * or 1 after printing why. */
int bench_world_init(bench_world *w, uint64_t seed, int K, int d);
void bench_world_free(bench_world *w);

/* Writes user rows first .. first+n-1 (n x K*d floats) into x; the same rows for the same seed. */
void bench_world_users(const bench_world *w, int64_t first, int64_t n, float *x);

/* A tag table of both tasks with the given options. Returns 0, or 1 after printing why. */
int bench_world_tags(const bench_world *w, const mvke_index_options *opts, mvke_tags **out);

#endif
