/*
 * test_codec_scan.c - searches of sq8 and pq indexes (the codec kernels of kernels/cpu/ for one
 * query, the decoding path for batches) against the double oracle of the decoded rows: the
 * numerator from the rows mvke_index_get decodes, the norm from the exact rows. Over K in
 * {1,2,5,8}, d in {1,7,30,64}, gates on a subset of experts and softmax gates, zero users, and
 * every instruction set the CPU has (portable C, AVX2, AVX-512).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/codec_scan.h"
#include "reference.h"

#define TOL 1e-4

static void gates(int K, int subset, float *w) {
    double sum = 0;
    for (int k = 0; k < K; k++) {
        w[k] = subset && K > 1 && k % 2 == 1 ? 0.0f : (float)exp(ref_normal());
        sum += w[k];
    }
    for (int k = 0; k < K; k++) w[k] = (float)(w[k] / sum);
}

static void check(mvke_storage storage, int K, int d, int nq) {
    const int D = K * d;
    const int64_t n = 300, k = 25;
    ref_seed((uint64_t)(K * 1000 + d * 10 + storage));
    float *x = malloc(sizeof(float) * n * D), *dec = malloc(sizeof(float) * n * D);
    int64_t *ids = malloc(sizeof(int64_t) * n);
    ref_fill_normal(x, n * D);
    for (int64_t i = 0; i < n; i++) {
        ids[i] = 7 * i + 3;
        if (i % 37 == 5) memset(x + i * D, 0, sizeof(float) * D); /* zero users */
        if (i % 41 == 7) memset(x + i * D, 0, sizeof(float) * d); /* a zero expert */
    }
    mvke_index_options o;
    mvke_index_options_init(&o);
    o.storage = storage;
    mvke_index *ix;
    cr_assert_eq(mvke_index_new(&ix, K, d, &o), MVKE_OK);
    cr_assert_eq(mvke_index_train(ix, n, x), MVKE_OK, "%s", mvke_last_error());
    cr_assert_eq(mvke_index_add(ix, n, ids, x), MVKE_OK, "%s", mvke_last_error());
    for (int64_t i = 0; i < n; i++) cr_assert_eq(mvke_index_get(ix, ids[i], dec + i * D), MVKE_OK);

    float *q = malloc(sizeof(float) * nq * d), *w = malloc(sizeof(float) * nq * K), *z = malloc(sizeof(float) * nq * D);
    ref_fill_normal(q, (int64_t)nq * d);
    for (int t = 0; t < nq; t++) {
        gates(K, t % 2 == 0, w + t * K);
        cr_assert_eq(mvke_pack_query(K, d, q + t * d, w + t * K, z + t * D), MVKE_OK);
    }
    ref_hit *ref = malloc(sizeof(ref_hit) * n);
    float *S = malloc(sizeof(float) * nq * k);
    int64_t *I = malloc(sizeof(int64_t) * nq * k);
    const int top = mvke_codec_scan_set_isa(MVKE_ISA_AVX512);
    for (int isa = MVKE_ISA_GENERIC; isa <= top; isa++) {
        cr_assert_eq(mvke_codec_scan_set_isa(isa), isa);
        cr_assert_eq(mvke_index_search(ix, nq, z, k, NULL, S, I), MVKE_OK, "%s", mvke_last_error());
        for (int t = 0; t < nq; t++) {
            int64_t nref = ref_rank_split(K, d, n, dec, x, ids, q + t * d, w + t * K, ref);
            ref_check_topk(I + t * k, S + t * k, k, k, ref, nref, TOL);
        }
        /* Threshold search through the same kernels. */
        mvke_result *res;
        cr_assert_eq(mvke_index_range_search(ix, 1, z, 0.2f, NULL, &res), MVKE_OK);
        const int64_t *ri;
        const float *rs;
        int64_t rn;
        cr_assert_eq(mvke_result_get(res, 0, &ri, &rs, &rn), MVKE_OK);
        int64_t nref = ref_rank_split(K, d, n, dec, x, ids, q, w, ref);
        ref_check_range(ri, rs, rn, 0.2f, ref, nref, TOL);
        mvke_result_free(res);
    }
    mvke_codec_scan_set_isa(MVKE_ISA_AVX512);
    mvke_index_free(ix);
    free(x);
    free(dec);
    free(ids);
    free(q);
    free(w);
    free(z);
    free(ref);
    free(S);
    free(I);
}

static const int Ks[] = {1, 2, 5, 8}, ds[] = {1, 7, 30, 64};

Test(codec_scan, sq8_one_query_every_shape) {
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++) check(MVKE_STORAGE_SQ8, Ks[a], ds[b], 1);
}

Test(codec_scan, pq_one_query_every_shape) {
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++) check(MVKE_STORAGE_PQ, Ks[a], ds[b], 1);
}

Test(codec_scan, codes_and_decoding_paths_agree_in_batches) {
    /* Tiles of up to MVKE_CODEC_SCAN_MAX_Q queries scan codes; larger ones decode. */
    check(MVKE_STORAGE_SQ8, 5, 30, MVKE_CODEC_SCAN_MAX_Q);
    check(MVKE_STORAGE_SQ8, 5, 30, MVKE_CODEC_SCAN_MAX_Q + 5);
    check(MVKE_STORAGE_PQ, 5, 30, MVKE_CODEC_SCAN_MAX_Q);
    check(MVKE_STORAGE_PQ, 5, 30, MVKE_CODEC_SCAN_MAX_Q + 5);
}

Test(codec_scan, cpu_level_is_detected) {
    /* The level in use never exceeds the cap, and the portable one is always there. */
    cr_assert_eq(mvke_codec_scan_set_isa(MVKE_ISA_GENERIC), MVKE_ISA_GENERIC);
    cr_assert_geq(mvke_codec_scan_set_isa(MVKE_ISA_AVX512), MVKE_ISA_GENERIC);
}
