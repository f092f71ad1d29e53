/*
 * outputs.h - the one check every subcommand that writes runs before it opens anything for
 * writing, and the end-of-run check of stdout (what coreutils' close_stdout does).
 */
#ifndef MVKE_TOOLS_OUTPUTS_H
#define MVKE_TOOLS_OUTPUTS_H

/* path (a file to be created or replaced, or a derived path: checkpoint, temporary) must be
 * absent or a regular file - not a device, FIFO, directory, socket or symbolic link - and must not
 * be the same file (device and inode) as any of the ninputs inputs. Returns 0, or prints
 * "mvke CMD: PATH: REASON; nothing was written" and returns the usage exit status (2). */
int cli_output_check(const char *cmd, const char *path, const char *const *inputs, int ninputs);

/* The same for a directory output (tag-all --format npy): absent or a directory, not an input. */
int cli_output_dir_check(const char *cmd, const char *path, const char *const *inputs, int ninputs);

/* What a writer's output holds, for the check below. */
typedef enum { CLI_KIND_INDEX, CLI_KIND_TAG_ALL } cli_output_kind;

/* An existing, non-empty regular file at path is replaced only when it is of the writer's own
 * kind (an index file: the format's magic; a tag-all output: its header line) or with --force
 * (force nonzero), so that a mistyped -o cannot eat a taxonomy, an export or another program's
 * file. Returns 0, or prints "mvke CMD: PATH exists and is not ...; nothing was written: ..."
 * naming both ways out and returns the usage exit status (2). */
int cli_output_kind_check(const char *cmd, const char *path, cli_output_kind kind, int force);

/* The two checks above together, for the -o of a writer: cli_output_check, then
 * cli_output_kind_check. */
int cli_output_replace_check(const char *cmd, const char *path, const char *const *inputs, int ninputs,
                             cli_output_kind kind, int force);

/* 1 when path names standard output for a streamed output: "-", "/dev/stdout" or "/dev/fd/1". */
int cli_output_is_stdout(const char *path);

/* Flushes and closes stdout. Returns rc, or (when rc is 0 and writing failed) prints
 * "mvke CMD: write error: REASON" and returns the I/O exit status (4). */
int cli_close_stdout(const char *cmd, int rc);

#endif
