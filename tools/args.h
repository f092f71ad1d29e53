/*
 * args.h - argument helpers shared by the file-based subcommands: id lists, task specs,
 * allow-list files, and opening an index file with the error printed.
 */
#ifndef MVKE_TOOLS_ARGS_H
#define MVKE_TOOLS_ARGS_H

#include <stdint.h>

#include "mvke/mvke.h"

/* Whether argv[i] is the option `name`; then *val is its argument (argv[i+1]) and i advances.
 * Returns 1 when matched with a value, -1 when matched but the value is missing, 0 otherwise. */
int mvke_arg_take(int argc, char **argv, int *i, const char *name, const char **val);

/* "1,2,3" -> ids (malloc'd). Returns 0, or -1 on a malformed list (nothing allocated). */
int mvke_arg_id_list(const char *s, int64_t **ids, int64_t *n);

/* "NAME=FIRST-LAST" or "NAME=i,j,k" -> name (malloc'd) and experts (at most 64). Returns 0 or -1. */
int mvke_arg_task_spec(const char *s, char **name, int *experts, int *nexperts);

/* An allow-list from a .npy of int64 ids or a text file of one id a line (blank lines and
 * lines starting with '#' skipped). Returns an exit code; errors are printed for `cmd`,
 * naming the file and line. */
int mvke_arg_load_allow(const char *cmd, const char *path, mvke_allow **out);

/* Whether argv[i] is --gpu, optionally followed by a device number (an integer >= -1; -1: every
 * device); then *device is set (0 without a number) and i advances past what was taken.
 * Returns 1 when matched, 0 otherwise. */
int mvke_arg_gpu(int argc, char **argv, int *i, int *device);

/* Whether --help or -h is among the arguments. */
int mvke_arg_wants_help(int argc, char **argv);

#endif
