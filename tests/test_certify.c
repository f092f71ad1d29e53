/*
 * test_certify.c - the certified interval of the codec kernels (kernels/cpu/scan.c,
 * mvke_scan_intervals; DESIGN section 14, docs/codecs.md "Certified search"): over more than
 * 10^6 (user, tag) pairs (1.6 million) of four worlds - the demo world, random normal users, experts of very
 * different norms, gates near 0 and 1 - for sq8 and pq on every instruction-set variant the CPU
 * allows, no exact score (float64) and no float32 score of the stored rows (what the refine
 * reproduces) leaves [s^ - e, s^ + e]. Also: the certified search of an index answers as the
 * float32 index does, bit for bit, on every variant.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/index_impl.h"
#include "kernels/cpu/scan.h"
#include "kernels/gram.h"
#include "reference.h"
#include "support/oracle.h"
#include "support/world.h"

/* Users per world: 20000 (1.6 million pairs in all); a sanitizer pass, which repeats the suite
 * many times slower, checks a quarter of them (the plain pass counts). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NU 5000
#else
#define NU 20000
#endif

static const mvke_cpu_variant variants[] = {MVKE_CPU_GENERIC, MVKE_CPU_AVX2, MVKE_CPU_AVX512};

typedef struct world {
    const char *name;
    int K, d;
    int64_t n;
    float *x; /* n * K*d */
    int nq;
    float *q, *wg; /* nq tags: embeddings (nq * d) and gates (nq * K) */
    float *z;      /* their gated rows (nq * K*d, mvke_pack_query) */
} world;

/* Tag storage for nq tags; the gated rows once q and wg are filled (tags_pack). */
static void tags_alloc(world *w, int nq) {
    w->nq = nq;
    w->q = malloc((size_t)nq * w->d * sizeof *w->q);
    w->wg = calloc((size_t)nq * w->K, sizeof *w->wg);
    w->z = malloc((size_t)nq * w->K * w->d * sizeof *w->z);
}
static void tags_pack(world *w) {
    for (int i = 0; i < w->nq; i++)
        cr_assert_eq(mvke_pack_query(w->K, w->d, w->q + (size_t)i * w->d, w->wg + (size_t)i * w->K,
                                     w->z + (size_t)i * w->K * w->d), MVKE_OK);
}
static void tags_free(world *w) {
    free(w->q);
    free(w->wg);
    free(w->z);
}

static mvke_index *make_index(const world *w, const char *storage, int refine) {
    mvke_index_options o;
    mvke_index_options_init(&o);
    cr_assert_eq(mvke_index_options_set_storage(&o, storage), MVKE_OK);
    o.refine = refine;
    mvke_index *ix;
    cr_assert_eq(mvke_index_new(&ix, w->K, w->d, &o), MVKE_OK);
    if (mvke_storage_is_codec(o.storage)) cr_assert_eq(mvke_index_train(ix, w->n, w->x), MVKE_OK, "%s", mvke_last_error());
    int64_t *ids = malloc((size_t)w->n * sizeof *ids);
    for (int64_t i = 0; i < w->n; i++) ids[i] = i;
    cr_assert_eq(mvke_index_add(ix, w->n, ids, w->x), MVKE_OK, "%s", mvke_last_error());
    free(ids);
    return ix;
}

/* Every pair's score (s) and, for a codec, its interval [lo, hi], as the kernels give them. */
static void intervals(mvke_index *ix, const world *w, int cert, float *s, float *lo, float *hi) {
    mvke_kblock *blocks = malloc((size_t)(ix->store.nblocks + 1) * sizeof *blocks);
    mvke_kdb db;
    mvke_store_view(&ix->store, blocks, &db);
    const int D = w->K * w->d, P = mvke_gram_size(w->K);
    float *g = malloc((size_t)w->nq * P * sizeof *g), *neg = malloc((size_t)w->nq * D * sizeof *neg);
    for (int i = 0; i < w->nq; i++) mvke_gram_plain(w->K, w->d, w->z + (size_t)i * D, g + (size_t)i * P);
    for (int64_t i = 0; i < (int64_t)w->nq * D; i++) neg[i] = -w->z[i];
    mvke_kqueries q = {.n = w->nq, .x = w->z, .gram = g};
    cr_assert_eq(mvke_scan_intervals(&db, &q, 0, s, cert ? hi : NULL), MVKE_OK);
    if (cert) {
        float *sn = malloc((size_t)w->nq * w->n * sizeof *sn);
        mvke_kqueries qn = {.n = w->nq, .x = neg, .gram = g};
        cr_assert_eq(mvke_scan_intervals(&db, &qn, 0, sn, lo), MVKE_OK);
        for (int64_t i = 0; i < (int64_t)w->nq * w->n; i++) {
            cr_assert_eq(sn[i], -s[i], "the kernel is not odd in the query at pair %lld", (long long)i);
            lo[i] = -lo[i];
        }
        free(sn);
    }
    free(blocks);
    free(g);
    free(neg);
}

/* Checks every pair of a world for one codec on every variant; returns the pairs checked. */
static int64_t check(const world *w, const char *storage) {
    mvke_index *cix = make_index(w, storage, 1), *fix = make_index(w, "f32", 0);
    const size_t np = (size_t)w->nq * (size_t)w->n;
    float *s = malloc(np * sizeof *s), *lo = malloc(np * sizeof *lo), *hi = malloc(np * sizeof *hi);
    float *f = malloc(np * sizeof *f);
    double *ex = malloc(np * sizeof *ex);
    for (int i = 0; i < w->nq; i++)
        for (int64_t u = 0; u < w->n; u++) ex[(size_t)i * w->n + u] =
            oracle_score(w->K, w->d, w->x + (size_t)u * w->K * w->d, w->q + (size_t)i * w->d, w->wg + (size_t)i * w->K);
    int64_t pairs = 0, wide = 0, ran = 0;
    double widest = 0.0, mean = 0.0;
    for (size_t vi = 0; vi < sizeof variants / sizeof *variants; vi++) {
        if (mvke_cpu_variant_force(variants[vi]) != 0) {
            fprintf(stderr, "SKIP variant %s: this CPU, as MVKE_CPU caps it, lacks it\n", mvke_cpu_variant_name(variants[vi]));
            continue;
        }
        ran++;
        intervals(cix, w, 1, s, lo, hi);
        intervals(fix, w, 0, f, NULL, NULL);
        for (size_t p = 0; p < np; p++) {
            cr_assert(lo[p] <= ex[p] && ex[p] <= hi[p],
                      "%s, %s, %s: pair (user %lld, tag %d): exact %.9g outside [%.9g, %.9g] (codes %.9g)", w->name,
                      storage, mvke_cpu_variant_name(variants[vi]), (long long)(p % w->n), (int)(p / w->n), ex[p],
                      lo[p], hi[p], s[p]);
            cr_assert(lo[p] <= f[p] && f[p] <= hi[p],
                      "%s, %s, %s: pair (user %lld, tag %d): float32 score %.9g outside [%.9g, %.9g]", w->name, storage,
                      mvke_cpu_variant_name(variants[vi]), (long long)(p % w->n), (int)(p / w->n), f[p], lo[p], hi[p]);
            /* Pairs whose interval spans [-1, 1] (the guard's, or bounds too wide to tell) are
             * always candidates: contained, but counted apart. */
            const double width = (double)hi[p] - lo[p];
            if (lo[p] <= -1.0f && hi[p] >= 1.0f) {
                wide++;
                continue;
            }
            widest = width > widest ? width : widest;
            mean += width;
            pairs++;
        }
    }
    mvke_cpu_variant_unforce();
    cr_assert_geq(ran, 1);
    fprintf(stderr, "certify: %-14s %-4s %lld pairs in their intervals (%lld variants) and %lld spanning [-1, 1]; half-width mean %.3g, max %.3g\n",
            w->name, storage, (long long)pairs, (long long)ran, (long long)wide, pairs ? mean / pairs / 2 : 0.0, widest / 2);
    free(s); free(lo); free(hi); free(f); free(ex);
    mvke_index_free(cix);
    mvke_index_free(fix);
    return pairs / ran;
}

/* nq random tags on the experts of mask, gates from gate(). */
static void random_tags(world *w, int nq, uint64_t mask, double (*gate)(void)) {
    tags_alloc(w, nq);
    for (int i = 0; i < nq; i++) {
        ref_fill_normal(w->q + (size_t)i * w->d, w->d);
        for (int k = 0; k < w->K; k++)
            if (mask >> k & 1) w->wg[(size_t)i * w->K + k] = (float)gate();
    }
    tags_pack(w);
}

static double gate_uniform(void) { return ref_uniform(); }
static double gate_extreme(void) {
    static const double v[4] = {1e-6, 1e-3, 0.999, 1.0};
    return v[(int)(ref_uniform() * 4) & 3];
}

/* Both codecs. The four worlds hold 20000 x (32 + 16 + 16 + 16) = 1.6 million pairs, each
 * checked on every variant; the demo, normal and gate worlds' intervals are informative (narrower
 * than [-1, 1]) for 99% of their pairs at least: 1.28 million. The norms world's small experts
 * are coded by the large ones' scale (sq8 codes each dimension over its range), so many of its
 * intervals span [-1, 1]: those pairs are always re-scored, which keeps the answer exact. */
static void run(const world *w, int informative) {
    const int64_t all = w->n * w->nq;
    const int64_t sq8 = check(w, "sq8"), pq = check(w, "pq");
    if (informative) {
        cr_assert_geq(sq8, all * 99 / 100);
        cr_assert_geq(pq, all * 99 / 100);
    }
}

Test(certify, demo_world) {
    synth_world_options o;
    synth_world_options_init(&o);
    o.nusers = NU;
    synth_world *sw;
    char msg[256];
    cr_assert_eq(synth_world_new(&sw, &o, msg, sizeof msg), MVKE_OK, "%s", msg);
    const int K = o.K, d = o.d, nq = 32;
    world w = {.name = "demo", .K = K, .d = d, .n = NU, .x = sw->x};
    tags_alloc(&w, nq);
    for (int i = 0; i < nq; i++) { /* tags spread over the taxonomy, both tasks */
        const int t = i % 2;
        const int64_t tag = (int64_t)i * 53 % sw->ntags, row = t * sw->ntags + tag;
        memcpy(w.q + (size_t)i * d, sw->q + row * d, (size_t)d * sizeof(float));
        memcpy(w.wg + (size_t)i * K, sw->w + row * K, (size_t)K * sizeof(float));
    }
    tags_pack(&w);
    run(&w, 1);
    tags_free(&w);
    synth_world_free(sw);
}

Test(certify, random_normal_users) {
    ref_seed(81);
    world w = {.name = "normal", .K = 5, .d = 30, .n = NU, .x = malloc((size_t)NU * 150 * sizeof(float))};
    ref_fill_normal(w.x, (int64_t)NU * 150);
    random_tags(&w, 16, 0x0e, gate_uniform);
    run(&w, 1);
    free(w.x);
    tags_free(&w);
}

Test(certify, experts_of_very_different_norms) {
    ref_seed(82);
    world w = {.name = "norms", .K = 4, .d = 16, .n = NU, .x = malloc((size_t)NU * 64 * sizeof(float))};
    ref_fill_normal(w.x, (int64_t)NU * 64);
    for (int64_t u = 0; u < NU; u++)
        for (int k = 0; k < 4; k++) {
            const float scale = (float)pow(10.0, 6.0 * ref_uniform() - 3.0);
            for (int j = 0; j < 16; j++) w.x[(u * 4 + k) * 16 + j] *= scale;
        }
    random_tags(&w, 16, 0x0f, gate_uniform);
    run(&w, 0);
    free(w.x);
    tags_free(&w);
}

Test(certify, gates_near_zero_and_one) {
    ref_seed(83);
    world w = {.name = "gates 0 and 1", .K = 5, .d = 30, .n = NU, .x = malloc((size_t)NU * 150 * sizeof(float))};
    ref_fill_normal(w.x, (int64_t)NU * 150);
    random_tags(&w, 16, 0x1f, gate_extreme);
    run(&w, 1);
    free(w.x);
    tags_free(&w);
}

/* The certified searches (top-k for one and many tags, threshold) of sq8 and pq indexes keeping
 * their rows answer exactly as the float32 index of the same rows: same ids, same order, same
 * float32 scores, on every variant; and say so in their stats. */
Test(certify, certified_searches_are_the_float32_answer) {
    ref_seed(84);
    world w = {.name = "normal", .K = 5, .d = 30, .n = NU, .x = malloc((size_t)NU * 150 * sizeof(float))};
    ref_fill_normal(w.x, (int64_t)NU * 150);
    random_tags(&w, 24, 0x0e, gate_uniform);
    mvke_index *f = make_index(&w, "f32", 0);
    const char *codecs[2] = {"sq8", "pq"};
    const int64_t k = 100;
    float *sa = malloc((size_t)w.nq * k * sizeof *sa), *sb = malloc((size_t)w.nq * k * sizeof *sb);
    int64_t *ia = malloc((size_t)w.nq * k * sizeof *ia), *ib = malloc((size_t)w.nq * k * sizeof *ib);
    for (int c = 0; c < 2; c++) {
        mvke_index *x = make_index(&w, codecs[c], 1);
        for (size_t vi = 0; vi < sizeof variants / sizeof *variants; vi++) {
            if (mvke_cpu_variant_force(variants[vi]) != 0) continue;
            for (int nq = 1; nq <= w.nq; nq += w.nq - 1) { /* one tag (tables), every tag (tiles) */
                cr_assert_eq(mvke_index_search(f, nq, w.z, k, NULL, sa, ia), MVKE_OK);
                cr_assert_eq(mvke_index_search(x, nq, w.z, k, NULL, sb, ib), MVKE_OK, "%s", mvke_last_error());
                mvke_search_stats st;
                cr_assert_eq(mvke_last_search_stats(&st), MVKE_OK);
                cr_assert(st.certified && st.users_scanned == NU && st.users_refined > 0, "%s: stats", codecs[c]);
                cr_assert_eq(memcmp(ia, ib, (size_t)nq * k * sizeof *ia), 0, "%s %s: other users", codecs[c],
                             mvke_cpu_variant_name(variants[vi]));
                cr_assert_eq(memcmp(sa, sb, (size_t)nq * k * sizeof *sa), 0, "%s %s: other scores", codecs[c],
                             mvke_cpu_variant_name(variants[vi]));
            }
            mvke_result *ra, *rb;
            cr_assert_eq(mvke_index_range_search(f, w.nq, w.z, 0.25f, NULL, &ra), MVKE_OK);
            cr_assert_eq(mvke_index_range_search(x, w.nq, w.z, 0.25f, NULL, &rb), MVKE_OK);
            ref_check_same_results(ra, rb, codecs[c]);
            mvke_result_free(ra);
            mvke_result_free(rb);
        }
        mvke_cpu_variant_unforce();
        mvke_index_free(x);
    }
    mvke_index_free(f);
    free(sa); free(sb); free(ia); free(ib); free(w.x);
    tags_free(&w);
}
