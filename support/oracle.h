/*
 * oracle.h - the float64 oracle of the MVKE score, computed the direct way by materialising the
 * tag-specific user vector E(u,t) = sum_k w[k] e[u][k], and the comparison of a search result
 * with the oracle's ranking. Free of any test framework: the tests (tests/reference.h) and the
 * kernel harness (kernel_harness.h) report its messages their own way.
 */
#ifndef MVKE_SUPPORT_ORACLE_H
#define MVKE_SUPPORT_ORACLE_H

#include <stddef.h>
#include <stdint.h>

/* s(u,t) = cos(E, q), E = sum_k w[k] x[k*d .. k*d+d), in double; 0 when a norm is 0. */
double oracle_score(int K, int d, const float *x, const float *q, const float *w);

/* The score of a compressed row: the numerator <E_num, q> from xnum (the decoded row), the norm
 * |E_den| from xden (the exact row whose Gram triangle is stored); 0 when a norm is 0; clamped
 * to [-1, 1]. */
double oracle_score_split(int K, int d, const float *xnum, const float *xden, const float *q, const float *w);

/* One expected list entry. `slack` widens the tolerance for this pair by the rounding error
 * float32 arithmetic cannot avoid when gates cancel experts: with
 * cond = sum_k |w[k]| |e[k]| / |E|, the Gram identity's relative error in |E|^2 |q|^2 is about
 * eps * cond^2 (the numerator's about eps * cond), so slack = 4 * FLT_EPSILON * (cond^2 + cond).
 * For softmax gates over unrelated experts cond is small and slack negligible. */
typedef struct oracle_hit {
    int64_t id;
    double score;
    double slack;
} oracle_hit;

/* The slack of one pair (see oracle_hit). */
double oracle_slack(int K, int d, const float *x, const float *q, const float *w);

/* All n users' scores for (q, w), eligible ones only (allowed NULL: all; else allowed[i] != 0),
 * sorted by score descending then id ascending, into hits (n entries); returns the count. With
 * xden != NULL the scores are oracle_score_split(xnum, xden) (decoded rows, exact norms) and the
 * slack is xden's; else oracle_score(xnum). ids NULL: 0 .. n-1. */
int64_t oracle_rank(int K, int d, int64_t n, const float *xnum, const float *xden, const int64_t *ids,
                    const uint8_t *allowed, const float *q, const float *w, oracle_hit *hits);

/* The dot score s(u,t) = <E, q> = sum_k w[k] <e[k], q>, in double. */
double oracle_score_dot(int K, int d, const float *x, const float *q, const float *w);

/* oracle_rank for the dot score: scores oracle_score_dot(xnum), slack the float32 rounding a
 * kernel's sums may reach, 2 (K d + 8) FLT_EPSILON sum_k |w[k]| |e[k]| |q| (absolute). */
int64_t oracle_rank_dot(int K, int d, int64_t n, const float *xnum, const int64_t *ids, const uint8_t *allowed,
                        const float *q, const float *w, oracle_hit *hits);

/* Checks a top-k list against the oracle ranking `ref` (nref entries): the list has
 * min(k, nref) entries, every score is within tol of the oracle's score of its id and of the
 * oracle's score at the same rank, scores never increase, ids agree with the oracle except where
 * scores tie within tol, no id twice. Returns 0, or -1 with what is wrong in msg (cap bytes). */
int oracle_check_topk(const int64_t *ids, const float *scores, int64_t n, int64_t k, const oracle_hit *ref,
                      int64_t nref, double tol, char *msg, size_t cap);

/* Checks that a list's entries are eligible rows with scores within tol of the oracle's, at
 * least `min`, sorted (score descending, then id ascending) and distinct; not which rows it
 * holds (a refined answer over fewer candidates than rows). Returns 0 or -1 with msg. */
int oracle_check_scores(const int64_t *ids, const float *scores, int64_t n, float min, const oracle_hit *ref,
                        int64_t nref, double tol, char *msg, size_t cap);

/* Checks a threshold list: exactly the oracle ids with score >= min (ids within tol of the
 * threshold may be on either side), sorted, scores within tol. Returns 0 or -1 with msg. */
int oracle_check_range(const int64_t *ids, const float *scores, int64_t n, float min, const oracle_hit *ref,
                       int64_t nref, double tol, char *msg, size_t cap);

#endif
