/*
 * test_naive.c - the naive baseline (support/naive.c) against the float64 oracle: the output
 * contract of mvke_index_search (best first, ties by smaller id, padding past n users), the
 * caller's ids, the threshold list, and the same answers with any number of threads.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "support/naive.h"
#include "reference.h"

enum { K = 4, d = 6, D = K * d };

static void random_tag(float *q, float *w) {
    ref_fill_normal(q, d);
    for (int k = 0; k < K; k++) w[k] = k == 1 ? 0.0f : (float)exp(ref_normal());
}

Test(naive, top_k_matches_the_oracle) {
    ref_seed(11);
    const int64_t n = 3000, k = 50;
    float *x = malloc(sizeof(float) * n * D), q[2 * d], w[2 * K], s[2 * 50];
    int64_t *ids = malloc(sizeof(int64_t) * n), got[2 * 50];
    ref_hit *ref = malloc(sizeof(ref_hit) * n);
    ref_fill_normal(x, n * D);
    for (int64_t i = 0; i < n; i++) ids[i] = 1000 + 7 * i;
    random_tag(q, w);
    random_tag(q + d, w + K);
    bench_naive nv;
    cr_assert_eq(bench_naive_init(&nv, K, d, n, x, ids, 3), MVKE_OK);
    cr_assert_eq(bench_naive_search(&nv, 2, q, w, k, s, got), MVKE_OK);
    cr_assert(nv.materialise_s >= 0 && nv.scan_s >= 0);
    for (int t = 0; t < 2; t++) {
        int64_t nref = ref_rank(K, d, n, x, ids, NULL, q + t * d, w + t * K, ref);
        ref_check_topk(got + t * k, s + t * k, k, k, ref, nref, 1e-5);
    }
    /* one thread gives the same list */
    float s1[2 * 50];
    int64_t got1[2 * 50];
    bench_naive_release(&nv);
    cr_assert_eq(bench_naive_init(&nv, K, d, n, x, ids, 1), MVKE_OK);
    cr_assert_eq(bench_naive_search(&nv, 2, q, w, k, s1, got1), MVKE_OK);
    for (int i = 0; i < 2 * k; i++) cr_assert(got1[i] == got[i] && s1[i] == s[i], "entry %d", i);
    bench_naive_release(&nv);
    free(x);
    free(ids);
    free(ref);
}

Test(naive, pads_past_the_users_and_orders_ties_by_id) {
    float x[3 * D] = {0}, q[d], w[K] = {1, 1, 1, 1}, s[5];
    int64_t got[5];
    for (int j = 0; j < d; j++) q[j] = 1;
    for (int r = 0; r < 3; r++)
        for (int j = 0; j < D; j++) x[r * D + j] = 1; /* three equal users */
    bench_naive nv;
    cr_assert_eq(bench_naive_init(&nv, K, d, 3, x, NULL, 2), MVKE_OK);
    cr_assert_eq(bench_naive_search(&nv, 1, q, w, 5, s, got), MVKE_OK);
    for (int i = 0; i < 3; i++) cr_assert(got[i] == i && fabsf(s[i] - 1) < 1e-6f, "rank %d: id %lld", i, (long long)got[i]);
    for (int i = 3; i < 5; i++) cr_assert(got[i] == -1 && s[i] == -INFINITY);
    cr_assert_eq(bench_naive_search(&nv, 1, q, w, 0, s, got), MVKE_ERR_BAD_K);
    bench_naive_release(&nv);
    cr_assert_eq(bench_naive_init(&nv, 0, d, 3, x, NULL, 1), MVKE_ERR_DIM);
}

Test(naive, threshold_list_matches_the_oracle) {
    ref_seed(12);
    const int64_t n = 2000;
    float *x = malloc(sizeof(float) * n * D), q[d], w[K];
    ref_hit *ref = malloc(sizeof(ref_hit) * n);
    ref_fill_normal(x, n * D);
    random_tag(q, w);
    bench_naive nv;
    cr_assert_eq(bench_naive_init(&nv, K, d, n, x, NULL, 0), MVKE_OK);
    mvke_hits h = {0};
    cr_assert_eq(bench_naive_range(&nv, q, w, 0.3f, &h), MVKE_OK);
    int64_t nref = ref_rank(K, d, n, x, NULL, NULL, q, w, ref);
    ref_check_range(h.id, h.s, h.n, 0.3f, ref, nref, 1e-5);
    mvke_hits_release(&h);
    bench_naive_release(&nv);
    free(x);
    free(ref);
}
