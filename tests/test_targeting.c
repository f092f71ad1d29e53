/*
 * test_targeting.c - reverse targeting (tag -> audience) and per-user top tags (user -> tags)
 * through the tag table, against the double oracle, and their errors.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"

enum { K = 5, d = 30, DD = K * d, NU = 3000, NT = 120 };

typedef struct fixture {
    mvke_index *users;
    mvke_tags *tags;
    float *x, *q[2], *w[2];
    int64_t uid[NU], tid[NT];
} fixture;

static const char *TASKS[2] = {"interest", "intention"};

static void setup_fixture(fixture *f, int threads) {
    ref_seed(71);
    mvke_index_options o;
    mvke_index_options_init(&o);
    o.threads = threads;
    cr_assert_eq(mvke_index_new(&f->users, K, d, &o), MVKE_OK);
    cr_assert_eq(mvke_tags_new(&f->tags, K, d, &o), MVKE_OK);
    f->x = malloc(NU * DD * sizeof(float));
    ref_fill_normal(f->x, NU * DD);
    for (int i = 0; i < NU; i++) f->uid[i] = 10 * i + 3;
    cr_assert_eq(mvke_index_add(f->users, NU, f->uid, f->x), MVKE_OK);
    float vk[DD];
    ref_fill_normal(vk, DD);
    cr_assert_eq(mvke_tags_set_vk(f->tags, vk, 1.0f), MVKE_OK);
    const int ex[2][4] = {{0, 1, 2}, {1, 2, 3, 4}}, nex[2] = {3, 4};
    for (int i = 0; i < NT; i++) f->tid[i] = 500 + i;
    for (int t = 0; t < 2; t++) {
        cr_assert_eq(mvke_tags_add_task(f->tags, TASKS[t], ex[t], nex[t]), MVKE_OK);
        f->q[t] = malloc(NT * d * sizeof(float));
        f->w[t] = malloc(NT * K * sizeof(float));
        ref_fill_normal(f->q[t], NT * d);
        cr_assert_eq(mvke_tags_add(f->tags, TASKS[t], NT, f->tid, NULL, NULL, f->q[t], NULL), MVKE_OK);
        for (int i = 0; i < NT; i++)
            mvke_tags_get(f->tags, TASKS[t], f->tid[i], NULL, NULL, NULL, f->w[t] + i * K);
    }
}

static void teardown_fixture(fixture *f) {
    mvke_index_free(f->users);
    mvke_tags_free(f->tags);
    free(f->x);
    for (int t = 0; t < 2; t++) {
        free(f->q[t]);
        free(f->w[t]);
    }
}

Test(targeting, audience_top_and_range) {
    for (int threads = 1; threads <= 2; threads++) {
        fixture f;
        setup_fixture(&f, threads);
        ref_hit *ref = malloc(NU * sizeof(ref_hit));
        int64_t tags[3] = {500, 577, 619};
        for (int t = 0; t < 2; t++) {
            mvke_result *top, *rng;
            cr_assert_eq(mvke_audience_top(f.users, f.tags, TASKS[t], 3, tags, 100, NULL, &top), MVKE_OK, "%s", mvke_last_error());
            cr_assert_eq(mvke_audience_range(f.users, f.tags, TASKS[t], 3, tags, 0.25f, NULL, &rng), MVKE_OK);
            for (int i = 0; i < 3; i++) {
                int64_t ti = tags[i] - 500;
                int64_t nref = ref_rank(K, d, NU, f.x, f.uid, NULL, f.q[t] + ti * d, f.w[t] + ti * K, ref);
                const int64_t *ids;
                const float *sc;
                int64_t n;
                mvke_result_get(top, i, &ids, &sc, &n);
                ref_check_topk(ids, sc, n, 100, ref, nref, 1e-5);
                mvke_result_get(rng, i, &ids, &sc, &n);
                ref_check_range(ids, sc, n, 0.25f, ref, nref, 1e-5);
            }
            mvke_result_free(top);
            mvke_result_free(rng);
        }
        free(ref);
        teardown_fixture(&f);
    }
}

Test(targeting, user_top_tags_by_id_and_by_row) {
    fixture f;
    setup_fixture(&f, 2);
    int64_t users[4] = {3, 13, 29993, 15003};
    mvke_result *all, *one, *rows;
    cr_assert_eq(mvke_user_tags_top(f.users, f.tags, NULL, 4, users, 10, &all), MVKE_OK, "%s", mvke_last_error());
    cr_assert_eq(mvke_user_tags_top(f.users, f.tags, "intention", 4, users, 10, &one), MVKE_OK);
    float xr[4 * DD];
    for (int u = 0; u < 4; u++) memcpy(xr + u * DD, f.x + ((users[u] - 3) / 10) * DD, DD * sizeof(float));
    cr_assert_eq(mvke_user_tags_top_rows(f.tags, NULL, 4, xr, 10, &rows), MVKE_OK);
    int64_t nq;
    mvke_result_nqueries(all, &nq);
    cr_assert_eq(nq, 8);
    mvke_result_nqueries(one, &nq);
    cr_assert_eq(nq, 4);
    ref_hit ref[NT];
    for (int u = 0; u < 4; u++) {
        const float *xu = xr + u * DD;
        for (int t = 0; t < 2; t++) {
            /* the oracle ranks the task's tags for this user */
            for (int i = 0; i < NT; i++) {
                ref[i].id = f.tid[i];
                ref[i].score = ref_score(K, d, xu, f.q[t] + i * d, f.w[t] + i * K);
                ref[i].slack = ref_slack(K, d, xu, f.q[t] + i * d, f.w[t] + i * K);
            }
            for (int i = 1; i < NT; i++) /* insertion sort: score desc, id asc */
                for (int j = i; j > 0 && (ref[j].score > ref[j - 1].score ||
                                          (ref[j].score == ref[j - 1].score && ref[j].id < ref[j - 1].id)); j--) {
                    ref_hit tmp = ref[j];
                    ref[j] = ref[j - 1];
                    ref[j - 1] = tmp;
                }
            const int64_t *ids, *ids2;
            const float *sc, *sc2;
            int64_t n, n2;
            mvke_result_get(all, u * 2 + t, &ids, &sc, &n);
            ref_check_topk(ids, sc, n, 10, ref, NT, 1e-5);
            mvke_result_get(rows, u * 2 + t, &ids2, &sc2, &n2);
            cr_assert(n2 == n && !memcmp(ids, ids2, n * sizeof *ids) && !memcmp(sc, sc2, n * sizeof *sc));
            if (t == 1) {
                mvke_result_get(one, u, &ids2, &sc2, &n2);
                cr_assert(n2 == n && !memcmp(ids, ids2, n * sizeof *ids), "single-task list differs");
            }
        }
    }
    mvke_result_free(all);
    mvke_result_free(one);
    mvke_result_free(rows);
    /* more tags asked for than exist */
    cr_assert_eq(mvke_user_tags_top(f.users, f.tags, "interest", 1, users, 500, &one), MVKE_OK);
    int64_t total;
    mvke_result_total(one, &total);
    cr_assert_eq(total, NT);
    mvke_result_free(one);
    teardown_fixture(&f);
}

Test(targeting, errors) {
    fixture f;
    setup_fixture(&f, 1);
    mvke_result *r = (mvke_result *)1;
    int64_t tag = 500, bad_tag = 9, user = 3, gone = 13, bad_user = 4;
    cr_assert_eq(mvke_audience_top(f.users, f.tags, "conversion", 1, &tag, 10, NULL, &r), MVKE_ERR_UNKNOWN_TASK);
    cr_assert_null(r);
    cr_assert(strstr(mvke_last_error(), "conversion"), "%s", mvke_last_error());
    cr_assert_eq(mvke_audience_top(f.users, f.tags, "interest", 1, &bad_tag, 10, NULL, &r), MVKE_ERR_UNKNOWN_ID);
    cr_assert(strstr(mvke_last_error(), "tag 9"), "%s", mvke_last_error());
    cr_assert_eq(mvke_audience_top(f.users, f.tags, "interest", 1, &tag, 0, NULL, &r), MVKE_ERR_BAD_K);
    cr_assert_eq(mvke_audience_range(f.users, f.tags, "interest", 1, &bad_tag, 0.1f, NULL, &r), MVKE_ERR_UNKNOWN_ID);
    cr_assert_eq(mvke_user_tags_top(f.users, f.tags, NULL, 1, &bad_user, 5, &r), MVKE_ERR_UNKNOWN_ID);
    cr_assert(strstr(mvke_last_error(), "user 4"), "%s", mvke_last_error());
    cr_assert_eq(mvke_index_remove(f.users, 1, &gone), MVKE_OK);
    cr_assert_eq(mvke_user_tags_top(f.users, f.tags, NULL, 1, &gone, 5, &r), MVKE_ERR_UNKNOWN_ID);
    cr_assert_eq(mvke_user_tags_top(f.users, f.tags, NULL, 1, &user, 0, &r), MVKE_ERR_BAD_K);
    cr_assert_eq(mvke_user_tags_top(f.users, f.tags, "nope", 1, &user, 3, &r), MVKE_ERR_UNKNOWN_TASK);
    mvke_index *other;
    mvke_index_new(&other, K, d + 1, NULL);
    cr_assert_eq(mvke_audience_top(other, f.tags, "interest", 1, &tag, 10, NULL, &r), MVKE_ERR_DIM);
    cr_assert_eq(mvke_user_tags_top(other, f.tags, NULL, 1, &user, 10, &r), MVKE_ERR_DIM);
    mvke_index_free(other);
    teardown_fixture(&f);
}
