/*
 * cmd_update.c - `mvke add`, `mvke upsert` and `mvke remove`: the daily update of an index file.
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
#include "options.h"

/* Users read per block: memory beyond the index is one block of rows. */
#define BLOCK_USERS 65536

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Opens INDEX for a change. Writing back goes through a rename, so INDEX (an input too) is never
 * written in place; the checks of an output path against the inputs belong to the output code of
 * tools/ and are to be called here once they exist. */
static int open_index(const char *cmd, const char *path, mvke_index **users, mvke_tags **tags) {
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

/* add (upsert = 0) or upsert (1) the rows of experts (and ids) into the index file. */
static int add_rows(const char *cmd, int upsert, int argc, char **argv) {
    const char *index = NULL, *experts = NULL, *ids_path = NULL;
    const cli_option options[] = {
        {.metavar = "INDEX", .help = "the index file, rewritten in place (atomically)", .kind = CLI_POSITIONAL,
         .dst = &index, .required = 1},
        {.name = "--experts", .metavar = "X.npy", .help = "user experts, shape (n, K, d) of the index, float32 or float16",
         .kind = CLI_STRING, .dst = &experts, .required = 1},
        {.name = "--ids", .metavar = "IDS.npy",
         .help = upsert ? "user ids, shape (n,), int64, distinct; present ids are replaced"
                        : "user ids, shape (n,), int64, distinct and not in the index\n(default: count .. count+n-1)",
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
    mvke_npy *fx = NULL, *fid = NULL;
    float *x = NULL;
    int64_t *all_ids = NULL, *sorted = NULL, *auto_ids = NULL;
    mvke_status st;
    if ((rc = open_index(cmd, index, &users, &tags)) != CLI_EXIT_OK) goto out;
    int K, d;
    mvke_index_shape(users, &K, &d, NULL);
    if ((st = mvke_npy_open(&fx, experts)) != MVKE_OK) {
        rc = cli_fail(cmd, st, "--experts");
        goto out;
    }
    mvke_dtype dt;
    int nd;
    int64_t sx[MVKE_NPY_MAX_DIMS], sid[MVKE_NPY_MAX_DIMS];
    mvke_npy_shape(fx, &dt, &nd, sx);
    if (nd != 3 || dt == MVKE_DTYPE_I64 || sx[1] != K || sx[2] != d) {
        fprintf(stderr, "mvke %s: --experts: %s: expected a float32/float16 array of shape (n, %d, %d) as %s holds%s\n",
                cmd, experts, K, d, index, nd == 3 ? "" : " (not 3-d)");
        if (nd == 3) fprintf(stderr, "mvke %s: --experts: %s has shape (%lld, %lld, %lld)\n", cmd, experts,
                             (long long)sx[0], (long long)sx[1], (long long)sx[2]);
        rc = CLI_EXIT_DATA;
        goto out;
    }
    const int64_t n = sx[0];
    if (ids_path) {
        if ((st = mvke_npy_open(&fid, ids_path)) != MVKE_OK) {
            rc = cli_fail(cmd, st, "--ids");
            goto out;
        }
        mvke_npy_shape(fid, &dt, &nd, sid);
        if (nd != 1 || dt != MVKE_DTYPE_I64 || sid[0] != n) {
            fprintf(stderr, "mvke %s: --ids: %s: expected a 1-d int64 array of %lld ids (the users of %s)\n", cmd,
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
            rc = cli_fail(cmd, st, "--ids");
            goto out;
        }
        memcpy(sorted, all_ids, (size_t)n * sizeof *sorted);
        qsort(sorted, (size_t)n, sizeof *sorted, cmp_i64);
        for (int64_t i = 1; i < n; i++)
            if (sorted[i] == sorted[i - 1]) {
                fprintf(stderr, "mvke %s: --ids: %s: MVKE_ERR_DUPLICATE: id %lld appears more than once\n", cmd,
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
            rc = cli_fail(cmd, st, "--experts");
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
    if ((rc = save_index(cmd, index, users, tags)) != CLI_EXIT_OK) goto out;
    int64_t after = 0;
    mvke_index_count(users, &after);
    printf("added\t%lld\n", (long long)(n - replaced));
    if (upsert) printf("replaced\t%lld\n", (long long)replaced);
    printf("users\t%lld\n", (long long)after);
    rc = cli_finish_stdout(cmd);
out:
    if (fx) mvke_npy_close(fx);
    if (fid) mvke_npy_close(fid);
    free(x);
    free(all_ids);
    free(sorted);
    free(auto_ids);
    mvke_index_free(users);
    mvke_tags_free(tags);
    return rc;
}

int cli_cmd_add(int argc, char **argv) { return add_rows("add", 0, argc, argv); }

int cli_cmd_upsert(int argc, char **argv) { return add_rows("upsert", 1, argc, argv); }

int cli_cmd_remove(int argc, char **argv) {
    const char *index = NULL, *ids_npy = NULL, *ids_file = NULL;
    const cli_option options[] = {
        {.metavar = "INDEX", .help = "the index file, rewritten in place (atomically)", .kind = CLI_POSITIONAL,
         .dst = &index, .required = 1},
        {.name = "--ids", .metavar = "IDS.npy", .help = "the ids to remove, shape (n,), int64", .kind = CLI_STRING,
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
    int64_t *ids = NULL, n = 0;
    const char *opt = ids_npy ? "--ids" : "--ids-file", *path = ids_npy ? ids_npy : ids_file;
    if ((rc = cli_arg_read_ids("remove", opt, path, &ids, &n)) != CLI_EXIT_OK) goto out;
    if ((rc = open_index("remove", index, &users, &tags)) != CLI_EXIT_OK) goto out;
    mvke_status st = mvke_index_remove(users, n, ids);
    if (st != MVKE_OK) {
        int64_t r[2];
        int nr = 0;
        char msg[2048];
        mvke_last_error_rows(r, &nr);
        /* rows of a text file are not its lines (comments, blanks): name the id's entry */
        if (nr >= 1) snprintf(msg, sizeof msg, "%s %s, id number %lld", opt, path, (long long)r[0] + 1);
        else snprintf(msg, sizeof msg, "%s %s", opt, path);
        rc = cli_fail("remove", st, msg);
        goto out;
    }
    if ((rc = save_index("remove", index, users, tags)) != CLI_EXIT_OK) goto out;
    int64_t after = 0;
    mvke_index_count(users, &after);
    printf("removed\t%lld\nusers\t%lld\n", (long long)n, (long long)after);
    rc = cli_finish_stdout("remove");
out:
    free(ids);
    mvke_index_free(users);
    mvke_tags_free(tags);
    return rc;
}
