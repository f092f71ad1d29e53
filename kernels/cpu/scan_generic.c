/*
 * scan_generic.c - the portable C kernels of the one driver (scan.h), every storage, always
 * built: the reference the SIMD variants are tested against, and what a CPU without AVX2 (or
 * MVKE_CPU=generic) runs.
 *
 * Design note: one panel (16 rows) times a group of up to NR queries per step; every stored
 * line of 16 values is widened once into a small array and multiplied against each query of
 * the group, so the panel is read once per group. The lane loops have a constant trip count of
 * 16 and no dependences between lanes, which compilers vectorise for the baseline instruction
 * set. Numerator and denominator of a pair are accumulated in the same order as in the SIMD
 * kernels (the query's constant, active experts ascending, dimensions ascending, then active
 * Gram entries), without fused multiply-adds. bfloat16 is widened (a shift), float16 through
 * half.h, sq8 codes from their bytes; pq adds one table entry per code.
 */
#include <string.h>

#include "../codec.h"
#include "../cosine.h"
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
    default: { /* sq8: d one-byte codes per panel line */
        const uint8_t *c = (const uint8_t *)plane + ((size_t)p * d + j) * MVKE_LANES;
        for (int g = 0; g < MVKE_LANES; g++) x[g] = (float)c[g];
        break;
    }
    }
}

/* The certified interval of one lane (scan.h, MVKE_CERT_*): lo and hi around s. */
static inline void interval(int dot, float num, float d2, float fltr, float trx, const float *B, int na,
                            const float *zn, float nslack, float trz, int P, float *lo, float *hi) {
    const float s = mvke_score_of(dot, num, d2, fltr);
    float e = MVKE_CERT_WIDE;
    if (dot) {
        float es = nslack;
        for (int a = 0; a < na; a++) es += zn[a] * B[a * MVKE_LANES];
        e = MVKE_CERT_DOT_E(es, s);
    } else if (d2 > fltr && d2 > 0.0f) {
        float es = nslack;
        for (int a = 0; a < na; a++) es += zn[a] * B[a * MVKE_LANES];
        e = (es / sqrtf(d2) + MVKE_CERT_DEN(P) * trx * trz / d2 + MVKE_CERT_EPS) * (1.0f + MVKE_CERT_EPS);
    }
    *lo = s - e;
    *hi = s + e;
}

static void scan_view(mvke_storage st, int cert, const mvke_scan_shape *sh, const mvke_scan_pack *pk,
                      const mvke_scan_view *v, int64_t g0, int64_t g1, mvke_scan_sink *sk) {
    const mvke_layout *L = &sh->L;
    const int d = L->d, P = L->P, dz = pk->dz, dp = pk->dp, nr = pk->nr, na = sh->na, pa = sh->pa;
    const int m = L->m, dot = L->score == MVKE_SCORE_DOT;
    float num[NR][MVKE_LANES], den[NR][MVKE_LANES], tr[MVKE_LANES], x[MVKE_LANES], sc[MVKE_LANES], hi[MVKE_LANES];
    float B[MVKE_SCAN_MAX_K * MVKE_LANES];
    for (int64_t g = g0; g < g1; g++) {
        const float *zg = pk->z + (size_t)g * pk->zstride, *gg = pk->gram + (size_t)g * pk->gstride;
        const int nv = (int)(pk->nq - g * nr < nr ? pk->nq - g * nr : nr);
        for (int64_t p = 0; p < v->np; p++) {
            const uint32_t lanes = mvke_scan_lanes(v->n, p);
            for (int r = 0; r < nr; r++)
                for (int l = 0; l < MVKE_LANES; l++) num[r][l] = r < nv ? pk->cst[g * nr + r] : 0.0f;
            memset(den, 0, sizeof den);
            memset(tr, 0, sizeof tr);
            if (st == MVKE_STORAGE_PQ) {
                for (int a = 0; a < na; a++) {
                    const uint8_t *c = (const uint8_t *)v->planes[a] + (size_t)p * m * MVKE_LANES;
                    for (int j = 0; j < m; j++, c += MVKE_LANES)
                        for (int r = 0; r < nv; r++) {
                            const float *t = pk->lut + (size_t)(g * nr + r) * pk->lstride +
                                             ((size_t)a * m + j) * MVKE_PQ_CENTROIDS;
                            for (int l = 0; l < MVKE_LANES; l++) num[r][l] += t[c[l]];
                        }
                }
            } else {
                for (int a = 0; a < na; a++)
                    for (int j = 0; j < dz; j++) {
                        load_line(st, v->planes[a], d, dp, p, j, x);
                        const float *zr = zg + ((size_t)a * dz + j) * nr;
                        for (int r = 0; r < nr; r++)
                            for (int l = 0; l < MVKE_LANES; l++) num[r][l] += x[l] * zr[r];
                    }
            }
            for (int e = 0; e < pa; e++) {
                const float *gl = v->gram + ((size_t)p * P + sh->ent[e]) * MVKE_LANES;
                if (sh->diag[e])
                    for (int l = 0; l < MVKE_LANES; l++) tr[l] += gl[l];
                for (int r = 0; r < nr; r++)
                    for (int l = 0; l < MVKE_LANES; l++) den[r][l] += gl[l] * gg[(size_t)e * nr + r];
            }
            if (cert)
                for (int a = 0; a < na; a++) {
                    const uint8_t *bl = v->bounds + ((size_t)p * v->K + sh->act[a]) * MVKE_LANES;
                    for (int l = 0; l < MVKE_LANES; l++) B[a * MVKE_LANES + l] = mvke_bound_value(bl[l]);
                }
            for (int r = 0; r < nv; r++) {
                const int64_t q = g * nr + r;
                const float fl = pk->floor[q], thr = sk->thr[q - sk->q0];
                uint32_t hit = 0;
                for (int l = 0; l < MVKE_LANES; l++) {
                    if (cert) {
                        interval(dot, num[r][l], den[r][l], fl * tr[l], tr[l], B + l, na, pk->zn + q * na, pk->nslack[q],
                                 pk->trz[q], P, &sc[l], &hi[l]);
                        hit |= (uint32_t)(hi[l] >= thr) << l;
                    } else {
                        sc[l] = mvke_score_of(dot, num[r][l], den[r][l], fl * tr[l]);
                        hit |= (uint32_t)(sc[l] >= thr) << l;
                    }
                }
                hit &= lanes;
                if (hit && cert) mvke_scan_offer_cert(sk, q, hit, sc, hi, v, p);
                else if (hit) mvke_scan_offer(sk, q, hit, sc, v, p);
            }
        }
    }
}

#define KERNEL(NAME, ST, CERT)                                                                                 \
    static void NAME(const mvke_scan_shape *sh, const mvke_scan_pack *pk, const mvke_scan_view *v, int64_t g0, \
                     int64_t g1, mvke_scan_sink *sk) {                                                         \
        scan_view(ST, CERT, sh, pk, v, g0, g1, sk);                                                            \
    }
KERNEL(scan_f32, MVKE_STORAGE_F32, 0)
KERNEL(scan_f16, MVKE_STORAGE_F16, 0)
KERNEL(scan_bf16, MVKE_STORAGE_BF16, 0)
KERNEL(scan_sq8, MVKE_STORAGE_SQ8, 0)
KERNEL(scan_pq, MVKE_STORAGE_PQ, 0)
KERNEL(cert_f32, MVKE_STORAGE_F32, 1)
KERNEL(cert_sq8, MVKE_STORAGE_SQ8, 1)
KERNEL(cert_pq, MVKE_STORAGE_PQ, 1)

const mvke_scan_kernels mvke_scan_generic = {NR, 0, {scan_f32, scan_f16, scan_bf16, scan_sq8, scan_pq},
                                             {cert_f32, cert_sq8, cert_pq}};
