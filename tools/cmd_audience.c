/*
 * cmd_audience.c - `mvke audience`: the top users (or all users above a score) of tags of one
 * task, as TSV on stdout: tag_id task rank user_id score.
 *
 * Under mpirun every rank searches its own users (ranks.h) for its local top N (or every user
 * above the score), and rank 0 merges the lists under the total order and writes them: the same
 * bytes as one process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "ranks.h"

#include "../mpi/dist.h"

static const char *USAGE =
    "mvke audience (INDEX | --shards PREFIX) --task NAME --tag ID[,ID...] (--top N | --min-score S) [--allow IDS]";

/* Writes the lines of one tag. */
static void print_list(int64_t tag, const char *task, const int64_t *ids, const float *sc, int64_t n) {
    for (int64_t r = 0; r < n; r++)
        printf("%lld\t%s\t%lld\t%lld\t%.6f\n", (long long)tag, task, (long long)r + 1, (long long)ids[r], (double)sc[r]);
}

int mvke_cmd_audience(int argc, char **argv) {
    if (mvke_arg_wants_help(argc, argv)) {
        printf("usage: %s\n\nReverse targeting: for each tag, its best users.\n"
               "  --task NAME       the task the tags belong to\n"
               "  --tag ID,...      tag ids\n"
               "  --top N           the N best users of each tag\n"
               "  --min-score S     every user with score >= S (cosine, in [-1, 1])\n"
               "  --allow IDS       only these users: a .npy of int64 ids or a text file, one id a line\n"
               "  --shards PREFIX   instead of INDEX: rank r of an mpirun job searches PREFIX.<r>.mvke\n"
               "                    (5 digits, from `mvke shard`); without --shards every rank opens INDEX\n"
               "                    and searches its part of the users\n"
               "Output (stdout): tag_id<TAB>task<TAB>rank<TAB>user_id<TAB>score, rank from 1, score with 6 decimals.\n",
               USAGE);
        return MVKE_EXIT_OK;
    }
    const char *index = NULL, *shards = NULL, *task = NULL, *tag_s = NULL, *top_s = NULL, *min_s = NULL, *allow_s = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int r;
        if ((r = mvke_arg_take(argc, argv, &i, "--task", &v))) task = v;
        else if ((r = mvke_arg_take(argc, argv, &i, "--tag", &v))) tag_s = v;
        else if ((r = mvke_arg_take(argc, argv, &i, "--top", &v))) top_s = v;
        else if ((r = mvke_arg_take(argc, argv, &i, "--min-score", &v))) min_s = v;
        else if ((r = mvke_arg_take(argc, argv, &i, "--allow", &v))) allow_s = v;
        else if ((r = mvke_arg_take(argc, argv, &i, "--shards", &v))) shards = v;
        else if (argv[i][0] == '-' || index) return mvke_cli_usage("audience", USAGE, "unexpected argument '%s'", argv[i]);
        else index = argv[i], r = 1;
        if (r < 0) return mvke_cli_usage("audience", USAGE, "%s needs a value", argv[i]);
    }
    if (!index == !shards) return mvke_cli_usage("audience", USAGE, "give exactly one of INDEX and --shards");
    if (!task || !tag_s) return mvke_cli_usage("audience", USAGE, "--task and --tag are required");
    if (!top_s == !min_s) return mvke_cli_usage("audience", USAGE, "give exactly one of --top and --min-score");
    long long top = 0;
    float min = 0;
    if (top_s && (mvke_cli_parse_i64(top_s, &top) != 0 || top < 1))
        return mvke_cli_usage("audience", USAGE, "--top must be an integer >= 1");
    if (min_s && mvke_cli_parse_float(min_s, &min) != 0) return mvke_cli_usage("audience", USAGE, "--min-score must be a number");
    int64_t *tag_ids, ntag;
    if (mvke_arg_id_list(tag_s, &tag_ids, &ntag) != 0)
        return mvke_cli_usage("audience", USAGE, "--tag '%s': expected ids separated by commas", tag_s);
    mvke_allow *allow = NULL;
    mvke_rank_users ru = {0};
    mvke_rank_lists merged = {0};
    mvke_result *res = NULL;
    int rc = MVKE_EXIT_OK;
    mvke_status st;
    if (allow_s && (rc = mvke_arg_load_allow("audience", allow_s, &allow)) != MVKE_EXIT_OK) goto out;
    if ((rc = mvke_rank_open("audience", index, shards, 1, &ru)) != MVKE_EXIT_OK) goto out;
    st = top_s ? mvke_audience_top(ru.users, ru.tags, task, ntag, tag_ids, top, allow, &res)
               : mvke_audience_range(ru.users, ru.tags, task, ntag, tag_ids, min, allow, &res);
    if (st != MVKE_OK) {
        rc = mvke_cli_fail("audience", st, "search");
        goto out;
    }
    if (mvke_dist_size() > 1) {
        if ((rc = mvke_rank_merge("audience", res, top_s ? top : 0, &merged)) != MVKE_EXIT_OK) goto out;
        if (mvke_dist_rank() != 0) goto out;
    }
    printf("tag_id\ttask\trank\tuser_id\tscore\n");
    for (int64_t i = 0; i < ntag; i++) {
        const int64_t *ids;
        const float *sc;
        int64_t n;
        if (merged.off) {
            ids = merged.ids + merged.off[i];
            sc = merged.scores + merged.off[i];
            n = merged.off[i + 1] - merged.off[i];
        } else {
            mvke_result_get(res, i, &ids, &sc, &n);
        }
        print_list(tag_ids[i], task, ids, sc, n);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "mvke audience: writing the output failed\n");
        rc = MVKE_EXIT_IO;
    }
out:
    mvke_result_free(res);
    mvke_allow_free(allow);
    mvke_rank_lists_free(&merged);
    mvke_rank_close(&ru);
    free(tag_ids);
    return rc;
}
