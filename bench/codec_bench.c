/*
 * codec_bench.c - mvke-codec-bench: what the compressed storages (sq8, pq, with and without
 * their float32 rows) cost and give against exact float32 search on the same users, in one run.
 *
 * Users are generated in chunks straight into each index (the demo's world, or random normal
 * rows), so that a run at 1e7 users holds one index at a time. float32 goes first: every tag's
 * top k and a threshold per tag that selects about --threshold-users users (its score of rank
 * --threshold-users), with their answers kept as the reference. Then every codec configuration,
 * in each of its search modes (docs/codecs.md): the codes alone; `exact` (certified) and
 * `approx` R = 4 and 16 for an index keeping its rows. For each: bytes per user resident (what a
 * search reads: codes, Gram triangle, bounds, ids and their lookup) and on disk (plus the refine
 * rows), the median one-tag time of top-k and of the threshold search as ratios to float32's,
 * the users re-scored per tag (mean and max, from mvke_last_search_stats), the share of answers
 * certified and of answers identical to float32's (ids, order and scores), and recall@k. On the
 * demo's world, the precision at M of batch tagging from the stored rows. Prints markdown.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/half.h"
#include "mvke/mvke.h"
#include "support/options.h"
#include "support/rng.h"
#include "support/world.h"

typedef struct config {
    const char *name; /* as for --storage */
    int refine;
} config;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int fail(const char *what, mvke_status st) {
    fprintf(stderr, "mvke-codec-bench: %s: %s (%s)\n", what, mvke_last_error(), mvke_status_name(st));
    return 1;
}

typedef struct data {
    int K, d, D;
    int64_t n, ntags;
    float *z;         /* ntags*D gated tag rows */
    synth_world *world; /* the demo's world (its tags; users are made on demand), or NULL: random */
    mvke_tags *tags;  /* the world's tag table (world only) */
} data;

/* Users [first, first + n) into x. */
static void user_rows(const data *dt, int64_t first, int64_t n, float *x) {
    if (dt->world) synth_world_user_rows(dt->world, first, n, x);
    else synth_normals(synth_key(12345, 1), (uint64_t)first * (uint64_t)dt->D, n * dt->D, x);
}

/* Batch tagging precision at M over the first nu users, read back from the index. */
static double precision_at(const data *dt, const mvke_index *ix, int64_t nu, int64_t M) {
    const synth_world *w = dt->world;
    const int T = w->opt.ntasks;
    const int64_t B = 4096;
    float *x = malloc(sizeof(float) * B * dt->D);
    int64_t *ids = malloc(sizeof(int64_t) * B);
    double hits = 0, got = 0;
    for (int64_t first = 0; first < nu; first += B) {
        const int64_t nb = nu - first < B ? nu - first : B;
        mvke_result *res = NULL;
        if (mvke_index_read_rows(ix, first, nb, ids, x) != MVKE_OK ||
            mvke_user_tags_top_rows(dt->tags, NULL, nb, x, M, &res) != MVKE_OK) {
            fail("batch tagging", MVKE_ERR_INVALID);
            break;
        }
        for (int64_t i = 0; i < nb; i++)
            for (int t = 0; t < T; t++) {
                const int64_t *tid;
                int64_t m;
                mvke_result_get(res, i * T + t, &tid, NULL, &m);
                for (int64_t j = 0; j < m; j++)
                    hits += synth_world_prefers(w, t, ids[i], w->tag_topic[synth_world_tag_index(w, tid[j])]);
                got += (double)m;
            }
        mvke_result_free(res);
    }
    free(x);
    free(ids);
    return got > 0 ? hits / got : 0;
}

/* Block Gram triangle of one row in double: plain (off-diagonals once) or doubled. */
static void gram_of(int K, int d, const float *x, double off, double *g) {
    int e = 0;
    for (int k = 0; k < K; k++)
        for (int l = k; l < K; l++, e++) {
            double s = 0;
            for (int j = 0; j < d; j++) s += (double)x[k * d + j] * x[l * d + j];
            g[e] = l == k ? s : off * s;
        }
}

/* The users' Gram triangles rounded to float16 instead of float32: the largest entry (float16
 * stops at 65504), users that would not fit, and the relative change of the score's norm
 * sqrt(<Gram(x), Gram(z)>) over every user and tag. */
static void gram16_effect(const data *dt) {
    const int K = dt->K, d = dt->d, P = K * (K + 1) / 2;
    double gu[64 * 65 / 2], gz[64 * 65 / 2], worst = 0, sum = 0, biggest = 0;
    double *gq = malloc(sizeof(double) * dt->ntags * P);
    for (int64_t t = 0; t < dt->ntags; t++) gram_of(K, d, dt->z + t * dt->D, 1.0, gq + t * P);
    int64_t over = 0, pairs = 0;
    const int64_t nu = dt->n < 100000 ? dt->n : 100000;
    float *x = malloc(sizeof(float) * dt->D);
    for (int64_t u = 0; u < nu; u++) {
        user_rows(dt, u, 1, x);
        gram_of(K, d, x, 2.0, gu);
        int fits = 1;
        for (int e = 0; e < P; e++) {
            biggest = fabs(gu[e]) > biggest ? fabs(gu[e]) : biggest;
            gz[e] = mvke_half_to_float1(mvke_half_from_float1((float)gu[e]));
            if (!isfinite(gz[e])) fits = 0;
        }
        if (!fits) {
            over++;
            continue;
        }
        for (int64_t t = 0; t < dt->ntags; t++) {
            double a = 0, b = 0;
            for (int e = 0; e < P; e++) {
                a += gu[e] * gq[t * P + e];
                b += gz[e] * gq[t * P + e];
            }
            if (a <= 0) continue;
            const double rel = fabs(sqrt(b > 0 ? b / a : 0) - 1);
            worst = rel > worst ? rel : worst;
            sum += rel;
            pairs++;
        }
    }
    printf("\nGram triangles as float16 instead of float32 (%lld users x %lld tags): largest entry %.1f (float16 "
           "max 65504), %lld users would not fit; relative change of the score's norm: mean %.2e, max %.2e; "
           "bytes per user: %d instead of %d\n",
           (long long)nu, (long long)dt->ntags, biggest, (long long)over, pairs ? sum / (double)pairs : 0.0, worst,
           2 * P, 4 * P);
    free(gq);
    free(x);
}

/* What one search mode gave over the tags. */
typedef struct tally {
    double *topk_s, *thr_s;      /* per tag */
    double refined_sum, refined_max, thr_refined_sum, thr_refined_max;
    int64_t certified, identical, thr_certified, thr_identical;
    double recall;
} tally;

/* The reference: float32's top k and threshold answers per tag. */
typedef struct reference {
    int64_t k;
    int64_t *ids;   /* ntags * k */
    float *scores;  /* ntags * k */
    float *thr;     /* per tag */
    int64_t *thr_n; /* per tag: users at or above it */
    int64_t **thr_ids;
    float **thr_scores;
} reference;

static double median(double *v, int64_t n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

/* Searches every tag (top k, then its threshold) twice, timing the second pass; fills t and,
 * for float32 (ref->thr_ids NULL), the reference. */
static int run_mode(const data *dt, const mvke_index *ix, reference *ref, int64_t thr_users, tally *t) {
    const int64_t k = ref->k, n = dt->n;
    float *S = malloc(sizeof(float) * (size_t)(k > thr_users ? k : thr_users));
    int64_t *I = malloc(sizeof(int64_t) * (size_t)(k > thr_users ? k : thr_users));
    const int fill = ref->thr_ids[0] == NULL;
    mvke_status st;
    for (int64_t g = 0; g < dt->ntags; g++) {
        const float *z = dt->z + g * dt->D;
        if (fill) { /* the threshold of rank thr_users */
            if ((st = mvke_index_search(ix, 1, z, thr_users, NULL, S, I)) != MVKE_OK) return fail("search", st);
            ref->thr[g] = S[thr_users - 1];
        }
        for (int pass = 0; pass < 2; pass++) {
            mvke_search_stats ss;
            double t0 = now_s();
            if ((st = mvke_index_search(ix, 1, z, k, NULL, S, I)) != MVKE_OK) return fail("search", st);
            const double dt_s = now_s() - t0;
            mvke_last_search_stats(&ss);
            if (pass == 0) continue;
            t->topk_s[g] = dt_s;
            const double fr = (double)ss.users_refined / (double)n;
            t->refined_sum += fr;
            t->refined_max = fr > t->refined_max ? fr : t->refined_max;
            t->certified += ss.certified;
            if (fill) {
                memcpy(ref->ids + g * k, I, sizeof(int64_t) * k);
                memcpy(ref->scores + g * k, S, sizeof(float) * k);
            }
            t->identical += !memcmp(ref->ids + g * k, I, sizeof(int64_t) * k) &&
                            !memcmp(ref->scores + g * k, S, sizeof(float) * k);
            int64_t hit = 0;
            for (int64_t a = 0; a < k; a++)
                for (int64_t b = 0; b < k; b++)
                    if (I[a] >= 0 && I[a] == ref->ids[g * k + b]) {
                        hit++;
                        break;
                    }
            t->recall += (double)hit / (double)k;
        }
        for (int pass = 0; pass < 2; pass++) {
            mvke_result *r = NULL;
            mvke_search_stats ss;
            double t0 = now_s();
            if ((st = mvke_index_range_search(ix, 1, z, ref->thr[g], NULL, &r)) != MVKE_OK) return fail("range search", st);
            const double dt_s = now_s() - t0;
            mvke_last_search_stats(&ss);
            const int64_t *ri;
            const float *rs;
            int64_t rn;
            mvke_result_get(r, 0, &ri, &rs, &rn);
            if (pass == 1) {
                t->thr_s[g] = dt_s;
                const double fr = (double)ss.users_refined / (double)n;
                t->thr_refined_sum += fr;
                t->thr_refined_max = fr > t->thr_refined_max ? fr : t->thr_refined_max;
                t->thr_certified += ss.certified;
                if (fill) {
                    ref->thr_n[g] = rn;
                    ref->thr_ids[g] = malloc(sizeof(int64_t) * (size_t)(rn + 1));
                    ref->thr_scores[g] = malloc(sizeof(float) * (size_t)(rn + 1));
                    memcpy(ref->thr_ids[g], ri, sizeof(int64_t) * rn);
                    memcpy(ref->thr_scores[g], rs, sizeof(float) * rn);
                }
                t->thr_identical += rn == ref->thr_n[g] && !memcmp(ri, ref->thr_ids[g], sizeof(int64_t) * rn) &&
                                    !memcmp(rs, ref->thr_scores[g], sizeof(float) * rn);
            }
            mvke_result_free(r);
        }
    }
    free(S);
    free(I);
    return 0;
}

int main(int argc, char **argv) {
    long long n = 1000000, ntags = 32, k = 100, M = 10, tag_users = 20000, train_n = 65536, threads = 0;
    long long thr_users = 10000;
    const char *source = "world", *only = NULL;
    const cli_option options[] = {
        {.name = "--source", .metavar = "S", .help = "world (the demo's synthetic world) or random (normal users)",
         .kind = CLI_STRING, .dst = &source},
        {.name = "--users", .metavar = "N", .help = "users (default 1000000)", .kind = CLI_INT, .dst = &n, .min = 1,
         .max = 1e9},
        {.name = "--tags", .metavar = "T", .help = "tags searched one at a time (default 32)", .kind = CLI_INT,
         .dst = &ntags, .min = 1, .max = 1e6},
        {.name = "--k", .metavar = "K", .help = "results per tag, the k of recall@k (default 100)", .kind = CLI_INT,
         .dst = &k, .min = 1, .max = 1e6},
        {.name = "--threshold-users", .metavar = "U",
         .help = "each tag's threshold selects about U users of float32 (default 10000)", .kind = CLI_INT,
         .dst = &thr_users, .min = 1, .max = 1e8},
        {.name = "--top", .metavar = "M", .help = "tags per user and task in batch tagging (default 10)",
         .kind = CLI_INT, .dst = &M, .min = 1, .max = 1e4},
        {.name = "--tag-users", .metavar = "U", .help = "users tagged for the precision (default 20000)",
         .kind = CLI_INT, .dst = &tag_users, .min = 1, .max = 1e9},
        {.name = "--train", .metavar = "N", .help = "training sample rows (default 65536)", .kind = CLI_INT,
         .dst = &train_n, .min = 1, .max = 1e9},
        {.name = "--threads", .metavar = "T", .help = "search threads (default 0: OpenMP's)", .kind = CLI_INT,
         .dst = &threads, .min = 0, .max = 4096},
        {.name = "--only", .metavar = "STORAGE", .help = "f32 and this storage only (bf16, sq8, pq)",
         .kind = CLI_STRING, .dst = &only},
    };
    const cli_spec spec = {"mvke-codec-bench",
                           "The codecs (sq8, pq, with and without their rows; exact and approx modes) against float32\n"
                           "search on the same users.",
                           NULL, options, CLI_NOPTIONS(options)};
    int code = 0;
    if (!cli_parse(&spec, argc, argv, &code)) return code;
    if (strcmp(source, "world") && strcmp(source, "random"))
        return cli_usage_error(&spec, "--source %s: use world or random", source);
    if (thr_users > n) thr_users = n;
    if (k > n) k = n;
    data dt = {0};
    mvke_status st;
    if (!strcmp(source, "world")) {
        synth_world_options wo;
        synth_world_options_init(&wo);
        /* The world holds the tags and the users whose preferences the precision reads; every
         * user's rows are made on demand, chunk by chunk (the same rows for the same user). */
        wo.nusers = tag_users < n ? tag_users : n;
        char msg[256];
        if ((st = synth_world_new(&dt.world, &wo, msg, sizeof msg)) != MVKE_OK) {
            fprintf(stderr, "mvke-codec-bench: %s\n", msg);
            return 1;
        }
        if ((st = synth_world_tags(dt.world, NULL, &dt.tags)) != MVKE_OK) return fail("world tags", st);
        dt.K = wo.K;
        dt.d = wo.d;
    } else {
        dt.K = 5;
        dt.d = 30;
    }
    dt.D = dt.K * dt.d;
    dt.n = n;
    dt.ntags = ntags;
    dt.z = malloc(sizeof(float) * ntags * dt.D);
    float *row = malloc(sizeof(float) * dt.D);
    for (int64_t t = 0; t < ntags; t++) {
        if (dt.world) {
            /* Tags spread over the taxonomy and alternating tasks. */
            const synth_world *w = dt.world;
            const int task = (int)(t % w->opt.ntasks);
            const int64_t ti = (t * 7919) % w->ntags;
            st = mvke_tags_get_row(dt.tags, w->opt.tasks[task].name, w->tag_id[ti], dt.z + t * dt.D);
            if (st != MVKE_OK) return fail("tag row", st);
        } else {
            /* Softmax gates over the experts 0-2 or 1-4, embeddings from the users' law. */
            float q[30], wg[5] = {0};
            const int lo = t % 2 ? 1 : 0, hi = t % 2 ? 4 : 2;
            double sum = 0;
            user_rows(&dt, (t * 131 + 7) % n, 1, row);
            for (int j = 0; j < dt.d; j++) q[j] = row[j];
            for (int e = lo; e <= hi; e++) {
                user_rows(&dt, (t * 17 + e) % n, 1, row);
                sum += (wg[e] = (float)exp(row[0]));
            }
            for (int e = lo; e <= hi; e++) wg[e] = (float)(wg[e] / sum);
            mvke_pack_query(dt.K, dt.d, q, wg, dt.z + t * dt.D);
        }
    }

    /* Configurations: storage, refine rows, and the modes searched (R = 0: exact). */
    typedef struct config {
        const char *name;
        int refine;
    } config;
    const config configs[] = {{"f32", 0}, {"bf16", 0}, {"sq8", 0}, {"sq8", 1}, {"pq", 0}, {"pq", 1}};
    const int nconf = (int)(sizeof configs / sizeof configs[0]);
    reference ref = {.k = k};
    ref.ids = malloc(sizeof(int64_t) * ntags * k);
    ref.scores = malloc(sizeof(float) * ntags * k);
    ref.thr = malloc(sizeof(float) * ntags);
    ref.thr_n = calloc((size_t)ntags, sizeof(int64_t));
    ref.thr_ids = calloc((size_t)ntags, sizeof(int64_t *));
    ref.thr_scores = calloc((size_t)ntags, sizeof(float *));
    tally t = {0};
    t.topk_s = malloc(sizeof(double) * ntags);
    t.thr_s = malloc(sizeof(double) * ntags);
    double f32_topk = 0, f32_thr = 0, f32_prec = 0;
    const int64_t chunk = 65536;
    float *buf = malloc(sizeof(float) * chunk * dt.D);
    printf("# mvke-codec-bench: %s users, n = %lld, K = %d, d = %d, %lld tags one at a time, top-%lld, threshold "
           "of rank %lld, %d threads\n\n",
           source, (long long)n, dt.K, dt.d, (long long)ntags, (long long)k, (long long)thr_users,
           threads ? (int)threads : 0);
    printf("| storage | mode | bytes/user resident | on disk | top-%lld ms | vs f32 | refined mean / max | certified | "
           "identical | recall@%lld | threshold ms | vs f32 | refined mean / max | certified | identical | "
           "precision@%lld |\n",
           (long long)k, (long long)k, (long long)M);
    printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    fflush(stdout);
    for (int c = 0; c < nconf; c++) {
        if (only && strcmp(only, configs[c].name) && c != 0) continue;
        mvke_index_options o;
        mvke_index_options_init(&o);
        o.threads = (int)threads;
        if ((st = mvke_index_options_set_storage(&o, configs[c].name)) != MVKE_OK) return fail("storage", st);
        o.refine = configs[c].refine;
        mvke_index *ix;
        if ((st = mvke_index_new(&ix, dt.K, dt.d, &o)) != MVKE_OK) return fail("index", st);
        if (o.storage == MVKE_STORAGE_SQ8 || o.storage == MVKE_STORAGE_PQ) {
            /* Training sample: evenly spaced users. */
            const int64_t tn = train_n < n ? train_n : n;
            float *sample = malloc(sizeof(float) * tn * dt.D);
            for (int64_t i = 0; i < tn; i++) user_rows(&dt, i * (n / tn), 1, sample + i * dt.D);
            if ((st = mvke_index_train(ix, tn, sample)) != MVKE_OK) return fail("train", st);
            free(sample);
        }
        for (int64_t first = 0; first < n; first += chunk) {
            const int64_t m = n - first < chunk ? n - first : chunk;
            user_rows(&dt, first, m, buf);
            if ((st = mvke_index_add(ix, m, NULL, buf)) != MVKE_OK) return fail("add", st);
        }
        mvke_index_footprint fp;
        mvke_index_describe(ix, &fp);
        const long long resident = (long long)(fp.row_bytes + fp.id_bytes);
        const long long disk = resident + (long long)fp.refine_bytes;
        double prec = NAN;
        if (dt.world) prec = precision_at(&dt, ix, tag_users < n ? tag_users : n, M);
        if (c == 0) f32_prec = prec;
        /* Modes: f32 and codes alone one; with rows, exact then approx R = 4 and 16. */
        const int Rs[3] = {0, 4, 16};
        for (int mi = 0; mi < (configs[c].refine ? 3 : 1); mi++) {
            if (configs[c].refine) {
                if ((st = mvke_index_set_search_mode(ix, Rs[mi] ? MVKE_SEARCH_APPROX : MVKE_SEARCH_EXACT)) != MVKE_OK)
                    return fail("mode", st);
                if (Rs[mi] && (st = mvke_index_set_refine(ix, Rs[mi])) != MVKE_OK) return fail("refine", st);
            }
            double *a = t.topk_s, *b = t.thr_s;
            memset(&t, 0, sizeof t);
            t.topk_s = a;
            t.thr_s = b;
            if (run_mode(&dt, ix, &ref, thr_users, &t) != 0) return 1;
            const double topk = median(t.topk_s, ntags), thr = median(t.thr_s, ntags);
            if (c == 0) {
                f32_topk = topk;
                f32_thr = thr;
            }
            char mode[32] = "-";
            if (configs[c].refine) snprintf(mode, sizeof mode, Rs[mi] ? "approx R=%d" : "exact", Rs[mi]);
            else if (c > 1) snprintf(mode, sizeof mode, "codes");
            printf("| %s | %s | %lld | %lld | %.2f | %.2fx | %.3f%% / %.3f%% | %lld/%lld | %lld/%lld | %.4f | %.2f | %.2fx | "
                   "%.3f%% / %.3f%% | %lld/%lld | %lld/%lld | %.4f (%+.4f) |\n",
                   configs[c].name, mode, resident, disk, topk * 1e3, f32_topk / topk, 100.0 * t.refined_sum / ntags,
                   100.0 * t.refined_max, (long long)t.certified, (long long)ntags, (long long)t.identical,
                   (long long)ntags, t.recall / (double)ntags, thr * 1e3, f32_thr / thr,
                   100.0 * t.thr_refined_sum / ntags, 100.0 * t.thr_refined_max, (long long)t.thr_certified,
                   (long long)ntags, (long long)t.thr_identical, (long long)ntags, prec, prec - f32_prec);
            fflush(stdout);
        }
        mvke_index_free(ix);
    }
    gram16_effect(&dt);
    for (int64_t g = 0; g < ntags; g++) {
        free(ref.thr_ids[g]);
        free(ref.thr_scores[g]);
    }
    free(ref.ids); free(ref.scores); free(ref.thr); free(ref.thr_n); free(ref.thr_ids); free(ref.thr_scores);
    free(t.topk_s); free(t.thr_s); free(buf); free(row); free(dt.z);
    mvke_tags_free(dt.tags);
    synth_world_free(dt.world);
    return 0;
}
