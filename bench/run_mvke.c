/*
 * run_mvke.c - this project's exact searches, timed: tag -> top-100 users for batches of 1 to
 * 256 tags, the threshold audience, and batch tagging (user -> top-10 tags of each task).
 *
 * Queries are the gated rows z of the first tags of the task "interest", passed to
 * mvke_index_search as they would be through FAISS's search(); the same rows go to the FAISS
 * baseline. Batch tagging goes through mvke_user_tags_top_rows, as the daily job would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runs.h"

static int do_topk(void *p) {
    bench_call *c = p;
    mvke_status st = mvke_index_search(c->index, c->nq, c->z, c->k, NULL, c->scores, c->ids);
    return st == MVKE_OK ? 0 : bench_fail("mvke_index_search", st);
}

static int do_range(void *p) {
    bench_call *c = p;
    mvke_result *res = NULL;
    mvke_status st = mvke_index_range_search(c->index, c->nq, c->z, c->threshold, NULL, &res);
    if (st == MVKE_OK) st = mvke_result_total(res, &c->hits);
    mvke_result_free(res);
    return st == MVKE_OK ? 0 : bench_fail("mvke_index_range_search", st);
}

int bench_threshold_for(const mvke_index *users, const bench_world *w, double frac, float *min_score,
                        int64_t *expect) {
    int64_t n = 0;
    mvke_index_count(users, &n);
    int64_t k = (int64_t)(frac * (double)n);
    if (k < 1) k = 1;
    float *s = malloc((size_t)k * sizeof *s);
    int64_t *ids = malloc((size_t)k * sizeof *ids);
    if (!s || !ids) {
        free(s);
        free(ids);
        fprintf(stderr, "mvke-bench: out of memory\n");
        return 1;
    }
    mvke_status st = mvke_index_search(users, 1, w->z[0], k, NULL, s, ids);
    *min_score = s[k - 1];
    *expect = k;
    free(s);
    free(ids);
    return st == MVKE_OK ? 0 : bench_fail("finding the threshold", st);
}

int bench_run_mvke(const bench_config *cfg, const bench_world *w, mvke_index *users, int storage,
                   float min_score, bench_results *rep) {
    int64_t n = 0;
    mvke_index_count(users, &n);
    mvke_score score;
    mvke_index_score(users, &score);
    const int dot = score == MVKE_SCORE_DOT; /* no Gram triangles: fewer bytes and flops per user */
    bench_call c = {.index = users, .z = w->z[0], .k = BENCH_TOPK, .threshold = min_score};
    c.scores = malloc((size_t)BENCH_MAX_BATCH * BENCH_TOPK * sizeof *c.scores);
    c.ids = malloc((size_t)BENCH_MAX_BATCH * BENCH_TOPK * sizeof *c.ids);
    if (!c.scores || !c.ids) {
        free(c.scores);
        free(c.ids);
        fprintf(stderr, "mvke-bench: out of memory\n");
        return 1;
    }
    int rc = 0;
    for (int t = 0; t < cfg->nthreads && !rc; t++) {
        mvke_index_set_threads(users, cfg->threads[t]);
        for (int b = 0; b <= BENCH_NBATCH && !rc; b++) {
            if (b < BENCH_NBATCH && !cfg->batch_on[b]) continue;
            bench_row r = {.batch = b < BENCH_NBATCH ? bench_batches[b] : 1, .users = n,
                           .threads = cfg->threads[t], .storage = storage};
            strcpy(r.method, dot ? "mvke-dot" : "mvke");
            strcpy(r.mode, b < BENCH_NBATCH ? "top100" : "threshold");
            c.nq = r.batch;
            rc = bench_time(b < BENCH_NBATCH ? do_topk : do_range, &c, cfg, &r.median_s, &r.reps);
            r.bytes = (double)n * (bench_row_bytes(cfg, storage) - (dot ? 4.0 * w->P : 0.0));
            r.flops = 2.0 * r.batch * (double)n * (w->row + (dot ? 0 : w->P));
            r.hits = c.hits;
            if (!rc) bench_results_add(rep, &r);
            fprintf(stderr, "  %s %-9s batch %3d, %lld users, %d thr, %s: %.4f s\n", r.method, r.mode, r.batch,
                    (long long)n, r.threads, storage ? "f16" : "f32", r.median_s);
        }
    }
    free(c.scores);
    free(c.ids);
    return rc;
}

typedef struct tag_ctx {
    const mvke_tags *tags;
    const float *x;
    int64_t nu;
} tag_ctx;

static int do_tagging(void *p) {
    tag_ctx *c = p;
    mvke_result *res = NULL;
    mvke_status st = mvke_user_tags_top_rows(c->tags, NULL, c->nu, c->x, BENCH_TOPM, &res);
    mvke_result_free(res);
    return st == MVKE_OK ? 0 : bench_fail("mvke_user_tags_top_rows", st);
}

int bench_run_tagging(const bench_config *cfg, const bench_world *w, const float *x, bench_results *rep) {
    for (int s = 0; s < cfg->nstorage; s++)
        for (int t = 0; t < cfg->nthreads; t++) {
            mvke_index_options o;
            mvke_index_options_init(&o);
            o.storage = cfg->storage[s];
            o.threads = cfg->threads[t];
            mvke_tags *tags = NULL;
            if (bench_world_tags(w, &o, &tags)) return 1;
            tag_ctx c = {tags, x, cfg->tag_users};
            bench_row r = {.batch = (int)cfg->tag_users, .users = cfg->tag_users, .threads = o.threads,
                           .storage = (int)o.storage};
            strcpy(r.method, "mvke");
            strcpy(r.mode, "tagging");
            int rc = bench_time(do_tagging, &c, cfg, &r.median_s, &r.reps);
            mvke_tags_free(tags);
            if (rc) return rc;
            /* The user rows are read once; the tag rows stay in cache. */
            r.bytes = (double)cfg->tag_users * w->row * sizeof(float);
            r.flops = 2.0 * (double)cfg->tag_users * BENCH_NTASKS * BENCH_NTAGS * (w->row + w->P);
            bench_results_add(rep, &r);
            fprintf(stderr, "  mvke tagging %lld users x %d tags x %d tasks, %d thr, %s: %.4f s\n",
                    (long long)cfg->tag_users, BENCH_NTAGS, BENCH_NTASKS, r.threads, r.storage ? "f16" : "f32",
                    r.median_s);
        }
    return 0;
}
