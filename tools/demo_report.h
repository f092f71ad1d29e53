/*
 * report.h - the report folder of `mvke demo`: data files, a gnuplot script, the pictures it
 * draws and a one-page report.html that links them. The demo fills an cli_demo_report with what it
 * measured; cli_demo_report_write turns it into files.
 */
#ifndef MVKE_TOOLS_REPORT_H
#define MVKE_TOOLS_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "support/world.h"

#define CLI_DEMO_REPORT_MAX_TAGS 8
#define CLI_DEMO_REPORT_MAX_HEAT 64

/* A named tag whose audience the report draws. */
typedef struct cli_demo_report_tag {
    int task;               /* index into the world's tasks */
    int64_t index;          /* tag index in the world */
    const float *scores;    /* nusers: every user's score for the tag, by user index */
    int64_t above;          /* users with score >= threshold, as the library counted them */
} cli_demo_report_tag;

typedef struct cli_demo_report {
    const synth_world *world;
    float threshold;        /* the audience threshold the demo used */
    double lo, hi;          /* the score axis of the pictures: [-0.6, 1] for cosines, the scores' own
                               range for dot products */
    int dot;                /* the scores are dot products (mvke_score) */
    int top_m;              /* M of the precision at M */
    int ntags;              /* named tags; tags[0] gets the score histogram */
    cli_demo_report_tag tags[CLI_DEMO_REPORT_MAX_TAGS];
    int nheat;              /* tags of the gate heatmap, by tag index, in drawing order */
    int64_t heat[CLI_DEMO_REPORT_MAX_HEAT];
    double precision[SYNTH_WORLD_MAX_TASKS]; /* precision at top_m per task */
    double baseline[SYNTH_WORLD_MAX_TASKS];  /* the same for tags drawn at random */
    const char *console;    /* what the demo printed on stdout, shown on the page (may be NULL) */
} cli_demo_report;

/* Writes into dir (which must exist): gates_<task>.dat, scores.dat, audience.dat,
 * precision.dat, plots.gp, report.html, and runs gnuplot on plots.gp there to draw gates.png,
 * scores.png, audience.png and precision.png. Returns 0; 1 when everything but the pictures was
 * written (gnuplot missing or failed; the reason in msg); -1 on an I/O error (reason in msg). */
int cli_demo_report_write(const cli_demo_report *r, const char *dir, char *msg, size_t cap);

#endif
