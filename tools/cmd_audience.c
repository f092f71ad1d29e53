/*
 * cmd_audience.c - `mvke audience`: the top users (or all users above a score) of tags of one
 * task, as TSV on stdout: tag_id task rank user_id score.
 *
 * Under mpirun every rank searches its own users (ranks.h) for its local top N (or every user
 * above the score), and rank 0 merges the lists under the total order and writes them: the same
 * bytes as one process.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "support/options.h"
#include "ranks.h"

#include "../mpi/dist.h"

/* --tag: "all" (n = -1: every tag of the task) or ids separated by commas. */
static int parse_tags(const char *value, void *dst, char *msg, size_t cap) {
    if (!strcmp(value, "all")) {
        cli_ids *l = dst;
        free(l->ids);
        l->ids = NULL;
        l->n = -1;
        return 0;
    }
    return cli_opt_ids(value, dst, msg, cap);
}

/* --mode exact | approx[:R]: how a codec index answers (docs/codecs.md). */
typedef struct search_mode {
    int given, approx, R;
} search_mode;

static int parse_mode(const char *value, void *dst, char *msg, size_t cap) {
    search_mode *m = dst;
    m->given = 1;
    if (!strcmp(value, "exact")) {
        m->approx = 0;
        return 0;
    }
    if (!strncmp(value, "approx", 6) && (value[6] == 0 || value[6] == ':')) {
        m->approx = 1;
        m->R = 0;
        if (!value[6]) return 0;
        char *end;
        const long r = strtol(value + 7, &end, 10);
        if (*end || end == value + 7 || r < 1 || r > 1000000) {
            snprintf(msg, cap, "'%s': the refine factor R of approx:R must be a whole number from 1 to 1000000", value);
            return -1;
        }
        m->R = (int)r;
        return 0;
    }
    snprintf(msg, cap, "'%s': expected exact, approx or approx:R", value);
    return -1;
}

/* --min-prob P: a probability strictly between 0 and 1. */
static int parse_prob(const char *value, void *dst, char *msg, size_t cap) {
    char *end;
    const double p = strtod(value, &end);
    if (!*value || *end || !(p > 0.0 && p < 1.0)) {
        snprintf(msg, cap, "'%s': a probability strictly between 0 and 1", value);
        return -1;
    }
    *(double *)dst = p;
    return 0;
}

int cli_cmd_audience(int argc, char **argv) {
    const char *index = NULL, *shards = NULL, *task = NULL, *allow_s = NULL, *tags_file = NULL;
    int names = 0, stats = 0, prob = 0;
    double min_prob = 0;
    search_mode mode = {0, 0, 0};
    cli_ids tag = {NULL, 0};
    long long top = 0;
    float min = 0;
    long long gpu = -2; /* --gpu not given */
    int no_verify = 0;
    long long threads = 0, probe = 0;
    const cli_option options[] = {
        {.metavar = "INDEX", .help = "the index file", .kind = CLI_POSITIONAL, .dst = &index, .required = 1, .group = 2},
        {.name = "--shards", .metavar = "PREFIX",
         .help = "instead of INDEX: rank r of an mpirun job searches PREFIX.<r>.mvke\n"
         "(5 digits, from `mvke shard`); without it every rank opens INDEX\n"
         "and searches its part of the users", .kind = CLI_STRING, .dst = &shards, .required = 1, .group = 2},
        {.name = "--task", .metavar = "NAME", .help = "the task the tags belong to", .kind = CLI_STRING,
         .dst = &task, .required = 1},
        {.name = "--tag", .metavar = "ID[,ID...]|all", .help = "tag ids, or all: every tag of the task", .kind = CLI_CUSTOM,
         .dst = &tag, .required = 1, .group = 3, .parse = parse_tags},
        {.name = "--tags-file", .metavar = "F", .help = "tag ids from a .npy of integers or a text file, one id a line",
         .kind = CLI_STRING, .dst = &tags_file, .required = 1, .group = 3},
        {.name = "--top", .metavar = "N", .help = "the N best users of each tag", .kind = CLI_INT, .dst = &top,
         .min = 1, .max = 1e18, .group = 1, .required = 1},
        {.name = "--min-score", .metavar = "S", .help = "every user with score >= S (cosine: in [-1, 1])",
         .kind = CLI_FLOAT, .dst = &min, .min = -INFINITY, .max = INFINITY, .group = 1, .required = 1},
        {.name = "--min-prob", .metavar = "P", .help = "every user with probability sigmoid(score) >= P, 0 < P < 1\n"
         "(the same users as --min-score at the exact score threshold of P)", .kind = CLI_CUSTOM, .dst = &min_prob,
         .group = 1, .required = 1, .parse = parse_prob},
        {.name = "--allow", .metavar = "IDS",
         .help = "only these users: a .npy of integer ids or a text file, one id a line", .kind = CLI_STRING,
         .dst = &allow_s},
        {.name = "--names", .help = "add a column with the tag's name", .kind = CLI_FLAG, .dst = &names},
        {.name = "--prob", .help = "print probabilities sigmoid(score) instead of scores (docs/scores.md)",
         .kind = CLI_FLAG, .dst = &prob},
        {.name = "--threads", .metavar = "N", .help = "threads of the search (default 0: OpenMP's default, OMP_NUM_THREADS)",
         .kind = CLI_INT, .dst = &threads, .min = 0, .max = 1 << 16},
        {.name = "--gpu", .metavar = "N", .help = "search the users on GPU N (default 0; -1: every GPU)", .kind = CLI_INT, .dst = &gpu, .min = -1, .max = 1 << 20,
         .optional = 1, .implied = 0},
        {.name = "--no-verify", .help = "skip the checksums of the user rows on first use (docs/reliability.md)",
         .kind = CLI_FLAG, .dst = &no_verify},
        {.name = "--mode", .metavar = "exact|approx[:R]",
         .help = "a codec index (sq8, pq): exact, the certified exact answer (the default when it keeps\n"
         "its float32 rows); approx, the R*k best by the codes re-scored (R default 4), or the\n"
         "codes' own scores without rows (docs/codecs.md)", .kind = CLI_CUSTOM, .dst = &mode, .parse = parse_mode},
        {.name = "--probe", .metavar = "P", .help = "an index with lists (`build --lists`): read only the P lists whose\n"
         "centroids score best with the tag (default: the exact answer; docs/lists.md)", .kind = CLI_INT,
         .dst = &probe, .min = 1, .max = 1 << 30},
        {.name = "--stats", .help = "print to stderr the users scanned and re-scored, the lists read, and\n"
         "whether the answer is certified exact", .kind = CLI_FLAG, .dst = &stats},
    };
    const cli_spec spec = {"mvke audience", "Reverse targeting: for each tag, its best users.",
                           "Output (stdout): tag_id<TAB>task<TAB>rank<TAB>user_id<TAB>score[<TAB>tag_name], rank from 1,\n"
                           "score (or prob) with 6 decimals. --top larger than the number of users gives every user.\n",
                           options, CLI_NOPTIONS(options)};
    int rc;
    if (!cli_parse(&spec, argc, argv, &rc)) {
        free(tag.ids);
        return rc;
    }
    cli_print_set_prob(prob);
    if (min_prob > 0.0) mvke_score_from_prob(min_prob, &min); /* cannot fail: checked by parse_prob */
    const int by_top = top > 0;
    int64_t ntag = tag.n;
    mvke_allow *allow = NULL;
    cli_rank_users ru = {0};
    cli_rank_lists merged = {0};
    mvke_result *res = NULL;
    rc = CLI_EXIT_OK;
    mvke_status st;
    if (tags_file && (rc = cli_arg_read_ids("audience", "--tags-file", tags_file, &tag.ids, &ntag)) != CLI_EXIT_OK)
        goto out;
    if (allow_s && (rc = cli_arg_load_allow("audience", allow_s, &allow)) != CLI_EXIT_OK) goto out;
    if ((rc = cli_rank_open("audience", index, shards, 1, no_verify ? MVKE_FILE_OPEN_NO_VERIFY : MVKE_FILE_OPEN_DEFAULT, &ru)) != CLI_EXIT_OK) goto out;
    mvke_index_set_threads(ru.users, (int)threads);
    if (mode.given) {
        if ((st = mvke_index_set_search_mode(ru.users, mode.approx ? MVKE_SEARCH_APPROX : MVKE_SEARCH_EXACT)) != MVKE_OK ||
            (mode.R && (st = mvke_index_set_refine(ru.users, mode.R)) != MVKE_OK)) {
            rc = cli_fail("audience", st, "--mode");
            goto out;
        }
    }
    if (probe > 0) {
        mvke_lists_info li;
        mvke_index_lists(ru.users, &li);
        if (li.nlists == 0) {
            fprintf(stderr, "mvke audience: --probe %lld: %s has no lists (build it with --lists)\n", probe,
                    index ? index : "the shard");
            rc = CLI_EXIT_USAGE;
            goto out;
        }
        mvke_index_set_probe(ru.users, (int)probe);
    }
    if (gpu > -2 && (st = mvke_index_use_gpu(ru.users, (int)gpu)) != MVKE_OK) {
        rc = cli_fail_gpu("audience", st);
        goto out;
    }
    if (ntag < 0) { /* --tag all */
        if ((st = mvke_tags_count(ru.tags, task, &ntag)) != MVKE_OK) {
            rc = cli_fail("audience", st, "--task");
            goto out;
        }
        if (!(tag.ids = malloc((size_t)(ntag ? ntag : 1) * sizeof *tag.ids))) {
            rc = cli_fail("audience", MVKE_ERR_NOMEM, "listing the tags");
            goto out;
        }
        mvke_tags_ids(ru.tags, task, tag.ids);
    }
    const int64_t *tag_ids = tag.ids;
    /* --top beyond the users this process searches gives every one of them, without a list of
     * padding; the merge over ranks still keeps the N best of all. */
    int64_t nusers = 0, local_top = top;
    mvke_index_count(ru.users, &nusers);
    if (local_top > nusers) local_top = nusers > 0 ? nusers : 1;
    st = by_top ? mvke_audience_top(ru.users, ru.tags, task, ntag, tag_ids, local_top, allow, &res)
               : mvke_audience_range(ru.users, ru.tags, task, ntag, tag_ids, min, allow, &res);
    if (st != MVKE_OK) {
        rc = cli_fail("audience", st, "search");
        goto out;
    }
    if (stats) {
        mvke_search_stats ss;
        mvke_last_search_stats(&ss);
        char who[32] = "";
        if (mvke_dist_size() > 1) snprintf(who, sizeof who, "rank %d: ", mvke_dist_rank());
        char lists[64] = "";
        if (ss.lists_scanned) snprintf(lists, sizeof lists, ", %.1f lists read each", (double)ss.lists_scanned / (double)(ntag ? ntag : 1));
        fprintf(stderr, "%smvke audience: %lld tags, %lld users scanned each%s, %lld re-scored exactly (%.4f%% per tag), %s\n",
                who, (long long)ntag, (long long)ss.users_scanned, lists, (long long)ss.users_refined,
                ntag && ss.users_scanned ? 100.0 * (double)ss.users_refined / (double)ntag / (double)ss.users_scanned : 0.0,
                ss.certified ? "certified exact" : "not certified (approximate)");
    }
    if (mvke_dist_size() > 1) {
        if ((rc = cli_rank_merge("audience", res, by_top ? top : 0, &merged)) != CLI_EXIT_OK) goto out;
        if (mvke_dist_rank() != 0) goto out;
    }
    printf("tag_id\ttask\trank\tuser_id\t%s%s\n", cli_value_column(), names ? "\ttag_name" : "");
    for (int64_t i = 0; i < ntag; i++) {
        if (!merged.off) {
            cli_print_list(res, i, (long long)tag_ids[i], task, names ? ru.tags : NULL, 0);
            continue;
        }
        cli_print_entries(stdout, (long long)tag_ids[i], task, merged.ids + merged.off[i], merged.scores + merged.off[i],
                          merged.off[i + 1] - merged.off[i], names ? ru.tags : NULL, 0);
    }
    rc = cli_finish_stdout("audience");
out:
    mvke_result_free(res);
    mvke_allow_free(allow);
    cli_rank_lists_free(&merged);
    cli_rank_close(&ru);
    free(tag.ids);
    return rc;
}
