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
#include "ranks.h"

#include "../mpi/dist.h"

static const char *USAGE = "mvke tags (INDEX | --shards PREFIX) --user ID[,ID...] [--task NAME] --top M";

/* Writes the lines of user u of the result (lists u*ntasks ..). */
static void print_user(FILE *f, const mvke_result *res, const mvke_tags *tags, const char *task, int ntasks,
                       int64_t u, int64_t uid) {
    for (int t = 0; t < ntasks; t++) {
        const char *name = task;
        if (!task) mvke_tags_task(tags, t, &name, NULL, NULL);
        const int64_t *ids;
        const float *sc;
        int64_t n;
        mvke_result_get(res, u * ntasks + t, &ids, &sc, &n);
        for (int64_t r = 0; r < n; r++)
            fprintf(f, "%lld\t%s\t%lld\t%lld\t%.6f\n", (long long)uid, name, (long long)r + 1, (long long)ids[r], (double)sc[r]);
    }
}

/* Under MPI: the ranks answer the users they hold and rank 0 writes all of them in order.
 * Returns an exit code. */
static int tags_ranks(const mvke_rank_users *ru, const char *task, int ntasks, int64_t nu, const int64_t *uids,
                      long long top) {
    const int rank = mvke_dist_rank();
    int64_t *holder = malloc((size_t)(nu ? nu : 1) * sizeof *holder);
    int64_t *lens = NULL, *rank_lens = NULL, nmine = 0;
    float *x = NULL;
    char *text = NULL, *all = NULL, *buf = NULL;
    size_t text_len = 0;
    mvke_result *res = NULL;
    int rc = MVKE_EXIT_OK;
    if (!holder) {
        rc = mvke_cli_fail("tags", MVKE_ERR_NOMEM, "distributing the users");
        goto out;
    }
    for (int64_t u = 0; u < nu; u++) {
        int yes = 0;
        mvke_index_contains(ru->users, uids[u], &yes);
        holder[u] = yes ? rank : INT64_MAX;
    }
    if (mvke_dist_min_i64(holder, nu) != 0) {
        rc = MVKE_EXIT_FAIL;
        goto out;
    }
    for (int64_t u = 0; u < nu; u++) {
        if (holder[u] == INT64_MAX) {
            if (rank == 0) /* the single process's message */
                fprintf(stderr, "mvke tags: search: %s: user %lld (position %lld in the list) is not in the index\n",
                        mvke_status_name(MVKE_ERR_UNKNOWN_ID), (long long)uids[u], (long long)u);
            rc = MVKE_EXIT_DATA;
            goto out;
        }
        nmine += holder[u] == rank;
    }
    /* This rank's lines, one run per user it answers, and their lengths. */
    lens = calloc((size_t)(nmine ? nmine : 1), sizeof *lens);
    FILE *f = open_memstream(&text, &text_len);
    if (!lens || !f) {
        if (f) fclose(f);
        rc = mvke_cli_fail("tags", MVKE_ERR_NOMEM, "formatting the output");
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
        print_user(f, res, ru->tags, task, ntasks, u, uids[u]);
        lens[j++] = ftell(f) - before;
    }
    if (fclose(f) != 0 && st == MVKE_OK) st = MVKE_ERR_NOMEM;
    if (st != MVKE_OK) {
        rc = mvke_cli_fail("tags", st, "search");
        goto out;
    }
    /* Sent as: the lengths, then the text, padded to 8 bytes. */
    const size_t bytes = ((size_t)nmine * 8 + text_len + 7) / 8 * 8;
    if (!(buf = calloc(bytes ? bytes : 1, 1))) {
        rc = mvke_cli_fail("tags", MVKE_ERR_NOMEM, "formatting the output");
        goto out;
    }
    memcpy(buf, lens, (size_t)nmine * 8);
    memcpy(buf + (size_t)nmine * 8, text, text_len);
    if (mvke_dist_gather(buf, (int64_t)bytes, &all, &rank_lens) != 0) {
        rc = MVKE_EXIT_FAIL;
        goto out;
    }
    if (rank != 0) goto out;
    {
        const int R = mvke_dist_size();
        /* Per rank: where its next user's length and text are. */
        const char **next_len = calloc((size_t)R, sizeof *next_len), **next_text = calloc((size_t)R, sizeof *next_text);
        if (!next_len || !next_text) {
            free(next_len);
            free(next_text);
            rc = mvke_cli_fail("tags", MVKE_ERR_NOMEM, "writing the output");
            goto out;
        }
        int64_t *count = (int64_t *)calloc((size_t)R, sizeof *count);
        for (int64_t u = 0; count && u < nu; u++) count[holder[u]]++;
        size_t off = 0;
        for (int r = 0; count && r < R; r++) {
            next_len[r] = all + off;
            next_text[r] = all + off + (size_t)count[r] * 8;
            off += (size_t)rank_lens[r];
        }
        printf("user_id\ttask\trank\ttag_id\tscore\n");
        for (int64_t u = 0; count && u < nu; u++) {
            const int r = (int)holder[u];
            int64_t len;
            memcpy(&len, next_len[r], 8);
            fwrite(next_text[r], 1, (size_t)len, stdout);
            next_len[r] += 8;
            next_text[r] += len;
        }
        if (!count) rc = mvke_cli_fail("tags", MVKE_ERR_NOMEM, "writing the output");
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

int mvke_cmd_tags(int argc, char **argv) {
    if (mvke_arg_wants_help(argc, argv)) {
        printf("usage: %s\n\nPer-user top tags: the M best tags of each task (or of --task only) for each user.\n"
               "Output (stdout): user_id<TAB>task<TAB>rank<TAB>tag_id<TAB>score, rank from 1, score with\n"
               "6 decimals; tasks in declaration order.\n"
               "  --shards PREFIX   instead of INDEX: rank r of an mpirun job opens PREFIX.<r>.mvke (from\n"
               "                    `mvke shard`); each user is answered by the rank that holds it\n", USAGE);
        return MVKE_EXIT_OK;
    }
    const char *index = NULL, *shards = NULL, *task = NULL, *user_s = NULL, *top_s = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int r;
        if ((r = mvke_arg_take(argc, argv, &i, "--task", &v))) task = v;
        else if ((r = mvke_arg_take(argc, argv, &i, "--user", &v))) user_s = v;
        else if ((r = mvke_arg_take(argc, argv, &i, "--top", &v))) top_s = v;
        else if ((r = mvke_arg_take(argc, argv, &i, "--shards", &v))) shards = v;
        else if (argv[i][0] == '-' || index) return mvke_cli_usage("tags", USAGE, "unexpected argument '%s'", argv[i]);
        else index = argv[i], r = 1;
        if (r < 0) return mvke_cli_usage("tags", USAGE, "%s needs a value", argv[i]);
    }
    if (!index == !shards) return mvke_cli_usage("tags", USAGE, "give exactly one of INDEX and --shards");
    if (!user_s || !top_s) return mvke_cli_usage("tags", USAGE, "--user and --top are required");
    long long top;
    if (mvke_cli_parse_i64(top_s, &top) != 0 || top < 1) return mvke_cli_usage("tags", USAGE, "--top must be an integer >= 1");
    int64_t *uids, nu;
    if (mvke_arg_id_list(user_s, &uids, &nu) != 0)
        return mvke_cli_usage("tags", USAGE, "--user '%s': expected ids separated by commas", user_s);
    mvke_rank_users ru = {0};
    mvke_result *res = NULL;
    int rc = MVKE_EXIT_OK;
    mvke_status st;
    if ((rc = mvke_rank_open("tags", index, shards, 1, &ru)) != MVKE_EXIT_OK) goto out;
    int ntasks = 1;
    if (!task) mvke_tags_ntasks(ru.tags, &ntasks);
    if (mvke_dist_size() > 1) {
        rc = tags_ranks(&ru, task, ntasks, nu, uids, top);
        if (rc != MVKE_EXIT_OK || mvke_dist_rank() != 0) goto out;
    } else {
        if ((st = mvke_user_tags_top(ru.users, ru.tags, task, nu, uids, top, &res)) != MVKE_OK) {
            rc = mvke_cli_fail("tags", st, "search");
            goto out;
        }
        printf("user_id\ttask\trank\ttag_id\tscore\n");
        for (int64_t u = 0; u < nu; u++) print_user(stdout, res, ru.tags, task, ntasks, u, uids[u]);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "mvke tags: writing the output failed\n");
        rc = MVKE_EXIT_IO;
    }
out:
    mvke_result_free(res);
    mvke_rank_close(&ru);
    free(uids);
    return rc;
}
