/*
 * timing.c - the repeat-and-take-the-median helper every measurement goes through, and the one
 * report of a failed library call.
 */
#include "bench.h"

#include <stdio.h>

int bench_time(int (*fn)(void *ctx), void *ctx, const bench_config *cfg, double *median_s, int *reps) {
    double v[64];
    int n = 0;
    double t0 = bench_now();
    int rc = fn(ctx);
    double first = bench_now() - t0;
    if (rc) return rc;
    int want;
    if (first >= 3.0) {
        v[n++] = first; /* one call is already long enough to time on its own */
        want = 1;
    } else if (first >= cfg->rep_budget_s) {
        v[n++] = first;
        want = 3;
    } else {
        want = (int)(cfg->rep_budget_s / (first > 1e-6 ? first : 1e-6));
        if (want < 3) want = 3;
    }
    if (want > cfg->max_reps) want = cfg->max_reps > n ? cfg->max_reps : n;
    if (want > 63) want = 63;
    while (n < want) {
        t0 = bench_now();
        rc = fn(ctx);
        v[n++] = bench_now() - t0;
        if (rc) return rc;
    }
    *median_s = bench_median(v, n);
    *reps = n;
    return 0;
}

int bench_fail(const char *what, mvke_status st) {
    fprintf(stderr, "mvke-bench: %s failed: %s: %s\n", what, mvke_status_name(st), mvke_last_error());
    return 1;
}
