/*
 * cmd_demo.c - `mvke demo`: what the system does, on a synthetic MVKE world it makes itself
 * (world.h). It builds the user index and the tag table through the library's API and shows, on
 * stdout: the audience of a few named tags per task, the top tags of a few users next to their
 * planted preferences, a batch tagging of every user with its speed, how well the tags recover
 * the planted preferences against a random baseline, and a timing against the naive method.
 * It writes the world's files, an index file (reopened and checked), and a report folder with
 * pictures (report.h). Progress and notes go to stderr.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/clock.h"
#include "cli.h"
#include "demo.h"
#include "support/options.h"
#include "demo_report.h"
#include "support/world.h"

/* ---- 6. the report ------------------------------------------------------------------------- */

static int write_report(cli_demo *dm) {
    const synth_world *w = dm->w;
    cli_demo_report r;
    memset(&r, 0, sizeof r);
    r.world = w;
    r.threshold = dm->threshold;
    r.dot = dm->score == MVKE_SCORE_DOT;
    r.lo = -0.6;
    r.hi = 1.0;
    if (r.dot) { /* the scores' own range over the named tags, a little wider */
        float lo = INFINITY, hi = -INFINITY;
        for (int t = 0; t < w->opt.ntasks; t++)
            for (int s = 0; s < NAMED_PER_TASK; s++)
                for (int64_t u = 0; dm->scores[t][s] && u < w->opt.nusers; u++) {
                    lo = dm->scores[t][s][u] < lo ? dm->scores[t][s][u] : lo;
                    hi = dm->scores[t][s][u] > hi ? dm->scores[t][s][u] : hi;
                }
        r.lo = floor(lo * 4.0) / 4.0;
        r.hi = ceil(hi * 4.0) / 4.0;
    }
    r.top_m = (int)dm->top_m;
    for (int t = 0; t < w->opt.ntasks && r.ntags < CLI_DEMO_REPORT_MAX_TAGS; t++)
        for (int s = 0; s < NAMED_PER_TASK && r.ntags < CLI_DEMO_REPORT_MAX_TAGS; s++) {
            cli_demo_report_tag *rt = &r.tags[r.ntags++];
            rt->task = t;
            rt->index = dm->named[t][s];
            rt->scores = dm->scores[t][s];
            rt->above = dm->above[t][s];
        }
    /* heatmap rows: up to 4 tags of each facet, from the second level when there is one, by facet */
    int per = CLI_DEMO_REPORT_MAX_HEAT / w->opt.K < 4 ? CLI_DEMO_REPORT_MAX_HEAT / w->opt.K : 4;
    if (per < 1) per = 1;
    int64_t from = w->opt.nlevels > 1 ? w->opt.level_counts[0] : 0;
    for (int f = 0; f < w->opt.K && r.nheat < CLI_DEMO_REPORT_MAX_HEAT; f++) {
        int got = 0;
        for (int64_t i = from; i < w->ntags && got < per && r.nheat < CLI_DEMO_REPORT_MAX_HEAT; i += 7)
            if (w->tag_facet[i] == f) {
                r.heat[r.nheat++] = i;
                got++;
            }
    }
    for (int t = 0; t < w->opt.ntasks; t++) {
        r.precision[t] = dm->precision[t];
        r.baseline[t] = dm->baseline[t];
    }
    cli_demo_say(dm, "\n== Report ==\n%s/report.html  (pictures: gates.png, scores.png, audience.png, precision.png)\n", dm->out);
    if (dm->console) {
        fflush(dm->console);
        r.console = dm->console_buf;
    }
    char msg[1024];
    int rc = cli_demo_report_write(&r, dm->out, msg, sizeof msg);
    if (rc < 0) {
        fprintf(stderr, "mvke demo: writing the report: %s\n", msg);
        return CLI_EXIT_IO;
    }
    if (rc > 0) fprintf(stderr, "mvke demo: note: the report has no pictures: %s\n", msg);
    return CLI_EXIT_OK;
}

/* ---- the command --------------------------------------------------------------------------- */

static int run(cli_demo *dm, const cli_spec *spec) {
    synth_world_options o;
    synth_world_options_init(&o);
    o.nusers = dm->nusers;
    o.seed = (uint64_t)dm->seed;
    o.K = (int)dm->K;
    o.d = (int)dm->d;
    synth_world_options_for_score(&o, dm->score);
    /* The tasks keep their shape for any K: interest on the first 3/5 of the experts (0-2 of 5),
     * intention on the last 4/5 (1-4 of 5). */
    o.tasks[0].nexperts = (3 * o.K + 4) / 5;
    o.tasks[1].nexperts = (4 * o.K + 4) / 5;
    for (int i = 0; i < o.tasks[0].nexperts; i++) o.tasks[0].experts[i] = i;
    for (int i = 0; i < o.tasks[1].nexperts; i++) o.tasks[1].experts[i] = o.K - o.tasks[1].nexperts + i;
    char msg[1024], b1[32], b2[32];
    if (synth_world_options_check(&o, msg, sizeof msg)) return cli_usage_error(spec, "%s", msg);
    if (cli_demo_make_dir(dm->out)) return CLI_EXIT_IO;

    double t0 = bench_now();
    fprintf(stderr, "demo: generating a world of %lld users (seed %lld)\n", dm->nusers, dm->seed);
    mvke_status st = synth_world_new(&dm->w, &o, msg, sizeof msg);
    if (st != MVKE_OK) {
        fprintf(stderr, "mvke demo: generating the world: %s\n", msg);
        return cli_exit_code(st);
    }
    const synth_world *w = dm->w;
    double t_gen = bench_now() - t0;
    if (dm->files) {
        snprintf(msg, sizeof msg, "%s/world", dm->out);
        if (cli_demo_make_dir(msg)) return CLI_EXIT_IO;
        char path[1100];
        snprintf(path, sizeof path, "%s", msg);
        fprintf(stderr, "demo: writing the world's files to %s\n", path);
        if ((st = synth_world_save(w, path, msg, sizeof msg)) != MVKE_OK) {
            fprintf(stderr, "mvke demo: writing the world: %s\n", msg);
            return cli_exit_code(st);
        }
    }
    t0 = bench_now();
    mvke_index_options io;
    mvke_index_options_init(&io);
    io.threads = (int)dm->threads;
    io.score = dm->score;
    if ((st = synth_world_users(w, &io, &dm->users)) != MVKE_OK) return cli_fail("demo", st, "adding the users");
    if ((st = synth_world_tags(w, &io, &dm->tags)) != MVKE_OK) return cli_fail("demo", st, "adding the tags");
    double t_build = bench_now() - t0;
    cli_demo_pick_named(dm);

    cli_demo_say(dm, "MVKE demo: a synthetic world (seed %lld) of %s users, K = %d experts of d = %d, %s tags in %d levels (",
        dm->seed, cli_demo_grouped(o.nusers, b1), o.K, o.d, cli_demo_grouped(w->ntags, b2), o.nlevels);
    for (int l = 0; l < o.nlevels; l++) cli_demo_say(dm, "%s%lld", l ? "/" : "", (long long)o.level_counts[l]);
    cli_demo_say(dm, "), tasks");
    for (int t = 0; t < o.ntasks; t++) {
        cli_demo_say(dm, "%s %s (experts", t ? "," : "", o.tasks[t].name);
        for (int i = 0; i < o.tasks[t].nexperts; i++) cli_demo_say(dm, "%s%d", i ? "," : " ", o.tasks[t].experts[i]);
        cli_demo_say(dm, ")");
    }
    cli_demo_say(dm, ", gates from virtual kernels.\nGenerated in %.2f s; index and tag table built in %.2f s.\n", t_gen,
        t_build);

    int rc;
    if ((rc = cli_demo_audiences(dm)) || (rc = cli_demo_users(dm)) || (rc = cli_demo_tagging(dm)) || (rc = cli_demo_naive(dm)))
        return rc;
    if (dm->files) {
        if ((rc = cli_demo_index_file(dm))) return rc;
    } else {
        fprintf(stderr, "demo: --no-files: no world files and no index file written\n");
    }
    return write_report(dm);
}

int cli_cmd_demo(int argc, char **argv) {
    cli_demo dm;
    memset(&dm, 0, sizeof dm);
    dm.nusers = 200000;
    dm.seed = 42;
    dm.top_m = 10;
    dm.K = 5;
    dm.d = 30;
    dm.out = "mvke-demo-report";
    int no_files = 0;
    const char *score_s = NULL;
    dm.threshold = NAN;
    const cli_option options[] = {
        {.name = "--users", .metavar = "N", .help = "number of users (default 200000)", .kind = CLI_INT,
         .dst = &dm.nusers, .min = 1, .max = 1e18},
        {.name = "--out", .metavar = "DIR", .help = "report folder (default ./mvke-demo-report)",
         .kind = CLI_STRING, .dst = &dm.out},
        {.name = "--seed", .metavar = "S", .help = "random seed (default 42)", .kind = CLI_INT, .dst = &dm.seed,
         .min = 0, .max = 1e18},
        {.name = "--K", .metavar = "K",
         .help = "experts per user (default 5; interest uses the first 3/5, intention the last 4/5)", .kind = CLI_INT, .dst = &dm.K, .min = 1, .max = MVKE_MAX_K},
        {.name = "--d", .metavar = "D", .help = "dimension of each expert (default 30)", .kind = CLI_INT,
         .dst = &dm.d, .min = 1, .max = MVKE_MAX_D},
        {.name = "--top", .metavar = "M", .help = "tags per user and task in the batch tagging (default 10)",
         .kind = CLI_INT, .dst = &dm.top_m, .min = 1, .max = 1e18},
        {.name = "--threshold", .metavar = "S", .help = "audience score threshold (default 0.5 for the cosine, 3 for dot)",
         .kind = CLI_FLOAT, .dst = &dm.threshold, .min = -INFINITY, .max = INFINITY},
        {.name = "--score", .metavar = "cosine|dot", .help = "the score of the index (default cosine; docs/scores.md)",
         .kind = CLI_STRING, .dst = &score_s},
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
    if (score_s && mvke_score_from_name(score_s, &dm.score) != MVKE_OK)
        return cli_usage_error(&spec, "--score %s: %s", score_s, mvke_last_error());
    if (isnan(dm.threshold)) dm.threshold = dm.score == MVKE_SCORE_DOT ? 3.0f : 0.5f;
    else if (dm.score == MVKE_SCORE_COSINE && !(dm.threshold >= -1.0f && dm.threshold <= 1.0f))
        return cli_usage_error(&spec, "--threshold %g: a cosine threshold lies in [-1, 1]", (double)dm.threshold);
    double t0 = bench_now();
    dm.console = open_memstream(&dm.console_buf, &dm.console_len);
    rc = run(&dm, &spec);
    if (rc == CLI_EXIT_OK) fprintf(stderr, "demo: done in %.1f s\n", bench_now() - t0);
    for (int t = 0; t < SYNTH_WORLD_MAX_TASKS; t++)
        for (int s = 0; s < NAMED_PER_TASK; s++) free(dm.scores[t][s]);
    mvke_tags_free(dm.tags);
    mvke_index_free(dm.users);
    synth_world_free(dm.w);
    if (dm.console) fclose(dm.console);
    free(dm.console_buf);
    return rc;
}
