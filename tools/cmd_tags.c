/*
 * cmd_tags.c - `mvke tags`: the top tags of given users, per task, as TSV on stdout:
 * user_id task rank tag_id score.
 *
 * Under mpirun each asked user is answered by the rank that holds it (the lowest such rank; a
 * minimum reduction over the ranks finds it), and rank 0 writes every user's lines in the order
 * asked. A score's last bits depend on how many users are scored together (the product routine
 * is chosen by batch size) and where each sits in the batch, so every rank scores a batch shaped
 * like the single process's: the whole list, its own users' rows in their places and zeros
 * elsewhere. The answer is the single process's to the byte; the work is that of one process on
 * every rank, which a list of users to look up can afford (tag-all is the throughput path).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "support/options.h"
#include "ranks.h"

#include "../mpi/dist.h"

/* Writes the lines of user u of the result (lists u*ntasks ..) to f. */
static void print_user(FILE *f, const mvke_result *res, const mvke_tags *tags, const char *task, int ntasks,
                       int64_t u, int64_t uid, int names) {
    for (int t = 0; t < ntasks; t++) {
        const char *name = task;
        if (!task) mvke_tags_task(tags, t, &name, NULL, NULL);
        const int64_t *ids;
        const float *sc;
        int64_t n = 0;
        mvke_result_get(res, u * ntasks + t, &ids, &sc, &n);
        cli_print_entries(f, (long long)uid, name, ids, sc, n, names ? tags : NULL, 1);
    }
}

/* Under MPI: the ranks answer the users they hold and rank 0 writes all of them in order.
 * Returns an exit code. */
static int tags_ranks(const cli_rank_users *ru, const char *task, int ntasks, int64_t nu, const int64_t *uids,
                      long long top, int names) {
    const int rank = mvke_dist_rank();
    int64_t *holder = malloc((size_t)(nu ? nu : 1) * sizeof *holder);
    int64_t *lens = NULL, *rank_lens = NULL, nmine = 0;
    float *x = NULL;
    char *text = NULL, *all = NULL, *buf = NULL;
    size_t text_len = 0;
    mvke_result *res = NULL;
    int rc = CLI_EXIT_OK;
    if (!holder) {
        rc = cli_fail("tags", MVKE_ERR_NOMEM, "distributing the users");
        goto out;
    }
    for (int64_t u = 0; u < nu; u++) {
        int yes = 0;
        mvke_index_contains(ru->users, uids[u], &yes);
        holder[u] = yes ? rank : INT64_MAX;
    }
    if (mvke_dist_min_i64(holder, nu) != 0) {
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    for (int64_t u = 0; u < nu; u++) {
        if (holder[u] == INT64_MAX) {
            if (rank == 0) /* the single process's message */
                fprintf(stderr, "mvke tags: search: %s: user %lld (position %lld in the list) is not in the index\n",
                        mvke_status_name(MVKE_ERR_UNKNOWN_ID), (long long)uids[u], (long long)u);
            rc = CLI_EXIT_DATA;
            goto out;
        }
        nmine += holder[u] == rank;
    }
    /* This rank's lines, one run per user it answers, and their lengths. */
    lens = calloc((size_t)(nmine ? nmine : 1), sizeof *lens);
    FILE *f = open_memstream(&text, &text_len);
    if (!lens || !f) {
        if (f) fclose(f);
        rc = cli_fail("tags", MVKE_ERR_NOMEM, "formatting the output");
        goto out;
    }
    int K, d;
    mvke_index_shape(ru->users, &K, &d, NULL);
    const size_t D = (size_t)K * (size_t)d;
    mvke_status st = MVKE_OK;
    if (nmine && !(x = calloc((size_t)nu * D, sizeof *x))) st = MVKE_ERR_NOMEM;
    for (int64_t u = 0; st == MVKE_OK && nmine && u < nu; u++)
        if (holder[u] == rank) st = mvke_index_get(ru->users, uids[u], x + (size_t)u * D);
    if (st == MVKE_OK && nmine) st = mvke_user_tags_top_rows(ru->tags, task, nu, x, top, &res);
    for (int64_t u = 0, j = 0; st == MVKE_OK && nmine && u < nu; u++) {
        if (holder[u] != rank) continue;
        const long before = ftell(f);
        print_user(f, res, ru->tags, task, ntasks, u, uids[u], names);
        lens[j++] = ftell(f) - before;
    }
    if (fclose(f) != 0 && st == MVKE_OK) st = MVKE_ERR_NOMEM;
    if (st != MVKE_OK) {
        rc = cli_fail("tags", st, "search");
        goto out;
    }
    /* Sent as: the lengths, then the text, padded to 8 bytes. */
    const size_t bytes = ((size_t)nmine * 8 + text_len + 7) / 8 * 8;
    if (!(buf = calloc(bytes ? bytes : 1, 1))) {
        rc = cli_fail("tags", MVKE_ERR_NOMEM, "formatting the output");
        goto out;
    }
    memcpy(buf, lens, (size_t)nmine * 8);
    memcpy(buf + (size_t)nmine * 8, text, text_len);
    if (mvke_dist_gather(buf, (int64_t)bytes, &all, &rank_lens) != 0) {
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    if (rank != 0) goto out;
    {
        const int R = mvke_dist_size();
        /* Per rank: where its next user's length and text are. */
        const char **next_len = calloc((size_t)R, sizeof *next_len), **next_text = calloc((size_t)R, sizeof *next_text);
        int64_t *count = calloc((size_t)R, sizeof *count);
        if (!next_len || !next_text || !count) {
            rc = cli_fail("tags", MVKE_ERR_NOMEM, "writing the output");
        } else {
            for (int64_t u = 0; u < nu; u++) count[holder[u]]++;
            size_t off = 0;
            for (int r = 0; r < R; r++) {
                next_len[r] = all + off;
                next_text[r] = all + off + (size_t)count[r] * 8;
                off += (size_t)rank_lens[r];
            }
            printf(CLI_TAGS_HEADER_KEYS "%s%s\n", cli_value_column(), names ? "\ttag_name" : "");
            for (int64_t u = 0; u < nu; u++) {
                const int r = (int)holder[u];
                int64_t len;
                memcpy(&len, next_len[r], 8);
                fwrite(next_text[r], 1, (size_t)len, stdout);
                next_len[r] += 8;
                next_text[r] += len;
            }
        }
        free(count);
        free(next_len);
        free(next_text);
    }
out:
    mvke_result_free(res);
    free(x);
    free(holder);
    free(lens);
    free(text);
    free(buf);
    free(all);
    free(rank_lens);
    return rc;
}

int cli_cmd_tags(int argc, char **argv) {
    const char *index = NULL, *shards = NULL, *task = NULL, *users_file = NULL;
    int names = 0, prob = 0;
    cli_ids user = {NULL, 0};
    long long top = 0;
    long long gpu = -2; /* --gpu not given */
    int no_verify = 0;
    long long threads = 0;
    const cli_option options[] = {
        {.metavar = "INDEX", .help = "the index file", .kind = CLI_POSITIONAL, .dst = &index, .required = 1, .group = 1},
        {.name = "--shards", .metavar = "PREFIX",
         .help = "instead of INDEX: rank r of an mpirun job opens PREFIX.<r>.mvke (from\n"
         "`mvke shard`); each user is answered by the rank that holds it", .kind = CLI_STRING, .dst = &shards,
         .required = 1, .group = 1},
        {.name = "--user", .metavar = "ID[,ID...]", .help = "user ids", .kind = CLI_CUSTOM, .dst = &user,
         .required = 1, .group = 2, .parse = cli_opt_ids},
        {.name = "--users-file", .metavar = "F", .help = "user ids from a .npy of integers or a text file, one id a line",
         .kind = CLI_STRING, .dst = &users_file, .required = 1, .group = 2},
        {.name = "--task", .metavar = "NAME", .help = "only this task (default: every task)", .kind = CLI_STRING,
         .dst = &task},
        {.name = "--top", .metavar = "M", .help = "tags per user and task", .kind = CLI_INT, .dst = &top,
         .min = 1, .max = 1e18, .required = 1},
        {.name = "--names", .help = "add a column with the tag's name", .kind = CLI_FLAG, .dst = &names},
        {.name = "--prob", .help = "print probabilities sigmoid(score) instead of scores (docs/scores.md)",
         .kind = CLI_FLAG, .dst = &prob},
        {.name = "--threads", .metavar = "N", .help = "threads of the search (default 0: OpenMP's default, OMP_NUM_THREADS)",
         .kind = CLI_INT, .dst = &threads, .min = 0, .max = 1 << 16},
        {.name = "--gpu", .metavar = "N", .help = "score on GPU N (default 0; -1: every GPU): the tag rows move there", .kind = CLI_INT, .dst = &gpu, .min = -1, .max = 1 << 20,
         .optional = 1, .implied = 0},
        {.name = "--no-verify", .help = "skip the checksums of the user rows on first use (docs/reliability.md)",
         .kind = CLI_FLAG, .dst = &no_verify},
    };
    const cli_spec spec = {"mvke tags", "Per-user top tags: the M best tags of each task (or of --task only) for each user.",
                           "Output (stdout): user_id<TAB>task<TAB>rank<TAB>tag_id<TAB>score[<TAB>tag_name], rank from 1,\n"
                           "score (or prob) with 6 decimals; tasks in declaration order. --top larger than the number of tags\n"
                           "gives every tag.\n",
                           options, CLI_NOPTIONS(options)};
    int rc;
    if (!cli_parse(&spec, argc, argv, &rc)) {
        free(user.ids);
        return rc;
    }
    cli_print_set_prob(prob);
    int64_t nu = user.n;
    cli_rank_users ru = {0};
    mvke_result *res = NULL;
    rc = CLI_EXIT_OK;
    mvke_status st;
    if (users_file && (rc = cli_arg_read_ids("tags", "--users-file", users_file, &user.ids, &nu)) != CLI_EXIT_OK)
        goto out;
    if ((rc = cli_rank_open("tags", index, shards, 1, no_verify ? MVKE_FILE_OPEN_NO_VERIFY : MVKE_FILE_OPEN_DEFAULT, &ru)) != CLI_EXIT_OK) goto out;
    mvke_index_set_threads(ru.users, (int)threads);
    mvke_tags_set_threads(ru.tags, (int)threads);
    if (gpu > -2 && (st = mvke_tags_use_gpu(ru.tags, (int)gpu)) != MVKE_OK) {
        rc = cli_fail_gpu("tags", st);
        goto out;
    }
    const int64_t *uids = user.ids;
    int64_t ntags = 0;
    if ((st = mvke_tags_count(ru.tags, task, &ntags)) != MVKE_OK) {
        rc = cli_fail("tags", st, "--task");
        goto out;
    }
    if (task == NULL) { /* the largest task: the cap that leaves every task's list whole */
        int nt = 0;
        mvke_tags_ntasks(ru.tags, &nt);
        ntags = 0;
        for (int t = 0; t < nt; t++) {
            const char *nm;
            int64_t c = 0;
            mvke_tags_task(ru.tags, t, &nm, NULL, NULL);
            mvke_tags_count(ru.tags, nm, &c);
            if (c > ntags) ntags = c;
        }
    }
    if (top > ntags) top = ntags > 0 ? ntags : 1;
    int ntasks = 1;
    if (!task) mvke_tags_ntasks(ru.tags, &ntasks);
    if (mvke_dist_size() > 1) {
        rc = tags_ranks(&ru, task, ntasks, nu, uids, top, names);
        if (rc != CLI_EXIT_OK || mvke_dist_rank() != 0) goto out;
    } else {
        if ((st = mvke_user_tags_top(ru.users, ru.tags, task, nu, uids, top, &res)) != MVKE_OK) {
            rc = cli_fail("tags", st, "search");
            goto out;
        }
        printf(CLI_TAGS_HEADER_KEYS "%s%s\n", cli_value_column(), names ? "\ttag_name" : "");
        for (int64_t u = 0; u < nu; u++) print_user(stdout, res, ru.tags, task, ntasks, u, uids[u], names);
    }
    rc = cli_finish_stdout("tags");
out:
    mvke_result_free(res);
    cli_rank_close(&ru);
    free(user.ids);
    return rc;
}
