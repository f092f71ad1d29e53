/*
 * kmeans.c - Lloyd's k-means (kmeans.h).
 *
 * The distances are plain loops, not BLAS: the points are short (a pq sub-space holds a few
 * dimensions), where a matrix product gains little, and without BLAS the library and the `mvke`
 * tool do not load OpenBLAS, whose start-up spins for ever when its thread buffers cannot be
 * reserved (a process under `ulimit -v`).
 */
#include "kmeans.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/cpu/cpu_features.h"
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

/* Nearest centroid of points [p0, p0+np) into assign, and the squared distance into dist. The
 * chunk is transposed (dimension-major, in xt) so that every loop runs over the points, which
 * the compiler vectorises: for each centroid, its inner products with all the chunk's points,
 * then a branch-free running minimum. acc, best and arg hold CHUNK floats / ints each. One body,
 * compiled for each instruction set, chosen by the one reader of the CPU (capped by MVKE_CPU). */
static inline __attribute__((always_inline)) void assign_body(int64_t p0, int64_t np, int dim, const float *x, int k,
                                                              const float *cent, const float *cnorm, float *xt,
                                                              float *acc, float *best, int *arg, int *assign,
                                                              float *dist) {
    const float *xp = x + p0 * dim;
    for (int64_t i = 0; i < np; i++)
        for (int j = 0; j < dim; j++) xt[(size_t)j * CHUNK + i] = xp[i * dim + j];
    for (int64_t i = 0; i < np; i++) {
        best[i] = FLT_MAX;
        arg[i] = 0;
    }
    for (int c = 0; c < k; c++) {
        const float *cc = cent + (size_t)c * dim;
        for (int64_t i = 0; i < np; i++) acc[i] = 0.0f;
        for (int j = 0; j < dim; j++) {
            const float w = cc[j], *xr = xt + (size_t)j * CHUNK;
            for (int64_t i = 0; i < np; i++) acc[i] += xr[i] * w;
        }
        const float cn = cnorm[c];
        for (int64_t i = 0; i < np; i++) {
            const float v = cn - 2.0f * acc[i];
            const int better = v < best[i];
            best[i] = better ? v : best[i];
            arg[i] = better ? c : arg[i];
        }
    }
    for (int64_t i = 0; i < np; i++) {
        float xn = 0.0f;
        for (int j = 0; j < dim; j++) xn += xp[i * dim + j] * xp[i * dim + j];
        assign[p0 + i] = arg[i];
        dist[p0 + i] = best[i] + xn;
    }
}

#define ASSIGN_ARGS                                                                                             \
    int64_t p0, int64_t np, int dim, const float *x, int k, const float *cent, const float *cnorm, float *xt, \
        float *acc, float *best, int *arg, int *assign, float *dist
#define ASSIGN_CALL assign_body(p0, np, dim, x, k, cent, cnorm, xt, acc, best, arg, assign, dist)

static void assign_generic(ASSIGN_ARGS) { ASSIGN_CALL; }
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2,fma"))) static void assign_avx2(ASSIGN_ARGS) { ASSIGN_CALL; }
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma"))) static void assign_avx512(ASSIGN_ARGS) { ASSIGN_CALL; }
#endif

static void assign_chunk(ASSIGN_ARGS) {
#if defined(__x86_64__) && defined(__GNUC__)
    const unsigned f = mvke_cpu_features();
    if (f & MVKE_CPU_HAS_AVX512) {
        assign_avx512(p0, np, dim, x, k, cent, cnorm, xt, acc, best, arg, assign, dist);
        return;
    }
    if (f & MVKE_CPU_HAS_AVX2) {
        assign_avx2(p0, np, dim, x, k, cent, cnorm, xt, acc, best, arg, assign, dist);
        return;
    }
#endif
    assign_generic(p0, np, dim, x, k, cent, cnorm, xt, acc, best, arg, assign, dist);
}

/* Nearest centroid of every point, chunks spread over the threads (one thread inside another
 * parallel region, as in pq training). cnorm: the centroids' squared norms. */
static mvke_status assign_all(int64_t n, int dim, const float *x, int k, const float *cent, const float *cnorm,
                              int *assign, float *dist) {
    int failed = 0;
#pragma omp parallel reduction(| : failed) if (n > CHUNK)
    {
        float *xt = mvke_malloc_array((size_t)CHUNK * (size_t)dim, sizeof *xt);
        float *acc = mvke_malloc_array((size_t)CHUNK * 2, sizeof *acc); /* inner products, then the best */
        int *arg = mvke_malloc_array((size_t)CHUNK, sizeof *arg);
        if (!xt || !acc || !arg) failed = 1;
#pragma omp for schedule(dynamic, 1)
        for (int64_t p0 = 0; p0 < n; p0 += CHUNK)
            if (!failed)
                assign_chunk(p0, n - p0 < CHUNK ? n - p0 : CHUNK, dim, x, k, cent, cnorm, xt, acc, acc + CHUNK, arg,
                             assign, dist);
        mvke_free(xt);
        mvke_free(acc);
        mvke_free(arg);
    }
    return failed ? mvke_error(MVKE_ERR_NOMEM, "out of memory assigning %lld points", (long long)n) : MVKE_OK;
}

static void norms_of(int k, int dim, const float *cent, float *cnorm) {
    for (int c = 0; c < k; c++) {
        float s = 0.0f;
        for (int j = 0; j < dim; j++) s += cent[(size_t)c * dim + j] * cent[(size_t)c * dim + j];
        cnorm[c] = s;
    }
}

mvke_status mvke_kmeans_assign(int64_t n, int dim, const float *x, int k, const float *cent, int *assign) {
    if (n < 0 || dim < 1 || k < 1 || (n && (!x || !assign)) || !cent)
        return mvke_error(MVKE_ERR_INVALID, "assigning %lld points of dimension %d to %d centroids", (long long)n, dim, k);
    float *cnorm = mvke_malloc_array((size_t)k, sizeof *cnorm);
    float *dist = mvke_malloc_array((size_t)(n ? n : 1), sizeof *dist);
    mvke_status st = cnorm && dist ? MVKE_OK : mvke_error(MVKE_ERR_NOMEM, "out of memory assigning %lld points", (long long)n);
    if (st == MVKE_OK) {
        norms_of(k, dim, cent, cnorm);
        st = assign_all(n, dim, x, k, cent, cnorm, assign, dist);
    }
    mvke_free(cnorm);
    mvke_free(dist);
    return st;
}

mvke_status mvke_kmeans(int64_t n, int dim, const float *x, int k, int iters, uint64_t seed, float *cent) {
    if (n < 1 || dim < 1 || k < 1 || iters < 0 || !x || !cent)
        return mvke_error(MVKE_ERR_INVALID, "k-means of %lld points of dimension %d into %d centroids, %d iterations",
                          (long long)n, dim, k, iters);
    int64_t *order = mvke_malloc_array((size_t)n, sizeof *order);
    int64_t *uniq = mvke_malloc_array((size_t)n, sizeof *uniq);
    int *assign = mvke_malloc_array((size_t)n, sizeof *assign);
    float *dist = mvke_malloc_array((size_t)n, sizeof *dist);
    float *cnorm = mvke_malloc_array((size_t)k, sizeof *cnorm);
    double *sum = mvke_malloc_array((size_t)k * (size_t)dim, sizeof *sum);
    int64_t *count = mvke_malloc_array((size_t)k, sizeof *count);
    mvke_status st = MVKE_OK;
    if (!order || !uniq || !assign || !dist || !cnorm || !sum || !count) {
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
        norms_of(k, dim, cent, cnorm);
        if ((st = assign_all(n, dim, x, k, cent, cnorm, assign, dist)) != MVKE_OK) goto done;
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
    mvke_free(cnorm);
    mvke_free(sum);
    mvke_free(count);
    return st;
}
