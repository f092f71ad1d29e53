/*
 * oracle.c - the float64 oracle and result comparison (oracle.h).
 */
#include "oracle.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

double oracle_score(int K, int d, const float *x, const float *q, const float *w) {
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

double oracle_score_split(int K, int d, const float *xnum, const float *xden, const float *q, const float *w) {
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

double oracle_slack(int K, int d, const float *x, const float *q, const float *w) {
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
    const oracle_hit *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

int64_t oracle_rank(int K, int d, int64_t n, const float *xnum, const float *xden, const int64_t *ids,
                    const uint8_t *allowed, const float *q, const float *w, oracle_hit *hits) {
    const int64_t D = (int64_t)K * d;
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        if (allowed && !allowed[i]) continue;
        const float *xn = xnum + i * D, *xd = xden ? xden + i * D : xn;
        hits[m].id = ids ? ids[i] : i;
        hits[m].score = xden ? oracle_score_split(K, d, xn, xd, q, w) : oracle_score(K, d, xn, q, w);
        hits[m].slack = oracle_slack(K, d, xd, q, w);
        m++;
    }
    qsort(hits, (size_t)m, sizeof *hits, cmp_hit);
    return m;
}

double oracle_score_dot(int K, int d, const float *x, const float *q, const float *w) {
    double dot = 0;
    for (int j = 0; j < d; j++) {
        double e = 0;
        for (int k = 0; k < K; k++) e += (double)w[k] * x[k * d + j];
        dot += e * q[j];
    }
    return dot;
}

int64_t oracle_rank_dot(int K, int d, int64_t n, const float *xnum, const int64_t *ids, const uint8_t *allowed,
                        const float *q, const float *w, oracle_hit *hits) {
    const int64_t D = (int64_t)K * d;
    double q2 = 0;
    for (int j = 0; j < d; j++) q2 += (double)q[j] * q[j];
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        if (allowed && !allowed[i]) continue;
        const float *x = xnum + i * D;
        double parts = 0;
        for (int k = 0; k < K; k++) {
            double n2 = 0;
            for (int j = 0; j < d; j++) n2 += (double)x[k * d + j] * x[k * d + j];
            parts += fabs(w[k]) * sqrt(n2);
        }
        hits[m].id = ids ? ids[i] : i;
        hits[m].score = oracle_score_dot(K, d, x, q, w);
        hits[m].slack = 2.0 * (double)(D + 8) * FLT_EPSILON * parts * sqrt(q2);
        m++;
    }
    qsort(hits, (size_t)m, sizeof *hits, cmp_hit);
    return m;
}

static double oracle_of(const oracle_hit *ref, int64_t nref, int64_t id, int *found, double *slack) {
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

__attribute__((format(printf, 3, 4))) static int fail(char *msg, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (msg && cap) vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
    return -1;
}

int oracle_check_scores(const int64_t *ids, const float *scores, int64_t n, float min, const oracle_hit *ref,
                        int64_t nref, double tol, char *msg, size_t cap);

int oracle_check_topk(const int64_t *ids, const float *scores, int64_t n, int64_t k, const oracle_hit *ref,
                      int64_t nref, double tol, char *msg, size_t cap) {
    const int64_t want = k < nref ? k : nref;
    if (n != want) return fail(msg, cap, "expected %lld results, got %lld", (long long)want, (long long)n);
    int rc = oracle_check_scores(ids, scores, n, -INFINITY, ref, nref, tol, msg, cap);
    if (rc) return rc;
    /* Rank by rank against the oracle's list. A pair whose slack exceeds the tolerance (gates
     * that cancel experts: float32 cannot place it) may stand anywhere its slack allows, so the
     * comparison skips such pairs on both sides; the others must keep the oracle's order up to
     * ties within the tolerance. */
    int64_t r = 0;
    for (int64_t i = 0; i < n; i++) {
        int found;
        double sl;
        const double s = oracle_of(ref, nref, ids[i], &found, &sl);
        if (sl > tol) continue;
        while (r < nref && ref[r].slack > tol) r++;
        if (r == nref) return fail(msg, cap, "rank %lld: id %lld beyond the oracle's list", (long long)i, (long long)ids[i]);
        if (!(fabs(ref[r].score - scores[i]) <= 2 * tol + sl + ref[r].slack))
            return fail(msg, cap, "rank %lld: score %.8f, oracle's rank score %.8f", (long long)i, scores[i],
                        ref[r].score);
        /* Only a tie (within rounding) may swap ids. */
        if (ids[i] != ref[r].id && !(fabs(ref[r].score - s) <= 2 * tol + sl + ref[r].slack))
            return fail(msg, cap, "rank %lld: id %lld, oracle id %lld (%.8f vs %.8f)", (long long)i, (long long)ids[i],
                        (long long)ref[r].id, s, ref[r].score);
        r++;
    }
    return 0;
}

int oracle_check_scores(const int64_t *ids, const float *scores, int64_t n, float min, const oracle_hit *ref,
                        int64_t nref, double tol, char *msg, size_t cap) {
    for (int64_t i = 0; i < n; i++) {
        int found;
        double sl;
        const double s = oracle_of(ref, nref, ids[i], &found, &sl);
        if (!found) return fail(msg, cap, "entry %lld: id %lld is not an eligible row", (long long)i, (long long)ids[i]);
        if (!(fabs(s - scores[i]) <= tol + sl))
            return fail(msg, cap, "entry %lld: id %lld scored %.8f, oracle %.8f", (long long)i, (long long)ids[i],
                        scores[i], s);
        if (!(scores[i] >= min)) return fail(msg, cap, "entry %lld: score %.8f below the threshold", (long long)i, scores[i]);
        if (i > 0 && !(scores[i] < scores[i - 1] || (scores[i] == scores[i - 1] && ids[i] > ids[i - 1])))
            return fail(msg, cap, "entry %lld: not sorted", (long long)i);
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = i + 1; j < n; j++)
            if (ids[i] == ids[j]) return fail(msg, cap, "id %lld returned twice", (long long)ids[i]);
    return 0;
}

int oracle_check_range(const int64_t *ids, const float *scores, int64_t n, float min, const oracle_hit *ref,
                       int64_t nref, double tol, char *msg, size_t cap) {
    int64_t lo = 0, hi = 0; /* oracle hits surely in / possibly in */
    for (int64_t i = 0; i < nref; i++) {
        if (ref[i].score >= min + tol + ref[i].slack) lo++;
        if (ref[i].score >= min - tol - ref[i].slack) hi++;
    }
    if (n < lo || n > hi)
        return fail(msg, cap, "threshold %.6f: %lld hits, oracle %lld to %lld", min, (long long)n, (long long)lo,
                    (long long)hi);
    return oracle_check_scores(ids, scores, n, min, ref, nref, tol, msg, cap);
}
