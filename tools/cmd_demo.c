/*
 * cmd_demo.c - `mvke demo`: a small end-to-end run on random data. Builds an index of random
 * users and a tag table with two tasks whose gates come from virtual kernels, then prints the
 * audience of one tag and one user's top tags for each task.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char *USAGE = "mvke demo [--users N] [--tags T] [--seed S]";

static uint64_t rng_state;

static double rng_uniform(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return ((z >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static float rng_normal(void) {
    return (float)(sqrt(-2.0 * log(rng_uniform())) * cos(6.283185307179586 * rng_uniform()));
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int mvke_cmd_demo(int argc, char **argv) {
    long long nusers = 100000, ntags = 200, seed = 42;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("usage: %s\n\nBuilds a random index (K = 5 experts of d = 30) and a tag table with the\n"
                   "tasks 'interest' (experts 0-2) and 'intention' (experts 1-4), gates from random\n"
                   "virtual kernels, then prints one tag's audience and one user's top tags.\n"
                   "  --users N   number of users (default 100000)\n"
                   "  --tags T    tags per task (default 200)\n"
                   "  --seed S    random seed (default 42)\n", USAGE);
            return MVKE_EXIT_OK;
        }
        long long *dst = !strcmp(a, "--users") ? &nusers : !strcmp(a, "--tags") ? &ntags : !strcmp(a, "--seed") ? &seed : NULL;
        if (!dst) return mvke_cli_usage("demo", USAGE, "unknown option '%s'", a);
        if (i + 1 >= argc || mvke_cli_parse_i64(argv[i + 1], dst) != 0)
            return mvke_cli_usage("demo", USAGE, "%s needs an integer", a);
        i++;
    }
    if (nusers < 1 || ntags < 1) return mvke_cli_usage("demo", USAGE, "--users and --tags must be >= 1");
    rng_state = (uint64_t)seed;

    const int K = 5, d = 30, D = K * d;
    const char *tasks[2] = {"interest", "intention"};
    const int experts[2][4] = {{0, 1, 2}, {1, 2, 3, 4}};
    const int nexp[2] = {3, 4};
    int rc = MVKE_EXIT_FAIL;
    mvke_index *users = NULL;
    mvke_tags *tags = NULL;
    mvke_result *res = NULL;
    float *x = malloc((size_t)nusers * D * sizeof *x);
    float *q = malloc((size_t)ntags * d * sizeof *q);
    float vk[5 * 30];
    int64_t *tag_ids = malloc((size_t)ntags * sizeof *tag_ids);
    char **names = malloc((size_t)ntags * sizeof *names);
    if (!x || !q || !tag_ids || !names) {
        fprintf(stderr, "mvke demo: out of memory\n");
        goto out;
    }
    for (long long i = 0; i < nusers * D; i++) x[i] = rng_normal();
    for (int i = 0; i < K * d; i++) vk[i] = rng_normal() / sqrtf((float)d);

    mvke_status st;
    double t0 = now_s();
    if ((st = mvke_index_new(&users, K, d, NULL)) != MVKE_OK ||
        (st = mvke_index_add(users, nusers, NULL, x)) != MVKE_OK) {
        rc = mvke_cli_fail("demo", st, "building the user index");
        goto out;
    }
    double t_build = now_s() - t0;
    if ((st = mvke_tags_new(&tags, K, d, NULL)) != MVKE_OK || (st = mvke_tags_set_vk(tags, vk, 1.0f)) != MVKE_OK) {
        rc = mvke_cli_fail("demo", st, "creating the tag table");
        goto out;
    }
    for (int t = 0; t < 2; t++) {
        if ((st = mvke_tags_add_task(tags, tasks[t], experts[t], nexp[t])) != MVKE_OK) {
            rc = mvke_cli_fail("demo", st, "declaring a task");
            goto out;
        }
        for (long long i = 0; i < ntags; i++) {
            tag_ids[i] = 1000 * (t + 1) + i;
            names[i] = malloc(32);
            snprintf(names[i], 32, "%s tag %lld", tasks[t], i);
        }
        for (long long i = 0; i < ntags * d; i++) q[i] = rng_normal();
        st = mvke_tags_add(tags, tasks[t], ntags, tag_ids, (const char *const *)names, NULL, q, NULL);
        for (long long i = 0; i < ntags; i++) free(names[i]);
        if (st != MVKE_OK) {
            rc = mvke_cli_fail("demo", st, "adding tags");
            goto out;
        }
    }
    printf("index: %lld users, K = %d experts of d = %d, built in %.3f s\n", nusers, K, d, t_build);
    printf("tags: %lld per task, tasks interest (experts 0-2) and intention (experts 1-4)\n\n", ntags);

    for (int t = 0; t < 2; t++) {
        int64_t tag = 1000 * (t + 1);
        const char *name;
        float w[5];
        mvke_tags_get(tags, tasks[t], tag, &name, NULL, NULL, w);
        t0 = now_s();
        if ((st = mvke_audience_top(users, tags, tasks[t], 1, &tag, 10, NULL, &res)) != MVKE_OK) {
            rc = mvke_cli_fail("demo", st, "audience search");
            goto out;
        }
        double t_aud = now_s() - t0;
        printf("audience of tag %lld \"%s\" (gates %.2f %.2f %.2f %.2f %.2f), top 10 of %lld users in %.1f ms:\n",
               (long long)tag, name, w[0], w[1], w[2], w[3], w[4], nusers, t_aud * 1e3);
        const int64_t *ids;
        const float *sc;
        int64_t n;
        mvke_result_get(res, 0, &ids, &sc, &n);
        printf("  rank  user_id    score\n");
        for (int64_t i = 0; i < n; i++) printf("  %4lld  %7lld  %.6f\n", (long long)i + 1, (long long)ids[i], sc[i]);
        mvke_result_free(res);
        res = NULL;
        if ((st = mvke_audience_range(users, tags, tasks[t], 1, &tag, 0.5f, NULL, &res)) != MVKE_OK) {
            rc = mvke_cli_fail("demo", st, "threshold search");
            goto out;
        }
        int64_t total;
        mvke_result_total(res, &total);
        printf("  users with score >= 0.5: %lld\n\n", (long long)total);
        mvke_result_free(res);
        res = NULL;
    }

    int64_t user = 7 % nusers;
    if ((st = mvke_user_tags_top(users, tags, NULL, 1, &user, 5, &res)) != MVKE_OK) {
        rc = mvke_cli_fail("demo", st, "top tags");
        goto out;
    }
    printf("top 5 tags of user %lld:\n  task       rank  tag_id  score     name\n", (long long)user);
    for (int t = 0; t < 2; t++) {
        const int64_t *ids;
        const float *sc;
        int64_t n;
        mvke_result_get(res, t, &ids, &sc, &n);
        for (int64_t i = 0; i < n; i++) {
            const char *name;
            mvke_tags_get(tags, tasks[t], ids[i], &name, NULL, NULL, NULL);
            printf("  %-9s  %4lld  %6lld  %.6f  %s\n", tasks[t], (long long)i + 1, (long long)ids[i], sc[i], name);
        }
    }
    rc = MVKE_EXIT_OK;
out:
    mvke_result_free(res);
    mvke_tags_free(tags);
    mvke_index_free(users);
    free(x);
    free(q);
    free(tag_ids);
    free(names);
    return rc;
}
