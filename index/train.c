/*
 * train.c - mvke_index_train: the parameters of the sq8 and pq codecs from a sample of rows.
 * They are computed into a fresh codec outside the lock and installed in one step, so a failed
 * training leaves the index as it was.
 */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "../kernels/runtime.h"
#include "index_impl.h"
#include "kmeans.h"

/* pq: at most this many sample rows (FAISS's default cap: 256 points per centroid). */
#define PQ_MAX_TRAIN (256 * MVKE_PQ_CENTROIDS)
#define PQ_ITERS 20
#define PQ_SEED 0x6d766b65ull

static mvke_status train_sq8(mvke_codec *c, int64_t n, const float *x) {
    const int64_t D = (int64_t)c->K * c->d;
    for (int64_t i = 0; i < D; i++) {
        float lo = x[i], hi = x[i];
        for (int64_t r = 1; r < n; r++) {
            const float v = x[r * D + i];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        const double scale = ((double)hi - (double)lo) / 255.0;
        c->vmin[i] = lo;
        c->scale[i] = (float)scale;
        if (!isfinite(c->scale[i]))
            return mvke_error(MVKE_ERR_NONFINITE, "sq8: value %lld (expert %lld, dim %lld) spans [%g, %g], beyond float32",
                              (long long)i, (long long)(i / c->d), (long long)(i % c->d), (double)lo, (double)hi);
    }
    return MVKE_OK;
}

static mvke_status train_pq(mvke_codec *c, int64_t n, const float *x) {
    const int64_t D = (int64_t)c->K * c->d;
    const int64_t ns = n < PQ_MAX_TRAIN ? n : PQ_MAX_TRAIN;
    const int nsub = c->K * c->m;
    int failed = 0;
    mvke_status st = MVKE_OK;
#pragma omp parallel reduction(| : failed)
    {
        omp_set_num_threads(1); /* BLAS inside k-means stays on this thread */
        float *buf = mvke_malloc_array((size_t)ns * (size_t)(c->d / c->m + 1), sizeof *buf);
        if (!buf) failed = 1;
#pragma omp for schedule(dynamic, 1)
        for (int s = 0; s < nsub; s++) {
            if (failed) continue;
            const int k = s / c->m, j = s % c->m, ds = mvke_pq_dsub(c, j);
            for (int64_t i = 0; i < ns; i++) {
                /* Evenly spaced rows of a larger sample. */
                const int64_t r = ns == n ? i : (int64_t)((double)i * (double)n / (double)ns);
                memcpy(buf + i * ds, x + r * D + (int64_t)k * c->d + c->off[j], (size_t)ds * sizeof *buf);
            }
            if (mvke_kmeans(ns, ds, buf, MVKE_PQ_CENTROIDS, PQ_ITERS, PQ_SEED + (uint64_t)s,
                            (float *)mvke_pq_table(c, k, j)) != MVKE_OK)
                failed = 1;
        }
        mvke_free(buf);
    }
    if (failed) st = mvke_error(MVKE_ERR_NOMEM, "out of memory training pq on %lld rows", (long long)ns);
    return st;
}

mvke_status mvke_index_train(mvke_index *ix, int64_t n, const float *x) {
    mvke_error_clear();
    if (!ix) return mvke_error(MVKE_ERR_INVALID, "index is NULL");
    if (n < 1) return mvke_error(MVKE_ERR_INVALID, "training needs at least one row (n = %lld)", (long long)n);
    if (!x) return mvke_error(MVKE_ERR_INVALID, "training rows are NULL");
    mvke_store *s = &ix->store;
    const int64_t D = s->D;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < D; j++)
            if (!isfinite(x[i * D + j]))
                return mvke_error(MVKE_ERR_NONFINITE, "training row %lld: value %lld is %s", (long long)i,
                                  (long long)j, isnan(x[i * D + j]) ? "NaN" : "Inf");
    if (!mvke_storage_is_codec(s->storage)) return MVKE_OK;

    mvke_codec fresh;
    if (mvke_codec_init(&fresh, s->K, s->d, s->storage, s->codec.m) != 0)
        return mvke_error(MVKE_ERR_NOMEM, "out of memory for the %s codec", mvke_storage_name(s->storage));
    mvke_status st = s->storage == MVKE_STORAGE_SQ8 ? train_sq8(&fresh, n, x) : train_pq(&fresh, n, x);
    /* The scale of the bounds (certified search): the median residual of the sample. */
    if (st == MVKE_OK && mvke_codec_train_bounds(&fresh, n, x) != 0)
        st = mvke_error(MVKE_ERR_NOMEM, "out of memory measuring the %s codes' residuals", mvke_storage_name(s->storage));
    if (st == MVKE_OK) {
        fresh.trained = 1;
        fresh.train_rows = n;
        mvke_index_wrlock(ix);
        if (s->count > 0) {
            st = mvke_error(MVKE_ERR_INVALID, "the index holds %lld rows coded with its parameters: reset it before training",
                            (long long)s->count);
        } else {
            mvke_codec_take(&s->codec, &fresh);
            ix->version++;
        }
        mvke_index_unlock(ix);
    }
    mvke_codec_release(&fresh);
    return st;
}
