/*
 * pack.c - gated query rows (z = w (x) q) and gates computed from virtual kernels.
 */
#include <math.h>

#include "../kernels/runtime.h"
#include "mvke/mvke.h"

static mvke_status check_finite(const float *v, int n, const char *what) {
    for (int i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return mvke_error(MVKE_ERR_NONFINITE, "%s[%d] is %s", what, i, isnan(v[i]) ? "NaN" : "Inf");
    return MVKE_OK;
}

mvke_status mvke_pack_query(int K, int d, const float *q, const float *w, float *z) {
    mvke_error_clear();
    if (!q || !w || !z) return mvke_error(MVKE_ERR_INVALID, "mvke_pack_query: q, w or z is NULL");
    if (K <= 0 || d <= 0) return mvke_error(MVKE_ERR_DIM, "mvke_pack_query: K = %d, d = %d must be > 0", K, d);
    mvke_status st = check_finite(q, d, "q");
    if (st == MVKE_OK) st = check_finite(w, K, "w");
    if (st != MVKE_OK) return st;
    for (int k = 0; k < K; k++)
        for (int j = 0; j < d; j++) z[(int64_t)k * d + j] = w[k] * q[j];
    return MVKE_OK;
}

mvke_status mvke_gates_from_vk(int K, int d, const float *q, const float *vk, const int *experts,
                               int nexperts, float temperature, float *w) {
    mvke_error_clear();
    if (!q || !vk || !experts || !w) return mvke_error(MVKE_ERR_INVALID, "mvke_gates_from_vk: NULL argument");
    if (K <= 0 || d <= 0) return mvke_error(MVKE_ERR_DIM, "K = %d, d = %d must be > 0", K, d);
    if (nexperts < 1 || nexperts > K)
        return mvke_error(MVKE_ERR_INVALID, "the task uses %d experts; it must use 1 to K = %d", nexperts, K);
    if (!(temperature > 0.0f) || !isfinite(temperature))
        return mvke_error(MVKE_ERR_INVALID, "temperature %g must be finite and > 0", (double)temperature);
    mvke_status st = check_finite(q, d, "q");
    if (st == MVKE_OK) st = check_finite(vk, K * d, "vk");
    if (st != MVKE_OK) return st;
    uint64_t seen = 0;
    for (int i = 0; i < nexperts; i++) {
        int e = experts[i];
        if (e < 0 || e >= K) return mvke_error(MVKE_ERR_INVALID, "expert %d is out of range [0, %d)", e, K);
        if (seen >> e & 1) return mvke_error(MVKE_ERR_INVALID, "expert %d is listed twice", e);
        seen |= 1ull << e;
    }
    double logit[64], mx = -INFINITY, sum = 0.0;
    for (int i = 0; i < nexperts; i++) {
        double s = 0.0;
        const float *v = vk + (int64_t)experts[i] * d;
        for (int j = 0; j < d; j++) s += (double)q[j] * v[j];
        logit[i] = s / temperature;
        if (logit[i] > mx) mx = logit[i];
    }
    for (int i = 0; i < nexperts; i++) sum += exp(logit[i] - mx);
    for (int k = 0; k < K; k++) w[k] = 0.0f;
    for (int i = 0; i < nexperts; i++) w[experts[i]] = (float)(exp(logit[i] - mx) / sum);
    return MVKE_OK;
}
