/*
 * codec.h - the trained parameters of the compressed storages (DESIGN section 8) and how one
 * value or sub-space is encoded and decoded. The block layout (layout.h) stores the codes; this
 * file is the one place that knows what a code means.
 *
 *  - sq8: per-dimension affine 8-bit quantisation of every expert, like FAISS's QT_8bit. For
 *    value j of expert k (index i = k*d + j) the code c in [0, 255] decodes to
 *        vmin[i] + scale[i] * c,     scale[i] = (vmax[i] - vmin[i]) / 255,
 *    with vmin/vmax the minimum and maximum of the training sample. A dimension that is
 *    constant in the sample has scale 0 and decodes exactly to its value; values outside the
 *    trained range clamp to its ends.
 *  - pq: per-expert product quantisation. Each expert's d values are cut into m sub-spaces,
 *    sub-space j covering dimensions [off[j], off[j+1]) with off[j] = j*d/m (so their sizes
 *    differ by at most one), and each sub-space has MVKE_PQ_CENTROIDS centroids. The code of a
 *    sub-space is the index of its nearest centroid (squared L2, the first on ties).
 *    Centroid c of sub-space j of expert k is the dsub_j floats at
 *        cent + k * MVKE_PQ_CENTROIDS * d + MVKE_PQ_CENTROIDS * off[j] + c * dsub_j.
 *
 * Bounds (DESIGN section 14, docs/codecs.md "Certified search"): every stored row keeps, per
 * expert, one byte b standing for an upper bound of r_k = ||e_k - decode(code_k)|| (e_k the
 * expert's values as given to add): b = 0 for r_k = 0, b = 255 for no bound (+infinity), and
 * b in 1..254 for bunit[k] * mvke_bound_value(b), the smallest such value >= r_k. The scale is
 * logarithmic, 16 steps per octave over 16 octaves around bunit[k] (the median residual of the
 * training sample), so a bound exceeds its residual by at most 4.4%.
 */
#ifndef MVKE_KERNELS_CODEC_H
#define MVKE_KERNELS_CODEC_H

#include <stdint.h>

#include "mvke/mvke.h"

#define MVKE_PQ_CENTROIDS 256

typedef struct mvke_codec {
    mvke_storage storage; /* MVKE_STORAGE_SQ8 or MVKE_STORAGE_PQ */
    int K, d;
    int m;                /* codes per expert: d (sq8) or the number of sub-spaces (pq) */
    int trained;          /* parameters are set; until then nothing may be encoded */
    int *off;             /* pq: m + 1 sub-space boundaries */
    float *vmin, *scale;  /* sq8: K*d each */
    float *cent;          /* pq: K * MVKE_PQ_CENTROIDS * d */
    float *bunit;         /* K: the unit of expert k's bounds (positive once trained) */
    float *amax;          /* K, derived (mvke_codec_derive): an upper bound of sum_i |z_i| |term_i| /
                             ||z_k|| over the terms the kernels add for expert k, for any code and
                             query: the scale of their float32 rounding */
    int64_t train_rows;   /* rows of the sample the parameters were trained on */
} mvke_codec;

/* The byte of a bound that means "no bound". */
#define MVKE_BOUND_INF 255

/* The value of bound byte b, in units of bunit[k]: 0 for b = 0, +infinity for 255, else
 * mvke_bound_step(b & 15) * 2^((b >> 4) - 8), exactly representable in float32 (the SIMD kernels
 * compute it the same way). */
float mvke_bound_value(uint8_t b);

/* 2^(j / 16) rounded up to float32, j in [0, 16). */
float mvke_bound_step(int j);

/* The smallest byte whose value is >= r (r >= 0, in units): 0 for 0, 255 beyond the scale. */
uint8_t mvke_bound_encode(double r);

/* The bound bytes of a row (K*d floats as given to add) under trained parameters: b[k] for each
 * expert. */
void mvke_codec_bounds(const mvke_codec *c, const float *row, uint8_t *b);

/* The residuals r_k = ||e_k - decode(code_k)|| of a row, in double (K values). */
void mvke_codec_residuals(const mvke_codec *c, const float *row, double *r);

/* Computes amax from the trained parameters (after training or loading them). */
void mvke_codec_derive(mvke_codec *c);

/* Sets bunit from the residuals of (at most 65536 evenly spaced of) n training rows: per expert
 * the median of the nonzero residuals, 1 when there are none; then derives amax. Returns 0, or
 * -1 when memory is short (nothing changes). */
int mvke_codec_train_bounds(mvke_codec *c, int64_t n, const float *x);

/* The number of pq sub-spaces used when none is asked for: ceil(d / 3), sub-spaces of about
 * three values (one byte of code for 12 bytes of float32; 10 codes per expert at d = 30). */
static inline int mvke_pq_default_m(int d) { return (d + 2) / 3; }

/* Whether a storage is a trained codec (sq8, pq). */
static inline int mvke_storage_is_codec(mvke_storage s) {
    return s == MVKE_STORAGE_SQ8 || s == MVKE_STORAGE_PQ;
}

/* Allocates an untrained codec for K experts of dimension d (bunit 1, amax 0). m: pq
 * sub-spaces (1 <= m <= d; 0 = mvke_pq_default_m(d)); ignored for sq8. Returns 0, -1 when out of
 * memory, -2 for a bad m or storage. */
int mvke_codec_init(mvke_codec *c, int K, int d, mvke_storage storage, int m);
void mvke_codec_release(mvke_codec *c);

/* Copies src's trained parameters into dst, initialised for the same storage, K, d and m (what
 * decides an encoding, and the derived amax); dst then encodes every row as src does. */
void mvke_codec_copy_params(mvke_codec *dst, const mvke_codec *src);

/* Replaces dst's parameters by src's (same storage, K, d and m), taking them over; src is left
 * released. Used to install freshly trained parameters in one step that cannot fail. */
void mvke_codec_take(mvke_codec *dst, mvke_codec *src);

/* sq8: the code of value v at index i (= k*d + j), and back. */
static inline uint8_t mvke_sq8_encode1(const mvke_codec *c, int i, float v) {
    const float s = c->scale[i];
    if (!(s > 0.0f)) return 0;
    float t = (v - c->vmin[i]) / s;
    if (!(t > 0.0f)) return 0; /* also NaN */
    if (t >= 255.0f) return 255;
    return (uint8_t)(t + 0.5f);
}
static inline float mvke_sq8_decode1(const mvke_codec *c, int i, uint8_t code) {
    return c->vmin[i] + c->scale[i] * (float)code;
}

/* pq: the size of sub-space j, its centroid table for expert k, the code of the sub-vector v
 * (dsub floats) and its decoding into out (dsub floats). */
static inline int mvke_pq_dsub(const mvke_codec *c, int j) { return c->off[j + 1] - c->off[j]; }
static inline const float *mvke_pq_table(const mvke_codec *c, int k, int j) {
    return c->cent + ((size_t)k * c->d + (size_t)c->off[j]) * MVKE_PQ_CENTROIDS;
}
uint8_t mvke_pq_encode1(const mvke_codec *c, int k, int j, const float *v);
void mvke_pq_decode1(const mvke_codec *c, int k, int j, uint8_t code, float *out);

/* A whole row (K*d floats) to K*m codes (expert-major) and back. */
void mvke_codec_encode(const mvke_codec *c, const float *row, uint8_t *codes);
void mvke_codec_decode(const mvke_codec *c, const uint8_t *codes, float *row);

#endif
