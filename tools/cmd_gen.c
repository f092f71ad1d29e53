/*
 * cmd_gen.c - `mvke gen`: writes a synthetic MVKE world (world.h) as the files a model export
 * would give: users.npy, user_ids.npy, tags.tsv, tag_emb.npy, gates.npy, vk.npy, and the planted
 * truth planted_<task>.npy. Prints what it wrote and the `mvke build` line that indexes it.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "args.h"
#include "cli.h"
#include "support/options.h"
#include "support/world.h"

/* --task: the first one replaces the default tasks, the others add to it. */
typedef struct gen_tasks {
    synth_world_options *o;
    int given;
} gen_tasks;

static int add_task(const char *v, void *dst, char *msg, size_t cap) {
    gen_tasks *g = dst;
    if (!g->given++) g->o->ntasks = 0;
    if (g->o->ntasks >= SYNTH_WORLD_MAX_TASKS) {
        snprintf(msg, cap, "at most %d tasks", SYNTH_WORLD_MAX_TASKS);
        return -1;
    }
    if (cli_world_task(v, &g->o->tasks[g->o->ntasks], msg, cap)) return -1;
    g->o->ntasks++;
    return 0;
}

static int set_levels(const char *v, void *dst, char *msg, size_t cap) { return cli_world_levels(v, dst, msg, cap); }

int cli_cmd_gen(int argc, char **argv) {
    synth_world_options o;
    synth_world_options_init(&o);
    const char *out = "mvke-world";
    long long nusers = o.nusers, seed = (long long)o.seed, K = o.K, d = o.d;
    gen_tasks tasks = {&o, 0};
    const char *score_s = NULL;
    char msg[512];
    const cli_option options[] = {
        {.name = "--out", .metavar = "DIR", .help = "output folder, created if missing (default ./mvke-world)",
         .kind = CLI_STRING, .dst = &out},
        {.name = "--users", .metavar = "N", .help = "users (default 200000)", .kind = CLI_INT, .dst = &nusers,
         .min = 0, .max = 1e18},
        {.name = "--seed", .metavar = "S", .help = "random seed (default 42); the same options give the same files",
         .kind = CLI_INT, .dst = &seed, .min = 0, .max = 1e18},
        {.name = "--K", .metavar = "K", .help = "experts (default 5)", .kind = CLI_INT, .dst = &K, .min = 1,
         .max = MVKE_MAX_K},
        {.name = "--d", .metavar = "D", .help = "their dimension (default 30)", .kind = CLI_INT, .dst = &d,
         .min = 1, .max = MVKE_MAX_D},
        {.name = "--levels", .metavar = "LIST", .help = "tags per taxonomy level (default 18,216,942,610)",
         .kind = CLI_CUSTOM, .dst = &o, .parse = set_levels},
        {.name = "--task", .metavar = "NAME=SPEC",
         .help = "a task and its experts, FIRST-LAST or i,j,k; repeat for each task\n"
         "(default interest=0-2 and intention=1-4); each task's preferences are\n"
         "a sparser subset of the previous task's", .kind = CLI_CUSTOM, .dst = &tasks, .repeat = 1, .parse = add_task},
        {.name = "--temperature", .metavar = "T", .help = "softmax temperature of the gates (default 1)",
         .kind = CLI_FLOAT, .dst = &o.temperature, .min = -INFINITY, .max = INFINITY},
        {.name = "--noise", .metavar = "X", .help = "length of the noise in each user expert (default 2)",
         .kind = CLI_FLOAT, .dst = &o.user_noise, .min = -INFINITY, .max = INFINITY},
        {.name = "--funnel", .metavar = "P",
         .help = "chance that a preference carries on to the next task (default 0.4)", .kind = CLI_FLOAT,
         .dst = &o.funnel, .min = -INFINITY, .max = INFINITY},
        {.name = "--score", .metavar = "cosine|dot",
         .help = "the score the world is planted for (default cosine; dot: tag embeddings of length 1\n"
         "and users scaled so that planted pairs have confident dot products, docs/demo.md)",
         .kind = CLI_STRING, .dst = &score_s},
    };
    const cli_spec spec = {"mvke gen",
                           "Writes a synthetic MVKE world with planted structure (docs/demo.md) as a model export:\n"
                           "  users.npy (n, K, d) float32, user_ids.npy (n,) int64, tags.tsv (tag_id task name parent_id,\n"
                           "  one row per tag and task), tag_emb.npy (rows, d) float32, gates.npy (rows, K) float32,\n"
                           "  vk.npy (K, d) float32, and the planted truth planted_<task>.npy (n, max prefs) int64\n"
                           "  (level-1 tag ids each user prefers, -1 padded).\n",
                           NULL, options, CLI_NOPTIONS(options)};
    int rc;
    if (!cli_parse(&spec, argc, argv, &rc)) return rc;
    mvke_score score = MVKE_SCORE_COSINE;
    if (score_s && mvke_score_from_name(score_s, &score) != MVKE_OK)
        return cli_usage_error(&spec, "--score %s: %s", score_s, mvke_last_error());
    synth_world_options_for_score(&o, score);
    o.nusers = nusers;
    o.seed = (uint64_t)seed;
    o.K = (int)K;
    o.d = (int)d;
    /* a small taxonomy caps how many topics a user can prefer */
    if (o.prefs_max > o.level_counts[0]) o.prefs_max = (int)o.level_counts[0];
    if (o.prefs_min > o.prefs_max) o.prefs_min = o.prefs_max;
    if (synth_world_options_check(&o, msg, sizeof msg)) return cli_usage_error(&spec, "%s", msg);
    if (mkdir(out, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "mvke gen: cannot create %s: %s\n", out, strerror(errno));
        return CLI_EXIT_IO;
    }
    fprintf(stderr, "gen: generating %lld users, K = %d, d = %d (seed %llu)\n", (long long)o.nusers, o.K, o.d,
            (unsigned long long)o.seed);
    synth_world *w = NULL;
    mvke_status st = synth_world_new(&w, &o, msg, sizeof msg);
    if (st != MVKE_OK) {
        fprintf(stderr, "mvke gen: generating the world: %s\n", msg);
        return cli_exit_code(st);
    }
    st = synth_world_save(w, out, msg, sizeof msg);
    if (st != MVKE_OK) {
        fprintf(stderr, "mvke gen: %s\n", msg);
        synth_world_free(w);
        return cli_exit_code(st);
    }
    printf("wrote %s/: users.npy (%lld, %d, %d), user_ids.npy (%lld,), tags.tsv (%lld rows), tag_emb.npy (%lld, %d), "
           "gates.npy (%lld, %d), vk.npy (%d, %d)",
           out, (long long)o.nusers, o.K, o.d, (long long)o.nusers, (long long)(w->ntags * o.ntasks),
           (long long)(w->ntags * o.ntasks), o.d, (long long)(w->ntags * o.ntasks), o.K, o.K, o.d);
    for (int t = 0; t < o.ntasks; t++) printf(", planted_%s.npy", o.tasks[t].name);
    printf("\nindex it with:\n  mvke build -o %s/index.mvke --experts %s/users.npy --ids %s/user_ids.npy --tags %s/tags.tsv "
           "--tag-emb %s/tag_emb.npy --gates %s/gates.npy",
           out, out, out, out, out, out);
    for (int t = 0; t < o.ntasks; t++) {
        printf(" --task %s=", o.tasks[t].name);
        for (int i = 0; i < o.tasks[t].nexperts; i++) printf("%s%d", i ? "," : "", o.tasks[t].experts[i]);
    }
    printf("%s\n", score == MVKE_SCORE_DOT ? " --score dot" : "");
    synth_world_free(w);
    return CLI_EXIT_OK;
}
