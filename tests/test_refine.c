/*
 * test_refine.c - codec indexes that keep their float32 rows (index/refine.c): searches return
 * exact scores, the exact top k when R*k covers every row, threshold searches keep exact hits,
 * removal and replacement move the exact rows with the codes, and R is checked.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"

#define TOL 1e-5

static void run(const char *storage) {
    const int K = 5, d = 30, D = K * d;
    const int64_t n = 400, k = 10;
    ref_seed(11);
    float *x = malloc(sizeof(float) * n * D);
    ref_fill_normal(x, n * D);
    memset(x + 17 * D, 0, sizeof(float) * D); /* a zero user */
    mvke_index_options o;
    mvke_index_options_init(&o);
    cr_assert_eq(mvke_index_options_set_storage(&o, storage), MVKE_OK);
    o.refine = 1;
    mvke_index *ix;
    cr_assert_eq(mvke_index_new(&ix, K, d, &o), MVKE_OK, "%s", mvke_last_error());
    int refine = 0, R = 0;
    cr_assert_eq(mvke_index_refine(ix, &refine, &R), MVKE_OK);
    cr_assert(refine == 1 && R == 4);
    cr_assert_eq(mvke_index_set_refine(ix, 0), MVKE_ERR_INVALID);
    cr_assert_eq(mvke_index_train(ix, n, x), MVKE_OK);
    cr_assert_eq(mvke_index_add(ix, n, NULL, x), MVKE_OK);
    float back[150];
    cr_assert_eq(mvke_index_get(ix, 3, back), MVKE_OK);
    cr_assert_eq(memcmp(back, x + 3 * D, sizeof back), 0, "get returns the exact row");
    float rows[2 * 150];
    int64_t rids[2];
    cr_assert_eq(mvke_index_read_rows(ix, 3, 2, rids, rows), MVKE_OK);
    cr_assert_eq(memcmp(rows, x + 3 * D, sizeof rows), 0, "read_rows returns the exact rows");

    float q[30], w[5] = {0.4f, 0.0f, 0.3f, 0.0f, 0.3f}, z[150], S[10];
    int64_t I[10];
    ref_fill_normal(q, d);
    cr_assert_eq(mvke_pack_query(K, d, q, w, z), MVKE_OK);
    ref_hit *ref = malloc(sizeof(ref_hit) * n);
    int64_t nref = ref_rank(K, d, n, x, NULL, NULL, q, w, ref);
    /* Default R: exact scores for whatever was found. */
    cr_assert_eq(mvke_index_search(ix, 1, z, k, NULL, S, I), MVKE_OK);
    for (int i = 0; i < k; i++) {
        cr_assert_geq(I[i], 0);
        cr_assert_float_eq(S[i], ref_score(K, d, x + I[i] * D, q, w), TOL);
        if (i) cr_assert_geq(S[i - 1], S[i]);
    }
    /* R*k covering every row: the exact top k. */
    cr_assert_eq(mvke_index_set_refine(ix, (int)(n / k)), MVKE_OK);
    cr_assert_eq(mvke_index_search(ix, 1, z, k, NULL, S, I), MVKE_OK);
    ref_check_topk(I, S, k, k, ref, nref, TOL);
    /* Threshold: exact scores, all at or above it. */
    mvke_result *res;
    cr_assert_eq(mvke_index_range_search(ix, 1, z, 0.2f, NULL, &res), MVKE_OK);
    const int64_t *ri;
    const float *rs;
    int64_t rn;
    cr_assert_eq(mvke_result_get(res, 0, &ri, &rs, &rn), MVKE_OK);
    for (int64_t i = 0; i < rn; i++) {
        cr_assert_geq(rs[i], 0.2f);
        cr_assert_float_eq(rs[i], ref_score(K, d, x + ri[i] * D, q, w), TOL);
        if (i) cr_assert_geq(rs[i - 1], rs[i]);
    }
    mvke_result_free(res);
    /* Removing a row moves the last one (codes and exact row) into its place. */
    int64_t gone = ref[0].id;
    cr_assert_eq(mvke_index_remove(ix, 1, &gone), MVKE_OK);
    cr_assert_eq(mvke_index_search(ix, 1, z, k, NULL, S, I), MVKE_OK);
    ref_check_topk(I, S, k, k, ref + 1, nref - 1, TOL);
    cr_assert_eq(mvke_index_get(ix, n - 1, back), MVKE_OK);
    cr_assert_eq(memcmp(back, x + (n - 1) * D, sizeof back), 0);
    mvke_index_free(ix);
    free(x);
    free(ref);
}

Test(refine, sq8_returns_exact_scores_and_top_k) { run("sq8"); }
Test(refine, pq_returns_exact_scores_and_top_k) { run("pq"); }

Test(refine, needs_float32_rows) {
    mvke_index *ix;
    cr_assert_eq(mvke_index_new(&ix, 2, 4, NULL), MVKE_OK);
    cr_assert_eq(mvke_index_set_refine(ix, 4), MVKE_ERR_INVALID);
    mvke_index_free(ix);
}
