/*
 * codec.c - encoding and decoding of the sq8 and pq codecs (codec.h). Training lives in
 * index/ (index/train.c, index/kmeans.c): kernels only apply parameters.
 */
#include "codec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

int mvke_codec_init(mvke_codec *c, int K, int d, mvke_storage storage, int m) {
    memset(c, 0, sizeof *c);
    if (K < 1 || d < 1 || !mvke_storage_is_codec(storage)) return -2;
    c->storage = storage;
    c->K = K;
    c->d = d;
    const size_t D = (size_t)K * (size_t)d;
    c->bunit = mvke_malloc_array((size_t)K, sizeof *c->bunit);
    c->amax = mvke_calloc((size_t)K, sizeof *c->amax);
    if (!c->bunit || !c->amax) {
        mvke_codec_release(c);
        return -1;
    }
    for (int k = 0; k < K; k++) c->bunit[k] = 1.0f;
    if (storage == MVKE_STORAGE_SQ8) {
        c->m = d;
        c->vmin = mvke_calloc(D, sizeof *c->vmin);
        c->scale = mvke_calloc(D, sizeof *c->scale);
        if (!c->vmin || !c->scale) {
            mvke_codec_release(c);
            return -1;
        }
        return 0;
    }
    if (m == 0) m = mvke_pq_default_m(d);
    if (m < 1 || m > d) {
        mvke_codec_release(c);
        return -2;
    }
    c->m = m;
    c->off = mvke_malloc_array((size_t)m + 1, sizeof *c->off);
    c->cent = mvke_calloc(D * MVKE_PQ_CENTROIDS, sizeof *c->cent);
    if (!c->off || !c->cent) {
        mvke_codec_release(c);
        return -1;
    }
    for (int j = 0; j <= m; j++) c->off[j] = (int)((int64_t)j * d / m);
    return 0;
}

void mvke_codec_copy_params(mvke_codec *dst, const mvke_codec *src) {
    const size_t D = (size_t)src->K * (size_t)src->d, K = (size_t)src->K;
    if (src->vmin) memcpy(dst->vmin, src->vmin, D * sizeof *dst->vmin);
    if (src->scale) memcpy(dst->scale, src->scale, D * sizeof *dst->scale);
    if (src->cent) memcpy(dst->cent, src->cent, D * MVKE_PQ_CENTROIDS * sizeof *dst->cent);
    memcpy(dst->bunit, src->bunit, K * sizeof *dst->bunit);
    memcpy(dst->amax, src->amax, K * sizeof *dst->amax);
    dst->trained = src->trained;
    dst->train_rows = src->train_rows;
}

void mvke_codec_release(mvke_codec *c) {
    if (!c) return;
    mvke_free(c->off);
    mvke_free(c->vmin);
    mvke_free(c->scale);
    mvke_free(c->cent);
    mvke_free(c->bunit);
    mvke_free(c->amax);
    memset(c, 0, sizeof *c);
}

void mvke_codec_take(mvke_codec *dst, mvke_codec *src) {
    mvke_codec_release(dst);
    *dst = *src;
    memset(src, 0, sizeof *src);
}

uint8_t mvke_pq_encode1(const mvke_codec *c, int k, int j, const float *v) {
    const int ds = mvke_pq_dsub(c, j);
    const float *t = mvke_pq_table(c, k, j);
    float best = 0.0f;
    int arg = 0;
    for (int e = 0; e < MVKE_PQ_CENTROIDS; e++, t += ds) {
        float dist = 0.0f;
        for (int i = 0; i < ds; i++) {
            const float diff = v[i] - t[i];
            dist += diff * diff;
        }
        if (e == 0 || dist < best) {
            best = dist;
            arg = e;
        }
    }
    return (uint8_t)arg;
}

void mvke_pq_decode1(const mvke_codec *c, int k, int j, uint8_t code, float *out) {
    const int ds = mvke_pq_dsub(c, j);
    memcpy(out, mvke_pq_table(c, k, j) + (size_t)code * ds, (size_t)ds * sizeof *out);
}

void mvke_codec_encode(const mvke_codec *c, const float *row, uint8_t *codes) {
    for (int k = 0; k < c->K; k++) {
        const float *v = row + (size_t)k * c->d;
        for (int j = 0; j < c->m; j++) {
            codes[(size_t)k * c->m + j] = c->storage == MVKE_STORAGE_SQ8
                                              ? mvke_sq8_encode1(c, k * c->d + j, v[j])
                                              : mvke_pq_encode1(c, k, j, v + c->off[j]);
        }
    }
}

void mvke_codec_decode(const mvke_codec *c, const uint8_t *codes, float *row) {
    for (int k = 0; k < c->K; k++) {
        float *v = row + (size_t)k * c->d;
        for (int j = 0; j < c->m; j++) {
            const uint8_t code = codes[(size_t)k * c->m + j];
            if (c->storage == MVKE_STORAGE_SQ8)
                v[j] = mvke_sq8_decode1(c, k * c->d + j, code);
            else
                mvke_pq_decode1(c, k, j, code, v + c->off[j]);
        }
    }
}

/* ---- bounds ------------------------------------------------------------------------------ */

float mvke_bound_step(int j) {
    const double v = exp2((double)j / 16.0);
    float f = (float)v;
    if ((double)f < v) f = nextafterf(f, INFINITY);
    return f;
}

float mvke_bound_value(uint8_t b) {
    if (b == 0) return 0.0f;
    if (b == MVKE_BOUND_INF) return INFINITY;
    return ldexpf(mvke_bound_step(b & 15), (b >> 4) - 8);
}

uint8_t mvke_bound_encode(double r) {
    if (!(r > 0.0)) return 0;
    if (!(r <= (double)mvke_bound_value(254))) return MVKE_BOUND_INF;
    /* The scale is monotonic: the first byte from an estimate whose value covers r. */
    int b = (int)floor(16.0 * log2(r)) + 128 - 1;
    if (b < 1) b = 1;
    while (b < 254 && (double)mvke_bound_value((uint8_t)b) < r) b++;
    while (b > 1 && (double)mvke_bound_value((uint8_t)(b - 1)) >= r) b--;
    return (uint8_t)b;
}

void mvke_codec_residuals(const mvke_codec *c, const float *row, double *r) {
    for (int k = 0; k < c->K; k++) {
        const float *v = row + (size_t)k * c->d;
        double sum = 0.0;
        for (int j = 0; j < c->m; j++) {
            if (c->storage == MVKE_STORAGE_SQ8) {
                /* Against the decoded value in real arithmetic (exact in double): the kernels add
                 * vmin and scale * code in their own order, and their rounding is bounded apart. */
                const int i = k * c->d + j;
                const double dec = (double)c->vmin[i] + (double)c->scale[i] * (double)mvke_sq8_encode1(c, i, v[j]);
                const double e = (double)v[j] - dec;
                sum += e * e;
            } else {
                const int ds = mvke_pq_dsub(c, j), off = c->off[j];
                const float *dec = mvke_pq_table(c, k, j) + (size_t)mvke_pq_encode1(c, k, j, v + off) * ds;
                for (int t = 0; t < ds; t++) {
                    const double e = (double)v[off + t] - (double)dec[t];
                    sum += e * e;
                }
            }
        }
        r[k] = sqrt(sum);
    }
}

void mvke_codec_bounds(const mvke_codec *c, const float *row, uint8_t *b) {
    double r[MVKE_MAX_K];
    mvke_codec_residuals(c, row, r);
    for (int k = 0; k < c->K; k++) {
        /* A relative 2^-40 covers the double rounding of the residual itself. */
        const double unit = (double)c->bunit[k];
        b[k] = unit > 0.0 ? mvke_bound_encode(r[k] * (1.0 + 0x1p-40) / unit) : MVKE_BOUND_INF;
    }
}

void mvke_codec_derive(mvke_codec *c) {
    for (int k = 0; k < c->K; k++) {
        double sum = 0.0;
        if (c->storage == MVKE_STORAGE_SQ8) {
            /* The kernel adds z_i vmin_i (in the query's constant) and (z_i scale_i) c_i. */
            for (int j = 0; j < c->d; j++) {
                const double t = fabs((double)c->vmin[k * c->d + j]) + 255.0 * fabs((double)c->scale[k * c->d + j]);
                sum += t * t;
            }
        } else {
            /* Table entries <z_j, centroid>, or the decoded values: at most the largest centroid. */
            for (int j = 0; j < c->m; j++) {
                const int ds = mvke_pq_dsub(c, j);
                const float *t = mvke_pq_table(c, k, j);
                double best = 0.0;
                for (int e = 0; e < MVKE_PQ_CENTROIDS; e++) {
                    double n2 = 0.0;
                    for (int i = 0; i < ds; i++) n2 += (double)t[e * ds + i] * (double)t[e * ds + i];
                    best = n2 > best ? n2 : best;
                }
                sum += best;
            }
        }
        float a = (float)sqrt(sum);
        if ((double)a * (double)a < sum) a = nextafterf(a, INFINITY);
        c->amax[k] = a;
    }
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int mvke_codec_train_bounds(mvke_codec *c, int64_t n, const float *x) {
    const int64_t ns = n < 65536 ? n : 65536, D = (int64_t)c->K * c->d;
    double *r = mvke_malloc_array((size_t)(ns ? ns : 1) * (size_t)c->K, sizeof *r);
    double *col = mvke_malloc_array((size_t)(ns ? ns : 1), sizeof *col);
    if (!r || !col) {
        mvke_free(r);
        mvke_free(col);
        return -1;
    }
    for (int64_t i = 0; i < ns; i++) {
        const int64_t row = ns == n ? i : (int64_t)((double)i * (double)n / (double)ns);
        mvke_codec_residuals(c, x + row * D, r + i * c->K);
    }
    for (int k = 0; k < c->K; k++) {
        int64_t m = 0;
        for (int64_t i = 0; i < ns; i++)
            if (r[i * c->K + k] > 0.0) col[m++] = r[i * c->K + k];
        double unit = 1.0;
        if (m) {
            qsort(col, (size_t)m, sizeof *col, cmp_double);
            unit = col[m / 2];
        }
        const float u = (float)unit;
        c->bunit[k] = u > 0.0f && isfinite(u) ? u : 1.0f;
    }
    mvke_free(r);
    mvke_free(col);
    mvke_codec_derive(c);
    return 0;
}
