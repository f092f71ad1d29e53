/*
 * kmeans.c - Lloyd's k-means with BLAS distances (kmeans.h).
 */
#include "kmeans.h"

#include <cblas.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/runtime.h"

#define CHUNK 4096

/* splitmix64: the seeded draws of the initial centroids. */
static uint64_t next_u64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* qsort has no context argument: the points being sorted, per thread. */
static _Thread_local const float *sort_x;
static _Thread_local int sort_d;

static int cmp_point(const void *a, const void *b) {
    const float *p = sort_x + *(const int64_t *)a * sort_d, *q = sort_x + *(const int64_t *)b * sort_d;
    for (int i = 0; i < sort_d; i++)
        if (p[i] != q[i]) return p[i] < q[i] ? -1 : 1;
    return 0;
}

/* The indices of the distinct points, sorted, into uniq; returns their count. */
static int64_t distinct_points(int64_t n, int dim, const float *x, int64_t *order, int64_t *uniq) {
    for (int64_t i = 0; i < n; i++) order[i] = i;
    sort_x = x;
    sort_d = dim;
    qsort(order, (size_t)n, sizeof *order, cmp_point);
    int64_t u = 0;
    for (int64_t i = 0; i < n; i++)
        if (i == 0 || cmp_point(&order[i - 1], &order[i]) != 0) uniq[u++] = order[i];
    return u;
}

/* Nearest centroid of points [p0, p0+np) into assign, and the squared distance into dist. */
static void assign_chunk(int64_t p0, int64_t np, int dim, const float *x, int k, const float *cent,
                         const float *cnorm, float *dots, int *assign, float *dist) {
    const float *xp = x + p0 * dim;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)np, k, dim, 1.0f, xp, dim, cent, dim, 0.0f, dots, k);
    for (int64_t i = 0; i < np; i++) {
        const float *row = dots + i * k;
        float best = FLT_MAX;
        int arg = 0;
        for (int c = 0; c < k; c++) {
            const float v = cnorm[c] - 2.0f * row[c];
            if (v < best) {
                best = v;
                arg = c;
            }
        }
        float xn = 0.0f;
        for (int j = 0; j < dim; j++) xn += xp[i * dim + j] * xp[i * dim + j];
        assign[p0 + i] = arg;
        dist[p0 + i] = best + xn;
    }
}

mvke_status mvke_kmeans(int64_t n, int dim, const float *x, int k, int iters, uint64_t seed, float *cent) {
    if (n < 1 || dim < 1 || k < 1 || iters < 0 || !x || !cent)
        return mvke_error(MVKE_ERR_INVALID, "k-means of %lld points of dimension %d into %d centroids, %d iterations",
                          (long long)n, dim, k, iters);
    int64_t *order = mvke_malloc_array((size_t)n, sizeof *order);
    int64_t *uniq = mvke_malloc_array((size_t)n, sizeof *uniq);
    int *assign = mvke_malloc_array((size_t)n, sizeof *assign);
    float *dist = mvke_malloc_array((size_t)n, sizeof *dist);
    float *dots = mvke_malloc_array((size_t)CHUNK * (size_t)k, sizeof *dots);
    float *cnorm = mvke_malloc_array((size_t)k, sizeof *cnorm);
    double *sum = mvke_malloc_array((size_t)k * (size_t)dim, sizeof *sum);
    int64_t *count = mvke_malloc_array((size_t)k, sizeof *count);
    mvke_status st = MVKE_OK;
    if (!order || !uniq || !assign || !dist || !dots || !cnorm || !sum || !count) {
        st = mvke_error(MVKE_ERR_NOMEM, "out of memory for k-means of %lld points", (long long)n);
        goto done;
    }
    const int64_t nu = distinct_points(n, dim, x, order, uniq);
    if (nu <= k) {
        for (int c = 0; c < k; c++)
            memcpy(cent + (size_t)c * dim, x + uniq[c < nu ? c : 0] * dim, (size_t)dim * sizeof *cent);
        goto done;
    }
    /* k distinct starting points: a partial Fisher-Yates shuffle of the distinct ones. */
    uint64_t rs = seed;
    for (int c = 0; c < k; c++) {
        int64_t j = c + (int64_t)(next_u64(&rs) % (uint64_t)(nu - c));
        int64_t t = uniq[c];
        uniq[c] = uniq[j];
        uniq[j] = t;
        memcpy(cent + (size_t)c * dim, x + uniq[c] * dim, (size_t)dim * sizeof *cent);
    }
    for (int it = 0; it < iters; it++) {
        for (int c = 0; c < k; c++) {
            float s = 0.0f;
            for (int j = 0; j < dim; j++) s += cent[(size_t)c * dim + j] * cent[(size_t)c * dim + j];
            cnorm[c] = s;
        }
        for (int64_t p0 = 0; p0 < n; p0 += CHUNK)
            assign_chunk(p0, n - p0 < CHUNK ? n - p0 : CHUNK, dim, x, k, cent, cnorm, dots, assign, dist);
        memset(sum, 0, (size_t)k * (size_t)dim * sizeof *sum);
        memset(count, 0, (size_t)k * sizeof *count);
        for (int64_t i = 0; i < n; i++) {
            count[assign[i]]++;
            for (int j = 0; j < dim; j++) sum[(size_t)assign[i] * dim + j] += x[i * dim + j];
        }
        for (int c = 0; c < k; c++) {
            if (count[c] > 0) {
                for (int j = 0; j < dim; j++) cent[(size_t)c * dim + j] = (float)(sum[(size_t)c * dim + j] / (double)count[c]);
                continue;
            }
            /* Empty: take the worst-served point, and make it unavailable to the next empty one. */
            int64_t far = 0;
            for (int64_t i = 1; i < n; i++)
                if (dist[i] > dist[far]) far = i;
            memcpy(cent + (size_t)c * dim, x + far * dim, (size_t)dim * sizeof *cent);
            dist[far] = -1.0f;
        }
    }
done:
    mvke_free(order);
    mvke_free(uniq);
    mvke_free(assign);
    mvke_free(dist);
    mvke_free(dots);
    mvke_free(cnorm);
    mvke_free(sum);
    mvke_free(count);
    return st;
}
