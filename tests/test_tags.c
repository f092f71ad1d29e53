/*
 * test_tags.c - the tag table: tasks, tags with given or computed gates, lookups, and every
 * rejected add leaving the table as it was.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "reference.h"

enum { K = 5, d = 4 };

static mvke_tags *make(void) {
    mvke_tags *t;
    cr_assert_eq(mvke_tags_new(&t, K, d, NULL), MVKE_OK);
    const int a[3] = {0, 1, 2}, b[4] = {1, 2, 3, 4};
    cr_assert_eq(mvke_tags_add_task(t, "interest", a, 3), MVKE_OK);
    cr_assert_eq(mvke_tags_add_task(t, "intention", b, 4), MVKE_OK);
    return t;
}

Test(tags, tasks) {
    mvke_tags *t = make();
    int n;
    mvke_tags_ntasks(t, &n);
    cr_assert_eq(n, 2);
    const char *name;
    const int *ex;
    int nex;
    cr_assert_eq(mvke_tags_task(t, 1, &name, &ex, &nex), MVKE_OK);
    cr_assert_str_eq(name, "intention");
    cr_assert(nex == 4 && ex[0] == 1 && ex[3] == 4);
    const int a[1] = {0};
    cr_assert_eq(mvke_tags_add_task(t, "interest", a, 1), MVKE_ERR_DUPLICATE);
    cr_assert_eq(mvke_tags_add_task(t, "", a, 1), MVKE_ERR_INVALID);
    cr_assert_eq(mvke_tags_add_task(t, "bad\tname", a, 1), MVKE_ERR_INVALID);
    const int dup[2] = {3, 3}, out[1] = {5};
    cr_assert_eq(mvke_tags_add_task(t, "x", dup, 2), MVKE_ERR_INVALID);
    cr_assert_eq(mvke_tags_add_task(t, "x", out, 1), MVKE_ERR_INVALID);
    mvke_tags_ntasks(t, &n);
    cr_assert_eq(n, 2);
    mvke_tags_free(t);
    mvke_tags_free(NULL);
}

Test(tags, add_and_get) {
    ref_seed(61);
    mvke_tags *t = make();
    int64_t ids[3] = {10, 11, 12}, parents[3] = {0, 10, 10};
    const char *names[3] = {"Sports", "Sports - football", "Sports - tennis"};
    float q[3 * d], w[3 * K] = {0.2f, 0.3f, 0.5f, 0, 0, 1, 0, 0, 0, 0, -1, 2, 0, 0, 0};
    ref_fill_normal(q, 3 * d);
    cr_assert_eq(mvke_tags_add(t, "interest", 3, ids, names, parents, q, w), MVKE_OK, "%s", mvke_last_error());
    /* the same ids in another task are fine */
    float w2[3 * K] = {0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1};
    cr_assert_eq(mvke_tags_add(t, "intention", 3, ids, NULL, NULL, q, w2), MVKE_OK, "%s", mvke_last_error());
    int64_t c;
    mvke_tags_count(t, "interest", &c);
    cr_assert_eq(c, 3);
    mvke_tags_count(t, NULL, &c);
    cr_assert_eq(c, 6);
    const char *name;
    int64_t parent;
    float qb[d], wb[K], z[K * d], zz[K * d];
    cr_assert_eq(mvke_tags_get(t, "interest", 11, &name, &parent, qb, wb), MVKE_OK);
    cr_assert_str_eq(name, "Sports - football");
    cr_assert_eq(parent, 10);
    cr_assert(memcmp(qb, q + d, sizeof qb) == 0 && memcmp(wb, w + K, sizeof wb) == 0);
    cr_assert_eq(mvke_tags_get_row(t, "interest", 12, z), MVKE_OK);
    mvke_pack_query(K, d, q + 2 * d, w + 2 * K, zz);
    cr_assert(memcmp(z, zz, sizeof z) == 0);
    cr_assert_eq(mvke_tags_get(t, "intention", 11, &name, NULL, NULL, NULL), MVKE_OK);
    cr_assert_str_eq(name, "");
    cr_assert_eq(mvke_tags_get(t, "interest", 99, &name, NULL, NULL, NULL), MVKE_ERR_UNKNOWN_ID);
    cr_assert_eq(mvke_tags_get(t, "nope", 11, &name, NULL, NULL, NULL), MVKE_ERR_UNKNOWN_TASK);
    cr_assert(strstr(mvke_last_error(), "unknown task \"nope\" (known: interest, intention)"), "%s", mvke_last_error());
    mvke_tags_free(t);
}

Test(tags, gates_from_virtual_kernels_equal_given_gates) {
    ref_seed(62);
    mvke_tags *t = make();
    float q[2 * d], vk[K * d], w[2 * K];
    ref_fill_normal(q, 2 * d);
    ref_fill_normal(vk, K * d);
    int64_t ids[2] = {1, 2};
    cr_assert_eq(mvke_tags_add(t, "intention", 2, ids, NULL, NULL, q, NULL), MVKE_ERR_INVALID); /* no vk */
    cr_assert_eq(mvke_tags_set_vk(t, vk, 2.0f), MVKE_OK);
    cr_assert_eq(mvke_tags_add(t, "intention", 2, ids, NULL, NULL, q, NULL), MVKE_OK, "%s", mvke_last_error());
    const int b[4] = {1, 2, 3, 4};
    for (int i = 0; i < 2; i++) mvke_gates_from_vk(K, d, q + i * d, vk, b, 4, 2.0f, w + i * K);
    cr_assert_eq(mvke_tags_add(t, "interest", 2, ids, NULL, NULL, q, NULL), MVKE_OK);
    float got[K];
    for (int i = 0; i < 2; i++) {
        mvke_tags_get(t, "intention", ids[i], NULL, NULL, NULL, got);
        cr_assert(memcmp(got, w + i * K, sizeof got) == 0, "tag %d", i);
    }
    mvke_tags_get(t, "interest", 1, NULL, NULL, NULL, got);
    cr_assert(got[3] == 0 && got[4] == 0 && got[0] > 0);
    mvke_tags_free(t);
}

Test(tags, rejected_adds_change_nothing) {
    ref_seed(63);
    mvke_tags *t = make();
    int64_t ids[2] = {1, 2};
    float q[2 * d], w[2 * K] = {0.5f, 0.5f, 0, 0, 0, 1, 0, 0, 0, 0};
    ref_fill_normal(q, 2 * d);
    cr_assert_eq(mvke_tags_add(t, "interest", 2, ids, NULL, NULL, q, w), MVKE_OK);
    int64_t nid[2] = {3, 4};
    w[K + 3] = 0.25f; /* expert 3 is not used by interest */
    cr_assert_eq(mvke_tags_add(t, "interest", 2, nid, NULL, NULL, q, w), MVKE_ERR_GATE);
    cr_assert(strstr(mvke_last_error(), "row 1") && strstr(mvke_last_error(), "expert 3"), "%s", mvke_last_error());
    w[K + 3] = NAN;
    cr_assert_eq(mvke_tags_add(t, "interest", 2, nid, NULL, NULL, q, w), MVKE_ERR_NONFINITE);
    w[K + 3] = 0;
    q[3] = INFINITY;
    cr_assert_eq(mvke_tags_add(t, "interest", 2, nid, NULL, NULL, q, w), MVKE_ERR_NONFINITE);
    q[3] = 1;
    nid[1] = 2;
    cr_assert_eq(mvke_tags_add(t, "interest", 2, nid, NULL, NULL, q, w), MVKE_ERR_DUPLICATE);
    nid[1] = 3;
    cr_assert_eq(mvke_tags_add(t, "interest", 2, nid, NULL, NULL, q, w), MVKE_ERR_DUPLICATE);
    cr_assert_eq(mvke_tags_add(t, "nope", 2, ids, NULL, NULL, q, w), MVKE_ERR_UNKNOWN_TASK);
    int64_t c;
    mvke_tags_count(t, "interest", &c);
    cr_assert_eq(c, 2);
    cr_assert_eq(mvke_tags_get(t, "interest", 3, NULL, NULL, NULL, NULL), MVKE_ERR_UNKNOWN_ID);
    mvke_tags_free(t);
}

Test(tags, ids_in_the_order_added) {
    mvke_tags *t = make();
    float q[3 * d] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0}, w[3 * K] = {1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0};
    int64_t ids[3] = {42, 7, 19}, got[3] = {0};
    cr_assert_eq(mvke_tags_add(t, "interest", 3, ids, NULL, NULL, q, w), MVKE_OK);
    cr_assert_eq(mvke_tags_ids(t, "interest", got), MVKE_OK);
    cr_assert(got[0] == 42 && got[1] == 7 && got[2] == 19);
    cr_assert_eq(mvke_tags_ids(t, "intention", got), MVKE_OK); /* empty: nothing written */
    cr_assert_eq(got[0], 42);
    cr_assert_eq(mvke_tags_ids(t, "nope", got), MVKE_ERR_UNKNOWN_TASK);
    cr_assert_eq(mvke_tags_ids(t, NULL, got), MVKE_ERR_INVALID);
    mvke_tags_free(t);
}
