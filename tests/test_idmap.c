/*
 * test_idmap.c - the id -> position hash map against a plain array, through growth and
 * deletions (backward shift must keep every probe run reachable).
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "index/idmap.h"
#include "reference.h"

Test(idmap, random_operations_match_an_array) {
    enum { RANGE = 20000 };
    static int64_t truth[RANGE];
    for (int i = 0; i < RANGE; i++) truth[i] = -1;
    mvke_idmap m;
    mvke_idmap_init(&m);
    ref_seed(31);
    int64_t n = 0;
    for (int op = 0; op < 200000; op++) {
        int64_t key = (int64_t)(ref_uniform() * RANGE);
        if (ref_uniform() < 0.6) {
            cr_assert_eq(mvke_idmap_reserve(&m, n + 1), 0);
            if (truth[key] < 0) n++;
            truth[key] = op;
            mvke_idmap_put(&m, key, op);
        } else {
            if (truth[key] >= 0) n--;
            truth[key] = -1;
            mvke_idmap_del(&m, key);
        }
        if (op % 997 == 0)
            for (int64_t k = 0; k < RANGE; k++) cr_assert_eq(mvke_idmap_get(&m, k), truth[k], "op %d key %lld", op, (long long)k);
        cr_assert_eq(m.n, n);
    }
    cr_assert_eq(mvke_idmap_get(&m, -5), -1);
    mvke_idmap_clear(&m);
    for (int64_t k = 0; k < RANGE; k++) cr_assert_eq(mvke_idmap_get(&m, k), -1);
    mvke_idmap_release(&m);
}
