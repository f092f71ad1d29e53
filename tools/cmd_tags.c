/*
 * cmd_tags.c - `mvke tags`: the top tags of given users, per task, as TSV on stdout:
 * user_id task rank tag_id score.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "options.h"

int cli_cmd_tags(int argc, char **argv) {
    const char *index = NULL, *task = NULL, *users_file = NULL;
    int names = 0;
    cli_ids user = {NULL, 0};
    long long top = 0;
    long long gpu = -2; /* --gpu not given */
    long long threads = 0;
    int no_verify = 0;
    const cli_option options[] = {
        {.metavar = "INDEX", .help = "the index file", .kind = CLI_POSITIONAL, .dst = &index, .required = 1},
        {.name = "--user", .metavar = "ID[,ID...]", .help = "user ids", .kind = CLI_CUSTOM, .dst = &user,
         .required = 1, .group = 1, .parse = cli_opt_ids},
        {.name = "--users-file", .metavar = "F", .help = "user ids from a .npy of int64 or a text file, one id a line",
         .kind = CLI_STRING, .dst = &users_file, .required = 1, .group = 1},
        {.name = "--task", .metavar = "NAME", .help = "only this task (default: every task)", .kind = CLI_STRING,
         .dst = &task},
        {.name = "--top", .metavar = "M", .help = "tags per user and task", .kind = CLI_INT, .dst = &top,
         .min = 1, .max = 1e18, .required = 1},
        {.name = "--names", .help = "add a column with the tag's name", .kind = CLI_FLAG, .dst = &names},
        {.name = "--threads", .metavar = "N", .help = "threads of the search (default 0: OpenMP's default, OMP_NUM_THREADS)",
         .kind = CLI_INT, .dst = &threads, .min = 0, .max = 1 << 16},
        {.name = "--gpu", .metavar = "N", .help = "score on GPU N (default 0; -1: every GPU): the tag rows move there", .kind = CLI_INT, .dst = &gpu, .min = -1, .max = 1 << 20,
         .optional = 1, .implied = 0},
        {.name = "--no-verify", .help = "skip the checksums of the user rows on first use (docs/reliability.md)",
         .kind = CLI_FLAG, .dst = &no_verify},
    };
    const cli_spec spec = {"mvke tags", "Per-user top tags: the M best tags of each task (or of --task only) for each user.",
                           "Output (stdout): user_id<TAB>task<TAB>rank<TAB>tag_id<TAB>score[<TAB>tag_name], rank from 1,\n"
                           "score with 6 decimals; tasks in declaration order. --top larger than the number of tags\n"
                           "gives every tag.\n",
                           options, CLI_NOPTIONS(options)};
    int rc;
    if (!cli_parse(&spec, argc, argv, &rc)) {
        free(user.ids);
        return rc;
    }
    int64_t nu = user.n;
    mvke_index *users = NULL;
    mvke_tags *tags = NULL;
    mvke_result *res = NULL;
    rc = CLI_EXIT_OK;
    mvke_status st;
    if (users_file && (rc = cli_arg_read_ids("tags", "--users-file", users_file, &user.ids, &nu)) != CLI_EXIT_OK)
        goto out;
    if ((st = mvke_file_open(index, no_verify ? MVKE_FILE_OPEN_NO_VERIFY : MVKE_FILE_OPEN_DEFAULT, &users, &tags)) != MVKE_OK) {
        rc = cli_fail("tags", st, index);
        goto out;
    }
    mvke_index_set_threads(users, (int)threads);
    mvke_tags_set_threads(tags, (int)threads);
    if (gpu > -2 && (st = mvke_tags_use_gpu(tags, (int)gpu)) != MVKE_OK) {
        rc = cli_fail("tags", st, "--gpu");
        goto out;
    }
    const int64_t *uids = user.ids;
    int64_t ntags = 0;
    if ((st = mvke_tags_count(tags, task, &ntags)) != MVKE_OK) {
        rc = cli_fail("tags", st, "--task");
        goto out;
    }
    if (task == NULL) { /* the largest task: the cap that leaves every task's list whole */
        int nt = 0;
        mvke_tags_ntasks(tags, &nt);
        ntags = 0;
        for (int t = 0; t < nt; t++) {
            const char *nm;
            int64_t c = 0;
            mvke_tags_task(tags, t, &nm, NULL, NULL);
            mvke_tags_count(tags, nm, &c);
            if (c > ntags) ntags = c;
        }
    }
    if (top > ntags) top = ntags > 0 ? ntags : 1;
    if ((st = mvke_user_tags_top(users, tags, task, nu, uids, top, &res)) != MVKE_OK) {
        rc = cli_fail("tags", st, "search");
        goto out;
    }
    int ntasks = 1;
    if (!task) mvke_tags_ntasks(tags, &ntasks);
    printf("user_id\ttask\trank\ttag_id\tscore%s\n", names ? "\ttag_name" : "");
    for (int64_t u = 0; u < nu; u++)
        for (int t = 0; t < ntasks; t++) {
            const char *name = task;
            if (!task) mvke_tags_task(tags, t, &name, NULL, NULL);
            cli_print_list(res, u * ntasks + t, (long long)uids[u], name, names ? tags : NULL, 1);
        }
    rc = cli_finish_stdout("tags");
out:
    mvke_result_free(res);
    mvke_index_free(users);
    mvke_tags_free(tags);
    free(user.ids);
    return rc;
}
