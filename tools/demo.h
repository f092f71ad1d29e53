/*
 * demo.h - what the sections of `mvke demo` share: the demo's state (options, world, index, tag
 * table, what earlier sections found for the report), and the console helpers. Each section is
 * one file: demo_audience.c (1. audiences of named tags), demo_users.c (2. top tags of a few
 * users), demo_tagging.c (3. batch tagging and precision), demo_naive.c (4. against the naive
 * method), demo_index_file.c (5. the index file); cmd_demo.c runs them and writes the report.
 */
#ifndef MVKE_TOOLS_DEMO_H
#define MVKE_TOOLS_DEMO_H

#include <stdint.h>
#include <stdio.h>

#include "mvke/mvke.h"
#include "support/world.h"

#define NAMED_PER_TASK 3
#define SHOW_USERS 3
#define SHOW_TOP 5
#define AUDIENCE_SHOW 5
#define NAIVE_K 100
#define BLOCK 4096
#define BATCH_TAGS 256

typedef struct cli_demo {
    long long nusers, seed, top_m, threads, K, d;
    float threshold;
    mvke_score score; /* --score */
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
} cli_demo;

/* Prints a result line on stdout and keeps a copy for the report page. */
void cli_demo_say(cli_demo *dm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "1234567" -> "1,234,567" in buf (32 bytes). */
const char *cli_demo_grouped(long long v, char *buf);

/* Creates a folder (an existing one is fine). Returns 0, or -1 after printing why. */
int cli_demo_make_dir(const char *path);

/* The name of task t; the name of a level-1 topic. */
const char *cli_demo_task(const cli_demo *dm, int t);
const char *cli_demo_topic(const cli_demo *dm, int topic);

/* The planted preferences of user u in task t as "Travel, Pets". */
void cli_demo_prefs(const cli_demo *dm, int t, int64_t u, char *buf, size_t cap);

/* Picks the named tags of each task into dm->named. */
void cli_demo_pick_named(cli_demo *dm);

/* The sections, in the order they run; each prints its results and returns an exit status. */
int cli_demo_audiences(cli_demo *dm);
int cli_demo_users(cli_demo *dm);
int cli_demo_tagging(cli_demo *dm);
int cli_demo_naive(cli_demo *dm);
int cli_demo_index_file(cli_demo *dm);

#endif
