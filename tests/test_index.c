/*
 * test_index.c - mvke_index's life cycle and every rejected change: each error has its own status
 * and a message naming the row, and leaves the index exactly as it was.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/runtime.h"
#include "reference.h"

enum { K = 3, d = 4, DD = K * d };

/* A snapshot of the whole index: ids and rows in id order. */
typedef struct snap {
    int64_t n;
    int64_t *ids;
    float *x;
} snap;

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static snap take(const mvke_index *ix) {
    snap s;
    cr_assert_eq(mvke_index_count(ix, &s.n), MVKE_OK);
    s.ids = malloc((s.n + 1) * sizeof(int64_t));
    s.x = malloc((s.n + 1) * DD * sizeof(float));
    cr_assert_eq(mvke_index_ids(ix, s.ids), MVKE_OK);
    qsort(s.ids, s.n, sizeof(int64_t), cmp_i64);
    for (int64_t i = 0; i < s.n; i++) cr_assert_eq(mvke_index_get(ix, s.ids[i], s.x + i * DD), MVKE_OK);
    return s;
}

static void same(snap a, snap b) {
    cr_assert_eq(a.n, b.n, "count changed: %lld -> %lld", (long long)a.n, (long long)b.n);
    for (int64_t i = 0; i < a.n; i++) cr_assert_eq(a.ids[i], b.ids[i], "ids changed at %lld: %lld vs %lld", (long long)i, (long long)a.ids[i], (long long)b.ids[i]);
    cr_assert(memcmp(a.x, b.x, a.n * DD * sizeof(float)) == 0, "rows changed");
    free(a.ids); free(a.x); free(b.ids); free(b.x);
}

static mvke_index *make(int64_t n) {
    mvke_index *ix;
    cr_assert_eq(mvke_index_new(&ix, K, d, NULL), MVKE_OK);
    float *x = malloc((n + 1) * DD * sizeof(float));
    ref_fill_normal(x, n * DD);
    int64_t *ids = malloc((n + 1) * sizeof(int64_t));
    for (int64_t i = 0; i < n; i++) ids[i] = 100 + 2 * i;
    cr_assert_eq(mvke_index_add(ix, n, ids, x), MVKE_OK);
    free(x);
    free(ids);
    return ix;
}

Test(index, create_and_shape) {
    mvke_index *ix = NULL;
    cr_assert_eq(mvke_index_new(&ix, 0, 4, NULL), MVKE_ERR_DIM);
    cr_assert_null(ix);
    cr_assert(strstr(mvke_last_error(), "K = 0"), "%s", mvke_last_error());
    cr_assert_eq(mvke_index_new(&ix, 65, 4, NULL), MVKE_ERR_DIM);
    cr_assert_eq(mvke_index_new(&ix, 5, 0, NULL), MVKE_ERR_DIM);
    cr_assert_eq(mvke_index_new(NULL, 5, 3, NULL), MVKE_ERR_INVALID);
    mvke_index_options o;
    mvke_index_options_init(&o);
    o.storage = 7;
    cr_assert_eq(mvke_index_new(&ix, 5, 3, &o), MVKE_ERR_INVALID);
    o.storage = MVKE_STORAGE_F16;
    cr_assert_eq(mvke_index_new(&ix, 5, 3, &o), MVKE_OK);
    int kk, dd;
    mvke_storage st;
    cr_assert_eq(mvke_index_shape(ix, &kk, &dd, &st), MVKE_OK);
    cr_assert(kk == 5 && dd == 3 && st == MVKE_STORAGE_F16);
    mvke_index_free(ix);
    mvke_index_free(NULL);
    cr_assert_str_eq(mvke_status_name(MVKE_ERR_DUPLICATE), "MVKE_ERR_DUPLICATE");
}

Test(index, add_get_upsert_remove_reset) {
    ref_seed(41);
    mvke_index *ix = make(50);
    int64_t n;
    mvke_index_count(ix, &n);
    cr_assert_eq(n, 50);
    float row[DD], back[DD];
    ref_fill_normal(row, DD);
    int64_t id = 100;
    cr_assert_eq(mvke_index_upsert(ix, 1, &id, row), MVKE_OK);
    cr_assert_eq(mvke_index_get(ix, 100, back), MVKE_OK);
    cr_assert(memcmp(row, back, sizeof row) == 0);
    id = 7;
    cr_assert_eq(mvke_index_upsert(ix, 1, &id, row), MVKE_OK); /* new id */
    mvke_index_count(ix, &n);
    cr_assert_eq(n, 51);
    int yes;
    mvke_index_contains(ix, 7, &yes);
    cr_assert(yes);
    int64_t rm[2] = {7, 102};
    cr_assert_eq(mvke_index_remove(ix, 2, rm), MVKE_OK);
    mvke_index_contains(ix, 102, &yes);
    cr_assert(!yes);
    cr_assert_eq(mvke_index_get(ix, 102, back), MVKE_ERR_UNKNOWN_ID);
    cr_assert(strstr(mvke_last_error(), "102"));
    /* ids NULL: sequential from count */
    mvke_index *seq;
    cr_assert_eq(mvke_index_new(&seq, K, d, NULL), MVKE_OK);
    float two[2 * DD];
    ref_fill_normal(two, 2 * DD);
    cr_assert_eq(mvke_index_add(seq, 2, NULL, two), MVKE_OK);
    cr_assert_eq(mvke_index_add(seq, 2, NULL, two), MVKE_OK);
    for (int64_t i = 0; i < 4; i++) {
        mvke_index_contains(seq, i, &yes);
        cr_assert(yes, "id %lld", (long long)i);
    }
    mvke_index_free(seq);
    cr_assert_eq(mvke_index_reset(ix), MVKE_OK);
    mvke_index_count(ix, &n);
    cr_assert_eq(n, 0);
    cr_assert_eq(mvke_index_add(ix, 1, &id, row), MVKE_OK);
    mvke_index_free(ix);
}

Test(index, rejected_adds_change_nothing) {
    ref_seed(42);
    mvke_index *ix = make(30);
    float x[3 * DD];
    int64_t ids[3] = {1, 3, 5};
    ref_fill_normal(x, 3 * DD);

    snap before = take(ix);
    x[DD + 5] = NAN;
    cr_assert_eq(mvke_index_add(ix, 3, ids, x), MVKE_ERR_NONFINITE);
    cr_assert(strstr(mvke_last_error(), "row 1"), "%s", mvke_last_error());
    same(before, take(ix));

    before = take(ix);
    x[DD + 5] = -INFINITY;
    cr_assert_eq(mvke_index_upsert(ix, 3, ids, x), MVKE_ERR_NONFINITE);
    same(before, take(ix));
    x[DD + 5] = 1;

    before = take(ix);
    ids[2] = 1;
    cr_assert_eq(mvke_index_add(ix, 3, ids, x), MVKE_ERR_DUPLICATE);
    cr_assert(strstr(mvke_last_error(), "rows 0 and 2"), "%s", mvke_last_error());
    same(before, take(ix));

    before = take(ix);
    ids[2] = 104; /* present */
    cr_assert_eq(mvke_index_add(ix, 3, ids, x), MVKE_ERR_DUPLICATE);
    cr_assert(strstr(mvke_last_error(), "104"), "%s", mvke_last_error());
    same(before, take(ix));

    before = take(ix);
    ids[2] = -4;
    cr_assert_eq(mvke_index_add(ix, 3, ids, x), MVKE_ERR_INVALID);
    same(before, take(ix));

    before = take(ix);
    x[0] = 3e19f; /* squared norm overflows float32 */
    ids[2] = 9;
    cr_assert_eq(mvke_index_add(ix, 3, ids, x), MVKE_ERR_NONFINITE);
    same(before, take(ix));
    x[0] = 0;

    before = take(ix);
    int64_t rm[3] = {100, 555, 102};
    cr_assert_eq(mvke_index_remove(ix, 3, rm), MVKE_ERR_UNKNOWN_ID);
    cr_assert(strstr(mvke_last_error(), "555"), "%s", mvke_last_error());
    same(before, take(ix));
    before = take(ix);
    rm[1] = 100;
    cr_assert_eq(mvke_index_remove(ix, 3, rm), MVKE_ERR_DUPLICATE);
    same(before, take(ix));

    cr_assert_eq(mvke_index_add(ix, -1, ids, x), MVKE_ERR_INVALID);
    cr_assert_eq(mvke_index_add(ix, 1, ids, NULL), MVKE_ERR_INVALID);
    cr_assert_eq(mvke_index_upsert(ix, 1, NULL, x), MVKE_ERR_INVALID);
    mvke_index_free(ix);
}

Test(index, out_of_memory_changes_nothing) {
    ref_seed(43);
    mvke_index *ix = make(100);
    float x[200 * DD];
    int64_t ids[200];
    ref_fill_normal(x, 200 * DD);
    for (int i = 0; i < 200; i++) ids[i] = 5000 + i;
    int ok = 0;
    for (int64_t fail = 0; fail < 64 && !ok; fail++) {
        snap before = take(ix);
        mvke_alloc_fail_after(fail);
        mvke_status st = mvke_index_add(ix, 200, ids, x);
        mvke_alloc_fail_after(-1);
        if (st == MVKE_OK) {
            ok = 1;
            free(before.ids);
            free(before.x);
        } else {
            cr_assert_eq(st, MVKE_ERR_NOMEM, "allocation %lld: %s", (long long)fail, mvke_status_name(st));
            same(before, take(ix));
        }
    }
    cr_assert(ok, "the add never succeeded");
    int64_t n;
    mvke_index_count(ix, &n);
    cr_assert_eq(n, 300);
    mvke_index_free(ix);
}

/* Rejected rows reach the caller as positions in its batch, not only as message text. */
Test(index, rejected_rows_are_named_by_position) {
    ref_seed(43);
    mvke_index *ix = make(30);
    float x[4 * DD];
    int64_t ids[4] = {1, 3, 5, 7}, rows[2] = {-1, -1};
    int n = -1;
    ref_fill_normal(x, 4 * DD);
    x[2 * DD + 1] = NAN;
    cr_assert_eq(mvke_index_add(ix, 4, ids, x), MVKE_ERR_NONFINITE);
    cr_assert_eq(mvke_last_error_rows(rows, &n), MVKE_OK);
    cr_assert(n == 1 && rows[0] == 2, "n %d, row %lld", n, (long long)rows[0]);
    x[2 * DD + 1] = 0;

    ids[3] = 3;
    cr_assert_eq(mvke_index_add(ix, 4, ids, x), MVKE_ERR_DUPLICATE);
    mvke_last_error_rows(rows, &n);
    cr_assert(n == 2 && rows[0] == 1 && rows[1] == 3, "n %d, rows %lld %lld", n, (long long)rows[0], (long long)rows[1]);
    ids[3] = 7;

    ids[1] = 104; /* present */
    cr_assert_eq(mvke_index_add(ix, 4, ids, x), MVKE_ERR_DUPLICATE);
    mvke_last_error_rows(rows, &n);
    cr_assert(n == 1 && rows[0] == 1);

    int64_t rm[2] = {100, 555};
    cr_assert_eq(mvke_index_remove(ix, 2, rm), MVKE_ERR_UNKNOWN_ID);
    mvke_last_error_rows(rows, &n);
    cr_assert(n == 1 && rows[0] == 1);

    /* an error about no row, and a success, name no row */
    cr_assert_eq(mvke_index_add(ix, -1, ids, x), MVKE_ERR_INVALID);
    mvke_last_error_rows(rows, &n);
    cr_assert_eq(n, 0);
    ids[1] = 3;
    cr_assert_eq(mvke_index_add(ix, 4, ids, x), MVKE_OK);
    mvke_last_error_rows(rows, &n);
    cr_assert_eq(n, 0);
    cr_assert_eq(mvke_last_error_rows(NULL, &n), MVKE_ERR_INVALID);
    mvke_index_free(ix);
}
