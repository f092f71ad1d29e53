/*
 * reference.c - the tests' face of the float64 oracle (support/oracle.h): its checks as
 * Criterion assertions, and one random stream for test data.
 */
#include "reference.h"

#include <criterion/criterion.h>
#include <string.h>

#include "support/rng.h"

/* One stream of support/rng.h from its first value on, reset by ref_seed. */
static synth_rng stream;

void ref_seed(uint64_t seed) { stream = synth_rng_at(seed, 0); }

double ref_uniform(void) { return synth_rng_uniform(&stream); }

float ref_normal(void) { return (float)synth_rng_normal(&stream); }

void ref_fill_normal(float *v, int64_t n) {
    for (int64_t i = 0; i < n; i++) v[i] = ref_normal();
}

double ref_score(int K, int d, const float *x, const float *q, const float *w) { return oracle_score(K, d, x, q, w); }

double ref_score_split(int K, int d, const float *xnum, const float *xden, const float *q, const float *w) {
    return oracle_score_split(K, d, xnum, xden, q, w);
}

double ref_score_dot(int K, int d, const float *x, const float *q, const float *w) {
    return oracle_score_dot(K, d, x, q, w);
}

int64_t ref_rank_dot(int K, int d, int64_t n, const float *x, const int64_t *ids, const uint8_t *allowed,
                     const float *q, const float *w, oracle_hit *hits) {
    return oracle_rank_dot(K, d, n, x, ids, allowed, q, w, hits);
}

double ref_slack(int K, int d, const float *x, const float *q, const float *w) { return oracle_slack(K, d, x, q, w); }

int64_t ref_rank(int K, int d, int64_t n, const float *x, const int64_t *ids, const uint8_t *allowed,
                 const float *q, const float *w, ref_hit *hits) {
    return oracle_rank(K, d, n, x, NULL, ids, allowed, q, w, hits);
}

int64_t ref_rank_split(int K, int d, int64_t n, const float *xnum, const float *xden, const int64_t *ids,
                       const float *q, const float *w, ref_hit *hits) {
    return oracle_rank(K, d, n, xnum, xden, ids, NULL, q, w, hits);
}

void ref_check_same_results(const mvke_result *a, const mvke_result *b, const char *what) {
    int64_t na = 0, nb = 0;
    mvke_result_nqueries(a, &na);
    mvke_result_nqueries(b, &nb);
    cr_assert_eq(na, nb, "%s: %lld lists, not %lld", what, (long long)nb, (long long)na);
    for (int64_t i = 0; i < na; i++) {
        const int64_t *ja, *jb;
        const float *ta, *tb;
        int64_t ca, cb;
        mvke_result_get(a, i, &ja, &ta, &ca);
        mvke_result_get(b, i, &jb, &tb, &cb);
        cr_assert_eq(ca, cb, "%s, list %lld: %lld entries, not %lld", what, (long long)i, (long long)cb, (long long)ca);
        cr_assert_eq(memcmp(ja, jb, (size_t)ca * sizeof *ja), 0, "%s, list %lld: other ids", what, (long long)i);
        cr_assert_eq(memcmp(ta, tb, (size_t)ca * sizeof *ta), 0, "%s, list %lld: other scores", what, (long long)i);
    }
}

void ref_check_topk(const int64_t *ids, const float *scores, int64_t n, int64_t k,
                    const ref_hit *ref, int64_t nref, double tol) {
    char msg[256];
    if (oracle_check_topk(ids, scores, n, k, ref, nref, tol, msg, sizeof msg) != 0) cr_assert_fail("%s", msg);
}

void ref_check_range(const int64_t *ids, const float *scores, int64_t n, float min,
                     const ref_hit *ref, int64_t nref, double tol) {
    char msg[256];
    if (oracle_check_range(ids, scores, n, min, ref, nref, tol, msg, sizeof msg) != 0) cr_assert_fail("%s", msg);
}
