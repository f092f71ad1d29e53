/*
 * store.h - the row store behind an index: rows of K*d values (float32 or float16), their block
 * Gram triangles and int64 ids, in blocks of structure-of-arrays.
 *
 * Positions are dense: row p lives in block p / MVKE_BLOCK_ROWS at row p % MVKE_BLOCK_ROWS, and
 * every block but the last is full. Removal moves the last row into the hole. A block either owns
 * its arrays or views memory it does not own (a mapped file); it is copied before any change.
 * Mutations come in two phases: checks and reservations that may fail and change nothing, then
 * a commit that cannot fail.
 */
#ifndef MVKE_INDEX_STORE_H
#define MVKE_INDEX_STORE_H

#include <stdint.h>

#include "../kernels/backend.h"
#include "../kernels/codec.h"
#include "idmap.h"
#include "mvke/mvke.h"

#define MVKE_BLOCK_ROWS ((int64_t)1 << 16)

typedef struct mvke_store_block {
    int64_t n, cap;  /* rows held; rows the buffer is laid out for (a multiple of MVKE_LANES) */
    int64_t *ids;
    void *data;      /* mvke_layout_block_bytes(&store->L, cap) bytes (kernels/layout.h) */
    int owned;       /* the arrays are ours to free and change */
} mvke_store_block;

typedef struct mvke_store {
    int K, d, D, P;
    mvke_storage storage;
    mvke_layout L;
    mvke_codec codec; /* sq8, pq: the parameters L points to (untrained until trained) */
    uint64_t experts; /* experts that may be nonzero in a row (mvke_kdb.experts) */
    int64_t count;
    int64_t nblocks, cap_blocks;
    mvke_store_block *blocks;
    mvke_idmap map;
    /* What views point into (a mapped file): released with the store, after its blocks. */
    void *backing;
    void (*backing_release)(void *backing);
} mvke_store;

/* Initialises an empty store. Returns MVKE_ERR_INVALID (with a message) for a storage the layout
 * does not know. */
mvke_status mvke_store_init(mvke_store *s, int K, int d, mvke_storage storage);
void mvke_store_release(mvke_store *s);

/* For a codec storage: allocates the untrained codec (pq_m sub-spaces for pq, 0 = default) and
 * lays blocks out for it, with the refine plane when refine != 0. Call on an empty store
 * after mvke_store_init. Errors: MVKE_ERR_INVALID (pq_m out of [0, d]; refine or pq_m given to a
 * storage without a codec), MVKE_ERR_NOMEM. */
mvke_status mvke_store_init_codec(mvke_store *s, int pq_m, int refine);

/* Whether rows may be stored (a codec is trained, or there is none). */
static inline int mvke_store_trained(const mvke_store *s) {
    return !mvke_storage_is_codec(s->storage) || s->codec.trained;
}

/* Position of id, or -1. */
static inline int64_t mvke_store_find(const mvke_store *s, int64_t id) {
    return mvke_idmap_get(&s->map, id);
}

/* Checks n float32 rows for what the store can keep and computes their Gram triangles into
 * `gram` (n*P floats) without changing the store. float16 and bfloat16 storage compute them from
 * the rounded values, so that stored rows and triangles agree. Fails with MVKE_ERR_NONFINITE
 * naming the row when a value is NaN/Inf, exceeds the storage's range, or the squared norms
 * overflow. */
mvke_status mvke_store_check(const mvke_store *s, int64_t n, const float *x, float *gram);

/* Makes room for `extra` more rows (blocks and id map) and makes the last block owned. May fail
 * with MVKE_ERR_NOMEM; the contents are unchanged either way. */
mvke_status mvke_store_reserve(mvke_store *s, int64_t extra);

/* Makes every block owned (copies views of mapped memory), so that rows can be changed or
 * removed. May fail with MVKE_ERR_NOMEM; the contents are unchanged either way. */
mvke_status mvke_store_own_all(mvke_store *s);

/* Commit-phase operations: they cannot fail once room is reserved / the block is owned. `row`
 * is a float32 row that passed mvke_store_check, `gram` its triangle. */
void mvke_store_append(mvke_store *s, int64_t id, const float *row, const float *gram);
void mvke_store_set(mvke_store *s, int64_t p, const float *row, const float *gram);
void mvke_store_remove_at(mvke_store *s, int64_t p);
void mvke_store_clear(mvke_store *s);

/* Copies row p, widened to float32 (decoded; the refine plane's row when there is one), into x
 * (D floats). */
void mvke_store_get(const mvke_store *s, int64_t p, float *x);

/* The id at position p. */
int64_t mvke_store_id(const mvke_store *s, int64_t p);

/* Fills an empty store with n rows given row-major (ids: n; rows: n*K*d float32, or float16 for
 * storage F16; gram: n*P), copied into owned blocks. Checks that ids are >= 0 and distinct
 * (MVKE_ERR_INVALID / MVKE_ERR_DUPLICATE naming the positions); may fail with MVKE_ERR_NOMEM. On
 * error the store is empty. */
mvke_status mvke_store_load(mvke_store *s, int64_t n, const int64_t *ids, const void *rows, const float *gram);

/* Fills `blocks` (nblocks entries) and db with read-only views for a backend. */
void mvke_store_view(const mvke_store *s, mvke_kblock *blocks, mvke_kdb *db);

#endif
