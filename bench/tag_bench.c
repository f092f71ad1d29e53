/*
 * tag_bench.c - mvke-tag-bench: the scoring half of `mvke tag-all`, alone, as the limit the whole
 * command is measured against (bench/daily-job.sh): every user of INDEX read by storage position
 * in blocks and given its top-M tags of every task (or --task), exactly the calls tag-all makes,
 * with no output. Prints users, seconds and users/s.
 */
#include <stdio.h>
#include <stdlib.h>

#include "mvke/mvke.h"
#include "support/clock.h"
#include "support/options.h"

int main(int argc, char **argv) {
    const char *path = NULL, *task = NULL;
    long long top = 10, block = 16384, threads = 0;
    const cli_option options[] = {
        {.metavar = "INDEX", .help = "the index file", .kind = CLI_POSITIONAL, .dst = &path, .required = 1},
        {.name = "--top", .metavar = "M", .help = "tags per user and task (default 10)", .kind = CLI_INT, .dst = &top,
         .min = 1, .max = 100000},
        {.name = "--task", .metavar = "NAME", .help = "only this task (default: every task)", .kind = CLI_STRING,
         .dst = &task},
        {.name = "--block-users", .metavar = "N", .help = "users per block (default 16384, as tag-all)", .kind = CLI_INT,
         .dst = &block, .min = 1, .max = 1 << 22},
        {.name = "--threads", .metavar = "N", .help = "threads (default 0: OpenMP's default)", .kind = CLI_INT,
         .dst = &threads, .min = 0, .max = 1 << 16},
    };
    const cli_spec spec = {"mvke-tag-bench", "Times the scoring of `mvke tag-all` (no output) over every user of INDEX.",
                           NULL, options, CLI_NOPTIONS(options)};
    int rc;
    if (!cli_parse(&spec, argc, argv, &rc)) return rc;
    mvke_index *users;
    mvke_tags *tags;
    mvke_status st = mvke_file_open(path, MVKE_FILE_OPEN_DEFAULT, &users, &tags);
    if (st != MVKE_OK) {
        fprintf(stderr, "mvke-tag-bench: %s: %s: %s\n", path, mvke_status_name(st), mvke_last_error());
        return 1;
    }
    mvke_tags_set_threads(tags, (int)threads);
    int64_t n;
    int K, d;
    mvke_index_count(users, &n);
    mvke_index_shape(users, &K, &d, NULL);
    float *x = malloc((size_t)block * (size_t)K * (size_t)d * sizeof *x);
    int64_t *ids = malloc((size_t)block * sizeof *ids);
    if (!x || !ids) {
        fprintf(stderr, "mvke-tag-bench: out of memory for a block of %lld users\n", block);
        return 1;
    }
    const double t0 = bench_now();
    for (int64_t first = 0; first < n && st == MVKE_OK; first += block) {
        const int64_t m = n - first < block ? n - first : block;
        mvke_result *res = NULL;
        if ((st = mvke_index_read_rows(users, first, m, ids, x)) == MVKE_OK)
            st = mvke_user_tags_top_rows(tags, task, m, x, top, &res);
        mvke_result_free(res);
    }
    const double t = bench_now() - t0;
    if (st != MVKE_OK) {
        fprintf(stderr, "mvke-tag-bench: scoring: %s: %s\n", mvke_status_name(st), mvke_last_error());
        return 1;
    }
    printf("users=%lld seconds=%.3f users_per_s=%.0f\n", (long long)n, t, (double)n / t);
    free(x);
    free(ids);
    mvke_tags_free(tags);
    mvke_index_free(users);
    return 0;
}
