/*
 * store.c - blocks of rows, Gram triangles and ids; the storage under mvke_index.
 */
#include "store.h"

#include <math.h>
#include <stdio.h>
#include <string.h>


#include "../kernels/gram.h"
#include "../kernels/layout.h"
#include "../kernels/half.h"
#include "../kernels/runtime.h"

/* The id at position p: the key of a position-table slot. */
static int64_t id_at(const void *ctx, int64_t p) { return mvke_store_id(ctx, p); }

mvke_status mvke_store_init(mvke_store *s, int K, int d, mvke_storage storage) {
    memset(s, 0, sizeof *s);
    s->K = K;
    s->d = d;
    s->D = K * d;
    s->P = mvke_gram_size(K);
    s->storage = storage;
    s->experts = mvke_experts_all(K);
    mvke_idmap_init(&s->map, id_at, s);
    if (mvke_layout_init(&s->L, K, d, storage) != 0)
        return mvke_error(MVKE_ERR_INVALID, "unknown storage %d", (int)storage);
    return MVKE_OK;
}

mvke_status mvke_store_init_codec(mvke_store *s, int pq_m, int refine) {
    if (!mvke_storage_is_codec(s->storage)) {
        if (refine) return mvke_error(MVKE_ERR_INVALID, "refine needs a codec storage (sq8, pq), not %s", mvke_storage_name(s->storage));
        if (pq_m) return mvke_error(MVKE_ERR_INVALID, "pq_m = %d is for the pq storage only", pq_m);
        return MVKE_OK;
    }
    if (s->storage == MVKE_STORAGE_PQ && (pq_m < 0 || pq_m > s->d))
        return mvke_error(MVKE_ERR_INVALID, "pq_m = %d: pq needs 1 to d = %d sub-spaces per expert (0: default %d)",
                          pq_m, s->d, mvke_pq_default_m(s->d));
    if (s->storage != MVKE_STORAGE_PQ && pq_m)
        return mvke_error(MVKE_ERR_INVALID, "pq_m = %d is for the pq storage only", pq_m);
    if (mvke_codec_init(&s->codec, s->K, s->d, s->storage, pq_m) != 0)
        return mvke_error(MVKE_ERR_NOMEM, "out of memory for the %s codec", mvke_storage_name(s->storage));
    mvke_layout_set_codec(&s->L, &s->codec, refine);
    return MVKE_OK;
}

static void block_free(mvke_store_block *b) {
    if (b->owned) {
        mvke_free(b->ids);
        mvke_free(b->data);
        mvke_free(b->refine);
    }
    memset(b, 0, sizeof *b);
}

void mvke_store_release(mvke_store *s) {
    for (int64_t b = 0; b < s->nblocks; b++) block_free(&s->blocks[b]);
    mvke_free(s->blocks);
    mvke_free(s->checked);
    mvke_idmap_release(&s->map);
    s->blocks = NULL;
    s->checked = NULL;
    memset(&s->lookup, 0, sizeof s->lookup);
    s->units = NULL;
    s->nblocks = s->cap_blocks = s->count = 0;
    if (s->backing_release) s->backing_release(s->backing);
    s->backing = NULL;
    s->backing_release = NULL;
    mvke_codec_release(&s->codec);
}

mvke_status mvke_store_check(const mvke_store *s, int64_t n, const float *x, float *gram) {
    const int64_t D = s->D;
    float *rounded = NULL;
    /* Rounded storages compute the triangle of what they keep; codecs that of the exact row. */
    if ((s->storage == MVKE_STORAGE_F16 || s->storage == MVKE_STORAGE_BF16) && !(rounded = mvke_malloc_array((size_t)D, sizeof *rounded)))
        return mvke_error(MVKE_ERR_NOMEM, "out of memory checking rows");
    mvke_status st = MVKE_OK;
    for (int64_t i = 0; i < n && st == MVKE_OK; i++) {
        const float *r = x + i * D;
        for (int64_t j = 0; j < D; j++)
            if (!isfinite(r[j])) {
                st = mvke_error_row(MVKE_ERR_NONFINITE, i, "row %lld, expert %lld, dimension %lld: the value is %s",
                                (long long)i, (long long)(j / s->d), (long long)(j % s->d),
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
                    st = mvke_error_row(MVKE_ERR_NONFINITE, i, "row %lld, expert %lld, dimension %lld: the value %g is beyond the %s range",
                                        (long long)i, (long long)(j / s->d), (long long)(j % s->d), (double)r[j], bf ? "bfloat16" : "float16");
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
    if (!b->owned && b->n) {
        /* A copy is trusted from then on: check the mapped bytes before copying them. */
        mvke_status st = mvke_store_check_block(s, b - s->blocks);
        if (st != MVKE_OK) return st;
    }
    int64_t *ids = mvke_malloc_array((size_t)(cap ? cap : 1), sizeof *ids);
    void *data = mvke_calloc(1, mvke_layout_block_bytes(&s->L, cap ? cap : MVKE_LANES));
    float *refine = s->L.refine ? mvke_malloc_array((size_t)(cap ? cap : 1) * (size_t)s->D, sizeof *refine) : NULL;
    if (!ids || !data || (s->L.refine && !refine)) {
        mvke_free(ids);
        mvke_free(data);
        mvke_free(refine);
        return mvke_error(MVKE_ERR_NOMEM, "out of memory growing a block to %lld rows", (long long)cap);
    }
    if (b->n) {
        memcpy(ids, b->ids, (size_t)b->n * sizeof *ids);
        mvke_layout_copy_rows(&s->L, data, cap, b->data, b->cap, b->n);
        if (refine) {
            /* Mapped rows are checked where a copy would trust them from then on. */
            mvke_status st = b->owned ? MVKE_OK : mvke_units_check(s->units, b->refine, (size_t)b->n * (size_t)s->D * sizeof *refine);
            if (st != MVKE_OK) {
                mvke_free(ids);
                mvke_free(data);
                mvke_free(refine);
                return st;
            }
            memcpy(refine, b->refine, (size_t)b->n * (size_t)s->D * sizeof *refine);
        }
    }
    mvke_store_block nb = {b->n, cap, ids, data, refine, 1};
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
    if (mvke_idmap_reserve(&s->map, s->map.n + extra) != 0)
        return mvke_error(MVKE_ERR_NOMEM, "out of memory reserving the id table for %lld rows", (long long)total);
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

mvke_status mvke_store_own(mvke_store *s, int64_t p) {
    mvke_store_block *b = &s->blocks[p / MVKE_BLOCK_ROWS];
    return b->owned ? MVKE_OK : block_grow(s, b, b->n);
}

mvke_status mvke_store_reserve_removals(mvke_store *s, int64_t n) {
    if (n <= 0) return MVKE_OK;
    if (n > s->count) n = s->count;
    for (int64_t b = (s->count - n) / MVKE_BLOCK_ROWS; b < s->nblocks; b++) {
        mvke_status st = mvke_store_own(s, b * MVKE_BLOCK_ROWS);
        if (st != MVKE_OK) return st;
    }
    /* A moved row's id enters the table; in memory it was there already. */
    if (s->lookup.n && mvke_idmap_reserve(&s->map, s->map.n + n) != 0)
        return mvke_error(MVKE_ERR_NOMEM, "out of memory reserving the id table for %lld removals", (long long)n);
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
    if (b->refine) memcpy(b->refine + (size_t)r * (size_t)s->D, row, (size_t)s->D * sizeof *row);
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
    /* Table entries go before their position's id changes, and come back after. */
    mvke_idmap_del(&s->map, bp->ids[rp]);
    if (p != last) {
        mvke_idmap_del(&s->map, bl->ids[rl]);
        mvke_layout_copy(&s->L, bp->data, bp->cap, rp, bl->data, bl->cap, rl);
        if (bp->refine)
            memcpy(bp->refine + (size_t)rp * (size_t)s->D, bl->refine + (size_t)rl * (size_t)s->D,
                   (size_t)s->D * sizeof *bp->refine);
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
    memset(&s->lookup, 0, sizeof s->lookup); /* the mapped ids are gone with the rows */
}

void mvke_store_get(const mvke_store *s, int64_t p, float *x) {
    const mvke_store_block *b = &s->blocks[p / MVKE_BLOCK_ROWS];
    if (b->refine)
        memcpy(x, b->refine + (size_t)(p % MVKE_BLOCK_ROWS) * (size_t)s->D, (size_t)s->D * sizeof *x);
    else
        mvke_layout_get(&s->L, b->data, b->cap, p % MVKE_BLOCK_ROWS, x, NULL);
}

int64_t mvke_store_id(const mvke_store *s, int64_t p) {
    return s->blocks[p / MVKE_BLOCK_ROWS].ids[p % MVKE_BLOCK_ROWS];
}

mvke_status mvke_store_reorder(mvke_store *s, const int64_t *perm) {
    const int64_t n = s->count, nb = s->nblocks;
    mvke_status st = mvke_store_check_all(s);
    if (st != MVKE_OK || n == 0) return st;
    mvke_store_block *nbk = mvke_calloc((size_t)nb, sizeof *nbk);
    mvke_idmap map;
    mvke_idmap_init(&map, id_at, s);
    int failed = !nbk || mvke_idmap_reserve(&map, n) != 0;
    for (int64_t b = 0; b < nb && !failed; b++) {
        const int64_t rows = n - b * MVKE_BLOCK_ROWS < MVKE_BLOCK_ROWS ? n - b * MVKE_BLOCK_ROWS : MVKE_BLOCK_ROWS;
        const int64_t cap = mvke_layout_round(rows);
        nbk[b] = (mvke_store_block){rows, cap, mvke_malloc_array((size_t)cap, sizeof(int64_t)),
                                    mvke_calloc(1, mvke_layout_block_bytes(&s->L, cap)),
                                    s->L.refine ? mvke_malloc_array((size_t)cap * (size_t)s->D, sizeof(float)) : NULL, 1};
        failed = !nbk[b].ids || !nbk[b].data || (s->L.refine && !nbk[b].refine);
    }
    if (failed) {
        for (int64_t b = 0; nbk && b < nb; b++) block_free(&nbk[b]);
        mvke_free(nbk);
        mvke_idmap_release(&map);
        return mvke_error(MVKE_ERR_NOMEM, "out of memory reordering %lld rows", (long long)n);
    }
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t b = 0; b < nb; b++) {
        mvke_store_block *d = &nbk[b];
        for (int64_t r = 0; r < d->n; r++) {
            const int64_t p = perm[b * MVKE_BLOCK_ROWS + r];
            const mvke_store_block *sb = &s->blocks[p / MVKE_BLOCK_ROWS];
            const int64_t sr = p % MVKE_BLOCK_ROWS;
            mvke_layout_copy(&s->L, d->data, d->cap, r, sb->data, sb->cap, sr);
            d->ids[r] = sb->ids[sr];
            if (d->refine)
                memcpy(d->refine + (size_t)r * (size_t)s->D, sb->refine + (size_t)sr * (size_t)s->D,
                       (size_t)s->D * sizeof(float));
        }
    }
    for (int64_t b = 0; b < s->cap_blocks; b++) block_free(&s->blocks[b]);
    mvke_free(s->blocks);
    s->blocks = nbk;
    s->cap_blocks = nb;
    mvke_idmap_release(&s->map);
    s->map = map;
    for (int64_t p = 0; p < n; p++) mvke_idmap_put(&s->map, mvke_store_id(s, p), p);
    memset(&s->lookup, 0, sizeof s->lookup); /* the mapped section says where rows were */
    return MVKE_OK;
}

/* The first-use check of bytes outside the blocks (mvke_kdb.check). */
static mvke_status check_units(const void *units, const void *p, size_t n) { return mvke_units_check(units, p, n); }

void mvke_store_view(const mvke_store *s, mvke_kblock *blocks, mvke_kdb *db) {
    for (int64_t b = 0; b < s->nblocks; b++) {
        const mvke_store_block *sb = &s->blocks[b];
        blocks[b] = (mvke_kblock){.n = sb->n, .cap = sb->cap, .data = sb->data, .ids = sb->ids, .refine = sb->refine};
    }
    *db = (mvke_kdb){.L = s->L, .experts = s->experts, .nblocks = s->nblocks, .blocks = blocks};
    if (s->units) {
        db->check = check_units;
        db->check_ctx = s->units;
    }
}

mvke_status mvke_store_load(mvke_store *s, int64_t n, const int64_t *ids, const void *rows, const float *gram) {
    if (s->count != 0) return mvke_error(MVKE_ERR_INVALID, "loading rows needs an empty store");
    if (n < 0) return mvke_error(MVKE_ERR_INVALID, "n = %lld is negative", (long long)n);
    if (n == 0) return MVKE_OK;
    mvke_status st = mvke_store_reserve(s, n);
    float *row = mvke_malloc_array((size_t)s->D, sizeof *row), *g = mvke_malloc_array((size_t)s->P, sizeof *g);
    if (st == MVKE_OK && (!row || !g)) st = mvke_error(MVKE_ERR_NOMEM, "out of memory loading %lld rows", (long long)n);
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
            /* The rows as add takes them, and the stored triangle the one they give (as verify
             * checks a version 2 file): a file holds what add could have stored, or is refused. */
            char msg[512];
            if (mvke_store_check(s, 1, row, g) != MVKE_OK) {
                snprintf(msg, sizeof msg, "%s", mvke_last_error());
                st = mvke_error(MVKE_ERR_FORMAT, "position %lld (user %lld): %s", (long long)p, (long long)ids[p], msg);
                break;
            }
            const float *sg = gram + (size_t)p * P;
            for (size_t e = 0; e < P && st == MVKE_OK; e++) {
                const float tol = 1e-4f * (fabsf(g[e]) + 1e-30f) + 1e-6f * fabsf(g[0]);
                if (!(fabsf(sg[e] - g[e]) <= tol))
                    st = mvke_error(MVKE_ERR_FORMAT, "position %lld (user %lld): Gram entry %zu is %g but the row gives %g",
                                    (long long)p, (long long)ids[p], e, (double)sg[e], (double)g[e]);
            }
            if (st == MVKE_OK) mvke_store_append(s, ids[p], row, g);
        }
    }
    mvke_free(row);
    mvke_free(g);
    if (st != MVKE_OK) mvke_store_clear(s);
    return st;
}

mvke_status mvke_store_lookup(const mvke_store *s, int64_t id, int64_t *pos) {
    *pos = -1;
    if (id < 0) return MVKE_OK;
    int64_t p = mvke_idmap_get(&s->map, id);
    if (p >= 0 || !s->lookup.n) {
        *pos = p;
        return MVKE_OK;
    }
    mvke_status st = mvke_idlookup_find(&s->lookup, s->units, id, &p);
    if (st != MVKE_OK || p < 0 || p >= s->count) return st;
    /* The section is as saved: the row may have been removed or moved since (moves are in the
     * table, found above), so the position must still hold the id. */
    const mvke_store_block *b = &s->blocks[p / MVKE_BLOCK_ROWS];
    const int64_t *idp = b->ids + p % MVKE_BLOCK_ROWS;
    if (!b->owned && (st = mvke_units_check(s->units, idp, sizeof *idp)) != MVKE_OK) return st;
    if (*idp == id) *pos = p;
    return MVKE_OK;
}

/* The cheap content checks of n rows' Gram entries starting at row r0 of a mapped block:
 * finite, diagonal >= 0 (a file written by another program could hold anything). */
static mvke_status check_gram(const mvke_store *s, int64_t b, int64_t r0, int64_t n) {
    const mvke_store_block *bk = &s->blocks[b];
    if (!s->L.G) return MVKE_OK; /* the dot score keeps no Gram plane */
    const float *g = mvke_layout_gram(&s->L, bk->data, bk->cap);
    for (int64_t r = r0; r < r0 + n; r++) {
        const float *row = g + (r / MVKE_LANES) * s->P * MVKE_LANES + r % MVKE_LANES;
        int e = 0;
        for (int k = 0; k < s->K; k++)
            for (int l = k; l < s->K; l++, e++) {
                const float v = row[(size_t)e * MVKE_LANES];
                if (!isfinite(v) || (k == l && v < 0.0f))
                    return mvke_error(MVKE_ERR_FORMAT, "%s: user %lld (position %lld): Gram entry (%d, %d) is %g: the "
                                      "rows cannot have it (damaged or foreign file)", s->units->path,
                                      (long long)bk->ids[r], (long long)(b * MVKE_BLOCK_ROWS + r), k, l, (double)v);
            }
    }
    return MVKE_OK;
}

mvke_status mvke_store_check_block(const mvke_store *s, int64_t b) {
    const mvke_store_block *bk = &s->blocks[b];
    if (!s->units || bk->owned || __atomic_load_n(&s->checked[b], __ATOMIC_ACQUIRE)) return MVKE_OK;
    mvke_status st = mvke_units_check(s->units, bk->data, mvke_layout_block_bytes(&s->L, bk->cap));
    if (st == MVKE_OK) st = mvke_units_check(s->units, bk->ids, (size_t)bk->n * sizeof *bk->ids);
    if (st == MVKE_OK) st = check_gram(s, b, 0, bk->n);
    if (st == MVKE_OK) __atomic_store_n(&s->checked[b], 1, __ATOMIC_RELEASE);
    return st;
}

mvke_status mvke_store_check_row(const mvke_store *s, int64_t p) {
    const int64_t b = p / MVKE_BLOCK_ROWS, r = p % MVKE_BLOCK_ROWS;
    const mvke_store_block *bk = &s->blocks[b];
    if (!s->units || bk->owned || __atomic_load_n(&s->checked[b], __ATOMIC_ACQUIRE)) return MVKE_OK;
    /* The row's panel in every expert plane and in the Gram plane, and its id. */
    const size_t panel = (size_t)(r / MVKE_LANES);
    const size_t pv = (size_t)s->L.panel_values * (size_t)s->L.esize, pg = (size_t)s->L.G * MVKE_LANES * sizeof(float);
    mvke_status st = MVKE_OK;
    for (int k = 0; k < s->K && st == MVKE_OK; k++)
        st = mvke_units_check(s->units, (const unsigned char *)mvke_layout_plane(&s->L, bk->data, bk->cap, k) + panel * pv, pv);
    if (st == MVKE_OK && pg)
        st = mvke_units_check(s->units, (const unsigned char *)mvke_layout_gram(&s->L, bk->data, bk->cap) + panel * pg, pg);
    if (st == MVKE_OK) st = mvke_units_check(s->units, bk->ids + r, sizeof *bk->ids);
    if (st == MVKE_OK && bk->refine)
        st = mvke_units_check(s->units, bk->refine + (size_t)r * (size_t)s->D, (size_t)s->D * sizeof(float));
    if (st == MVKE_OK) st = check_gram(s, b, r, 1);
    return st;
}

mvke_status mvke_store_check_all(const mvke_store *s) {
    if (!s->units) return MVKE_OK;
    int64_t bad = -1;
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t b = 0; b < s->nblocks; b++) {
        /* A worker's message is thread-local: note the block, and report it below. */
        if (__atomic_load_n(&bad, __ATOMIC_RELAXED) < 0 && mvke_store_check_block(s, b) != MVKE_OK) {
            int64_t none = -1;
            __atomic_compare_exchange_n(&bad, &none, b, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
        }
    }
    return bad < 0 ? MVKE_OK : mvke_store_check_block(s, bad);
}

mvke_status mvke_store_map(mvke_store *s, int64_t n, const int64_t *ids, const unsigned char *blocks,
                           size_t full_bytes, const float *refine, const mvke_idlookup *lookup,
                           const mvke_units *units) {
    if (s->count || s->nblocks) return mvke_error(MVKE_ERR_INVALID, "mapping rows needs an empty store");
    const int64_t nb = (n + MVKE_BLOCK_ROWS - 1) / MVKE_BLOCK_ROWS;
    mvke_store_block *bt = mvke_calloc((size_t)(nb ? nb : 1), sizeof *bt);
    unsigned char *checked = mvke_calloc((size_t)(nb ? nb : 1), 1);
    if (!bt || !checked) {
        mvke_free(bt);
        mvke_free(checked);
        return mvke_error(MVKE_ERR_NOMEM, "out of memory for the table of %lld blocks", (long long)nb);
    }
    for (int64_t b = 0; b < nb; b++) {
        const int64_t rows = n - b * MVKE_BLOCK_ROWS < MVKE_BLOCK_ROWS ? n - b * MVKE_BLOCK_ROWS : MVKE_BLOCK_ROWS;
        bt[b] = (mvke_store_block){rows, mvke_layout_round(rows), (int64_t *)(ids + b * MVKE_BLOCK_ROWS),
                                   (void *)(blocks + (size_t)b * full_bytes),
                                   refine ? (float *)(refine + (size_t)b * MVKE_BLOCK_ROWS * (size_t)s->D) : NULL, 0};
    }
    mvke_free(s->blocks);
    mvke_free(s->checked);
    s->blocks = bt;
    s->checked = checked;
    s->nblocks = s->cap_blocks = nb;
    s->count = n;
    s->lookup = *lookup;
    s->units = units;
    return MVKE_OK;
}
