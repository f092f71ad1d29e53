/*
 * runs.h - the timed workloads: this project's searches (run_mvke.c) and the baselines a user
 * would otherwise pick: the naive materialise-then-scan method (run_naive.c, every build) and
 * FAISS IndexFlatIP (run_faiss.c; run_nofaiss.c stands in when FAISS is not built).
 */
#ifndef MVKE_BENCH_RUNS_H
#define MVKE_BENCH_RUNS_H

#include "bench.h"
#include "world_gen.h"

/* One timed search call, for every method: nq gated query rows z, the k best each (top-k) or
 * every row at or above a threshold (range), the result buffers, and the entries a range call
 * returned. */
typedef struct bench_call {
    const void *index; /* the method's index: a const mvke_index *, or a FaissIndex * */
    const float *z;
    int64_t nq, k;
    float threshold;   /* mvke: the min score; FAISS: the radius it keeps scores above */
    float *scores;
    int64_t *ids;
    int64_t hits;
} bench_call;

/* The threshold of the audience mode: the score of the (frac * n)-th best user of tag 0, found
 * with a top-k search on `users`. Returns 0 or 1 after printing why. */
int bench_threshold_for(const mvke_index *users, const bench_world *w, double frac, float *min_score,
                        int64_t *expect);

/* Times every audience mode (top-100 for each batch size, the threshold audience) on `users`
 * (n rows, the given storage) with each thread count of cfg; adds rows to rep. */
int bench_run_mvke(const bench_config *cfg, const bench_world *w, mvke_index *users, int storage,
                   float min_score, bench_results *rep);

/* Times batch tagging: the top-10 tags of each task for a block of cfg->tag_users users (x, rows
 * of K*d floats), against tag tables of each storage and thread count. */
int bench_run_tagging(const bench_config *cfg, const bench_world *w, const float *x, bench_results *rep);

/* Whether the FAISS baselines are built into this program. */
int bench_faiss_available(void);

/* Opaque FAISS state for one size of the curve: an IndexFlatIP over the same user rows. */
typedef struct bench_faiss bench_faiss;

/* A new empty flat index of dimension dim (K*d); rows are added with bench_faiss_add. */
int bench_faiss_new(bench_faiss **out, int dim);
int bench_faiss_add(bench_faiss *f, int64_t n, const float *x);
void bench_faiss_free(bench_faiss *f);

/* FAISS's own copy of the rows added so far (n x K*d floats), or NULL without FAISS. */
const float *bench_faiss_rows(const bench_faiss *f);

/* Times FAISS IndexFlatIP on every audience mode (the threshold as a range search keeping the
 * same number of rows) with each thread count. */
int bench_run_faiss(const bench_config *cfg, const bench_world *w, bench_faiss *f, int64_t expect_hits,
                    bench_results *rep);

/* Times the naive method (bench/naive.h) over the n user rows x for one tag's top-100 (and the
 * derived batch rows) and for the threshold audience at min_score, with each thread count. */
int bench_run_naive(const bench_config *cfg, const bench_world *w, const float *x, int64_t n, float min_score,
                    bench_results *rep);

/* Times FAISS IndexFlatIP at batch tagging: per task, the 10 best of the 1,786 gated tag rows by
 * inner product for each user of the block. */
int bench_run_faiss_tagging(const bench_config *cfg, const bench_world *w, const float *x, bench_results *rep);

#endif
