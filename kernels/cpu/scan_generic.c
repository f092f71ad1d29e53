/*
 * scan_generic.c - the portable C kernels of the fused scan (scan.h), always built.
 *
 * Design note: one panel (16 rows) times a group of up to NR queries per step; every stored
 * line of 16 values is widened once into a small array and multiplied against each query of
 * the group, so the panel is read once per group. The lane loops have a constant trip count of
 * 16 and no dependences between lanes, which compilers vectorise for the baseline instruction
 * set. Numerator and denominator of a pair are accumulated in the same order as in the SIMD
 * kernels (active experts ascending, dimensions ascending, then active Gram entries), without
 * fused multiply-adds. bfloat16 is widened (a shift), float16 through half.h.
 */
#include <math.h>
#include <string.h>

#include "../half.h"
#include "scan.h"

#define NR 8

/* Dimension j (of dz) of panel p of one expert plane, as 16 float32 lanes. */
static inline void load_line(mvke_storage st, const void *plane, int d, int dp, int64_t p, int j, float *x) {
    switch (st) {
    case MVKE_STORAGE_F32: memcpy(x, (const float *)plane + ((size_t)p * d + j) * MVKE_LANES, MVKE_LANES * sizeof *x); break;
    case MVKE_STORAGE_F16:
        mvke_half_to_float((const uint16_t *)plane + ((size_t)p * d + j) * MVKE_LANES, x, MVKE_LANES);
        break;
    case MVKE_STORAGE_BF16: {
        const uint16_t *v = (const uint16_t *)plane + ((size_t)p * dp + j / 2) * MVKE_LANES * 2 + j % 2;
        for (int g = 0; g < MVKE_LANES; g++) {
            uint32_t u = (uint32_t)v[2 * g] << 16;
            memcpy(&x[g], &u, sizeof u);
        }
        break;
    }
    default: /* codecs are scored from their codes (codec_scan.h), never here */
        memset(x, 0, MVKE_LANES * sizeof *x);
        break;
    }
}

static void scan_tile(mvke_storage st, const mvke_scan_shape *sh, const mvke_scan_pack *pk, const mvke_scan_tile *t,
                      int64_t g0, int64_t g1, mvke_scan_sink *sk) {
    const mvke_layout *L = &sh->L;
    const int d = L->d, P = L->P, dz = pk->dz, dp = pk->dp, nr = pk->nr, na = sh->na, pa = sh->pa;
    const mvke_scan_block *b = t->b;
    const void *planes[MVKE_SCAN_MAX_K];
    for (int a = 0; a < na; a++) planes[a] = mvke_layout_plane(L, b->data, b->cap, sh->act[a]);
    const float *gram = mvke_layout_gram(L, b->data, b->cap);
    float num[NR][MVKE_LANES], den[NR][MVKE_LANES], tr[MVKE_LANES], x[MVKE_LANES], sc[MVKE_LANES];
    for (int64_t g = g0; g < g1; g++) {
        const float *zg = pk->z + (size_t)g * pk->zstride, *gg = pk->gram + (size_t)g * pk->gstride;
        const int nv = (int)(pk->nq - g * nr < nr ? pk->nq - g * nr : nr);
        for (int64_t p = t->p0; p < t->p1; p++) {
            const uint32_t lanes = mvke_scan_lanes(b->n, p);
            memset(num, 0, sizeof num);
            memset(den, 0, sizeof den);
            memset(tr, 0, sizeof tr);
            for (int a = 0; a < na; a++)
                for (int j = 0; j < dz; j++) {
                    load_line(st, planes[a], d, dp, p, j, x);
                    const float *zr = zg + ((size_t)a * dz + j) * nr;
                    for (int r = 0; r < nr; r++)
                        for (int l = 0; l < MVKE_LANES; l++) num[r][l] += x[l] * zr[r];
                }
            for (int e = 0; e < pa; e++) {
                const float *gl = gram + ((size_t)p * P + sh->ent[e]) * MVKE_LANES;
                if (sh->diag[e])
                    for (int l = 0; l < MVKE_LANES; l++) tr[l] += gl[l];
                for (int r = 0; r < nr; r++)
                    for (int l = 0; l < MVKE_LANES; l++) den[r][l] += gl[l] * gg[(size_t)e * nr + r];
            }
            for (int r = 0; r < nv; r++) {
                const int64_t q = g * nr + r;
                const float fl = pk->floor[q], thr = sk->thr[q - sk->q0];
                uint32_t m = 0;
                for (int l = 0; l < MVKE_LANES; l++) {
                    const float d2 = den[r][l];
                    float v = d2 > fl * tr[l] && d2 > 0.0f ? num[r][l] / sqrtf(d2) : 0.0f;
                    v = v > 1.0f ? 1.0f : v < -1.0f ? -1.0f : v;
                    sc[l] = v;
                    m |= (uint32_t)(v >= thr) << l;
                }
                m &= lanes;
                if (m) mvke_scan_offer(sk, q, m, sc, b->ids + p * MVKE_LANES);
            }
        }
    }
}

static void scan_f32(const mvke_scan_shape *sh, const mvke_scan_pack *pk, const mvke_scan_tile *t, int64_t g0,
                     int64_t g1, mvke_scan_sink *sk) {
    scan_tile(MVKE_STORAGE_F32, sh, pk, t, g0, g1, sk);
}
static void scan_f16(const mvke_scan_shape *sh, const mvke_scan_pack *pk, const mvke_scan_tile *t, int64_t g0,
                     int64_t g1, mvke_scan_sink *sk) {
    scan_tile(MVKE_STORAGE_F16, sh, pk, t, g0, g1, sk);
}
static void scan_bf16(const mvke_scan_shape *sh, const mvke_scan_pack *pk, const mvke_scan_tile *t, int64_t g0,
                      int64_t g1, mvke_scan_sink *sk) {
    scan_tile(MVKE_STORAGE_BF16, sh, pk, t, g0, g1, sk);
}

const mvke_scan_kernels mvke_scan_generic = {NR, 0, {scan_f32, scan_f16, scan_bf16}};
