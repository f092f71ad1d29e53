/*
 * world_gen.c - synthetic users and tags for the benchmark (see world_gen.h).
 */
#include "world_gen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/rng.h"

/* The streams of support/rng.h the benchmark draws from. */
enum { STREAM_USERS = 1, STREAM_TAGS = 2 };

void bench_world_users(const bench_world *w, int64_t first, int64_t n, float *x) {
    const uint64_t key = synth_key(w->seed, STREAM_USERS);
#pragma omp parallel for schedule(static)
    for (int64_t u = 0; u < n; u++)
        synth_normals(key, (uint64_t)(first + u) * (uint64_t)w->row, w->row, x + u * w->row);
}

int bench_world_init(bench_world *w, uint64_t seed, int K, int d) {
    memset(w, 0, sizeof *w);
    if (K < 1 || K > MVKE_MAX_K || d < 1 || d > MVKE_MAX_D) {
        fprintf(stderr, "mvke-bench: K = %d, d = %d: K must be in [1, %d] and d in [1, %d]\n", K, d, MVKE_MAX_K,
                MVKE_MAX_D);
        return 1;
    }
    w->seed = seed;
    w->K = K;
    w->d = d;
    w->row = K * d;
    w->P = K * (K + 1) / 2;
    w->task[0] = "interest";
    w->task[1] = "intention";
    /* interest: the first ceil(3K/5) experts; intention: the last ceil(4K/5) (0-2 and 1-4 for K = 5) */
    w->nexperts[0] = (3 * K + 4) / 5;
    w->nexperts[1] = (4 * K + 4) / 5;
    for (int i = 0; i < w->nexperts[0]; i++) w->experts[0][i] = i;
    for (int i = 0; i < w->nexperts[1]; i++) w->experts[1][i] = K - w->nexperts[1] + i;
    const uint64_t tkey = synth_key(seed, STREAM_TAGS);
    const size_t row = (size_t)w->row;
    w->vk = malloc(row * sizeof *w->vk);
    w->tag_ids = malloc(BENCH_NTAGS * sizeof *w->tag_ids);
    if (!w->vk || !w->tag_ids) goto nomem;
    synth_normals(tkey, 0, w->row, w->vk);
    for (size_t i = 0; i < row; i++) w->vk[i] /= sqrtf((float)d);
    for (int i = 0; i < BENCH_NTAGS; i++) w->tag_ids[i] = i + 1;
    for (int t = 0; t < BENCH_NTASKS; t++) {
        w->q[t] = malloc((size_t)BENCH_NTAGS * d * sizeof(float));
        w->w[t] = malloc((size_t)BENCH_NTAGS * K * sizeof(float));
        w->z[t] = malloc((size_t)BENCH_NTAGS * row * sizeof(float));
        if (!w->q[t] || !w->w[t] || !w->z[t]) goto nomem;
        synth_normals(tkey, (uint64_t)(t + 1) << 32, (int64_t)BENCH_NTAGS * d, w->q[t]);
        for (int i = 0; i < BENCH_NTAGS; i++) {
            const float *q = w->q[t] + (size_t)i * d;
            float *g = w->w[t] + (size_t)i * K;
            mvke_status st = mvke_gates_from_vk(K, d, q, w->vk, w->experts[t], w->nexperts[t], 1.0f, g);
            if (st == MVKE_OK) st = mvke_pack_query(K, d, q, g, w->z[t] + (size_t)i * row);
            if (st != MVKE_OK) return bench_fail("making tag gates", st);
        }
    }
    return 0;
nomem:
    fprintf(stderr, "mvke-bench: out of memory making tags\n");
    return 1;
}

void bench_world_free(bench_world *w) {
    free(w->vk);
    free(w->tag_ids);
    for (int t = 0; t < BENCH_NTASKS; t++) {
        free(w->q[t]);
        free(w->w[t]);
        free(w->z[t]);
    }
    memset(w, 0, sizeof *w);
}

int bench_world_tags(const bench_world *w, const mvke_index_options *opts, mvke_tags **out) {
    mvke_tags *tags = NULL;
    mvke_status st = mvke_tags_new(&tags, w->K, w->d, opts);
    for (int t = 0; t < BENCH_NTASKS && st == MVKE_OK; t++) {
        st = mvke_tags_add_task(tags, w->task[t], w->experts[t], w->nexperts[t]);
        if (st == MVKE_OK)
            st = mvke_tags_add(tags, w->task[t], BENCH_NTAGS, w->tag_ids, NULL, NULL, w->q[t], w->w[t]);
    }
    if (st != MVKE_OK) {
        mvke_tags_free(tags);
        return bench_fail("building the tag table", st);
    }
    *out = tags;
    return 0;
}
