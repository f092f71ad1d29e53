/*
 * report_page.c - report.html, the one page of the demo's report: what the world is, the
 * pictures with captions that say what to see in them, and the demo's console output.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "demo_report.h"

int cli_demo_report_page_write(const cli_demo_report *r, const char *dir, int pictures, char *msg, size_t cap);

static void html(FILE *f, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void experts(FILE *f, const synth_world_task *t) {
    for (int i = 0; i < t->nexperts; i++) fprintf(f, "%s%d", i ? "," : "", t->experts[i]);
}

static void figure(FILE *f, int pictures, const char *png, const char *dat, const char *caption) {
    fprintf(f, "<figure>\n");
    if (pictures) fprintf(f, "<a href=\"%s\"><img src=\"%s\" alt=\"%s\"></a>\n", png, png, png);
    else fprintf(f, "<p><em>(picture not drawn: gnuplot was not available; the data is in %s)</em></p>\n", dat);
    fprintf(f, "<figcaption>%s Data: <a href=\"%s\">%s</a>.</figcaption>\n</figure>\n", caption, dat, dat);
}

int cli_demo_report_page_write(const cli_demo_report *r, const char *dir, int pictures, char *msg, size_t cap) {
    const synth_world *w = r->world;
    const synth_world_options *o = &w->opt;
    char path[4096];
    snprintf(path, sizeof path, "%s/report.html", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(msg, cap, "%s: cannot create: %s", path, strerror(errno));
        return -1;
    }
    fprintf(f, "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<title>MVKE demo report</title>\n<style>\n"
               "body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }\n"
               "figure { margin: 2em 0; } img { max-width: 100%%; border: 1px solid #ddd; }\n"
               "figcaption { margin-top: .5em; } table { border-collapse: collapse; }\n"
               "td, th { border: 1px solid #ccc; padding: .2em .6em; text-align: right; }\n"
               "pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 85%%; }\n"
               "</style>\n</head>\n<body>\n<h1>MVKE demo report</h1>\n");

    fprintf(f, "<p>A synthetic MVKE world made by <code>mvke demo</code> (seed %llu): %lld users, each described by "
               "K = %d expert vectors of dimension d = %d; %lld tags in a %d-level taxonomy (",
            (unsigned long long)o->seed, (long long)o->nusers, o->K, o->d, (long long)w->ntags, o->nlevels);
    for (int l = 0; l < o->nlevels; l++) fprintf(f, "%s%lld", l ? " / " : "", (long long)o->level_counts[l]);
    fprintf(f, " per level); tasks ");
    for (int t = 0; t < o->ntasks; t++) {
        fprintf(f, "%s<code>", t ? (t == o->ntasks - 1 ? " and " : ", ") : "");
        html(f, o->tasks[t].name);
        fprintf(f, "</code> on experts ");
        experts(f, &o->tasks[t]);
    }
    fprintf(f, "; gates computed from virtual kernels. The structure planted in it: each user prefers a few "
               "level-1 topics, each expert carries one facet, a tag's gate favours the expert of its facet, "
               "and each task's preferences are a sparser subset of the previous task's. The score of user u "
               "for tag t is the %s of sum<sub>k</sub> w[t][k] e[u][k] and q[t], computed without "
               "materialising that sum (see README.md)%s.</p>\n",
            r->dot ? "inner product" : "cosine",
            r->dot ? "; for the dot score every tag embedding has length 1 and the users are scaled so that a planted "
                     "preference scores a confident logit (docs/demo.md)" : "");

    fprintf(f, "<h2>Precision at %d</h2>\n<table>\n<tr><th>task</th><th>mvke top-%d tags</th>"
               "<th>tags drawn at random</th><th>ratio</th></tr>\n",
            r->top_m, r->top_m);
    for (int t = 0; t < o->ntasks; t++) {
        fprintf(f, "<tr><td>");
        html(f, o->tasks[t].name);
        fprintf(f, "</td><td>%.3f</td><td>%.3f</td><td>%.1fx</td></tr>\n", r->precision[t], r->baseline[t],
                r->baseline[t] > 0 ? r->precision[t] / r->baseline[t] : 0.0);
    }
    fprintf(f, "</table>\n<p>The share of each user's top-%d tags (per task) whose level-1 topic the user was "
               "generated to prefer in that task, against the same share for %d tags drawn at random.</p>\n",
            r->top_m, r->top_m);

    fprintf(f, "<h2>Pictures</h2>\n");
    figure(f, pictures, "gates.png", "gates_*.dat",
           "<b>Gate weights of tags &times; experts</b> (as in the paper's Figure 8). Each row is a tag, "
           "labelled with the end of its name and its facet [f<i>k</i>]; rows are sorted by facet. In most rows the "
           "weight concentrates on the expert of the tag's facet when the task uses that expert, and spreads over "
           "the task's experts otherwise; experts outside a task's subset have weight exactly 0.");
    {
        char cap2[2048];
        const cli_demo_report_tag *tg = &r->tags[0];
        snprintf(cap2, sizeof cap2,
                 "<b>Score distribution of a tag's audience.</b> The scores of all users for the %s tag "
                 "&ldquo;%s&rdquo;, split into users whose planted preferences include its topic "
                 "&ldquo;%s&rdquo; (orange) and everyone else (grey), each as a share of its group. The users who "
                 "prefer the topic score clearly higher; the dashed line is the threshold %.2f, above which "
                 "%lld users form the audience.",
                 o->tasks[tg->task].name, w->tag_name[tg->index], w->tag_name[w->tag_topic[tg->index]],
                 r->threshold, (long long)tg->above);
        figure(f, pictures, "scores.png", "scores.dat", cap2);
    }
    figure(f, pictures, "audience.png", "audience.dat",
           "<b>Audience size against the score threshold</b> for each named tag (solid: first task, dashed: "
           "others), on a log scale: how many users a campaign reaches when it asks for every user with "
           "score at least the threshold. Audiences shrink steadily as the threshold rises, and tags whose topic "
           "many users prefer keep larger audiences; the dashed vertical line is the threshold used in the demo.");
    figure(f, pictures, "precision.png", "precision.dat",
           "<b>Precision at M</b> of every user's top tags against the planted preferences (blue), and of "
           "tags drawn at random (grey).");

    if (r->console) {
        fprintf(f, "<h2>Console output</h2>\n<pre>");
        html(f, r->console);
        fprintf(f, "</pre>\n");
    }
    fprintf(f, "<h2>Files</h2>\n<p><code>world/</code>: the generated model export (users.npy, user_ids.npy, "
               "tags.tsv, tag_emb.npy, gates.npy, vk.npy) and the planted truth (planted_&lt;task&gt;.npy), "
               "when written; <code>index.mvke</code>: the index file built from it, when written; "
               "<code>plots.gp</code>: the gnuplot script that draws the pictures from the .dat files "
               "(<code>gnuplot plots.gp</code> in this folder redraws them).</p>\n</body>\n</html>\n");
    if (ferror(f) | fclose(f)) {
        snprintf(msg, cap, "%s: write failed: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
