/*
 * score.c - the names of the two scores (cosine, dot) and the conversions between scores and
 * probabilities, shared by the command line, the Python module and the FAISS plugin so that a
 * probability means the same everywhere.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../kernels/runtime.h"
#include "mvke/mvke.h"

const char *mvke_score_name(mvke_score score) {
    return score == MVKE_SCORE_COSINE ? "cosine" : score == MVKE_SCORE_DOT ? "dot" : "unknown";
}

mvke_status mvke_score_from_name(const char *name, mvke_score *score) {
    if (!name || !score) return mvke_error(MVKE_ERR_INVALID, "mvke_score_from_name: NULL argument");
    if (!strcmp(name, "cosine")) *score = MVKE_SCORE_COSINE;
    else if (!strcmp(name, "dot")) *score = MVKE_SCORE_DOT;
    else return mvke_error(MVKE_ERR_INVALID, "unknown score \"%s\" (known: cosine, dot)", name);
    return MVKE_OK;
}

static float prob1(float s) { return (float)(1.0 / (1.0 + exp(-(double)s))); }

mvke_status mvke_score_to_prob(int64_t n, const float *s, float *p) {
    if (n < 0 || (n > 0 && (!s || !p))) return mvke_error(MVKE_ERR_INVALID, "mvke_score_to_prob: NULL array or n < 0");
    for (int64_t i = 0; i < n; i++) p[i] = prob1(s[i]);
    return MVKE_OK;
}

/* Floats in their order as integers (finite values), and back. */
static int32_t ord_of(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return (u >> 31) ? -(int32_t)(u & 0x7fffffffu) : (int32_t)u;
}
static float float_of(int32_t o) {
    const uint32_t u = o < 0 ? ((uint32_t)(-o) | 0x80000000u) : (uint32_t)o;
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

mvke_status mvke_score_from_prob(double p, float *min_score) {
    if (!min_score) return mvke_error(MVKE_ERR_INVALID, "mvke_score_from_prob: min_score is NULL");
    if (!(p > 0.0 && p < 1.0)) return mvke_error(MVKE_ERR_INVALID, "probability %g is not in (0, 1)", p);
    /* prob1 is non-decreasing in s: bisect the floats for the first one that reaches p, so the
     * threshold agrees with the printed probabilities to the last bit. */
    int64_t lo = ord_of(-FLT_MAX), hi = ord_of(FLT_MAX);
    if ((double)prob1(-FLT_MAX) >= p) {
        *min_score = -FLT_MAX;
        return MVKE_OK;
    }
    while (hi - lo > 1) { /* prob1(lo) < p <= prob1(hi) */
        const int64_t mid = lo + (hi - lo) / 2;
        if ((double)prob1(float_of((int32_t)mid)) >= p) hi = mid;
        else lo = mid;
    }
    *min_score = float_of((int32_t)hi);
    return MVKE_OK;
}
