/*
 * cmd_shard.c - `mvke shard`: splits an index file into R shard files PREFIX.00000.mvke ..., one
 * per rank of an mpirun job that has no storage shared by every host.
 *
 * Shard r holds the users of part r of the storage positions (mvke_index_part), in storage order,
 * with every tag and the same storage; rows are copied as stored (float16 and bfloat16 rows
 * widen exactly and round back to themselves), so every score equals the whole index's. Each
 * shard is written like every index file (mvke_file_save: temporary file, fsync, rename).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "outputs.h"
#include "support/options.h"
#include "ranks.h"
#include "sigbus.h"

/* Writes part p of `file` to its shard. Returns an exit code. */
static int write_shard(const mvke_index *file, const mvke_tags *tags, const char *prefix, int64_t grain, int p,
                       int parts) {
    int K, d;
    mvke_storage storage;
    mvke_index_shape(file, &K, &d, &storage);
    int64_t first, n;
    mvke_status st = mvke_index_part(file, grain, p, parts, &first, &n);
    if (st != MVKE_OK) return cli_fail("shard", st, "--parts");
    mvke_index *shard = NULL;
    const int64_t B = 16384;
    int64_t *ids = malloc((size_t)B * sizeof *ids);
    float *x = malloc((size_t)B * (size_t)K * (size_t)d * sizeof *x);
    char path[4200];
    cli_shard_path(prefix, p, path, sizeof path);
    if (!ids || !x) st = MVKE_ERR_NOMEM;
    if (st == MVKE_OK) st = mvke_index_new_like(&shard, file); /* a codec keeps its training */
    for (int64_t at = first; st == MVKE_OK && at < first + n; at += B) {
        const int64_t m = first + n - at < B ? first + n - at : B;
        if ((st = mvke_index_read_rows(file, at, m, ids, x)) == MVKE_OK) st = mvke_index_add(shard, m, ids, x);
    }
    int rc = CLI_EXIT_OK;
    if (st != MVKE_OK) rc = cli_fail("shard", st, "copying the users");
    else if ((st = mvke_file_save(path, shard, tags)) != MVKE_OK) rc = cli_fail("shard", st, path);
    else printf("%s\t%lld users (positions %lld-%lld)\n", path, (long long)n, (long long)first, (long long)(first + n));
    mvke_index_free(shard);
    free(ids);
    free(x);
    return rc;
}

int cli_cmd_shard(int argc, char **argv) {
    const char *index = NULL, *prefix = NULL;
    long long parts = 0, grain = 0;
    int force = 0;
    const cli_option options[] = {
        {.metavar = "INDEX", .help = "the index file to split", .kind = CLI_POSITIONAL, .dst = &index, .required = 1},
        {.name = "--parts", .metavar = "R", .help = "number of shards: the ranks of the job", .kind = CLI_INT,
         .dst = &parts, .min = 1, .max = 99999, .required = 1},
        {.name = "-o", .metavar = "PREFIX", .help = "the shards are PREFIX.00000.mvke .. PREFIX.<R-1>.mvke", .kind = CLI_STRING,
         .dst = &prefix, .required = 1},
        {.name = "--grain", .metavar = "N", .help = "users are dealt out in runs of N (default 65536, a storage\n"
         "block); tag-all over the shards equals one process when its\n"
         "--block-users divides N", .kind = CLI_INT, .dst = &grain, .min = 1, .max = 1e15},
        {.name = "--force", .help = "replace shard files even when one exists and is not an index file",
         .kind = CLI_FLAG, .dst = &force},
    };
    const cli_spec spec = {"mvke shard",
                           "Splits INDEX into R shard files, one per rank of an mpirun job without storage shared by\n"
                           "every host: shard r holds the users of part r of the storage positions, in order, with\n"
                           "every tag and the same storage. `mpirun -np R mvke audience|tags|tag-all --shards PREFIX`\n"
                           "then opens shard r on rank r.",
                           "Output (stdout): one line per shard: its file, users and positions.\n", options,
                           CLI_NOPTIONS(options)};
    int rc;
    if (!cli_parse(&spec, argc, argv, &rc)) return rc;
    for (int p = 0; p < parts; p++) { /* every shard checked before any is written */
        char path[4200];
        cli_shard_path(prefix, p, path, sizeof path);
        const char *const inputs[] = {index};
        if ((rc = cli_output_replace_check("shard", path, inputs, 1, CLI_KIND_INDEX, force)) != 0) return rc;
    }
    mvke_index *file = NULL;
    mvke_tags *tags = NULL;
    cli_sigbus_index(index);
    mvke_status st = mvke_file_open(index, MVKE_FILE_OPEN_DEFAULT, &file, &tags);
    if (st != MVKE_OK) return cli_fail("shard", st, index);
    rc = CLI_EXIT_OK;
    for (int p = 0; p < parts && rc == CLI_EXIT_OK; p++) rc = write_shard(file, tags, prefix, grain, p, (int)parts);
    if (rc == CLI_EXIT_OK) {
        char what[4200];
        snprintf(what, sizeof what, "every shard %s.*.mvke", prefix);
        rc = cli_finish_stdout_committed("shard", what);
    }
    mvke_index_free(file);
    mvke_tags_free(tags);
    return rc;
}
