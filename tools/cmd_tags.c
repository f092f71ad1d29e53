/*
 * cmd_tags.c - `mvke tags`: the top tags of given users, per task, as TSV on stdout:
 * user_id task rank tag_id score.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"

static const char *USAGE = "mvke tags INDEX --user ID[,ID...] [--task NAME] --top M [--gpu [N]]";

int mvke_cmd_tags(int argc, char **argv) {
    if (mvke_arg_wants_help(argc, argv)) {
        printf("usage: %s\n\nPer-user top tags: the M best tags of each task (or of --task only) for each user.\n"
               "Output (stdout): user_id<TAB>task<TAB>rank<TAB>tag_id<TAB>score, rank from 1, score with\n"
               "6 decimals; tasks in declaration order.\n"
               "  --gpu [N]   score on GPU N (default 0; -1: every GPU), the tag rows resident there\n", USAGE);
        return MVKE_EXIT_OK;
    }
    const char *index = NULL, *task = NULL, *user_s = NULL, *top_s = NULL;
    int gpu = -2; /* not asked */
    for (int i = 1; i < argc; i++) {
        const char *v;
        int r;
        if ((r = mvke_arg_take(argc, argv, &i, "--task", &v))) task = v;
        else if ((r = mvke_arg_take(argc, argv, &i, "--user", &v))) user_s = v;
        else if ((r = mvke_arg_take(argc, argv, &i, "--top", &v))) top_s = v;
        else if ((r = mvke_arg_gpu(argc, argv, &i, &gpu))) {}
        else if (argv[i][0] == '-' || index) return mvke_cli_usage("tags", USAGE, "unexpected argument '%s'", argv[i]);
        else index = argv[i], r = 1;
        if (r < 0) return mvke_cli_usage("tags", USAGE, "%s needs a value", argv[i]);
    }
    if (!index || !user_s || !top_s) return mvke_cli_usage("tags", USAGE, "INDEX, --user and --top are required");
    long long top;
    if (mvke_cli_parse_i64(top_s, &top) != 0 || top < 1) return mvke_cli_usage("tags", USAGE, "--top must be an integer >= 1");
    int64_t *uids, nu;
    if (mvke_arg_id_list(user_s, &uids, &nu) != 0)
        return mvke_cli_usage("tags", USAGE, "--user '%s': expected ids separated by commas", user_s);
    mvke_index *users = NULL;
    mvke_tags *tags = NULL;
    mvke_result *res = NULL;
    int rc = MVKE_EXIT_OK;
    mvke_status st;
    if ((st = mvke_file_open(index, MVKE_FILE_OPEN_SKIP_ROW_CHECKSUMS, &users, &tags)) != MVKE_OK) {
        rc = mvke_cli_fail("tags", st, index);
        goto out;
    }
    if (gpu > -2 && (st = mvke_tags_use_gpu(tags, gpu)) != MVKE_OK) {
        rc = mvke_cli_fail("tags", st, "--gpu");
        goto out;
    }
    if ((st = mvke_user_tags_top(users, tags, task, nu, uids, top, &res)) != MVKE_OK) {
        rc = mvke_cli_fail("tags", st, "search");
        goto out;
    }
    int ntasks = 1;
    if (!task) mvke_tags_ntasks(tags, &ntasks);
    printf("user_id\ttask\trank\ttag_id\tscore\n");
    for (int64_t u = 0; u < nu; u++)
        for (int t = 0; t < ntasks; t++) {
            const char *name = task;
            if (!task) mvke_tags_task(tags, t, &name, NULL, NULL);
            const int64_t *ids;
            const float *sc;
            int64_t n;
            mvke_result_get(res, u * ntasks + t, &ids, &sc, &n);
            for (int64_t r = 0; r < n; r++)
                printf("%lld\t%s\t%lld\t%lld\t%.6f\n", (long long)uids[u], name, (long long)r + 1, (long long)ids[r], (double)sc[r]);
        }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "mvke tags: writing the output failed\n");
        rc = MVKE_EXIT_IO;
    }
out:
    mvke_result_free(res);
    mvke_index_free(users);
    mvke_tags_free(tags);
    free(uids);
    return rc;
}
