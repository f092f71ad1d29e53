/*
 * cmd_update.c - `mvke add`, `mvke upsert`, `mvke remove`, and `mvke update` (the three in one
 * rewrite): the daily update of an index file.
 *
 * Each opens the index (every checksum checked), changes it through the library (rows appended
 * by add and upsert; a removed row's place taken by the last row), and writes it back with
 * mvke_file_save: a temporary file, fsynced, renamed over INDEX. On any error before the rename
 * INDEX is left as it was. The tags and the row storage are kept. Counts go to stdout as
 * key<TAB>value lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "index/npy.h"
#include "support/options.h"
#include "sigbus.h"
#include "writer_lock.h"

/* Users read per block: memory beyond the index is one block of rows. */
#define BLOCK_USERS 65536

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Opens INDEX for a change, holding its writer lock (writer_lock.h) until the process ends, so
 * that no other writer reads it between this read and the rename of the new file. Writing back
 * goes through a rename, so INDEX (an input too) is never written in place. */
static int open_index(const char *cmd, const char *path, mvke_index **users, mvke_tags **tags) {
    int lock, rc = cli_writer_lock(cmd, path, &lock);
    if (rc != CLI_EXIT_OK) return rc;
    cli_sigbus_index(path);
    if ((rc = cli_verify_before_copy(cmd, path)) != CLI_EXIT_OK) return rc;
    mvke_status st = mvke_file_open(path, MVKE_FILE_OPEN_DEFAULT, users, tags);
    return st == MVKE_OK ? CLI_EXIT_OK : cli_fail(cmd, st, path);
}

static int save_index(const char *cmd, const char *path, const mvke_index *users, const mvke_tags *tags) {
    mvke_status st = mvke_file_save(path, users, tags);
    return st == MVKE_OK ? CLI_EXIT_OK : cli_fail(cmd, st, "writing the index");
}

/* Names the rows of the input files that the last library error is about. */
static int row_fail(const char *cmd, mvke_status st, int64_t first, const char *experts, const char *ids) {
    int64_t r[2];
    int nr = 0;
    char msg[2048];
    mvke_last_error_rows(r, &nr);
    const char *file = st != MVKE_ERR_NONFINITE && ids ? ids : experts; /* an id's fault, or a value's */
    if (nr == 2) snprintf(msg, sizeof msg, "%s rows %lld and %lld", file, (long long)(first + r[0]), (long long)(first + r[1]));
    else if (nr == 1) snprintf(msg, sizeof msg, "%s row %lld", file, (long long)(first + r[0]));
    else snprintf(msg, sizeof msg, "%s", experts);
    return cli_fail(cmd, st, msg);
}

/* Adds (upsert = 0) or upserts (1) the rows of experts (ids from ids_path, or NULL: count
 * onwards) into users; *added and *replaced receive the counts. Returns an exit status (errors
 * printed, naming the files and rows); on error users may hold some blocks, and is not saved. */
static int apply_rows(const char *cmd, mvke_index *users, const char *index, const char *experts, const char *ids_path,
                      const char *xopt, const char *iopt, int upsert, int64_t *added, int64_t *replaced_out) {
    mvke_npy *fx = NULL, *fid = NULL;
    float *x = NULL;
    int64_t *all_ids = NULL, *sorted = NULL, *auto_ids = NULL;
    mvke_status st;
    int rc = CLI_EXIT_OK;
    int K, d;
    mvke_index_shape(users, &K, &d, NULL);
    if ((st = mvke_npy_open(&fx, experts)) != MVKE_OK) {
        rc = cli_fail(cmd, st, xopt);
        goto out;
    }
    mvke_dtype dt;
    int nd;
    int64_t sx[MVKE_NPY_MAX_DIMS], sid[MVKE_NPY_MAX_DIMS];
    mvke_npy_shape(fx, &dt, &nd, sx);
    if (nd != 3 || mvke_dtype_is_int(dt) || sx[1] != K || sx[2] != d) {
        fprintf(stderr, "mvke %s: %s: %s: expected a float (float32, float64 or float16) array of shape (n, %d, %d) as %s holds%s\n",
                cmd, xopt, experts, K, d, index, nd == 3 ? "" : " (not 3-d)");
        if (nd == 3) fprintf(stderr, "mvke %s: %s: %s has shape (%lld, %lld, %lld)\n", cmd, xopt, experts,
                             (long long)sx[0], (long long)sx[1], (long long)sx[2]);
        rc = CLI_EXIT_DATA;
        goto out;
    }
    const int64_t n = sx[0];
    if (ids_path) {
        if ((st = mvke_npy_open(&fid, ids_path)) != MVKE_OK) {
            rc = cli_fail(cmd, st, iopt);
            goto out;
        }
        mvke_npy_shape(fid, &dt, &nd, sid);
        if (nd != 1 || !mvke_dtype_is_int(dt) || sid[0] != n) {
            fprintf(stderr, "mvke %s: %s: %s: expected a 1-d integer array of %lld ids (the users of %s)\n", cmd, iopt,
                    ids_path, (long long)n, experts);
            rc = CLI_EXIT_DATA;
            goto out;
        }
        /* Every id once in the whole file (the library sees one block at a time). */
        all_ids = malloc((size_t)(n ? n : 1) * sizeof *all_ids);
        sorted = malloc((size_t)(n ? n : 1) * sizeof *sorted);
        if (!all_ids || !sorted) {
            rc = cli_fail(cmd, MVKE_ERR_NOMEM, "reading the ids");
            goto out;
        }
        if ((st = mvke_npy_read_i64(fid, 0, n, all_ids)) != MVKE_OK) {
            rc = cli_fail(cmd, st, iopt);
            goto out;
        }
        memcpy(sorted, all_ids, (size_t)n * sizeof *sorted);
        qsort(sorted, (size_t)n, sizeof *sorted, cmp_i64);
        for (int64_t i = 1; i < n; i++)
            if (sorted[i] == sorted[i - 1]) {
                fprintf(stderr, "mvke %s: %s: %s: MVKE_ERR_DUPLICATE: id %lld appears more than once\n", cmd, iopt,
                        ids_path, (long long)sorted[i]);
                rc = CLI_EXIT_DATA;
                goto out;
            }
    }
    int64_t before = 0, replaced = 0;
    mvke_index_count(users, &before);
    x = malloc((size_t)BLOCK_USERS * (size_t)K * (size_t)d * sizeof *x);
    auto_ids = malloc((size_t)BLOCK_USERS * sizeof *auto_ids);
    if (!x || !auto_ids) {
        rc = cli_fail(cmd, MVKE_ERR_NOMEM, "reading the users");
        goto out;
    }
    for (int64_t first = 0; first < n; first += BLOCK_USERS) {
        const int64_t m = n - first < BLOCK_USERS ? n - first : BLOCK_USERS;
        if ((st = mvke_npy_read_f32(fx, first, m, x)) != MVKE_OK) {
            rc = cli_fail(cmd, st, xopt);
            goto out;
        }
        const int64_t *ids = all_ids ? all_ids + first : NULL;
        if (!ids) { /* count .. count+n-1 over the whole file */
            for (int64_t i = 0; i < m; i++) auto_ids[i] = before + first + i;
            ids = auto_ids;
        }
        if (upsert)
            for (int64_t i = 0; i < m; i++) {
                int yes = 0;
                mvke_index_contains(users, ids[i], &yes);
                replaced += yes;
            }
        st = upsert ? mvke_index_upsert(users, m, ids, x) : mvke_index_add(users, m, ids, x);
        if (st != MVKE_OK) {
            rc = row_fail(cmd, st, first, experts, ids_path);
            goto out;
        }
    }
    *added = n - replaced;
    *replaced_out = replaced;
out:
    if (fx) mvke_npy_close(fx);
    if (fid) mvke_npy_close(fid);
    free(x);
    free(all_ids);
    free(sorted);
    free(auto_ids);
    return rc;
}

/* add (upsert = 0) or upsert (1) the rows of experts (and ids) into the index file. */
static int add_rows(const char *cmd, int upsert, int argc, char **argv) {
    const char *index = NULL, *experts = NULL, *ids_path = NULL;
    const cli_option options[] = {
        {.metavar = "INDEX", .help = "the index file, rewritten in place (atomically)", .kind = CLI_POSITIONAL,
         .dst = &index, .required = 1},
        {.name = "--experts", .metavar = "X.npy", .help = "user experts, shape (n, K, d) of the index, float32, float64 or float16",
         .kind = CLI_STRING, .dst = &experts, .required = 1},
        {.name = "--ids", .metavar = "IDS.npy",
         .help = upsert ? "user ids, shape (n,), integers, distinct; present ids are replaced"
                        : "user ids, shape (n,), integers, distinct and not in the index\n(default: count .. count+n-1)",
         .kind = CLI_STRING, .dst = &ids_path, .required = upsert},
    };
    const cli_spec add_spec = {"mvke add", "Adds users to an index file: rows are appended, the tags and storage kept.",
                               "Output (stdout): added<TAB>N and users<TAB>TOTAL lines.\n", options, CLI_NOPTIONS(options)};
    const cli_spec upsert_spec = {"mvke upsert",
                                  "Adds new users and replaces present ones (by id) in an index file; the tags and\n"
                                  "storage are kept.\n",
                                  "Output (stdout): added<TAB>N, replaced<TAB>M and users<TAB>TOTAL lines.\n", options,
                                  CLI_NOPTIONS(options)};
    int rc;
    if (!cli_parse(upsert ? &upsert_spec : &add_spec, argc, argv, &rc)) return rc;
    mvke_index *users = NULL;
    mvke_tags *tags = NULL;
    if ((rc = open_index(cmd, index, &users, &tags)) != CLI_EXIT_OK) goto out;
    int64_t added = 0, replaced = 0, after = 0;
    if ((rc = apply_rows(cmd, users, index, experts, ids_path, "--experts", "--ids", upsert, &added, &replaced)) != CLI_EXIT_OK) goto out;
    if ((rc = save_index(cmd, index, users, tags)) != CLI_EXIT_OK) goto out;
    mvke_index_count(users, &after);
    printf("added\t%lld\n", (long long)added);
    if (upsert) printf("replaced\t%lld\n", (long long)replaced);
    printf("users\t%lld\n", (long long)after);
    rc = cli_finish_stdout_committed(cmd, index);
out:
    mvke_index_free(users);
    mvke_tags_free(tags);
    return rc;
}

int cli_cmd_add(int argc, char **argv) { return add_rows("add", 0, argc, argv); }

int cli_cmd_upsert(int argc, char **argv) { return add_rows("upsert", 1, argc, argv); }

/* Removes the ids read from path (option opt: a .npy or a text file) from users; *removed
 * receives the count. Returns an exit status (errors printed); on error nothing is removed. */
static int apply_remove(const char *cmd, mvke_index *users, const char *opt, const char *path, int64_t *removed) {
    int64_t *ids = NULL, n = 0;
    int rc = cli_arg_read_ids(cmd, opt, path, &ids, &n);
    if (rc != CLI_EXIT_OK) return rc;
    mvke_status st = mvke_index_remove(users, n, ids);
    free(ids);
    if (st != MVKE_OK) {
        int64_t r[2];
        int nr = 0;
        char msg[2048];
        mvke_last_error_rows(r, &nr);
        /* rows of a text file are not its lines (comments, blanks): say how they count */
        if (nr >= 1) snprintf(msg, sizeof msg, "%s %s (rows count its ids from 0, not its lines)", opt, path);
        else snprintf(msg, sizeof msg, "%s %s", opt, path);
        return cli_fail(cmd, st, msg);
    }
    *removed = n;
    return CLI_EXIT_OK;
}

int cli_cmd_remove(int argc, char **argv) {
    const char *index = NULL, *ids_npy = NULL, *ids_file = NULL;
    const cli_option options[] = {
        {.metavar = "INDEX", .help = "the index file, rewritten in place (atomically)", .kind = CLI_POSITIONAL,
         .dst = &index, .required = 1},
        {.name = "--ids", .metavar = "IDS.npy", .help = "the ids to remove, shape (n,), integers", .kind = CLI_STRING,
         .dst = &ids_npy, .required = 1, .group = 1},
        {.name = "--ids-file", .metavar = "F", .help = "the ids to remove, a text file of one id a line ('#' comments)",
         .kind = CLI_STRING, .dst = &ids_file, .required = 1, .group = 1},
    };
    const cli_spec spec = {"mvke remove",
                           "Removes users from an index file: every id must be present and given once. The last\n"
                           "row moves into each removed row's place; the tags and storage are kept.\n",
                           "Output (stdout): removed<TAB>N and users<TAB>TOTAL lines.\n", options, CLI_NOPTIONS(options)};
    int rc;
    if (!cli_parse(&spec, argc, argv, &rc)) return rc;
    mvke_index *users = NULL;
    mvke_tags *tags = NULL;
    int64_t removed = 0, after = 0;
    if ((rc = open_index("remove", index, &users, &tags)) != CLI_EXIT_OK) goto out;
    if ((rc = apply_remove("remove", users, ids_npy ? "--ids" : "--ids-file", ids_npy ? ids_npy : ids_file, &removed)) !=
        CLI_EXIT_OK)
        goto out;
    if ((rc = save_index("remove", index, users, tags)) != CLI_EXIT_OK) goto out;
    mvke_index_count(users, &after);
    printf("removed\t%lld\nusers\t%lld\n", (long long)removed, (long long)after);
    rc = cli_finish_stdout_committed("remove", index);
out:
    mvke_index_free(users);
    mvke_tags_free(tags);
    return rc;
}

int cli_cmd_update(int argc, char **argv) {
    const char *index = NULL, *rm_npy = NULL, *rm_file = NULL, *up_x = NULL, *up_ids = NULL, *add_x = NULL,
               *add_ids = NULL;
    const cli_option options[] = {
        {.metavar = "INDEX", .help = "the index file, rewritten in place (atomically), once", .kind = CLI_POSITIONAL,
         .dst = &index, .required = 1},
        {.name = "--remove", .metavar = "IDS.npy", .help = "first: remove these ids (integers, shape (n,))", .kind = CLI_STRING,
         .dst = &rm_npy, .group = 1},
        {.name = "--remove-file", .metavar = "F", .help = "first: remove the ids of this text file, one a line",
         .kind = CLI_STRING, .dst = &rm_file, .group = 1},
        {.name = "--upsert", .metavar = "X.npy", .help = "then: add or replace these users (n, K, d)", .kind = CLI_STRING,
         .dst = &up_x, .needs = "--upsert-ids"},
        {.name = "--upsert-ids", .metavar = "IDS.npy", .help = "their ids", .kind = CLI_STRING, .dst = &up_ids,
         .needs = "--upsert"},
        {.name = "--add", .metavar = "X.npy", .help = "last: add these new users (n, K, d)", .kind = CLI_STRING,
         .dst = &add_x},
        {.name = "--add-ids", .metavar = "IDS.npy", .help = "their ids (default: count onwards)", .kind = CLI_STRING,
         .dst = &add_ids, .needs = "--add"},
    };
    const cli_spec spec = {"mvke update",
                           "A daily update in one rewrite of the index file: removes, then upserts, then adds\n"
                           "(the same as mvke remove, upsert and add in that order, each all or nothing; here the\n"
                           "file is written once, at the end, and left as it was on any error).\n",
                           "Output (stdout): removed, added, replaced and users lines (key<TAB>count).\n", options,
                           CLI_NOPTIONS(options)};
    int rc;
    if (!cli_parse(&spec, argc, argv, &rc)) return rc;
    if (!rm_npy && !rm_file && !up_x && !add_x) return cli_usage_error(&spec, "give --remove, --upsert or --add");
    mvke_index *users = NULL;
    mvke_tags *tags = NULL;
    int64_t removed = 0, added = 0, replaced = 0, a2 = 0, r2 = 0, after = 0;
    if ((rc = open_index("update", index, &users, &tags)) != CLI_EXIT_OK) goto out;
    if ((rm_npy || rm_file) &&
        (rc = apply_remove("update", users, rm_npy ? "--remove" : "--remove-file", rm_npy ? rm_npy : rm_file, &removed)) !=
            CLI_EXIT_OK)
        goto out;
    if (up_x && (rc = apply_rows("update", users, index, up_x, up_ids, "--upsert", "--upsert-ids", 1, &added, &replaced)) !=
                    CLI_EXIT_OK)
        goto out;
    if (add_x && (rc = apply_rows("update", users, index, add_x, add_ids, "--add", "--add-ids", 0, &a2, &r2)) != CLI_EXIT_OK)
        goto out;
    if ((rc = save_index("update", index, users, tags)) != CLI_EXIT_OK) goto out;
    mvke_index_count(users, &after);
    printf("removed\t%lld\nadded\t%lld\nreplaced\t%lld\nusers\t%lld\n", (long long)removed, (long long)(added + a2),
           (long long)replaced, (long long)after);
    rc = cli_finish_stdout_committed("update", index);
out:
    mvke_index_free(users);
    mvke_tags_free(tags);
    return rc;
}
