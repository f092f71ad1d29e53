/*
 * report.c - the data files and gnuplot script of the demo's report, and running gnuplot on
 * them. The script is left in the folder so that a reader can restyle a picture and redraw it
 * with `gnuplot plots.gp`; the page itself is written by report_page.c.
 */
#include "demo_report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/gnuplot.h"

/* Score bins of the histogram and the threshold grid of the audience curve. */
#define HIST_LO (r->lo)
#define HIST_HI (r->hi)
#define HIST_BINS 80
/* The audience curve starts where the histogram's top five eighths do. */
#define CURVE_LO (r->lo + 0.375 * (r->hi - r->lo))
#define CURVE_HI (r->hi)
#define CURVE_STEPS 120

int cli_demo_report_page_write(const cli_demo_report *r, const char *dir, int pictures, char *msg, size_t cap);

/* Okabe and Ito's colour-blind-safe palette, without its yellow (too pale on white). */
static const char *const okabe_ito[7] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"};

static FILE *open_in(const char *dir, const char *name, char *msg, size_t cap) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) snprintf(msg, cap, "%s: cannot create: %s", path, strerror(errno));
    return f;
}

static int close_in(FILE *f, const char *dir, const char *name, char *msg, size_t cap) {
    if (ferror(f) | fclose(f)) {
        snprintf(msg, cap, "%s/%s: write failed: %s", dir, name, strerror(errno));
        return -1;
    }
    return 0;
}

/* A gnuplot string literal: single quotes, a quote doubled. */
static void gp_string(FILE *f, const char *s) {
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') fputc('\'', f);
        fputc(*s, f);
    }
    fputc('\'', f);
}

/* The last " - " part of a tag name and its parent's, to keep heatmap labels short. */
static const char *short_name(const char *name) {
    const char *last = name, *prev = name;
    for (const char *p = strstr(name, " - "); p; p = strstr(p + 3, " - ")) {
        prev = last;
        last = p + 3;
    }
    return prev;
}

static int write_gates(const cli_demo_report *r, const char *dir, int t, char *msg, size_t cap) {
    const synth_world *w = r->world;
    char name[SYNTH_WORLD_MAX_NAME + 16];
    snprintf(name, sizeof name, "gates_%s.dat", w->opt.tasks[t].name);
    FILE *f = open_in(dir, name, msg, cap);
    if (!f) return -1;
    fprintf(f, "# gate weights of task %s: one row per tag (drawing order), one column per expert\n",
            w->opt.tasks[t].name);
    for (int i = 0; i < r->nheat; i++) {
        const float *g = w->w + ((size_t)t * w->ntags + r->heat[i]) * w->opt.K;
        for (int k = 0; k < w->opt.K; k++) fprintf(f, "%s%.4f", k ? " " : "", g[k]);
        fprintf(f, "\n");
    }
    return close_in(f, dir, name, msg, cap);
}

static int write_scores(const cli_demo_report *r, const char *dir, char *msg, size_t cap) {
    const synth_world *w = r->world;
    const cli_demo_report_tag *tg = &r->tags[0];
    int64_t in[HIST_BINS] = {0}, out[HIST_BINS] = {0};
    for (int64_t u = 0; u < w->opt.nusers; u++) {
        double s = tg->scores[u];
        int b = (int)floor((s - HIST_LO) / (HIST_HI - HIST_LO) * HIST_BINS);
        b = b < 0 ? 0 : b >= HIST_BINS ? HIST_BINS - 1 : b;
        if (synth_world_prefers(w, tg->task, u, w->tag_topic[tg->index])) in[b]++;
        else out[b]++;
    }
    FILE *f = open_in(dir, "scores.dat", msg, cap);
    if (!f) return -1;
    int64_t nin = 0, nout = 0;
    for (int b = 0; b < HIST_BINS; b++) nin += in[b], nout += out[b];
    fprintf(f, "# scores of every user for tag %lld (%s, task %s)\n"
               "# bin_center users_preferring_topic other_users percent_of_preferring percent_of_others\n",
            (long long)w->tag_id[tg->index], w->tag_name[tg->index], w->opt.tasks[tg->task].name);
    for (int b = 0; b < HIST_BINS; b++)
        fprintf(f, "%.4f %lld %lld %.4f %.4f\n", HIST_LO + (b + 0.5) * (HIST_HI - HIST_LO) / HIST_BINS,
                (long long)in[b], (long long)out[b], nin ? 100.0 * in[b] / nin : 0.0,
                nout ? 100.0 * out[b] / nout : 0.0);
    return close_in(f, dir, "scores.dat", msg, cap);
}

static int write_audience(const cli_demo_report *r, const char *dir, char *msg, size_t cap) {
    const synth_world *w = r->world;
    FILE *f = open_in(dir, "audience.dat", msg, cap);
    if (!f) return -1;
    int64_t (*cnt)[CURVE_STEPS + 1] = calloc(r->ntags, sizeof *cnt);
    if (!cnt) {
        fclose(f);
        snprintf(msg, cap, "out of memory");
        return -1;
    }
    for (int i = 0; i < r->ntags; i++) {
        /* a score reaches every grid threshold up to its own bin: a histogram, then suffix sums */
        for (int64_t u = 0; u < w->opt.nusers; u++) {
            double s = r->tags[i].scores[u];
            int top = (int)floor((s - CURVE_LO) / (CURVE_HI - CURVE_LO) * CURVE_STEPS + 1e-9);
            if (top >= 0) cnt[i][top > CURVE_STEPS ? CURVE_STEPS : top]++;
        }
        for (int j = CURVE_STEPS - 1; j >= 0; j--) cnt[i][j] += cnt[i][j + 1];
    }
    fprintf(f, "# threshold, then for each named tag the number of users with score >= threshold\n# threshold");
    for (int i = 0; i < r->ntags; i++)
        fprintf(f, " %s:%lld", w->opt.tasks[r->tags[i].task].name, (long long)w->tag_id[r->tags[i].index]);
    fprintf(f, "\n");
    for (int j = 0; j <= CURVE_STEPS; j++) {
        fprintf(f, "%.4f", CURVE_LO + j * (CURVE_HI - CURVE_LO) / CURVE_STEPS);
        for (int i = 0; i < r->ntags; i++) fprintf(f, " %lld", (long long)cnt[i][j]);
        fprintf(f, "\n");
    }
    free(cnt);
    return close_in(f, dir, "audience.dat", msg, cap);
}

static int write_precision(const cli_demo_report *r, const char *dir, char *msg, size_t cap) {
    FILE *f = open_in(dir, "precision.dat", msg, cap);
    if (!f) return -1;
    fprintf(f, "# task precision_at_%d_of_mvke_tags precision_of_random_tags\n", r->top_m);
    for (int t = 0; t < r->world->opt.ntasks; t++)
        fprintf(f, "%s %.4f %.4f\n", r->world->opt.tasks[t].name, r->precision[t], r->baseline[t]);
    return close_in(f, dir, "precision.dat", msg, cap);
}

static void gp_task_title(FILE *f, const synth_world *w, int t) {
    char buf[512];
    int n = snprintf(buf, sizeof buf, "%s (experts", w->opt.tasks[t].name);
    for (int i = 0; i < w->opt.tasks[t].nexperts && n < (int)sizeof buf - 16; i++)
        n += snprintf(buf + n, sizeof buf - n, "%s%d", i ? "," : " ", w->opt.tasks[t].experts[i]);
    snprintf(buf + n, sizeof buf - n, ")");
    gp_string(f, buf);
}

static int write_script(const cli_demo_report *r, const char *dir, char *msg, size_t cap) {
    const synth_world *w = r->world;
    const int K = w->opt.K, T = w->opt.ntasks;
    FILE *f = open_in(dir, "plots.gp", msg, cap);
    if (!f) return -1;
    fprintf(f, "# The pictures of the MVKE demo report. Redraw with: gnuplot plots.gp\n"
               "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
               "    term_png = 'pngcairo noenhanced font \"Sans,11\"'\n"
               "} else {\n"
               "    term_png = 'png noenhanced'\n"
               "}\n"
               "set encoding utf8\n"
               "set datafile commentschars '#'\n\n");

    /* Gate heatmap: one panel per task, tags down, experts across (the paper's Figure 8). */
    fprintf(f, "# Gate weights of tags x experts\n"
               "eval 'set terminal ' . term_png . ' size %d,%d'\n"
               "set output 'gates.png'\n"
               "set multiplot layout 1,%d title 'Gate weights w[t][k] of %d tags (rows) over the %d experts (columns); "
               "tags sorted by facet' font ',13'\n"
               "set palette defined (0 'white', 0.5 '#6baed6', 1 '#08306b')\n"
               "set cbrange [0:1]\nset xrange [-0.5:%d.5]\nset yrange [%d.5:-0.5]\n"
               "set xtics (",
            360 + 260 * T + 200, 140 + 26 * r->nheat, T, r->nheat, K, K - 1, r->nheat - 1);
    for (int k = 0; k < K; k++) fprintf(f, "%s'e%d' %d", k ? ", " : "", k, k);
    fprintf(f, ") scale 0\nset ytics (");
    for (int i = 0; i < r->nheat; i++) {
        char label[300];
        snprintf(label, sizeof label, "%s [f%d]", short_name(w->tag_name[r->heat[i]]), w->tag_facet[r->heat[i]]);
        if (i) fprintf(f, ", ");
        gp_string(f, label);
        fprintf(f, " %d", i);
    }
    fprintf(f, ") scale 0 font ',9'\nset tics nomirror\nunset key\n");
    for (int t = 0; t < T; t++) {
        double left = 0.30 + 0.58 * t / T, right = 0.30 + 0.58 * (t + 1) / T - 0.02;
        fprintf(f, "set lmargin at screen %.3f\nset rmargin at screen %.3f\n", left, right);
        fprintf(f, "set title ");
        gp_task_title(f, w, t);
        fprintf(f, "\n%s", t ? "unset ytics\n" : "");
        if (t == T - 1)
            fprintf(f, "set colorbox vertical user origin screen 0.90, screen 0.15 size screen 0.015, screen 0.7\n"
                       "set cblabel 'gate weight'\n");
        else fprintf(f, "unset colorbox\n");
        fprintf(f, "plot 'gates_%s.dat' matrix with image, '' matrix using 1:2:(sprintf('%%.2f', $3)) "
                   "with labels font ',8'\n",
                w->opt.tasks[t].name);
    }
    fprintf(f, "unset multiplot\nreset\n\n");

    /* Score histogram of the first named tag. */
    const cli_demo_report_tag *tg = &r->tags[0];
    const char *topic = w->tag_name[tg->index];
    char title[1024];
    fprintf(f, "# Scores of every user for one tag\n"
               "eval 'set terminal ' . term_png . ' size 900,560'\n"
               "set output 'scores.png'\n");
    snprintf(title, sizeof title, "Scores of all %lld users for %s tag \"%s\"", (long long)w->opt.nusers,
             w->opt.tasks[tg->task].name, topic);
    fprintf(f, "set title ");
    gp_string(f, title);
    snprintf(title, sizeof title, "users whose planted %s preferences include %s", w->opt.tasks[tg->task].name,
             w->tag_name[w->tag_topic[tg->index]]);
    fprintf(f, "\nset xlabel 'score s(u,t)'\nset ylabel '%% of the group per bin of %.2f'\n"
               "set style fill transparent solid 0.45 noborder\nset key outside below\n"
               "set arrow from %g, graph 0 to %g, graph 1 nohead dashtype 2 linewidth 2 linecolor rgb '#444444'\n"
               "set label 'threshold %.2f' at %g, graph 0.95 offset 0.5,0\n"
               "plot 'scores.dat' using 1:5 with boxes linecolor rgb '#888888' title 'all other users', \\\n"
               "     '' using 1:4 with boxes linecolor rgb '#D55E00' title ",
            (HIST_HI - HIST_LO) / HIST_BINS, r->threshold, r->threshold, r->threshold, r->threshold);
    gp_string(f, title);
    fprintf(f, "\nreset\n\n");

    /* Audience size against threshold. */
    fprintf(f, "# Audience size against the score threshold\n"
               "eval 'set terminal ' . term_png . ' size 900,560'\n"
               "set output 'audience.png'\n"
               "set title 'Audience size: users with score >= threshold, for the named tags'\n"
               "set xlabel 'score threshold'\nset ylabel 'users (log scale)'\nset logscale y\n"
               "set grid\nset key outside below font ',9'\n"
               "set arrow from %g, graph 0 to %g, graph 1 nohead dashtype 2 linewidth 2 linecolor rgb '#444444'\n"
               "set label 'threshold %.2f' at %g, graph 0.95 offset 0.5,0\n"
               "plot ",
            r->threshold, r->threshold, r->threshold, r->threshold);
    for (int i = 0; i < r->ntags; i++) {
        snprintf(title, sizeof title, "%s: %s", w->opt.tasks[r->tags[i].task].name, w->tag_name[r->tags[i].index]);
        fprintf(f, "%s'audience.dat' using 1:($%d > 0 ? $%d : 1/0) with lines linewidth 2 linecolor rgb '%s' %s title ",
                i ? ", \\\n     " : "", i + 2, i + 2, okabe_ito[i % 7], r->tags[i].task ? "dashtype 2" : "");
        gp_string(f, title);
    }
    fprintf(f, "\nreset\n\n");

    /* Precision at M against the random baseline. */
    fprintf(f, "# Precision at M of each task's top tags against planted preferences\n"
               "eval 'set terminal ' . term_png . ' size 700,480'\n"
               "set output 'precision.png'\n"
               "set title 'Precision at %d: top-%d tags of every user against the planted preferences'\n"
               "set ylabel 'share of top tags in a preferred topic'\nset yrange [0:1.05]\n"
               "set style data histograms\nset style histogram clustered gap 1\n"
               "set style fill solid 0.8 border -1\nset key top right\nset grid ytics\n"
               "plot 'precision.dat' using 2:xtic(1) linecolor rgb '#0072B2' title 'mvke top tags', \\\n"
               "     '' using 3 linecolor rgb '#bbbbbb' title 'tags drawn at random'\n",
            r->top_m, r->top_m);
    return close_in(f, dir, "plots.gp", msg, cap);
}

int cli_demo_report_write(const cli_demo_report *r, const char *dir, char *msg, size_t cap) {
    for (int t = 0; t < r->world->opt.ntasks; t++)
        if (write_gates(r, dir, t, msg, cap)) return -1;
    if (write_scores(r, dir, msg, cap) || write_audience(r, dir, msg, cap) || write_precision(r, dir, msg, cap) ||
        write_script(r, dir, msg, cap))
        return -1;
    char why[512] = "";
    int pictures = bench_gnuplot(dir, "plots.gp", why, sizeof why) == 0;
    if (cli_demo_report_page_write(r, dir, pictures, msg, cap)) return -1;
    if (!pictures) {
        snprintf(msg, cap, "%s", why);
        return 1;
    }
    return 0;
}
