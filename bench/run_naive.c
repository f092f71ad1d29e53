/*
 * run_naive.c - the naive method (naive.h), timed: one tag's top-100 and its threshold audience,
 * with both steps (materialise, scan) timed apart. A batch costs the naive method one
 * materialisation and scan per tag, so its batch rows are derived from the one-tag row. It runs
 * in every build, with or without FAISS.
 */
#include <stdio.h>
#include <string.h>

#include "support/naive.h"
#include "runs.h"

typedef struct naive_ctx {
    bench_naive nv;
    const float *q, *w; /* the tag: d floats, K gates */
    int range;          /* 0: top-100, 1: every user >= min_score */
    float min_score;
    float D[BENCH_TOPK];
    int64_t I[BENCH_TOPK];
    int64_t hits;
    int calls;
    double split[64][2];
} naive_ctx;

static int do_naive(void *p) {
    naive_ctx *c = p;
    mvke_status st;
    if (c->range) {
        mvke_hits h = {0};
        st = bench_naive_range(&c->nv, c->q, c->w, c->min_score, &h);
        c->hits = h.n;
        mvke_hits_release(&h);
    } else {
        st = bench_naive_search(&c->nv, 1, c->q, c->w, BENCH_TOPK, c->D, c->I);
    }
    if (st != MVKE_OK) return bench_fail("the naive method", st);
    c->split[c->calls % 64][0] = c->nv.materialise_s;
    c->split[c->calls % 64][1] = c->nv.scan_s;
    c->calls++;
    return 0;
}

/* Medians of the two steps over the last reps calls. */
static void naive_split(const naive_ctx *c, int reps, double out[2]) {
    double v[64];
    if (reps > 64) reps = 64;
    for (int s = 0; s < 2; s++) {
        for (int i = 0; i < reps; i++) v[i] = c->split[(c->calls - 1 - i) % 64][s];
        out[s] = bench_median(v, reps);
    }
}

int bench_run_naive(const bench_config *cfg, const bench_world *w, const float *x, int64_t n, float min_score,
                    bench_results *rep) {
    static naive_ctx c; /* the split history is large; one run at a time */
    memset(&c, 0, sizeof c);
    c.q = w->q[0];
    c.w = w->w[0];
    c.min_score = min_score;
    int rc = 0;
    for (int t = 0; t < cfg->nthreads && !rc; t++) {
        const int th = cfg->threads[t];
        mvke_status st = bench_naive_init(&c.nv, w->K, w->d, n, x, NULL, th);
        if (st != MVKE_OK) return bench_fail("preparing the naive method", st);
        for (int range = 0; range < 2 && !rc; range++) {
            bench_row r = {.batch = 1, .users = n, .threads = th};
            strcpy(r.method, "naive");
            strcpy(r.mode, range ? "threshold" : "top100");
            c.range = range;
            rc = bench_time(do_naive, &c, cfg, &r.median_s, &r.reps);
            if (rc) break;
            naive_split(&c, r.reps, r.split_s);
            r.median_s = r.split_s[0] + r.split_s[1];
            r.bytes = (double)n * (w->row + 2 * w->d) * sizeof(float);
            r.flops = 2.0 * (double)n * (w->row + 2 * w->d);
            r.hits = c.hits;
            bench_results_add(rep, &r);
            fprintf(stderr, "  naive %-9s 1 tag, %lld users, %d thr: %.4f s (materialise %.4f + scan %.4f)\n",
                    r.mode, (long long)n, th, r.median_s, r.split_s[0], r.split_s[1]);
            for (int b = 1; b < BENCH_NBATCH && !range; b++) {
                if (!cfg->batch_on[b]) continue;
                bench_row d = r;
                d.batch = bench_batches[b];
                d.median_s = r.median_s * d.batch;
                d.split_s[0] *= d.batch;
                d.split_s[1] *= d.batch;
                d.bytes *= d.batch;
                d.flops *= d.batch;
                d.derived = 1;
                bench_results_add(rep, &d);
            }
        }
        bench_naive_release(&c.nv);
    }
    return rc;
}
