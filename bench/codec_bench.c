/*
 * codec_bench.c - mvke-codec-bench: what the compressed storages (sq8, pq, with and without
 * refine) cost and lose against exact float32 search on the same users, in one run.
 *
 * For each storage: training time on a sample, bytes per user (resident memory added by the
 * index, and the layout's own count), one-tag search time (median over the tags, one search per
 * tag, every thread) and its ratio to float32, recall@k of every tag's top k against float32's
 * top k, and, on the demo's world, the precision at M of batch tagging (every sampled user's
 * top M tags per task from its stored - decoded - row, scored against the planted preferences
 * with the world's own synth_world_prefers, as `mvke demo` does). Prints one markdown table,
 * then what storing the Gram triangles as float16 would change (the decision of docs/codecs.md).
 */
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/half.h"
#include "mvke/mvke.h"
#include "support/rng.h"
#include "support/world.h"
#include "support/options.h"

typedef struct config {
    const char *name; /* as for --storage */
    int refine;
} config;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Resident set size of this process, bytes. */
static double rss_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = 0;
        fclose(f);
    }
    return (double)res * 4096.0;
}

/* Bytes the allocator has handed out (in use, heap and mapped chunks): unlike the resident set,
 * it does not hide an index inside memory freed by the one before. */
static double heap_bytes(void) {
    const struct mallinfo2 mi = mallinfo2();
    return (double)mi.uordblks + (double)mi.hblkhd;
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
    const float *x;   /* n*D users */
    float *z;         /* ntags*D gated tag rows */
    synth_world *world;
    mvke_tags *tags;  /* the world's tag table (world only) */
} data;

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
    for (int64_t u = 0; u < dt->n; u++) {
        gram_of(K, d, dt->x + u * dt->D, 2.0, gu);
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
           (long long)dt->n, (long long)dt->ntags, biggest, (long long)over, pairs ? sum / (double)pairs : 0.0, worst,
           2 * P, 4 * P);
    free(gq);
}

int main(int argc, char **argv) {
    long long n = 1000000, ntags = 32, k = 100, M = 10, tag_users = 20000, train_n = 65536, threads = 0;
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
        {.name = "--top", .metavar = "M", .help = "tags per user and task in batch tagging (default 10)",
         .kind = CLI_INT, .dst = &M, .min = 1, .max = 1e4},
        {.name = "--tag-users", .metavar = "U", .help = "users tagged for the precision (default 20000)",
         .kind = CLI_INT, .dst = &tag_users, .min = 1, .max = 1e9},
        {.name = "--train", .metavar = "N", .help = "training sample rows (default 65536)", .kind = CLI_INT,
         .dst = &train_n, .min = 1, .max = 1e9},
        {.name = "--threads", .metavar = "T", .help = "search threads (default 0: OpenMP's)", .kind = CLI_INT,
         .dst = &threads, .min = 0, .max = 4096},
        {.name = "--only", .metavar = "STORAGE", .help = "f32 and this storage only (f16, sq8, pq)",
         .kind = CLI_STRING, .dst = &only},
    };
    const cli_spec spec = {"mvke-codec-bench",
                           "The codecs (sq8, pq, with and without refine) against float32 search on the same users.",
                           NULL, options, CLI_NOPTIONS(options)};
    int code = 0;
    if (!cli_parse(&spec, argc, argv, &code)) return code;
    if (strcmp(source, "world") && strcmp(source, "random"))
        return cli_usage_error(&spec, "--source %s: use world or random", source);
    if (n < 1 || ntags < 1 || k < 1 || train_n < 1) return fail("options", MVKE_ERR_INVALID);
    data dt = {0};
    float *xr = NULL;
    mvke_status st;
    if (!strcmp(source, "world")) {
        synth_world_options wo;
        synth_world_options_init(&wo);
        wo.nusers = n;
        char msg[256];
        if ((st = synth_world_new(&dt.world, &wo, msg, sizeof msg)) != MVKE_OK) {
            fprintf(stderr, "mvke-codec-bench: %s\n", msg);
            return 1;
        }
        if ((st = synth_world_tags(dt.world, NULL, &dt.tags)) != MVKE_OK) return fail("world tags", st);
        dt.K = wo.K;
        dt.d = wo.d;
        dt.x = dt.world->x;
    } else {
        dt.K = 5;
        dt.d = 30;
        xr = malloc(sizeof(float) * n * dt.K * dt.d);
        synth_normals(synth_key(12345, 1), 0, n * dt.K * dt.d, xr);
        dt.x = xr;
    }
    dt.D = dt.K * dt.d;
    dt.n = n;
    dt.ntags = ntags;
    dt.z = malloc(sizeof(float) * ntags * dt.D);
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
            for (int j = 0; j < dt.d; j++) q[j] = xr[(t * 131 + 7) % n * dt.D + j];
            for (int e = lo; e <= hi; e++) sum += (wg[e] = (float)exp(xr[(t * 17 + e) % n * dt.D]));
            for (int e = lo; e <= hi; e++) wg[e] = (float)(wg[e] / sum);
            mvke_pack_query(dt.K, dt.d, q, wg, dt.z + t * dt.D);
        }
    }

    const config configs[] = {{"f32", 0}, {"f16", 0}, {"sq8", 0}, {"sq8", 1}, {"pq", 0}, {"pq", 1}};
    const int nconf = (int)(sizeof configs / sizeof configs[0]);
    int64_t *truth = malloc(sizeof(int64_t) * ntags * k);
    float *S = malloc(sizeof(float) * k);
    int64_t *I = malloc(sizeof(int64_t) * k);
    double *times = malloc(sizeof(double) * ntags);
    double f32_tag = 0, f32_prec = 0;
    printf("# mvke-codec-bench: %s users, n = %lld, K = %d, d = %d, %lld tags, recall@%lld, precision@%lld over %lld users\n\n",
           source, (long long)n, dt.K, dt.d, (long long)ntags, (long long)k, (long long)M,
           (long long)(tag_users < n ? tag_users : n));
    printf("| storage | refine | train s | add s | bytes/user (allocated) | resident growth/user | one tag ms | speed vs f32 | recall@%lld | precision@%lld |\n",
           (long long)k, (long long)M);
    printf("|---|---|---|---|---|---|---|---|---|---|\n");
    fflush(stdout);
    for (int c = 0; c < nconf; c++) {
        if (only && strcmp(only, configs[c].name) && c != 0) continue;
        mvke_index_options o;
        mvke_index_options_init(&o);
        o.threads = (int)threads;
        if ((st = mvke_index_options_set_storage(&o, configs[c].name)) != MVKE_OK) return fail("storage", st);
        o.refine = configs[c].refine;
        const double rss0 = rss_bytes(), heap0 = heap_bytes();
        mvke_index *ix;
        if ((st = mvke_index_new(&ix, dt.K, dt.d, &o)) != MVKE_OK) return fail("index", st);
        double t0 = now_s();
        /* Training sample: evenly spaced users. */
        const int64_t tn = train_n < n ? train_n : n;
        float *sample = malloc(sizeof(float) * tn * dt.D);
        for (int64_t i = 0; i < tn; i++)
            memcpy(sample + i * dt.D, dt.x + (i * (n / tn)) * dt.D, sizeof(float) * dt.D);
        if ((st = mvke_index_train(ix, tn, sample)) != MVKE_OK) return fail("train", st);
        free(sample);
        const double t_train = now_s() - t0;
        t0 = now_s();
        if ((st = mvke_index_add(ix, n, NULL, dt.x)) != MVKE_OK) return fail("add", st);
        const double t_add = now_s() - t0;
        const double bytes = (heap_bytes() - heap0) / (double)n, rbytes = (rss_bytes() - rss0) / (double)n;
        /* Refine indexes: R = 4 (the default), then larger R on the same index. */
        const int Rs[] = {4, 16, 64};
        for (int ri = 0; ri < (configs[c].refine ? 3 : 1); ri++) {
            if (configs[c].refine && (st = mvke_index_set_refine(ix, Rs[ri])) != MVKE_OK) return fail("refine", st);
            /* One tag at a time; the first pass warms up. */
            double recall = 0;
            for (int pass = 0; pass < 2; pass++)
                for (int64_t t = 0; t < ntags; t++) {
                    t0 = now_s();
                    if ((st = mvke_index_search(ix, 1, dt.z + t * dt.D, k, NULL, S, I)) != MVKE_OK) return fail("search", st);
                    times[t] = now_s() - t0;
                    if (pass == 0) continue;
                    if (c == 0) {
                        memcpy(truth + t * k, I, sizeof(int64_t) * k);
                        continue;
                    }
                    int64_t hit = 0;
                    for (int64_t a = 0; a < k; a++)
                        for (int64_t b = 0; b < k; b++)
                            if (I[a] == truth[t * k + b] && I[a] >= 0) {
                                hit++;
                                break;
                            }
                    recall += (double)hit / (double)k;
                }
            qsort(times, (size_t)ntags, sizeof *times, cmp_double);
            const double tag_s = times[ntags / 2];
            if (c == 0) {
                f32_tag = tag_s;
                recall = (double)ntags;
            }
            double prec = NAN;
            if (dt.world && ri == 0) {
                prec = precision_at(&dt, ix, tag_users < n ? tag_users : n, M);
                if (c == 0) f32_prec = prec;
            }
            char rname[16] = "-";
            if (configs[c].refine) snprintf(rname, sizeof rname, "R=%d", Rs[ri]);
            printf("| %s | %s | %.2f | %.2f | %.1f | %.1f | %.3f | %.2fx | %.4f | %.4f (%+.4f) |\n", configs[c].name,
                   rname, t_train, t_add, bytes, rbytes, tag_s * 1e3, f32_tag / tag_s, recall / (double)ntags, prec,
                   prec - f32_prec);
            fflush(stdout);
        }
        mvke_index_free(ix);
    }
    gram16_effect(&dt);
    free(truth);
    free(S);
    free(I);
    free(times);
    free(dt.z);
    free(xr);
    mvke_tags_free(dt.tags);
    synth_world_free(dt.world);
    return 0;
}
