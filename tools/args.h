/*
 * args.h - argument helpers shared by the file-based subcommands: id lists, task specs,
 * allow-list files, and opening an index file with the error printed.
 */
#ifndef MVKE_TOOLS_ARGS_H
#define MVKE_TOOLS_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include "mvke/mvke.h"
#include "support/world.h"

/* "1,2,3" -> ids (malloc'd). Returns 0, or -1 on a malformed list (nothing allocated). */
int cli_arg_id_list(const char *s, int64_t **ids, int64_t *n);

/* A list of ids given as one option ("--tag 1,2,3"), for cli_option.parse. */
typedef struct cli_ids {
    int64_t *ids; /* malloc'd; the command frees it */
    int64_t n;
} cli_ids;

/* The CLI_CUSTOM parser of a cli_ids destination (options.h). */
int cli_opt_ids(const char *value, void *dst, char *msg, size_t cap);

/* "NAME=FIRST-LAST" or "NAME=i,j,k" -> name (malloc'd) and experts (at most MVKE_MAX_K, each below
 * MVKE_MAX_K). Returns 0 or -1. */
int cli_arg_task_spec(const char *s, char **name, int *experts, int *nexperts);

/* Ids, in the file's order, from a .npy of int64 (1-d) or a text file of one id a line (blank
 * lines and lines starting with '#' skipped): *ids is malloc'd (the caller frees it). Returns an
 * exit code; errors are printed for `cmd` and option `opt`, naming the file and line. */
int cli_arg_read_ids(const char *cmd, const char *opt, const char *path, int64_t **ids, int64_t *n);

/* An allow-list from a .npy of int64 ids or a text file of one id a line (blank lines and
 * lines starting with '#' skipped). Returns an exit code; errors are printed for `cmd`,
 * naming the file and line. */
int cli_arg_load_allow(const char *cmd, const char *path, mvke_allow **out);

/* A task of the synthetic world as NAME=FIRST-LAST or NAME=i,j,k (the syntax of
 * cli_arg_task_spec) into t. Returns 0, or -1 with a reason in msg (cap bytes). */
int cli_world_task(const char *spec, synth_world_task *t, char *msg, size_t cap);

/* Level counts of the synthetic world as "18,216,942,610" into o. Returns 0, or -1 with a reason
 * in msg. */
int cli_world_levels(const char *spec, synth_world_options *o, char *msg, size_t cap);

#endif
