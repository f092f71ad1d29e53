/*
 * run_nofaiss.c - stands in for run_faiss.c when the program is built without FAISS: the FAISS
 * rows are then reported as unavailable and everything else, the naive rows included, still runs.
 */
#include <stdio.h>

#include "runs.h"

int bench_faiss_available(void) { return 0; }

int bench_faiss_new(bench_faiss **out, int dim) {
    (void)dim;
    *out = NULL;
    return 0;
}

int bench_faiss_add(bench_faiss *f, int64_t n, const float *x) {
    (void)f, (void)n, (void)x;
    return 0;
}

void bench_faiss_free(bench_faiss *f) { (void)f; }

const float *bench_faiss_rows(const bench_faiss *f) {
    (void)f;
    return NULL;
}

int bench_run_faiss(const bench_config *cfg, const bench_world *w, bench_faiss *f, int64_t expect_hits,
                    bench_results *rep) {
    (void)cfg, (void)w, (void)f, (void)expect_hits, (void)rep;
    return 0;
}

int bench_run_faiss_tagging(const bench_config *cfg, const bench_world *w, const float *x, bench_results *rep) {
    (void)cfg, (void)w, (void)x, (void)rep;
    return 0;
}
