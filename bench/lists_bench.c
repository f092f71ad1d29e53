/*
 * lists_bench.c - mvke-lists-bench: audiences of a listed index against the flat float32 scan of
 * the same users (docs/benchmarks.md, "Lists").
 *
 *   mvke-lists-bench [--users N] [--lists L[,L...]] [--noise X] [--storage f32|sq8] [--threads T]
 *
 * A demo world (support/world.h; --noise sets the users' noise, 2 by default: more noise, less
 * structure) of N users; 20 tags per task (40), each searched alone for its top-100. For each list
 * count: the k-means time, the exact search by bounds (time, lists read, certified), then probes
 * P = 1, 2, 4, ... up to every list: time per tag, users read, recall@100 against the flat exact
 * answer, and the share of answers the bounds certify; then threshold audiences at each tag's
 * 10,000th score (about 1e4 users), their recall the share of the flat answer's users found
 * ("diff" the users missed). Times are medians of 3 passes over the 40
 * tags, in the same process as the flat baseline's. With FAISS's C API (the plugin's build), the
 * anchor: FAISS IndexIVFFlat over the same user rows (inner product, so it ranks by the gated
 * numerator <x, z>), the same number of lists and probes, its recall against the exact MVKE
 * answer and its speed, searching one tag at a time with the same threads.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "mvke/mvke.h"
#include "support/clock.h"
#include "support/world.h"

#ifdef MVKE_LISTS_BENCH_FAISS
#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/IndexIVFFlat_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>
#endif

#define NTAGS 40
#define TOPK 100
#define PASSES 3
#define RANGE_USERS 10000

static int fail(const char *what, mvke_status st) {
    fprintf(stderr, "mvke-lists-bench: %s: %s: %s\n", what, mvke_status_name(st), mvke_last_error());
    return 1;
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Searches every tag alone: the median over PASSES of the mean seconds per tag; answers into
 * s/id (NTAGS * TOPK), stats summed over the tags of the last pass. */
static mvke_status run(mvke_index *ix, const float *z, int D, float *s, int64_t *id, double *sec, int64_t *users,
                       int64_t *lists, int *certified) {
    double t[PASSES];
    for (int p = 0; p < PASSES; p++) {
        *users = *lists = 0;
        *certified = 0;
        const double t0 = bench_now();
        for (int i = 0; i < NTAGS; i++) {
            mvke_status st = mvke_index_search(ix, 1, z + (size_t)i * D, TOPK, NULL, s + i * TOPK, id + i * TOPK);
            if (st != MVKE_OK) return st;
            mvke_search_stats ss;
            mvke_last_search_stats(&ss);
            *users += ss.users_scanned;
            *lists += ss.lists_scanned;
            *certified += ss.certified;
        }
        t[p] = (bench_now() - t0) / NTAGS;
    }
    qsort(t, PASSES, sizeof *t, cmp_double);
    *sec = t[PASSES / 2];
    return MVKE_OK;
}

/* Threshold audiences, every tag alone at its own threshold thr[i]: the median over PASSES of
 * the mean seconds per tag; found[i]: the users each tag returned (last pass), stats summed. */
static mvke_status run_range(mvke_index *ix, const float *z, int D, const float *thr, int64_t *found, double *sec,
                             int64_t *users, int *certified) {
    double t[PASSES];
    for (int p = 0; p < PASSES; p++) {
        *users = 0;
        *certified = 0;
        const double t0 = bench_now();
        for (int i = 0; i < NTAGS; i++) {
            mvke_result *r;
            mvke_status st = mvke_index_range_search(ix, 1, z + (size_t)i * D, thr[i], NULL, &r);
            if (st != MVKE_OK) return st;
            mvke_search_stats ss;
            mvke_last_search_stats(&ss);
            mvke_result_total(r, &found[i]);
            mvke_result_free(r);
            *users += ss.users_scanned;
            *certified += ss.certified;
        }
        t[p] = (bench_now() - t0) / NTAGS;
    }
    qsort(t, PASSES, sizeof *t, cmp_double);
    *sec = t[PASSES / 2];
    return MVKE_OK;
}

static double recall(const int64_t *exact, const int64_t *got) {
    int64_t found = 0, want = 0;
    for (int i = 0; i < NTAGS; i++)
        for (int e = 0; e < TOPK; e++) {
            const int64_t u = exact[i * TOPK + e];
            if (u < 0) continue;
            want++;
            for (int f = 0; f < TOPK; f++)
                if (got[i * TOPK + f] == u) {
                    found++;
                    break;
                }
        }
    return want ? (double)found / (double)want : 1.0;
}

/* FAISS IndexIVFFlat, inner product, L lists trained on the same sample size as ours, probes
 * 1, 2, 4, ... L: recall against the exact MVKE answer ei, time per tag. */
static void faiss_anchor(const synth_world *w, int64_t n, int D, int L, const float *z, const int64_t *ei, int threads,
                         double flat_s) {
#ifdef MVKE_LISTS_BENCH_FAISS
    if (threads > 0) omp_set_num_threads(threads);
    FaissIndexFlatIP *q = NULL;
    FaissIndexIVFFlat *ivf = NULL;
    const int64_t ns = n < (int64_t)L * 64 ? n : (int64_t)L * 64;
    float *sample = malloc((size_t)ns * D * sizeof *sample);
    for (int64_t i = 0; i < ns; i++)
        memcpy(sample + i * D, w->x + (ns == n ? i : (int64_t)((double)i * (double)n / (double)ns)) * D, (size_t)D * 4);
    double t0 = bench_now();
    if (faiss_IndexFlatIP_new_with(&q, D) || faiss_IndexIVFFlat_new_with_metric(&ivf, (FaissIndex *)q, D, L, METRIC_INNER_PRODUCT) ||
        faiss_Index_train((FaissIndex *)ivf, ns, sample) || faiss_Index_add_with_ids((FaissIndex *)ivf, n, w->x, w->user_id)) {
        fprintf(stderr, "mvke-lists-bench: FAISS IndexIVFFlat: %s\n", faiss_get_last_error());
        free(sample);
        return;
    }
    faiss_IndexIVFFlat_set_own_fields(ivf, 1);
    const double tb = bench_now() - t0;
    free(sample);
    float *s = malloc(NTAGS * TOPK * sizeof *s);
    int64_t *id = malloc(NTAGS * TOPK * sizeof *id);
    for (int P = 1;; P *= 2) {
        const int p = P > L ? L : P;
        faiss_IndexIVFFlat_set_nprobe(ivf, (size_t)p);
        double t[PASSES];
        for (int pass = 0; pass < PASSES; pass++) {
            t0 = bench_now();
            for (int i = 0; i < NTAGS; i++)
                faiss_Index_search((FaissIndex *)ivf, 1, z + (size_t)i * D, TOPK, s + i * TOPK, id + i * TOPK);
            t[pass] = (bench_now() - t0) / NTAGS;
        }
        qsort(t, PASSES, sizeof *t, cmp_double);
        printf("| %d | FAISS IVFFlat, probe %d | %.3f | %.1fx | | %.4f | | |\n", L, p, t[PASSES / 2] * 1e3,
               flat_s / t[PASSES / 2], recall(ei, id));
        fflush(stdout);
        if (p == L) break;
    }
    printf("| %d | FAISS IVFFlat: train (sample %lld) + add: %.1f s | | | | | | |\n", L, (long long)ns, tb);
    free(s);
    free(id);
    faiss_Index_free((FaissIndex *)ivf);
#else
    (void)w, (void)n, (void)D, (void)L, (void)z, (void)ei, (void)threads, (void)flat_s;
    printf("| %d | FAISS IVFFlat: not built (no FAISS C API in this build) | | | | | | |\n", L);
#endif
}

int main(int argc, char **argv) {
    int64_t n = 1000000;
    char lists_s[256] = "1000,4000";
    double noise = 2.0;
    const char *storage = "f32";
    int threads = 0;
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--users") && a + 1 < argc) n = (int64_t)strtod(argv[++a], NULL);
        else if (!strcmp(argv[a], "--lists") && a + 1 < argc) snprintf(lists_s, sizeof lists_s, "%s", argv[++a]);
        else if (!strcmp(argv[a], "--noise") && a + 1 < argc) noise = strtod(argv[++a], NULL);
        else if (!strcmp(argv[a], "--storage") && a + 1 < argc) storage = argv[++a];
        else if (!strcmp(argv[a], "--threads") && a + 1 < argc) threads = atoi(argv[++a]);
        else {
            fprintf(stderr, "usage: mvke-lists-bench [--users N] [--lists L[,L...]] [--noise X] [--storage f32|sq8] "
                            "[--threads T]\n");
            return !(a < argc && (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h"))) * 2;
        }
    }
    synth_world_options o;
    synth_world_options_init(&o);
    o.nusers = n;
    o.user_noise = (float)noise;
    synth_world *w;
    char msg[256];
    double t0 = bench_now();
    if (synth_world_new(&w, &o, msg, sizeof msg) != MVKE_OK) {
        fprintf(stderr, "mvke-lists-bench: %s\n", msg);
        return 1;
    }
    const int K = o.K, d = o.d, D = K * d;
    float *z = malloc((size_t)NTAGS * D * sizeof *z);
    for (int i = 0; i < NTAGS; i++) { /* 20 tags per task, spread over the taxonomy */
        const int64_t row = (i % 2) * w->ntags + (int64_t)(i / 2) * 97 % w->ntags;
        mvke_pack_query(K, d, w->q + row * d, w->w + row * K, z + (size_t)i * D);
    }
    printf("# mvke-lists-bench: %lld users (demo world, noise %.1f), K = %d, d = %d, %d tags alone, top-%d, %s, "
           "threads %d; world made in %.1f s\n", (long long)n, noise, K, d, NTAGS, TOPK, storage, threads,
           bench_now() - t0);
    mvke_index_options io;
    mvke_index_options_init(&io);
    io.threads = threads;
    mvke_index *flat;
    mvke_status st = mvke_index_new(&flat, K, d, &io);
    if (st == MVKE_OK) st = mvke_index_add(flat, n, w->user_id, w->x);
    if (st != MVKE_OK) return fail("flat index", st);
    float *es = malloc(NTAGS * TOPK * sizeof *es), *s = malloc(NTAGS * TOPK * sizeof *s);
    int64_t *ei = malloc(NTAGS * TOPK * sizeof *ei), *id = malloc(NTAGS * TOPK * sizeof *id);
    double flat_s;
    int64_t users, lists;
    int cert;
    if ((st = run(flat, z, D, es, ei, &flat_s, &users, &lists, &cert)) != MVKE_OK) return fail("flat search", st);
    /* Thresholds selecting about RANGE_USERS users per tag: each tag's RANGE_USERS-th score. */
    float thr[NTAGS];
    int64_t exact_n[NTAGS], found[NTAGS];
    {
        const int64_t rk = n >= 10 * RANGE_USERS ? RANGE_USERS : n / 10 > 0 ? n / 10 : 1; /* small worlds: a tenth */
        float *ts = malloc((size_t)rk * sizeof *ts);
        int64_t *ti = malloc((size_t)rk * sizeof *ti);
        for (int i = 0; i < NTAGS; i++) {
            if ((st = mvke_index_search(flat, 1, z + (size_t)i * D, rk, NULL, ts, ti)) != MVKE_OK)
                return fail("flat search", st);
            thr[i] = ts[rk - 1];
        }
        free(ts);
        free(ti);
    }
    double flat_r;
    if ((st = run_range(flat, z, D, thr, exact_n, &flat_r, &users, &cert)) != MVKE_OK) return fail("flat threshold", st);
    int64_t exact_total = 0;
    for (int i = 0; i < NTAGS; i++) exact_total += exact_n[i];
    printf("flat f32 scan: %.3f ms per tag (top-%d), %.3f ms per tag (threshold: %.0f users per tag)\n\n", flat_s * 1e3,
           TOPK, flat_r * 1e3, (double)exact_total / NTAGS);
    mvke_index_free(flat); /* its answers are kept: room for the listed index at 1e7 users */
    printf("| lists | probe | ms per tag | vs flat f32 | users read | recall@100 | certified | diff from exact |\n");
    printf("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    mvke_index_options lo = io;
    if ((st = mvke_index_options_set_storage(&lo, storage)) != MVKE_OK) return fail("--storage", st);
    lo.refine = lo.storage == MVKE_STORAGE_SQ8 || lo.storage == MVKE_STORAGE_PQ;
    for (char *tok = strtok(lists_s, ","); tok; tok = strtok(NULL, ",")) {
        const int L = atoi(tok);
        mvke_index *ix;
        if ((st = mvke_index_new(&ix, K, d, &lo)) != MVKE_OK) return fail("index", st);
        if (lo.refine && (st = mvke_index_train(ix, n < 65536 ? n : 65536, w->x)) != MVKE_OK) return fail("train", st);
        if ((st = mvke_index_add(ix, n, w->user_id, w->x)) != MVKE_OK) return fail("add", st);
        t0 = bench_now();
        if ((st = mvke_index_build_lists(ix, L)) != MVKE_OK) return fail("lists", st);
        const double tk = bench_now() - t0;
        mvke_lists_info li;
        mvke_index_lists(ix, &li);
        fprintf(stderr, "%d lists made in %.1f s (sizes %lld / %lld / %lld)\n", L, tk, (long long)li.min_size,
                (long long)li.median_size, (long long)li.max_size);
        for (int P = 0;; P = P ? P * 2 : 1) {
            const int p = P > L ? L : P;
            mvke_index_set_probe(ix, p);
            double sec;
            if ((st = run(ix, z, D, s, id, &sec, &users, &lists, &cert)) != MVKE_OK) return fail("listed search", st);
            int64_t diff = 0;
            for (int e = 0; e < NTAGS * TOPK; e++) diff += id[e] != ei[e] || (id[e] >= 0 && s[e] != es[e]);
            char probe[32];
            if (p == 0) snprintf(probe, sizeof probe, "exact");
            else snprintf(probe, sizeof probe, "%d", p);
            printf("| %d | %s | %.3f | %.1fx | %.2f%% | %.4f | %d/%d | %lld |\n", L, probe, sec * 1e3, flat_s / sec,
                   100.0 * (double)users / NTAGS / (double)n, recall(ei, id), cert, NTAGS, (long long)diff);
            fflush(stdout);
            if ((p == 0 || p == L) && diff) {
                fprintf(stderr, "mvke-lists-bench: %d lists, %s: %lld entries differ from the flat index's exact answer\n", L,
                        probe, (long long)diff);
                return 1;
            }
            if (p == L) break;
        }
        for (int P = 0;; P = P ? P * 2 : 1) { /* the threshold audiences */
            const int p = P > L ? L : P;
            mvke_index_set_probe(ix, p);
            double sec;
            if ((st = run_range(ix, z, D, thr, found, &sec, &users, &cert)) != MVKE_OK) return fail("listed threshold", st);
            int64_t total = 0;
            for (int i = 0; i < NTAGS; i++) total += found[i];
            char probe[32];
            if (p == 0) snprintf(probe, sizeof probe, "threshold, exact");
            else snprintf(probe, sizeof probe, "threshold, %d", p);
            printf("| %d | %s | %.3f | %.1fx | %.2f%% | %.4f | %d/%d | %lld |\n", L, probe, sec * 1e3, flat_r / sec,
                   100.0 * (double)users / NTAGS / (double)n, (double)total / (double)exact_total, cert, NTAGS,
                   (long long)(exact_total - total));
            fflush(stdout);
            if ((p == 0 || p == L) && total != exact_total) {
                fprintf(stderr, "mvke-lists-bench: %d lists, %s: %lld users, the flat index %lld\n", L, probe,
                        (long long)total, (long long)exact_total);
                return 1;
            }
            if (p == L) break;
        }
        printf("| %d | k-means (sample %lld, 10 iterations) + assignment + reorder: %.1f s | | | | | | |\n", L,
               (long long)(n < (int64_t)L * 64 ? n : (int64_t)L * 64), tk);
        mvke_index_free(ix);
        faiss_anchor(w, n, D, L, z, ei, threads, flat_s);
    }
    synth_world_free(w);
    free(z), free(es), free(s), free(ei), free(id);
    return 0;
}
