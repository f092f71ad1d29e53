/*
 * search.c - the search drivers of mvke_index: check the queries, compute their Gram triangles,
 * take the read lock and hand the blocks to the backend.
 */
#include <math.h>
#include <omp.h>

#include "../kernels/gram.h"
#include "../kernels/runtime.h"
#include "allow_impl.h"
#include "index_impl.h"
#include "listed.h"
#include "result.h"

/* Whether query row q is finite and its Gram triangle fits float32 (computed into gram). */
static int query_ok(int K, int d, int64_t D, const float *q, float *gram) {
    for (int64_t j = 0; j < D; j++)
        if (!isfinite(q[j])) return 0;
    return mvke_gram_plain(K, d, q, gram) == 0;
}

/* Checks nq query rows and computes their plain Gram triangles into *gram_out (mvke_malloc'd).
 * Rows are independent, so a large batch (user rows of a batch tagging job) is checked with
 * the index's threads; the error names the first bad row whatever the threads. */
static mvke_status prepare_queries(const mvke_index *ix, int64_t nq, const float *queries,
                                   float **gram_out) {
    const int K = ix->store.K, d = ix->store.d;
    const int64_t D = ix->store.D, P = ix->store.P;
    *gram_out = NULL;
    if (nq < 0) return mvke_error(MVKE_ERR_INVALID, "nq = %lld is negative", (long long)nq);
    if (nq > 0 && !queries) return mvke_error(MVKE_ERR_INVALID, "queries are NULL");
    float *gram = mvke_malloc_array((size_t)(nq ? nq : 1) * (size_t)P, sizeof *gram);
    if (!gram) return mvke_error(MVKE_ERR_NOMEM, "out of memory for %lld queries", (long long)nq);
    int64_t bad = nq;
    const int threads = ix->threads > 0 ? ix->threads : omp_get_max_threads();
#pragma omp parallel for schedule(static, 1024) reduction(min : bad) num_threads(threads) if (nq >= 4096)
    for (int64_t i = 0; i < nq; i++)
        if (i < bad && !query_ok(K, d, D, queries + i * D, gram + i * P)) bad = i;
    if (bad < nq) {
        const float *q = queries + bad * D;
        mvke_free(gram);
        for (int64_t j = 0; j < D; j++)
            if (!isfinite(q[j]))
                return mvke_error(MVKE_ERR_NONFINITE, "query %lld: value %lld is %s", (long long)bad,
                                  (long long)j, isnan(q[j]) ? "NaN" : "Inf");
        return mvke_error(MVKE_ERR_NONFINITE, "query %lld: squared norms overflow float32", (long long)bad);
    }
    *gram_out = gram;
    return MVKE_OK;
}

/* The calling thread's last search stats (mvke_last_search_stats). */
static _Thread_local mvke_search_stats last_stats;

mvke_status mvke_last_search_stats(mvke_search_stats *out) {
    if (!out) return mvke_error(MVKE_ERR_INVALID, "out is NULL");
    *out = last_stats;
    return MVKE_OK;
}

/* Runs fn with the store viewed as backend blocks, under the read lock. */
typedef mvke_status (*with_db_fn)(const mvke_index *ix, const mvke_kdb *db, void *arg);

static mvke_status with_db(const mvke_index *ix, with_db_fn fn, void *arg) {
    mvke_index_rdlock(ix);
    const mvke_store *s = &ix->store;
    mvke_kblock *blocks = mvke_malloc_array((size_t)(s->nblocks ? s->nblocks : 1), sizeof *blocks);
    mvke_status st;
    if (!blocks) {
        st = mvke_error(MVKE_ERR_NOMEM, "out of memory viewing %lld blocks", (long long)s->nblocks);
    } else if ((st = mvke_store_check_all(s)) != MVKE_OK) {
        /* a mapped block failed its first-use check: no answer from those bytes */
    } else {
        mvke_kdb db;
        mvke_kstats ks = {s->count, 0, !mvke_storage_is_codec(s->storage), 0};
        mvke_store_view(s, blocks, &db);
        /* A codec index with its rows: certified (exact mode) or the R*k best re-scored. */
        db.refine_R = !s->L.refine ? 0 : ix->mode == MVKE_SEARCH_EXACT ? -1 : ix->refine_R;
        db.stats = &ks;
        st = fn(ix, &db, arg);
        if (st == MVKE_OK) last_stats = (mvke_search_stats){ks.scanned, ks.refined, ks.certified, ks.lists};
    }
    mvke_free(blocks);
    mvke_index_unlock(ix);
    return st;
}

typedef struct search_args {
    mvke_kqueries q;
    const mvke_kfilter *filter;
    int64_t k;
    float min_score;
    float *scores;
    int64_t *ids;
    mvke_kranges ranges;
} search_args;

static mvke_status check_trained(const mvke_index *ix) {
    if (mvke_store_trained(&ix->store)) return MVKE_OK;
    return mvke_error(MVKE_ERR_UNTRAINED, "the %s index is not trained: call mvke_index_train with a sample first",
                      mvke_storage_name(ix->store.storage));
}

static mvke_status do_knn(const mvke_index *ix, const mvke_kdb *db, void *arg) {
    search_args *a = arg;
    mvke_status st = check_trained(ix);
    if (st != MVKE_OK) return st;
    if (mvke_listed_applies(ix)) return mvke_listed_knn(ix, db, &a->q, a->k, a->filter, a->scores, a->ids);
    return ix->backend->knn(ix->backend, db, &a->q, a->k, a->filter, ix->threads, a->scores, a->ids);
}

static mvke_status do_range(const mvke_index *ix, const mvke_kdb *db, void *arg) {
    search_args *a = arg;
    mvke_status st = check_trained(ix);
    if (st != MVKE_OK) return st;
    if (mvke_listed_applies(ix)) return mvke_listed_range(ix, db, &a->q, a->min_score, a->filter, &a->ranges);
    return ix->backend->range(ix->backend, db, &a->q, a->min_score, a->filter, ix->threads, &a->ranges);
}

mvke_status mvke_index_search(const mvke_index *ix, int64_t nq, const float *queries, int64_t k,
                              const mvke_allow *allow, float *scores, int64_t *ids) {
    mvke_error_clear();
    if (!ix) return mvke_error(MVKE_ERR_INVALID, "index is NULL");
    if (k <= 0) return mvke_error(MVKE_ERR_BAD_K, "k = %lld: the number of results must be > 0", (long long)k);
    if (nq > 0 && (!scores || !ids)) return mvke_error(MVKE_ERR_INVALID, "scores or ids is NULL");
    size_t total;
    if (nq > 0 && !mvke_mul_ok((size_t)nq, (size_t)k, &total))
        return mvke_error(MVKE_ERR_INVALID, "nq * k overflows");
    float *gram;
    mvke_status st = prepare_queries(ix, nq, queries, &gram);
    if (st != MVKE_OK) return st;
    if (nq > 0) {
        search_args a = {{nq, queries, gram}, allow ? &allow->filter : NULL, k, 0.0f, scores, ids, {0}};
        st = with_db(ix, do_knn, &a);
    }
    mvke_free(gram);
    return st;
}

mvke_status mvke_index_range_search(const mvke_index *ix, int64_t nq, const float *queries,
                                    float min_score, const mvke_allow *allow, mvke_result **out) {
    mvke_error_clear();
    if (!ix || !out) return mvke_error(MVKE_ERR_INVALID, "index or out is NULL");
    *out = NULL;
    if (isnan(min_score)) return mvke_error(MVKE_ERR_NONFINITE, "min_score is NaN");
    float *gram;
    mvke_status st = prepare_queries(ix, nq, queries, &gram);
    if (st != MVKE_OK) return st;
    search_args a = {{nq, queries, gram}, allow ? &allow->filter : NULL, 0, min_score, NULL, NULL, {0}};
    st = with_db(ix, do_range, &a);
    mvke_free(gram);
    if (st != MVKE_OK) return st;
    return mvke_result_from_ranges(&a.ranges, out);
}
