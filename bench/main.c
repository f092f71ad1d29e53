/*
 * main.c - `mvke-bench`: this project's exact search beside FAISS IndexFlatIP, the naive
 * materialise-then-scan method and the machine's measured limits, in one process and one run,
 * on the same synthetic users. See docs/benchmarks.md for what each column means.
 *
 * For each size of the scaling curve the users are generated once, chunk by chunk, into this
 * project's float32 index and FAISS's flat index; the float32, FAISS and naive rows are timed
 * (the naive method scans FAISS's copy), FAISS's copy is freed, a float16 index is filled from
 * the float32 one, and its rows are timed. Only
 * one size lives in memory at a time (1e7 users take about 6.6 GB in float32 plus 6 GB in FAISS).
 */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "limits.h"
#include "support/options.h"
#include "results.h"
#include "runs.h"
#include "world_gen.h"


#define CHUNK_ROWS 65536

/* Parses "a,b,c" of whole numbers (1e6 allowed) into out; returns the count or -1. */
static int parse_list(const char *s, int64_t *out, int cap) {
    int n = 0;
    while (*s) {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (end == s || errno || v < 1 || v > 1e10 || v != (double)(int64_t)v || n == cap) return -1;
        out[n++] = (int64_t)v;
        s = end;
        if (*s == ',') s++;
        else if (*s) return -1;
    }
    return n;
}

static int opt_sizes(const char *v, void *dst, char *msg, size_t cap) {
    bench_config *c = dst;
    int n = parse_list(v, c->sizes, 8);
    if (n < 1) {
        snprintf(msg, cap, "'%s' is not a list of up to 8 user counts", v);
        return -1;
    }
    c->nsizes = n;
    return 0;
}

static int opt_threads(const char *v, void *dst, char *msg, size_t cap) {
    bench_config *c = dst;
    int64_t list[4];
    int n = parse_list(v, list, 4);
    for (int t = 0; t < n; t++)
        if (list[t] > 1024) n = -1;
    if (n < 1) {
        snprintf(msg, cap, "'%s' is not a list of up to 4 thread counts of 1 to 1024", v);
        return -1;
    }
    c->nthreads = n;
    for (int t = 0; t < n; t++) c->threads[t] = (int)list[t];
    return 0;
}

static int opt_storage(const char *v, void *dst, char *msg, size_t cap) {
    bench_config *c = dst;
    if (!strcmp(v, "f32")) {
        c->nstorage = 1;
        c->storage[0] = MVKE_STORAGE_F32;
    } else if (!strcmp(v, "f16")) {
        c->nstorage = 1;
        c->storage[0] = MVKE_STORAGE_F16;
    } else if (!strcmp(v, "f32,f16")) {
        c->nstorage = 2;
        c->storage[0] = MVKE_STORAGE_F32;
        c->storage[1] = MVKE_STORAGE_F16;
    } else {
        snprintf(msg, cap, "'%s' is not f32, f16 or f32,f16", v);
        return -1;
    }
    return 0;
}

static int opt_batches(const char *v, void *dst, char *msg, size_t cap) {
    bench_config *c = dst;
    int64_t list[8];
    int n = parse_list(v, list, 8);
    memset(c->batch_on, 0, sizeof c->batch_on);
    for (int j = 0; j < n; j++) {
        int found = 0;
        for (int b = 0; b < BENCH_NBATCH; b++)
            if (bench_batches[b] == list[j]) c->batch_on[b] = found = 1;
        if (!found) n = -1;
    }
    if (n < 1) {
        snprintf(msg, cap, "'%s': each batch must be one of 1,2,4,16,64,256", v);
        return -1;
    }
    return 0;
}

/* One count written like the sizes (1e4 allowed) into an int64_t. */
static int opt_count(const char *v, void *dst, char *msg, size_t cap) {
    if (parse_list(v, dst, 1) != 1) {
        snprintf(msg, cap, "'%s' is not a count >= 1", v);
        return -1;
    }
    return 0;
}

/* Returns 1 to run, or 0 with the exit status in *exit_code (after --help or a usage error). */
static int parse_args(int argc, char **argv, bench_config *c, int *exit_code) {
    memset(c, 0, sizeof *c);
    int no_plots = 0;
    long long seed = 42, K = 5, d = 30;
    int64_t repeats = 0, tag_users = 0;
    c->nthreads = 2;
    c->threads[0] = 1;
    c->threads[1] = 2;
    c->nstorage = 2;
    c->storage[0] = MVKE_STORAGE_F32;
    c->storage[1] = MVKE_STORAGE_F16;
    for (int b = 0; b < BENCH_NBATCH; b++) c->batch_on[b] = 1;
    c->out_dir = "bench-out";
    const cli_option options[] = {
        {.name = "--quick", .help = "a smoke run of under a minute: 1e4 and 1e5 users, few repeats", .kind = CLI_FLAG,
         .dst = &c->quick},
        {.name = "--sizes", .metavar = "LIST", .help = "users per point of the scaling curve (default 1e4,1e5,1e6,1e7)",
         .kind = CLI_CUSTOM, .dst = c, .parse = opt_sizes},
        {.name = "--threads", .metavar = "LIST", .help = "thread counts (default 1,2)", .kind = CLI_CUSTOM, .dst = c,
         .parse = opt_threads},
        {.name = "--storage", .metavar = "LIST", .help = "f32, f16 or both (default f32,f16)", .kind = CLI_CUSTOM,
         .dst = c, .parse = opt_storage},
        {.name = "--batches", .metavar = "LIST", .help = "tags per top-100 call, among 1,2,4,16,64,256 (default all)",
         .kind = CLI_CUSTOM, .dst = c, .parse = opt_batches},
        {.name = "--repeats", .metavar = "R", .help = "most timed repeats per measurement, 1 to 63 (default 7; quick 3)",
         .kind = CLI_CUSTOM, .dst = &repeats, .parse = opt_count},
        {.name = "--budget", .metavar = "S",
         .help = "seconds one measurement may take with its repeats (default 1.5; quick 0.1)", .kind = CLI_DOUBLE,
         .dst = &c->rep_budget_s, .min = 0, .max = INFINITY, .above = 1},
        {.name = "--tag-users", .metavar = "N", .help = "users in the batch-tagging block (default 20000; quick 2000)",
         .kind = CLI_CUSTOM, .dst = &tag_users, .parse = opt_count},
        {.name = "--seed", .metavar = "S", .help = "random seed of the synthetic world (default 42)", .kind = CLI_INT,
         .dst = &seed, .min = 0, .max = 1e18},
        {.name = "--K", .metavar = "K", .help = "experts per user (default 5)", .kind = CLI_INT, .dst = &K, .min = 1,
         .max = MVKE_MAX_K},
        {.name = "--d", .metavar = "D", .help = "dimension of each expert (default 30)", .kind = CLI_INT, .dst = &d,
         .min = 1, .max = MVKE_MAX_D},
        {.name = "--out", .metavar = "DIR", .help = "output folder (default bench-out; created)", .kind = CLI_STRING,
         .dst = &c->out_dir},
        {.name = "--no-plots", .help = "skip gnuplot", .kind = CLI_FLAG, .dst = &no_plots},
    };
    const cli_spec spec = {
        "mvke-bench",
        "Times this project's exact gated-cosine search (one tag -> top-100 users; batches of 2, 4, 16,\n"
        "64 and 256 tags; a threshold audience; batch tagging: top-10 tags of each task over 1,786 tags\n"
        "per task for a block of users) beside FAISS IndexFlatIP on the same rows, the naive method\n"
        "(materialise sum_k w_k e_k for every user, then a cosine scan) and this machine's read\n"
        "bandwidth and sgemm throughput measured in the same run. With f32, the same audiences of a\n"
        "dot-score index (mvke-dot rows: <E, q>, the very numbers IndexFlatIP computes, an exact\n"
        "peer). Prints a markdown table and writes\n"
        "DIR/results.json, DIR/results.md and SVG plots (gnuplot).\n\n",
        "Numbers like 1e6 or 1000000 are accepted for sizes and counts.\n", options, CLI_NOPTIONS(options)};
    if (!cli_parse(&spec, argc, argv, exit_code)) return 0;
    if (repeats > 63) {
        *exit_code = cli_usage_error(&spec, "bad --repeats '%lld' (1 to 63)", (long long)repeats);
        return 0;
    }
    if (tag_users > 10000000) {
        *exit_code = cli_usage_error(&spec, "bad --tag-users '%lld' (at most 1e7)", (long long)tag_users);
        return 0;
    }
    const int quick = c->quick;
    if (!c->nsizes) {
        const int64_t full_sizes[] = {10000, 100000, 1000000, 10000000};
        const int64_t quick_sizes[] = {10000, 100000};
        c->nsizes = quick ? 2 : 4;
        memcpy(c->sizes, quick ? quick_sizes : full_sizes, (size_t)c->nsizes * sizeof(int64_t));
    }
    c->max_reps = repeats ? (int)repeats : quick ? 3 : 7;
    if (!(c->rep_budget_s > 0)) c->rep_budget_s = quick ? 0.1 : 1.5;
    c->tag_users = tag_users ? tag_users : quick ? 2000 : 20000;
    c->threshold_frac = 1e-3;
    c->bw_bytes = quick ? ((int64_t)256 << 20) : ((int64_t)1 << 30);
    c->seed = (uint64_t)seed;
    c->plots = !no_plots;
    c->K = (int)K;
    c->d = (int)d;
    c->row = c->K * c->d;
    c->P = c->K * (c->K + 1) / 2;
    return 1;
}

static void machine_name(char *buf, size_t cap) {
    char model[256] = "unknown CPU";
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10)) {
            char *p = strchr(line, ':');
            if (p) {
                p += 2;
                p[strcspn(p, "\n")] = 0;
                snprintf(model, sizeof model, "%s", p);
            }
            break;
        }
    if (f) fclose(f);
    long long mem_kb = 0;
    if ((f = fopen("/proc/meminfo", "r"))) {
        if (fscanf(f, "MemTotal: %lld kB", &mem_kb) != 1) mem_kb = 0;
        fclose(f);
    }
    snprintf(buf, cap, "%s, %d cores, %.0f GiB RAM", model, omp_get_num_procs(), mem_kb / 1048576.0);
    for (char *p = buf; *p; p++)
        if (*p == '"' || *p == '\\') *p = ' ';
}

/* Fills a new index of the given storage with rows [0, n): generated, or copied from src. */
static int fill_index(const bench_world *w, const mvke_index *src, int64_t n, mvke_storage storage, mvke_score score,
                      bench_faiss *faiss, float *chunk, mvke_index **out) {
    mvke_index_options o;
    mvke_index_options_init(&o);
    o.storage = storage;
    o.score = score;
    mvke_index *ix = NULL;
    mvke_status st = mvke_index_new(&ix, w->K, w->d, &o);
    for (int64_t first = 0; first < n && st == MVKE_OK; first += CHUNK_ROWS) {
        int64_t m = n - first < CHUNK_ROWS ? n - first : CHUNK_ROWS;
        if (src) st = mvke_index_read_rows(src, first, m, NULL, chunk);
        else bench_world_users(w, first, m, chunk);
        if (st == MVKE_OK) st = mvke_index_add(ix, m, NULL, chunk);
        if (st == MVKE_OK && faiss && bench_faiss_add(faiss, m, chunk)) {
            mvke_index_free(ix);
            return 1;
        }
    }
    if (st != MVKE_OK) {
        mvke_index_free(ix);
        return bench_fail("filling the user index", st);
    }
    *out = ix;
    return 0;
}

/* Every timed row of one size of the curve. */
static int run_size(const bench_config *cfg, const bench_world *w, int64_t n, float *chunk, bench_results *rep) {
    double t0 = bench_now();
    int want32 = 0, want16 = 0;
    for (int s = 0; s < cfg->nstorage; s++) {
        if (cfg->storage[s] == MVKE_STORAGE_F32) want32 = 1;
        else want16 = 1;
    }
    bench_faiss *faiss = NULL;
    if (bench_faiss_new(&faiss, w->row)) return 1;
    mvke_index *ix32 = NULL, *ix16 = NULL;
    int rc = fill_index(w, NULL, n, MVKE_STORAGE_F32, MVKE_SCORE_COSINE, faiss, chunk, &ix32);
    if (rc) {
        bench_faiss_free(faiss);
        return rc;
    }
    fprintf(stderr, "%lld users generated and indexed in %.1f s\n", (long long)n, bench_now() - t0);
    float min_score = 0;
    int64_t expect = 0;
    rc = bench_threshold_for(ix32, w, cfg->threshold_frac, &min_score, &expect);
    if (!rc && want32) rc = bench_run_mvke(cfg, w, ix32, 0, min_score, rep);
    if (!rc && bench_faiss_available()) rc = bench_run_faiss(cfg, w, faiss, expect, rep);
    /* The naive method scans FAISS's copy of the rows, or, without FAISS, a copy of its own. */
    const float *rows = faiss ? bench_faiss_rows(faiss) : NULL;
    float *own = NULL;
    if (!rc && !rows) {
        own = malloc((size_t)n * w->row * sizeof *own);
        if (!own) {
            fprintf(stderr, "mvke-bench: out of memory for the naive method's rows\n");
            rc = 1;
        } else {
            bench_world_users(w, 0, n, own);
            rows = own;
        }
    }
    if (!rc) rc = bench_run_naive(cfg, w, rows, n, min_score, rep);
    free(own);
    bench_faiss_free(faiss);
    /* The dot score (float32): the same computation as FAISS's IndexFlatIP over the same rows, an
     * exact peer; its threshold keeps as many users as the cosine's. */
    if (!rc && want32) {
        mvke_index *dot = NULL;
        float dot_min = 0;
        int64_t dot_expect = 0;
        rc = fill_index(w, ix32, n, MVKE_STORAGE_F32, MVKE_SCORE_DOT, NULL, chunk, &dot);
        if (!rc) rc = bench_threshold_for(dot, w, cfg->threshold_frac, &dot_min, &dot_expect);
        if (!rc) rc = bench_run_mvke(cfg, w, dot, 0, dot_min, rep);
        mvke_index_free(dot);
    }
    if (!rc && want16) {
        rc = fill_index(w, ix32, n, MVKE_STORAGE_F16, MVKE_SCORE_COSINE, NULL, chunk, &ix16);
        mvke_index_free(ix32);
        ix32 = NULL;
        if (!rc) rc = bench_run_mvke(cfg, w, ix16, 1, min_score, rep);
    }
    mvke_index_free(ix32);
    mvke_index_free(ix16);
    return rc;
}

int main(int argc, char **argv) {
    bench_config cfg;
    int prc;
    if (!parse_args(argc, argv, &cfg, &prc)) return prc;
    if (mkdir(cfg.out_dir, 0777) != 0 && errno != EEXIST) {
        perror(cfg.out_dir);
        return 1;
    }
    const double start = bench_now();
    char machine[512], date[64];
    machine_name(machine, sizeof machine);
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    fprintf(stderr, "mvke-bench %s: %s; FAISS baselines %s\n", mvke_version(), machine,
            bench_faiss_available() ? "built" : "unavailable (built without FAISS)");

    bench_world w = {0};
    bench_limits lim;
    bench_results rep = {.faiss_built = bench_faiss_available()};
    float *chunk = malloc((size_t)(CHUNK_ROWS > cfg.tag_users ? CHUNK_ROWS : cfg.tag_users) * cfg.row * sizeof *chunk);
    int rc = chunk ? 0 : 1;
    if (!rc) rc = bench_world_init(&w, cfg.seed, cfg.K, cfg.d);
    if (!rc) rc = bench_limits_measure(&cfg, &lim);
    for (int s = 0; s < cfg.nsizes && !rc; s++) rc = run_size(&cfg, &w, cfg.sizes[s], chunk, &rep);
    if (!rc) {
        bench_world_users(&w, 0, cfg.tag_users, chunk);
        rc = bench_run_tagging(&cfg, &w, chunk, &rep);
        if (!rc && bench_faiss_available()) rc = bench_run_faiss_tagging(&cfg, &w, chunk, &rep);
    }
    free(chunk);
    bench_world_free(&w);
    if (rc) {
        free(rep.rows);
        return 1;
    }
    const double total = bench_now() - start;
    bench_results_finish(&rep, &cfg, &lim);
    bench_results_markdown(stdout, &rep, &cfg, &lim, machine, date, total);
    char path[4096];
    snprintf(path, sizeof path, "%s/results.md", cfg.out_dir);
    FILE *md = fopen(path, "w");
    if (md) {
        bench_results_markdown(md, &rep, &cfg, &lim, machine, date, total);
        fclose(md);
    }
    snprintf(path, sizeof path, "%s/results.json", cfg.out_dir);
    rc = bench_results_json(path, &rep, &cfg, &lim, machine, date, total);
    if (cfg.plots) bench_results_plots(cfg.out_dir, &rep, &cfg, &lim); /* a missing gnuplot is not a failure */
    fprintf(stderr, "wrote %s/results.json, results.md%s in %.0f s\n", cfg.out_dir,
            cfg.plots ? ", time_vs_users.svg, roofline_vs_batch.svg" : "", bench_now() - start);
    free(rep.rows);
    return rc;
}
