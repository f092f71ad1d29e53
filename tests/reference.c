/*
 * reference.c - the direct double-precision oracle and result comparison for the tests.
 */
#include "reference.h"

#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "synth/rng.h"

/* One stream of synth/rng.h from its first value on, reset by ref_seed. */
static synth_rng stream;

void ref_seed(uint64_t seed) { stream = synth_rng_at(seed, 0); }

double ref_uniform(void) { return synth_rng_uniform(&stream); }

float ref_normal(void) { return (float)synth_rng_normal(&stream); }

void ref_fill_normal(float *v, int64_t n) {
    for (int64_t i = 0; i < n; i++) v[i] = ref_normal();
}

double ref_score(int K, int d, const float *x, const float *q, const float *w) {
    double e2 = 0, q2 = 0, dot = 0;
    for (int j = 0; j < d; j++) {
        double e = 0;
        for (int k = 0; k < K; k++) e += (double)w[k] * x[k * d + j];
        e2 += e * e;
        q2 += (double)q[j] * q[j];
        dot += e * q[j];
    }
    if (e2 == 0 || q2 == 0) return 0;
    return dot / sqrt(e2 * q2);
}

double ref_score_split(int K, int d, const float *xnum, const float *xden, const float *q, const float *w) {
    double e2 = 0, q2 = 0, dot = 0;
    for (int j = 0; j < d; j++) {
        double en = 0, ed = 0;
        for (int k = 0; k < K; k++) {
            en += (double)w[k] * xnum[k * d + j];
            ed += (double)w[k] * xden[k * d + j];
        }
        e2 += ed * ed;
        q2 += (double)q[j] * q[j];
        dot += en * q[j];
    }
    if (e2 == 0 || q2 == 0) return 0;
    double s = dot / sqrt(e2 * q2);
    return s > 1 ? 1 : s < -1 ? -1 : s;
}

double ref_slack(int K, int d, const float *x, const float *q, const float *w) {
    double e2 = 0, parts = 0;
    for (int j = 0; j < d; j++) {
        double e = 0;
        for (int k = 0; k < K; k++) e += (double)w[k] * x[k * d + j];
        e2 += e * e;
    }
    for (int k = 0; k < K; k++) {
        double n2 = 0;
        for (int j = 0; j < d; j++) n2 += (double)x[k * d + j] * x[k * d + j];
        parts += fabs(w[k]) * sqrt(n2);
    }
    (void)q;
    if (parts == 0) return 0;
    if (e2 == 0) return INFINITY;
    double cond = parts / sqrt(e2);
    return 4 * FLT_EPSILON * (cond * cond + cond);
}

static int cmp_hit(const void *a, const void *b) {
    const ref_hit *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

int64_t ref_rank(int K, int d, int64_t n, const float *x, const int64_t *ids, const uint8_t *allowed,
                 const float *q, const float *w, ref_hit *hits) {
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        if (allowed && !allowed[i]) continue;
        hits[m].id = ids ? ids[i] : i;
        hits[m].score = ref_score(K, d, x + i * (int64_t)K * d, q, w);
        hits[m].slack = ref_slack(K, d, x + i * (int64_t)K * d, q, w);
        m++;
    }
    qsort(hits, (size_t)m, sizeof *hits, cmp_hit);
    return m;
}

int64_t ref_rank_split(int K, int d, int64_t n, const float *xnum, const float *xden, const int64_t *ids,
                       const float *q, const float *w, ref_hit *hits) {
    const int64_t D = (int64_t)K * d;
    for (int64_t i = 0; i < n; i++) {
        hits[i].id = ids ? ids[i] : i;
        hits[i].score = ref_score_split(K, d, xnum + i * D, xden + i * D, q, w);
        hits[i].slack = ref_slack(K, d, xden + i * D, q, w);
    }
    qsort(hits, (size_t)n, sizeof *hits, cmp_hit);
    return n;
}

static double oracle_of(const ref_hit *ref, int64_t nref, int64_t id, int *found, double *slack) {
    for (int64_t i = 0; i < nref; i++)
        if (ref[i].id == id) {
            *found = 1;
            *slack = ref[i].slack;
            return ref[i].score;
        }
    *found = 0;
    *slack = 0;
    return 0;
}

void ref_check_topk(const int64_t *ids, const float *scores, int64_t n, int64_t k,
                    const ref_hit *ref, int64_t nref, double tol) {
    int64_t want = k < nref ? k : nref;
    cr_assert_eq(n, want, "expected %lld results, got %lld", (long long)want, (long long)n);
    for (int64_t i = 0; i < n; i++) {
        int found;
        double sl;
        double s = oracle_of(ref, nref, ids[i], &found, &sl);
        cr_assert(found, "rank %lld: id %lld is not an eligible row", (long long)i, (long long)ids[i]);
        cr_assert(fabs(s - scores[i]) <= tol + sl, "rank %lld: id %lld scored %.8f, oracle %.8f",
                  (long long)i, (long long)ids[i], scores[i], s);
        /* The score at each rank matches the oracle's rank score, up to the slack of the pairs
         * that may have swapped places. */
        cr_assert(fabs(ref[i].score - scores[i]) <= 2 * tol + sl + ref[i].slack,
                  "rank %lld: score %.8f, oracle's rank score %.8f", (long long)i, scores[i], ref[i].score);
        if (i > 0) cr_assert(scores[i] <= scores[i - 1], "rank %lld: scores increase", (long long)i);
        if (ids[i] != ref[i].id) {
            /* Only a tie (within rounding) may swap ids. */
            cr_assert(fabs(ref[i].score - s) <= 2 * tol + sl + ref[i].slack,
                      "rank %lld: id %lld, oracle id %lld (%.8f vs %.8f)", (long long)i,
                      (long long)ids[i], (long long)ref[i].id, s, ref[i].score);
        }
        if (i > 0 && scores[i] == scores[i - 1])
            cr_assert(ids[i] > ids[i - 1], "rank %lld: equal scores not ordered by id", (long long)i);
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = i + 1; j < n; j++) cr_assert_neq(ids[i], ids[j], "id %lld returned twice", (long long)ids[i]);
}

void ref_check_range(const int64_t *ids, const float *scores, int64_t n, float min,
                     const ref_hit *ref, int64_t nref, double tol) {
    int64_t lo = 0, hi = 0; /* oracle hits surely in / possibly in */
    for (int64_t i = 0; i < nref; i++) {
        if (ref[i].score >= min + tol + ref[i].slack) lo++;
        if (ref[i].score >= min - tol - ref[i].slack) hi++;
    }
    cr_assert(n >= lo && n <= hi, "threshold %.6f: %lld hits, oracle %lld to %lld", min, (long long)n,
              (long long)lo, (long long)hi);
    for (int64_t i = 0; i < n; i++) {
        int found;
        double sl;
        double s = oracle_of(ref, nref, ids[i], &found, &sl);
        cr_assert(found, "hit %lld: id %lld is not an eligible row", (long long)i, (long long)ids[i]);
        cr_assert(fabs(s - scores[i]) <= tol + sl, "hit %lld: id %lld scored %.8f, oracle %.8f", (long long)i,
                  (long long)ids[i], scores[i], s);
        cr_assert(scores[i] >= min, "hit %lld: score %.8f below the threshold", (long long)i, scores[i]);
        if (i > 0)
            cr_assert(scores[i] < scores[i - 1] || (scores[i] == scores[i - 1] && ids[i] > ids[i - 1]),
                      "hit %lld: not sorted", (long long)i);
    }
}
