/*
 * idmap.c - open-addressing hash map for id -> position lookups.
 */
#include "idmap.h"

#include <string.h>

#include "../kernels/runtime.h"

static inline uint64_t hash64(int64_t key) {
    uint64_t z = (uint64_t)key + 0x9e3779b97f4a7c15ull; /* splitmix64 finaliser */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void mvke_idmap_init(mvke_idmap *m) { memset(m, 0, sizeof *m); }

void mvke_idmap_release(mvke_idmap *m) {
    mvke_free(m->keys);
    mvke_free(m->vals);
    mvke_idmap_init(m);
}

static void insert_raw(int64_t *keys, int64_t *vals, int64_t cap, int64_t key, int64_t val) {
    uint64_t mask = (uint64_t)cap - 1, i = hash64(key) & mask;
    while (keys[i] != -1 && keys[i] != key) i = (i + 1) & mask;
    keys[i] = key;
    vals[i] = val;
}

int mvke_idmap_reserve(mvke_idmap *m, int64_t total) {
    /* Keep the load at most 1/2. */
    int64_t cap = m->cap ? m->cap : 16;
    while (cap / 2 < total) {
        if (cap > INT64_MAX / 4) return -1;
        cap *= 2;
    }
    if (cap == m->cap) return 0;
    int64_t *keys = mvke_malloc_array((size_t)cap, sizeof *keys);
    int64_t *vals = mvke_malloc_array((size_t)cap, sizeof *vals);
    if (!keys || !vals) {
        mvke_free(keys);
        mvke_free(vals);
        return -1;
    }
    memset(keys, 0xff, (size_t)cap * sizeof *keys);
    for (int64_t i = 0; i < m->cap; i++)
        if (m->keys[i] != -1) insert_raw(keys, vals, cap, m->keys[i], m->vals[i]);
    mvke_free(m->keys);
    mvke_free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return 0;
}

int64_t mvke_idmap_get(const mvke_idmap *m, int64_t key) {
    if (!m->cap || key < 0) return -1;
    uint64_t mask = (uint64_t)m->cap - 1, i = hash64(key) & mask;
    while (m->keys[i] != -1) {
        if (m->keys[i] == key) return m->vals[i];
        i = (i + 1) & mask;
    }
    return -1;
}

void mvke_idmap_put(mvke_idmap *m, int64_t key, int64_t val) {
    uint64_t mask = (uint64_t)m->cap - 1, i = hash64(key) & mask;
    while (m->keys[i] != -1 && m->keys[i] != key) i = (i + 1) & mask;
    if (m->keys[i] == -1) m->n++;
    m->keys[i] = key;
    m->vals[i] = val;
}

void mvke_idmap_del(mvke_idmap *m, int64_t key) {
    if (!m->cap || key < 0) return;
    uint64_t mask = (uint64_t)m->cap - 1, i = hash64(key) & mask;
    while (m->keys[i] != key) {
        if (m->keys[i] == -1) return;
        i = (i + 1) & mask;
    }
    /* Backward shift: pull later entries of the probe run into the hole. */
    uint64_t hole = i;
    for (uint64_t j = (i + 1) & mask; m->keys[j] != -1; j = (j + 1) & mask) {
        uint64_t home = hash64(m->keys[j]) & mask;
        /* Entry j may move to the hole if its home is not within (hole, j]. */
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            m->keys[hole] = m->keys[j];
            m->vals[hole] = m->vals[j];
            hole = j;
        }
    }
    m->keys[hole] = -1;
    m->n--;
}

void mvke_idmap_clear(mvke_idmap *m) {
    if (m->cap) memset(m->keys, 0xff, (size_t)m->cap * sizeof *m->keys);
    m->n = 0;
}
