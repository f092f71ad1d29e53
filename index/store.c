/*
 * store.c - blocks of rows, Gram triangles and ids; the storage under mvke_index.
 */
#include "store.h"

#include <math.h>
#include <string.h>

#include "../kernels/gram.h"
#include "../kernels/layout.h"
#include "../kernels/half.h"
#include "../kernels/runtime.h"

mvke_status mvke_store_init(mvke_store *s, int K, int d, mvke_storage storage) {
    memset(s, 0, sizeof *s);
    s->K = K;
    s->d = d;
    s->D = K * d;
    s->P = mvke_gram_size(K);
    s->storage = storage;
    s->experts = mvke_experts_all(K);
    mvke_idmap_init(&s->map);
    if (mvke_layout_init(&s->L, K, d, storage) != 0)
        return mvke_error(MVKE_ERR_INVALID, "unknown storage %d", (int)storage);
    return MVKE_OK;
}

static void block_free(mvke_store_block *b) {
    if (b->owned) {
        mvke_free(b->ids);
        mvke_free(b->data);
    }
    memset(b, 0, sizeof *b);
}

void mvke_store_release(mvke_store *s) {
    for (int64_t b = 0; b < s->nblocks; b++) block_free(&s->blocks[b]);
    mvke_free(s->blocks);
    mvke_idmap_release(&s->map);
    s->blocks = NULL;
    s->nblocks = s->cap_blocks = s->count = 0;
    if (s->backing_release) s->backing_release(s->backing);
    s->backing = NULL;
    s->backing_release = NULL;
}

mvke_status mvke_store_check(const mvke_store *s, int64_t n, const float *x, float *gram) {
    const int64_t D = s->D;
    float *rounded = NULL;
    if (s->storage != MVKE_STORAGE_F32 && !(rounded = mvke_malloc_array((size_t)D, sizeof *rounded)))
        return mvke_error(MVKE_ERR_NOMEM, "out of memory checking rows");
    mvke_status st = MVKE_OK;
    for (int64_t i = 0; i < n && st == MVKE_OK; i++) {
        const float *r = x + i * D;
        for (int64_t j = 0; j < D; j++)
            if (!isfinite(r[j])) {
                st = mvke_error_row(MVKE_ERR_NONFINITE, i, "row %lld: value %lld (expert %lld, dim %lld) is %s",
                                (long long)i, (long long)j, (long long)(j / s->d), (long long)(j % s->d),
                                isnan(r[j]) ? "NaN" : "Inf");
                break;
            }
        if (st != MVKE_OK) break;
        if (rounded) {
            const int bf = s->storage == MVKE_STORAGE_BF16;
            for (int64_t j = 0; j < D && st == MVKE_OK; j++) {
                rounded[j] = bf ? mvke_bf16_to_float1(mvke_bf16_from_float1(r[j]))
                                : mvke_half_to_float1(mvke_half_from_float1(r[j]));
                if (!isfinite(rounded[j]))
                    st = mvke_error_row(MVKE_ERR_NONFINITE, i, "row %lld: value %lld (%g) is beyond the %s range",
                                        (long long)i, (long long)j, (double)r[j], bf ? "bfloat16" : "float16");
            }
            if (st != MVKE_OK) break;
            r = rounded;
        }
        if (mvke_gram_doubled(s->K, s->d, r, gram + i * s->P) != 0)
            st = mvke_error_row(MVKE_ERR_NONFINITE, i, "row %lld: squared norms overflow float32 (values too large)",
                            (long long)i);
    }
    mvke_free(rounded);
    return st;
}

/* Grows block b to hold `cap` rows (rounded up to whole panels), copying a view into owned
 * memory. New lanes are zero. */
static mvke_status block_grow(const mvke_store *s, mvke_store_block *b, int64_t cap) {
    if (cap < b->n) cap = b->n;
    cap = mvke_layout_round(cap);
    if (b->owned && b->cap >= cap) return MVKE_OK;
    int64_t *ids = mvke_malloc_array((size_t)(cap ? cap : 1), sizeof *ids);
    void *data = mvke_calloc(1, mvke_layout_block_bytes(&s->L, cap ? cap : MVKE_LANES));
    if (!ids || !data) {
        mvke_free(ids);
        mvke_free(data);
        return mvke_error(MVKE_ERR_NOMEM, "out of memory growing a block to %lld rows", (long long)cap);
    }
    if (b->n) {
        memcpy(ids, b->ids, (size_t)b->n * sizeof *ids);
        mvke_layout_copy_rows(&s->L, data, cap, b->data, b->cap, b->n);
    }
    mvke_store_block nb = {b->n, cap, ids, data, 1};
    block_free(b);
    *b = nb;
    return MVKE_OK;
}

static int64_t round_cap(int64_t need) {
    int64_t c = 64;
    while (c < need) c *= 2;
    return c < MVKE_BLOCK_ROWS ? c : MVKE_BLOCK_ROWS;
}

mvke_status mvke_store_reserve(mvke_store *s, int64_t extra) {
    if (extra <= 0) return MVKE_OK;
    if (s->count > INT64_MAX - extra) return mvke_error(MVKE_ERR_INVALID, "too many rows");
    const int64_t total = s->count + extra;
    if (mvke_idmap_reserve(&s->map, total) != 0)
        return mvke_error(MVKE_ERR_NOMEM, "out of memory reserving the id map for %lld rows", (long long)total);
    const int64_t need_blocks = (total + MVKE_BLOCK_ROWS - 1) / MVKE_BLOCK_ROWS;
    if (need_blocks > s->cap_blocks) {
        int64_t cb = s->cap_blocks ? s->cap_blocks : 4;
        while (cb < need_blocks) cb *= 2;
        mvke_store_block *nb = mvke_realloc(s->blocks, (size_t)cb * sizeof *nb);
        if (!nb) return mvke_error(MVKE_ERR_NOMEM, "out of memory for the block table");
        memset(nb + s->cap_blocks, 0, (size_t)(cb - s->cap_blocks) * sizeof *nb);
        s->blocks = nb;
        s->cap_blocks = cb;
    }
    /* Grow every block that will receive rows; blocks past nblocks start empty. */
    for (int64_t b = s->count / MVKE_BLOCK_ROWS; b < need_blocks; b++) {
        int64_t rows = total - b * MVKE_BLOCK_ROWS;
        mvke_status st = block_grow(s, &s->blocks[b], round_cap(rows));
        if (st != MVKE_OK) return st;
    }
    return MVKE_OK;
}

mvke_status mvke_store_own_all(mvke_store *s) {
    for (int64_t b = 0; b < s->nblocks; b++) {
        mvke_status st = block_grow(s, &s->blocks[b], s->blocks[b].n);
        if (st != MVKE_OK) return st;
    }
    return MVKE_OK;
}

static void write_row(const mvke_store *s, mvke_store_block *b, int64_t r, const float *row,
                      const float *gram) {
    mvke_layout_put(&s->L, b->data, b->cap, r, row, gram);
}

void mvke_store_append(mvke_store *s, int64_t id, const float *row, const float *gram) {
    const int64_t p = s->count, bi = p / MVKE_BLOCK_ROWS;
    mvke_store_block *b = &s->blocks[bi];
    const int64_t r = p % MVKE_BLOCK_ROWS;
    write_row(s, b, r, row, gram);
    b->ids[r] = id;
    b->n = r + 1;
    if (bi >= s->nblocks) s->nblocks = bi + 1;
    s->count++;
    mvke_idmap_put(&s->map, id, p);
}

void mvke_store_set(mvke_store *s, int64_t p, const float *row, const float *gram) {
    write_row(s, &s->blocks[p / MVKE_BLOCK_ROWS], p % MVKE_BLOCK_ROWS, row, gram);
}

void mvke_store_remove_at(mvke_store *s, int64_t p) {
    const int64_t last = s->count - 1;
    mvke_store_block *bp = &s->blocks[p / MVKE_BLOCK_ROWS], *bl = &s->blocks[last / MVKE_BLOCK_ROWS];
    const int64_t rp = p % MVKE_BLOCK_ROWS, rl = last % MVKE_BLOCK_ROWS;
    mvke_idmap_del(&s->map, bp->ids[rp]);
    if (p != last) {
        mvke_layout_copy(&s->L, bp->data, bp->cap, rp, bl->data, bl->cap, rl);
        bp->ids[rp] = bl->ids[rl];
        mvke_idmap_put(&s->map, bp->ids[rp], p);
    }
    mvke_layout_clear(&s->L, bl->data, bl->cap, rl); /* unused lanes stay zero */
    bl->n--;
    s->count--;
    if (bl->n == 0) s->nblocks--; /* keep the empty block's memory for the next add */
}

void mvke_store_clear(mvke_store *s) {
    for (int64_t b = 0; b < s->cap_blocks; b++) block_free(&s->blocks[b]);
    s->nblocks = 0;
    s->count = 0;
    mvke_idmap_clear(&s->map);
}

void mvke_store_get(const mvke_store *s, int64_t p, float *x) {
    const mvke_store_block *b = &s->blocks[p / MVKE_BLOCK_ROWS];
    mvke_layout_get(&s->L, b->data, b->cap, p % MVKE_BLOCK_ROWS, x, NULL);
}

int64_t mvke_store_id(const mvke_store *s, int64_t p) {
    return s->blocks[p / MVKE_BLOCK_ROWS].ids[p % MVKE_BLOCK_ROWS];
}

void mvke_store_view(const mvke_store *s, mvke_kblock *blocks, mvke_kdb *db) {
    for (int64_t b = 0; b < s->nblocks; b++) {
        const mvke_store_block *sb = &s->blocks[b];
        blocks[b] = (mvke_kblock){sb->n, sb->cap, sb->data, sb->ids};
    }
    *db = (mvke_kdb){s->L, s->experts, s->nblocks, blocks};
}

mvke_status mvke_store_load(mvke_store *s, int64_t n, const int64_t *ids, const void *rows, const float *gram) {
    if (s->count != 0) return mvke_error(MVKE_ERR_INVALID, "loading rows needs an empty store");
    if (n < 0) return mvke_error(MVKE_ERR_INVALID, "n = %lld is negative", (long long)n);
    if (n == 0) return MVKE_OK;
    mvke_status st = mvke_store_reserve(s, n);
    float *row = mvke_malloc_array((size_t)s->D, sizeof *row);
    if (st == MVKE_OK && !row) st = mvke_error(MVKE_ERR_NOMEM, "out of memory loading %lld rows", (long long)n);
    const size_t D = (size_t)s->D, P = (size_t)s->P;
    for (int64_t p = 0; p < n && st == MVKE_OK; p++) {
        int64_t prev;
        if (ids[p] < 0) {
            st = mvke_error(MVKE_ERR_INVALID, "position %lld: id %lld is negative", (long long)p, (long long)ids[p]);
        } else if ((prev = mvke_idmap_get(&s->map, ids[p])) >= 0) {
            st = mvke_error(MVKE_ERR_DUPLICATE, "positions %lld and %lld: id %lld appears twice", (long long)prev,
                            (long long)p, (long long)ids[p]);
        } else {
            if (s->storage == MVKE_STORAGE_F16)
                mvke_half_to_float((const uint16_t *)rows + (size_t)p * D, row, D);
            else
                memcpy(row, (const float *)rows + (size_t)p * D, D * sizeof *row);
            mvke_store_append(s, ids[p], row, gram + (size_t)p * P);
        }
    }
    mvke_free(row);
    if (st != MVKE_OK) mvke_store_clear(s);
    return st;
}
