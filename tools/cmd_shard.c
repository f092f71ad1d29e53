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

#include "args.h"
#include "cli.h"
#include "ranks.h"

static const char *USAGE = "mvke shard INDEX --parts R -o PREFIX [--grain N]";

/* Writes part p of `file` to its shard. Returns an exit code. */
static int write_shard(const mvke_index *file, const mvke_tags *tags, const char *prefix, int64_t grain, int p,
                       int parts) {
    int K, d;
    mvke_storage storage;
    mvke_index_shape(file, &K, &d, &storage);
    int64_t first, n;
    mvke_status st = mvke_index_part(file, grain, p, parts, &first, &n);
    if (st != MVKE_OK) return mvke_cli_fail("shard", st, "--parts");
    mvke_index_options o;
    mvke_index_options_init(&o);
    o.storage = storage;
    mvke_index *shard = NULL;
    const int64_t B = 16384;
    int64_t *ids = malloc((size_t)B * sizeof *ids);
    float *x = malloc((size_t)B * (size_t)K * (size_t)d * sizeof *x);
    char path[4200];
    mvke_shard_path(prefix, p, path, sizeof path);
    if (!ids || !x) st = MVKE_ERR_NOMEM;
    if (st == MVKE_OK) st = mvke_index_new(&shard, K, d, &o);
    for (int64_t at = first; st == MVKE_OK && at < first + n; at += B) {
        const int64_t m = first + n - at < B ? first + n - at : B;
        if ((st = mvke_index_read_rows(file, at, m, ids, x)) == MVKE_OK) st = mvke_index_add(shard, m, ids, x);
    }
    int rc = MVKE_EXIT_OK;
    if (st != MVKE_OK) rc = mvke_cli_fail("shard", st, "copying the users");
    else if ((st = mvke_file_save(path, shard, tags)) != MVKE_OK) rc = mvke_cli_fail("shard", st, path);
    else printf("%s\t%lld users (positions %lld-%lld)\n", path, (long long)n, (long long)first, (long long)(first + n));
    mvke_index_free(shard);
    free(ids);
    free(x);
    return rc;
}

int mvke_cmd_shard(int argc, char **argv) {
    if (mvke_arg_wants_help(argc, argv)) {
        printf("usage: %s\n\nSplits INDEX into R shard files PREFIX.00000.mvke .. PREFIX.<R-1>.mvke (5 digits), one per\n"
               "rank: shard r holds the users of part r of the storage positions, in order, with every tag.\n"
               "Run `mpirun -np R mvke audience|tags|tag-all --shards PREFIX ...`: rank r opens shard r.\n"
               "  --parts R         number of shards (1-99999)\n"
               "  -o PREFIX         where the shards go\n"
               "  --grain N         users are dealt out in runs of N (default 65536, a storage block: the\n"
               "                    grain of a part of one shared file)\n"
               "Prints one line per shard: its file, users and positions.\n", USAGE);
        return MVKE_EXIT_OK;
    }
    const char *index = NULL, *parts_s = NULL, *prefix = NULL, *grain_s = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int r;
        if ((r = mvke_arg_take(argc, argv, &i, "--parts", &v))) parts_s = v;
        else if ((r = mvke_arg_take(argc, argv, &i, "-o", &v))) prefix = v;
        else if ((r = mvke_arg_take(argc, argv, &i, "--grain", &v))) grain_s = v;
        else if (argv[i][0] == '-' || index) return mvke_cli_usage("shard", USAGE, "unexpected argument '%s'", argv[i]);
        else index = argv[i], r = 1;
        if (r < 0) return mvke_cli_usage("shard", USAGE, "%s needs a value", argv[i]);
    }
    if (!index || !parts_s || !prefix) return mvke_cli_usage("shard", USAGE, "INDEX, --parts and -o are required");
    long long parts, grain = 0;
    if (mvke_cli_parse_i64(parts_s, &parts) != 0 || parts < 1 || parts > 99999)
        return mvke_cli_usage("shard", USAGE, "--parts must be an integer in 1-99999");
    if (grain_s && (mvke_cli_parse_i64(grain_s, &grain) != 0 || grain < 1))
        return mvke_cli_usage("shard", USAGE, "--grain must be an integer >= 1");
    mvke_index *file = NULL;
    mvke_tags *tags = NULL;
    mvke_status st = mvke_file_open(index, MVKE_FILE_OPEN_DEFAULT, &file, &tags);
    if (st != MVKE_OK) return mvke_cli_fail("shard", st, index);
    int rc = MVKE_EXIT_OK;
    for (int p = 0; p < parts && rc == MVKE_EXIT_OK; p++) rc = write_shard(file, tags, prefix, grain, p, (int)parts);
    if (fflush(stdout) != 0 && rc == MVKE_EXIT_OK) rc = MVKE_EXIT_IO;
    mvke_index_free(file);
    mvke_tags_free(tags);
    return rc;
}
