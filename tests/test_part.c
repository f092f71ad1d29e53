/*
 * test_part.c - parts of an index (index/part.c): mvke_index_part deals contiguous, disjoint runs
 * of positions covering every row, empty parts included; mvke_index_view of a block-aligned run
 * holds exactly those rows, searches them as the whole index restricted to them does, knows only
 * their ids, refuses unaligned ranges, and copies on change without touching its parent.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mvke/mvke.h"
#include "reference.h"

enum { K = 2, d = 3, D = K * d };
static const int64_t N = 2 * MVKE_INDEX_BLOCK_ROWS + 1000; /* three blocks, the last one short */

static mvke_index *make_index(float **xs) {
    mvke_index *ix;
    cr_assert_eq(mvke_index_new(&ix, K, d, NULL), MVKE_OK);
    float *x = malloc((size_t)N * D * sizeof *x);
    int64_t *ids = malloc((size_t)N * sizeof *ids);
    ref_seed(11);
    ref_fill_normal(x, N * D);
    for (int64_t i = 0; i < N; i++) ids[i] = 3 * i + 1;
    cr_assert_eq(mvke_index_add(ix, N, ids, x), MVKE_OK);
    free(ids);
    if (xs) *xs = x;
    else free(x);
    return ix;
}

Test(part, parts_cover_every_row_in_order) {
    mvke_index *ix = make_index(NULL);
    const int64_t grains[] = {0, 1, 1000, 4096, N, 10 * N};
    for (size_t g = 0; g < sizeof grains / sizeof *grains; g++)
        for (int R = 1; R <= 7; R++) {
            int64_t next = 0;
            for (int r = 0; r < R; r++) {
                int64_t first, n;
                cr_assert_eq(mvke_index_part(ix, grains[g], r, R, &first, &n), MVKE_OK);
                cr_assert_eq(first, next, "grain %lld, part %d of %d starts at %lld, not %lld", (long long)grains[g], r, R,
                             (long long)first, (long long)next);
                const int64_t grain = grains[g] ? grains[g] : MVKE_INDEX_BLOCK_ROWS;
                cr_assert(first % grain == 0 || n == 0, "part %d is not aligned to its grain", r);
                cr_assert_geq(n, 0);
                next = first + n;
            }
            cr_assert_eq(next, N, "grain %lld, %d parts cover %lld of %lld rows", (long long)grains[g], R, (long long)next,
                         (long long)N);
        }
    /* Three blocks over five parts: two parts are empty. */
    int empty = 0;
    for (int r = 0; r < 5; r++) {
        int64_t first, n;
        mvke_index_part(ix, 0, r, 5, &first, &n);
        empty += n == 0;
    }
    cr_assert_eq(empty, 2);
    int64_t f, n;
    cr_assert_eq(mvke_index_part(ix, 0, 2, 2, &f, &n), MVKE_ERR_INVALID);
    cr_assert_eq(mvke_index_part(ix, 0, 0, 0, &f, &n), MVKE_ERR_INVALID);
    cr_assert_eq(mvke_index_part(ix, -1, 0, 1, &f, &n), MVKE_ERR_INVALID);
    cr_assert_eq(mvke_index_part(NULL, 0, 0, 1, &f, &n), MVKE_ERR_INVALID);
    mvke_index_free(ix);
}

/* The view of part r of R searches like the whole index restricted to the part's ids. */
Test(part, view_searches_its_rows_only) {
    float *x;
    mvke_index *ix = make_index(&x);
    float z[2 * D];
    ref_fill_normal(z, 2 * D);
    const int64_t k = 50;
    for (int r = 0; r < 3; r++) {
        int64_t first, n;
        cr_assert_eq(mvke_index_part(ix, 0, r, 3, &first, &n), MVKE_OK);
        mvke_index *v;
        cr_assert_eq(mvke_index_view(ix, first, n, &v), MVKE_OK);
        int64_t count;
        mvke_index_count(v, &count);
        cr_assert_eq(count, n);
        /* Positions and ids are the parent's, shifted by first. */
        int64_t id0, idl;
        float row[D];
        cr_assert_eq(mvke_index_read_rows(v, 0, 1, &id0, row), MVKE_OK);
        cr_assert_eq(id0, 3 * first + 1);
        cr_assert_eq(memcmp(row, x + first * D, sizeof row), 0);
        cr_assert_eq(mvke_index_read_rows(v, n - 1, 1, &idl, NULL), MVKE_OK);
        cr_assert_eq(idl, 3 * (first + n - 1) + 1);
        int yes;
        mvke_index_contains(v, 3 * first + 1, &yes);
        cr_assert_eq(yes, 1);
        mvke_index_contains(v, first ? 3 * (first - 1) + 1 : 3 * (first + n) + 1, &yes);
        cr_assert_eq(yes, 0, "the view knows an id outside it");
        cr_assert_eq(mvke_index_get(v, 3 * (first + n) + 1, row), MVKE_ERR_UNKNOWN_ID);
        /* The same top k as the parent restricted to the view's ids. */
        int64_t *allowed = malloc((size_t)n * sizeof *allowed);
        for (int64_t i = 0; i < n; i++) allowed[i] = 3 * (first + i) + 1;
        mvke_allow *al;
        cr_assert_eq(mvke_allow_new_sorted(&al, allowed, n), MVKE_OK);
        float sv[2 * k], sp[2 * k];
        int64_t iv[2 * k], ip[2 * k];
        cr_assert_eq(mvke_index_search(v, 2, z, k, NULL, sv, iv), MVKE_OK);
        cr_assert_eq(mvke_index_search(ix, 2, z, k, al, sp, ip), MVKE_OK);
        cr_assert_eq(memcmp(iv, ip, sizeof iv), 0, "part %d: the view's top k is not the parent's over its ids", r);
        cr_assert_eq(memcmp(sv, sp, sizeof sv), 0, "part %d: the view's scores are not the parent's", r);
        mvke_allow_free(al);
        free(allowed);
        /* A change copies: the parent keeps its rows. */
        float nx[D] = {1, 2, 3, 4, 5, 6};
        int64_t nid = 3 * first + 1;
        cr_assert_eq(mvke_index_upsert(v, 1, &nid, nx), MVKE_OK);
        cr_assert_eq(mvke_index_get(ix, nid, row), MVKE_OK);
        cr_assert_eq(memcmp(row, x + first * D, sizeof row), 0, "a change of the view changed its parent");
        cr_assert_eq(mvke_index_get(v, nid, row), MVKE_OK);
        cr_assert_eq(memcmp(row, nx, sizeof row), 0);
        mvke_index_free(v);
    }
    free(x);
    mvke_index_free(ix);
}

Test(part, view_ranges_checked) {
    mvke_index *ix = make_index(NULL);
    mvke_index *v = (mvke_index *)1;
    cr_assert_eq(mvke_index_view(ix, 1, 10, &v), MVKE_ERR_INVALID);
    cr_assert_null(v);
    cr_assert_eq(mvke_index_view(ix, 0, 100, &v), MVKE_ERR_INVALID, "a view ending inside a block was accepted");
    cr_assert_eq(mvke_index_view(ix, 0, N + 1, &v), MVKE_ERR_INVALID);
    cr_assert_eq(mvke_index_view(NULL, 0, 0, &v), MVKE_ERR_INVALID);
    /* An empty view at the end, and the whole index, are fine. */
    cr_assert_eq(mvke_index_view(ix, N, 0, &v), MVKE_OK);
    int64_t c;
    mvke_index_count(v, &c);
    cr_assert_eq(c, 0);
    float z[D] = {1, 0, 0, 1, 0, 0}, s[3];
    int64_t i[3];
    cr_assert_eq(mvke_index_search(v, 1, z, 3, NULL, s, i), MVKE_OK);
    cr_assert_eq(i[0], -1);
    cr_assert(isinf(s[0]) && s[0] < 0);
    mvke_index_free(v);
    cr_assert_eq(mvke_index_view(ix, 0, N, &v), MVKE_OK);
    mvke_index_count(v, &c);
    cr_assert_eq(c, N);
    mvke_index_free(v);
    mvke_index_free(ix);
}
