/*
 * store.h - the row store behind an index: rows of K*d values (float32 or float16), their block
 * Gram triangles and int64 ids, in blocks of structure-of-arrays.
 *
 * Positions are dense: row p lives in block p / MVKE_BLOCK_ROWS at row p % MVKE_BLOCK_ROWS, and
 * every block but the last is full. Removal moves the last row into the hole. A block either owns
 * its arrays or views memory it does not own (a mapped file); only a block that a change touches
 * is copied, just before the change.
 *
 * Id lookups: a store opened from a file keeps the file's sorted id section (idlookup.h) and an
 * in-memory position table (idmap.h) holding only the ids that arrived or moved since; a store
 * built in memory keeps every id in the table (at most 16 bytes per id). An id is where the table
 * says, else where the section says provided that position still holds it.
 *
 * Mapped bytes are checked on first use (units.h): every function that reads rows or ids of a
 * view is preceded by mvke_store_check_block / _check_row / _check_all, which fail with
 * MVKE_ERR_CHECKSUM (or MVKE_ERR_FORMAT for a Gram triangle that cannot be) and change nothing.
 *
 * Mutations come in two phases: checks and reservations that may fail and change nothing, then
 * a commit that cannot fail.
 */
#ifndef MVKE_INDEX_STORE_H
#define MVKE_INDEX_STORE_H

#include <stdint.h>

#include "../kernels/backend.h"
#include "../kernels/codec.h"
#include "idlookup.h"
#include "idmap.h"
#include "units.h"
#include "mvke/mvke.h"

#define MVKE_BLOCK_ROWS ((int64_t)1 << 16)

typedef struct mvke_store_block {
    int64_t n, cap;  /* rows held; rows the buffer is laid out for (a multiple of MVKE_LANES) */
    int64_t *ids;
    void *data;      /* mvke_layout_block_bytes(&store->L, cap) bytes (kernels/layout.h) */
    float *refine;   /* with refine (L.refine): the rows as given, cap (owned) or n * K*d floats */
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
    mvke_idmap map;         /* ids held in memory: all of them, or those changed since open */
    mvke_idlookup lookup;   /* the mapped sorted id section (n == 0 when none) */
    const mvke_units *units; /* first-use checks of mapped bytes; NULL: none (in memory, or off) */
    unsigned char *checked; /* per block of a mapped store: checked whole (atomic flags) */
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


/* The position of id in *pos, or -1 when absent. Fails only with MVKE_ERR_CHECKSUM, when the
 * mapped bytes it reads are corrupted. */
mvke_status mvke_store_lookup(const mvke_store *s, int64_t id, int64_t *pos);

/* The position of id or -1, ignoring checks: for stores held in memory (tests, tag tables). */
static inline int64_t mvke_store_find(const mvke_store *s, int64_t id) {
    int64_t p;
    return mvke_store_lookup(s, id, &p) == MVKE_OK ? p : -1;
}

/* First-use checks of mapped bytes (nothing to do for owned blocks or when checks are off):
 * block b whole (rows, Gram plane, ids; then the Gram values: finite, diagonal >= 0), the bytes
 * of the row at position p only, or every block (in parallel). */
mvke_status mvke_store_check_block(const mvke_store *s, int64_t b);
mvke_status mvke_store_check_row(const mvke_store *s, int64_t p);
mvke_status mvke_store_check_all(const mvke_store *s);

/* Makes a store of n rows whose blocks view a mapped file: ids (n int64 in storage order) and
 * block buffers one after another, block b at blocks + b * full_bytes with the tight capacity
 * mvke_layout_round(rows of b), and with refine the rows (n * K*d float32 in storage order; NULL
 * otherwise). lookup and units describe the mapped id section and the checks (both are kept by
 * pointer/copy; units must outlive the store). The store must be empty.
 * MVKE_ERR_NOMEM possible (the block table). */
mvke_status mvke_store_map(mvke_store *s, int64_t n, const int64_t *ids, const unsigned char *blocks,
                           size_t full_bytes, const float *refine, const mvke_idlookup *lookup,
                           const mvke_units *units);

/* Checks n float32 rows for what the store can keep and computes their Gram triangles into
 * `gram` (n*P floats) without changing the store. float16 and bfloat16 storage compute them from
 * the rounded values, so that stored rows and triangles agree. Fails with MVKE_ERR_NONFINITE
 * naming the row when a value is NaN/Inf, exceeds the storage's range, or the squared norms
 * overflow. */
mvke_status mvke_store_check(const mvke_store *s, int64_t n, const float *x, float *gram);

/* Makes room for `extra` more rows (blocks and id table) and makes the last block owned. May
 * fail with MVKE_ERR_NOMEM (or MVKE_ERR_CHECKSUM copying a mapped block); the contents are
 * unchanged either way. */
mvke_status mvke_store_reserve(mvke_store *s, int64_t extra);

/* Makes the block of position p owned (copies a view of mapped memory after checking it), so
 * that its rows can be changed. Errors and guarantees as mvke_store_reserve. */
mvke_status mvke_store_own(mvke_store *s, int64_t p);

/* Prepares n removals: owns the blocks of the last n positions (rows move from there) and
 * reserves the id table entries the moves need. The blocks of the removed positions are owned
 * with mvke_store_own. Errors and guarantees as mvke_store_reserve. */
mvke_status mvke_store_reserve_removals(mvke_store *s, int64_t n);

/* Makes every block owned. Errors and guarantees as mvke_store_reserve. */
mvke_status mvke_store_own_all(mvke_store *s);

/* Commit-phase operations: they cannot fail once room is reserved / the block is owned. `row`
 * is a float32 row that passed mvke_store_check, `gram` its triangle. */
void mvke_store_append(mvke_store *s, int64_t id, const float *row, const float *gram);
void mvke_store_set(mvke_store *s, int64_t p, const float *row, const float *gram);
void mvke_store_remove_at(mvke_store *s, int64_t p);
void mvke_store_clear(mvke_store *s);

/* Copies row p, widened to float32 (decoded; the refine plane's row when there is one), into x
 * (D floats). A mapped row must have been checked. */
void mvke_store_get(const mvke_store *s, int64_t p, float *x);

/* The id at position p. */
int64_t mvke_store_id(const mvke_store *s, int64_t p);

/* Fills an empty store with n rows given row-major (ids: n; rows: n*K*d float32, or float16 for
 * storage F16; gram: n*P), copied into owned blocks (format version 1 files). Checks that ids are
 * >= 0 and distinct (MVKE_ERR_INVALID / MVKE_ERR_DUPLICATE naming the positions), that every row
 * is one add would take and that its stored Gram triangle is the one it gives (MVKE_ERR_FORMAT
 * naming the position and user); may fail with MVKE_ERR_NOMEM. On error the store is empty. */
mvke_status mvke_store_load(mvke_store *s, int64_t n, const int64_t *ids, const void *rows, const float *gram);

/* Puts the rows in a new order: position i receives the row (with its id, Gram triangle, bounds
 * and refine row) at old position perm[i], perm a permutation of the positions. Every block
 * becomes owned and every id enters the in-memory table (a mapped id section no longer says
 * where rows are). Errors: MVKE_ERR_NOMEM, MVKE_ERR_CHECKSUM (a mapped block); the store is
 * unchanged on error. */
mvke_status mvke_store_reorder(mvke_store *s, const int64_t *perm);

/* Fills `blocks` (nblocks entries) and db with read-only views for a backend; db's first-use
 * check of refine rows is the store's units. */
void mvke_store_view(const mvke_store *s, mvke_kblock *blocks, mvke_kdb *db);

#endif
