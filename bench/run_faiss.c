/*
 * run_faiss.c - the FAISS baseline, through FAISS's C API: IndexFlatIP on the same K*d rows (it
 * computes only the numerator <x, z> of the cosine, so it bounds what exact gated cosine may
 * cost). Its copy of the rows is also what the naive method (run_naive.c) scans, so that a size
 * of the curve holds the rows twice, not three times. FAISS's threads are set with
 * omp_set_num_threads, as FAISS reads them.
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

int bench_faiss_new(bench_faiss **out, int dim) {
    bench_faiss *f = calloc(1, sizeof *f);
    if (!f) return faiss_fail("allocating");
    if (faiss_IndexFlatIP_new_with(&f->index, dim)) {
        free(f);
        return faiss_fail("faiss_IndexFlatIP_new_with");
    }
    *out = f;
    return 0;
}

int bench_faiss_add(bench_faiss *f, int64_t n, const float *x) {
    return faiss_Index_add(f->index, n, x) ? faiss_fail("faiss_Index_add") : 0;
}

const float *bench_faiss_rows(const bench_faiss *f) {
    size_t size = 0;
    float *xb = NULL;
    faiss_IndexFlat_xb(f->index, &xb, &size);
    return xb;
}

void bench_faiss_free(bench_faiss *f) {
    if (!f) return;
    faiss_Index_free(f->index);
    free(f);
}

/* ------------------------------------------------------------------------------------------ */
/* IndexFlatIP                                                                                */

static int do_flat_search(void *p) {
    bench_call *c = p;
    return faiss_Index_search(c->index, c->nq, c->z, c->k, c->scores, c->ids) ? faiss_fail("faiss_Index_search") : 0;
}

static int do_flat_range(void *p) {
    bench_call *c = p;
    FaissRangeSearchResult *res = NULL;
    if (faiss_RangeSearchResult_new(&res, c->nq)) return faiss_fail("faiss_RangeSearchResult_new");
    int rc = faiss_Index_range_search(c->index, c->nq, c->z, c->threshold, res);
    if (!rc) {
        size_t *lims;
        faiss_RangeSearchResult_lims(res, &lims);
        c->hits = (int64_t)lims[c->nq];
    }
    faiss_RangeSearchResult_free(res);
    return rc ? faiss_fail("faiss_Index_range_search") : 0;
}

int bench_run_faiss(const bench_config *cfg, const bench_world *w, bench_faiss *f, int64_t expect_hits,
                    bench_results *rep) {
    const int64_t n = faiss_Index_ntotal(f->index);
    int64_t kmax = expect_hits > BENCH_TOPK ? expect_hits : BENCH_TOPK;
    bench_call c = {.index = f->index, .z = w->z[0], .k = BENCH_TOPK};
    c.scores = malloc((size_t)BENCH_MAX_BATCH * (size_t)kmax * sizeof *c.scores);
    c.ids = malloc((size_t)BENCH_MAX_BATCH * (size_t)kmax * sizeof *c.ids);
    int rc = 0;
    if (!c.scores || !c.ids) {
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
        flat_radius = nextafterf(c.scores[expect_hits - 1], -INFINITY);
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
            c.threshold = flat_radius;
            rc = bench_time(b < BENCH_NBATCH ? do_flat_search : do_flat_range, &c, cfg, &r.median_s, &r.reps);
            r.bytes = (double)n * w->row * sizeof(float);
            r.flops = 2.0 * r.batch * (double)n * w->row;
            r.hits = c.hits;
            if (!rc) bench_results_add(rep, &r);
            fprintf(stderr, "  faiss-flat %-9s batch %3d, %lld users, %d thr: %.4f s\n", r.mode, r.batch,
                    (long long)n, th, r.median_s);
        }
    }
    free(c.scores);
    free(c.ids);
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

int bench_run_faiss_tagging(const bench_config *cfg, const bench_world *w, const float *x, bench_results *rep) {
    ftag_ctx c = {.x = x, .nu = cfg->tag_users};
    int rc = 0;
    for (int t = 0; t < BENCH_NTASKS && !rc; t++) {
        rc = faiss_IndexFlatIP_new_with(&c.task[t], w->row) || faiss_Index_add(c.task[t], BENCH_NTAGS, w->z[t]);
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
        r.bytes = (double)c.nu * w->row * sizeof(float);
        r.flops = 2.0 * (double)c.nu * BENCH_NTASKS * BENCH_NTAGS * w->row;
        if (!rc) bench_results_add(rep, &r);
        fprintf(stderr, "  faiss-flat tagging %lld users, %d thr: %.4f s\n", (long long)c.nu, r.threads, r.median_s);
    }
    for (int t = 0; t < BENCH_NTASKS; t++) faiss_Index_free(c.task[t]);
    free(c.D);
    free(c.I);
    return rc;
}
