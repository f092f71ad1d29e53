/*
 * tag_all.h - what the parts of `mvke tag-all` share: the run (its options, the index, the output
 * files), the checkpoint protocol (tag_all_checkpoint.c) and the output writers
 * (tag_all_output.c); cmd_tag_all.c is the driver. docs/cli.md describes the command.
 */
#ifndef MVKE_TOOLS_TAG_ALL_H
#define MVKE_TOOLS_TAG_ALL_H

#include <stddef.h>
#include <stdint.h>

#include "mvke/mvke.h"

typedef struct cli_tag_run {
    const char *index, *out, *task;
    char out_part[4096]; /* OUT.part-<rank> when the users are split over ranks (tools/ranks.h) */
    int parts;           /* whether they are: then only part 0 starts with the tsv header */
    int rank, nranks;
    int npy;
    int names; /* tsv: a tag_name column */
    int prob;  /* probabilities sigmoid(score) instead of scores (tsv "prob" column, npy TASK.probs.npy) */
    int stream; /* -o - or /dev/stdout: tsv to fd 1, no checkpoint */
    long long top, block;
    mvke_file_info fi;
    mvke_index *users;
    mvke_tags *tags;
    int ntasks; /* tasks written: 1 with --task */
    const char **task_names;
    int64_t n;      /* users in the opened file */
    int64_t lo, hi; /* the storage positions this process writes (every one without parts) */
    char ckpt[4200];
    /* tsv */
    int fd;
    /* npy */
    int *fds; /* 1 + 2 * ntasks: user ids, then per task tag ids, scores */
    uint64_t *data_off;
} cli_tag_run;

/* Prints "mvke tag-all: <what> <path>: <errno text>"; returns the I/O exit status. */
int cli_tag_io_fail(const char *what, const char *path);

/* Replaces the checkpoint atomically (written, fsynced, renamed, directory fsynced) with the
 * position of the next user and the committed output length. Returns an exit status. */
int cli_tag_checkpoint_write(const cli_tag_run *r, int64_t next, uint64_t bytes);

/* Reads the checkpoint of this run: *found = 0 when there is none; else the position and length
 * it recorded, after checking that it was written by a run with the same index, --top, --task,
 * --format and --block-users (and with parts, the same part and positions). Returns an exit status
 * (errors printed). */
int cli_tag_checkpoint_read(const cli_tag_run *r, int *found, int64_t *next, uint64_t *bytes);

/* Opens the outputs for writing: tsv, the file (cut back to `bytes` on resume, else a header,
 * with *bytes its length); npy, the directory's files, created at full size up front. Returns an
 * exit status. */
int cli_tag_open_outputs(cli_tag_run *r, int resume, uint64_t *bytes);

/* Writes the results of users first .. first+m-1 of the part (ids) in place (npy) or appended at *bytes (tsv,
 * formatted in *buf of *cap bytes, grown as needed). Returns an exit status. */
int cli_tag_write_block(cli_tag_run *r, int64_t first, int64_t m, const int64_t *ids, mvke_result *res, char **buf,
                        size_t *cap, uint64_t *bytes);

/* fdatasyncs every output. Returns an exit status. */
int cli_tag_sync_outputs(const cli_tag_run *r);

/* Before anything is opened for writing (tag_all_safety.c): the output, the checkpoint and its
 * temporary must be absent or regular files (a directory for npy) and not the index; without
 * resume or force an existing checkpoint is refused; a stream takes neither npy nor --resume.
 * Returns an exit status (errors printed). */
int cli_tag_check_outputs(cli_tag_run *r, int resume, int force);

/* SIGINT and SIGTERM set a flag (read by cli_tag_stop_signal: 0 or the signal) so that the run
 * stops after the current block with its outputs synced and a checkpoint written. */
void cli_tag_signals_install(void);
int cli_tag_stop_signal(void);

#endif
