/*
 * cmd_demo.c - `mvke demo`: what the system does, on a synthetic MVKE world it makes itself
 * (world.h). It builds the user index and the tag table through the library's API and shows, on
 * stdout: the audience of a few named tags per task, the top tags of a few users next to their
 * planted preferences, a batch tagging of every user with its speed, how well the tags recover
 * the planted preferences against a random baseline, and a timing against the naive method.
 * It writes the world's files, an index file (reopened and checked), and a report folder with
 * pictures (report.h). Progress and notes go to stderr.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench/clock.h"
#include "bench/naive.h"
#include "cli.h"
#include "options.h"
#include "report.h"
#include "synth/world.h"

#define NAMED_PER_TASK 3
#define SHOW_USERS 3
#define SHOW_TOP 5
#define AUDIENCE_SHOW 5
#define NAIVE_K 100
#define BLOCK 4096
#define BATCH_TAGS 256

/* Tags shown for each task (found by name; other worlds fall back to tags at fixed places). */
static const char *const NAMED[2][NAMED_PER_TASK] = {
    {"Travel", "Automobiles - electric cars", "Real estate - house lease - villa"},
    {"Finance - credit cards", "Travel - hotels", "Education - language courses - weekend"},
};

typedef struct demo {
    long long nusers, seed, top_m, threads, K, d;
    float threshold;
    const char *out;
    int files;
    synth_world *w;
    mvke_index *users;
    mvke_tags *tags;
    FILE *console; /* a copy of stdout for the report page */
    char *console_buf;
    size_t console_len;
    int64_t named[SYNTH_WORLD_MAX_TASKS][NAMED_PER_TASK]; /* tag indices */
    float *scores[SYNTH_WORLD_MAX_TASKS][NAMED_PER_TASK]; /* every user's score, by user index */
    int64_t above[SYNTH_WORLD_MAX_TASKS][NAMED_PER_TASK];
    double precision[SYNTH_WORLD_MAX_TASKS], baseline[SYNTH_WORLD_MAX_TASKS];
} demo;

/* Prints a result line on stdout and keeps a copy for the report page. */
static void say(demo *dm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(demo *dm, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    if (dm->console) {
        va_start(ap, fmt);
        vfprintf(dm->console, fmt, ap);
        va_end(ap);
    }
}

/* "1234567" -> "1,234,567" in buf. */
static const char *grouped(long long v, char *buf) {
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%lld", v < 0 ? -v : v), o = 0;
    if (v < 0) buf[o++] = '-';
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = 0;
    return buf;
}

static int make_dir(const char *path) {
    if (mkdir(path, 0777) == 0 || errno == EEXIST) return 0;
    fprintf(stderr, "mvke demo: cannot create %s: %s\n", path, strerror(errno));
    return -1;
}

static const char *task_name(const demo *dm, int t) {
    return dm->w->opt.tasks[t].name;
}

static const char *topic_name(const demo *dm, int topic) {
    return dm->w->tag_name[topic]; /* topics are the first tags */
}

/* The planted preferences of user u in task t as "Travel, Pets". */
static void prefs_text(const demo *dm, int t, int64_t u, char *buf, size_t cap) {
    const synth_world *w = dm->w;
    const int32_t *pr = w->pref + ((size_t)t * w->opt.nusers + u) * w->opt.prefs_max;
    size_t n = 0;
    buf[0] = 0;
    for (int a = 0; a < w->opt.prefs_max && pr[a] >= 0 && n < cap; a++)
        n += snprintf(buf + n, cap - n, "%s%s", a ? ", " : "", topic_name(dm, pr[a]));
}

static void pick_named(demo *dm) {
    const synth_world *w = dm->w;
    for (int t = 0; t < w->opt.ntasks && t < SYNTH_WORLD_MAX_TASKS; t++)
        for (int s = 0; s < NAMED_PER_TASK; s++) {
            int64_t pick = -1;
            if (t < 2)
                for (int64_t i = 0; i < w->ntags && pick < 0; i++)
                    if (!strcmp(w->tag_name[i], NAMED[t][s])) pick = i;
            if (pick < 0) pick = ((int64_t)(t * NAMED_PER_TASK + s) * 7919) % w->ntags;
            dm->named[t][s] = pick;
        }
}

/* ---- 1. audiences -------------------------------------------------------------------------- */

static int show_audiences(demo *dm) {
    const synth_world *w = dm->w;
    char b1[32], b2[32];
    say(dm, "\n== Audience of named tags (reverse targeting) ==\n"
            "For each tag: the top %d users, and the users with score >= %.2f.  "
            "* = the user's planted preferences for this task include the tag's topic.\n",
        AUDIENCE_SHOW, dm->threshold);
    for (int t = 0; t < w->opt.ntasks; t++) {
        int64_t ids[NAMED_PER_TASK];
        for (int s = 0; s < NAMED_PER_TASK; s++) ids[s] = w->tag_id[dm->named[t][s]];
        mvke_result *top = NULL, *above = NULL, *all = NULL;
        mvke_status st = mvke_audience_top(dm->users, dm->tags, task_name(dm, t), NAMED_PER_TASK, ids, AUDIENCE_SHOW,
                                           NULL, &top);
        if (st == MVKE_OK)
            st = mvke_audience_range(dm->users, dm->tags, task_name(dm, t), NAMED_PER_TASK, ids, dm->threshold, NULL,
                                     &above);
        /* every user's score, for the report's pictures */
        if (st == MVKE_OK)
            st = mvke_audience_range(dm->users, dm->tags, task_name(dm, t), NAMED_PER_TASK, ids, -1.0f, NULL, &all);
        if (st != MVKE_OK) {
            mvke_result_free(top);
            mvke_result_free(above);
            return mvke_cli_fail("demo", st, "searching the audience of the named tags");
        }
        for (int s = 0; s < NAMED_PER_TASK; s++) {
            int64_t ti = dm->named[t][s], n;
            int topic = w->tag_topic[ti];
            const int64_t *uid;
            const float *sc;
            float g[MVKE_MAX_K];
            mvke_tags_get(dm->tags, task_name(dm, t), ids[s], NULL, NULL, NULL, g);
            say(dm, "\n%-9s tag %lld \"%s\"  (level %d; gates", task_name(dm, t), (long long)ids[s], w->tag_name[ti],
                w->tag_level[ti]);
            for (int k = 0; k < w->opt.K; k++) say(dm, " %.2f", g[k]);
            say(dm, ")\n  top %d:", AUDIENCE_SHOW);
            mvke_result_get(top, s, &uid, &sc, &n);
            for (int64_t i = 0; i < n; i++)
                say(dm, "  user %lld %.4f%s", (long long)uid[i], sc[i],
                    synth_world_prefers(w, t, uid[i], topic) ? "*" : " ");
            mvke_result_get(above, s, &uid, NULL, &n);
            int64_t hits = 0, pref_all = 0;
            for (int64_t i = 0; i < n; i++) hits += synth_world_prefers(w, t, uid[i], topic);
            for (int64_t u = 0; u < w->opt.nusers; u++) pref_all += synth_world_prefers(w, t, u, topic);
            dm->above[t][s] = n;
            say(dm, "\n  score >= %.2f: %s users, %.1f%% of them prefer %s (of all users: %s, %.1f%%)\n",
                dm->threshold, grouped(n, b1), n ? 100.0 * hits / n : 0.0, topic_name(dm, topic),
                grouped(pref_all, b2), 100.0 * pref_all / w->opt.nusers);
            float *all_sc = malloc(sizeof(float) * w->opt.nusers);
            if (!all_sc) {
                mvke_result_free(top);
                mvke_result_free(above);
                mvke_result_free(all);
                fprintf(stderr, "mvke demo: out of memory\n");
                return MVKE_EXIT_FAIL;
            }
            mvke_result_get(all, s, &uid, &sc, &n);
            for (int64_t i = 0; i < n; i++) all_sc[uid[i]] = sc[i]; /* user ids are user indices */
            dm->scores[t][s] = all_sc;
        }
        mvke_result_free(top);
        mvke_result_free(above);
        mvke_result_free(all);
    }
    return MVKE_EXIT_OK;
}

/* ---- 2. top tags of a few users ------------------------------------------------------------ */

static int show_users(demo *dm) {
    const synth_world *w = dm->w;
    const int T = w->opt.ntasks;
    int64_t nu = w->opt.nusers < SHOW_USERS ? w->opt.nusers : SHOW_USERS, ids[SHOW_USERS];
    for (int64_t i = 0; i < nu; i++) ids[i] = w->user_id[i * (w->opt.nusers / nu)];
    mvke_result *res = NULL;
    mvke_status st = mvke_user_tags_top(dm->users, dm->tags, NULL, nu, ids, SHOW_TOP, &res);
    if (st != MVKE_OK) return mvke_cli_fail("demo", st, "searching the top tags of users");
    say(dm, "\n== Top %d tags of %lld users per task, next to their planted preferences ==\n"
            "* = the tag's topic is one of the user's planted preferences for that task.\n",
        SHOW_TOP, (long long)nu);
    for (int64_t i = 0; i < nu; i++) {
        say(dm, "\nuser %lld\n", (long long)ids[i]);
        for (int t = 0; t < T; t++) {
            char prefs[512];
            prefs_text(dm, t, ids[i], prefs, sizeof prefs);
            say(dm, "  %-9s planted: %s\n", task_name(dm, t), prefs);
            const int64_t *tid;
            const float *sc;
            int64_t n;
            mvke_result_get(res, i * T + t, &tid, &sc, &n);
            for (int64_t j = 0; j < n; j++) {
                int64_t ti = synth_world_tag_index(w, tid[j]);
                say(dm, "  %-9s %lld. %.4f%s %s\n", "", (long long)j + 1, sc[j],
                    synth_world_prefers(w, t, ids[i], w->tag_topic[ti]) ? "*" : " ", w->tag_name[ti]);
            }
        }
    }
    mvke_result_free(res);
    return MVKE_EXIT_OK;
}

/* ---- 3. batch tagging and precision at M --------------------------------------------------- */

static int batch_tagging(demo *dm) {
    const synth_world *w = dm->w;
    const int T = w->opt.ntasks, D = w->opt.K * w->opt.d;
    const int64_t n = w->opt.nusers, M = dm->top_m;
    float *x = malloc(sizeof(float) * BLOCK * D);
    int64_t *ids = malloc(sizeof(int64_t) * BLOCK);
    double hits[SYNTH_WORLD_MAX_TASKS] = {0}, base[SYNTH_WORLD_MAX_TASKS] = {0};
    int64_t got[SYNTH_WORLD_MAX_TASKS] = {0};
    if (!x || !ids) {
        free(x);
        free(ids);
        fprintf(stderr, "mvke demo: out of memory\n");
        return MVKE_EXIT_FAIL;
    }
    fprintf(stderr, "demo: tagging every user (top %lld tags per task, blocks of %d users)\n", (long long)M, BLOCK);
    double t0 = bench_now(), t_search = 0;
    for (int64_t first = 0; first < n; first += BLOCK) {
        int64_t nb = n - first < BLOCK ? n - first : BLOCK;
        mvke_result *res = NULL;
        mvke_status st = mvke_index_read_rows(dm->users, first, nb, ids, x);
        double ts = bench_now();
        if (st == MVKE_OK) st = mvke_user_tags_top_rows(dm->tags, NULL, nb, x, M, &res);
        t_search += bench_now() - ts;
        if (st != MVKE_OK) {
            free(x);
            free(ids);
            return mvke_cli_fail("demo", st, "tagging a block of users");
        }
        for (int64_t i = 0; i < nb; i++)
            for (int t = 0; t < T; t++) {
                const int64_t *tid;
                int64_t m;
                mvke_result_get(res, i * T + t, &tid, NULL, &m);
                for (int64_t j = 0; j < m; j++)
                    hits[t] += synth_world_prefers(w, t, ids[i], w->tag_topic[synth_world_tag_index(w, tid[j])]);
                got[t] += m;
            }
        mvke_result_free(res);
    }
    double elapsed = bench_now() - t0;
    free(x);
    free(ids);
    for (int t = 0; t < T; t++)
        for (int64_t u = 0; u < n; u++) base[t] += synth_world_random_precision(w, t, u);

    char b1[32], b2[32], b3[32];
    say(dm, "\n== Batch tagging: the top %lld tags of every task for every user ==\n", (long long)M);
    say(dm, "%s users x %s tags (%d tasks) in %.2f s: %s users/s (%.2f s in the search calls)\n", grouped(n, b1),
        grouped(w->ntags * T, b2), T, elapsed, grouped((long long)(n / elapsed), b3), t_search);
    say(dm, "\n== Precision at %lld: do the top tags recover the planted preferences? ==\n", (long long)M);
    say(dm, "%-9s  %-12s  %-12s  %s\n", "task", "mvke tags", "random tags", "ratio");
    for (int t = 0; t < T; t++) {
        dm->precision[t] = got[t] ? hits[t] / got[t] : 0;
        dm->baseline[t] = base[t] / n;
        say(dm, "%-9s  %-12.3f  %-12.3f  %.1fx\n", task_name(dm, t), dm->precision[t], dm->baseline[t],
            dm->baseline[t] > 0 ? dm->precision[t] / dm->baseline[t] : 0.0);
    }
    say(dm, "(precision: the share of a user's top-%lld tags whose level-1 topic the user was generated to prefer "
            "in that task; random: the same share for tags drawn at random)\n",
        (long long)M);
    return MVKE_EXIT_OK;
}

/* ---- 4. against the naive method ----------------------------------------------------------- */

/* The naive method (bench/naive.h, the baseline of the benchmark too) against the library. */
static int versus_naive(demo *dm) {
    const synth_world *w = dm->w;
    const int T = w->opt.ntasks, K = w->opt.K, d = w->opt.d;
    const int64_t n = w->opt.nusers, k = n < NAIVE_K ? n : NAIVE_K;
    bench_naive nv;
    mvke_status nst = bench_naive_init(&nv, K, d, n, w->x, w->user_id, (int)dm->threads);
    float *lib_s = malloc(sizeof(float) * T * NAMED_PER_TASK * k), *nv_s = malloc(sizeof(float) * k);
    int64_t *lib_id = malloc(sizeof(int64_t) * T * NAMED_PER_TASK * k), *nv_id = malloc(sizeof(int64_t) * k);
    int rc = MVKE_EXIT_FAIL;
    if (nst != MVKE_OK || !lib_s || !nv_s || !lib_id || !nv_id) {
        fprintf(stderr, "mvke demo: out of memory\n");
        goto out;
    }
    fprintf(stderr, "demo: timing the naive method\n");
    /* the library: one call per task with that task's named tags */
    double t0 = bench_now();
    for (int t = 0; t < T; t++) {
        int64_t ids[NAMED_PER_TASK];
        for (int s = 0; s < NAMED_PER_TASK; s++) ids[s] = w->tag_id[dm->named[t][s]];
        mvke_result *res = NULL;
        mvke_status st = mvke_audience_top(dm->users, dm->tags, task_name(dm, t), NAMED_PER_TASK, ids, k, NULL, &res);
        if (st != MVKE_OK) {
            rc = mvke_cli_fail("demo", st, "searching audiences");
            goto out;
        }
        for (int s = 0; s < NAMED_PER_TASK; s++) {
            const int64_t *uid;
            const float *sc;
            int64_t m;
            mvke_result_get(res, s, &uid, &sc, &m);
            for (int64_t i = 0; i < k; i++) {
                lib_id[(t * NAMED_PER_TASK + s) * k + i] = i < m ? uid[i] : -1;
                lib_s[(t * NAMED_PER_TASK + s) * k + i] = i < m ? sc[i] : -INFINITY;
            }
        }
        mvke_result_free(res);
    }
    double t_lib = bench_now() - t0;

    t0 = bench_now();
    int64_t same = 0, total = 0;
    double maxdiff = 0;
    for (int t = 0; t < T; t++)
        for (int s = 0; s < NAMED_PER_TASK; s++) {
            size_t row = (size_t)t * w->ntags + dm->named[t][s];
            if ((nst = bench_naive_search(&nv, 1, w->q + row * d, w->w + row * K, k, nv_s, nv_id)) != MVKE_OK) {
                rc = mvke_cli_fail("demo", nst, "the naive method");
                goto out;
            }
            const int64_t *li = lib_id + (t * NAMED_PER_TASK + s) * k;
            const float *ls = lib_s + (t * NAMED_PER_TASK + s) * k;
            for (int64_t i = 0; i < k; i++) {
                for (int64_t j = 0; j < k; j++)
                    if (nv_id[i] == li[j]) {
                        same++;
                        break;
                    }
                double diff = fabs((double)nv_s[i] - ls[i]);
                if (diff > maxdiff) maxdiff = diff;
                total++;
            }
        }
    double t_naive = bench_now() - t0;
    say(dm, "\n== Against the naive method ==\n"
            "Naive (the baseline, bench/naive.c): for each tag, materialise sum_k w[k] e[u][k] for every "
            "user, then a cosine scan and a top-%lld heap.\n",
        (long long)k);
    say(dm, "Audience top-%lld of %d tags over %lld users:  naive %.3f s,  mvke %.3f s:  mvke is %.1fx faster\n",
        (long long)k, T * NAMED_PER_TASK, (long long)n, t_naive, t_lib, t_lib > 0 ? t_naive / t_lib : 0.0);
    say(dm, "Same answers: %lld of %lld top users agree, largest score difference at equal rank %.1e\n",
        (long long)same, (long long)total, maxdiff);

    /* Many tags at once: the library answers them in one pass over the users (matrix products),
     * the naive method costs the same per tag whatever the batch. */
    int64_t nbatch = w->ntags < BATCH_TAGS ? w->ntags : BATCH_TAGS;
    mvke_result *res = NULL;
    t0 = bench_now();
    mvke_status st = mvke_audience_top(dm->users, dm->tags, task_name(dm, 0), nbatch, w->tag_id, k, NULL, &res);
    double t_batch = bench_now() - t0;
    mvke_result_free(res);
    if (st != MVKE_OK) {
        rc = mvke_cli_fail("demo", st, "searching a batch of audiences");
        goto out;
    }
    double naive_per_tag = t_naive / (T * NAMED_PER_TASK), lib_per_tag = t_batch / nbatch;
    say(dm, "Audience top-%lld of %lld tags in one call:  mvke %.3f s = %.2f ms per tag, against %.2f ms per tag "
            "for the naive method:  %.1fx faster\n",
        (long long)k, (long long)nbatch, t_batch, 1e3 * lib_per_tag, 1e3 * naive_per_tag,
        lib_per_tag > 0 ? naive_per_tag / lib_per_tag : 0.0);
    rc = MVKE_EXIT_OK;
out:
    bench_naive_release(&nv);
    free(lib_s);
    free(nv_s);
    free(lib_id);
    free(nv_id);
    return rc;
}

/* ---- 5. the index file --------------------------------------------------------------------- */

static int index_file(demo *dm) {
    const synth_world *w = dm->w;
    char path[4096];
    snprintf(path, sizeof path, "%s/index.mvke", dm->out);
    fprintf(stderr, "demo: writing %s\n", path);
    double t0 = bench_now();
    mvke_status st = mvke_file_save(path, dm->users, dm->tags);
    if (st != MVKE_OK) return mvke_cli_fail("demo", st, "saving the index file");
    double t_save = bench_now() - t0;
    t0 = bench_now();
    mvke_index *users = NULL;
    mvke_tags *tags = NULL;
    st = mvke_file_open(path, MVKE_FILE_OPEN_DEFAULT, &users, &tags);
    if (st != MVKE_OK) return mvke_cli_fail("demo", st, "reopening the index file");
    double t_open = bench_now() - t0;
    /* the same audiences from the reopened file */
    int64_t same = 0, total = 0;
    for (int t = 0; t < w->opt.ntasks && st == MVKE_OK; t++) {
        int64_t ids[NAMED_PER_TASK];
        for (int s = 0; s < NAMED_PER_TASK; s++) ids[s] = w->tag_id[dm->named[t][s]];
        mvke_result *a = NULL, *b = NULL;
        st = mvke_audience_top(dm->users, dm->tags, task_name(dm, t), NAMED_PER_TASK, ids, NAIVE_K, NULL, &a);
        if (st == MVKE_OK) st = mvke_audience_top(users, tags, task_name(dm, t), NAMED_PER_TASK, ids, NAIVE_K, NULL, &b);
        for (int s = 0; s < NAMED_PER_TASK && st == MVKE_OK; s++) {
            const int64_t *ia, *ib;
            const float *sa, *sb;
            int64_t na, nb;
            mvke_result_get(a, s, &ia, &sa, &na);
            mvke_result_get(b, s, &ib, &sb, &nb);
            for (int64_t i = 0; i < na && i < nb; i++) same += ia[i] == ib[i] && sa[i] == sb[i];
            total += na > nb ? na : nb;
        }
        mvke_result_free(a);
        mvke_result_free(b);
    }
    mvke_index_free(users);
    mvke_tags_free(tags);
    if (st != MVKE_OK) return mvke_cli_fail("demo", st, "searching the reopened index file");
    struct stat sb;
    double mb = stat(path, &sb) == 0 ? sb.st_size / 1e6 : 0;
    say(dm, "\n== Index file ==\n%s: %.1f MB, saved in %.2f s, reopened in %.3f s; the reopened index gives %s "
            "(%lld of %lld results equal)\n",
        path, mb, t_save, t_open, same == total ? "the same audiences" : "DIFFERENT audiences", (long long)same,
        (long long)total);
    return same == total ? MVKE_EXIT_OK : MVKE_EXIT_FAIL;
}

/* ---- 6. the report ------------------------------------------------------------------------- */

static int write_report(demo *dm) {
    const synth_world *w = dm->w;
    mvke_report r;
    memset(&r, 0, sizeof r);
    r.world = w;
    r.threshold = dm->threshold;
    r.top_m = (int)dm->top_m;
    for (int t = 0; t < w->opt.ntasks && r.ntags < MVKE_REPORT_MAX_TAGS; t++)
        for (int s = 0; s < NAMED_PER_TASK && r.ntags < MVKE_REPORT_MAX_TAGS; s++) {
            mvke_report_tag *rt = &r.tags[r.ntags++];
            rt->task = t;
            rt->index = dm->named[t][s];
            rt->scores = dm->scores[t][s];
            rt->above = dm->above[t][s];
        }
    /* heatmap rows: up to 4 tags of each facet, from the second level when there is one, by facet */
    int per = MVKE_REPORT_MAX_HEAT / w->opt.K < 4 ? MVKE_REPORT_MAX_HEAT / w->opt.K : 4;
    if (per < 1) per = 1;
    int64_t from = w->opt.nlevels > 1 ? w->opt.level_counts[0] : 0;
    for (int f = 0; f < w->opt.K && r.nheat < MVKE_REPORT_MAX_HEAT; f++) {
        int got = 0;
        for (int64_t i = from; i < w->ntags && got < per && r.nheat < MVKE_REPORT_MAX_HEAT; i += 7)
            if (w->tag_facet[i] == f) {
                r.heat[r.nheat++] = i;
                got++;
            }
    }
    for (int t = 0; t < w->opt.ntasks; t++) {
        r.precision[t] = dm->precision[t];
        r.baseline[t] = dm->baseline[t];
    }
    say(dm, "\n== Report ==\n%s/report.html  (pictures: gates.png, scores.png, audience.png, precision.png)\n", dm->out);
    if (dm->console) {
        fflush(dm->console);
        r.console = dm->console_buf;
    }
    char msg[1024];
    int rc = mvke_report_write(&r, dm->out, msg, sizeof msg);
    if (rc < 0) {
        fprintf(stderr, "mvke demo: writing the report: %s\n", msg);
        return MVKE_EXIT_IO;
    }
    if (rc > 0) fprintf(stderr, "mvke demo: note: the report has no pictures: %s\n", msg);
    return MVKE_EXIT_OK;
}

/* ---- the command --------------------------------------------------------------------------- */

static int run(demo *dm, const cli_spec *spec) {
    synth_world_options o;
    synth_world_options_init(&o);
    o.nusers = dm->nusers;
    o.seed = (uint64_t)dm->seed;
    o.K = (int)dm->K;
    o.d = (int)dm->d;
    char msg[1024], b1[32], b2[32];
    if (synth_world_options_check(&o, msg, sizeof msg)) return cli_usage_error(spec, "%s", msg);
    if (make_dir(dm->out)) return MVKE_EXIT_IO;

    double t0 = bench_now();
    fprintf(stderr, "demo: generating a world of %lld users (seed %lld)\n", dm->nusers, dm->seed);
    mvke_status st = synth_world_new(&dm->w, &o, msg, sizeof msg);
    if (st != MVKE_OK) {
        fprintf(stderr, "mvke demo: generating the world: %s\n", msg);
        return mvke_cli_exit_code(st);
    }
    const synth_world *w = dm->w;
    double t_gen = bench_now() - t0;
    if (dm->files) {
        snprintf(msg, sizeof msg, "%s/world", dm->out);
        if (make_dir(msg)) return MVKE_EXIT_IO;
        char path[1100];
        snprintf(path, sizeof path, "%s", msg);
        fprintf(stderr, "demo: writing the world's files to %s\n", path);
        if ((st = synth_world_save(w, path, msg, sizeof msg)) != MVKE_OK) {
            fprintf(stderr, "mvke demo: writing the world: %s\n", msg);
            return mvke_cli_exit_code(st);
        }
    }
    t0 = bench_now();
    mvke_index_options io;
    mvke_index_options_init(&io);
    io.threads = (int)dm->threads;
    if ((st = synth_world_users(w, &io, &dm->users)) != MVKE_OK) return mvke_cli_fail("demo", st, "adding the users");
    if ((st = synth_world_tags(w, &io, &dm->tags)) != MVKE_OK) return mvke_cli_fail("demo", st, "adding the tags");
    double t_build = bench_now() - t0;
    pick_named(dm);

    say(dm, "MVKE demo: a synthetic world (seed %lld) of %s users, K = %d experts of d = %d, %s tags in %d levels (",
        dm->seed, grouped(o.nusers, b1), o.K, o.d, grouped(w->ntags, b2), o.nlevels);
    for (int l = 0; l < o.nlevels; l++) say(dm, "%s%lld", l ? "/" : "", (long long)o.level_counts[l]);
    say(dm, "), tasks");
    for (int t = 0; t < o.ntasks; t++) {
        say(dm, "%s %s (experts", t ? "," : "", o.tasks[t].name);
        for (int i = 0; i < o.tasks[t].nexperts; i++) say(dm, "%s%d", i ? "," : " ", o.tasks[t].experts[i]);
        say(dm, ")");
    }
    say(dm, ", gates from virtual kernels.\nGenerated in %.2f s; index and tag table built in %.2f s.\n", t_gen,
        t_build);

    int rc;
    if ((rc = show_audiences(dm)) || (rc = show_users(dm)) || (rc = batch_tagging(dm)) || (rc = versus_naive(dm)))
        return rc;
    if (dm->files) {
        if ((rc = index_file(dm))) return rc;
    } else {
        fprintf(stderr, "demo: --no-files: no world files and no index file written\n");
    }
    return write_report(dm);
}

int mvke_cmd_demo(int argc, char **argv) {
    demo dm;
    memset(&dm, 0, sizeof dm);
    dm.nusers = 200000;
    dm.seed = 42;
    dm.top_m = 10;
    dm.K = 5;
    dm.d = 30;
    dm.threshold = 0.5f;
    dm.out = "mvke-demo-report";
    int no_files = 0;
    const cli_option options[] = {
        {.name = "--users", .metavar = "N", .help = "number of users (default 200000)", .kind = CLI_INT,
         .dst = &dm.nusers, .min = 1, .max = 1e18},
        {.name = "--out", .metavar = "DIR", .help = "report folder (default ./mvke-demo-report)",
         .kind = CLI_STRING, .dst = &dm.out},
        {.name = "--seed", .metavar = "S", .help = "random seed (default 42)", .kind = CLI_INT, .dst = &dm.seed,
         .min = 0, .max = 1e18},
        {.name = "--K", .metavar = "K", .help = "experts per user (default 5; the default tasks use experts 0-4)",
         .kind = CLI_INT, .dst = &dm.K, .min = 1, .max = MVKE_MAX_K},
        {.name = "--d", .metavar = "D", .help = "dimension of each expert (default 30)", .kind = CLI_INT,
         .dst = &dm.d, .min = 1, .max = MVKE_MAX_D},
        {.name = "--top", .metavar = "M", .help = "tags per user and task in the batch tagging (default 10)",
         .kind = CLI_INT, .dst = &dm.top_m, .min = 1, .max = 1e18},
        {.name = "--threshold", .metavar = "S", .help = "audience score threshold (default 0.5)",
         .kind = CLI_FLOAT, .dst = &dm.threshold, .min = -1, .max = 1},
        {.name = "--threads", .metavar = "T", .help = "search threads (default 0: all cores)", .kind = CLI_INT,
         .dst = &dm.threads, .min = 0, .max = 1e18},
        {.name = "--no-files", .metavar = NULL,
         .help = "do not write the world's .npy/.tsv files and the index file", .kind = CLI_FLAG, .dst = &no_files},
    };
    const cli_spec spec = {
        "mvke demo",
        "Makes a synthetic MVKE world (the paper's setting: K = 5 experts of d = 30, 1,786 tags in a\n"
        "4-level taxonomy, tasks 'interest' on experts 0-2 and 'intention' on experts 1-4, gates from\n"
        "virtual kernels, users with planted preferences; see docs/demo.md), then shows audiences of\n"
        "named tags, users' top tags, a batch tagging of every user, precision against the planted\n"
        "preferences and a timing against the naive method. Writes a report folder with pictures.\n",
        "Results go to stdout, progress to stderr. `mvke gen` writes a world without the rest.\n", options,
        CLI_NOPTIONS(options)};
    int rc;
    if (!cli_parse(&spec, argc, argv, &rc)) return rc;
    dm.files = !no_files;
    double t0 = bench_now();
    dm.console = open_memstream(&dm.console_buf, &dm.console_len);
    rc = run(&dm, &spec);
    if (rc == MVKE_EXIT_OK) fprintf(stderr, "demo: done in %.1f s\n", bench_now() - t0);
    for (int t = 0; t < SYNTH_WORLD_MAX_TASKS; t++)
        for (int s = 0; s < NAMED_PER_TASK; s++) free(dm.scores[t][s]);
    mvke_tags_free(dm.tags);
    mvke_index_free(dm.users);
    synth_world_free(dm.w);
    if (dm.console) fclose(dm.console);
    free(dm.console_buf);
    return rc;
}
