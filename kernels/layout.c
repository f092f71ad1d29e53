/*
 * layout.c - element addressing of the block layout described in layout.h. These functions are
 * the one place that knows where a value of a row lives; kernels read planes directly.
 */
#include "layout.h"

#include <string.h>

#include "gram.h"
#include "half.h"

static size_t align_up(size_t v) { return (v + MVKE_LAYOUT_ALIGN - 1) / MVKE_LAYOUT_ALIGN * MVKE_LAYOUT_ALIGN; }

int mvke_layout_init(mvke_layout *L, int K, int d, mvke_storage storage) {
    memset(L, 0, sizeof *L);
    L->K = K;
    L->d = d;
    L->P = mvke_gram_size(K);
    L->storage = storage;
    switch (storage) {
    case MVKE_STORAGE_F32:
        L->esize = 4;
        L->panel_values = d * MVKE_LANES;
        return 0;
    case MVKE_STORAGE_F16:
        L->esize = 2;
        L->panel_values = d * MVKE_LANES;
        return 0;
    case MVKE_STORAGE_BF16:
        L->esize = 2;
        L->panel_values = (d + 1) / 2 * 2 * MVKE_LANES;
        return 0;
    }
    return -1;
}

size_t mvke_layout_plane_bytes(const mvke_layout *L, int64_t cap) {
    return align_up((size_t)(cap / MVKE_LANES) * (size_t)L->panel_values * (size_t)L->esize);
}

size_t mvke_layout_gram_bytes(const mvke_layout *L, int64_t cap) {
    return align_up((size_t)(cap / MVKE_LANES) * (size_t)L->P * MVKE_LANES * sizeof(float));
}

size_t mvke_layout_block_bytes(const mvke_layout *L, int64_t cap) {
    return (size_t)L->K * mvke_layout_plane_bytes(L, cap) + mvke_layout_gram_bytes(L, cap);
}

/* Element index of value j of row r inside one expert plane. */
static size_t value_at(const mvke_layout *L, int64_t r, int j) {
    const size_t p = (size_t)(r / MVKE_LANES), g = (size_t)(r % MVKE_LANES);
    if (L->storage == MVKE_STORAGE_BF16) {
        const size_t dp = (size_t)(L->d + 1) / 2;
        return ((p * dp + (size_t)j / 2) * MVKE_LANES + g) * 2 + (size_t)j % 2;
    }
    return (p * (size_t)L->d + (size_t)j) * MVKE_LANES + g;
}

static size_t gram_at(const mvke_layout *L, int64_t r, int e) {
    return ((size_t)(r / MVKE_LANES) * (size_t)L->P + (size_t)e) * MVKE_LANES + (size_t)(r % MVKE_LANES);
}

static unsigned char *plane_rw(const mvke_layout *L, void *block, int64_t cap, int k) {
    return (unsigned char *)block + (size_t)k * mvke_layout_plane_bytes(L, cap);
}

void mvke_layout_put(const mvke_layout *L, void *block, int64_t cap, int64_t r, const float *row,
                     const float *gram) {
    for (int k = 0; k < L->K; k++) {
        unsigned char *pl = plane_rw(L, block, cap, k);
        const float *v = row + (size_t)k * L->d;
        for (int j = 0; j < L->d; j++) {
            const size_t at = value_at(L, r, j);
            switch (L->storage) {
            case MVKE_STORAGE_F32: ((float *)pl)[at] = v[j]; break;
            case MVKE_STORAGE_F16: ((uint16_t *)pl)[at] = mvke_half_from_float1(v[j]); break;
            case MVKE_STORAGE_BF16: ((uint16_t *)pl)[at] = mvke_bf16_from_float1(v[j]); break;
            }
        }
    }
    float *gp = (float *)mvke_layout_gram(L, block, cap);
    for (int e = 0; e < L->P; e++) gp[gram_at(L, r, e)] = gram[e];
}

void mvke_layout_get(const mvke_layout *L, const void *block, int64_t cap, int64_t r, float *row,
                     float *gram) {
    for (int k = 0; row && k < L->K; k++) {
        const unsigned char *pl = mvke_layout_plane(L, block, cap, k);
        float *v = row + (size_t)k * L->d;
        for (int j = 0; j < L->d; j++) {
            const size_t at = value_at(L, r, j);
            switch (L->storage) {
            case MVKE_STORAGE_F32: v[j] = ((const float *)pl)[at]; break;
            case MVKE_STORAGE_F16: v[j] = mvke_half_to_float1(((const uint16_t *)pl)[at]); break;
            case MVKE_STORAGE_BF16: v[j] = mvke_bf16_to_float1(((const uint16_t *)pl)[at]); break;
            }
        }
    }
    const float *gp = mvke_layout_gram(L, block, cap);
    for (int e = 0; gram && e < L->P; e++) gram[e] = gp[gram_at(L, r, e)];
}

void mvke_layout_copy(const mvke_layout *L, void *dst, int64_t cdst, int64_t rd, const void *src,
                      int64_t cs, int64_t rs) {
    const size_t es = (size_t)L->esize;
    for (int k = 0; k < L->K; k++) {
        unsigned char *dp = plane_rw(L, dst, cdst, k);
        const unsigned char *sp = mvke_layout_plane(L, src, cs, k);
        for (int j = 0; j < L->d; j++) memcpy(dp + value_at(L, rd, j) * es, sp + value_at(L, rs, j) * es, es);
    }
    float *dg = (float *)mvke_layout_gram(L, dst, cdst);
    const float *sg = mvke_layout_gram(L, src, cs);
    for (int e = 0; e < L->P; e++) dg[gram_at(L, rd, e)] = sg[gram_at(L, rs, e)];
}

void mvke_layout_clear(const mvke_layout *L, void *block, int64_t cap, int64_t r) {
    const size_t es = (size_t)L->esize;
    for (int k = 0; k < L->K; k++) {
        unsigned char *pl = plane_rw(L, block, cap, k);
        for (int j = 0; j < L->d; j++) memset(pl + value_at(L, r, j) * es, 0, es);
    }
    float *gp = (float *)mvke_layout_gram(L, block, cap);
    for (int e = 0; e < L->P; e++) gp[gram_at(L, r, e)] = 0.0f;
}

void mvke_layout_copy_rows(const mvke_layout *L, void *dst, int64_t cdst, const void *src, int64_t cs,
                           int64_t n) {
    /* Panels are whole units of every part, so a prefix of panels is a prefix of each part. */
    const int64_t panels = mvke_layout_round(n) / MVKE_LANES;
    const size_t pv = (size_t)L->panel_values * (size_t)L->esize;
    for (int k = 0; k < L->K; k++)
        memcpy(plane_rw(L, dst, cdst, k), mvke_layout_plane(L, src, cs, k), (size_t)panels * pv);
    memcpy((void *)mvke_layout_gram(L, dst, cdst), mvke_layout_gram(L, src, cs),
           (size_t)panels * (size_t)L->P * MVKE_LANES * sizeof(float));
}
