/*
 * test_c_api.c - the C entry points of mvke_faiss.h (plugin/c_api.cpp): constructors, the type
 * check, the thread setting, and FAISS's error convention (nonzero return, message through
 * faiss_get_last_error(), nothing handed out on failure).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>

#include "mvke/mvke_faiss.h"
#include "reference.h"

#define OK(call)                                                                                    \
    do {                                                                                            \
        int rc_ = (call);                                                                           \
        cr_assert_eq(rc_, 0, "%s returned %d: %s", #call, rc_,                                      \
                     faiss_get_last_error() ? faiss_get_last_error() : "(no message)");            \
    } while (0)

Test(c_api, constructors_make_inner_product_indexes_of_dimension_k_times_d) {
    const int shapes[][2] = {{1, 1}, {5, 30}, {8, 64}, {64, 3}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        FaissIndex *u = NULL, *t = NULL;
        OK(mvke_faiss_user_index_new(&u, shapes[i][0], shapes[i][1]));
        OK(mvke_faiss_tag_index_new(&t, shapes[i][0], shapes[i][1]));
        cr_assert_eq(faiss_Index_d(u), shapes[i][0] * shapes[i][1]);
        cr_assert_eq(faiss_Index_d(t), shapes[i][0] * shapes[i][1]);
        cr_assert_eq(faiss_Index_metric_type(u), METRIC_INNER_PRODUCT);
        cr_assert_eq(faiss_Index_metric_type(t), METRIC_INNER_PRODUCT);
        cr_assert_eq(faiss_Index_ntotal(u), 0);
        cr_assert(faiss_Index_is_trained(u));
        cr_assert(mvke_faiss_is_mvke(u) && mvke_faiss_is_mvke(t));
        faiss_Index_free(u);
        faiss_Index_free(t);
    }
}

Test(c_api, bad_shapes_fail_with_the_core_message) {
    const int bad[][2] = {{0, 30}, {-1, 30}, {65, 30}, {5, 0}, {5, 65537}, {5, -30}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        FaissIndex *u = (FaissIndex *)&bad; /* must be overwritten with NULL */
        int rc = mvke_faiss_user_index_new(&u, bad[i][0], bad[i][1]);
        cr_assert_neq(rc, 0, "K = %d, d = %d accepted", bad[i][0], bad[i][1]);
        cr_assert_null(u);
        const char *m = faiss_get_last_error();
        cr_assert(m && strstr(m, "MVKE_ERR_"), "K = %d, d = %d: message %s", bad[i][0], bad[i][1], m ? m : "(none)");
        FaissIndex *t = (FaissIndex *)&bad;
        cr_assert_neq(mvke_faiss_tag_index_new(&t, bad[i][0], bad[i][1]), 0);
        cr_assert_null(t);
    }
    cr_assert_neq(mvke_faiss_user_index_new(NULL, 5, 30), 0);
    cr_assert_neq(mvke_faiss_tag_index_new(NULL, 5, 30), 0);
}

Test(c_api, set_threads_only_on_mvke_indexes) {
    FaissIndex *u = NULL;
    OK(mvke_faiss_user_index_new(&u, 3, 8));
    OK(mvke_faiss_set_threads(u, 1));
    OK(mvke_faiss_set_threads(u, 0));
    cr_assert_neq(mvke_faiss_set_threads(u, -1), 0);
    cr_assert_neq(mvke_faiss_set_threads(NULL, 1), 0);

    FaissIndexFlatIP *flat = NULL;
    OK(faiss_IndexFlatIP_new_with(&flat, 24));
    cr_assert(!mvke_faiss_is_mvke(flat));
    cr_assert(!mvke_faiss_is_mvke(NULL));
    cr_assert_neq(mvke_faiss_set_threads(flat, 1), 0);
    cr_assert(strstr(faiss_get_last_error(), "not an MVKE index"), "%s", faiss_get_last_error());

    /* One thread and the default give the same results. */
    enum { N = 300, KK = 7 };
    static float x[N * 24];
    float q[8], w[3] = {0.2f, 0.5f, 0.3f}, z[24], d1[KK], d0[KK];
    int64_t l1[KK], l0[KK];
    ref_seed(41);
    ref_fill_normal(x, N * 24);
    ref_fill_normal(q, 8);
    cr_assert_eq(mvke_pack_query(3, 8, q, w, z), MVKE_OK);
    OK(faiss_Index_add(u, N, x));
    OK(mvke_faiss_set_threads(u, 1));
    OK(faiss_Index_search(u, 1, z, KK, d1, l1));
    OK(mvke_faiss_set_threads(u, 0));
    OK(faiss_Index_search(u, 1, z, KK, d0, l0));
    cr_assert_eq(memcmp(l1, l0, sizeof l0), 0);
    cr_assert_eq(memcmp(d1, d0, sizeof d0), 0);
    faiss_Index_free(flat);
    faiss_Index_free(u);
}

Test(c_api, a_rejected_add_reports_and_adds_nothing) {
    FaissIndex *u = NULL;
    OK(mvke_faiss_user_index_new(&u, 2, 2));
    float row[4] = {1, 2, 3, 4};
    int64_t id = -1;
    cr_assert_neq(faiss_Index_add_with_ids(u, 1, row, &id), 0);
    const char *m = faiss_get_last_error();
    cr_assert(m && strstr(m, "negative"), "%s", m ? m : "(none)");
    cr_assert_eq(faiss_Index_ntotal(u), 0);
    faiss_Index_free(u);
    faiss_Index_free(NULL); /* FAISS's convention: freeing NULL does nothing */
}

Test(c_api, codec_indexes_train_through_faiss_and_refine_exactly) {
    const int K = 3, d = 8, D = K * d;
    const idx_t n = 300, k = 5;
    float *x = malloc(sizeof(float) * n * D);
    ref_seed(21);
    ref_fill_normal(x, n * D);
    const char *names[] = {"sq8", "pq", "pq:4,refine", "sq8,refine"};
    for (int s = 0; s < 4; s++) {
        FaissIndex *u = NULL;
        OK(mvke_faiss_user_index_new_with(&u, K, d, names[s]));
        cr_assert_not(faiss_Index_is_trained(u), "%s starts untrained", names[s]);
        cr_assert_neq(faiss_Index_add(u, n, x), 0);
        cr_assert(strstr(faiss_get_last_error(), "MVKE_ERR_UNTRAINED"));
        cr_assert_eq(faiss_Index_ntotal(u), 0);
        OK(faiss_Index_train(u, n, x));
        cr_assert(faiss_Index_is_trained(u));
        OK(faiss_Index_add(u, n, x));
        cr_assert_eq(faiss_Index_ntotal(u), n);
        float q[8], w[3] = {0.5f, 0.0f, 0.5f}, z[24], S[5];
        idx_t I[5];
        ref_fill_normal(q, d);
        cr_assert_eq(mvke_pack_query(K, d, q, w, z), MVKE_OK);
        OK(faiss_Index_search(u, 1, z, k, S, I));
        for (int i = 0; i < k; i++) {
            cr_assert(I[i] >= 0 && I[i] < n);
            if (strstr(names[s], "refine")) /* exact scores of the float32 rows */
                cr_assert_float_eq(S[i], ref_score(K, d, x + I[i] * D, q, w), 1e-5);
        }
        faiss_Index_free(u);
    }
    FaissIndex *u = (FaissIndex *)&names;
    cr_assert_neq(mvke_faiss_user_index_new_with(&u, K, d, "pq:9"), 0); /* m > d */
    cr_assert_null(u);
    cr_assert_neq(mvke_faiss_user_index_new_with(&u, K, d, "sq4"), 0);
    cr_assert(strstr(faiss_get_last_error(), "unknown storage"));
    OK(mvke_faiss_user_index_new_with(&u, K, d, "f16"));
    cr_assert(faiss_Index_is_trained(u));
    faiss_Index_free(u);
    free(x);
}

/* Moving an MVKE index to a GPU: refused with the reason where no GPU can be used (here the
 * module is hidden), the index keeps searching on the CPU; other indexes are refused. */
Test(c_api, use_gpu_without_a_gpu_says_why_and_keeps_the_cpu) {
    setenv("MVKE_CUDA_MODULE", "/nonexistent/libmvke-cuda.so", 1);
    FaissIndex *u = NULL;
    OK(mvke_faiss_user_index_new(&u, 2, 4));
    float x[3 * 8];
    for (int i = 0; i < 3 * 8; i++) x[i] = (float)((i * 7) % 5) - 2.0f;
    OK(faiss_Index_add(u, 3, x));
    cr_assert_neq(mvke_faiss_index_use_gpu(u, 0), 0);
    const char *m = faiss_get_last_error();
    cr_assert(m && strstr(m, "MVKE_ERR_UNSUPPORTED") && strstr(m, "/nonexistent/libmvke-cuda.so"), "%s", m ? m : "(none)");
    cr_assert_neq(mvke_faiss_index_use_gpu(u, -2), 0);
    cr_assert_neq(mvke_faiss_index_use_gpu(NULL, 0), 0);
    float D[3];
    idx_t I[3];
    OK(faiss_Index_search(u, 1, x, 3, D, I));
    cr_assert_eq(I[0], 0);
    OK(mvke_faiss_index_use_cpu(u));

    FaissIndexFlatIP *flat = NULL;
    OK(faiss_IndexFlatIP_new_with(&flat, 8));
    cr_assert_neq(mvke_faiss_index_use_gpu(flat, 0), 0);
    cr_assert(strstr(faiss_get_last_error(), "not an MVKE index"), "%s", faiss_get_last_error());
    cr_assert_neq(mvke_faiss_index_use_cpu(flat), 0);
    faiss_Index_free(flat);
    faiss_Index_free(u);
}
