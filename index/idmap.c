/*
 * idmap.c - the position table behind id lookups of rows held in memory (idmap.h).
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

/* The home slot of key in a table of cap slots (any cap, not only powers of two). */
static inline int64_t home(int64_t key, int64_t cap) {
    return (int64_t)(((unsigned __int128)hash64(key) * (uint64_t)cap) >> 64);
}

void mvke_idmap_init(mvke_idmap *m, mvke_idmap_id_fn id_at, const void *ctx) {
    memset(m, 0, sizeof *m);
    m->id_at = id_at;
    m->ctx = ctx;
}

void mvke_idmap_release(mvke_idmap *m) {
    mvke_free(m->slots);
    m->slots = NULL;
    m->cap = m->n = 0;
}

static void insert_raw(const mvke_idmap *m, int64_t *slots, int64_t cap, int64_t key, int64_t pos) {
    int64_t i = home(key, cap);
    while (slots[i] != -1 && m->id_at(m->ctx, slots[i]) != key)
        if (++i == cap) i = 0;
    slots[i] = pos;
}

int mvke_idmap_reserve(mvke_idmap *m, int64_t total) {
    /* Grow when more than 4/5 full, to half full. */
    if (total <= m->cap / 5 * 4) return 0;
    if (total > INT64_MAX / 16) return -1;
    int64_t cap = total * 2 < 16 ? 16 : total * 2;
    int64_t *slots = mvke_malloc_array((size_t)cap, sizeof *slots);
    if (!slots) return -1;
    memset(slots, 0xff, (size_t)cap * sizeof *slots);
    for (int64_t i = 0; i < m->cap; i++)
        if (m->slots[i] != -1) insert_raw(m, slots, cap, m->id_at(m->ctx, m->slots[i]), m->slots[i]);
    mvke_free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

int64_t mvke_idmap_get(const mvke_idmap *m, int64_t key) {
    if (!m->n || key < 0) return -1;
    int64_t i = home(key, m->cap);
    for (int64_t p; (p = m->slots[i]) != -1;) {
        if (m->id_at(m->ctx, p) == key) return p;
        if (++i == m->cap) i = 0;
    }
    return -1;
}

void mvke_idmap_put(mvke_idmap *m, int64_t key, int64_t pos) {
    int64_t i = home(key, m->cap);
    while (m->slots[i] != -1 && m->id_at(m->ctx, m->slots[i]) != key)
        if (++i == m->cap) i = 0;
    if (m->slots[i] == -1) m->n++;
    m->slots[i] = pos;
}

void mvke_idmap_del(mvke_idmap *m, int64_t key) {
    if (!m->n || key < 0) return;
    const int64_t cap = m->cap;
    int64_t i = home(key, cap);
    for (;;) {
        if (m->slots[i] == -1) return; /* absent */
        if (m->id_at(m->ctx, m->slots[i]) == key) break;
        if (++i == cap) i = 0;
    }
    /* Backward shift: pull later entries of the probe run into the hole. */
    int64_t hole = i;
    for (int64_t j = hole + 1 == cap ? 0 : hole + 1; m->slots[j] != -1; j = j + 1 == cap ? 0 : j + 1) {
        const int64_t h = home(m->id_at(m->ctx, m->slots[j]), cap);
        /* Entry j may move to the hole if its home is not within (hole, j] (cyclically). */
        const int64_t dj = (j - h + cap) % cap, dh = (j - hole + cap) % cap;
        if (dj >= dh) {
            m->slots[hole] = m->slots[j];
            hole = j;
        }
    }
    m->slots[hole] = -1;
    m->n--;
}

void mvke_idmap_clear(mvke_idmap *m) {
    if (m->cap) memset(m->slots, 0xff, (size_t)m->cap * sizeof *m->slots);
    m->n = 0;
}
