/*
 * test_score.c - the two scores (index/score.c and the dot epilogue of every kernel): names,
 * probabilities and their thresholds, and dot-score searches of every shape and storage against
 * the float64 dot oracle (materialise E, then E . q), on every instruction-set variant the CPU
 * has; files keep the score; a search never mixes two scores.
 */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernels/cpu/scan.h"
#include "reference.h"
#include "support/oracle.h"

static const mvke_cpu_variant variants[] = {MVKE_CPU_GENERIC, MVKE_CPU_AVX2, MVKE_CPU_AVX512,
                                            MVKE_CPU_AVX512_BF16DOT};
#define NVARIANTS (sizeof variants / sizeof *variants)

Test(score, names_round_trip_and_unknown_names_list_the_known) {
    mvke_score s;
    cr_assert_eq(mvke_score_from_name("dot", &s), MVKE_OK);
    cr_assert_eq(s, MVKE_SCORE_DOT);
    cr_assert_eq(mvke_score_from_name("cosine", &s), MVKE_OK);
    cr_assert_eq(s, MVKE_SCORE_COSINE);
    cr_assert_str_eq(mvke_score_name(MVKE_SCORE_DOT), "dot");
    cr_assert_str_eq(mvke_score_name(MVKE_SCORE_COSINE), "cosine");
    cr_assert_eq(mvke_score_from_name("ip", &s), MVKE_ERR_INVALID);
    cr_assert(strstr(mvke_last_error(), "cosine, dot"), "%s", mvke_last_error());
    mvke_index_options o;
    mvke_index_options_init(&o);
    cr_assert_eq(o.score, MVKE_SCORE_COSINE, "cosine is the default");
    o.score = (mvke_score)7;
    mvke_index *ix = NULL;
    cr_assert_eq(mvke_index_new(&ix, 2, 3, &o), MVKE_ERR_INVALID);
    cr_assert_null(ix);
}

Test(score, probabilities_and_their_exact_thresholds) {
    const float s[5] = {0.0f, 1.0f, -1.0f, 30.0f, -200.0f};
    float p[5];
    cr_assert_eq(mvke_score_to_prob(5, s, p), MVKE_OK);
    cr_assert_eq(p[0], 0.5f);
    cr_assert_float_eq(p[1], 0.7310586f, 1e-7);
    cr_assert_float_eq(p[2], 0.2689414f, 1e-7);
    cr_assert_eq(p[3], 1.0f);
    cr_assert(p[4] >= 0.0f && p[4] < 1e-80 + 1e-38f);
    cr_assert_eq(mvke_score_to_prob(-1, s, p), MVKE_ERR_INVALID);
    float t;
    cr_assert_eq(mvke_score_from_prob(0.0, &t), MVKE_ERR_INVALID);
    cr_assert_eq(mvke_score_from_prob(1.0, &t), MVKE_ERR_INVALID);
    cr_assert_eq(mvke_score_from_prob(NAN, &t), MVKE_ERR_INVALID);
    cr_assert(strstr(mvke_last_error(), "not in (0, 1)"));
    /* The threshold is the first float whose printed probability reaches p: the float below it
     * prints less. */
    ref_seed(11);
    const double ps[] = {0.5, 0.9, 0.99, 0.999999, 0.1, 1e-6, 0.7310586, 0.2689414};
    for (int i = 0; i < 200; i++) {
        const double pp = i < 8 ? ps[i] : ref_uniform();
        cr_assert_eq(mvke_score_from_prob(pp, &t), MVKE_OK);
        float at, below;
        const float tb = nextafterf(t, -INFINITY);
        mvke_score_to_prob(1, &t, &at);
        mvke_score_to_prob(1, &tb, &below);
        cr_assert((double)at >= pp && (double)below < pp, "p %.9g: threshold %.9g gives %.9g, below %.9g", pp,
                  (double)t, (double)at, (double)below);
        /* Near 1 the float probabilities are coarse: the threshold moves off the logit. */
        cr_assert(fabs(t - log(pp / (1 - pp))) < 2e-3 * (1 + fabs(log(pp / (1 - pp)))) || pp > 0.999, "p %g: %g", pp,
                  (double)t);
    }
}

typedef struct world {
    int K, d, D, nq;
    int64_t n;
    float *x;  /* rows as stored (rounded for f16 / bf16) */
    int64_t *ids;
    float *q, *w, *z;
} world;

/* n users with experts of different scales (dot scores well beyond 1), nq tags of a task on
 * experts {1, 2, 3} with softmax gates; every 13th user is zeros. */
static void world_make(world *wd, int K, int d, int64_t n, int nq) {
    wd->K = K;
    wd->d = d;
    wd->D = K * d;
    wd->n = n;
    wd->nq = nq;
    wd->x = malloc((size_t)n * wd->D * sizeof(float));
    wd->ids = malloc((size_t)n * sizeof(int64_t));
    ref_fill_normal(wd->x, n * wd->D);
    for (int64_t i = 0; i < n; i++) {
        wd->ids[i] = 5 * i + 2;
        const float scale = 0.5f + 4.0f * (float)ref_uniform();
        for (int j = 0; j < wd->D; j++) wd->x[i * wd->D + j] *= scale;
        if (i % 13 == 4) memset(wd->x + i * wd->D, 0, (size_t)wd->D * sizeof(float));
    }
    wd->q = malloc((size_t)nq * d * sizeof(float));
    wd->w = calloc((size_t)nq * K, sizeof(float));
    wd->z = malloc((size_t)nq * wd->D * sizeof(float));
    ref_fill_normal(wd->q, (int64_t)nq * d);
    for (int t = 0; t < nq; t++) {
        double sum = 0;
        for (int k = 1; k < 4 && k < K; k++) sum += (wd->w[t * K + k] = (float)exp(ref_normal()));
        for (int k = 1; k < 4 && k < K; k++) wd->w[t * K + k] = (float)(wd->w[t * K + k] / sum);
        cr_assert_eq(mvke_pack_query(K, d, wd->q + t * d, wd->w + t * K, wd->z + (size_t)t * wd->D), MVKE_OK);
    }
}

static void world_free(world *wd) {
    free(wd->x);
    free(wd->ids);
    free(wd->q);
    free(wd->w);
    free(wd->z);
}

static mvke_index *dot_index(world *wd, const char *storage, int refine, int round_rows) {
    mvke_index_options o;
    mvke_index_options_init(&o);
    cr_assert_eq(mvke_index_options_set_storage(&o, storage), MVKE_OK);
    o.score = MVKE_SCORE_DOT;
    o.refine = refine;
    o.threads = 2;
    mvke_index *ix;
    cr_assert_eq(mvke_index_new(&ix, wd->K, wd->d, &o), MVKE_OK, "%s", mvke_last_error());
    cr_assert_eq(mvke_index_train(ix, wd->n, wd->x), MVKE_OK, "%s", mvke_last_error());
    cr_assert_eq(mvke_index_add(ix, wd->n, wd->ids, wd->x), MVKE_OK, "%s", mvke_last_error());
    if (round_rows) /* the oracle scores the rows as stored */
        for (int64_t i = 0; i < wd->n; i++) mvke_index_get(ix, wd->ids[i], wd->x + i * wd->D);
    mvke_score s;
    cr_assert_eq(mvke_index_score(ix, &s), MVKE_OK);
    cr_assert_eq(s, MVKE_SCORE_DOT);
    return ix;
}

/* Top-k, threshold and allow-listed searches of every tag against the oracle; tol relative to
 * the scores' scale (the oracle's slack covers float32's sums). */
static void check_dot(const world *wd, mvke_index *ix, int64_t k, float thr, const char *what) {
    const int nq = wd->nq;
    float *S = malloc((size_t)nq * k * sizeof(float));
    int64_t *I = malloc((size_t)nq * k * sizeof(int64_t));
    oracle_hit *ref = malloc((size_t)wd->n * sizeof *ref);
    uint8_t *allowed = malloc((size_t)wd->n);
    int64_t *aid = malloc((size_t)wd->n * sizeof *aid), na = 0;
    for (int64_t i = 0; i < wd->n; i++)
        if ((allowed[i] = (i % 3 != 1))) aid[na++] = wd->ids[i];
    mvke_allow *allow;
    cr_assert_eq(mvke_allow_new_sorted(&allow, aid, na), MVKE_OK);
    for (int pass = 0; pass < 2; pass++) {
        const mvke_allow *al = pass ? allow : NULL;
        const uint8_t *am = pass ? allowed : NULL;
        cr_assert_eq(mvke_index_search(ix, nq, wd->z, k, al, S, I), MVKE_OK, "%s: %s", what, mvke_last_error());
        mvke_result *res;
        cr_assert_eq(mvke_index_range_search(ix, nq, wd->z, thr, al, &res), MVKE_OK, "%s", mvke_last_error());
        int64_t total = 0;
        for (int t = 0; t < nq; t++) {
            const int64_t nref = ref_rank_dot(wd->K, wd->d, wd->n, wd->x, wd->ids, am, wd->q + t * wd->d,
                                              wd->w + t * wd->K, ref);
            char msg[256];
            int64_t got = 0;
            while (got < k && I[t * k + got] >= 0) got++;
            cr_assert(oracle_check_topk(I + t * k, S + t * k, got, k, ref, nref, 1e-6, msg, sizeof msg) == 0,
                      "%s, tag %d%s: top-%lld: %s", what, t, pass ? " (allow-list)" : "", (long long)k, msg);
            const int64_t *rid;
            const float *rsc;
            int64_t rn;
            cr_assert_eq(mvke_result_get(res, t, &rid, &rsc, &rn), MVKE_OK);
            cr_assert(oracle_check_range(rid, rsc, rn, thr, ref, nref, 1e-6, msg, sizeof msg) == 0,
                      "%s, tag %d%s: threshold: %s", what, t, pass ? " (allow-list)" : "", msg);
            total += rn;
        }
        cr_assert(total > 0 && total < (int64_t)nq * wd->n, "%s: the threshold %g selects %lld pairs", what,
                  (double)thr, (long long)total);
        mvke_result_free(res);
    }
    mvke_allow_free(allow);
    free(S); free(I); free(ref); free(allowed); free(aid);
}

Test(score, dot_searches_of_stored_rows_match_the_float64_oracle) {
    const char *storages[] = {"f32", "f16", "bf16"};
    for (size_t s = 0; s < 3; s++) {
        ref_seed(100 + s);
        world wd;
        world_make(&wd, 5, 13, 1000, 17);
        mvke_index *ix = dot_index(&wd, storages[s], 0, s > 0);
        for (size_t v = 0; v < NVARIANTS; v++) {
            if (mvke_cpu_variant_force(variants[v]) != 0) continue;
            char what[64];
            snprintf(what, sizeof what, "%s, %s", storages[s], mvke_cpu_variant_name(variants[v]));
            check_dot(&wd, ix, 10, 3.0f, what);
            world one = wd; /* one tag: the memory-bound kernels with wider panels */
            one.nq = 1;
            check_dot(&one, ix, 50, 2.0f, what);
        }
        mvke_cpu_variant_unforce();
        mvke_index_free(ix);
        world_free(&wd);
    }
}

Test(score, dot_scores_are_not_clamped_and_need_no_gram_plane) {
    ref_seed(7);
    world wd;
    world_make(&wd, 4, 8, 64, 1);
    for (int j = 0; j < wd.D; j++) wd.x[j] = 10.0f; /* user 0: a large row */
    mvke_index *ix = dot_index(&wd, "f32", 0, 0);
    float s;
    int64_t id;
    const float q1[8] = {1, 1, 1, 1, 1, 1, 1, 1}, w1[4] = {0.0f, 0.5f, 0.5f, 0.0f};
    float z[32];
    mvke_pack_query(4, 8, q1, w1, z);
    cr_assert_eq(mvke_index_search(ix, 1, z, 1, NULL, &s, &id), MVKE_OK);
    cr_assert_eq(id, wd.ids[0]);
    cr_assert_float_eq(s, 80.0f, 1e-4, "10 * 8 * (0.5 + 0.5) = 80, got %g", (double)s);
    /* The cosine index of the same rows keeps K(K+1)/2 Gram floats per user more. */
    mvke_index_options o;
    mvke_index_options_init(&o);
    mvke_index *cx;
    mvke_index_new(&cx, 4, 8, &o);
    mvke_index_footprint fd, fc;
    mvke_index_describe(ix, &fd);
    mvke_index_describe(cx, &fc);
    cr_assert_eq(fc.row_bytes - fd.row_bytes, 10 * 4, "row bytes: cosine %lld, dot %lld", (long long)fc.row_bytes,
                 (long long)fd.row_bytes);
    /* No device serves the dot score: refused whatever the machine has. */
    cr_assert_eq(mvke_index_use_gpu(ix, 0), MVKE_ERR_UNSUPPORTED);
    cr_assert(strstr(mvke_last_error(), "cosine score only"), "%s", mvke_last_error());
    mvke_index_options to;
    mvke_index_options_init(&to);
    to.score = MVKE_SCORE_DOT;
    mvke_tags *tg;
    cr_assert_eq(mvke_tags_new(&tg, 4, 8, &to), MVKE_OK);
    cr_assert_eq(mvke_tags_use_gpu(tg, 0), MVKE_ERR_UNSUPPORTED);
    cr_assert(strstr(mvke_last_error(), "cosine score only"), "%s", mvke_last_error());
    mvke_tags_free(tg);
    mvke_index_free(cx);
    mvke_index_free(ix);
    world_free(&wd);
}

Test(score, dot_codecs_certified_are_the_float32_answer) {
    ref_seed(21);
    world wd;
    world_make(&wd, 5, 12, 3000, 9);
    mvke_index *f = dot_index(&wd, "f32", 0, 0);
    const char *codecs[] = {"sq8", "pq"};
    const int64_t k = 20;
    float *sa = malloc((size_t)wd.nq * k * sizeof *sa), *sb = malloc((size_t)wd.nq * k * sizeof *sb);
    int64_t *ia = malloc((size_t)wd.nq * k * sizeof *ia), *ib = malloc((size_t)wd.nq * k * sizeof *ib);
    for (int c = 0; c < 2; c++) {
        mvke_index *x = dot_index(&wd, codecs[c], 1, 0);
        for (size_t v = 0; v < NVARIANTS; v++) {
            if (mvke_cpu_variant_force(variants[v]) != 0) continue;
            for (int nq = 1; nq <= wd.nq; nq += wd.nq - 1) {
                cr_assert_eq(mvke_index_search(f, nq, wd.z, k, NULL, sa, ia), MVKE_OK);
                cr_assert_eq(mvke_index_search(x, nq, wd.z, k, NULL, sb, ib), MVKE_OK, "%s", mvke_last_error());
                mvke_search_stats st;
                mvke_last_search_stats(&st);
                cr_assert(st.certified && st.users_refined > 0 && st.users_refined < (int64_t)nq * wd.n / 2,
                          "%s: refined %lld of %lld", codecs[c], (long long)st.users_refined, (long long)(nq * wd.n));
                cr_assert_eq(memcmp(ia, ib, (size_t)nq * k * sizeof *ia), 0, "%s %s: other users", codecs[c],
                             mvke_cpu_variant_name(variants[v]));
                cr_assert_eq(memcmp(sa, sb, (size_t)nq * k * sizeof *sa), 0, "%s %s: other scores", codecs[c],
                             mvke_cpu_variant_name(variants[v]));
            }
            mvke_result *ra, *rb;
            cr_assert_eq(mvke_index_range_search(f, wd.nq, wd.z, 2.5f, NULL, &ra), MVKE_OK);
            cr_assert_eq(mvke_index_range_search(x, wd.nq, wd.z, 2.5f, NULL, &rb), MVKE_OK);
            ref_check_same_results(ra, rb, codecs[c]);
            mvke_result_free(ra);
            mvke_result_free(rb);
        }
        mvke_cpu_variant_unforce();
        mvke_index_free(x);
    }
    mvke_index_free(f);
    free(sa); free(sb); free(ia); free(ib);
    world_free(&wd);
}

/* A tag table of one task on experts {1, 2, 3} holding the world's tags, in a score. */
static mvke_tags *tag_table(const world *wd, mvke_score score) {
    mvke_index_options o;
    mvke_index_options_init(&o);
    o.score = score;
    mvke_tags *t;
    cr_assert_eq(mvke_tags_new(&t, wd->K, wd->d, &o), MVKE_OK, "%s", mvke_last_error());
    const int ex[3] = {1, 2, 3};
    cr_assert_eq(mvke_tags_add_task(t, "ctr", ex, 3), MVKE_OK);
    int64_t *tid = malloc((size_t)wd->nq * sizeof *tid);
    for (int i = 0; i < wd->nq; i++) tid[i] = 100 + i;
    cr_assert_eq(mvke_tags_add(t, "ctr", wd->nq, tid, NULL, NULL, wd->q, wd->w), MVKE_OK, "%s", mvke_last_error());
    free(tid);
    return t;
}

Test(score, dot_user_tags_files_and_mixed_scores) {
    ref_seed(33);
    world wd;
    world_make(&wd, 5, 9, 400, 30);
    mvke_index *ix = dot_index(&wd, "f32", 0, 0);
    mvke_tags *t = tag_table(&wd, MVKE_SCORE_DOT);
    /* User -> tags: the top 5 tags of 20 users against the oracle's dot scores. */
    mvke_result *r;
    cr_assert_eq(mvke_user_tags_top(ix, t, "ctr", 20, wd.ids, 5, &r), MVKE_OK, "%s", mvke_last_error());
    oracle_hit ref[30];
    for (int u = 0; u < 20; u++) {
        for (int i = 0; i < wd.nq; i++) {
            ref[i].id = 100 + i;
            ref[i].score = ref_score_dot(wd.K, wd.d, wd.x + (size_t)u * wd.D, wd.q + i * wd.d, wd.w + i * wd.K);
            ref[i].slack = 1e-5 * (1 + fabs(ref[i].score));
        }
        for (int i = 1; i < wd.nq; i++) /* by score descending */
            for (int j = i; j > 0 && ref[j].score > ref[j - 1].score; j--) {
                oracle_hit h = ref[j];
                ref[j] = ref[j - 1];
                ref[j - 1] = h;
            }
        const int64_t *ids;
        const float *sc;
        int64_t n;
        mvke_result_get(r, u, &ids, &sc, &n);
        char msg[256];
        cr_assert(oracle_check_topk(ids, sc, n, 5, ref, wd.nq, 1e-6, msg, sizeof msg) == 0, "user %d: %s", u, msg);
    }
    mvke_result_free(r);
    /* Audience through the table equals the index's own search. */
    int64_t tid = 103, I1[8], I2[8];
    float S1[8], S2[8];
    cr_assert_eq(mvke_audience_top(ix, t, "ctr", 1, &tid, 8, NULL, &r), MVKE_OK, "%s", mvke_last_error());
    mvke_index_search(ix, 1, wd.z + 3 * wd.D, 8, NULL, S2, I2);
    const int64_t *ai;
    const float *as;
    int64_t an;
    mvke_result_get(r, 0, &ai, &as, &an);
    cr_assert_eq(an, 8);
    cr_assert_eq(memcmp(ai, I2, sizeof I2), 0);
    cr_assert_eq(memcmp(as, S2, sizeof S2), 0);
    mvke_result_free(r);
    /* The file keeps the score: reopened, the same answers. */
    char path[] = "/tmp/mvke-score-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    cr_assert_eq(mvke_file_save(path, ix, t), MVKE_OK, "%s", mvke_last_error());
    cr_assert_eq(mvke_file_verify(path), MVKE_OK, "%s", mvke_last_error());
    mvke_index *ix2;
    mvke_tags *t2;
    cr_assert_eq(mvke_file_open(path, 0, &ix2, &t2), MVKE_OK, "%s", mvke_last_error());
    mvke_score s;
    mvke_index_score(ix2, &s);
    cr_assert_eq(s, MVKE_SCORE_DOT);
    mvke_index_search(ix2, 1, wd.z + 3 * wd.D, 8, NULL, S1, I1);
    cr_assert_eq(memcmp(I1, I2, sizeof I2), 0);
    cr_assert_eq(memcmp(S1, S2, sizeof S2), 0);
    cr_assert_eq(mvke_user_tags_top(ix2, t2, "ctr", 1, wd.ids, 3, &r), MVKE_OK, "%s", mvke_last_error());
    mvke_result_free(r);
    /* A cosine table with a dot index: refused, in searches and in files. */
    mvke_tags *tc = tag_table(&wd, MVKE_SCORE_COSINE);
    cr_assert_eq(mvke_audience_top(ix, tc, "ctr", 1, &tid, 8, NULL, &r), MVKE_ERR_INVALID);
    cr_assert(strstr(mvke_last_error(), "scores by dot but the tag table by cosine"), "%s", mvke_last_error());
    cr_assert_eq(mvke_user_tags_top(ix, tc, "ctr", 1, wd.ids, 3, &r), MVKE_ERR_INVALID);
    cr_assert_eq(mvke_file_save(path, ix, tc), MVKE_ERR_INVALID);
    cr_assert(strstr(mvke_last_error(), "a file keeps one score"), "%s", mvke_last_error());
    cr_assert_eq(mvke_file_verify(path), MVKE_OK, "a refused save leaves the file");
    unlink(path);
    mvke_tags_free(tc);
    mvke_tags_free(t2);
    mvke_index_free(ix2);
    mvke_tags_free(t);
    mvke_index_free(ix);
    world_free(&wd);
}
