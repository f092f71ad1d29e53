/*
 * world_gen.c - synthetic users and tags for the benchmark (see world_gen.h).
 */
#include "world_gen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* splitmix64 of a counter: independent values for any (seed, index) without shared state. */
static uint64_t mix(uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double uniform(uint64_t seed, uint64_t i) {
    return ((mix(seed ^ mix(i)) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* Two standard normals (Box-Muller) from counter i. */
static void normal2(uint64_t seed, uint64_t i, float *a, float *b) {
    double r = sqrt(-2.0 * log(uniform(seed, 2 * i))), t = 6.283185307179586 * uniform(seed, 2 * i + 1);
    *a = (float)(r * cos(t));
    *b = (float)(r * sin(t));
}

static void normals(uint64_t seed, uint64_t first, int64_t n, float *out) {
    for (int64_t i = 0; i < n; i += 2) {
        float a, b;
        normal2(seed, (first + (uint64_t)i) / 2, &a, &b);
        out[i] = a;
        if (i + 1 < n) out[i + 1] = b;
    }
}

void bench_world_users(const bench_world *w, int64_t first, int64_t n, float *x) {
    /* Whole rows per iteration; BENCH_ROW is even, so pairs never straddle rows. */
#pragma omp parallel for schedule(static)
    for (int64_t u = 0; u < n; u++)
        normals(w->seed, (uint64_t)(first + u) * BENCH_ROW, BENCH_ROW, x + u * BENCH_ROW);
}

int bench_world_init(bench_world *w, uint64_t seed) {
    memset(w, 0, sizeof *w);
    w->seed = seed;
    w->task[0] = "interest";
    w->task[1] = "intention";
    const int ex[2][4] = {{0, 1, 2}, {1, 2, 3, 4}};
    w->nexperts[0] = 3;
    w->nexperts[1] = 4;
    memcpy(w->experts[0], ex[0], sizeof ex[0]);
    memcpy(w->experts[1], ex[1], sizeof ex[1]);
    /* Tags draw from a different stream than users (the high half of the counter space). */
    const uint64_t tseed = mix(seed ^ 0x7461677375ull);
    normals(tseed, 0, BENCH_ROW, w->vk);
    for (int i = 0; i < BENCH_ROW; i++) w->vk[i] /= sqrtf((float)BENCH_D);
    w->tag_ids = malloc(BENCH_NTAGS * sizeof *w->tag_ids);
    if (!w->tag_ids) goto nomem;
    for (int i = 0; i < BENCH_NTAGS; i++) w->tag_ids[i] = i + 1;
    for (int t = 0; t < BENCH_NTASKS; t++) {
        w->q[t] = malloc((size_t)BENCH_NTAGS * BENCH_D * sizeof(float));
        w->w[t] = malloc((size_t)BENCH_NTAGS * BENCH_K * sizeof(float));
        w->z[t] = malloc((size_t)BENCH_NTAGS * BENCH_ROW * sizeof(float));
        if (!w->q[t] || !w->w[t] || !w->z[t]) goto nomem;
        normals(tseed, (uint64_t)(t + 1) << 32, (int64_t)BENCH_NTAGS * BENCH_D, w->q[t]);
        for (int i = 0; i < BENCH_NTAGS; i++) {
            const float *q = w->q[t] + (size_t)i * BENCH_D;
            float *g = w->w[t] + (size_t)i * BENCH_K;
            mvke_status st = mvke_gates_from_vk(BENCH_K, BENCH_D, q, w->vk, w->experts[t], w->nexperts[t], 1.0f, g);
            if (st == MVKE_OK) st = mvke_pack_query(BENCH_K, BENCH_D, q, g, w->z[t] + (size_t)i * BENCH_ROW);
            if (st != MVKE_OK) return bench_fail("making tag gates", st);
        }
    }
    return 0;
nomem:
    fprintf(stderr, "mvke-bench: out of memory making tags\n");
    return 1;
}

void bench_world_free(bench_world *w) {
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
    mvke_status st = mvke_tags_new(&tags, BENCH_K, BENCH_D, opts);
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
