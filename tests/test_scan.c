/*
 * test_scan.c - the fused scan (kernels/cpu/scan.c and its kernels) on hand-made blocks built
 * with mvke_layout_put: every variant the CPU can run x every storage x K in {1,2,5,8} x d in
 * {1,7,30,64}, task subsets (gates zero outside the task; tag-index databases whose rows are zero
 * outside it), zero rows and zero queries, panel and group tails, k = 1, k > n, thresholds and
 * allow-lists, against the double oracle of the decoded rows. Also: results do not depend on
 * threads or batch size, and bfloat16 keeps its documented tolerance and recall.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/scan.h"
#include "kernels/gram.h"
#include "kernels/layout.h"
#include "mvke/mvke.h"
#include "reference.h"

/* Tolerances against the double oracle of the decoded rows (README, "Numerics"). bfloat16 rows
 * scored by vdpbf16ps see the query as its high + low bfloat16 parts (16 significant bits). */
#define TOL 1e-5
#define TOL_BF16_DOT 5e-5

typedef struct world {
    mvke_layout L;
    int K, d, P;
    int64_t n;           /* rows over all blocks */
    float *x;            /* decoded rows, n * K*d */
    int64_t *ids;
    mvke_scan_block blocks[3];
    void *data[3];
    mvke_scan_db db;
} world;

/* Rows of blocks of sizes sz[0..2]; row i is zero when i % 11 == 4; when subset != 0 every row
 * is zero outside the experts of `subset` (a tag index of one task). */
static void world_make(world *w, mvke_storage st, int K, int d, const int64_t sz[3], uint64_t subset) {
    memset(w, 0, sizeof *w);
    cr_assert_eq(mvke_layout_init(&w->L, K, d, st), 0);
    w->K = K;
    w->d = d;
    w->P = mvke_gram_size(K);
    w->n = sz[0] + sz[1] + sz[2];
    const int D = K * d;
    w->x = calloc((size_t)(w->n ? w->n : 1) * D, sizeof(float));
    w->ids = malloc((size_t)(w->n ? w->n : 1) * sizeof(int64_t));
    float *row = malloc(sizeof(float) * D), *g = malloc(sizeof(float) * w->P);
    int64_t at = 0;
    for (int b = 0; b < 3; b++) {
        const int64_t cap = mvke_layout_round(sz[b] + (b == 1 ? 16 : 0)); /* block 1 has spare panels */
        w->data[b] = calloc(1, mvke_layout_block_bytes(&w->L, cap ? cap : 16) + 64);
        for (int64_t r = 0; r < sz[b]; r++, at++) {
            ref_fill_normal(row, D);
            for (int k = 0; k < K; k++)
                if ((subset && !((subset >> k) & 1)) || at % 11 == 4)
                    for (int j = 0; j < d; j++) row[k * d + j] = 0.0f;
            /* The decoded row, and its Gram triangle, as the store computes them. */
            mvke_layout_put(&w->L, w->data[b], cap, r, row, g);
            mvke_layout_get(&w->L, w->data[b], cap, r, w->x + at * D, NULL);
            mvke_gram_doubled(K, d, w->x + at * D, g);
            mvke_layout_put(&w->L, w->data[b], cap, r, w->x + at * D, g);
            w->ids[at] = 7 * at + 3;
        }
        w->blocks[b] = (mvke_scan_block){sz[b], cap, w->data[b], w->ids + (at - sz[b])};
    }
    w->db = (mvke_scan_db){w->L, subset ? subset : (K >= 64 ? ~0ull : (1ull << K) - 1), 3, w->blocks};
    free(row);
    free(g);
}

static void world_free(world *w) {
    free(w->x);
    free(w->ids);
    for (int b = 0; b < 3; b++) free(w->data[b]);
}

/* nq queries whose gates are zero outside `task` (query nz % 5 == 2 has all gates zero). */
static void queries_make(const world *w, int nq, uint64_t task, float *q, float *gates, float *z, float *zg) {
    const int K = w->K, d = w->d;
    ref_fill_normal(q, (int64_t)nq * d);
    for (int t = 0; t < nq; t++) {
        float *wt = gates + t * K;
        for (int k = 0; k < K; k++) wt[k] = ((task >> k) & 1) && t % 5 != 2 ? (float)ref_uniform() + 0.05f : 0.0f;
        cr_assert_eq(mvke_pack_query(K, d, q + t * d, wt, z + (int64_t)t * K * d), MVKE_OK);
        mvke_gram_plain(K, d, z + (int64_t)t * K * d, zg + (int64_t)t * w->P);
    }
}

/* The largest score error seen on well-conditioned pairs, for the report of a tolerance. */
static double max_err;

static void track(const int64_t *ids, const float *s, int64_t n, const ref_hit *ref, int64_t nref) {
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < nref; j++)
            if (ref[j].id == ids[i]) {
                if (ref[j].slack > 1e-6) break; /* cancelling gates: the slack covers it */
                double e = fabs(ref[j].score - s[i]);
                if (e > max_err) max_err = e;
                break;
            }
}

/* Top-k, threshold and allow-listed top-k of nq queries against the oracle. */
static void check_world(const world *w, int nq, uint64_t task, int64_t k, double tol, int threads) {
    const int K = w->K, d = w->d, D = K * d;
    float *q = malloc(sizeof(float) * nq * d), *gates = malloc(sizeof(float) * nq * K);
    float *z = malloc(sizeof(float) * nq * D), *zg = malloc(sizeof(float) * nq * w->P);
    queries_make(w, nq, task, q, gates, z, zg);
    mvke_kqueries qs = {nq, z, zg};
    float *S = malloc(sizeof(float) * nq * k);
    int64_t *I = malloc(sizeof(int64_t) * nq * k);
    ref_hit *ref = malloc(sizeof(ref_hit) * (size_t)(w->n ? w->n : 1));
    /* An allow-list: every third id, as a bitmap. */
    const int64_t nbits = 7 * w->n + 8;
    uint8_t *bits = calloc((size_t)(nbits / 8 + 1), 1), *allowed = calloc((size_t)(w->n ? w->n : 1), 1);
    for (int64_t i = 0; i < w->n; i++)
        if (i % 3 == 0) {
            bits[w->ids[i] >> 3] |= (uint8_t)(1u << (w->ids[i] & 7));
            allowed[i] = 1;
        }
    mvke_kfilter filter = {bits, nbits, NULL, 0};
    for (int pass = 0; pass < 2; pass++) {
        const mvke_kfilter *f = pass ? &filter : NULL;
        cr_assert_eq(mvke_scan_search(&w->db, &qs, k, 0.0f, f, threads, S, I, NULL), MVKE_OK);
        mvke_hits *lists = NULL;
        const float thr = 0.2f;
        cr_assert_eq(mvke_scan_search(&w->db, &qs, 0, thr, f, threads, NULL, NULL, &lists), MVKE_OK);
        for (int t = 0; t < nq; t++) {
            int64_t nref = ref_rank(K, d, w->n, w->x, w->ids, pass ? allowed : NULL, q + t * d, gates + t * K, ref);
            int64_t got = 0;
            while (got < k && I[t * k + got] >= 0) got++;
            for (int64_t i = got; i < k; i++) cr_assert(I[t * k + i] == -1 && S[t * k + i] == -INFINITY);
            ref_check_topk(I + t * k, S + t * k, got, k, ref, nref, tol);
            track(I + t * k, S + t * k, got, ref, nref);
            mvke_pairs_sort(lists[t].s, lists[t].id, lists[t].n);
            ref_check_range(lists[t].id, lists[t].s, lists[t].n, thr, ref, nref, tol);
            mvke_hits_release(&lists[t]);
        }
        free(lists);
    }
    free(q);
    free(gates);
    free(z);
    free(zg);
    free(S);
    free(I);
    free(ref);
    free(bits);
    free(allowed);
}

static const mvke_cpu_variant variants[] = {MVKE_CPU_GENERIC, MVKE_CPU_AVX2, MVKE_CPU_AVX512, MVKE_CPU_AVX512_BF16DOT};
static const mvke_storage storages[] = {MVKE_STORAGE_F32, MVKE_STORAGE_F16, MVKE_STORAGE_BF16};

static double tol_of(mvke_cpu_variant v, mvke_storage st) {
    return st == MVKE_STORAGE_BF16 && mvke_scan_kernels_of(v)->bf16_dot ? TOL_BF16_DOT : TOL;
}

/* The grid of one storage over every variant. */
static void grid(mvke_storage st) {
    static const int Ks[] = {1, 2, 5, 8}, ds[] = {1, 7, 30, 64};
    for (size_t vi = 0; vi < sizeof variants / sizeof *variants; vi++) {
        const mvke_cpu_variant v = variants[vi];
        if (mvke_cpu_variant_force(v) != 0) {
            cr_log_warn("variant %s: not supported by this CPU, not tested", mvke_cpu_variant_name(v));
            continue;
        }
        max_err = 0;
        for (int ki = 0; ki < 4; ki++)
            for (int di = 0; di < 4; di++) {
                const int K = Ks[ki], d = ds[di];
                ref_seed(1000 + 10 * ki + di);
                const int64_t sz[3] = {37, 0, 70 + ki + di};
                /* A task of a few experts, and every expert. */
                const uint64_t all = (1ull << K) - 1, task = K >= 3 ? 0x6ull & all : all;
                world w;
                world_make(&w, st, K, d, sz, 0);
                check_world(&w, 1, task, 10, tol_of(v, st), 2);
                check_world(&w, 3, all, 1, tol_of(v, st), 1);
                check_world(&w, 17, task, 200, tol_of(v, st), 2); /* k > n, a group tail */
                world_free(&w);
                /* A tag index of one task: rows zero outside it, searched with full rows. */
                world_make(&w, st, K, d, sz, task);
                check_world(&w, 30, all, 5, tol_of(v, st), 2);
                world_free(&w);
            }
        cr_log_info("variant %s storage %d: largest score error %.3g", mvke_cpu_variant_name(v), st, max_err);
    }
    mvke_cpu_variant_force(MVKE_CPU_GENERIC);
}

Test(scan, grid_f32) { grid(MVKE_STORAGE_F32); }
Test(scan, grid_f16) { grid(MVKE_STORAGE_F16); }
Test(scan, grid_bf16) { grid(MVKE_STORAGE_BF16); }

/* Empty databases and empty batches. */
Test(scan, empty) {
    for (size_t vi = 0; vi < sizeof variants / sizeof *variants; vi++) {
        if (mvke_cpu_variant_force(variants[vi]) != 0) continue;
        const int64_t none[3] = {0, 0, 0};
        world w;
        world_make(&w, MVKE_STORAGE_F32, 3, 5, none, 0);
        check_world(&w, 4, 7, 3, TOL, 2);
        mvke_kqueries qs = {0, NULL, NULL};
        cr_assert_eq(mvke_scan_search(&w.db, &qs, 3, 0.0f, NULL, 2, NULL, NULL, NULL), MVKE_OK);
        world_free(&w);
    }
}

/* The same pair gets the same score whatever the batch, threads or variant's tiling: scores of
 * one query alone equal its scores inside a batch of 40, on 1 and 2 threads. */
Test(scan, independent_of_batch_and_threads) {
    for (size_t vi = 0; vi < sizeof variants / sizeof *variants; vi++) {
        for (size_t si = 0; si < 3; si++) {
            if (mvke_cpu_variant_force(variants[vi]) != 0) continue;
            ref_seed(77);
            const int64_t sz[3] = {1000, 5, 3003};
            world w;
            world_make(&w, storages[si], 5, 30, sz, 0);
            enum { NQ = 40, KK = 25 };
            const int D = 5 * 30;
            float *q = malloc(sizeof(float) * NQ * 30), *gates = malloc(sizeof(float) * NQ * 5);
            float *z = malloc(sizeof(float) * NQ * D), *zg = malloc(sizeof(float) * NQ * w.P);
            queries_make(&w, NQ, 0x7, q, gates, z, zg);
            float *S = malloc(sizeof(float) * NQ * KK), S1[KK], S2[KK];
            int64_t *I = malloc(sizeof(int64_t) * NQ * KK), I1[KK], I2[KK];
            mvke_kqueries all = {NQ, z, zg};
            cr_assert_eq(mvke_scan_search(&w.db, &all, KK, 0, NULL, 2, S, I, NULL), MVKE_OK);
            for (int t = 0; t < NQ; t += 7) {
                mvke_kqueries one = {1, z + t * D, zg + t * w.P};
                cr_assert_eq(mvke_scan_search(&w.db, &one, KK, 0, NULL, 1, S1, I1, NULL), MVKE_OK);
                cr_assert_eq(mvke_scan_search(&w.db, &one, KK, 0, NULL, 2, S2, I2, NULL), MVKE_OK);
                cr_assert_eq(memcmp(S1, S + t * KK, sizeof S1), 0, "variant %d query %d: batch changes scores",
                             (int)variants[vi], t);
                cr_assert_eq(memcmp(I1, I + t * KK, sizeof I1), 0);
                cr_assert_eq(memcmp(S1, S2, sizeof S1), 0);
                cr_assert_eq(memcmp(I1, I2, sizeof I1), 0);
            }
            free(q);
            free(gates);
            free(z);
            free(zg);
            free(S);
            free(I);
            world_free(&w);
        }
    }
    mvke_cpu_variant_force(MVKE_CPU_GENERIC);
}

/* bfloat16 rows against exact float32 search of the original rows: recall@10 of the top 10. */
Test(scan, bf16_recall) {
    enum { N = 4000, NQ = 20, KK = 10, Kx = 5, dx = 30 };
    const int D = Kx * dx, P = mvke_gram_size(Kx);
    ref_seed(99);
    float *x = malloc(sizeof(float) * N * D), *g = malloc(sizeof(float) * P);
    int64_t *ids = malloc(sizeof(int64_t) * N);
    ref_fill_normal(x, (int64_t)N * D);
    mvke_layout L32, L16;
    mvke_layout_init(&L32, Kx, dx, MVKE_STORAGE_F32);
    mvke_layout_init(&L16, Kx, dx, MVKE_STORAGE_BF16);
    const int64_t cap = mvke_layout_round(N);
    void *b32 = calloc(1, mvke_layout_block_bytes(&L32, cap)), *b16 = calloc(1, mvke_layout_block_bytes(&L16, cap));
    for (int64_t i = 0; i < N; i++) {
        ids[i] = i;
        mvke_gram_doubled(Kx, dx, x + i * D, g);
        mvke_layout_put(&L32, b32, cap, i, x + i * D, g);
        mvke_layout_put(&L16, b16, cap, i, x + i * D, g);
    }
    mvke_scan_block blk32 = {N, cap, b32, ids}, blk16 = {N, cap, b16, ids};
    mvke_scan_db db32 = {L32, 0x1f, 1, &blk32}, db16 = {L16, 0x1f, 1, &blk16};
    float *q = malloc(sizeof(float) * NQ * dx), *gates = malloc(sizeof(float) * NQ * Kx);
    float *z = malloc(sizeof(float) * NQ * D), *zg = malloc(sizeof(float) * NQ * P);
    ref_fill_normal(q, NQ * dx);
    for (int t = 0; t < NQ; t++) {
        for (int k = 0; k < Kx; k++) gates[t * Kx + k] = (float)ref_uniform();
        mvke_pack_query(Kx, dx, q + t * dx, gates + t * Kx, z + t * D);
        mvke_gram_plain(Kx, dx, z + t * D, zg + t * P);
    }
    mvke_kqueries qs = {NQ, z, zg};
    float S32[NQ * KK], S16[NQ * KK];
    int64_t I32[NQ * KK], I16[NQ * KK];
    for (size_t vi = 0; vi < sizeof variants / sizeof *variants; vi++) {
        if (mvke_cpu_variant_force(variants[vi]) != 0) continue;
        cr_assert_eq(mvke_scan_search(&db32, &qs, KK, 0, NULL, 2, S32, I32, NULL), MVKE_OK);
        cr_assert_eq(mvke_scan_search(&db16, &qs, KK, 0, NULL, 2, S16, I16, NULL), MVKE_OK);
        int hit = 0;
        double err = 0;
        for (int t = 0; t < NQ; t++)
            for (int a = 0; a < KK; a++) {
                if (fabs(S32[t * KK + a] - S16[t * KK + a]) > err) err = fabs(S32[t * KK + a] - S16[t * KK + a]);
                for (int b = 0; b < KK; b++) hit += I32[t * KK + a] == I16[t * KK + b];
            }
        const double recall = (double)hit / (NQ * KK);
        cr_log_info("bf16 %s: recall@10 %.3f, largest rank-score difference %.3g", mvke_cpu_variant_name(variants[vi]),
                    recall, err);
        cr_assert(recall >= 0.9, "bf16 recall@10 %.3f below 0.9", recall);
        cr_assert(err < 5e-3, "bf16 score difference %.3g", err);
    }
    mvke_cpu_variant_force(MVKE_CPU_GENERIC);
    free(x);
    free(g);
    free(ids);
    free(b32);
    free(b16);
    free(q);
    free(gates);
    free(z);
    free(zg);
}

/* MVKE_CPU names the variant the process starts with, and names are stable. */
Test(scan, variant_names) {
    cr_assert_str_eq(mvke_cpu_variant_name(MVKE_CPU_GENERIC), "generic");
    cr_assert_str_eq(mvke_cpu_variant_name(MVKE_CPU_AVX2), "avx2");
    cr_assert_str_eq(mvke_cpu_variant_name(MVKE_CPU_AVX512), "avx512");
    cr_assert(mvke_cpu_variant_supported(MVKE_CPU_GENERIC));
    cr_assert_eq(mvke_cpu_variant_force(MVKE_CPU_VARIANTS), -1);
}
