/*
 * naive.c - the naive materialise-then-scan method (naive.h).
 */
#include "naive.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

mvke_status bench_naive_init(bench_naive *nv, int K, int d, int64_t n, const float *x, const int64_t *ids,
                             int threads) {
    memset(nv, 0, sizeof *nv);
    if (n < 0 || (n > 0 && !x) || threads < 0) return MVKE_ERR_INVALID;
    if (K < 1 || K > MVKE_MAX_K || d < 1 || d > MVKE_MAX_D) return MVKE_ERR_DIM;
    nv->E = malloc((size_t)(n ? n : 1) * (size_t)d * sizeof *nv->E);
    nv->score = malloc((size_t)(n ? n : 1) * sizeof *nv->score);
    if (!nv->E || !nv->score) {
        bench_naive_release(nv);
        return MVKE_ERR_NOMEM;
    }
    nv->K = K;
    nv->d = d;
    nv->n = n;
    nv->x = x;
    nv->ids = ids;
    nv->threads = threads;
    return MVKE_OK;
}

void bench_naive_release(bench_naive *nv) {
    free(nv->E);
    free(nv->score);
    memset(nv, 0, sizeof *nv);
}

static int threads_of(const bench_naive *nv) { return nv->threads > 0 ? nv->threads : omp_get_max_threads(); }

/* Both steps for one tag: E(u) for every user, then score[u] = cos(E(u), q). */
static void materialise_and_score(bench_naive *nv, const float *q, const float *g) {
    const int K = nv->K, d = nv->d;
    const int64_t n = nv->n;
    float *E = nv->E, *score = nv->score;
    const float *xs = nv->x;
    double qn = 0;
    for (int j = 0; j < d; j++) qn += (double)q[j] * q[j];
    qn = sqrt(qn);
    double t0 = bench_now();
#pragma omp parallel for schedule(static) num_threads(threads_of(nv))
    for (int64_t u = 0; u < n; u++) {
        float *e = E + (size_t)u * d;
        const float *x = xs + (size_t)u * K * d;
        for (int j = 0; j < d; j++) e[j] = 0;
        for (int kk = 0; kk < K; kk++)
            for (int j = 0; j < d; j++) e[j] += g[kk] * x[(size_t)kk * d + j];
    }
    double t1 = bench_now();
#pragma omp parallel for schedule(static) num_threads(threads_of(nv))
    for (int64_t u = 0; u < n; u++) {
        const float *e = E + (size_t)u * d;
        float dot = 0, en = 0;
        for (int j = 0; j < d; j++) {
            dot += e[j] * q[j];
            en += e[j] * e[j];
        }
        if (nv->kind == MVKE_SCORE_DOT) score[u] = dot;
        else score[u] = en > 0 && qn > 0 ? (float)(dot / (sqrt(en) * qn)) : 0.0f;
    }
    nv->materialise_s += t1 - t0;
    nv->scan_s += bench_now() - t1;
}

static int64_t id_of(const bench_naive *nv, int64_t u) { return nv->ids ? nv->ids[u] : u; }

mvke_status bench_naive_search(bench_naive *nv, int64_t nq, const float *q, const float *w, int64_t k,
                               float *scores, int64_t *ids) {
    if (!nv || nq < 0 || (nq > 0 && (!q || !w || !scores || !ids))) return MVKE_ERR_INVALID;
    if (k < 1) return MVKE_ERR_BAD_K;
    nv->materialise_s = nv->scan_s = 0;
    const int nt = threads_of(nv);
    /* One heap per thread over its share of the users, merged into the query's heap: the total
     * order of topk.h makes the result independent of the split. */
    float *ts = malloc((size_t)nt * (size_t)k * sizeof *ts);
    int64_t *ti = malloc((size_t)nt * (size_t)k * sizeof *ti);
    int64_t *tn = calloc((size_t)nt, sizeof *tn);
    if (!ts || !ti || !tn) {
        free(ts);
        free(ti);
        free(tn);
        return MVKE_ERR_NOMEM;
    }
    for (int64_t i = 0; i < nq; i++) {
        materialise_and_score(nv, q + (size_t)i * nv->d, w + (size_t)i * nv->K);
        double t0 = bench_now();
#pragma omp parallel num_threads(nt)
        {
            const int me = omp_get_thread_num(), all = omp_get_num_threads();
            mvke_topk h;
            mvke_topk_init(&h, ts + (size_t)me * k, ti + (size_t)me * k, k);
            const int64_t lo = nv->n * me / all, hi = nv->n * (me + 1) / all;
            for (int64_t u = lo; u < hi; u++)
                if (mvke_topk_admits(&h, nv->score[u], id_of(nv, u))) mvke_topk_push(&h, nv->score[u], id_of(nv, u));
            tn[me] = h.n;
        }
        mvke_topk best;
        mvke_topk_init(&best, scores + (size_t)i * k, ids + (size_t)i * k, k);
        for (int t = 0; t < nt; t++)
            for (int64_t j = 0; j < tn[t]; j++) mvke_topk_push(&best, ts[(size_t)t * k + j], ti[(size_t)t * k + j]);
        mvke_topk_finish(&best);
        memset(tn, 0, (size_t)nt * sizeof *tn);
        nv->scan_s += bench_now() - t0;
    }
    free(ts);
    free(ti);
    free(tn);
    return MVKE_OK;
}

mvke_status bench_naive_range(bench_naive *nv, const float *q, const float *w, float min_score, mvke_hits *out) {
    if (!nv || !q || !w || !out) return MVKE_ERR_INVALID;
    nv->materialise_s = nv->scan_s = 0;
    materialise_and_score(nv, q, w);
    double t0 = bench_now();
    for (int64_t u = 0; u < nv->n; u++)
        if (nv->score[u] >= min_score && mvke_hits_push(out, nv->score[u], id_of(nv, u)) != 0) {
            mvke_hits_release(out);
            return MVKE_ERR_NOMEM;
        }
    mvke_pairs_sort(out->s, out->id, out->n);
    nv->scan_s += bench_now() - t0;
    return MVKE_OK;
}
