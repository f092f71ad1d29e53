/*
 * test_topk.c - the heap selector and pair sorting: equal to a full sort under the
 * (score desc, id asc) order, ties included, with padding.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "kernels/cpu/topk.h"
#include "reference.h"

typedef struct pair {
    float s;
    int64_t id;
} pair;

static int cmp_pair(const void *a, const void *b) {
    const pair *x = a, *y = b;
    if (x->s != y->s) return x->s > y->s ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

Test(topk, equals_full_sort_with_ties) {
    ref_seed(2);
    enum { N = 5000 };
    static pair all[N];
    for (int64_t k = 1; k <= 6000; k = k * 3 + 1) {
        float *s = malloc(k * sizeof *s);
        int64_t *id = malloc(k * sizeof *id);
        mvke_topk h;
        mvke_topk_init(&h, s, id, k);
        for (int i = 0; i < N; i++) {
            all[i].s = (float)((int)(ref_uniform() * 50)) / 50; /* many ties */
            all[i].id = (i * 7919) % N;
            if (mvke_topk_admits(&h, all[i].s, all[i].id)) mvke_topk_push(&h, all[i].s, all[i].id);
        }
        mvke_topk_finish(&h);
        qsort(all, N, sizeof *all, cmp_pair);
        for (int64_t i = 0; i < k; i++) {
            if (i < N) {
                cr_assert_eq(id[i], all[i].id, "k=%lld rank %lld", (long long)k, (long long)i);
                cr_assert_eq(s[i], all[i].s);
            } else {
                cr_assert_eq(id[i], -1);
                cr_assert(isinf(s[i]) && s[i] < 0);
            }
        }
        free(s);
        free(id);
    }
}

Test(topk, pairs_sort_and_hits) {
    mvke_hits l = {0};
    ref_seed(4);
    for (int i = 0; i < 1000; i++) cr_assert_eq(mvke_hits_push(&l, (float)(i % 10), 1000 - i), 0);
    mvke_pairs_sort(l.s, l.id, l.n);
    for (int64_t i = 1; i < l.n; i++)
        cr_assert(l.s[i] < l.s[i - 1] || (l.s[i] == l.s[i - 1] && l.id[i] > l.id[i - 1]), "at %lld", (long long)i);
    mvke_hits_release(&l);
    cr_assert_eq(l.n, 0);
}

/* Keys that stand for ids through a map (as the scan's positions do): key i is id map[i]. */
static int64_t key_id(const void *ctx, int64_t key) { return ((const int64_t *)ctx)[key]; }

/* mvke_select in its three ways (a sorted list up to MVKE_SELECT_SORTED_MAX, a heap below
 * MVKE_SELECT_HEAP_MAX, a reservoir above), with keys as ids and keys mapped to ids, over scores
 * with many ties, pushed as a scan pushes them (only pairs >= thr): the same k best, in the same
 * order, as sorting everything. */
Test(topk, select_heap_and_reservoir_agree_with_a_sort) {
    enum { N = 5000 };
    static const int64_t ks[] = {1, 2, 7, 10, MVKE_SELECT_SORTED_MAX, MVKE_SELECT_SORTED_MAX + 1, 100,
                                 MVKE_SELECT_HEAP_MAX - 1, MVKE_SELECT_HEAP_MAX, 400, 4999, 5000, 6000};
    pair *all = malloc(sizeof *all * N);
    int64_t *map = malloc(sizeof *map * N);
    for (size_t t = 0; t < sizeof ks / sizeof *ks; t++)
        for (int mapped = 0; mapped < 2; mapped++) {
            const int64_t k = ks[t], cap = mvke_select_cap(k);
            float *s = malloc(sizeof(float) * cap);
            int64_t *key = malloc(sizeof(int64_t) * cap);
            mvke_select r;
            mvke_select_init(&r, s, key, k, cap, mapped ? key_id : NULL, map);
            cr_assert_eq(r.heap, k <= MVKE_SELECT_SORTED_MAX ? 2 : k < MVKE_SELECT_HEAP_MAX);
            ref_seed(50 + t);
            for (int64_t i = 0; i < N; i++) {
                all[i].s = (float)((int)(ref_uniform() * 40)) / 40; /* many ties */
                all[i].id = (i * 7919) % N;
                map[i] = all[i].id;
                if (all[i].s >= r.thr) mvke_select_push(&r, all[i].s, mapped ? i : all[i].id);
            }
            mvke_select_finish(&r);
            qsort(all, N, sizeof *all, cmp_pair);
            const int64_t want = k < N ? k : N;
            cr_assert_eq(r.n, want, "k=%lld: %lld kept", (long long)k, (long long)r.n);
            for (int64_t i = 0; i < want; i++) {
                const int64_t id = mapped ? map[r.key[i]] : r.key[i];
                cr_assert_eq(id, all[i].id, "k=%lld mapped=%d rank %lld", (long long)k, mapped, (long long)i);
                cr_assert_eq(r.s[i], all[i].s);
            }
            free(s);
            free(key);
        }
    free(all);
    free(map);
}
