/*
 * test_demo.c - `mvke demo` and `mvke gen` end to end (the executable is given by MVKE_EXE): a
 * small demo runs, prints its sections on stdout and nothing else, recovers the planted
 * preferences clearly better than chance, and leaves a report folder with the pictures, the page,
 * the world's files and an index file that verifies; gen writes a world the readers accept.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mvke/mvke.h"

/* Runs `mvke args...` with stdout and stderr to files; returns the exit status. */
static int run_mvke(const char *out, const char *err, const char *const *args) {
    const char *exe = getenv("MVKE_EXE");
    cr_assert_not_null(exe, "MVKE_EXE must point at the mvke executable");
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        if (!freopen(out, "w", stdout) || !freopen(err, "w", stderr)) _exit(120);
        const char *argv[32] = {"mvke"};
        int n = 1;
        for (; args[n - 1] && n < 31; n++) argv[n] = args[n - 1];
        argv[n] = NULL;
        execv(exe, (char *const *)argv);
        _exit(121);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc(n + 1);
    cr_assert_eq(fread(s, 1, n, f), (size_t)n);
    s[n] = 0;
    fclose(f);
    return s;
}

static void assert_png(const char *dir, const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s was not drawn", path);
    unsigned char sig[8];
    cr_assert_eq(fread(sig, 1, 8, f), 8u);
    cr_assert_eq(memcmp(sig, "\x89PNG\r\n\x1a\n", 8), 0, "%s is not a PNG", path);
    fseek(f, 0, SEEK_END);
    cr_assert_gt(ftell(f), 5000, "%s is too small to hold a picture", path);
    fclose(f);
}

static void remove_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[1024];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) remove_tree(path);
        else unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* The demo's precision at 10 of each task, clearly above its random baseline, and the naive
 * method finding the same audiences. */
static void check_precision_and_naive(const char *so) {
    const char *tasks[] = {"\ninterest ", "\nintention "};
    for (int t = 0; t < 2; t++) {
        const char *line = strstr(strstr(so, "== Precision at 10"), tasks[t]);
        cr_assert_not_null(line);
        char name[32];
        double p, b;
        cr_assert_eq(sscanf(line, "%31s %lf %lf", name, &p, &b), 3, "%.80s", line);
        cr_assert(p > 0.6 && p > 3 * b, "%s: precision %f against random %f", name, p, b);
    }
    long long same, total;
    const char *agree = strstr(so, "Same answers: ");
    cr_assert_not_null(agree);
    cr_assert_eq(sscanf(agree, "Same answers: %lld of %lld", &same, &total), 2);
    cr_assert(total > 0 && same == total, "the naive method agrees on %lld of %lld", same, total);
}

Test(demo, small_run_shows_everything_and_writes_the_report, .timeout = 300) {
    char dir[] = "/tmp/mvke-demo-XXXXXX", rep[600], out[600], err[600], path[700];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(rep, sizeof rep, "%s/report", dir);
    snprintf(out, sizeof out, "%s/stdout", dir);
    snprintf(err, sizeof err, "%s/stderr", dir);
    const char *args[] = {"demo", "--users", "2000", "--out", rep, NULL};
    int rc = run_mvke(out, err, args);
    char *so = slurp(out), *se = slurp(err);
    cr_assert_eq(rc, 0, "exit %d; stderr:\n%s", rc, se);

    const char *sections[] = {"== Audience of named tags", "== Top 5 tags of", "== Batch tagging",
                              "== Precision at 10", "== Against the naive method", "== Index file",
                              "== Report", "Real estate - house lease - villa"};
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
        cr_assert_not_null(strstr(so, sections[i]), "stdout lacks '%s':\n%s", sections[i], so);
    cr_assert_null(strstr(so, "demo: generating"), "progress belongs on stderr");
    cr_assert_not_null(strstr(se, "demo: done"), "%s", se);
    cr_assert_not_null(strstr(so, "the same audiences"), "the reopened index file answers the same");

    check_precision_and_naive(so);

    const char *pngs[] = {"gates.png", "scores.png", "audience.png", "precision.png"};
    for (int i = 0; i < 4; i++) assert_png(rep, pngs[i]);
    snprintf(path, sizeof path, "%s/report.html", rep);
    char *page = slurp(path);
    for (int i = 0; i < 4; i++) cr_assert_not_null(strstr(page, pngs[i]), "the page links %s", pngs[i]);
    cr_assert_not_null(strstr(page, "Console output"));
    free(page);
    /* Every reference line is labelled, every series has a colour of the colour-blind-safe
     * palette (none left to gnuplot's defaults, whose yellow is hard to see on white), and the
     * legends sit below the plots, off the data. */
    snprintf(path, sizeof path, "%s/plots.gp", rep);
    char *gp = slurp(path);
    int arrows = 0, labels = 0;
    for (const char *p = gp; (p = strstr(p, "set arrow")); p++) arrows++;
    for (const char *p = gp; (p = strstr(p, "set label 'threshold")); p++) labels++;
    cr_assert(arrows == 2 && labels == 2, "%d reference lines, %d labelled", arrows, labels);
    for (const char *p = gp; (p = strstr(p, " with lines")); p++)
        cr_assert(!strncmp(strchr(p, 'l'), "lines linewidth 2 linecolor rgb '#", 34), "%.60s", p);
    int below = 0;
    for (const char *p = gp; (p = strstr(p, "set key outside below")); p++) below++;
    cr_assert_eq(below, 2, "the legends of scores.png and audience.png sit below the plot");
    free(gp);

    snprintf(path, sizeof path, "%s/index.mvke", rep);
    cr_assert_eq(mvke_file_verify(path), MVKE_OK, "%s", mvke_last_error());
    mvke_file_info info;
    cr_assert_eq(mvke_file_inspect(path, &info), MVKE_OK);
    cr_assert_eq(info.nusers, 2000);
    cr_assert(info.K == 5 && info.d == 30);
    snprintf(path, sizeof path, "%s/world/users.npy", rep);
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0, "the world's files are written");
    free(so);
    free(se);
    remove_tree(dir);
}

/* The demo of the dot score: a world planted for it (unit tags, scaled users), the index and
 * the naive method in dot products, precision well above random, the threshold a score of 3,
 * and the pictures' axis the scores' own range; the index file keeps the score. */
Test(demo, dot_score_run, .timeout = 300) {
    char dir[] = "/tmp/mvke-demo-XXXXXX", rep[600], out[600], err[600], path[700];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(rep, sizeof rep, "%s/report", dir);
    snprintf(out, sizeof out, "%s/stdout", dir);
    snprintf(err, sizeof err, "%s/stderr", dir);
    const char *args[] = {"demo", "--users", "3000", "--score", "dot", "--out", rep, NULL};
    int rc = run_mvke(out, err, args);
    char *so = slurp(out), *se = slurp(err);
    cr_assert_eq(rc, 0, "exit %d; stderr:\n%s", rc, se);
    cr_assert_not_null(strstr(so, "users with score >= 3.00"), "%s", so);
    cr_assert_not_null(strstr(so, "then a dot-product scan"), "%s", so);
    check_precision_and_naive(so);
    /* The histogram's bins span the dot scores (first and last bin centres). */
    snprintf(path, sizeof path, "%s/scores.dat", rep);
    char *dat = slurp(path);
    double lo = NAN, hi = NAN, c;
    for (char *l = strtok(dat, "\n"); l; l = strtok(NULL, "\n"))
        if (l[0] != '#' && sscanf(l, "%lf", &c) == 1) {
            if (isnan(lo)) lo = c;
            hi = c;
        }
    cr_assert(lo < 0 && hi > 4 && hi < 20, "score bins from %g to %g", lo, hi);
    free(dat);
    snprintf(path, sizeof path, "%s/index.mvke", rep);
    mvke_index *ix;
    mvke_tags *tg;
    cr_assert_eq(mvke_file_open(path, 0, &ix, &tg), MVKE_OK, "%s", mvke_last_error());
    mvke_score sc;
    mvke_index_score(ix, &sc);
    cr_assert_eq(sc, MVKE_SCORE_DOT);
    mvke_index_free(ix);
    mvke_tags_free(tg);
    free(so);
    free(se);
    remove_tree(dir);
}

Test(demo, gen_writes_a_world_that_reads_back) {
    char dir[] = "/tmp/mvke-gen-XXXXXX", world[600], out[600], err[600], path[700];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(world, sizeof world, "%s/w", dir);
    snprintf(out, sizeof out, "%s/stdout", dir);
    snprintf(err, sizeof err, "%s/stderr", dir);
    const char *args[] = {"gen", "--users", "300", "--seed", "5", "--K", "4", "--d", "8", "--levels", "3,7",
                          "--task", "a=0-1", "--task", "b=1,3", "--out", world, NULL};
    int rc = run_mvke(out, err, args);
    char *so = slurp(out), *se = slurp(err);
    cr_assert_eq(rc, 0, "exit %d; stderr:\n%s", rc, se);
    cr_assert_not_null(strstr(so, "mvke build"), "%s", so);
    mvke_npy *f;
    mvke_dtype dt;
    int nd;
    int64_t shape[MVKE_NPY_MAX_DIMS];
    snprintf(path, sizeof path, "%s/users.npy", world);
    cr_assert_eq(mvke_npy_open(&f, path), MVKE_OK, "%s", mvke_last_error());
    mvke_npy_shape(f, &dt, &nd, shape);
    cr_assert(nd == 3 && shape[0] == 300 && shape[1] == 4 && shape[2] == 8);
    mvke_npy_close(f);
    snprintf(path, sizeof path, "%s/gates.npy", world);
    cr_assert_eq(mvke_npy_open(&f, path), MVKE_OK);
    mvke_npy_shape(f, &dt, &nd, shape);
    cr_assert(nd == 2 && shape[0] == 20 && shape[1] == 4, "two tasks of 10 tags");
    float g[20 * 4];
    cr_assert_eq(mvke_npy_read_f32(f, 0, 20, g), MVKE_OK);
    for (int i = 0; i < 10; i++) cr_assert(g[i * 4 + 2] == 0 && g[i * 4 + 3] == 0, "task a uses experts 0-1");
    for (int i = 10; i < 20; i++) cr_assert(g[i * 4 + 0] == 0 && g[i * 4 + 2] == 0, "task b uses experts 1 and 3");
    mvke_npy_close(f);
    mvke_taxonomy *tax;
    snprintf(path, sizeof path, "%s/tags.tsv", world);
    cr_assert_eq(mvke_taxonomy_read(&tax, path), MVKE_OK, "%s", mvke_last_error());
    int64_t rows;
    mvke_taxonomy_count(tax, &rows);
    cr_assert_eq(rows, 20);
    mvke_taxonomy_free(tax);

    /* the same options write the same users */
    char world2[700];
    snprintf(world2, sizeof world2, "%s/w2", dir);
    args[sizeof args / sizeof args[0] - 2] = world2;
    cr_assert_eq(run_mvke(out, err, args), 0);
    char p2[800];
    snprintf(path, sizeof path, "%s/users.npy", world);
    snprintf(p2, sizeof p2, "%s/users.npy", world2);
    struct stat sa, sb;
    cr_assert(stat(path, &sa) == 0 && stat(p2, &sb) == 0 && sa.st_size == sb.st_size);
    char *a = slurp(path), *b = slurp(p2);
    cr_assert_eq(memcmp(a, b, sa.st_size), 0);
    free(a);
    free(b);

    const char *bad[] = {"gen", "--task", "a=0-9", NULL};
    cr_assert_eq(run_mvke(out, err, bad), 2, "experts out of range are a usage error");
    const char *bad2[] = {"demo", "--users", "0", NULL};
    cr_assert_eq(run_mvke(out, err, bad2), 2);
    free(so);
    free(se);
    remove_tree(dir);
}
