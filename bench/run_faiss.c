/*
 * run_faiss.c - the baselines, through FAISS's C API: IndexFlatIP on the same K*d rows (it
 * computes only the numerator <x, z> of the cosine, so it bounds what exact gated cosine may
 * cost), and the naive method a user would write without this library: for one tag, materialise
 * E(u) = sum_k w_k e_k(u) for every user, normalise, and scan with an IndexFlatIP over the
 * normalised vectors (a cosine scan). Both steps of the naive method are timed. FAISS's threads
 * are set with omp_set_num_threads, as FAISS reads them.
 */
#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/impl/AuxIndexStructures_c.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runs.h"

struct bench_faiss {
    FaissIndexFlatIP *index;
};

int bench_faiss_available(void) { return 1; }

static int faiss_fail(const char *what) {
    const char *e = faiss_get_last_error();
    fprintf(stderr, "mvke-bench: %s failed: %s\n", what, e ? e : "(no message)");
    return 1;
}

int bench_faiss_new(bench_faiss **out) {
    bench_faiss *f = calloc(1, sizeof *f);
    if (!f) return faiss_fail("allocating");
    if (faiss_IndexFlatIP_new_with(&f->index, BENCH_ROW)) {
        free(f);
        return faiss_fail("faiss_IndexFlatIP_new_with");
    }
    *out = f;
    return 0;
}

int bench_faiss_add(bench_faiss *f, int64_t n, const float *x) {
    return faiss_Index_add(f->index, n, x) ? faiss_fail("faiss_Index_add") : 0;
}

void bench_faiss_free(bench_faiss *f) {
    if (!f) return;
    faiss_Index_free(f->index);
    free(f);
}

/* ------------------------------------------------------------------------------------------ */
/* IndexFlatIP                                                                                */

typedef struct flat_ctx {
    FaissIndex *index;
    const float *z;
    int64_t nq, k;
    float radius;
    float *D;
    int64_t *I;
    int64_t hits;
} flat_ctx;

static int do_flat_search(void *p) {
    flat_ctx *c = p;
    return faiss_Index_search(c->index, c->nq, c->z, c->k, c->D, c->I) ? faiss_fail("faiss_Index_search") : 0;
}

static int do_flat_range(void *p) {
    flat_ctx *c = p;
    FaissRangeSearchResult *res = NULL;
    if (faiss_RangeSearchResult_new(&res, c->nq)) return faiss_fail("faiss_RangeSearchResult_new");
    int rc = faiss_Index_range_search(c->index, c->nq, c->z, c->radius, res);
    if (!rc) {
        size_t *lims;
        faiss_RangeSearchResult_lims(res, &lims);
        c->hits = (int64_t)lims[c->nq];
    }
    faiss_RangeSearchResult_free(res);
    return rc ? faiss_fail("faiss_Index_range_search") : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* The naive method                                                                           */

typedef struct naive_ctx {
    const float *xb;   /* n x K*d user rows (FAISS's own copy) */
    int64_t n;
    int threads;
    const float *q, *w; /* the tag: d floats, K gates */
    float *E;           /* n x d scratch */
    int range;          /* 0: top-100, 1: range search at radius */
    float radius;
    float *D;
    int64_t *I;
    int64_t hits;
    int calls;
    double split[64][2];
} naive_ctx;

static int do_naive(void *p) {
    naive_ctx *c = p;
    double t0 = bench_now();
    const int64_t n = c->n;
    float *E = c->E;
    const float *xb = c->xb, *w = c->w;
#pragma omp parallel for schedule(static) num_threads(c->threads)
    for (int64_t u = 0; u < n; u++) {
        float *e = E + u * BENCH_D;
        const float *x = xb + u * BENCH_ROW;
        for (int j = 0; j < BENCH_D; j++) e[j] = 0;
        for (int k = 0; k < BENCH_K; k++)
            if (w[k] != 0)
                for (int j = 0; j < BENCH_D; j++) e[j] += w[k] * x[k * BENCH_D + j];
        float s = 0;
        for (int j = 0; j < BENCH_D; j++) s += e[j] * e[j];
        if (s > 0) {
            s = 1.0f / sqrtf(s);
            for (int j = 0; j < BENCH_D; j++) e[j] *= s;
        }
    }
    FaissIndexFlatIP *ix = NULL;
    if (faiss_IndexFlatIP_new_with(&ix, BENCH_D)) return faiss_fail("faiss_IndexFlatIP_new_with");
    if (faiss_Index_add(ix, n, E)) {
        faiss_Index_free(ix);
        return faiss_fail("faiss_Index_add");
    }
    float qn[BENCH_D], s = 0;
    for (int j = 0; j < BENCH_D; j++) s += c->q[j] * c->q[j];
    for (int j = 0; j < BENCH_D; j++) qn[j] = s > 0 ? c->q[j] / sqrtf(s) : 0;
    double t1 = bench_now();
    int rc;
    if (c->range) {
        FaissRangeSearchResult *res = NULL;
        rc = faiss_RangeSearchResult_new(&res, 1) || faiss_Index_range_search(ix, 1, qn, c->radius, res);
        if (!rc) {
            size_t *lims;
            faiss_RangeSearchResult_lims(res, &lims);
            c->hits = (int64_t)lims[1];
        }
        faiss_RangeSearchResult_free(res);
    } else {
        rc = faiss_Index_search(ix, 1, qn, BENCH_TOPK, c->D, c->I);
    }
    double t2 = bench_now();
    faiss_Index_free(ix);
    if (rc) return faiss_fail("the naive cosine scan");
    c->split[c->calls % 64][0] = t1 - t0;
    c->split[c->calls % 64][1] = t2 - t1;
    c->calls++;
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Medians of the two steps over the last reps calls. */
static void naive_split(const naive_ctx *c, int reps, double out[2]) {
    double v[64];
    if (reps > 64) reps = 64;
    for (int s = 0; s < 2; s++) {
        for (int i = 0; i < reps; i++) v[i] = c->split[(c->calls - 1 - i) % 64][s];
        qsort(v, (size_t)reps, sizeof *v, cmp_double);
        out[s] = reps % 2 ? v[reps / 2] : 0.5 * (v[reps / 2 - 1] + v[reps / 2]);
    }
}

int bench_run_faiss(const bench_config *cfg, const bench_world *w, bench_faiss *f, int64_t expect_hits,
                    float min_score, bench_report *rep) {
    const int64_t n = faiss_Index_ntotal(f->index);
    int64_t kmax = expect_hits > BENCH_TOPK ? expect_hits : BENCH_TOPK;
    flat_ctx c = {.index = f->index, .z = w->z[0], .k = BENCH_TOPK};
    c.D = malloc((size_t)BENCH_MAX_BATCH * (size_t)kmax * sizeof *c.D);
    c.I = malloc((size_t)BENCH_MAX_BATCH * (size_t)kmax * sizeof *c.I);
    naive_ctx nc = {.n = n, .q = w->q[0], .w = w->w[0], .D = c.D, .I = c.I};
    nc.E = malloc((size_t)n * BENCH_D * sizeof *nc.E);
    size_t xb_size = 0;
    float *xb = NULL;
    faiss_IndexFlat_xb(f->index, &xb, &xb_size);
    nc.xb = xb;
    int rc = 0;
    if (!c.D || !c.I || !nc.E) {
        fprintf(stderr, "mvke-bench: out of memory for the FAISS baselines\n");
        rc = 1;
    }
    /* The threshold of the flat index: its own (expect_hits)-th best numerator, so that both keep
     * the same number of rows. FAISS keeps scores > radius, hence the step down. */
    float flat_radius = 0;
    if (!rc) {
        c.nq = 1;
        c.k = expect_hits;
        rc = do_flat_search(&c);
        flat_radius = nextafterf(c.D[expect_hits - 1], -INFINITY);
        c.k = BENCH_TOPK;
    }
    for (int t = 0; t < cfg->nthreads && !rc; t++) {
        const int th = cfg->threads[t];
        omp_set_num_threads(th);
        for (int b = 0; b <= BENCH_NBATCH && !rc; b++) {
            if (b < BENCH_NBATCH && !cfg->batch_on[b]) continue;
            bench_row r = {.batch = b < BENCH_NBATCH ? bench_batches[b] : 1, .users = n, .threads = th};
            strcpy(r.method, "faiss-flat");
            strcpy(r.mode, b < BENCH_NBATCH ? "top100" : "threshold");
            c.nq = r.batch;
            c.radius = flat_radius;
            rc = bench_time(b < BENCH_NBATCH ? do_flat_search : do_flat_range, &c, cfg, &r.median_s, &r.reps);
            r.bytes = (double)n * BENCH_ROW * sizeof(float);
            r.flops = 2.0 * r.batch * (double)n * BENCH_ROW;
            r.hits = c.hits;
            if (!rc) bench_report_add(rep, &r);
            fprintf(stderr, "  faiss-flat %-9s batch %3d, %lld users, %d thr: %.4f s\n", r.mode, r.batch,
                    (long long)n, th, r.median_s);
        }
        /* The naive method: one tag's top-100, and its threshold audience at the same min_score
         * (exact cosines, so the same rows as this project's threshold search). */
        nc.threads = th;
        for (int range = 0; range < 2 && !rc; range++) {
            bench_row r = {.batch = 1, .users = n, .threads = th};
            strcpy(r.method, "naive");
            strcpy(r.mode, range ? "threshold" : "top100");
            nc.range = range;
            nc.radius = nextafterf(min_score, -INFINITY);
            rc = bench_time(do_naive, &nc, cfg, &r.median_s, &r.reps);
            if (rc) break;
            naive_split(&nc, r.reps, r.split_s);
            r.median_s = r.split_s[0] + r.split_s[1];
            r.bytes = (double)n * (BENCH_ROW + 2 * BENCH_D) * sizeof(float);
            r.flops = 2.0 * (double)n * (BENCH_ROW + 2 * BENCH_D);
            r.hits = nc.hits;
            bench_report_add(rep, &r);
            fprintf(stderr, "  naive %-9s 1 tag, %lld users, %d thr: %.4f s (materialise %.4f + scan %.4f)\n",
                    r.mode, (long long)n, th, r.median_s, r.split_s[0], r.split_s[1]);
            /* A batch costs the naive method one materialisation and scan per tag. */
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
                bench_report_add(rep, &d);
            }
        }
    }
    free(c.D);
    free(c.I);
    free(nc.E);
    return rc;
}

typedef struct ftag_ctx {
    FaissIndexFlatIP *task[BENCH_NTASKS];
    const float *x;
    int64_t nu;
    float *D;
    int64_t *I;
} ftag_ctx;

static int do_flat_tagging(void *p) {
    ftag_ctx *c = p;
    for (int t = 0; t < BENCH_NTASKS; t++)
        if (faiss_Index_search(c->task[t], c->nu, c->x, BENCH_TOPM, c->D, c->I)) return faiss_fail("faiss_Index_search");
    return 0;
}

int bench_run_faiss_tagging(const bench_config *cfg, const bench_world *w, const float *x, bench_report *rep) {
    ftag_ctx c = {.x = x, .nu = cfg->tag_users};
    int rc = 0;
    for (int t = 0; t < BENCH_NTASKS && !rc; t++) {
        rc = faiss_IndexFlatIP_new_with(&c.task[t], BENCH_ROW) || faiss_Index_add(c.task[t], BENCH_NTAGS, w->z[t]);
        if (rc) faiss_fail("building the tag indexes");
    }
    c.D = malloc((size_t)c.nu * BENCH_TOPM * sizeof *c.D);
    c.I = malloc((size_t)c.nu * BENCH_TOPM * sizeof *c.I);
    if (!rc && (!c.D || !c.I)) {
        fprintf(stderr, "mvke-bench: out of memory\n");
        rc = 1;
    }
    for (int t = 0; t < cfg->nthreads && !rc; t++) {
        omp_set_num_threads(cfg->threads[t]);
        bench_row r = {.batch = (int)c.nu, .users = c.nu, .threads = cfg->threads[t]};
        strcpy(r.method, "faiss-flat");
        strcpy(r.mode, "tagging");
        rc = bench_time(do_flat_tagging, &c, cfg, &r.median_s, &r.reps);
        r.bytes = (double)c.nu * BENCH_ROW * sizeof(float);
        r.flops = 2.0 * (double)c.nu * BENCH_NTASKS * BENCH_NTAGS * BENCH_ROW;
        if (!rc) bench_report_add(rep, &r);
        fprintf(stderr, "  faiss-flat tagging %lld users, %d thr: %.4f s\n", (long long)c.nu, r.threads, r.median_s);
    }
    for (int t = 0; t < BENCH_NTASKS; t++) faiss_Index_free(c.task[t]);
    free(c.D);
    free(c.I);
    return rc;
}
