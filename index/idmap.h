/*
 * idmap.h - id -> position lookups for rows held in memory: an open-addressing table (linear
 * probing, backward-shift deletion) whose slots hold only positions, 8 bytes each. A slot's key
 * is the id stored at its position, read back through id_at, so the table costs 8 bytes per slot
 * and, kept between half and four fifths full, at most 16 bytes per id. Capacity is reserved
 * ahead so that the commit phase of a change can never fail half way.
 *
 * The caller keeps the table in step with the rows: an entry is put after its id is written at
 * its position and deleted before that position's id changes.
 */
#ifndef MVKE_INDEX_IDMAP_H
#define MVKE_INDEX_IDMAP_H

#include <stdint.h>

/* The id at position pos (pos is a position the table holds). */
typedef int64_t (*mvke_idmap_id_fn)(const void *ctx, int64_t pos);

typedef struct mvke_idmap {
    int64_t *slots; /* positions; -1 = empty */
    int64_t cap;    /* slots, or 0 */
    int64_t n;      /* entries */
    mvke_idmap_id_fn id_at;
    const void *ctx;
} mvke_idmap;

void mvke_idmap_init(mvke_idmap *m, mvke_idmap_id_fn id_at, const void *ctx);
void mvke_idmap_release(mvke_idmap *m);

/* Makes room for `total` entries without growing again; returns 0, or -1 when memory is short
 * (the table is unchanged). */
int mvke_idmap_reserve(mvke_idmap *m, int64_t total);

/* The position of key, or -1 when absent. */
int64_t mvke_idmap_get(const mvke_idmap *m, int64_t key);

/* Records that key is at pos (id_at(pos) == key already), replacing an entry of the same key;
 * room must have been reserved. */
void mvke_idmap_put(mvke_idmap *m, int64_t key, int64_t pos);

/* Removes key if present (its position must still hold it). */
void mvke_idmap_del(mvke_idmap *m, int64_t key);

/* Removes every entry, keeping the capacity. */
void mvke_idmap_clear(mvke_idmap *m);

#endif
