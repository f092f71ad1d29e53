/*
 * naive.h - the naive method, the one baseline every comparison of this project is made against
 * (the demo's "against the naive method", the benchmark's "naive" rows): what a user would write
 * without this library. For each tag it materialises the tag-specific user vector
 * E(u) = sum_k w[k] e_k(u) for every user into a buffer, then scans the buffer computing
 * cos(E(u), q) (or <E(u), q> for the dot score) and keeps the best through the library's own selection (kernels/cpu/topk.h), so
 * that its answers can be compared with mvke_index_search entry by entry.
 *
 * Numerics are those of plain float32 code: E and the dot products accumulate in float; the
 * final division is done in double. It is a baseline, not a second implementation of the search.
 */
#ifndef MVKE_SUPPORT_NAIVE_H
#define MVKE_SUPPORT_NAIVE_H

#include <stdint.h>

#include "kernels/cpu/topk.h"
#include "mvke/mvke.h"

/* The users the method scans and its buffers. */
typedef struct bench_naive {
    int K, d;
    int64_t n;
    const float *x;       /* n rows of K*d floats (the caller's, not copied) */
    const int64_t *ids;   /* n ids (the caller's), or NULL for 0 .. n-1 */
    int threads;          /* 0: OpenMP's default */
    mvke_score kind;      /* the scan's score: cosine (after init), or dot <E(u), q> */
    float *E;             /* n x d: the materialised vectors */
    float *score;         /* n: the scan's scores */
    double materialise_s; /* seconds of the last call's two steps, summed over its tags */
    double scan_s;
} bench_naive;

/* Prepares the method over n users x (K*d floats each) with ids (NULL: 0 .. n-1).
 * Errors: MVKE_ERR_INVALID, MVKE_ERR_DIM, MVKE_ERR_NOMEM (nv is then empty). */
mvke_status bench_naive_init(bench_naive *nv, int K, int d, int64_t n, const float *x, const int64_t *ids,
                             int threads);
void bench_naive_release(bench_naive *nv);

/* The k best users of each of nq tags (q: nq x d embeddings, w: nq x K gates), with the output
 * contract of mvke_index_search: scores and ids hold nq x k entries, each query's best first,
 * equal scores by smaller id, padded with -INFINITY and id -1 past the n users.
 * Errors: MVKE_ERR_INVALID, MVKE_ERR_BAD_K. */
mvke_status bench_naive_search(bench_naive *nv, int64_t nq, const float *q, const float *w, int64_t k,
                               float *scores, int64_t *ids);

/* Every user with score >= min_score for one tag, into out (empty on entry; released with
 * mvke_hits_release), sorted as mvke_index_range_search sorts a list.
 * Errors: MVKE_ERR_INVALID, MVKE_ERR_NOMEM. */
mvke_status bench_naive_range(bench_naive *nv, const float *q, const float *w, float min_score, mvke_hits *out);

#endif
