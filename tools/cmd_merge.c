/*
 * cmd_merge.c - `mvke merge -o OUT A.mvke B.mvke ...`: one index file holding the users of
 * several, which must have the same K, d, row storage and tag table (tasks, their experts, and
 * every tag's id, name, parent, q and w). The users of A come first, in A's storage order, then
 * those of B, and so on. A user id in two inputs is an error that names it and both files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "outputs.h"
#include "support/options.h"
#include "sigbus.h"

#define BLOCK_USERS 65536
#define MAX_INPUTS 256

typedef struct inputs {
    const char *path[MAX_INPUTS];
    int n;
} inputs;

static int add_input(const char *v, void *dst, char *msg, size_t cap) {
    inputs *in = dst;
    if (in->n == MAX_INPUTS) {
        snprintf(msg, cap, "more than %d inputs", MAX_INPUTS);
        return -1;
    }
    in->path[in->n++] = v;
    return 0;
}

/* 0 when the two tag tables hold the same tasks and tags; else 1 with what differs in msg. */
static int tags_differ(const mvke_tags *a, const mvke_tags *b, int K, int d, char *msg, size_t cap) {
    int na, nb;
    mvke_tags_ntasks(a, &na);
    mvke_tags_ntasks(b, &nb);
    if (na != nb) return snprintf(msg, cap, "%d tasks, not %d", nb, na), 1;
    int differ = 0;
    float *qa = malloc((size_t)(d + K) * 2 * sizeof *qa);
    if (!qa) return snprintf(msg, cap, "out of memory comparing the tags"), 1;
    float *qb = qa + d + K;
    for (int t = 0; t < na && !differ; t++) {
        const char *ta, *tb;
        const int *ea, *eb;
        int nea, neb;
        mvke_tags_task(a, t, &ta, &ea, &nea);
        mvke_tags_task(b, t, &tb, &eb, &neb);
        if (strcmp(ta, tb) || nea != neb || memcmp(ea, eb, (size_t)nea * sizeof *ea)) {
            snprintf(msg, cap, "task %d is \"%s\" with other experts or another name than \"%s\"", t, tb, ta);
            differ = 1;
            break;
        }
        int64_t ca = 0, cb = 0;
        mvke_tags_count(a, ta, &ca);
        mvke_tags_count(b, ta, &cb);
        if (ca != cb) {
            snprintf(msg, cap, "task \"%s\" has %lld tags, not %lld", ta, (long long)cb, (long long)ca);
            differ = 1;
            break;
        }
        int64_t *ids = malloc((size_t)(ca ? ca : 1) * sizeof *ids);
        if (!ids) {
            snprintf(msg, cap, "out of memory comparing the tags");
            differ = 1;
            break;
        }
        mvke_tags_ids(a, ta, ids);
        for (int64_t i = 0; i < ca && !differ; i++) {
            const char *name_a, *name_b;
            int64_t pa, pb;
            if (mvke_tags_get(b, ta, ids[i], &name_b, &pb, qb, qb + d) != MVKE_OK) {
                snprintf(msg, cap, "task \"%s\" has no tag %lld", ta, (long long)ids[i]);
                differ = 1;
                break;
            }
            mvke_tags_get(a, ta, ids[i], &name_a, &pa, qa, qa + d);
            if (pa != pb || strcmp(name_a ? name_a : "", name_b ? name_b : "") ||
                memcmp(qa, qb, (size_t)(d + K) * sizeof *qa)) {
                snprintf(msg, cap, "tag %lld of task \"%s\" has another name, parent, embedding or gates", (long long)ids[i], ta);
                differ = 1;
            }
        }
        free(ids);
    }
    free(qa);
    return differ;
}

int cli_cmd_merge(int argc, char **argv) {
    const char *out_path = NULL;
    inputs in = {{0}, 0};
    int force = 0;
    const cli_option options[] = {
        {.name = "-o", .metavar = "OUT", .help = "the merged index file (written through a temporary file and renamed)",
         .kind = CLI_STRING, .dst = &out_path, .required = 1},
        {.metavar = "INDEX", .help = "the index files to merge, two or more", .kind = CLI_POSITIONAL, .dst = &in,
         .required = 1, .repeat = 1, .parse = add_input},
        {.name = "--force", .help = "replace OUT even when it exists and is not an index file",
         .kind = CLI_FLAG, .dst = &force},
    };
    const cli_spec spec = {"mvke merge",
                           "Merges index files of the same K, d, storage, score and tag table into OUT: the users of the\n"
                           "first, then those of the next, in their storage order. A user id in two inputs is an\n"
                           "error naming it.\n",
                           "Output (stdout): users<TAB>TOTAL and one input<TAB>FILE<TAB>USERS line per input.\n", options,
                           CLI_NOPTIONS(options)};
    int rc;
    if (!cli_parse(&spec, argc, argv, &rc)) return rc;
    if (in.n < 2) return cli_usage_error(&spec, "give two or more index files to merge");
    if ((rc = cli_output_replace_check("merge", out_path, in.path, in.n, CLI_KIND_INDEX, force)) != 0) return rc;
    mvke_index *users[MAX_INPUTS] = {0};
    mvke_tags *tags[MAX_INPUTS] = {0};
    float *x = NULL;
    int64_t *ids = NULL;
    mvke_status st;
    char msg[2048];
    rc = CLI_EXIT_OK;
    int K0 = 0, d0 = 0;
    mvke_storage s0 = MVKE_STORAGE_F32;
    for (int i = 0; i < in.n; i++) {
        cli_sigbus_index(in.path[i]);
        if ((rc = cli_verify_before_copy("merge", in.path[i])) != CLI_EXIT_OK) goto out;
        if ((st = mvke_file_open(in.path[i], MVKE_FILE_OPEN_DEFAULT, &users[i], &tags[i])) != MVKE_OK) {
            rc = cli_fail("merge", st, in.path[i]);
            goto out;
        }
        int K, dd;
        mvke_storage s;
        mvke_index_shape(users[i], &K, &dd, &s);
        if (i == 0) {
            K0 = K, d0 = dd, s0 = s;
            continue;
        }
        if (K != K0 || dd != d0 || s != s0) {
            fprintf(stderr, "mvke merge: %s has K = %d, d = %d, %s rows but %s has K = %d, d = %d, %s rows\n", in.path[i],
                    K, dd, mvke_storage_name(s), in.path[0], K0, d0, mvke_storage_name(s0));
            rc = CLI_EXIT_DATA;
            goto out;
        }
        mvke_score c0, ci;
        mvke_index_score(users[0], &c0);
        mvke_index_score(users[i], &ci);
        if (c0 != ci) {
            fprintf(stderr, "mvke merge: %s scores by %s but %s by %s: a merged index keeps one score\n", in.path[i],
                    mvke_score_name(ci), in.path[0], mvke_score_name(c0));
            rc = CLI_EXIT_DATA;
            goto out;
        }
        mvke_index_footprint f0, fi;
        mvke_index_describe(users[0], &f0);
        mvke_index_describe(users[i], &fi);
        if (fi.pq_m != f0.pq_m || fi.training != f0.training || fi.refine != f0.refine) {
            fprintf(stderr,
                    "mvke merge: %s and %s hold %s codes of different %s: a merged index encodes every row "
                    "alike (build one index from both exports, or merge indexes built with one training)\n",
                    in.path[0], in.path[i], mvke_storage_name(s),
                    fi.refine != f0.refine ? "kinds (one keeps float32 rows, one does not)" : "trainings");
            rc = CLI_EXIT_DATA;
            goto out;
        }
        if (tags_differ(tags[0], tags[i], K, dd, msg, sizeof msg)) {
            fprintf(stderr, "mvke merge: %s and %s have different tag tables: in %s, %s\n", in.path[0], in.path[i],
                    in.path[i], msg);
            rc = CLI_EXIT_DATA;
            goto out;
        }
    }
    /* Duplicates first, over every input, so that the message names them all (up to 10). */
    int64_t ndup = 0;
    for (int i = 1; i < in.n; i++) {
        int64_t n = 0;
        mvke_index_count(users[i], &n);
        int64_t *all = malloc((size_t)(n ? n : 1) * sizeof *all);
        if (!all) {
            rc = cli_fail("merge", MVKE_ERR_NOMEM, "reading the ids");
            goto out;
        }
        mvke_index_ids(users[i], all);
        for (int64_t u = 0; u < n; u++)
            for (int j = 0; j < i; j++) {
                int yes = 0;
                mvke_index_contains(users[j], all[u], &yes);
                if (!yes) continue;
                if (ndup++ < 10)
                    fprintf(stderr, "mvke merge: MVKE_ERR_DUPLICATE: user id %lld is in %s and in %s\n", (long long)all[u],
                            in.path[j], in.path[i]);
                break;
            }
        free(all);
    }
    if (ndup) {
        if (ndup > 10) fprintf(stderr, "mvke merge: ... %lld user ids in more than one input in all\n", (long long)ndup);
        rc = CLI_EXIT_DATA;
        goto out;
    }
    x = malloc((size_t)BLOCK_USERS * (size_t)K0 * (size_t)d0 * sizeof *x);
    ids = malloc((size_t)BLOCK_USERS * sizeof *ids);
    if (!x || !ids) {
        rc = cli_fail("merge", MVKE_ERR_NOMEM, "reading the users");
        goto out;
    }
    int64_t first_count = 0;
    mvke_index_count(users[0], &first_count);
    for (int i = 1; i < in.n; i++) {
        int64_t n = 0;
        mvke_index_count(users[i], &n);
        for (int64_t first = 0; first < n; first += BLOCK_USERS) {
            const int64_t m = n - first < BLOCK_USERS ? n - first : BLOCK_USERS;
            if ((st = mvke_index_read_rows(users[i], first, m, ids, x)) != MVKE_OK ||
                (st = mvke_index_add(users[0], m, ids, x)) != MVKE_OK) {
                rc = cli_fail("merge", st, in.path[i]);
                goto out;
            }
        }
    }
    if ((st = mvke_file_save(out_path, users[0], tags[0])) != MVKE_OK) {
        rc = cli_fail("merge", st, "writing the index");
        goto out;
    }
    int64_t total = 0;
    mvke_index_count(users[0], &total);
    printf("users\t%lld\n", (long long)total);
    for (int i = 0; i < in.n; i++) {
        int64_t n = first_count;
        if (i > 0) mvke_index_count(users[i], &n);
        printf("input\t%s\t%lld\n", in.path[i], (long long)n);
    }
    rc = cli_finish_stdout_committed("merge", out_path);
out:
    free(x);
    free(ids);
    for (int i = 0; i < in.n; i++) {
        mvke_index_free(users[i]);
        mvke_tags_free(tags[i]);
    }
    return rc;
}
