/*
 * scan_avx2.c - the AVX2 + FMA + F16C kernels of the fused scan (scan.h).
 *
 * Design notes.
 * 1. A panel's 16 rows are two ymm registers (two halves of 8 lanes). The microkernel holds H
 *    halves x NR queries of numerators (H * NR <= 12 of the 16 registers, the rest for the
 *    loaded lines and a broadcast query value); the denominators reuse the same shape after the
 *    numerators are done (the compiler keeps or spills them; the numerator loop dominates).
 *    For one or two queries H = 4 (two panels) so that at least four multiply-add chains overlap.
 * 2. float16 lines are widened by vcvtph2ps as they are loaded; bfloat16 pairs (two dimensions
 *    of 8 rows in one 32-byte half line) are widened by shifts and multiplied in float32.
 * 3. The epilogue (guard, sqrt, divide, clamp, compare with the query's admission threshold) is
 *    vectorised; movemask gives the lanes for the scalar mvke_scan_offer.
 * Every function carries its target attribute, so the library still runs on CPUs without AVX2.
 */
#include "scan.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define T2 __attribute__((target("avx2,fma,f16c")))
#define INL static inline __attribute__((always_inline))
#define HL 8 /* lanes of a half panel */

enum { ST_F32, ST_F16, ST_BF16 };

typedef struct ctx {
    const char *planes[MVKE_SCAN_MAX_K];
    const float *gram;
    const int64_t *ids;
    int64_t n;
    int d, dp, dz, P, na, pa;
    const int *ent;
    const uint8_t *diag;
} ctx;

/* H halves (H / 2 panels) from panel p, one query group (nr = NR). Half h is lanes
 * (h % 2) * 8.. of panel p + h / 2. */
INL T2 void halves(const ctx *c, const int ST, const int H, const int NR, int64_t p, const float *zg,
                   const float *gg, const float *floor, int64_t q0, int nv, mvke_scan_sink *sk) {
    /* Fixed-size arrays (not [H][NR]: a variable-length array lives in memory); once the
     * loops are unrolled the compiler keeps the used elements in registers. */
    __m256 num[4][6], den[4][6], tr[4];
#pragma GCC unroll 4
    for (int h = 0; h < H; h++) {
        tr[h] = _mm256_setzero_ps();
#pragma GCC unroll 8
        for (int r = 0; r < NR; r++) num[h][r] = den[h][r] = _mm256_setzero_ps();
    }
    const int d = c->d, dp = c->dp, dz = c->dz;
    for (int a = 0; a < c->na; a++) {
        const float *zr = zg + (size_t)a * dz * NR;
        if (ST == ST_F32) {
            const float *xp = (const float *)c->planes[a] + (size_t)p * d * MVKE_LANES;
            for (int j = 0; j < d; j++, zr += NR) {
                __m256 x[4];
#pragma GCC unroll 4
                for (int h = 0; h < H; h++)
                    x[h] = _mm256_loadu_ps(xp + ((size_t)(h / 2) * d + j) * MVKE_LANES + (h % 2) * HL);
#pragma GCC unroll 8
                for (int r = 0; r < NR; r++) {
                    const __m256 z = _mm256_broadcast_ss(zr + r);
#pragma GCC unroll 4
                    for (int h = 0; h < H; h++) num[h][r] = _mm256_fmadd_ps(x[h], z, num[h][r]);
                }
            }
        } else if (ST == ST_F16) {
            const uint16_t *xp = (const uint16_t *)c->planes[a] + (size_t)p * d * MVKE_LANES;
            for (int j = 0; j < d; j++, zr += NR) {
                __m256 x[4];
#pragma GCC unroll 4
                for (int h = 0; h < H; h++)
                    x[h] = _mm256_cvtph_ps(_mm_loadu_si128(
                        (const __m128i *)(xp + ((size_t)(h / 2) * d + j) * MVKE_LANES + (h % 2) * HL)));
#pragma GCC unroll 8
                for (int r = 0; r < NR; r++) {
                    const __m256 z = _mm256_broadcast_ss(zr + r);
#pragma GCC unroll 4
                    for (int h = 0; h < H; h++) num[h][r] = _mm256_fmadd_ps(x[h], z, num[h][r]);
                }
            }
        } else {
            const uint16_t *xp = (const uint16_t *)c->planes[a] + (size_t)p * dp * 2 * MVKE_LANES;
            const __m256i himask = _mm256_set1_epi32((int)0xffff0000u);
            for (int jp = 0; jp < dp; jp++, zr += 2 * NR) {
                __m256 xe[4], xo[4];
#pragma GCC unroll 4
                for (int h = 0; h < H; h++) {
                    const __m256i v = _mm256_loadu_si256(
                        (const __m256i *)(xp + ((size_t)(h / 2) * dp + jp) * 2 * MVKE_LANES + (h % 2) * 2 * HL));
                    xe[h] = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
                    xo[h] = _mm256_castsi256_ps(_mm256_and_si256(v, himask));
                }
#pragma GCC unroll 8
                for (int r = 0; r < NR; r++) {
                    const __m256 z0 = _mm256_broadcast_ss(zr + r), z1 = _mm256_broadcast_ss(zr + NR + r);
#pragma GCC unroll 4
                    for (int h = 0; h < H; h++) {
                        num[h][r] = _mm256_fmadd_ps(xe[h], z0, num[h][r]);
                        num[h][r] = _mm256_fmadd_ps(xo[h], z1, num[h][r]);
                    }
                }
            }
        }
    }
    const float *gp = c->gram + (size_t)p * c->P * MVKE_LANES;
    for (int e = 0; e < c->pa; e++) {
        __m256 gl[4];
#pragma GCC unroll 4
        for (int h = 0; h < H; h++) {
            gl[h] = _mm256_loadu_ps(gp + ((size_t)(h / 2) * c->P + c->ent[e]) * MVKE_LANES + (h % 2) * HL);
            if (c->diag[e]) tr[h] = _mm256_add_ps(tr[h], gl[h]);
        }
#pragma GCC unroll 8
        for (int r = 0; r < NR; r++) {
            const __m256 z = _mm256_broadcast_ss(gg + (size_t)e * NR + r);
#pragma GCC unroll 4
            for (int h = 0; h < H; h++) den[h][r] = _mm256_fmadd_ps(gl[h], z, den[h][r]);
        }
    }
    const __m256 one = _mm256_set1_ps(1.0f), mone = _mm256_set1_ps(-1.0f), zero = _mm256_setzero_ps();
#pragma GCC unroll 2
    for (int pp = 0; pp < H / 2; pp++) {
        const uint32_t lanes = mvke_scan_lanes(c->n, p + pp);
#pragma GCC unroll 8
        for (int r = 0; r < NR; r++) {
            if (r >= nv) break;
            const int64_t q = q0 + r;
            const __m256 fl = _mm256_set1_ps(floor[r]), thr = _mm256_set1_ps(sk->thr[q - sk->q0]);
            __m256 s[2];
            uint32_t hit = 0;
#pragma GCC unroll 2
            for (int hh = 0; hh < 2; hh++) {
                const int h = 2 * pp + hh;
                const __m256 d2 = den[h][r];
                const __m256 ok = _mm256_and_ps(_mm256_cmp_ps(d2, _mm256_mul_ps(fl, tr[h]), _CMP_GT_OQ),
                                                _mm256_cmp_ps(d2, zero, _CMP_GT_OQ));
                /* Lanes that fail the guard divide 0 by 1: no NaN, score 0. */
                const __m256 root = _mm256_blendv_ps(one, _mm256_sqrt_ps(_mm256_max_ps(d2, zero)), ok);
                __m256 v = _mm256_div_ps(_mm256_and_ps(num[h][r], ok), root);
                v = _mm256_min_ps(_mm256_max_ps(v, mone), one);
                s[hh] = v;
                hit |= (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(v, thr, _CMP_GE_OQ)) << (hh * HL);
            }
            hit &= lanes;
            if (hit) {
                float sc[MVKE_LANES];
                _mm256_storeu_ps(sc, s[0]);
                _mm256_storeu_ps(sc + HL, s[1]);
                mvke_scan_offer(sk, q, hit, sc, c->ids + (p + pp) * MVKE_LANES);
            }
        }
    }
}

INL T2 void tile(const int ST, const int H, const int NR, const mvke_scan_shape *sh, const mvke_scan_pack *pk,
                 const mvke_scan_tile *t, int64_t g0, int64_t g1, mvke_scan_sink *sk) {
    const mvke_layout *L = &sh->L;
    const mvke_scan_block *b = t->b;
    ctx c;
    for (int a = 0; a < sh->na; a++) c.planes[a] = mvke_layout_plane(L, b->data, b->cap, sh->act[a]);
    c.gram = mvke_layout_gram(L, b->data, b->cap);
    c.ids = b->ids;
    c.n = b->n;
    c.d = L->d;
    c.dp = pk->dp;
    c.dz = pk->dz;
    c.P = L->P;
    c.na = sh->na;
    c.pa = sh->pa;
    c.ent = sh->ent;
    c.diag = sh->diag;
    const int MP = H / 2;
    for (int64_t g = g0; g < g1; g++) {
        const float *zg = pk->z + (size_t)g * pk->zstride, *gg = pk->gram + (size_t)g * pk->gstride;
        const int64_t q0 = g * NR;
        const int nv = (int)(pk->nq - q0 < NR ? pk->nq - q0 : NR);
        const float *floor = pk->floor + q0;
        int64_t p = t->p0;
        for (; p + MP <= t->p1; p += MP) halves(&c, ST, H, NR, p, zg, gg, floor, q0, nv, sk);
        for (; p < t->p1; p++) halves(&c, ST, 2, NR, p, zg, gg, floor, q0, nv, sk);
    }
}

#define H_OF(NR) ((NR) <= 2 ? 4 : 2)
#define INST(ST, NR)                                                                                       \
    static T2 void ST##_##NR(const mvke_scan_shape *sh, const mvke_scan_pack *pk, const mvke_scan_tile *t,   \
                             int64_t g0, int64_t g1, mvke_scan_sink *sk) {                                \
        tile(ST, H_OF(NR), NR, sh, pk, t, g0, g1, sk);                                                     \
    }
#define INSTS(ST)                                                                                          \
    INST(ST, 1) INST(ST, 2) INST(ST, 3) INST(ST, 4) INST(ST, 5) INST(ST, 6)                                \
    static void ST##_any(const mvke_scan_shape *sh, const mvke_scan_pack *pk, const mvke_scan_tile *t,     \
                         int64_t g0, int64_t g1, mvke_scan_sink *sk) {                                     \
        static void (*const by_nr[6])(const mvke_scan_shape *, const mvke_scan_pack *,                     \
                                      const mvke_scan_tile *, int64_t, int64_t, mvke_scan_sink *) = {      \
            ST##_1, ST##_2, ST##_3, ST##_4, ST##_5, ST##_6};                                               \
        by_nr[pk->nr - 1](sh, pk, t, g0, g1, sk);                                                         \
    }

INSTS(ST_F32)
INSTS(ST_F16)
INSTS(ST_BF16)

const mvke_scan_kernels mvke_scan_avx2 = {6, 0, {ST_F32_any, ST_F16_any, ST_BF16_any}};

#endif
