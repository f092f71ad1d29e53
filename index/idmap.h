/*
 * idmap.h - a hash map from non-negative int64 ids to int64 positions (open addressing, linear
 * probing, backward-shift deletion). Capacity is reserved ahead so that the commit phase of an
 * add can never fail half way.
 */
#ifndef MVKE_INDEX_IDMAP_H
#define MVKE_INDEX_IDMAP_H

#include <stdint.h>

typedef struct mvke_idmap {
    int64_t *keys; /* -1 = empty */
    int64_t *vals;
    int64_t cap;   /* power of two, or 0 */
    int64_t n;
} mvke_idmap;

void mvke_idmap_init(mvke_idmap *m);
void mvke_idmap_release(mvke_idmap *m);

/* Makes room for `total` keys without growing again; returns 0, or -1 when memory is short (the
 * map is unchanged). */
int mvke_idmap_reserve(mvke_idmap *m, int64_t total);

/* The value of key, or -1 when absent. */
int64_t mvke_idmap_get(const mvke_idmap *m, int64_t key);

/* Inserts or overwrites key; room must have been reserved. */
void mvke_idmap_put(mvke_idmap *m, int64_t key, int64_t val);

/* Removes key if present. */
void mvke_idmap_del(mvke_idmap *m, int64_t key);

/* Removes every key, keeping the capacity. */
void mvke_idmap_clear(mvke_idmap *m);

#endif
