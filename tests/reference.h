/*
 * reference.h - the test oracle: MVKE scores computed the direct way, in double, by
 * materialising the tag-specific user vector E(u,t) = sum_k w[k] e[u][k], plus random data and
 * the comparison of a search result against the oracle's ranking.
 */
#ifndef MVKE_TESTS_REFERENCE_H
#define MVKE_TESTS_REFERENCE_H

#include <stdint.h>

#include "mvke/mvke.h"
#include "support/oracle.h"

/* Deterministic random numbers: one sequential stream of support/rng.h, restarted by ref_seed. */
void ref_seed(uint64_t seed);
double ref_uniform(void);       /* in (0, 1) */
float ref_normal(void);         /* standard normal */
void ref_fill_normal(float *v, int64_t n);

/* s(u,t) = cos(E, q), E = sum_k w[k] x[k*d .. k*d+d), computed in double; 0 when a norm is 0. */
double ref_score(int K, int d, const float *x, const float *q, const float *w);

/* The score of a compressed row: the numerator <E_num, q> from xnum (the decoded row), the norm
 * |E_den| from xden (the exact row whose Gram triangle is stored); 0 when a norm is 0. */
double ref_score_split(int K, int d, const float *xnum, const float *xden, const float *q, const float *w);

/* The dot score <E, q> in double, and ref_rank for it (support/oracle.h). */
double ref_score_dot(int K, int d, const float *x, const float *q, const float *w);
int64_t ref_rank_dot(int K, int d, int64_t n, const float *x, const int64_t *ids, const uint8_t *allowed,
                     const float *q, const float *w, oracle_hit *hits);

/* One expected list entry (support/oracle.h). */
typedef oracle_hit ref_hit;

/* The slack of one pair (see ref_hit). */
double ref_slack(int K, int d, const float *x, const float *q, const float *w);

/* All n users' scores for (q, w), eligible ones only (allowed NULL: all; else allowed[i] != 0),
 * sorted by score descending then id ascending, into hits (n entries); returns the count. */
int64_t ref_rank(int K, int d, int64_t n, const float *x, const int64_t *ids, const uint8_t *allowed,
                 const float *q, const float *w, ref_hit *hits);

/* ref_rank with ref_score_split: xnum the decoded rows, xden the exact ones (slack from xden). */
int64_t ref_rank_split(int K, int d, int64_t n, const float *xnum, const float *xden, const int64_t *ids,
                       const float *q, const float *w, ref_hit *hits);

/* Checks a top-k list against the oracle ranking `ref` (nref entries): the list has
 * min(k, nref) entries, every score is within tol of the oracle's score of its id and of the
 * oracle's score at the same rank, scores never increase, and ids agree with the oracle except
 * where scores tie within tol. score_of(id) gives the oracle score of any id. */
void ref_check_topk(const int64_t *ids, const float *scores, int64_t n, int64_t k,
                    const ref_hit *ref, int64_t nref, double tol);

/* Checks a threshold list: exactly the oracle ids with score >= min (ids within tol of the
 * threshold may be on either side), sorted, scores within tol. */
void ref_check_range(const int64_t *ids, const float *scores, int64_t n, float min,
                     const ref_hit *ref, int64_t nref, double tol);

/* Checks that two results hold the same lists, ids and scores bit for bit (what names the pair). */
void ref_check_same_results(const mvke_result *a, const mvke_result *b, const char *what);

#endif
