/*
 * scan_avx2.c - the AVX2 + FMA + F16C kernels of the fused scan (scan.h).
 *
 * Design notes.
 * 1. A panel's 16 rows are two ymm registers (two halves of 8 lanes). The microkernel holds H
 *    halves x NR queries of numerators (H * NR <= 12 of the 16 registers, the rest for the
 *    loaded lines and a broadcast query value); the denominators reuse the same shape after the
 *    numerators are done (the compiler keeps or spills them; the numerator loop dominates).
 *    For one or two queries H = 4 (two panels) so that at least four multiply-add chains overlap.
 * 2. float16 lines are widened by vcvtph2ps as they are loaded, sq8 codes by vpmovzxbd and
 *    vcvtdq2ps (the query comes pre-scaled, its constant starts the numerator); pq adds one
 *    8-lane gather per half code line and query from the query's table of that sub-space (a few
 *    queries; the driver decodes tiles for more); bfloat16 pairs (two dimensions
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

/* Kernel kinds; CERT marks the certified variants (intervals, codecs only). */
enum { ST_F32, ST_F16, ST_BF16, ST_SQ8, ST_PQ, CERT = 16 };
enum { ST_F32C = ST_F32 | CERT, ST_SQ8C = ST_SQ8 | CERT, ST_PQC = ST_PQ | CERT };

/* Bound bytes of half a line (8 lanes) to upper bounds of their values in units (codec.h):
 * step(b & 15) * 2^((b >> 4) - 8), the step (pk->steps, already times 2^-8) from two 8-entry
 * permutes, the power of two built in the exponent. Byte 0 decodes to 2^-8 instead of 0 (a
 * larger bound is still a bound); byte 255 (no bound) sets its lanes in *inf. */
INL T2 __m256 bound8(const uint8_t *line, __m256 steps_lo, __m256 steps_hi, __m256 *inf) {
    const __m256i b = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)line));
    const __m256i j = _mm256_and_si256(b, _mm256_set1_epi32(15));
    const __m256 t0 = _mm256_permutevar8x32_ps(steps_lo, j), t1 = _mm256_permutevar8x32_ps(steps_hi, j);
    const __m256 f = _mm256_blendv_ps(t0, t1, _mm256_castsi256_ps(_mm256_slli_epi32(j, 28)));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_srli_epi32(b, 4), _mm256_set1_epi32(127)), 23);
    *inf = _mm256_or_ps(*inf, _mm256_castsi256_ps(_mm256_cmpeq_epi32(b, _mm256_set1_epi32(255))));
    return _mm256_mul_ps(f, _mm256_castsi256_ps(e));
}

/* H halves (H / 2 panels) from panel p, one query group (nr = NR). Half h is lanes
 * (h % 2) * 8.. of panel p + h / 2. */
INL T2 void halves(const mvke_scan_ctx *c, const int KIND, const int H, const int NR, int64_t p, const float *zg,
                   const float *gg, const float *floor, int64_t q0, int nv, mvke_scan_sink *sk) {
    const int ST = KIND & ~CERT, CT = KIND & CERT;
    const mvke_scan_view *v = c->v;
    /* Fixed-size arrays (not [H][NR]: a variable-length array lives in memory); once the
     * loops are unrolled the compiler keeps the used elements in registers. */
    __m256 num[4][6], den[4][6], tr[4];
#pragma GCC unroll 4
    for (int h = 0; h < H; h++) {
        tr[h] = _mm256_setzero_ps();
#pragma GCC unroll 8
        for (int r = 0; r < NR; r++) {
            num[h][r] = _mm256_broadcast_ss(c->pk->cst + q0 + r);
            den[h][r] = _mm256_setzero_ps();
        }
    }
    const int d = c->d, dp = c->dp, dz = c->dz;
    for (int a = 0; a < c->na; a++) {
        const float *zr = zg + (size_t)a * dz * NR;
        if (ST == ST_F32) {
            const float *xp = (const float *)v->planes[a] + (size_t)p * d * MVKE_LANES;
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
        } else if (ST == ST_SQ8) {
            const uint8_t *xp = (const uint8_t *)v->planes[a] + (size_t)p * d * MVKE_LANES;
            for (int j = 0; j < d; j++, zr += NR) {
                __m256 x[4];
#pragma GCC unroll 4
                for (int h = 0; h < H; h++)
                    x[h] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(
                        _mm_loadl_epi64((const __m128i *)(xp + ((size_t)(h / 2) * d + j) * MVKE_LANES + (h % 2) * HL))));
#pragma GCC unroll 8
                for (int r = 0; r < NR; r++) {
                    const __m256 z = _mm256_broadcast_ss(zr + r);
#pragma GCC unroll 4
                    for (int h = 0; h < H; h++) num[h][r] = _mm256_fmadd_ps(x[h], z, num[h][r]);
                }
            }
        } else if (ST == ST_PQ) {
            const int M = c->m;
            const uint8_t *xp = (const uint8_t *)v->planes[a] + (size_t)p * M * MVKE_LANES;
            for (int j = 0; j < M; j++) {
                __m256i idx[4];
#pragma GCC unroll 4
                for (int h = 0; h < H; h++)
                    idx[h] = _mm256_cvtepu8_epi32(
                        _mm_loadl_epi64((const __m128i *)(xp + ((size_t)(h / 2) * M + j) * MVKE_LANES + (h % 2) * HL)));
#pragma GCC unroll 8
                for (int r = 0; r < NR; r++) {
                    if (r >= nv) break;
                    const float *t = c->pk->lut + (size_t)(q0 + r) * c->pk->lstride + ((size_t)a * M + j) * 256;
#pragma GCC unroll 4
                    for (int h = 0; h < H; h++) num[h][r] = _mm256_add_ps(num[h][r], _mm256_i32gather_ps(t, idx[h], 4));
                }
            }
        } else if (ST == ST_F16) {
            const uint16_t *xp = (const uint16_t *)v->planes[a] + (size_t)p * d * MVKE_LANES;
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
            const uint16_t *xp = (const uint16_t *)v->planes[a] + (size_t)p * dp * 2 * MVKE_LANES;
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
    const float *gp = v->gram + (size_t)p * c->P * MVKE_LANES;
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
    /* The hits are offered after every score of the step is made: a call while the
     * accumulators are live would spill them all (every ymm register is caller-saved). */
    const __m256 one = _mm256_set1_ps(1.0f), mone = _mm256_set1_ps(-1.0f), zero = _mm256_setzero_ps();
    uint32_t hits[2][6];
    float sc[2][6][MVKE_LANES], up[CT ? 2 : 1][CT ? 6 : 1][MVKE_LANES];
    uint32_t any = 0; /* bit pp * 6 + r: hits[pp][r] holds lanes */
#pragma GCC unroll 2
    for (int pp = 0; pp < H / 2; pp++) {
        const uint32_t lanes = mvke_scan_lanes(v->n, p + pp);
        __m256 B[CT ? MVKE_SCAN_MAX_K : 1][2], inf[2] = {zero, zero};
        if (CT) {
            const __m256 s0 = _mm256_loadu_ps(c->pk->steps), s1 = _mm256_loadu_ps(c->pk->steps + 8);
            for (int a = 0; a < c->na; a++) {
                const uint8_t *line = v->bounds + ((size_t)(p + pp) * v->K + c->act[a]) * MVKE_LANES;
                B[a][0] = bound8(line, s0, s1, &inf[0]);
                B[a][1] = bound8(line + HL, s0, s1, &inf[1]);
            }
        }
#pragma GCC unroll 8
        for (int r = 0; r < NR; r++) {
            if (r >= nv) break;
            const int64_t q = q0 + r;
            const __m256 fl = _mm256_set1_ps(floor[r]), thr = _mm256_set1_ps(sk->thr[q - sk->q0]);
            __m256 s[2], hs[2];
            uint32_t hit = 0;
#pragma GCC unroll 2
            for (int hh = 0; hh < 2; hh++) {
                const int h = 2 * pp + hh;
                if (c->dot) {
                    /* The dot score is the numerator: no guard, no root, no clamp. */
                    const __m256 sv = num[h][r];
                    if (CT) {
                        const float *zn = c->pk->zn + q * c->na;
                        __m256 es = _mm256_set1_ps(c->pk->nslack[q]);
                        for (int a = 0; a < c->na; a++) es = _mm256_fmadd_ps(_mm256_set1_ps(zn[a]), B[a][hh], es);
                        const __m256 eps = _mm256_set1_ps(MVKE_CERT_EPS);
                        const __m256 asv = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), sv);
                        __m256 e = _mm256_add_ps(_mm256_fmadd_ps(asv, eps, es), eps);
                        e = _mm256_mul_ps(e, _mm256_set1_ps(1.0f + MVKE_CERT_EPS));
                        e = _mm256_blendv_ps(e, _mm256_set1_ps(INFINITY), inf[hh]);
                        s[hh] = _mm256_sub_ps(sv, e);
                        hs[hh] = _mm256_add_ps(sv, e);
                        hit |= (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(hs[hh], thr, _CMP_GE_OQ)) << (hh * HL);
                    } else {
                        s[hh] = sv;
                        hit |= (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(sv, thr, _CMP_GE_OQ)) << (hh * HL);
                    }
                    continue;
                }
                const __m256 d2 = den[h][r];
                const __m256 ok = _mm256_and_ps(_mm256_cmp_ps(d2, _mm256_mul_ps(fl, tr[h]), _CMP_GT_OQ),
                                                _mm256_cmp_ps(d2, zero, _CMP_GT_OQ));
                /* Lanes that fail the guard divide 0 by 1: no NaN, score 0. */
                const __m256 root = _mm256_blendv_ps(one, _mm256_sqrt_ps(_mm256_max_ps(d2, zero)), ok);
                if (CT) {
                    /* The interval of scan.h (MVKE_CERT_*), one division for the score and e (as
                     * scan_avx512.c); WIDE where the guard scores 0, infinite without a bound. */
                    const float *zn = c->pk->zn + q * c->na;
                    const __m256 inv = _mm256_and_ps(_mm256_div_ps(one, root), ok);
                    const __m256 sv = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(num[h][r], inv), mone), one);
                    __m256 es = _mm256_set1_ps(c->pk->nslack[q]);
                    for (int a = 0; a < c->na; a++) es = _mm256_fmadd_ps(_mm256_set1_ps(zn[a]), B[a][hh], es);
                    const __m256 dt = _mm256_mul_ps(_mm256_set1_ps(MVKE_CERT_DEN(c->P) * c->pk->trz[q]), tr[h]);
                    __m256 e = _mm256_mul_ps(_mm256_fmadd_ps(dt, inv, es), inv);
                    e = _mm256_mul_ps(_mm256_add_ps(e, _mm256_set1_ps(MVKE_CERT_EPS)), _mm256_set1_ps(1.0f + MVKE_CERT_EPS));
                    e = _mm256_blendv_ps(_mm256_set1_ps(MVKE_CERT_WIDE), e, ok);
                    e = _mm256_blendv_ps(e, _mm256_set1_ps(INFINITY), inf[hh]);
                    s[hh] = _mm256_sub_ps(sv, e);
                    hs[hh] = _mm256_add_ps(sv, e);
                    hit |= (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(hs[hh], thr, _CMP_GE_OQ)) << (hh * HL);
                } else {
                    __m256 sv = _mm256_div_ps(_mm256_and_ps(num[h][r], ok), root);
                    sv = _mm256_min_ps(_mm256_max_ps(sv, mone), one);
                    s[hh] = sv;
                    hit |= (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(sv, thr, _CMP_GE_OQ)) << (hh * HL);
                }
            }
            hit &= lanes;
            if (hit) {
                hits[pp][r] = hit;
                any |= 1u << (pp * 6 + r);
                _mm256_storeu_ps(sc[pp][r], s[0]);
                _mm256_storeu_ps(sc[pp][r] + HL, s[1]);
                if (CT) {
                    _mm256_storeu_ps(up[pp][r], hs[0]);
                    _mm256_storeu_ps(up[pp][r] + HL, hs[1]);
                }
            }
        }
    }
    for (; any; any &= any - 1) {
        const int b = __builtin_ctz(any), pp = b / 6, r = b % 6;
        if (CT) mvke_scan_offer_cert(sk, q0 + r, hits[pp][r], sc[pp][r], up[pp][r], v, p + pp);
        else mvke_scan_offer(sk, q0 + r, hits[pp][r], sc[pp][r], v, p + pp);
    }
}

INL T2 void tile(const int KIND, const int H, const int NR, const mvke_scan_shape *sh, const mvke_scan_pack *pk,
                 const mvke_scan_view *v, int64_t g0, int64_t g1, mvke_scan_sink *sk) {
    const int ST = KIND & ~CERT;
    mvke_scan_ctx c;
    mvke_scan_ctx_init(&c, sh, pk, v, ST == ST_F32 ? MVKE_STORAGE_F32 : ST == ST_F16 ? MVKE_STORAGE_F16
                                     : ST == ST_SQ8 ? MVKE_STORAGE_SQ8 : ST == ST_PQ ? MVKE_STORAGE_PQ : MVKE_STORAGE_BF16);
    const int MP = H / 2;
    for (int64_t g = g0; g < g1; g++) {
        const mvke_scan_group gr = mvke_scan_group_of(pk, g, NR);
        int64_t p = 0;
        for (; p + MP <= v->np; p += MP) {
            if (g == g0) mvke_scan_prefetch(sh, v, p, MP, c.line, c.ahead);
            halves(&c, KIND, H, NR, p, gr.z, gr.gram, gr.floor, gr.q0, gr.nv, sk);
        }
        for (; p < v->np; p++) halves(&c, KIND, 2, NR, p, gr.z, gr.gram, gr.floor, gr.q0, gr.nv, sk);
    }
}

#define H_OF(NR) ((NR) <= 2 ? 4 : 2)
#define INST(ST, NR)                                                                                       \
    static T2 void ST##_##NR(const mvke_scan_shape *sh, const mvke_scan_pack *pk, const mvke_scan_view *v,   \
                             int64_t g0, int64_t g1, mvke_scan_sink *sk) {                                \
        tile(ST, H_OF(NR), NR, sh, pk, v, g0, g1, sk);                                                     \
    }
#define INSTS(ST)                                                                                          \
    INST(ST, 1) INST(ST, 2) INST(ST, 3) INST(ST, 4) INST(ST, 5) INST(ST, 6)                                \
    MVKE_SCAN_ANY(ST##_any, 6, ST##_1, ST##_2, ST##_3, ST##_4, ST##_5, ST##_6)

INSTS(ST_F32)
INSTS(ST_F16)
INSTS(ST_BF16)
INSTS(ST_SQ8)

/* pq from tables: groups of at most MVKE_SCAN_PQ_TABLE_MAX_Q queries. */
INST(ST_PQ, 1) INST(ST_PQ, 2) INST(ST_PQ, 3) INST(ST_PQ, 4)
MVKE_SCAN_ANY(ST_PQ_any, MVKE_SCAN_PQ_TABLE_MAX_Q, ST_PQ_1, ST_PQ_2, ST_PQ_3, ST_PQ_4)

/* Certified: decoded pq tiles (float32 planes), sq8, pq from tables. */
INSTS(ST_F32C)
INSTS(ST_SQ8C)
INST(ST_PQC, 1) INST(ST_PQC, 2) INST(ST_PQC, 3) INST(ST_PQC, 4)
MVKE_SCAN_ANY(ST_PQC_any, MVKE_SCAN_PQ_TABLE_MAX_Q, ST_PQC_1, ST_PQC_2, ST_PQC_3, ST_PQC_4)

const mvke_scan_kernels mvke_scan_avx2 = {6, 0, {ST_F32_any, ST_F16_any, ST_BF16_any, ST_SQ8_any, ST_PQ_any},
                                          {ST_F32C_any, ST_SQ8C_any, ST_PQC_any}};

#endif
