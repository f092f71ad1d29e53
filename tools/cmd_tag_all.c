/*
 * cmd_tag_all.c - `mvke tag-all`: the top-M tags of every user, streamed to a file; the driver.
 *
 * Users are visited by storage position in blocks (mvke_index_read_rows), so memory stays at one
 * block of rows and its results however many users there are; the index file is mapped, not
 * loaded. Each block is scored, written (tag_all_output.c) and, at most about once a second,
 * made durable and recorded in a checkpoint (tag_all_checkpoint.c), from which --resume
 * continues; the result is byte-identical to a run that was never interrupted.
 *
 * Under mpirun (or with --shards), rank r writes the part OUT.part-<r, 5 digits> of its own users
 * (ranks.h): a part of the positions of INDEX, or all of its shard PREFIX.<r>.mvke. Only part 0
 * starts with the tsv header, so the parts concatenated in rank order (`mvke concat`, or cat for
 * tsv) are the single-process output. Each part has its own checkpoint; a finished part keeps a
 * checkpoint at its end until every rank is done, so that a rerun with --resume after any rank
 * failed continues every part and skips the finished ones.
 */
#include <errno.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/clock.h"
#include "cli.h"
#include "index/durable.h"
#include "support/options.h"
#include "outputs.h"
#include "progress.h"
#include "ranks.h"
#include "tag_all.h"

#include "../mpi/dist.h"

/* --format: tsv or npy, into an int (1: npy). */
static int parse_format(const char *v, void *dst, char *msg, size_t cap) {
    if (strcmp(v, "tsv") && strcmp(v, "npy")) {
        snprintf(msg, cap, "must be tsv or npy, not '%s'", v);
        return -1;
    }
    *(int *)dst = !strcmp(v, "npy");
    return 0;
}

/* One block's output, written by a thread of its own while the next block is scored: formatting,
 * writing and the periodic fdatasync + checkpoint then overlap the scoring instead of following
 * it (with tsv they took a quarter of the time of a run). */
typedef struct pending_write {
    cli_tag_run *r;
    int64_t first, m; /* users first .. first+m-1 of the part */
    const int64_t *ids;
    mvke_result *res;
    char **text;
    size_t *text_cap;
    uint64_t *bytes;
    int64_t ckpt; /* >= 0: then sync the outputs and record this position in the checkpoint */
    int rc;
    int started; /* 1: a thread runs it; 0: none pending */
    pthread_t thread;
} pending_write;

static void *write_block(void *arg) {
    pending_write *w = arg;
    w->rc = cli_tag_write_block(w->r, w->first, w->m, w->ids, w->res, w->text, w->text_cap, w->bytes);
    if (w->rc == CLI_EXIT_OK && w->ckpt >= 0 &&
        (w->rc = cli_tag_sync_outputs(w->r)) == CLI_EXIT_OK) /* the disk's wait off the scorers' path */
        w->rc = cli_tag_checkpoint_write(w->r, w->ckpt, *w->bytes);
    return NULL;
}

/* Starts writing a block (in this thread when no thread can be started). */
static void write_start(pending_write *w) {
    w->started = pthread_create(&w->thread, NULL, write_block, w) == 0;
    if (!w->started) write_block(w);
}

/* Waits for the block being written, frees its results; returns its exit status. */
static int write_wait(pending_write *w) {
    if (w->started) pthread_join(w->thread, NULL);
    w->started = 0;
    mvke_result_free(w->res);
    w->res = NULL;
    return w->rc;
}

int cli_cmd_tag_all(int argc, char **argv) {
    cli_tag_run r;
    memset(&r, 0, sizeof r);
    r.fd = -1;
    r.block = 0; /* --block-users not given: 16384, or 262144 with --gpu */
    float every = 1.0f;
    int resume = 0, force = 0;
    long long gpu = -2; /* --gpu not given */
    const char *shards = NULL;
    cli_rank_users ru = {0};
    int no_verify = 0;
    long long threads = 0;
    const cli_option options[] = {
        {.metavar = "INDEX", .help = "the index file", .kind = CLI_POSITIONAL, .dst = &r.index, .required = 1, .group = 1},
        {.name = "--shards", .metavar = "PREFIX",
         .help = "instead of INDEX: rank r of an mpirun job opens its shard PREFIX.<r>.mvke\n"
         "(5 digits, from `mvke shard`)", .kind = CLI_STRING, .dst = &shards, .required = 1, .group = 1},
        {.name = "--top", .metavar = "M", .help = "tags per user and task", .kind = CLI_INT, .dst = &r.top,
         .min = 1, .max = 100000, .required = 1},
        {.name = "-o", .metavar = "OUT",
         .help = "tsv: a file of user_id<TAB>task<TAB>rank<TAB>tag_id<TAB>score lines with a\n"
         "header; npy: a directory of user_ids.npy (n,) and, per task,\n"
         "TASK.tag_ids.npy (n, M) int64 and TASK.scores.npy (n, M) float32\n"
         "(padded with -1 / -inf where a task has fewer than M tags)", .kind = CLI_STRING, .dst = &r.out, .required = 1},
        {.name = "--task", .metavar = "NAME", .help = "only this task (default: every task)", .kind = CLI_STRING,
         .dst = &r.task},
        {.name = "--format", .metavar = "tsv|npy", .help = "output format (default tsv)", .kind = CLI_CUSTOM,
         .dst = &r.npy, .parse = parse_format},
        {.name = "--names", .help = "tsv: add a column with the tag's name", .kind = CLI_FLAG, .dst = &r.names},
        {.name = "--prob", .help = "probabilities sigmoid(score) instead of scores: a prob column (tsv),\n"
         "TASK.probs.npy instead of TASK.scores.npy (npy); docs/scores.md", .kind = CLI_FLAG, .dst = &r.prob},
        {.name = "--resume", .metavar = NULL,
         .help = "continue an interrupted run from its checkpoint (OUT.checkpoint, or\n"
         "OUT/checkpoint for npy); the output is identical to an uninterrupted run", .kind = CLI_FLAG, .dst = &resume},
        {.name = "--force", .metavar = NULL, .help = "start over even when OUT.checkpoint says a run was interrupted,\n"
         "and replace an OUT that is not a tag-all output",
         .kind = CLI_FLAG, .dst = &force},
        {.name = "--block-users", .metavar = "N",
         .help = "users per block (default 16384): memory is about N * K * d * 4 bytes", .kind = CLI_INT,
         .dst = &r.block, .min = 1, .max = 1 << 22},
        {.name = "--checkpoint-every", .metavar = "S",
         .help = "seconds between checkpoints (default 1; 0: after every block)", .kind = CLI_FLOAT, .dst = &every,
         .min = 0, .max = INFINITY},
        {.name = "--threads", .metavar = "N", .help = "threads of the search (default 0: OpenMP's default, OMP_NUM_THREADS)",
         .kind = CLI_INT, .dst = &threads, .min = 0, .max = 1 << 16},
        {.name = "--gpu", .metavar = "N", .help = "score on GPU N (default 0; -1: every GPU): the tag rows stay resident\n"
         "there and each block of users is streamed to it (default block 262144)", .kind = CLI_INT, .dst = &gpu, .min = -1, .max = 1 << 20,
         .optional = 1, .implied = 0},
        {.name = "--no-verify", .help = "skip the checksums of the user rows on first use (docs/reliability.md)",
         .kind = CLI_FLAG, .dst = &no_verify},
    };
    const cli_spec spec = {"mvke tag-all",
                           "The top-M tags of every user, for every task (or --task only), streamed to OUT.",
                           "Progress goes to stderr: a bar with users/s and ETA on a terminal, a line every 5 s otherwise.\n"
                           "Under mpirun (or with --shards) rank r writes OUT.part-<r> (5 digits) of its users, each\n"
                           "part checkpointed and resumed on its own; `mvke concat OUT` joins them into\n"
                           "the single-process output (for tsv, cat in rank order does the same).\n",
                           options, CLI_NOPTIONS(options)};
    int prc;
    if (!cli_parse(&spec, argc, argv, &prc)) return prc;
    if (r.names && r.npy) return cli_usage_error(&spec, "--names goes with --format tsv (npy outputs hold ids only)");
    if (!r.block) r.block = gpu > -2 ? 262144 : 16384; /* room for the device's two lanes to overlap */
    r.parts = shards || mvke_dist_active();
    r.rank = mvke_dist_rank();
    r.nranks = mvke_dist_size();
    if (r.parts) {
        snprintf(r.out_part, sizeof r.out_part, "%s.part-%05d", r.out, r.rank);
        r.out = r.out_part;
    }
    snprintf(r.ckpt, sizeof r.ckpt, r.npy ? "%s/checkpoint" : "%s.checkpoint", r.out);
    r.stream = cli_output_is_stdout(r.out);
    if ((prc = cli_tag_check_outputs(&r, resume, force)) != CLI_EXIT_OK) return prc;

    int rc = CLI_EXIT_OK;
    mvke_status st;
    float *x = NULL;
    int64_t *ids = NULL;
    char *text = NULL;
    size_t text_cap = 0;
    pending_write pw = {0};
    if ((rc = cli_rank_open("tag-all", r.index, shards, 0, no_verify ? MVKE_FILE_OPEN_NO_VERIFY : MVKE_FILE_OPEN_DEFAULT, &ru)) != CLI_EXIT_OK) goto out;
    r.index = ru.path;
    r.users = ru.file;
    r.tags = ru.tags;
    r.lo = ru.first;
    r.hi = ru.first + ru.n;
    if ((st = mvke_file_inspect(r.index, &r.fi)) != MVKE_OK) {
        rc = cli_fail("tag-all", st, r.index);
        goto out;
    }
    mvke_tags_set_threads(r.tags, (int)threads);
    if (gpu > -2 && (st = mvke_tags_use_gpu(r.tags, (int)gpu)) != MVKE_OK) {
        rc = cli_fail_gpu("tag-all", st);
        goto out;
    }
    mvke_index_count(r.users, &r.n);
    /* A score's last bits depend on the block a user is scored in (the product routine and tiles
     * follow the block's size), so parts equal one process when blocks are cut where one process
     * cuts them: at multiples of N from the start of the file. */
    if (!shards && r.parts && (r.lo % r.block != 0 || (r.hi != r.n && r.hi % r.block != 0)))
        fprintf(stderr, "mvke tag-all: warning: --block-users %lld does not divide this part's bounds (%lld-%lld): "
                "scores may differ from one process's in the last digit; use a power of two up to %d\n",
                r.block, (long long)r.lo, (long long)r.hi, MVKE_INDEX_BLOCK_ROWS);
    int all_tasks;
    mvke_tags_ntasks(r.tags, &all_tasks);
    r.task_names = calloc((size_t)(all_tasks ? all_tasks : 1), sizeof *r.task_names);
    if (!r.task_names) {
        rc = cli_fail("tag-all", MVKE_ERR_NOMEM, "listing the tasks");
        goto out;
    }
    if (r.task) {
        int found = 0;
        for (int t = 0; t < all_tasks; t++) {
            const char *nm;
            mvke_tags_task(r.tags, t, &nm, NULL, NULL);
            found |= !strcmp(nm, r.task);
        }
        if (!found) {
            fprintf(stderr, "mvke tag-all: --task: MVKE_ERR_UNKNOWN_TASK: task \"%s\" is not in %s\n", r.task, r.index);
            rc = CLI_EXIT_DATA;
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
        int found;
        if ((rc = cli_tag_checkpoint_read(&r, &found, &next, &bytes)) != CLI_EXIT_OK) goto out;
        struct stat sb;
        const int have_out = !found && stat(r.out, &sb) == 0;
        /* The parts of a distributed run remove their checkpoints only once every part is
         * finished (the barrier below), so a rank killed between that barrier and its own removal
         * leaves its checkpoint at its end beside parts that have none: the run is finished.
         * Every rank asks the others, so that all agree. */
        int64_t finished = (found && next == r.hi) || have_out;
        if (r.parts && mvke_dist_min_i64(&finished, 1) != 0) {
            rc = CLI_EXIT_FAIL;
            goto out;
        }
        if (r.parts && finished) {
            if (found && unlink(r.ckpt) != 0 && errno != ENOENT) {
                rc = cli_tag_io_fail("cannot remove", r.ckpt);
                goto out;
            }
            fprintf(stderr, "mvke tag-all: --resume: %s is finished, and so is every other part; nothing to do\n", r.out);
            goto out;
        }
        if (!found) {
            if (have_out) {
                fprintf(stderr, "mvke tag-all: --resume: %s exists but %s does not: the run finished or was not "
                        "started with this output; run without --resume to start over\n", r.out, r.ckpt);
                rc = CLI_EXIT_USAGE;
                goto out;
            }
            resume = 0; /* nothing to resume: start */
        }
    }
    if (!r.stream && !resume && unlink(r.ckpt) != 0 && errno != ENOENT && errno != ENOTDIR) {
        rc = cli_tag_io_fail("cannot remove the old", r.ckpt);
        goto out;
    }
    if ((rc = cli_tag_open_outputs(&r, resume, &bytes)) != CLI_EXIT_OK) goto out;
    if (!r.stream && !resume && (rc = cli_tag_checkpoint_write(&r, r.lo, bytes)) != CLI_EXIT_OK) goto out;
    if (!r.stream) cli_tag_signals_install();

    const int64_t B = r.block;
    x = malloc((size_t)B * (size_t)K * (size_t)d * sizeof *x);
    ids = malloc(2 * (size_t)B * sizeof *ids); /* the block scored and the block being written */
    if (!x || !ids) {
        rc = cli_fail("tag-all", MVKE_ERR_NOMEM, "allocating a block");
        goto out;
    }
    cli_progress prog;
    cli_progress_start(&prog, "users", next - r.lo, r.hi - r.lo);
    double last_ckpt = bench_now();
    if (next > r.lo)
        fprintf(stderr, "mvke tag-all: resuming at user position %lld of %lld\n", (long long)next, (long long)r.hi);
    /* Block b is scored while block b-1 is written (and, at most about once a second, synced and
     * checkpointed after its write, so a checkpoint only ever names written output); the signal
     * check and progress follow the write. */
    for (int64_t first = next, b = 0; first < r.hi || pw.res; first += B, b++) {
        const int64_t m = first >= r.hi ? 0 : r.hi - first < B ? r.hi - first : B;
        int64_t *bids = ids + (b & 1) * B;
        mvke_result *res = NULL;
        if (m && ((st = mvke_index_read_rows(r.users, first, m, bids, x)) != MVKE_OK ||
                  (st = mvke_user_tags_top_rows(r.tags, r.task, m, x, r.top, &res)) != MVKE_OK)) {
            rc = cli_fail("tag-all", st, "scoring a block");
            goto out;
        }
        if (pw.res) {
            const int64_t done = pw.first + r.lo + pw.m; /* position after the written block */
            if ((rc = write_wait(&pw)) != CLI_EXIT_OK) {
                mvke_result_free(res);
                goto out;
            }
            if (cli_tag_stop_signal() && done < r.hi) {
                mvke_result_free(res);
                if ((rc = cli_tag_sync_outputs(&r)) != 0 || (rc = cli_tag_checkpoint_write(&r, done, bytes)) != CLI_EXIT_OK) goto out;
                fprintf(stderr, "\nmvke tag-all: stopped by signal %d after %lld of %lld users; %s says where to "
                        "continue with --resume\n", cli_tag_stop_signal(), (long long)done, (long long)r.hi, r.ckpt);
                rc = 128 + cli_tag_stop_signal();
                goto out;
            }
            cli_progress_update(&prog, done - r.lo, 0);
        }
        if (!m) break;
        const double now = bench_now();
        const int due = !r.stream && now - last_ckpt >= every && first + m < r.hi;
        if (due) last_ckpt = now;
        pw = (pending_write){.r = &r, .first = first - r.lo, .m = m, .ids = bids, .res = res, .text = &text,
                             .text_cap = &text_cap, .bytes = &bytes, .ckpt = due ? first + m : -1};
        write_start(&pw);
    }
    if ((rc = cli_tag_sync_outputs(&r)) != 0) goto out;
    /* A finished part waits, checkpointed at its end, until every part is finished. */
    if (!r.stream && r.parts && next < r.hi && (rc = cli_tag_checkpoint_write(&r, r.hi, bytes)) != CLI_EXIT_OK) goto out;
    if (mvke_dist_barrier() != 0) {
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    if (!r.stream && unlink(r.ckpt) != 0 && errno != ENOENT) {
        rc = cli_tag_io_fail("cannot remove", r.ckpt);
        goto out;
    }
    if (!r.stream) mvke_fsync_dir_of(r.ckpt);
    cli_progress_end(&prog, r.hi - r.lo);
out:
    if (pw.res) write_wait(&pw); /* an error elsewhere: the block's own error is not the first */
    if (r.fd >= 0 && !r.stream && close(r.fd) != 0 && rc == CLI_EXIT_OK) rc = cli_tag_io_fail("cannot close", r.out);
    for (int i = 0; r.fds && i < 1 + 2 * r.ntasks; i++)
        if (r.fds[i] >= 0) close(r.fds[i]);
    free(r.fds);
    free(r.data_off);
    free(r.task_names);
    free(x);
    free(ids);
    free(text);
    cli_rank_close(&ru);
    return rc;
}
