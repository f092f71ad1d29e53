/*
 * cmd_gen.c - `mvke gen`: writes a synthetic MVKE world (world.h) as the files a model export
 * would give: users.npy, user_ids.npy, tags.tsv, tag_emb.npy, gates.npy, vk.npy, and the planted
 * truth planted_<task>.npy. Prints what it wrote and the `mvke build` line that indexes it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "args.h"
#include "cli.h"
#include "synth/world.h"

static const char *USAGE = "mvke gen [--out DIR] [--users N] [--seed S] [--K K] [--d D] [--levels N1,N2,...] "
                           "[--task NAME=SPEC ...] [--temperature T] [--noise X] [--funnel P]";

static void help(void) {
    printf("usage: %s\n\n"
           "Writes a synthetic MVKE world with planted structure (docs/demo.md) as a model export:\n"
           "  users.npy (n, K, d) float32, user_ids.npy (n,) int64, tags.tsv (tag_id task name parent_id,\n"
           "  one row per tag and task), tag_emb.npy (rows, d) float32, gates.npy (rows, K) float32,\n"
           "  vk.npy (K, d) float32, and the planted truth planted_<task>.npy (n, max prefs) int64\n"
           "  (level-1 tag ids each user prefers, -1 padded).\n\n"
           "  --out DIR         output folder, created if missing (default ./mvke-world)\n"
           "  --users N         users (default 200000)\n"
           "  --seed S          random seed (default 42); the same options give the same files\n"
           "  --K K, --d D      experts and their dimension (default 5 and 30)\n"
           "  --levels LIST     tags per taxonomy level (default 18,216,942,610)\n"
           "  --task NAME=SPEC  a task and its experts, FIRST-LAST or i,j,k; repeat for each task\n"
           "                    (default interest=0-2 and intention=1-4); each task's preferences are\n"
           "                    a sparser subset of the previous task's\n"
           "  --temperature T   softmax temperature of the gates (default 1)\n"
           "  --noise X         length of the noise in each user expert (default 2)\n"
           "  --funnel P        chance that a preference carries on to the next task (default 0.4)\n",
           USAGE);
}

int mvke_cmd_gen(int argc, char **argv) {
    synth_world_options o;
    synth_world_options_init(&o);
    const char *out = "mvke-world";
    int tasks_given = 0;
    char msg[512];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            help();
            return MVKE_EXIT_OK;
        }
        if (i + 1 >= argc) return mvke_cli_usage("gen", USAGE, "%s needs a value", a);
        const char *v = argv[++i];
        long long n;
        float f;
        if (!strcmp(a, "--out")) {
            out = v;
        } else if (!strcmp(a, "--users") || !strcmp(a, "--seed") || !strcmp(a, "--K") || !strcmp(a, "--d")) {
            if (mvke_cli_parse_i64(v, &n) != 0 || n < 0) return mvke_cli_usage("gen", USAGE, "%s needs an integer >= 0, not '%s'", a, v);
            if (!strcmp(a, "--users")) o.nusers = n;
            else if (!strcmp(a, "--seed")) o.seed = (uint64_t)n;
            else if (n > 65536) return mvke_cli_usage("gen", USAGE, "%s %s is too large", a, v);
            else if (!strcmp(a, "--K")) o.K = (int)n;
            else o.d = (int)n;
        } else if (!strcmp(a, "--levels")) {
            if (cli_world_levels(v, &o, msg, sizeof msg)) return mvke_cli_usage("gen", USAGE, "%s", msg);
        } else if (!strcmp(a, "--task")) {
            if (!tasks_given) o.ntasks = 0;
            tasks_given = 1;
            if (o.ntasks >= SYNTH_WORLD_MAX_TASKS) return mvke_cli_usage("gen", USAGE, "at most %d tasks", SYNTH_WORLD_MAX_TASKS);
            if (cli_world_task(v, &o.tasks[o.ntasks], msg, sizeof msg)) return mvke_cli_usage("gen", USAGE, "%s", msg);
            o.ntasks++;
        } else if (!strcmp(a, "--temperature") || !strcmp(a, "--noise") || !strcmp(a, "--funnel")) {
            if (mvke_cli_parse_float(v, &f) != 0) return mvke_cli_usage("gen", USAGE, "%s needs a number, not '%s'", a, v);
            if (!strcmp(a, "--temperature")) o.temperature = f;
            else if (!strcmp(a, "--noise")) o.user_noise = f;
            else o.funnel = f;
        } else {
            return mvke_cli_usage("gen", USAGE, "unknown option '%s'", a);
        }
    }
    /* a small taxonomy caps how many topics a user can prefer */
    if (o.prefs_max > o.level_counts[0]) o.prefs_max = (int)o.level_counts[0];
    if (o.prefs_min > o.prefs_max) o.prefs_min = o.prefs_max;
    if (synth_world_options_check(&o, msg, sizeof msg)) return mvke_cli_usage("gen", USAGE, "%s", msg);
    if (mkdir(out, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "mvke gen: cannot create %s: %s\n", out, strerror(errno));
        return MVKE_EXIT_IO;
    }
    fprintf(stderr, "gen: generating %lld users, K = %d, d = %d (seed %llu)\n", (long long)o.nusers, o.K, o.d,
            (unsigned long long)o.seed);
    synth_world *w = NULL;
    mvke_status st = synth_world_new(&w, &o, msg, sizeof msg);
    if (st != MVKE_OK) {
        fprintf(stderr, "mvke gen: generating the world: %s\n", msg);
        return mvke_cli_exit_code(st);
    }
    st = synth_world_save(w, out, msg, sizeof msg);
    if (st != MVKE_OK) {
        fprintf(stderr, "mvke gen: %s\n", msg);
        synth_world_free(w);
        return mvke_cli_exit_code(st);
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
    printf("\n");
    synth_world_free(w);
    return MVKE_EXIT_OK;
}
