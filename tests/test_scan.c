/*
 * test_scan.c - the one CPU driver (kernels/cpu/scan.c) and every kernel of it, through the
 * kernel harness (support/kernel_harness.h): every storage (f32, f16, bf16, sq8, pq) x every
 * instruction-set variant this CPU allows (MVKE_CPU caps them) x the harness's named cases
 * (K in 1..8, d in {1, 7, 30, 64}, task subsets and tag-index databases, zero rows and gates,
 * the dot score,
 * k = 1, k > n, group and panel tails, thresholds, bitmap, sorted and callback allow-lists,
 * empty databases and batches, refine), against the float64 oracle. A variant the CPU lacks is
 * reported on stderr as skipped and never counted. Also: results do not depend on threads or
 * batch size, and bfloat16 keeps its documented recall.
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
#include "support/kernel_harness.h"

static const mvke_cpu_variant variants[] = {MVKE_CPU_GENERIC, MVKE_CPU_AVX2, MVKE_CPU_AVX512, MVKE_CPU_AVX512_BF16DOT};

/* Every harness case of one storage on every variant the CPU allows (each case's world is built
 * once and searched by every variant). */
static void harness(mvke_storage st) {
    const kh_case *cases;
    const size_t n = kh_cases(&cases);
    int ran = 0;
    for (size_t vi = 0; vi < sizeof variants / sizeof *variants; vi++) {
        if (mvke_cpu_variant_force(variants[vi]) == 0) ran++;
        else
            fprintf(stderr, "SKIP variant %s (%s): this CPU, as MVKE_CPU caps it, lacks it\n",
                    mvke_cpu_variant_name(variants[vi]), mvke_storage_name(st));
    }
    cr_assert_geq(ran, 1, "no variant ran");
    for (size_t i = 0; i < n; i++) {
        kh_world w;
        cr_assert_eq(kh_world_make(&w, st, &cases[i], 1000 + i, 1), 0, "out of memory");
        for (size_t vi = 0; vi < sizeof variants / sizeof *variants; vi++) {
            const mvke_cpu_variant v = variants[vi];
            if (mvke_cpu_variant_force(v) != 0) continue;
            char msg[320];
            const int rc = kh_check(&w, &cases[i], msg, sizeof msg);
            cr_assert_eq(rc, 0, "%s, variant %s, case \"%s\": %s", mvke_storage_name(st), mvke_cpu_variant_name(v),
                         cases[i].name, msg);
        }
        kh_world_free(&w);
    }
    mvke_cpu_variant_unforce();
    fprintf(stderr, "%s: %zu cases on %d variant(s)\n", mvke_storage_name(st), n, ran);
}

Test(scan, harness_f32) { harness(MVKE_STORAGE_F32); }
Test(scan, harness_f16) { harness(MVKE_STORAGE_F16); }
Test(scan, harness_bf16) { harness(MVKE_STORAGE_BF16); }
Test(scan, harness_sq8) { harness(MVKE_STORAGE_SQ8); }
Test(scan, harness_pq) { harness(MVKE_STORAGE_PQ); }

/* The same pair gets the same score whatever the batch, threads or tiling within one variant:
 * scores of one query alone equal its scores inside a batch of 300, on 1 and 2 threads. pq
 * scores a batch that large from decoded tiles and a lone query from tables (sums in another
 * order), so for pq only the threads are compared. */
Test(scan, independent_of_batch_and_threads) {
    static const mvke_storage storages[] = {MVKE_STORAGE_F32, MVKE_STORAGE_F16, MVKE_STORAGE_BF16, MVKE_STORAGE_SQ8,
                                            MVKE_STORAGE_PQ};
    enum { NQ = 300, KK = 25 };
    const kh_case c = {"batch", 5, 30, {1000, 5, 3003}, 0, NQ, 0x7, KK, 0, 0, 0, 2, 0};
    for (size_t vi = 0; vi < sizeof variants / sizeof *variants; vi++) {
        if (mvke_cpu_variant_force(variants[vi]) != 0) continue;
        for (size_t si = 0; si < sizeof storages / sizeof *storages; si++) {
            kh_world w;
            cr_assert_eq(kh_world_make(&w, storages[si], &c, 77, 0), 0);
            float *S = malloc(sizeof(float) * NQ * KK), *S2 = malloc(sizeof(float) * NQ * KK), S1[KK];
            int64_t *I = malloc(sizeof(int64_t) * NQ * KK), *I2 = malloc(sizeof(int64_t) * NQ * KK), I1[KK];
            const mvke_kqueries all = {NQ, w.z, w.zg};
            cr_assert_eq(mvke_scan_search(&w.db, &all, KK, 0, NULL, 2, S, I, NULL), MVKE_OK);
            cr_assert_eq(mvke_scan_search(&w.db, &all, KK, 0, NULL, 1, S2, I2, NULL), MVKE_OK);
            cr_assert_eq(memcmp(S, S2, sizeof(float) * NQ * KK), 0, "%s: threads change scores", mvke_storage_name(storages[si]));
            cr_assert_eq(memcmp(I, I2, sizeof(int64_t) * NQ * KK), 0);
            for (int t = 0; t < NQ && storages[si] != MVKE_STORAGE_PQ; t += 7) {
                const mvke_kqueries one = {1, w.z + (size_t)t * w.D, w.zg + (size_t)t * w.P};
                for (int threads = 1; threads <= 2; threads++) {
                    cr_assert_eq(mvke_scan_search(&w.db, &one, KK, 0, NULL, threads, S1, I1, NULL), MVKE_OK);
                    cr_assert_eq(memcmp(S1, S + t * KK, sizeof S1), 0, "%s variant %s query %d: batch changes scores",
                                 mvke_storage_name(storages[si]), mvke_cpu_variant_name(variants[vi]), t);
                    cr_assert_eq(memcmp(I1, I + t * KK, sizeof I1), 0);
                }
            }
            free(S);
            free(S2);
            free(I);
            free(I2);
            kh_world_free(&w);
        }
    }
    mvke_cpu_variant_unforce();
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
    mvke_kblock blk32 = {.n = N, .cap = cap, .data = b32, .ids = ids}, blk16 = {.n = N, .cap = cap, .data = b16, .ids = ids};
    mvke_kdb db32 = {.L = L32, .experts = 0x1f, .nblocks = 1, .blocks = &blk32},
             db16 = {.L = L16, .experts = 0x1f, .nblocks = 1, .blocks = &blk16};
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
    mvke_cpu_variant_unforce();
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

/* Variant names are stable; an unknown variant cannot be forced. */
Test(scan, variant_names) {
    cr_assert_str_eq(mvke_cpu_variant_name(MVKE_CPU_GENERIC), "generic");
    cr_assert_str_eq(mvke_cpu_variant_name(MVKE_CPU_AVX2), "avx2");
    cr_assert_str_eq(mvke_cpu_variant_name(MVKE_CPU_AVX512), "avx512");
    cr_assert(mvke_cpu_variant_supported(MVKE_CPU_GENERIC));
    cr_assert_eq(mvke_cpu_variant_force(MVKE_CPU_VARIANTS), -1);
}
