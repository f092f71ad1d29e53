/*
 * test_idmap.c - the id -> position table against a plain array, through growth and deletions
 * (backward shift must keep every probe run reachable), and its size: at most 16 bytes per id.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "index/idmap.h"
#include "reference.h"

enum { RANGE = 20000, OPS = 200000 };
static int64_t id_of[OPS]; /* the id written at each position */

static int64_t id_at(const void *ctx, int64_t pos) {
    (void)ctx;
    return id_of[pos];
}

Test(idmap, random_operations_match_an_array) {
    static int64_t truth[RANGE];
    for (int i = 0; i < RANGE; i++) truth[i] = -1;
    mvke_idmap m;
    mvke_idmap_init(&m, id_at, NULL);
    ref_seed(31);
    int64_t n = 0;
    for (int op = 0; op < OPS; op++) {
        int64_t key = (int64_t)(ref_uniform() * RANGE);
        if (ref_uniform() < 0.6) {
            cr_assert_eq(mvke_idmap_reserve(&m, n + 1), 0);
            if (truth[key] < 0) n++;
            truth[key] = op;
            id_of[op] = key; /* the row is written before the table points at it */
            mvke_idmap_put(&m, key, op);
        } else {
            if (truth[key] >= 0) n--;
            truth[key] = -1;
            mvke_idmap_del(&m, key);
        }
        if (op % 997 == 0)
            for (int64_t k = 0; k < RANGE; k++) cr_assert_eq(mvke_idmap_get(&m, k), truth[k], "op %d key %lld", op, (long long)k);
        cr_assert_eq(m.n, n);
        cr_assert(m.cap <= 2 * (n + 1) || m.cap <= 16 || m.n * 5 <= m.cap * 4);
    }
    cr_assert_eq(mvke_idmap_get(&m, -5), -1);
    mvke_idmap_clear(&m);
    for (int64_t k = 0; k < RANGE; k++) cr_assert_eq(mvke_idmap_get(&m, k), -1);
    mvke_idmap_release(&m);
}

Test(idmap, grows_to_at_most_16_bytes_per_id) {
    mvke_idmap m;
    mvke_idmap_init(&m, id_at, NULL);
    for (int64_t i = 0; i < OPS; i++) {
        cr_assert_eq(mvke_idmap_reserve(&m, i + 1), 0);
        id_of[i] = 3 * i + 1;
        mvke_idmap_put(&m, 3 * i + 1, i);
        if (i >= 64) cr_assert_leq(m.cap * 8, 16 * (i + 1), "%lld ids: %lld slots", (long long)(i + 1), (long long)m.cap);
    }
    for (int64_t i = 0; i < OPS; i += 17) cr_assert_eq(mvke_idmap_get(&m, 3 * i + 1), i);
    cr_assert_eq(mvke_idmap_get(&m, 2), -1);
    mvke_idmap_release(&m);
}
