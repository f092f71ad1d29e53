/*
 * scan_avx512.c - the AVX-512 kernels of the fused scan (scan.h).
 *
 * Design notes.
 * 1. A panel's 16 rows are the 16 lanes of one zmm register, so one stored line (one dimension
 *    of 16 rows: 64 bytes in float32) is one load. The microkernel holds MP panels x NR queries
 *    of numerators and the same of denominators in registers: for each active dimension it
 *    loads MP lines and issues MP * NR multiply-adds with the query values broadcast from the
 *    packed groups; then the active Gram lines do the same for the denominators. MP * NR is at
 *    least 4 so that the multiply-add chains overlap even for one query (tag -> users, bound by
 *    memory), and 2 x 12 for many queries (user -> tags, bound by the multiply-add ports).
 * 2. float16 lines are widened by vcvtph2ps as they are loaded, sq8 codes by vpmovzxbd and
 *    vcvtdq2ps (the query comes pre-scaled, its constant starts the numerator). pq adds one
 *    16-lane gather per code line and query from the query's 256-entry table of that
 *    sub-space (a few queries; the driver decodes tiles for more). bfloat16 pairs (two dimensions
 *    of 16 rows, one 64-byte line) go to vdpbf16ps against the query split into a high and a low
 *    bfloat16 part, with float32 accumulation (mvke_scan_avx512_bf16dot); by default the pairs
 *    are widened by shifts and multiplied in float32 against the exact query
 *    (mvke_scan_avx512): measured 2.3x faster at 256 queries and 1.25x at one query on this
 *    machine, and exact, since vdpbf16ps needs two instructions (high and low query part) per
 *    pair of dimensions where widening needs two multiply-adds.
 * 3. The epilogue is vectorised: guard, sqrt and divide (both correctly rounded, as the portable
 *    path's sqrtf and '/'), clamp, and a compare with each query's admission threshold give a
 *    16-bit mask; only a nonzero mask goes to the scalar mvke_scan_offer.
 * Every function carries its target attribute, so the file builds into a library that still runs
 * (without calling these) on CPUs without AVX-512.
 */
#include "scan.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma,f16c")))
#define INL static inline __attribute__((always_inline))

/* Kernel kinds; CERT marks the certified variants (intervals, codecs only). */
enum { ST_F32, ST_F16, ST_BF16_WIDEN, ST_BF16_DOT, ST_SQ8, ST_PQ, CERT = 16 };
enum { ST_F32C = ST_F32 | CERT, ST_SQ8C = ST_SQ8 | CERT, ST_PQC = ST_PQ | CERT };

/* Bound bytes of one line (16 lanes) to upper bounds of their values in units (codec.h):
 * step(b & 15) * 2^((b >> 4) - 8) from a 16-entry permute of the steps (pk->steps, already
 * times 2^-8) and vscalefps. Byte 0 decodes to 2^-8 instead of 0 (a larger bound is still a
 * bound, and it saves two masks a line); byte 255 (no bound) is set in *inf. */
INL T512 __m512 bound16(const uint8_t *line, __m512 steps, __mmask16 *inf) {
    const __m128i raw = _mm_loadu_si128((const __m128i *)line);
    *inf |= _mm_cmpeq_epi8_mask(raw, _mm_set1_epi8((char)0xff));
    const __m512i b = _mm512_cvtepu8_epi32(raw);
    const __m512 f = _mm512_permutexvar_ps(_mm512_and_si512(b, _mm512_set1_epi32(15)), steps);
    return _mm512_scalef_ps(f, _mm512_cvtepi32_ps(_mm512_srli_epi32(b, 4)));
}

/* MP panels from p, one query group (nr = NR). */
INL T512 void panels(const mvke_scan_ctx *c, const int KIND, const int MP, const int NR, int64_t p, const float *zg,
                     const uint32_t *zbg, const float *gg, const float *floor, int64_t q0, int nv,
                     mvke_scan_sink *sk) {
    const int ST = KIND & ~CERT, CT = KIND & CERT;
    const mvke_scan_view *v = c->v;
    /* Fixed-size arrays (not [MP][NR]: that would be a variable-length array in memory); once
     * the loops are unrolled the compiler keeps the used elements in registers. */
    __m512 num[4][12], den[4][12], tr[4];
#pragma GCC unroll 4
    for (int m = 0; m < MP; m++) {
        tr[m] = _mm512_setzero_ps();
#pragma GCC unroll 16
        for (int r = 0; r < NR; r++) {
            num[m][r] = _mm512_set1_ps(c->pk->cst[q0 + r]);
            den[m][r] = _mm512_setzero_ps();
        }
    }
    const int d = c->d, dp = c->dp, dz = c->dz;
    for (int a = 0; a < c->na; a++) {
        if (ST == ST_F32) {
            const float *xp = (const float *)v->planes[a] + (size_t)p * d * MVKE_LANES;
            const float *zr = zg + (size_t)a * dz * NR;
            for (int j = 0; j < d; j++, zr += NR) {
                __m512 x[4];
#pragma GCC unroll 4
                for (int m = 0; m < MP; m++) x[m] = _mm512_loadu_ps(xp + ((size_t)m * d + j) * MVKE_LANES);
#pragma GCC unroll 16
                for (int r = 0; r < NR; r++) {
                    const __m512 z = _mm512_set1_ps(zr[r]);
#pragma GCC unroll 4
                    for (int m = 0; m < MP; m++) num[m][r] = _mm512_fmadd_ps(x[m], z, num[m][r]);
                }
            }
        } else if (ST == ST_SQ8) {
            const uint8_t *xp = (const uint8_t *)v->planes[a] + (size_t)p * d * MVKE_LANES;
            const float *zr = zg + (size_t)a * dz * NR;
            for (int j = 0; j < d; j++, zr += NR) {
                __m512 x[4];
#pragma GCC unroll 4
                for (int m = 0; m < MP; m++)
                    x[m] = _mm512_cvtepi32_ps(
                        _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(xp + ((size_t)m * d + j) * MVKE_LANES))));
#pragma GCC unroll 16
                for (int r = 0; r < NR; r++) {
                    const __m512 z = _mm512_set1_ps(zr[r]);
#pragma GCC unroll 4
                    for (int m = 0; m < MP; m++) num[m][r] = _mm512_fmadd_ps(x[m], z, num[m][r]);
                }
            }
        } else if (ST == ST_PQ) {
            const int M = c->m;
            const uint8_t *xp = (const uint8_t *)v->planes[a] + (size_t)p * M * MVKE_LANES;
            for (int j = 0; j < M; j++) {
                __m512i idx[4];
#pragma GCC unroll 4
                for (int m = 0; m < MP; m++)
                    idx[m] = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(xp + ((size_t)m * M + j) * MVKE_LANES)));
#pragma GCC unroll 16
                for (int r = 0; r < NR; r++) {
                    if (r >= nv) break;
                    const float *t = c->pk->lut + (size_t)(q0 + r) * c->pk->lstride + ((size_t)a * M + j) * 256;
#pragma GCC unroll 4
                    for (int m = 0; m < MP; m++) num[m][r] = _mm512_add_ps(num[m][r], _mm512_i32gather_ps(idx[m], t, 4));
                }
            }
        } else if (ST == ST_F16) {
            const uint16_t *xp = (const uint16_t *)v->planes[a] + (size_t)p * d * MVKE_LANES;
            const float *zr = zg + (size_t)a * dz * NR;
            for (int j = 0; j < d; j++, zr += NR) {
                __m512 x[4];
#pragma GCC unroll 4
                for (int m = 0; m < MP; m++)
                    x[m] = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(xp + ((size_t)m * d + j) * MVKE_LANES)));
#pragma GCC unroll 16
                for (int r = 0; r < NR; r++) {
                    const __m512 z = _mm512_set1_ps(zr[r]);
#pragma GCC unroll 4
                    for (int m = 0; m < MP; m++) num[m][r] = _mm512_fmadd_ps(x[m], z, num[m][r]);
                }
            }
        } else if (ST == ST_BF16_WIDEN) {
            const uint16_t *xp = (const uint16_t *)v->planes[a] + (size_t)p * dp * 2 * MVKE_LANES;
            const float *zr = zg + (size_t)a * dz * NR;
            const __m512i himask = _mm512_set1_epi32((int)0xffff0000u);
            for (int jp = 0; jp < dp; jp++, zr += 2 * NR) {
                __m512 xe[4], xo[4];
#pragma GCC unroll 4
                for (int m = 0; m < MP; m++) {
                    const __m512i v = _mm512_loadu_si512(xp + ((size_t)m * dp + jp) * 2 * MVKE_LANES);
                    xe[m] = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
                    xo[m] = _mm512_castsi512_ps(_mm512_and_si512(v, himask));
                }
#pragma GCC unroll 16
                for (int r = 0; r < NR; r++) {
                    const __m512 z0 = _mm512_set1_ps(zr[r]), z1 = _mm512_set1_ps(zr[NR + r]);
#pragma GCC unroll 4
                    for (int m = 0; m < MP; m++) {
                        num[m][r] = _mm512_fmadd_ps(xe[m], z0, num[m][r]);
                        num[m][r] = _mm512_fmadd_ps(xo[m], z1, num[m][r]);
                    }
                }
            }
        } else {
            const uint16_t *xp = (const uint16_t *)v->planes[a] + (size_t)p * dp * 2 * MVKE_LANES;
            const uint32_t *zr = zbg + (size_t)a * dp * 2 * NR;
            for (int jp = 0; jp < dp; jp++, zr += 2 * NR) {
                __m512bh x[4];
#pragma GCC unroll 4
                for (int m = 0; m < MP; m++)
                    x[m] = (__m512bh)_mm512_loadu_si512(xp + ((size_t)m * dp + jp) * 2 * MVKE_LANES);
#pragma GCC unroll 16
                for (int r = 0; r < NR; r++) {
                    const __m512bh hi = (__m512bh)_mm512_set1_epi32((int)zr[r]);
                    const __m512bh lo = (__m512bh)_mm512_set1_epi32((int)zr[NR + r]);
#pragma GCC unroll 4
                    for (int m = 0; m < MP; m++) {
                        num[m][r] = _mm512_dpbf16_ps(num[m][r], x[m], hi);
                        num[m][r] = _mm512_dpbf16_ps(num[m][r], x[m], lo);
                    }
                }
            }
        }
    }
    const float *gp = v->gram + (size_t)p * c->P * MVKE_LANES;
    for (int e = 0; e < c->pa; e++) {
        __m512 gl[4];
#pragma GCC unroll 4
        for (int m = 0; m < MP; m++) {
            gl[m] = _mm512_loadu_ps(gp + ((size_t)m * c->P + c->ent[e]) * MVKE_LANES);
            if (c->diag[e]) tr[m] = _mm512_add_ps(tr[m], gl[m]);
        }
#pragma GCC unroll 16
        for (int r = 0; r < NR; r++) {
            const __m512 z = _mm512_set1_ps(gg[(size_t)e * NR + r]);
#pragma GCC unroll 4
            for (int m = 0; m < MP; m++) den[m][r] = _mm512_fmadd_ps(gl[m], z, den[m][r]);
        }
    }
    /* The hits are offered after every score of the step is made: a call while the
     * accumulators are live would spill them all (every zmm register is caller-saved). */
    const __m512 one = _mm512_set1_ps(1.0f), mone = _mm512_set1_ps(-1.0f), zero = _mm512_setzero_ps();
    __mmask16 hits[4][12];
    float sc[4][12][MVKE_LANES], up[CT ? 4 : 1][CT ? 12 : 1][MVKE_LANES];
    uint64_t any = 0; /* bit m * 12 + r: hits[m][r] holds lanes */
#pragma GCC unroll 4
    for (int m = 0; m < MP; m++) {
        const __mmask16 lanes = (__mmask16)mvke_scan_lanes(v->n, p + m);
        __m512 B[CT ? MVKE_SCAN_MAX_K : 1];
        __mmask16 inf = 0;
        if (CT) {
            const __m512 steps = _mm512_loadu_ps(c->pk->steps);
            for (int a = 0; a < c->na; a++)
                B[a] = bound16(v->bounds + ((size_t)(p + m) * v->K + c->act[a]) * MVKE_LANES, steps, &inf);
        }
#pragma GCC unroll 16
        for (int r = 0; r < NR; r++) {
            if (r >= nv) break;
            if (c->dot) {
                /* The dot score is the numerator: no guard, no root, no clamp; the interval as
                 * scan.h's MVKE_CERT_DOT_E. */
                const int64_t q = q0 + r;
                const __m512 sv = num[m][r], thr = _mm512_set1_ps(sk->thr[q - sk->q0]);
                __m512 lo = sv, hi = sv;
                if (CT) {
                    const float *zn = c->pk->zn + q * c->na;
                    __m512 es = _mm512_set1_ps(c->pk->nslack[q]);
                    for (int a = 0; a < c->na; a++) es = _mm512_fmadd_ps(_mm512_set1_ps(zn[a]), B[a], es);
                    const __m512 eps = _mm512_set1_ps(MVKE_CERT_EPS);
                    __m512 e = _mm512_add_ps(_mm512_fmadd_ps(_mm512_abs_ps(sv), eps, es), eps);
                    e = _mm512_mul_ps(e, _mm512_set1_ps(1.0f + MVKE_CERT_EPS));
                    e = _mm512_mask_mov_ps(e, inf, _mm512_set1_ps(INFINITY));
                    lo = _mm512_sub_ps(sv, e);
                    hi = _mm512_add_ps(sv, e);
                }
                const __mmask16 hit = _mm512_cmp_ps_mask(hi, thr, _CMP_GE_OQ) & lanes;
                if (hit) {
                    hits[m][r] = hit;
                    any |= 1ull << (m * 12 + r);
                    _mm512_storeu_ps(sc[m][r], lo);
                    if (CT) _mm512_storeu_ps(up[m][r], hi);
                }
                continue;
            }
            const __m512 d2 = den[m][r];
            const __m512 fltr = _mm512_mul_ps(_mm512_set1_ps(floor[r]), tr[m]);
            const __mmask16 ok = _mm512_cmp_ps_mask(d2, fltr, _CMP_GT_OQ) & _mm512_cmp_ps_mask(d2, zero, _CMP_GT_OQ);
            const __m512 root = _mm512_maskz_sqrt_ps(ok, d2);
            const __m512 thr = _mm512_set1_ps(sk->thr[q0 + r - sk->q0]);
            if (CT) {
                /* The interval of scan.h (MVKE_CERT_*): e from the bounds, the numerator's and the
                 * denominator's rounding; WIDE where the guard scores 0, infinite without a bound.
                 * One division (inv = 1/root) serves the score and both terms of e: the few more
                 * roundings than s = num / root are within MVKE_CERT_EPS (docs/codecs.md). */
                const int64_t q = q0 + r;
                const float *zn = c->pk->zn + q * c->na;
                const __m512 inv = _mm512_maskz_div_ps(ok, one, root);
                const __m512 s = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(num[m][r], inv), mone), one);
                const __m512 dt = _mm512_mul_ps(_mm512_set1_ps(MVKE_CERT_DEN(c->P) * c->pk->trz[q]), tr[m]);
                __m512 es = _mm512_set1_ps(c->pk->nslack[q]);
                for (int a = 0; a < c->na; a++) es = _mm512_fmadd_ps(_mm512_set1_ps(zn[a]), B[a], es);
                __m512 e = _mm512_mul_ps(_mm512_fmadd_ps(dt, inv, es), inv);
                e = _mm512_mul_ps(_mm512_add_ps(e, _mm512_set1_ps(MVKE_CERT_EPS)), _mm512_set1_ps(1.0f + MVKE_CERT_EPS));
                e = _mm512_mask_mov_ps(_mm512_set1_ps(MVKE_CERT_WIDE), ok, e);
                e = _mm512_mask_mov_ps(e, inf, _mm512_set1_ps(INFINITY));
                const __m512 lo = _mm512_sub_ps(s, e), hi = _mm512_add_ps(s, e);
                const __mmask16 hit = _mm512_cmp_ps_mask(hi, thr, _CMP_GE_OQ) & lanes;
                if (hit) {
                    hits[m][r] = hit;
                    any |= 1ull << (m * 12 + r);
                    _mm512_storeu_ps(sc[m][r], lo);
                    _mm512_storeu_ps(up[m][r], hi);
                }
                continue;
            }
            __m512 s = _mm512_maskz_div_ps(ok, num[m][r], root);
            s = _mm512_min_ps(_mm512_max_ps(s, mone), one);
            const __mmask16 hit = _mm512_cmp_ps_mask(s, thr, _CMP_GE_OQ) & lanes;
            if (hit) {
                hits[m][r] = hit;
                any |= 1ull << (m * 12 + r);
                _mm512_storeu_ps(sc[m][r], s);
            }
        }
    }
    for (; any; any &= any - 1) {
        const int b = __builtin_ctzll(any), m = b / 12, r = b % 12;
        if (CT) mvke_scan_offer_cert(sk, q0 + r, hits[m][r], sc[m][r], up[m][r], v, p + m);
        else mvke_scan_offer(sk, q0 + r, hits[m][r], sc[m][r], v, p + m);
    }
}

/* Every group of [g0, g1) over the tile's panels, MP at a time and the rest one by one. */
INL T512 void tile(const int KIND, const int MP, const int NR, const mvke_scan_shape *sh, const mvke_scan_pack *pk,
                   const mvke_scan_view *v, int64_t g0, int64_t g1, mvke_scan_sink *sk) {
    const int ST = KIND & ~CERT;
    mvke_scan_ctx c;
    mvke_scan_ctx_init(&c, sh, pk, v, ST == ST_F32 ? MVKE_STORAGE_F32 : ST == ST_F16 ? MVKE_STORAGE_F16
                                     : ST == ST_SQ8 ? MVKE_STORAGE_SQ8 : ST == ST_PQ ? MVKE_STORAGE_PQ : MVKE_STORAGE_BF16);
    /* One or two queries over lines of 1.5 KB or more per plane (float32 at d >= 24) stream four
     * panels a step, which the hardware prefetcher keeps up with: prefetching measured 2-4%
     * slower there (one tag, float32, 1e6 users), and 20-30% faster for narrower lines, four
     * tags or more. */
    if (NR <= 2 && g1 - g0 == 1 && c.line >= 1536) c.ahead = 0;
    for (int64_t g = g0; g < g1; g++) {
        const mvke_scan_group gr = mvke_scan_group_of(pk, g, NR);
        int64_t p = 0;
        for (; p + MP <= v->np; p += MP) {
            if (g == g0) mvke_scan_prefetch(sh, v, p, MP, c.line, c.ahead);
            panels(&c, KIND, MP, NR, p, gr.z, gr.zb, gr.gram, gr.floor, gr.q0, gr.nv, sk);
        }
        for (; p < v->np; p++) panels(&c, KIND, 1, NR, p, gr.z, gr.zb, gr.gram, gr.floor, gr.q0, gr.nv, sk);
    }
}

#define MP_OF(NR) ((NR) <= 2 ? 4 : 2)
#define INST(ST, NR)                                                                                       \
    static T512 void ST##_##NR(const mvke_scan_shape *sh, const mvke_scan_pack *pk, const mvke_scan_view *v, \
                               int64_t g0, int64_t g1, mvke_scan_sink *sk) {                              \
        tile(ST, MP_OF(NR), NR, sh, pk, v, g0, g1, sk);                                                    \
    }
#define INSTS(ST)                                                                                            \
    INST(ST, 1) INST(ST, 2) INST(ST, 3) INST(ST, 4) INST(ST, 5) INST(ST, 6) INST(ST, 7) INST(ST, 8)          \
    INST(ST, 9) INST(ST, 10) INST(ST, 11) INST(ST, 12)                                                       \
    MVKE_SCAN_ANY(ST##_any, 12, ST##_1, ST##_2, ST##_3, ST##_4, ST##_5, ST##_6, ST##_7, ST##_8, ST##_9, ST##_10, \
                  ST##_11, ST##_12)

INSTS(ST_F32)
INSTS(ST_F16)
INSTS(ST_BF16_WIDEN)
INSTS(ST_BF16_DOT)
INSTS(ST_SQ8)

/* pq from tables: groups of at most MVKE_SCAN_PQ_TABLE_MAX_Q queries. */
INST(ST_PQ, 1) INST(ST_PQ, 2) INST(ST_PQ, 3) INST(ST_PQ, 4)
MVKE_SCAN_ANY(ST_PQ_any, MVKE_SCAN_PQ_TABLE_MAX_Q, ST_PQ_1, ST_PQ_2, ST_PQ_3, ST_PQ_4)

/* Certified: decoded pq tiles (float32 planes), sq8, pq from tables. */
INSTS(ST_F32C)
INSTS(ST_SQ8C)
INST(ST_PQC, 1) INST(ST_PQC, 2) INST(ST_PQC, 3) INST(ST_PQC, 4)
MVKE_SCAN_ANY(ST_PQC_any, MVKE_SCAN_PQ_TABLE_MAX_Q, ST_PQC_1, ST_PQC_2, ST_PQC_3, ST_PQC_4)

const mvke_scan_kernels mvke_scan_avx512 = {12, 0, {ST_F32_any, ST_F16_any, ST_BF16_WIDEN_any, ST_SQ8_any, ST_PQ_any},
                                            {ST_F32C_any, ST_SQ8C_any, ST_PQC_any}};
const mvke_scan_kernels mvke_scan_avx512_bf16dot = {12, 1, {ST_F32_any, ST_F16_any, ST_BF16_DOT_any, ST_SQ8_any, ST_PQ_any},
                                                    {ST_F32C_any, ST_SQ8C_any, ST_PQC_any}};

#endif
