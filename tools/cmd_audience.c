/*
 * cmd_audience.c - `mvke audience`: the top users (or all users above a score) of tags of one
 * task, as TSV on stdout: tag_id task rank user_id score.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"

static const char *USAGE = "mvke audience INDEX --task NAME --tag ID[,ID...] (--top N | --min-score S) [--allow IDS] [--gpu [N]]";

int mvke_cmd_audience(int argc, char **argv) {
    if (mvke_arg_wants_help(argc, argv)) {
        printf("usage: %s\n\nReverse targeting: for each tag, its best users.\n"
               "  --task NAME       the task the tags belong to\n"
               "  --tag ID,...      tag ids\n"
               "  --top N           the N best users of each tag\n"
               "  --min-score S     every user with score >= S (cosine, in [-1, 1])\n"
               "  --allow IDS       only these users: a .npy of int64 ids or a text file, one id a line\n"
               "  --gpu [N]         search the users on GPU N (default 0; -1: every GPU)\n"
               "Output (stdout): tag_id<TAB>task<TAB>rank<TAB>user_id<TAB>score, rank from 1, score with 6 decimals.\n",
               USAGE);
        return MVKE_EXIT_OK;
    }
    const char *index = NULL, *task = NULL, *tag_s = NULL, *top_s = NULL, *min_s = NULL, *allow_s = NULL;
    int gpu = -2; /* not asked */
    for (int i = 1; i < argc; i++) {
        const char *v;
        int r;
        if ((r = mvke_arg_take(argc, argv, &i, "--task", &v))) task = v;
        else if ((r = mvke_arg_take(argc, argv, &i, "--tag", &v))) tag_s = v;
        else if ((r = mvke_arg_take(argc, argv, &i, "--top", &v))) top_s = v;
        else if ((r = mvke_arg_take(argc, argv, &i, "--min-score", &v))) min_s = v;
        else if ((r = mvke_arg_take(argc, argv, &i, "--allow", &v))) allow_s = v;
        else if ((r = mvke_arg_gpu(argc, argv, &i, &gpu))) {}
        else if (argv[i][0] == '-' || index) return mvke_cli_usage("audience", USAGE, "unexpected argument '%s'", argv[i]);
        else index = argv[i], r = 1;
        if (r < 0) return mvke_cli_usage("audience", USAGE, "%s needs a value", argv[i]);
    }
    if (!index || !task || !tag_s) return mvke_cli_usage("audience", USAGE, "INDEX, --task and --tag are required");
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
    mvke_index *users = NULL;
    mvke_tags *tags = NULL;
    mvke_result *res = NULL;
    int rc = MVKE_EXIT_OK;
    mvke_status st;
    if (allow_s && (rc = mvke_arg_load_allow("audience", allow_s, &allow)) != MVKE_EXIT_OK) goto out;
    if ((st = mvke_file_open(index, MVKE_FILE_OPEN_SKIP_ROW_CHECKSUMS, &users, &tags)) != MVKE_OK) {
        rc = mvke_cli_fail("audience", st, index);
        goto out;
    }
    if (gpu > -2 && (st = mvke_index_use_gpu(users, gpu)) != MVKE_OK) {
        rc = mvke_cli_fail("audience", st, "--gpu");
        goto out;
    }
    st = top_s ? mvke_audience_top(users, tags, task, ntag, tag_ids, top, allow, &res)
               : mvke_audience_range(users, tags, task, ntag, tag_ids, min, allow, &res);
    if (st != MVKE_OK) {
        rc = mvke_cli_fail("audience", st, "search");
        goto out;
    }
    printf("tag_id\ttask\trank\tuser_id\tscore\n");
    for (int64_t i = 0; i < ntag; i++) {
        const int64_t *ids;
        const float *sc;
        int64_t n;
        mvke_result_get(res, i, &ids, &sc, &n);
        for (int64_t r = 0; r < n; r++)
            printf("%lld\t%s\t%lld\t%lld\t%.6f\n", (long long)tag_ids[i], task, (long long)r + 1, (long long)ids[r], (double)sc[r]);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "mvke audience: writing the output failed\n");
        rc = MVKE_EXIT_IO;
    }
out:
    mvke_result_free(res);
    mvke_allow_free(allow);
    mvke_index_free(users);
    mvke_tags_free(tags);
    free(tag_ids);
    return rc;
}
