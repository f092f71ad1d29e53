/*
 * results.c - the rows of the report (bench_results_add, bench_row_bytes), their ratios,
 * fractions of the machine's limits, targets, and the three outputs (markdown on stdout, JSON,
 * gnuplot SVG plots).
 *
 * Definitions (also in docs/benchmarks.md):
 *  - vs FAISS / vs naive: the other method's median time on the same mode, batch, users and
 *    threads, divided by this row's (> 1: this row is faster). FAISS rows always use float32.
 *  - % BW: bytes the call must read (stored rows + Gram triangles) / time / measured bandwidth.
 *  - % sgemm: useful flops (2 * queries * rows * (K*d + P) for this project, 2 * queries * rows *
 *    K*d for FAISS) / time / measured sgemm throughput at the same shape and threads.
 *  - 1e9 users: the time to score 1e9 users against all 1,786 tags of both tasks this way:
 *    time * (1e9 * 3,572) / (queries * rows).
 *  - roofline fraction (plot): max(bytes / bandwidth, flops / sgemm) / time.
 */
#include "results.h"

#include "limits.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support/gnuplot.h"

static int thread_slot(const bench_config *cfg, int threads) {
    for (int i = 0; i < cfg->nthreads; i++)
        if (cfg->threads[i] == threads) return i;
    return 0;
}

static int batch_slot(int batch) {
    for (int i = 0; i < BENCH_NBATCH; i++)
        if (bench_batches[i] == batch) return i;
    return 0;
}

static double sgemm_limit(const bench_row *r, const bench_config *cfg, const bench_limits *lim) {
    int t = thread_slot(cfg, r->threads);
    return !strcmp(r->mode, "tagging") ? lim->sgemm_tag_gfs[t] : lim->sgemm_gfs[t][batch_slot(r->batch)];
}

static const bench_row *find(const bench_results *rep, const char *method, const bench_row *like, int storage) {
    for (int i = 0; i < rep->nrows; i++) {
        const bench_row *o = &rep->rows[i];
        if (!strcmp(o->method, method) && !strcmp(o->mode, like->mode) && o->batch == like->batch &&
            o->users == like->users && o->threads == like->threads && (storage < 0 || o->storage == storage))
            return o;
    }
    return NULL;
}

static double roofline(const bench_row *r, const bench_config *cfg, const bench_limits *lim) {
    double bw = lim->bw_gbs[thread_slot(cfg, r->threads)] * 1e9, gf = sgemm_limit(r, cfg, lim) * 1e9;
    double tb = bw > 0 ? r->bytes / bw : 0, tf = gf > 0 ? r->flops / gf : 0;
    if (strcmp(r->mode, "tagging") && r->batch < 16) tf = 0; /* memory-bound; see bench_results_finish */
    return (tb > tf ? tb : tf) / r->median_s;
}

void bench_results_finish(bench_results *rep, const bench_config *cfg, const bench_limits *lim) {
    for (int i = 0; i < rep->nrows; i++) {
        bench_row *r = &rep->rows[i];
        const int tagging = !strcmp(r->mode, "tagging");
        r->throughput = (tagging ? (double)r->users : (double)r->batch) / r->median_s;
        const bench_row *f = strcmp(r->method, "faiss-flat") ? find(rep, "faiss-flat", r, -1) : NULL;
        const bench_row *n = strcmp(r->method, "naive") ? find(rep, "naive", r, -1) : NULL;
        r->vs_faiss = f ? f->median_s / r->median_s : 0;
        r->vs_naive = n ? n->median_s / r->median_s : 0;
        if (strcmp(r->method, "naive")) {
            double bw = lim->bw_gbs[thread_slot(cfg, r->threads)] * 1e9, gf = sgemm_limit(r, cfg, lim) * 1e9;
            /* Below 16 queries a scan is bound by memory and sgemm at that shape is no limit (its
             * M = 1 case is slower than the sgemv the search uses); tagging reads little. */
            r->frac_bw = tagging || bw <= 0 ? 0 : r->bytes / r->median_s / bw;
            r->frac_sgemm = gf > 0 && (tagging || r->batch >= 16) ? r->flops / r->median_s / gf : 0;
        }
        double pairs = tagging ? (double)r->users * BENCH_NTASKS * BENCH_NTAGS : (double)r->batch * (double)r->users;
        r->t_1e9 = r->median_s * (1e9 * BENCH_NTASKS * BENCH_NTAGS) / pairs;
    }
}

static const char *human_time(double s, char *buf) {
    if (s < 120) sprintf(buf, "%.0f s", s);
    else if (s < 7200) sprintf(buf, "%.0f min", s / 60);
    else if (s < 3 * 86400) sprintf(buf, "%.1f h", s / 3600);
    else sprintf(buf, "%.0f d", s / 86400);
    return buf;
}

static const char *human_rate(double v, char *buf) {
    if (v >= 1e6) sprintf(buf, "%.2fM", v / 1e6);
    else if (v >= 1e3) sprintf(buf, "%.1fk", v / 1e3);
    else sprintf(buf, "%.1f", v);
    return buf;
}

static const char *ratio(double v, char *buf) {
    if (v <= 0) return "-";
    sprintf(buf, "%.2fx", v);
    return buf;
}

static const char *pct(double v, char *buf) {
    if (v <= 0) return "-";
    sprintf(buf, "%.0f%%", v * 100);
    return buf;
}

static void print_row(FILE *f, const bench_row *r) {
    char b1[32], b2[32], b3[32], b4[32], b5[32], b6[32];
    const int tagging = !strcmp(r->mode, "tagging");
    char method[48];
    if (!strcmp(r->method, "mvke")) sprintf(method, "mvke %s", r->storage ? "f16" : "f32");
    else if (!strcmp(r->method, "naive") && r->derived) sprintf(method, "naive (= %d x 1 tag)", r->batch);
    else strcpy(method, r->method);
    char ms[48];
    if (!strcmp(r->method, "naive"))
        sprintf(ms, "%.2f (%.2f + %.2f)", r->median_s * 1e3, r->split_s[0] * 1e3, r->split_s[1] * 1e3);
    else sprintf(ms, "%.2f", r->median_s * 1e3);
    fprintf(f, "| %s | %d | %d | %s | %s | %d | %s %s | %s | %s | %s | %s | %s |\n",
            !strcmp(r->mode, "top100") ? (r->batch == 1 ? "1 tag, top-100" : "tags, top-100 each")
                                       : tagging ? "batch tagging" : "threshold",
            r->batch, r->threads, method, ms, r->reps, human_rate(r->throughput, b1), tagging ? "users/s" : "q/s",
            ratio(r->vs_faiss, b2), ratio(r->vs_naive, b3), pct(r->frac_bw, b4), pct(r->frac_sgemm, b5),
            human_time(r->t_1e9, b6));
}

static const char *HEADER =
    "| mode | batch | thr | method | median ms | reps | throughput | vs FAISS | vs naive | % BW | % sgemm | 1e9 users x all tags |\n"
    "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";

static int64_t target_users(const bench_config *cfg) {
    int64_t best = cfg->sizes[0];
    for (int i = 0; i < cfg->nsizes; i++) {
        if (cfg->sizes[i] == 1000000) return 1000000;
        if (cfg->sizes[i] > best) best = cfg->sizes[i];
    }
    return best;
}

static int max_threads(const bench_config *cfg) {
    int m = cfg->threads[0];
    for (int i = 0; i < cfg->nthreads; i++) m = cfg->threads[i] > m ? cfg->threads[i] : m;
    return m;
}

static const bench_row *pick(const bench_results *rep, const char *method, const char *mode, int batch,
                             int64_t users, int threads, int storage) {
    bench_row like = {.batch = batch, .users = users, .threads = threads};
    strcpy(like.mode, mode);
    return find(rep, method, &like, storage);
}

/* One line of the targets table: goal, measured value, met or by how much it was missed. */
static void target_line(FILE *f, const char *what, double goal, double value, const char *unit) {
    if (value <= 0) {
        fprintf(f, "| %s | %.2f%s | not measured | - |\n", what, goal, unit);
        return;
    }
    if (value >= goal) fprintf(f, "| %s | %.2f%s | %.2f%s | met |\n", what, goal, unit, value, unit);
    else fprintf(f, "| %s | %.2f%s | %.2f%s | missed: %.0f%% of the target |\n", what, goal, unit, value, unit,
                 100 * value / goal);
}

static void print_targets(FILE *f, const bench_results *rep, const bench_config *cfg) {
    const int64_t n = target_users(cfg);
    const int th = max_threads(cfg);
    fprintf(f, "\n### Targets (%lld users, %d thread%s, float32 unless said)\n\n", (long long)n, th, th > 1 ? "s" : "");
    fprintf(f, "| target | goal | measured | result |\n|---|---:|---:|---|\n");
    const bench_row *one = pick(rep, "mvke", "top100", 1, n, th, 0);
    target_line(f, "1 tag -> top-100: fraction of read bandwidth", 0.8, one ? one->frac_bw : 0, "");
    target_line(f, "1 tag -> top-100: FAISS time / mvke time", 1.0, one ? one->vs_faiss : 0, "x");
    for (int b = 1; b < BENCH_NBATCH; b++) {
        int q = bench_batches[b];
        if (q >= 20) continue;
        const bench_row *r = pick(rep, "mvke", "top100", q, n, th, 0);
        char what[96];
        sprintf(what, "%d tags: FAISS time / mvke time (>= batch / 2)", q);
        target_line(f, what, q / 2.0, r ? r->vs_faiss : 0, "x");
    }
    for (int b = 0; b < BENCH_NBATCH; b++) {
        int q = bench_batches[b];
        if (q < 64) continue;
        const bench_row *r = pick(rep, "mvke", "top100", q, n, th, 0);
        char what[96];
        sprintf(what, "%d tags: fraction of sgemm throughput", q);
        target_line(f, what, 0.7, r ? r->frac_sgemm : 0, "");
    }
    const bench_row *tg = pick(rep, "mvke", "tagging", (int)cfg->tag_users, cfg->tag_users, th, 0);
    target_line(f, "batch tagging: fraction of sgemm throughput", 0.7, tg ? tg->frac_sgemm : 0, "");
    const bench_row *h = pick(rep, "mvke", "top100", 1, n, th, 1);
    target_line(f, "1 tag: float16 speed-up over float32", 1.7, one && h ? one->median_s / h->median_s : 0, "x");
}

void bench_results_markdown(FILE *f, const bench_results *rep, const bench_config *cfg, const bench_limits *lim,
                           const char *machine, const char *date, double total_s) {
    fprintf(f, "## mvke-bench: %s\n\nMachine: %s. Date: %s. Whole run: %.0f s.\n", cfg->quick ? "quick run" : "full run",
            machine, date, total_s);
    fprintf(f, "Users: K = %d experts of d = %d (%.0f bytes per user in float32, %.0f in float16, Gram "
            "triangles included); tags: %d per task, 2 tasks; queries: gated rows of task 'interest'.\n",
            cfg->K, cfg->d, bench_row_bytes(cfg, 0), bench_row_bytes(cfg, 1), BENCH_NTAGS);
    if (!rep->faiss_built)
        fprintf(f, "\nFAISS rows are unavailable: this program was built without FAISS (no vs FAISS).\n");
    fprintf(f, "\n### Machine limits measured in this run\n\n| threads | read GB/s |");
    for (int b = 0; b < BENCH_NBATCH; b++) fprintf(f, " sgemm GF/s %dx%dx%d |", bench_batches[b], bench_tile_rows(bench_batches[b]), cfg->row);
    fprintf(f, " sgemm GF/s tagging |\n|---:|---:|");
    for (int b = 0; b <= BENCH_NBATCH; b++) fprintf(f, "---:|");
    fprintf(f, "\n");
    for (int t = 0; t < cfg->nthreads; t++) {
        fprintf(f, "| %d | %.1f |", cfg->threads[t], lim->bw_gbs[t]);
        for (int b = 0; b < BENCH_NBATCH; b++) fprintf(f, " %.1f |", lim->sgemm_gfs[t][b]);
        fprintf(f, " %.1f |\n", lim->sgemm_tag_gfs[t]);
    }
    /* OpenBLAS takes its kernels from OPENBLAS_CORETYPE when set: a machine whose environment
     * names an older core (Haswell: AVX2) measures that core's sgemm, below the machine's own
     * (on the AVX-512 development machine 169 GF/s against 299 without the variable). */
    const char *coretype = getenv("OPENBLAS_CORETYPE");
    if (coretype && *coretype)
        fprintf(f, "\n**Note**: OPENBLAS_CORETYPE=%s is set, so the sgemm limits are OpenBLAS's %s kernels, not "
                "necessarily this machine's best; unset it for the machine's own limit.\n", coretype, coretype);
    int over = 0;
    for (int i = 0; i < rep->nrows; i++) over |= rep->rows[i].frac_bw > 1.05 || rep->rows[i].frac_sgemm > 1.05;
    if (over)
        fprintf(f, "\n**Warning**: some rows exceed 100%% of a measured limit: the machine's load changed during "
                "the run (the limits were measured at a busier moment), so fractions and targets of this run are "
                "not reliable; run again on a quiet machine.\n");
    print_targets(f, rep, cfg);
    for (int s = 0; s < cfg->nsizes; s++) {
        fprintf(f, "\n### %lld users\n\n%s", (long long)cfg->sizes[s], HEADER);
        /* Grouped by mode and batch, then threads, then method. */
        const char *modes[2] = {"top100", "threshold"};
        for (int m = 0; m < 2; m++)
            for (int b = 0; b < (m ? 1 : BENCH_NBATCH); b++)
                for (int t = 0; t < cfg->nthreads; t++)
                    for (int i = 0; i < rep->nrows; i++) {
                        const bench_row *r = &rep->rows[i];
                        if (r->users == cfg->sizes[s] && !strcmp(r->mode, modes[m]) &&
                            r->batch == (m ? 1 : bench_batches[b]) && r->threads == cfg->threads[t])
                            print_row(f, r);
                    }
    }
    fprintf(f, "\n### Batch tagging: top-%d tags of each task for %lld users (%d tags x %d tasks)\n\n%s", BENCH_TOPM,
            (long long)cfg->tag_users, BENCH_NTAGS, BENCH_NTASKS, HEADER);
    for (int t = 0; t < cfg->nthreads; t++)
        for (int i = 0; i < rep->nrows; i++)
            if (!strcmp(rep->rows[i].mode, "tagging") && rep->rows[i].threads == cfg->threads[t]) print_row(f, &rep->rows[i]);
    fprintf(f, "\nvs FAISS / vs naive: their time over this row's (> 1: faster than them). %% BW: bytes that must be "
            "read / time / measured bandwidth. %% sgemm: useful flops / time / measured sgemm at the same shape. "
            "Naive: materialise + scan, in ms; batches of the naive method are its one-tag time x batch. "
            "1e9 users x all tags: time to score 1e9 users against all %d tags of both tasks this way.\n",
            BENCH_NTAGS);
}

int bench_results_json(const char *path, const bench_results *rep, const bench_config *cfg, const bench_limits *lim,
                      const char *machine, const char *date, double total_s) {
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    fprintf(f, "{\n  \"program\": \"mvke-bench\",\n  \"library_version\": \"%s\",\n  \"quick\": %s,\n", mvke_version(),
            cfg->quick ? "true" : "false");
    fprintf(f, "  \"machine\": \"%s\",\n  \"date\": \"%s\",\n  \"total_seconds\": %.3f,\n", machine, date, total_s);
    fprintf(f, "  \"K\": %d, \"d\": %d, \"tags_per_task\": %d, \"tasks\": %d, \"faiss\": %s,\n", cfg->K, cfg->d,
            BENCH_NTAGS, BENCH_NTASKS, rep->faiss_built ? "true" : "false");
    fprintf(f, "  \"limits\": [\n");
    for (int t = 0; t < cfg->nthreads; t++) {
        fprintf(f, "    {\"threads\": %d, \"read_gbs\": %.3f, \"sgemm_gfs\": {", cfg->threads[t], lim->bw_gbs[t]);
        for (int b = 0; b < BENCH_NBATCH; b++)
            fprintf(f, "%s\"%dx%dx%d\": %.3f", b ? ", " : "", bench_batches[b], bench_tile_rows(bench_batches[b]),
                    cfg->row, lim->sgemm_gfs[t][b]);
        fprintf(f, "}, \"sgemm_tagging_gfs\": %.3f}%s\n", lim->sgemm_tag_gfs[t], t + 1 < cfg->nthreads ? "," : "");
    }
    fprintf(f, "  ],\n  \"rows\": [\n");
    for (int i = 0; i < rep->nrows; i++) {
        const bench_row *r = &rep->rows[i];
        fprintf(f, "    {\"method\": \"%s\", \"mode\": \"%s\", \"batch\": %d, \"users\": %lld, \"threads\": %d, "
                "\"storage\": \"%s\", \"median_s\": %.6g, \"reps\": %d, \"derived\": %s, ",
                r->method, r->mode, r->batch, (long long)r->users, r->threads, r->storage ? "f16" : "f32", r->median_s,
                r->reps, r->derived ? "true" : "false");
        if (!strcmp(r->method, "naive"))
            fprintf(f, "\"materialise_s\": %.6g, \"scan_s\": %.6g, ", r->split_s[0], r->split_s[1]);
        if (!strcmp(r->mode, "threshold")) fprintf(f, "\"hits\": %lld, ", (long long)r->hits);
        fprintf(f, "\"bytes\": %.6g, \"flops\": %.6g, \"throughput\": %.6g, \"vs_faiss\": %.4g, \"vs_naive\": %.4g, "
                "\"frac_bandwidth\": %.4g, \"frac_sgemm\": %.4g, \"roofline\": %.4g, \"seconds_1e9_users_all_tags\": %.6g}%s\n",
                r->bytes, r->flops, r->throughput, r->vs_faiss, r->vs_naive, r->frac_bw, r->frac_sgemm,
                strcmp(r->method, "naive") ? roofline(r, cfg, lim) : 0.0, r->t_1e9, i + 1 < rep->nrows ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        fprintf(stderr, "mvke-bench: writing %s failed\n", path);
        return 1;
    }
    return 0;
}

/* dir/name opened for writing, or NULL after printing why. */
static FILE *create_in(const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) perror(path);
    return f;
}

/* One line of a data file: the key, then each row's value (NaN for a row not measured). */
static void data_line(FILE *f, long long key, const bench_row *const *c, int n, const bench_config *cfg,
                      const bench_limits *lim) {
    fprintf(f, "%lld", key);
    for (int i = 0; i < n; i++)
        if (!c[i]) fprintf(f, " NaN");
        else if (lim) fprintf(f, " %.4f", roofline(c[i], cfg, lim));
        else fprintf(f, " %.6g", c[i]->median_s);
    fprintf(f, "\n");
}

int bench_results_plots(const char *dir, const bench_results *rep, const bench_config *cfg, const bench_limits *lim) {
    const int th = max_threads(cfg);
    const int64_t n = target_users(cfg);
    FILE *f = create_in(dir, "time_vs_users.dat");
    if (!f) return 1;
    /* Columns: users, mvke f32, mvke f16, FAISS, naive (1 tag, top-100, seconds); then the same
     * for a batch of 64 tags. NaN where not measured. */
    fprintf(f, "# users  mvke_f32  mvke_f16  faiss_flat  naive  mvke_f32_b64  mvke_f16_b64  faiss_flat_b64\n");
    for (int s = 0; s < cfg->nsizes; s++) {
        const int64_t u = cfg->sizes[s];
        const bench_row *c[7] = {pick(rep, "mvke", "top100", 1, u, th, 0), pick(rep, "mvke", "top100", 1, u, th, 1),
                                 pick(rep, "faiss-flat", "top100", 1, u, th, -1), pick(rep, "naive", "top100", 1, u, th, -1),
                                 pick(rep, "mvke", "top100", 64, u, th, 0), pick(rep, "mvke", "top100", 64, u, th, 1),
                                 pick(rep, "faiss-flat", "top100", 64, u, th, -1)};
        data_line(f, (long long)u, c, 7, cfg, NULL);
    }
    fclose(f);
    if (!(f = create_in(dir, "roofline_vs_batch.dat"))) return 1;
    fprintf(f, "# batch  mvke_f32  mvke_f16  faiss_flat   (fraction of the roofline, %lld users, %d threads)\n",
            (long long)n, th);
    for (int b = 0; b < BENCH_NBATCH; b++) {
        const int q = bench_batches[b];
        const bench_row *c[3] = {pick(rep, "mvke", "top100", q, n, th, 0), pick(rep, "mvke", "top100", q, n, th, 1),
                                 pick(rep, "faiss-flat", "top100", q, n, th, -1)};
        data_line(f, q, c, 3, cfg, lim);
    }
    fclose(f);
    if (!(f = create_in(dir, "plots.gp"))) return 1;
    fprintf(f,
            "set terminal svg size 800,500 dynamic font 'sans,12'\nset datafile missing 'NaN'\nset key top left\n"
            "set grid\nset logscale xy\nset xlabel 'users'\nset ylabel 'seconds per call (median)'\n"
            "set title 'Time against users (%d thread%s)'\nset output 'time_vs_users.svg'\n"
            "plot 'time_vs_users.dat' u 1:2 w lp t 'mvke f32, 1 tag', '' u 1:3 w lp t 'mvke f16, 1 tag', "
            "'' u 1:4 w lp t 'FAISS IndexFlatIP, 1 tag', '' u 1:5 w lp t 'naive, 1 tag', "
            "'' u 1:6 w lp dt 2 t 'mvke f32, 64 tags', '' u 1:7 w lp dt 2 t 'mvke f16, 64 tags', "
            "'' u 1:8 w lp dt 2 t 'FAISS IndexFlatIP, 64 tags'\n"
            "unset logscale y\nset logscale x 2\nset yrange [0:1.1]\nset xlabel 'tags per batch'\n"
            "set ylabel 'fraction of roofline'\nset key bottom right\n"
            "set title 'Fraction of the roofline max(bytes/bandwidth, flops/sgemm) / time, %lld users'\n"
            "set output 'roofline_vs_batch.svg'\n"
            "plot 'roofline_vs_batch.dat' u 1:2 w lp t 'mvke f32', '' u 1:3 w lp t 'mvke f16', "
            "'' u 1:4 w lp t 'FAISS IndexFlatIP'\n",
            th, th > 1 ? "s" : "", (long long)n);
    fclose(f);
    char why[512];
    if (bench_gnuplot(dir, "plots.gp", why, sizeof why) != 0) {
        fprintf(stderr, "mvke-bench: %s; the plot data is in %s\n", why, dir);
        return 1;
    }
    return 0;
}

bench_row *bench_results_add(bench_results *r, const bench_row *row) {
    if (r->nrows == r->cap) {
        int cap = r->cap ? 2 * r->cap : 64;
        bench_row *n = realloc(r->rows, (size_t)cap * sizeof *n);
        if (!n) {
            fprintf(stderr, "mvke-bench: out of memory\n");
            exit(1);
        }
        r->rows = n;
        r->cap = cap;
    }
    r->rows[r->nrows] = *row;
    return &r->rows[r->nrows++];
}

double bench_row_bytes(const bench_config *cfg, int storage) {
    return (double)cfg->row * (storage ? 2 : 4) + (double)cfg->P * 4;
}
