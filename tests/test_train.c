/*
 * test_train.c - codec indexes and their training (index/train.c, the codec options): an
 * untrained index refuses add and search with MVKE_ERR_UNTRAINED; tiny and degenerate samples
 * (one row, constant dimensions, fewer rows than centroids) train as documented; training with
 * rows present, bad rows, bad options and failed allocations change nothing; upsert recodes;
 * an untrained codec index is not saved (saved codec files: test_file.c).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernels/runtime.h"
#include "reference.h"

static mvke_index *make(const char *storage, int K, int d) {
    mvke_index_options o;
    mvke_index_options_init(&o);
    cr_assert_eq(mvke_index_options_set_storage(&o, storage), MVKE_OK, "%s", mvke_last_error());
    mvke_index *ix;
    cr_assert_eq(mvke_index_new(&ix, K, d, &o), MVKE_OK, "%s", mvke_last_error());
    return ix;
}

Test(train, untrained_index_refuses_add_and_search) {
    const char *names[] = {"sq8", "pq", "pq:4"};
    for (int s = 0; s < 3; s++) {
        mvke_index *ix = make(names[s], 2, 8);
        int yes = 1;
        cr_assert_eq(mvke_index_is_trained(ix, &yes), MVKE_OK);
        cr_assert_eq(yes, 0);
        float x[16] = {1}, S[1];
        int64_t I[1], id = 1, count = -1;
        cr_assert_eq(mvke_index_add(ix, 1, &id, x), MVKE_ERR_UNTRAINED);
        cr_assert(strstr(mvke_last_error(), "not trained"));
        cr_assert_eq(mvke_status_name(MVKE_ERR_UNTRAINED)[0], 'M');
        cr_assert_str_eq(mvke_status_name(MVKE_ERR_UNTRAINED), "MVKE_ERR_UNTRAINED");
        cr_assert_eq(mvke_index_search(ix, 1, x, 1, NULL, S, I), MVKE_ERR_UNTRAINED);
        mvke_result *r = NULL;
        cr_assert_eq(mvke_index_range_search(ix, 1, x, 0.0f, NULL, &r), MVKE_ERR_UNTRAINED);
        cr_assert_null(r);
        cr_assert_eq(mvke_index_count(ix, &count), MVKE_OK);
        cr_assert_eq(count, 0);
        cr_assert_eq(mvke_index_train(ix, 1, x), MVKE_OK);
        cr_assert_eq(mvke_index_is_trained(ix, &yes), MVKE_OK);
        cr_assert_eq(yes, 1);
        cr_assert_eq(mvke_index_add(ix, 1, &id, x), MVKE_OK);
        cr_assert_eq(mvke_index_search(ix, 1, x, 1, NULL, S, I), MVKE_OK);
        cr_assert_eq(I[0], 1);
        mvke_index_free(ix);
    }
    /* Storages without a codec are always trained; train checks and does nothing. */
    mvke_index *ix = make("f32", 2, 8);
    int yes = 0;
    float x[16] = {0};
    cr_assert_eq(mvke_index_is_trained(ix, &yes), MVKE_OK);
    cr_assert_eq(yes, 1);
    cr_assert_eq(mvke_index_train(ix, 1, x), MVKE_OK);
    cr_assert_eq(mvke_index_train(ix, 0, x), MVKE_ERR_INVALID);
    mvke_index_free(ix);
}

Test(train, one_row_and_constant_dimensions_decode_exactly) {
    /* sq8 on one row: every dimension is constant (scale 0) and decodes exactly. */
    const int K = 3, d = 5, D = K * d;
    float x[15], back[15];
    ref_seed(4);
    ref_fill_normal(x, D);
    mvke_index *ix = make("sq8", K, d);
    cr_assert_eq(mvke_index_train(ix, 1, x), MVKE_OK);
    int64_t id = 9;
    cr_assert_eq(mvke_index_add(ix, 1, &id, x), MVKE_OK);
    cr_assert_eq(mvke_index_get(ix, 9, back), MVKE_OK);
    for (int i = 0; i < D; i++) cr_assert_eq(back[i], x[i]);
    mvke_index_free(ix);

    /* sq8 with one constant dimension among varying ones. */
    const int n = 50;
    float *y = malloc(sizeof(float) * n * D), *yb = malloc(sizeof(float) * D);
    ref_fill_normal(y, n * D);
    for (int i = 0; i < n; i++) y[i * D + 4] = 2.5f;
    ix = make("sq8", K, d);
    cr_assert_eq(mvke_index_train(ix, n, y), MVKE_OK);
    cr_assert_eq(mvke_index_add(ix, n, NULL, y), MVKE_OK);
    for (int i = 0; i < n; i++) {
        cr_assert_eq(mvke_index_get(ix, i, yb), MVKE_OK);
        cr_assert_eq(yb[4], 2.5f);
        for (int j = 0; j < D; j++) cr_assert_leq(fabsf(yb[j] - y[i * D + j]), 0.05f, "row %d value %d", i, j);
    }
    mvke_index_free(ix);
    free(y);
    free(yb);
}

Test(train, pq_with_fewer_rows_than_centroids_encodes_them_exactly) {
    const int K = 2, d = 6, D = K * d, n = 10;
    float x[120], back[12];
    ref_seed(5);
    ref_fill_normal(x, n * D);
    mvke_index *ix = make("pq:3", K, d);
    cr_assert_eq(mvke_index_train(ix, n, x), MVKE_OK);
    cr_assert_eq(mvke_index_add(ix, n, NULL, x), MVKE_OK);
    for (int i = 0; i < n; i++) {
        cr_assert_eq(mvke_index_get(ix, i, back), MVKE_OK);
        for (int j = 0; j < D; j++) cr_assert_eq(back[j], x[i * D + j]);
    }
    /* Constant sample: one distinct sub-vector per sub-space. */
    mvke_index *iy = make("pq", K, d);
    float c[24];
    for (int i = 0; i < 24; i++) c[i] = (float)(i % 12);
    cr_assert_eq(mvke_index_train(iy, 2, c), MVKE_OK);
    cr_assert_eq(mvke_index_add(iy, 1, NULL, c), MVKE_OK);
    cr_assert_eq(mvke_index_get(iy, 0, back), MVKE_OK);
    for (int j = 0; j < D; j++) cr_assert_eq(back[j], c[j]);
    mvke_index_free(ix);
    mvke_index_free(iy);
}

Test(train, bad_training_changes_nothing) {
    const int K = 2, d = 4;
    float x[16], back[8];
    ref_seed(6);
    ref_fill_normal(x, 16);
    mvke_index *ix = make("sq8", K, d);
    float bad[16];
    memcpy(bad, x, sizeof bad);
    bad[11] = NAN;
    cr_assert_eq(mvke_index_train(ix, 2, bad), MVKE_ERR_NONFINITE);
    cr_assert(strstr(mvke_last_error(), "row 1"));
    int yes = 1;
    mvke_index_is_trained(ix, &yes);
    cr_assert_eq(yes, 0);
    cr_assert_eq(mvke_index_train(ix, 0, x), MVKE_ERR_INVALID);
    cr_assert_eq(mvke_index_train(ix, 2, NULL), MVKE_ERR_INVALID);
    cr_assert_eq(mvke_index_train(ix, 2, x), MVKE_OK);
    cr_assert_eq(mvke_index_add(ix, 1, NULL, x), MVKE_OK);
    cr_assert_eq(mvke_index_get(ix, 0, back), MVKE_OK);
    /* Retraining under stored codes is refused; after a reset it works. */
    float other[16];
    for (int i = 0; i < 16; i++) other[i] = 100.0f + (float)i;
    cr_assert_eq(mvke_index_train(ix, 2, other), MVKE_ERR_INVALID);
    float again[8];
    cr_assert_eq(mvke_index_get(ix, 0, again), MVKE_OK);
    cr_assert_eq(memcmp(back, again, sizeof back), 0);
    cr_assert_eq(mvke_index_reset(ix), MVKE_OK);
    cr_assert_eq(mvke_index_train(ix, 2, other), MVKE_OK);
    mvke_index_free(ix);
}

Test(train, options_are_checked_against_the_shape) {
    mvke_index_options o;
    mvke_index_options_init(&o);
    mvke_index *ix;
    cr_assert_eq(mvke_index_options_set_storage(&o, "pq:9"), MVKE_OK);
    cr_assert_eq(mvke_index_new(&ix, 2, 8, &o), MVKE_ERR_INVALID); /* m > d */
    cr_assert(strstr(mvke_last_error(), "pq_m"));
    cr_assert_eq(mvke_index_options_set_storage(&o, "pq:8"), MVKE_OK);
    cr_assert_eq(mvke_index_new(&ix, 2, 8, &o), MVKE_OK);
    mvke_index_free(ix);
    mvke_index_options_init(&o);
    o.refine = 1;
    cr_assert_eq(mvke_index_new(&ix, 2, 8, &o), MVKE_ERR_INVALID); /* refine needs a codec */
    o.refine = 0;
    o.pq_m = 4;
    cr_assert_eq(mvke_index_new(&ix, 2, 8, &o), MVKE_ERR_INVALID); /* pq_m without pq */
    mvke_tags *tags;
    mvke_index_options_init(&o);
    cr_assert_eq(mvke_index_options_set_storage(&o, "sq8"), MVKE_OK);
    cr_assert_eq(mvke_tags_new(&tags, 2, 8, &o), MVKE_ERR_INVALID); /* tag rows are not coded */
}

Test(train, failed_allocations_change_nothing) {
    const int K = 2, d = 6, n = 400;
    float *x = malloc(sizeof(float) * n * K * d);
    ref_seed(8);
    ref_fill_normal(x, n * K * d);
    const char *names[] = {"sq8", "pq"};
    for (int s = 0; s < 2; s++) {
        mvke_index *ix = make(names[s], K, d);
        mvke_status st = MVKE_ERR_NOMEM;
        for (int fail = 0; st == MVKE_ERR_NOMEM && fail < 1000; fail++) {
            mvke_alloc_fail_after(fail);
            st = mvke_index_train(ix, n, x);
            mvke_alloc_fail_after(-1);
            int yes = -1;
            mvke_index_is_trained(ix, &yes);
            cr_assert_eq(yes, st == MVKE_OK, "%s: fail after %d: status %d, trained %d", names[s], fail, st, yes);
        }
        cr_assert_eq(st, MVKE_OK);
        mvke_index_free(ix);
    }
    free(x);
}

Test(train, upsert_recodes_the_row) {
    const int K = 2, d = 6, n = 50, D = K * d;
    float x[600], back[12], other[12];
    ref_seed(10);
    ref_fill_normal(x, n * D);
    mvke_index *ix = make("pq:2", K, d);
    cr_assert_eq(mvke_index_train(ix, n, x), MVKE_OK);
    cr_assert_eq(mvke_index_add(ix, n - 1, NULL, x), MVKE_OK);
    /* Row n-1 was in the training sample (each sub-vector is a centroid when the sample has
     * fewer than 256 rows), so replacing row 0 with it decodes exactly. */
    int64_t id = 0;
    memcpy(other, x + (n - 1) * D, sizeof other);
    cr_assert_eq(mvke_index_upsert(ix, 1, &id, other), MVKE_OK);
    cr_assert_eq(mvke_index_get(ix, 0, back), MVKE_OK);
    cr_assert_eq(memcmp(back, other, sizeof back), 0);
    mvke_index_free(ix);
}

Test(train, an_untrained_codec_index_is_not_saved) {
    mvke_index *ix = make("sq8", 2, 4);
    char path[] = "/tmp/mvke-train-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    cr_assert_eq(mvke_file_save(path, ix, NULL), MVKE_ERR_UNTRAINED);
    cr_assert(strstr(mvke_last_error(), "not trained"), "%s", mvke_last_error());
    cr_assert_neq(access(path, F_OK), 0, "a refused save wrote a file");
    mvke_index_free(ix);
}
