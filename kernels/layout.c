/*
 * layout.c - element addressing of the block layout described in layout.h. These functions are
 * the one place that knows where a value of a row lives; kernels read planes directly.
 */
#include "layout.h"

#include <string.h>

#include "codec.h"
#include "gram.h"
#include "half.h"

static size_t align_up(size_t v) { return (v + MVKE_LAYOUT_ALIGN - 1) / MVKE_LAYOUT_ALIGN * MVKE_LAYOUT_ALIGN; }

int mvke_layout_init(mvke_layout *L, int K, int d, mvke_storage storage) {
    memset(L, 0, sizeof *L);
    L->K = K;
    L->d = d;
    L->P = mvke_gram_size(K);
    L->G = L->P;
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
    case MVKE_STORAGE_SQ8:
    case MVKE_STORAGE_PQ:
        L->esize = 1;
        L->m = storage == MVKE_STORAGE_SQ8 ? d : mvke_pq_default_m(d);
        L->panel_values = L->m * MVKE_LANES;
        return 0;
    }
    return -1;
}

void mvke_layout_set_codec(mvke_layout *L, const mvke_codec *codec, int refine) {
    L->codec = codec;
    L->m = codec->m;
    L->panel_values = L->m * MVKE_LANES;
    L->refine = refine != 0;
}

void mvke_layout_set_score(mvke_layout *L, mvke_score score) {
    L->score = score;
    L->G = score == MVKE_SCORE_DOT ? 0 : L->P;
}

static size_t bound_bytes(const mvke_layout *L, int64_t cap) {
    return L->esize == 1 ? align_up((size_t)cap * (size_t)L->K) : 0;
}

static size_t bound_at(const mvke_layout *L, int64_t cap) {
    return (size_t)L->K * mvke_layout_plane_bytes(L, cap) + mvke_layout_gram_bytes(L, cap);
}

const uint8_t *mvke_layout_bounds(const mvke_layout *L, const void *block, int64_t cap) {
    return L->esize == 1 ? (const uint8_t *)block + bound_at(L, cap) : NULL;
}

static uint8_t *bounds_rw(const mvke_layout *L, void *block, int64_t cap) {
    return (uint8_t *)mvke_layout_bounds(L, block, cap);
}

/* Byte of the bound of expert k of row r inside the bound plane. */
static size_t bound_of(const mvke_layout *L, int64_t r, int k) {
    return ((size_t)(r / MVKE_LANES) * (size_t)L->K + (size_t)k) * MVKE_LANES + (size_t)(r % MVKE_LANES);
}

size_t mvke_layout_plane_bytes(const mvke_layout *L, int64_t cap) {
    return align_up((size_t)(cap / MVKE_LANES) * (size_t)L->panel_values * (size_t)L->esize);
}

size_t mvke_layout_gram_bytes(const mvke_layout *L, int64_t cap) {
    return align_up((size_t)(cap / MVKE_LANES) * (size_t)L->G * MVKE_LANES * sizeof(float));
}

size_t mvke_layout_block_bytes(const mvke_layout *L, int64_t cap) {
    return (size_t)L->K * mvke_layout_plane_bytes(L, cap) + mvke_layout_gram_bytes(L, cap) + bound_bytes(L, cap);
}

/* Element index of value j of row r inside one expert plane. */
static size_t value_at(const mvke_layout *L, int64_t r, int j) {
    const size_t p = (size_t)(r / MVKE_LANES), g = (size_t)(r % MVKE_LANES);
    if (L->storage == MVKE_STORAGE_BF16) {
        const size_t dp = (size_t)(L->d + 1) / 2;
        return ((p * dp + (size_t)j / 2) * MVKE_LANES + g) * 2 + (size_t)j % 2;
    }
    if (L->esize == 1) return (p * (size_t)L->m + (size_t)j) * MVKE_LANES + g;
    return (p * (size_t)L->d + (size_t)j) * MVKE_LANES + g;
}

static size_t gram_at(const mvke_layout *L, int64_t r, int e) {
    return ((size_t)(r / MVKE_LANES) * (size_t)L->G + (size_t)e) * MVKE_LANES + (size_t)(r % MVKE_LANES);
}

static unsigned char *plane_rw(const mvke_layout *L, void *block, int64_t cap, int k) {
    return (unsigned char *)block + (size_t)k * mvke_layout_plane_bytes(L, cap);
}

/* Codes per expert stored in a plane: d values, or the codec's m codes. */
static int plane_codes(const mvke_layout *L) { return L->esize == 1 ? L->m : L->d; }

void mvke_layout_put(const mvke_layout *L, void *block, int64_t cap, int64_t r, const float *row,
                     const float *gram) {
    if (L->esize == 1) {
        const mvke_codec *c = L->codec;
        for (int k = 0; k < L->K; k++) {
            uint8_t *pl = plane_rw(L, block, cap, k);
            const float *v = row + (size_t)k * L->d;
            for (int j = 0; j < L->m; j++)
                pl[value_at(L, r, j)] = L->storage == MVKE_STORAGE_SQ8 ? mvke_sq8_encode1(c, k * L->d + j, v[j])
                                                                       : mvke_pq_encode1(c, k, j, v + c->off[j]);
        }
        uint8_t b[MVKE_MAX_K], *bp = bounds_rw(L, block, cap);
        mvke_codec_bounds(c, row, b);
        for (int k = 0; k < L->K; k++) bp[bound_of(L, r, k)] = b[k];
    }
    for (int k = 0; L->esize > 1 && k < L->K; k++) {
        unsigned char *pl = plane_rw(L, block, cap, k);
        const float *v = row + (size_t)k * L->d;
        for (int j = 0; j < L->d; j++) {
            const size_t at = value_at(L, r, j);
            switch (L->storage) {
            case MVKE_STORAGE_F32: ((float *)pl)[at] = v[j]; break;
            case MVKE_STORAGE_F16: ((uint16_t *)pl)[at] = mvke_half_from_float1(v[j]); break;
            case MVKE_STORAGE_BF16: ((uint16_t *)pl)[at] = mvke_bf16_from_float1(v[j]); break;
            default: break;
            }
        }
    }
    float *gp = (float *)mvke_layout_gram(L, block, cap);
    for (int e = 0; e < L->G; e++) gp[gram_at(L, r, e)] = gram[e];
}

void mvke_layout_get(const mvke_layout *L, const void *block, int64_t cap, int64_t r, float *row,
                     float *gram) {
    if (L->esize == 1 && row) {
        const mvke_codec *c = L->codec;
        for (int k = 0; k < L->K; k++) {
            const uint8_t *pl = mvke_layout_plane(L, block, cap, k);
            float *v = row + (size_t)k * L->d;
            for (int j = 0; j < L->m; j++) {
                const uint8_t code = pl[value_at(L, r, j)];
                if (L->storage == MVKE_STORAGE_SQ8)
                    v[j] = mvke_sq8_decode1(c, k * L->d + j, code);
                else
                    mvke_pq_decode1(c, k, j, code, v + c->off[j]);
            }
        }
    }
    for (int k = 0; row && L->esize > 1 && k < L->K; k++) {
        const unsigned char *pl = mvke_layout_plane(L, block, cap, k);
        float *v = row + (size_t)k * L->d;
        for (int j = 0; j < L->d; j++) {
            const size_t at = value_at(L, r, j);
            switch (L->storage) {
            case MVKE_STORAGE_F32: v[j] = ((const float *)pl)[at]; break;
            case MVKE_STORAGE_F16: v[j] = mvke_half_to_float1(((const uint16_t *)pl)[at]); break;
            case MVKE_STORAGE_BF16: v[j] = mvke_bf16_to_float1(((const uint16_t *)pl)[at]); break;
            default: break;
            }
        }
    }
    const float *gp = mvke_layout_gram(L, block, cap);
    for (int e = 0; gram && e < L->P; e++) gram[e] = e < L->G ? gp[gram_at(L, r, e)] : 0.0f;
}

void mvke_layout_copy(const mvke_layout *L, void *dst, int64_t cdst, int64_t rd, const void *src,
                      int64_t cs, int64_t rs) {
    const size_t es = (size_t)L->esize;
    for (int k = 0; k < L->K; k++) {
        unsigned char *dp = plane_rw(L, dst, cdst, k);
        const unsigned char *sp = mvke_layout_plane(L, src, cs, k);
        for (int j = 0; j < plane_codes(L); j++) memcpy(dp + value_at(L, rd, j) * es, sp + value_at(L, rs, j) * es, es);
    }
    float *dg = (float *)mvke_layout_gram(L, dst, cdst);
    const float *sg = mvke_layout_gram(L, src, cs);
    for (int e = 0; e < L->G; e++) dg[gram_at(L, rd, e)] = sg[gram_at(L, rs, e)];
    if (L->esize == 1)
        for (int k = 0; k < L->K; k++)
            bounds_rw(L, dst, cdst)[bound_of(L, rd, k)] = mvke_layout_bounds(L, src, cs)[bound_of(L, rs, k)];
}

void mvke_layout_clear(const mvke_layout *L, void *block, int64_t cap, int64_t r) {
    const size_t es = (size_t)L->esize;
    for (int k = 0; k < L->K; k++) {
        unsigned char *pl = plane_rw(L, block, cap, k);
        for (int j = 0; j < plane_codes(L); j++) memset(pl + value_at(L, r, j) * es, 0, es);
    }
    float *gp = (float *)mvke_layout_gram(L, block, cap);
    for (int e = 0; e < L->G; e++) gp[gram_at(L, r, e)] = 0.0f;
    if (L->esize == 1)
        for (int k = 0; k < L->K; k++) bounds_rw(L, block, cap)[bound_of(L, r, k)] = 0;
}

void mvke_layout_copy_rows(const mvke_layout *L, void *dst, int64_t cdst, const void *src, int64_t cs,
                           int64_t n) {
    /* Panels are whole units of every part, so a prefix of panels is a prefix of each part. */
    const int64_t panels = mvke_layout_round(n) / MVKE_LANES;
    const size_t pv = (size_t)L->panel_values * (size_t)L->esize;
    for (int k = 0; k < L->K; k++)
        memcpy(plane_rw(L, dst, cdst, k), mvke_layout_plane(L, src, cs, k), (size_t)panels * pv);
    memcpy((void *)mvke_layout_gram(L, dst, cdst), mvke_layout_gram(L, src, cs),
           (size_t)panels * (size_t)L->G * MVKE_LANES * sizeof(float));
    if (L->esize == 1)
        memcpy(bounds_rw(L, dst, cdst), mvke_layout_bounds(L, src, cs), (size_t)panels * (size_t)L->K * MVKE_LANES);
}
