/*
 * test_idlookup.c - the sorted id lookup section: the radix sort against qsort order on random
 * and adversarial ids, duplicates named with both positions, lookups through the fences across
 * chunk boundaries, and verify's refusals.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "index/idlookup.h"
#include "reference.h"

static int cmp64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* n distinct ids in random order: small dense ones (kind 0), random 62-bit values (1), or dense
 * ones with a few huge outliers that mislead interpolation (2). */
static int64_t *make_ids(int64_t n, int wide) {
    int64_t *ids = malloc((size_t)n * 8);
    for (int64_t i = 0; i < n; i++)
        ids[i] = wide == 1 ? (int64_t)(ref_uniform() * 4e18) * 2 + (i & 1)
                 : wide == 2 ? (i < n - 40 ? i * 1000 + i * i % 997 : ((int64_t)1 << 62) - i)
                             : 3 * i + 2;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(ref_uniform() * (double)(i + 1)), t = ids[i];
        if (j > i) j = i;
        ids[i] = ids[j];
        ids[j] = t;
    }
    return ids;
}

Test(idlookup, sorts_finds_and_verifies) {
    ref_seed(3);
    for (int wide = 0; wide < 3; wide++) {
        const int64_t n = 3 * MVKE_IDLOOKUP_CHUNK + 17;
        int64_t *ids = make_ids(n, wide);
        int64_t *pairs = malloc((size_t)n * 16), *tmp = malloc((size_t)n * 16), *sorted = malloc((size_t)n * 8);
        for (int64_t p = 0; p < n; p++) pairs[2 * p] = ids[p], pairs[2 * p + 1] = p;
        memcpy(sorted, ids, (size_t)n * 8);
        qsort(sorted, (size_t)n, 8, cmp64);
        if (wide == 1) /* the random ids may collide: make them distinct */
            for (int64_t p = 0; p < n; p++) cr_assert(p == 0 || sorted[p] != sorted[p - 1]);
        cr_assert_eq(mvke_idlookup_sort(n, pairs, tmp), MVKE_OK, "%s", mvke_last_error());
        for (int64_t i = 0; i < n; i++) {
            cr_assert_eq(pairs[2 * i], sorted[i]);
            cr_assert_eq(ids[pairs[2 * i + 1]], pairs[2 * i]);
        }
        const int64_t nf = (n + MVKE_IDLOOKUP_CHUNK - 1) / MVKE_IDLOOKUP_CHUNK;
        int64_t *fences = malloc((size_t)nf * 8);
        for (int64_t c = 0; c < nf; c++) fences[c] = pairs[2 * c * MVKE_IDLOOKUP_CHUNK];
        mvke_idlookup l = {pairs, n, fences, nf};
        for (int64_t p = 0; p < n; p += 101) {
            int64_t pos;
            cr_assert_eq(mvke_idlookup_find(&l, NULL, ids[p], &pos), MVKE_OK);
            cr_assert_eq(pos, p);
        }
        for (int64_t c = 0; c < nf; c++) { /* chunk edges */
            int64_t pos;
            cr_assert_eq(mvke_idlookup_find(&l, NULL, fences[c], &pos), MVKE_OK);
            cr_assert_eq(pos, pairs[2 * c * MVKE_IDLOOKUP_CHUNK + 1]);
        }
        int64_t pos;
        cr_assert_eq(mvke_idlookup_find(&l, NULL, -1, &pos), MVKE_OK);
        cr_assert_eq(pos, -1);
        cr_assert_eq(mvke_idlookup_find(&l, NULL, sorted[n - 1] + 1, &pos), MVKE_OK);
        cr_assert_eq(pos, -1);
        if (!wide) {
            cr_assert_eq(mvke_idlookup_find(&l, NULL, 3, &pos), MVKE_OK); /* between ids */
            cr_assert_eq(pos, -1);
        }
        uint64_t *seen = calloc((size_t)n / 64 + 1, 8);
        cr_assert_eq(mvke_idlookup_verify(&l, ids, seen, "x"), MVKE_OK, "%s", mvke_last_error());
        /* unsorted */
        int64_t t0 = pairs[2 * 5];
        pairs[2 * 5] = pairs[2 * 6];
        memset(seen, 0, ((size_t)n / 64 + 1) * 8);
        cr_assert_eq(mvke_idlookup_verify(&l, ids, seen, "x"), MVKE_ERR_FORMAT);
        pairs[2 * 5] = t0;
        /* not a permutation */
        int64_t p0 = pairs[2 * 9 + 1];
        pairs[2 * 9 + 1] = pairs[2 * 8 + 1];
        memset(seen, 0, ((size_t)n / 64 + 1) * 8);
        cr_assert_eq(mvke_idlookup_verify(&l, ids, seen, "x"), MVKE_ERR_FORMAT);
        cr_assert(strstr(mvke_last_error(), "permutation"), "%s", mvke_last_error());
        pairs[2 * 9 + 1] = p0;
        free(ids); free(pairs); free(tmp); free(sorted); free(fences); free(seen);
    }
}

Test(idlookup, duplicates_are_named_with_both_positions) {
    int64_t pairs[8] = {40, 0, 7, 1, 40, 2, 3, 3}, tmp[8];
    cr_assert_eq(mvke_idlookup_sort(4, pairs, tmp), MVKE_ERR_DUPLICATE);
    cr_assert(strstr(mvke_last_error(), "positions 0 and 2") && strstr(mvke_last_error(), "id 40"), "%s", mvke_last_error());
}
