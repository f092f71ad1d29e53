/*
 * lists.c - k-means lists of users and their bounds (lists.h; the proof is in docs/lists.md).
 */
#include "lists.h"

#include <float.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "../kernels/runtime.h"
#include "kmeans.h"

#define LISTS_SEED 0x6c69737473ull
#define CHUNK_ROWS 65536

int mvke_lists_default(int64_t n) {
    if (n <= 1) return 1;
    double v = 4.0 * sqrt((double)n);
    if (v > (double)n) v = (double)n;
    if (v > 1 << 24) v = 1 << 24;
    return (int)(v + 0.5);
}

void mvke_lists_release(mvke_lists *l) {
    mvke_free(l->off);
    mvke_free(l->cent);
    mvke_free(l->radius);
    mvke_free(l->cgram);
    memset(l, 0, sizeof *l);
}

/* The smallest float >= v: radii and bounds round up. */
static float up(double v) {
    float f = (float)v;
    while ((double)f < v) f = nextafterf(f, FLT_MAX);
    return f;
}

/* Squared distances of row x to centroid c per expert, grown into rad (as squared values). */
static void cover_sq(int K, int d, const float *x, const float *c, double *rad2) {
    for (int k = 0; k < K; k++) {
        double s = 0.0;
        for (int j = 0; j < d; j++) {
            const double t = (double)x[k * d + j] - (double)c[k * d + j];
            s += t * t;
        }
        if (s > rad2[k]) rad2[k] = s;
    }
}

static void derive_gram(mvke_lists *l, int K, int d) {
    for (int j = 0; j < l->n; j++) {
        const float *c = l->cent + (size_t)j * K * d;
        double *g = l->cgram + (size_t)j * K * K;
        for (int a = 0; a < K; a++)
            for (int b = a; b < K; b++) {
                double s = 0.0;
                for (int i = 0; i < d; i++) s += (double)c[a * d + i] * (double)c[b * d + i];
                g[a * K + b] = g[b * K + a] = s;
            }
    }
}

static mvke_status alloc_lists(mvke_lists *l, int n, int K, int d) {
    memset(l, 0, sizeof *l);
    l->n = n;
    l->off = mvke_calloc((size_t)n + 1, sizeof *l->off);
    l->cent = mvke_malloc_array((size_t)n * (size_t)K * (size_t)d, sizeof *l->cent);
    l->radius = mvke_calloc((size_t)n * (size_t)K, sizeof *l->radius);
    l->cgram = mvke_malloc_array((size_t)n * (size_t)K * (size_t)K, sizeof *l->cgram);
    if (l->off && l->cent && l->radius && l->cgram) return MVKE_OK;
    mvke_lists_release(l);
    return mvke_error(MVKE_ERR_NOMEM, "out of memory for %d lists", n);
}

mvke_status mvke_lists_train(const mvke_store *s, int nlists, mvke_lists *out, int64_t *perm) {
    const int64_t n = s->count;
    const int K = s->K, d = s->d, D = K * d;
    memset(out, 0, sizeof *out);
    if (n < 1) return mvke_error(MVKE_ERR_INVALID, "lists need users: the index is empty");
    if (nlists < 0 || nlists > n)
        return mvke_error(MVKE_ERR_INVALID, "%d lists for %lld users: give 1 to %lld (0: the default, %d)", nlists,
                          (long long)n, (long long)n, mvke_lists_default(n));
    if (nlists == 0) nlists = mvke_lists_default(n);
    mvke_status st = mvke_store_check_all(s);
    if (st != MVKE_OK) return st;
    const int64_t ns = n < (int64_t)nlists * MVKE_LISTS_SAMPLE_PER_LIST ? n : (int64_t)nlists * MVKE_LISTS_SAMPLE_PER_LIST;
    const int64_t chunk = n < CHUNK_ROWS ? n : CHUNK_ROWS;
    const int nthreads = omp_get_max_threads();
    float *buf = mvke_malloc_array((size_t)(ns > chunk ? ns : chunk) * (size_t)D, sizeof *buf);
    int *assign = mvke_malloc_array((size_t)n, sizeof *assign);
    double *rad2 = mvke_calloc((size_t)nthreads * (size_t)nlists * (size_t)K, sizeof *rad2);
    if (!buf || !assign || !rad2 || (st = alloc_lists(out, nlists, K, d)) != MVKE_OK) {
        if (st == MVKE_OK) st = mvke_error(MVKE_ERR_NOMEM, "out of memory making %d lists of %lld users", nlists, (long long)n);
        goto done;
    }
    /* The sample: evenly spaced rows. */
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < ns; i++) mvke_store_get(s, ns == n ? i : (int64_t)((double)i * (double)n / (double)ns), buf + i * D);
    if ((st = mvke_kmeans(ns, D, buf, nlists, MVKE_LISTS_ITERS, LISTS_SEED, out->cent)) != MVKE_OK) goto done;
    /* Every row to its nearest centroid, the radii grown as rows arrive (per thread, then the
     * largest). */
    for (int64_t p0 = 0; p0 < n && st == MVKE_OK; p0 += chunk) {
        const int64_t m = n - p0 < chunk ? n - p0 : chunk;
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < m; i++) mvke_store_get(s, p0 + i, buf + i * D);
        if ((st = mvke_kmeans_assign(m, D, buf, nlists, out->cent, assign + p0)) != MVKE_OK) break;
#pragma omp parallel
        {
            double *mine = rad2 + (size_t)omp_get_thread_num() * (size_t)nlists * K;
#pragma omp for schedule(static)
            for (int64_t i = 0; i < m; i++) {
                const int j = assign[p0 + i];
                cover_sq(K, d, buf + i * D, out->cent + (size_t)j * D, mine + (size_t)j * K);
            }
        }
    }
    if (st != MVKE_OK) goto done;
    for (size_t e = 0; e < (size_t)nlists * K; e++) {
        double r = 0.0;
        for (int t = 0; t < nthreads; t++) r = rad2[(size_t)t * nlists * K + e] > r ? rad2[(size_t)t * nlists * K + e] : r;
        out->radius[e] = up(sqrt(r));
    }
    /* Positions list by list (a counting sort, stable). */
    for (int64_t p = 0; p < n; p++) out->off[assign[p] + 1]++;
    for (int j = 0; j < nlists; j++) out->off[j + 1] += out->off[j];
    int64_t *at = (int64_t *)rad2; /* nthreads * nlists * K doubles >= nlists int64 */
    memcpy(at, out->off, (size_t)nlists * sizeof *at);
    for (int64_t p = 0; p < n; p++) perm[at[assign[p]]++] = p;
    derive_gram(out, K, d);
done:
    if (st != MVKE_OK) mvke_lists_release(out);
    mvke_free(buf);
    mvke_free(assign);
    mvke_free(rad2);
    return st;
}

mvke_status mvke_lists_set(mvke_lists *l, int n, int K, int d, int64_t count, const int64_t *off,
                           const float *cent, const float *radius, const char *what) {
    memset(l, 0, sizeof *l);
    if (n < 1) return mvke_error(MVKE_ERR_FORMAT, "%s: %d lists", what, n);
    if (off[0] != 0) return mvke_error(MVKE_ERR_FORMAT, "%s: list 0 starts at position %lld, not 0", what, (long long)off[0]);
    for (int j = 0; j < n; j++)
        if (off[j + 1] < off[j] || off[j + 1] > count)
            return mvke_error(MVKE_ERR_FORMAT, "%s: list %d ends at position %lld (starts at %lld; %lld users)", what, j,
                              (long long)off[j + 1], (long long)off[j], (long long)count);
    const size_t D = (size_t)K * (size_t)d;
    for (size_t i = 0; i < (size_t)n * D; i++)
        if (!isfinite(cent[i]))
            return mvke_error(MVKE_ERR_FORMAT, "%s: centroid of list %zu: value %zu is not finite", what, i / D, i % D);
    for (size_t i = 0; i < (size_t)n * (size_t)K; i++)
        if (!(radius[i] >= 0.0f) || !isfinite(radius[i]))
            return mvke_error(MVKE_ERR_FORMAT, "%s: radius of list %zu, expert %zu is %g", what, i / (size_t)K,
                              i % (size_t)K, (double)radius[i]);
    mvke_status st = alloc_lists(l, n, K, d);
    if (st != MVKE_OK) return st;
    memcpy(l->off, off, ((size_t)n + 1) * sizeof *off);
    memcpy(l->cent, cent, (size_t)n * D * sizeof *cent);
    memcpy(l->radius, radius, (size_t)n * (size_t)K * sizeof *radius);
    derive_gram(l, K, d);
    return MVKE_OK;
}

mvke_status mvke_lists_slice(const mvke_lists *src, int K, int d, int64_t first, int64_t n, mvke_lists *out) {
    memset(out, 0, sizeof *out);
    if (!src->n) return MVKE_OK;
    mvke_status st = alloc_lists(out, src->n, K, d);
    if (st != MVKE_OK) return st;
    for (int j = 0; j <= src->n; j++) {
        const int64_t o = src->off[j] - first;
        out->off[j] = o < 0 ? 0 : o > n ? n : o;
    }
    memcpy(out->cent, src->cent, (size_t)src->n * (size_t)K * (size_t)d * sizeof *out->cent);
    memcpy(out->radius, src->radius, (size_t)src->n * (size_t)K * sizeof *out->radius);
    memcpy(out->cgram, src->cgram, (size_t)src->n * (size_t)K * (size_t)K * sizeof *out->cgram);
    return MVKE_OK;
}

int mvke_lists_find(const mvke_lists *l, int64_t p) {
    if (!l->n || p >= l->off[l->n]) return -1;
    int lo = 0, hi = l->n - 1; /* the last j with off[j] <= p */
    while (lo < hi) {
        const int mid = lo + (hi - lo + 1) / 2;
        if (l->off[mid] <= p) lo = mid; else hi = mid - 1;
    }
    return lo;
}

void mvke_lists_cover(mvke_lists *l, const mvke_store *s, int64_t p, float *row) {
    const int j = mvke_lists_find(l, p);
    if (j < 0) return;
    const int K = s->K, d = s->d;
    mvke_store_get(s, p, row);
    double r2[MVKE_MAX_K] = {0};
    cover_sq(K, d, row, l->cent + (size_t)j * K * d, r2);
    for (int k = 0; k < K; k++) {
        const float r = up(sqrt(r2[k]));
        if (r > l->radius[(size_t)j * K + k]) l->radius[(size_t)j * K + k] = r;
    }
}

void mvke_lists_truncate(mvke_lists *l, int64_t count) {
    for (int j = 0; l->n && j <= l->n; j++)
        if (l->off[j] > count) l->off[j] = count;
}

/* Rounding slack of the kernels (docs/lists.md): a sum of m float32 products is within
 * m 2^-24 (1 + ...) of its value relative to the sum of the products' magnitudes; this is
 * generous for every summation order the kernels use. */
static double gamma_of(int m) { return 4.0 * (double)(m + 8) * 0x1p-24; }

void mvke_lists_bounds(const mvke_lists *l, int K, int d, mvke_score score, const float *z, float *cs, float *ub) {
    const int D = K * d, P = K * (K + 1) / 2;
    double zn[MVKE_MAX_K], gz[MVKE_MAX_K * MVKE_MAX_K];
    for (int a = 0; a < K; a++)
        for (int b = a; b < K; b++) {
            double s = 0.0;
            for (int i = 0; i < d; i++) s += (double)z[a * d + i] * (double)z[b * d + i];
            gz[a * K + b] = gz[b * K + a] = s;
        }
    for (int a = 0; a < K; a++) zn[a] = sqrt(gz[a * K + a]);
    const double gn = gamma_of(D), gd = gamma_of(P + 2 * d);
    for (int j = 0; j < l->n; j++) {
        const float *c = l->cent + (size_t)j * D, *r = l->radius + (size_t)j * K;
        const double *gc = l->cgram + (size_t)j * K * K;
        double A = 0.0, E = 0.0, S = 0.0, B2 = 0.0;
        for (int i = 0; i < D; i++) A += (double)c[i] * (double)z[i];
        for (int a = 0; a < K; a++) {
            if (zn[a] == 0.0) continue;
            E += (double)r[a] * zn[a];
            S += (sqrt(gc[a * K + a]) + (double)r[a]) * zn[a];
            for (int b = 0; b < K; b++) B2 += gc[a * K + b] * gz[a * K + b];
        }
        if (score == MVKE_SCORE_DOT) {
            cs[j] = (float)A;
            ub[j] = up(A + E + gn * S + 0x1p-22 * fabs(A));
            continue;
        }
        const double B = sqrt(B2 > 0.0 ? B2 : 0.0);
        cs[j] = B > 0.0 ? (float)(A / B) : 0.0f;
        /* Every member's gated vector lies within E/|q| of the gated centroid: its angle with
         * the tag is at least the centroid's minus asin(E / B). */
        double bound = 1.0;
        const double L = B - E, ed = gd * S * S;
        if (L > 0.0 && L * L > 2.0 * ed) {
            double ct = A / B;
            ct = ct > 1.0 ? 1.0 : ct < -1.0 ? -1.0 : ct;
            const double st = sqrt(1.0 - ct * ct), sa = E / B, ca = sqrt(1.0 - sa * sa);
            double b = ct >= ca ? 1.0 : ct * ca + st * sa;
            const double en = gn * S;
            b += en / sqrt(L * L - ed) + ed / (L * L - ed) + 0x1p-22;
            bound = b > 1.0 ? 1.0 : b;
        }
        /* A row whose gated vector vanishes (or is guarded) scores 0. */
        ub[j] = bound < 0.0 ? 0.0f : bound >= 1.0 ? 1.0f : up(bound);
    }
}

void mvke_lists_sizes(const mvke_lists *l, int64_t *min, int64_t *median, int64_t *max) {
    *min = *median = *max = 0;
    if (!l->n) return;
    int64_t *sz = mvke_malloc_array((size_t)l->n, sizeof *sz);
    if (!sz) return;
    for (int j = 0; j < l->n; j++) sz[j] = l->off[j + 1] - l->off[j];
    int64_t lo = sz[0], hi = sz[0];
    for (int j = 1; j < l->n; j++) {
        lo = sz[j] < lo ? sz[j] : lo;
        hi = sz[j] > hi ? sz[j] : hi;
    }
    /* The median by bisection over the sizes' range: no sort of 1e5 lists. */
    int64_t a = lo, b = hi;
    while (a < b) {
        const int64_t mid = a + (b - a) / 2;
        int64_t below = 0;
        for (int j = 0; j < l->n; j++) below += sz[j] <= mid;
        if (below * 2 >= l->n) b = mid; else a = mid + 1;
    }
    *min = lo;
    *median = a;
    *max = hi;
    mvke_free(sz);
}
