/*
 * test_store.c - the row store: dense positions across block boundaries, swap-removal keeping
 * the id map right, replacement, and views of memory the store does not own (copied on change).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "index/store.h"
#include "kernels/runtime.h"
#include "reference.h"

static void append_rows(mvke_store *s, int64_t n, int64_t id0) {
    float *x = malloc(n * s->D * sizeof(float));
    float *g = malloc(n * s->P * sizeof(float));
    for (int64_t i = 0; i < n * s->D; i++) x[i] = (float)(id0 + i / s->D);
    cr_assert_eq(mvke_store_check(s, n, x, g), MVKE_OK);
    cr_assert_eq(mvke_store_reserve(s, n), MVKE_OK);
    for (int64_t i = 0; i < n; i++) mvke_store_append(s, id0 + i, x + i * s->D, g + i * s->P);
    free(x); free(g);
}

/* Every id maps to a position whose row holds the id's value. */
static void check_consistent(const mvke_store *s) {
    float row[2];
    int64_t total = 0;
    for (int64_t b = 0; b < s->nblocks; b++) {
        if (b < s->nblocks - 1) cr_assert_eq(s->blocks[b].n, MVKE_BLOCK_ROWS, "block %lld not full", (long long)b);
        total += s->blocks[b].n;
    }
    cr_assert_eq(total, s->count);
    for (int64_t p = 0; p < s->count; p++) {
        int64_t id = mvke_store_id(s, p);
        cr_assert_eq(mvke_store_find(s, id), p);
        mvke_store_get(s, p, row);
        cr_assert_eq(row[0], (float)id, "position %lld holds %g, id %lld", (long long)p, row[0], (long long)id);
    }
}

Test(store, across_blocks_with_removals) {
    mvke_store s;
    mvke_store_init(&s, 1, 2, MVKE_STORAGE_F32);
    append_rows(&s, MVKE_BLOCK_ROWS + 100, 0);
    cr_assert_eq(s.nblocks, 2);
    check_consistent(&s);
    /* remove from the first block and the tail until the second block empties */
    for (int64_t i = 0; i < 150; i++) {
        int64_t id = (i * 7919) % (MVKE_BLOCK_ROWS + 100);
        int64_t p = mvke_store_find(&s, id);
        if (p >= 0) mvke_store_remove_at(&s, p);
    }
    check_consistent(&s);
    append_rows(&s, 500, 10000000);
    check_consistent(&s);
    mvke_store_clear(&s);
    cr_assert_eq(s.count, 0);
    append_rows(&s, 10, 5);
    check_consistent(&s);
    mvke_store_release(&s);
}

Test(store, views_are_copied_before_change) {
    mvke_store s;
    mvke_store_init(&s, 1, 2, MVKE_STORAGE_F32);
    /* a view over caller memory, as a mapped file would give */
    float x[6] = {7, 7, 8, 8, 9, 9}, gram[3] = {98, 128, 162};
    int64_t ids[3] = {7, 8, 9};
    static unsigned char view[4096];
    const int64_t cap = mvke_layout_round(3);
    cr_assert(mvke_layout_block_bytes(&s.L, cap) <= sizeof view);
    for (int r = 0; r < 3; r++) mvke_layout_put(&s.L, view, cap, r, x + 2 * r, gram + r);
    unsigned char before[4096];
    memcpy(before, view, sizeof view);
    s.blocks = mvke_calloc(1, sizeof *s.blocks);
    s.cap_blocks = s.nblocks = 1;
    s.blocks[0] = (mvke_store_block){.n = 3, .cap = cap, .ids = ids, .data = view};
    s.count = 3;
    cr_assert_eq(mvke_idmap_reserve(&s.map, 3), 0);
    for (int i = 0; i < 3; i++) mvke_idmap_put(&s.map, ids[i], i);
    append_rows(&s, 2, 20);
    check_consistent(&s);
    cr_assert_eq(memcmp(view, before, sizeof view), 0, "the viewed memory must not change");
    cr_assert_eq(mvke_store_own_all(&s), MVKE_OK);
    mvke_store_remove_at(&s, 0);
    check_consistent(&s);
    cr_assert_eq(memcmp(view, before, sizeof view), 0, "the viewed memory must not change");
    cr_assert_eq(ids[0], 7);
    mvke_store_release(&s);
}

Test(store, float16_rounds_before_gram_and_rejects_out_of_range) {
    mvke_store s;
    mvke_store_init(&s, 1, 2, MVKE_STORAGE_F16);
    float x[2] = {1.0f + 1.0f / 4096, 3.0f}, back[2], g[1];
    cr_assert_eq(mvke_store_check(&s, 1, x, g), MVKE_OK);
    cr_assert_float_eq(g[0], 1.0f + 9.0f, 1e-6); /* from the rounded 1.0, not 1 + 2^-12 */
    cr_assert_eq(mvke_store_reserve(&s, 1), MVKE_OK);
    mvke_store_append(&s, 4, x, g);
    mvke_store_get(&s, 0, back);
    cr_assert(back[0] == 1.0f && back[1] == 3.0f);
    x[1] = 70000.0f;
    cr_assert_eq(mvke_store_check(&s, 1, x, g), MVKE_ERR_NONFINITE);
    mvke_store_release(&s);
}
