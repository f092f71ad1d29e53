/*
 * cmd_tag_all.c - `mvke tag-all`: the top-M tags of every user, streamed to a file.
 *
 * Users are visited by storage position in blocks (mvke_index_read_rows), so memory stays at one
 * block of rows and its results however many users there are; the index file is mapped, not
 * loaded. Output is written as it goes:
 *   - tsv: OUT is a text file with a header line, then user_id task rank tag_id score.
 *   - npy: OUT is a directory holding user_ids.npy (n,) and per task TASK.tag_ids.npy and
 *     TASK.scores.npy (n, M), padded with -1 / -inf where a task has fewer than M tags. The
 *     files are created at full size up front; block b writes its rows in place.
 * Checkpoints: after a block is written and fsynced (at most about once a second), a small
 * sidecar file (OUT.checkpoint, or OUT/checkpoint) is replaced atomically with the position of
 * the next user and the committed output length, plus what identifies the run (index size and
 * fingerprint, M, task, format). --resume checks those, cuts the output back to the committed
 * length and continues from the recorded user, so the result is byte-identical to a run that
 * was never interrupted: each block's output depends only on the index and the block.
 *
 * Under mpirun (or with --shards), rank r writes the part OUT.part-<r, 5 digits> of its own users
 * (ranks.h): a part of the positions of INDEX, or all of its shard PREFIX.<r>.mvke. Only part 0
 * starts with the tsv header, so the parts concatenated in rank order (`mvke concat`, or cat for
 * tsv) are the single-process output. Each part has its own checkpoint; a part that is done
 * keeps a checkpoint at its end until every rank is done, so that a rerun with --resume after
 * any rank failed continues every part and skips the finished ones.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "progress.h"
#include "ranks.h"

#include "../mpi/dist.h"

static const char *USAGE =
    "mvke tag-all (INDEX | --shards PREFIX) --top M -o OUT [--task NAME] [--format tsv|npy] [--resume] "
    "[--block-users N] [--checkpoint-every S]";

typedef struct run {
    const char *index, *out, *task;
    char out_part[4096]; /* OUT.part-<rank> when the users are split over ranks */
    int parts;           /* whether they are */
    int npy;
    long long top, block;
    mvke_file_info fi;
    mvke_index *users;
    mvke_tags *tags;
    int ntasks; /* tasks written: 1 with --task */
    const char **task_names;
    int64_t n;      /* users in the opened file */
    int64_t lo, hi; /* the positions this process writes */
    char ckpt[4200];
    /* tsv */
    int fd;
    /* npy */
    int *fds; /* 1 + 2 * ntasks: user ids, then per task tag ids, scores */
    uint64_t *data_off;
} run;

static int io_fail(const char *what, const char *path) {
    fprintf(stderr, "mvke tag-all: %s %s: %s\n", what, path, strerror(errno));
    return MVKE_EXIT_IO;
}

/* The checkpoint's text for a position and output length. */
static int ckpt_text(const run *r, int64_t next, uint64_t bytes, char *buf, size_t cap) {
    char part[128] = "";
    if (r->parts)
        snprintf(part, sizeof part, "part %d of %d: positions %lld-%lld\n", mvke_dist_rank(), mvke_dist_size(),
                 (long long)r->lo, (long long)r->hi);
    return snprintf(buf, cap,
                    "mvke tag-all checkpoint 1\nindex_bytes %llu\nindex_fingerprint %08x\nusers %lld\ntop %lld\n"
                    "task %s\nformat %s\nblock_users %lld\n%snext_user %lld\noutput_bytes %llu\n",
                    (unsigned long long)r->fi.size, r->fi.fingerprint, (long long)r->n, r->top, r->task ? r->task : "*",
                    r->npy ? "npy" : "tsv", r->block, part, (long long)next, (unsigned long long)bytes);
}

static int ckpt_write(const run *r, int64_t next, uint64_t bytes) {
    char text[1024], tmp[4300];
    int len = ckpt_text(r, next, bytes, text, sizeof text);
    snprintf(tmp, sizeof tmp, "%s.tmp", r->ckpt);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return io_fail("cannot create", tmp);
    if (mvke_cli_write_all(fd, text, (size_t)len, -1) != 0 || fsync(fd) != 0) {
        close(fd);
        return io_fail("cannot write", tmp);
    }
    close(fd);
    if (rename(tmp, r->ckpt) != 0) return io_fail("cannot rename to", r->ckpt);
    if (mvke_cli_fsync_dir_of(r->ckpt) != 0) return io_fail("cannot fsync the directory of", r->ckpt);
    return MVKE_EXIT_OK;
}

/* Reads a checkpoint: 0 and the position, 1 when absent, or an exit code + 10 on error. */
static int ckpt_read(const run *r, int64_t *next, uint64_t *bytes) {
    FILE *f = fopen(r->ckpt, "r");
    if (!f) {
        if (errno == ENOENT) return 1;
        return 10 + io_fail("cannot open", r->ckpt);
    }
    char text[2048];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    char *p = strstr(text, "next_user ");
    long long nu;
    unsigned long long ob;
    if (!p || sscanf(p, "next_user %lld\noutput_bytes %llu\n", &nu, &ob) != 2) {
        fprintf(stderr, "mvke tag-all: %s: not a checkpoint of this program\n", r->ckpt);
        return 10 + MVKE_EXIT_DATA;
    }
    char want[1024];
    ckpt_text(r, nu, ob, want, sizeof want);
    if (strcmp(text, want) != 0 || nu < r->lo || nu > r->hi) {
        fprintf(stderr, "mvke tag-all: %s was written by a run with another index, --top, --task, --format, --block-users "
                "or number of ranks; "
                "run without --resume to start over\n", r->ckpt);
        return 10 + MVKE_EXIT_DATA;
    }
    *next = nu;
    *bytes = ob;
    return 0;
}

/* Sanitised file name part of a task name. */
static void task_file(const char *dir, const char *task, const char *suffix, char *buf, size_t cap) {
    char clean[256];
    size_t i = 0;
    for (; task[i] && i < sizeof clean - 1; i++) {
        char c = task[i];
        clean[i] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_') ? c : '_';
    }
    clean[i] = 0;
    snprintf(buf, cap, "%s/%s.%s.npy", dir, clean, suffix);
}

/* Opens (or creates at full size) the npy outputs. */
static int npy_open_outputs(run *r, int resume) {
    const int nf = 1 + 2 * r->ntasks;
    r->fds = calloc((size_t)nf, sizeof *r->fds);
    r->data_off = calloc((size_t)nf, sizeof *r->data_off);
    if (!r->fds || !r->data_off) return mvke_cli_fail("tag-all", MVKE_ERR_NOMEM, "opening the outputs");
    for (int i = 0; i < nf; i++) r->fds[i] = -1;
    if (mkdir(r->out, 0755) != 0 && errno != EEXIST) return io_fail("cannot create the directory", r->out);
    for (int i = 0; i < nf; i++) {
        char path[4400];
        mvke_dtype dt = MVKE_DTYPE_I64;
        int nd = 2;
        int64_t shape[2] = {r->hi - r->lo, r->top};
        if (i == 0) {
            snprintf(path, sizeof path, "%s/user_ids.npy", r->out);
            nd = 1;
        } else {
            task_file(r->out, r->task_names[(i - 1) / 2], (i - 1) % 2 ? "scores" : "tag_ids", path, sizeof path);
            if ((i - 1) % 2) dt = MVKE_DTYPE_F32;
        }
        char head[512];
        size_t hl;
        mvke_npy_header(dt, nd, shape, head, sizeof head, &hl);
        const uint64_t total = hl + (uint64_t)(r->hi - r->lo) * (uint64_t)(nd == 1 ? 1 : r->top) * (dt == MVKE_DTYPE_F32 ? 4 : 8);
        r->data_off[i] = hl;
        r->fds[i] = open(path, O_RDWR | O_CREAT | (resume ? 0 : O_TRUNC), 0644);
        if (r->fds[i] < 0) return io_fail("cannot open", path);
        struct stat sb;
        if (resume && (fstat(r->fds[i], &sb) != 0 || (uint64_t)sb.st_size != total)) {
            fprintf(stderr, "mvke tag-all: %s does not have the size of this run's output; run without --resume\n", path);
            return MVKE_EXIT_DATA;
        }
        if (!resume && (mvke_cli_write_all(r->fds[i], head, hl, 0) != 0 || ftruncate(r->fds[i], (off_t)total) != 0))
            return io_fail("cannot write", path);
    }
    /* Two tasks whose names clean up to the same file would overwrite each other. */
    for (int a = 0; a < r->ntasks; a++)
        for (int b = a + 1; b < r->ntasks; b++) {
            char pa[4400], pb[4400];
            task_file(r->out, r->task_names[a], "x", pa, sizeof pa);
            task_file(r->out, r->task_names[b], "x", pb, sizeof pb);
            if (!strcmp(pa, pb)) {
                fprintf(stderr, "mvke tag-all: tasks \"%s\" and \"%s\" map to the same file names; use --task\n",
                        r->task_names[a], r->task_names[b]);
                return MVKE_EXIT_DATA;
            }
        }
    return MVKE_EXIT_OK;
}

/* Output of one block: appended text (tsv) or rows written in place (npy). */
static int write_block(run *r, int64_t first, int64_t m, const int64_t *ids, mvke_result *res, char **buf,
                       size_t *cap, uint64_t *bytes) {
    if (!r->npy) {
        size_t len = 0;
        for (int64_t u = 0; u < m; u++)
            for (int t = 0; t < r->ntasks; t++) {
                const int64_t *tid;
                const float *sc;
                int64_t n;
                mvke_result_get(res, u * r->ntasks + t, &tid, &sc, &n);
                for (int64_t k = 0; k < n; k++) {
                    if (*cap - len < 600) {
                        size_t nc = *cap * 2 + 4096;
                        char *g = realloc(*buf, nc);
                        if (!g) return mvke_cli_fail("tag-all", MVKE_ERR_NOMEM, "formatting the output");
                        *buf = g;
                        *cap = nc;
                    }
                    len += (size_t)snprintf(*buf + len, *cap - len, "%lld\t%s\t%lld\t%lld\t%.6f\n", (long long)ids[u],
                                            r->task_names[t], (long long)k + 1, (long long)tid[k], (double)sc[k]);
                }
            }
        if (mvke_cli_write_all(r->fd, *buf, len, (off_t)*bytes) != 0) return io_fail("cannot write", r->out);
        *bytes += len;
        return MVKE_EXIT_OK;
    }
    const size_t M = (size_t)r->top;
    if (mvke_cli_write_all(r->fds[0], ids, (size_t)m * 8, (off_t)(r->data_off[0] + (uint64_t)first * 8)) != 0)
        return io_fail("cannot write in", r->out);
    int64_t *ti = malloc((size_t)m * M * sizeof *ti);
    float *ts = malloc((size_t)m * M * sizeof *ts);
    if (!ti || !ts) {
        free(ti);
        free(ts);
        return mvke_cli_fail("tag-all", MVKE_ERR_NOMEM, "formatting the output");
    }
    int rc = MVKE_EXIT_OK;
    for (int t = 0; t < r->ntasks && rc == MVKE_EXIT_OK; t++) {
        for (int64_t u = 0; u < m; u++) {
            const int64_t *tid;
            const float *sc;
            int64_t n;
            mvke_result_get(res, u * r->ntasks + t, &tid, &sc, &n);
            for (size_t k = 0; k < M; k++) {
                ti[(size_t)u * M + k] = (int64_t)k < n ? tid[k] : -1;
                ts[(size_t)u * M + k] = (int64_t)k < n ? sc[k] : -INFINITY;
            }
        }
        const uint64_t row0 = (uint64_t)first * M;
        if (mvke_cli_write_all(r->fds[1 + 2 * t], ti, (size_t)m * M * 8, (off_t)(r->data_off[1 + 2 * t] + row0 * 8)) != 0 ||
            mvke_cli_write_all(r->fds[2 + 2 * t], ts, (size_t)m * M * 4, (off_t)(r->data_off[2 + 2 * t] + row0 * 4)) != 0)
            rc = io_fail("cannot write in", r->out);
    }
    free(ti);
    free(ts);
    return rc;
}

static int sync_outputs(const run *r) {
    if (!r->npy) return fdatasync(r->fd) == 0 ? 0 : io_fail("cannot fsync", r->out);
    for (int i = 0; i < 1 + 2 * r->ntasks; i++)
        if (fdatasync(r->fds[i]) != 0) return io_fail("cannot fsync a file in", r->out);
    return 0;
}

int mvke_cmd_tag_all(int argc, char **argv) {
    if (mvke_arg_wants_help(argc, argv)) {
        printf("usage: %s\n\nThe top-M tags of every user, for every task (or --task only), streamed to OUT.\n"
               "  --top M           tags per user and task\n"
               "  -o OUT            tsv: a file of user_id<TAB>task<TAB>rank<TAB>tag_id<TAB>score lines with a\n"
               "                    header; npy: a directory of user_ids.npy (n,) and, per task,\n"
               "                    TASK.tag_ids.npy (n, M) int64 and TASK.scores.npy (n, M) float32\n"
               "                    (padded with -1 / -inf where a task has fewer than M tags)\n"
               "  --format tsv|npy  output format (default tsv)\n"
               "  --resume          continue an interrupted run from its checkpoint (OUT.checkpoint, or\n"
               "                    OUT/checkpoint for npy); the output is identical to an uninterrupted run\n"
               "  --block-users N   users per block (default 16384): memory is about N * K * d * 4 bytes\n"
               "  --checkpoint-every S  seconds between checkpoints (default 1; 0: after every block)\n"
               "  --shards PREFIX   instead of INDEX: rank r opens its shard PREFIX.<r>.mvke (`mvke shard`)\n"
               "Under mpirun (or with --shards) rank r writes OUT.part-<r> (5 digits) of its users, each part\n"
               "checkpointed and resumed on its own; `mvke concat -o OUT OUT.part-*` joins them into the\n"
               "single-process output (for tsv, cat in rank order does the same).\n"
               "Progress goes to stderr: a bar with users/s and ETA on a terminal, a line every 5 s otherwise.\n",
               USAGE);
        return MVKE_EXIT_OK;
    }
    run r;
    memset(&r, 0, sizeof r);
    r.fd = -1;
    r.block = 16384;
    const char *top_s = NULL, *fmt = "tsv", *block_s = NULL, *every_s = NULL, *shards = NULL;
    mvke_rank_users ru = {0};
    float every = 1.0f;
    int resume = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int k;
        if ((k = mvke_arg_take(argc, argv, &i, "--top", &v))) top_s = v;
        else if ((k = mvke_arg_take(argc, argv, &i, "-o", &v))) r.out = v;
        else if ((k = mvke_arg_take(argc, argv, &i, "--task", &v))) r.task = v;
        else if ((k = mvke_arg_take(argc, argv, &i, "--format", &v))) fmt = v;
        else if ((k = mvke_arg_take(argc, argv, &i, "--block-users", &v))) block_s = v;
        else if ((k = mvke_arg_take(argc, argv, &i, "--checkpoint-every", &v))) every_s = v;
        else if ((k = mvke_arg_take(argc, argv, &i, "--shards", &v))) shards = v;
        else if (!strcmp(argv[i], "--resume")) resume = 1, k = 1;
        else if (argv[i][0] == '-' || r.index) return mvke_cli_usage("tag-all", USAGE, "unexpected argument '%s'", argv[i]);
        else r.index = argv[i], k = 1;
        if (k < 0) return mvke_cli_usage("tag-all", USAGE, "%s needs a value", argv[i]);
    }
    if (!r.index == !shards) return mvke_cli_usage("tag-all", USAGE, "give exactly one of INDEX and --shards");
    if (!top_s || !r.out) return mvke_cli_usage("tag-all", USAGE, "--top and -o are required");
    if (mvke_cli_parse_i64(top_s, &r.top) != 0 || r.top < 1 || r.top > 100000)
        return mvke_cli_usage("tag-all", USAGE, "--top must be an integer in 1-100000");
    if (block_s && (mvke_cli_parse_i64(block_s, &r.block) != 0 || r.block < 1 || r.block > 1 << 22))
        return mvke_cli_usage("tag-all", USAGE, "--block-users must be an integer in 1-4194304");
    if (every_s && (mvke_cli_parse_float(every_s, &every) != 0 || every < 0))
        return mvke_cli_usage("tag-all", USAGE, "--checkpoint-every must be a number of seconds >= 0");
    if (strcmp(fmt, "tsv") && strcmp(fmt, "npy")) return mvke_cli_usage("tag-all", USAGE, "--format must be tsv or npy");
    r.npy = !strcmp(fmt, "npy");
    r.parts = shards || mvke_dist_active();
    if (r.parts) {
        snprintf(r.out_part, sizeof r.out_part, "%s.part-%05d", r.out, mvke_dist_rank());
        r.out = r.out_part;
    }
    snprintf(r.ckpt, sizeof r.ckpt, r.npy ? "%s/checkpoint" : "%s.checkpoint", r.out);

    int rc = MVKE_EXIT_OK;
    mvke_status st;
    float *x = NULL;
    int64_t *ids = NULL;
    char *text = NULL;
    size_t text_cap = 0;
    if ((rc = mvke_rank_open("tag-all", r.index, shards, 0, &ru)) != MVKE_EXIT_OK) goto out;
    r.index = ru.path;
    r.users = ru.file;
    r.tags = ru.tags;
    r.lo = ru.first;
    r.hi = ru.first + ru.n;
    if ((st = mvke_file_inspect(r.index, &r.fi)) != MVKE_OK) {
        rc = mvke_cli_fail("tag-all", st, r.index);
        goto out;
    }
    mvke_index_count(r.users, &r.n);
    /* A score's last bits depend on the block a user is scored in (the product routine and
     * tiles follow the block's size), so parts equal one process when blocks are cut where one
     * process cuts them: at multiples of N from the start of the file. */
    if (!shards && r.parts && (r.lo % r.block != 0 || (r.hi != r.n && r.hi % r.block != 0)))
        fprintf(stderr, "mvke tag-all: warning: --block-users %lld does not divide this part's bounds (%lld-%lld): "
                "scores may differ from one process's in the last digit; use a power of two up to %d\n",
                r.block, (long long)r.lo, (long long)r.hi, MVKE_INDEX_BLOCK_ROWS);
    int all_tasks;
    mvke_tags_ntasks(r.tags, &all_tasks);
    r.task_names = calloc((size_t)(all_tasks ? all_tasks : 1), sizeof *r.task_names);
    if (r.task) {
        int found = 0;
        for (int t = 0; t < all_tasks; t++) {
            const char *nm;
            mvke_tags_task(r.tags, t, &nm, NULL, NULL);
            found |= !strcmp(nm, r.task);
        }
        if (!found) {
            fprintf(stderr, "mvke tag-all: --task: MVKE_ERR_UNKNOWN_TASK: task \"%s\" is not in %s\n", r.task, r.index);
            rc = MVKE_EXIT_DATA;
            goto out;
        }
        r.ntasks = 1;
        r.task_names[0] = r.task;
    } else {
        r.ntasks = all_tasks;
        for (int t = 0; t < all_tasks; t++) mvke_tags_task(r.tags, t, &r.task_names[t], NULL, NULL);
    }
    int K, d;
    mvke_index_shape(r.users, &K, &d, NULL);

    int64_t next = r.lo;
    uint64_t bytes = 0;
    if (resume) {
        int c = ckpt_read(&r, &next, &bytes);
        if (c >= 10) {
            rc = c - 10;
            goto out;
        }
        if (c == 1) {
            struct stat sb;
            if (stat(r.out, &sb) == 0) {
                fprintf(stderr, "mvke tag-all: --resume: %s exists but %s does not: the run finished or was not "
                        "started with this output; run without --resume to start over\n", r.out, r.ckpt);
                rc = MVKE_EXIT_USAGE;
                goto out;
            }
            resume = 0; /* nothing to resume: start */
        }
    }
    if (!resume && unlink(r.ckpt) != 0 && errno != ENOENT && errno != ENOTDIR) {
        rc = io_fail("cannot remove the old", r.ckpt);
        goto out;
    }
    if (r.npy) {
        if ((rc = npy_open_outputs(&r, resume)) != MVKE_EXIT_OK) goto out;
    } else {
        r.fd = open(r.out, O_WRONLY | O_CREAT | (resume ? 0 : O_TRUNC), 0644);
        if (r.fd < 0) {
            rc = io_fail("cannot open", r.out);
            goto out;
        }
        if (resume) {
            struct stat sb;
            if (fstat(r.fd, &sb) != 0 || (uint64_t)sb.st_size < bytes) {
                fprintf(stderr, "mvke tag-all: %s is shorter than its checkpoint says (%llu bytes); run without --resume\n",
                        r.out, (unsigned long long)bytes);
                rc = MVKE_EXIT_DATA;
                goto out;
            }
            if (ftruncate(r.fd, (off_t)bytes) != 0) {
                rc = io_fail("cannot truncate", r.out);
                goto out;
            }
        } else if (mvke_dist_rank() == 0) { /* the other parts continue part 0 */
            static const char head[] = "user_id\ttask\trank\ttag_id\tscore\n";
            if (mvke_cli_write_all(r.fd, head, sizeof head - 1, 0) != 0) {
                rc = io_fail("cannot write", r.out);
                goto out;
            }
            bytes = sizeof head - 1;
        }
    }
    if (!resume && (rc = ckpt_write(&r, r.lo, bytes)) != MVKE_EXIT_OK) goto out;

    const int64_t B = r.block;
    x = malloc((size_t)B * (size_t)K * (size_t)d * sizeof *x);
    ids = malloc((size_t)B * sizeof *ids);
    if (!x || !ids) {
        rc = mvke_cli_fail("tag-all", MVKE_ERR_NOMEM, "allocating a block");
        goto out;
    }
    mvke_progress prog;
    mvke_progress_start(&prog, "users", next - r.lo, r.hi - r.lo);
    double last_ckpt = mvke_progress_now();
    if (next > r.lo)
        fprintf(stderr, "mvke tag-all: resuming at user position %lld of %lld\n", (long long)next, (long long)r.hi);
    for (int64_t first = next; first < r.hi; first += B) {
        const int64_t m = r.hi - first < B ? r.hi - first : B;
        mvke_result *res = NULL;
        if ((st = mvke_index_read_rows(r.users, first, m, ids, x)) != MVKE_OK ||
            (st = mvke_user_tags_top_rows(r.tags, r.task, m, x, r.top, &res)) != MVKE_OK) {
            rc = mvke_cli_fail("tag-all", st, "scoring a block");
            goto out;
        }
        rc = write_block(&r, first - r.lo, m, ids, res, &text, &text_cap, &bytes);
        mvke_result_free(res);
        if (rc != MVKE_EXIT_OK) goto out;
        const double now = mvke_progress_now();
        if (now - last_ckpt >= every && first + m < r.hi) {
            if ((rc = sync_outputs(&r)) != 0 || (rc = ckpt_write(&r, first + m, bytes)) != MVKE_EXIT_OK) goto out;
            last_ckpt = now;
        }
        mvke_progress_update(&prog, first + m - r.lo, 0);
    }
    if ((rc = sync_outputs(&r)) != 0) goto out;
    /* A finished part waits, checkpointed at its end, until every part is finished. */
    if (r.parts && next < r.hi && (rc = ckpt_write(&r, r.hi, bytes)) != MVKE_EXIT_OK) goto out;
    if (mvke_dist_barrier() != 0) {
        rc = MVKE_EXIT_FAIL;
        goto out;
    }
    if (unlink(r.ckpt) != 0 && errno != ENOENT) {
        rc = io_fail("cannot remove", r.ckpt);
        goto out;
    }
    mvke_cli_fsync_dir_of(r.ckpt);
    mvke_progress_end(&prog, r.hi - r.lo);
out:
    if (r.fd >= 0 && close(r.fd) != 0 && rc == MVKE_EXIT_OK) rc = io_fail("cannot close", r.out);
    for (int i = 0; r.fds && i < 1 + 2 * r.ntasks; i++)
        if (r.fds[i] >= 0) close(r.fds[i]);
    free(r.fds);
    free(r.data_off);
    free(r.task_names);
    free(x);
    free(ids);
    free(text);
    mvke_rank_close(&ru);
    return rc;
}
