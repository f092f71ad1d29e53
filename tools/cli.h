/*
 * cli.h - what the subcommands of the `mvke` tool share: the command table, exit codes and
 * error reporting. Each subcommand lives in its own cmd_<name>.c and only parses arguments,
 * calls the library and prints.
 */
#ifndef MVKE_TOOLS_CLI_H
#define MVKE_TOOLS_CLI_H

#include <stddef.h>
#include <sys/types.h>

#include "mvke/mvke.h"

/* Exit codes of every subcommand. */
enum {
    MVKE_EXIT_OK = 0,
    MVKE_EXIT_FAIL = 1,  /* anything else (out of memory, backend failure) */
    MVKE_EXIT_USAGE = 2, /* bad command line; a usage line is printed */
    MVKE_EXIT_DATA = 3,  /* bad input data; the message names file, row or byte offset */
    MVKE_EXIT_IO = 4     /* reading or writing a file failed */
};

typedef struct mvke_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
} mvke_command;

/* The table of subcommands, ended by a NULL name (tools/commands.c). */
extern const mvke_command mvke_commands[];

/* Prints "mvke <cmd>: <message>: <library error>" to stderr and returns the exit code that
 * matches status. */
int mvke_cli_fail(const char *cmd, mvke_status status, const char *what);

/* Prints "mvke <cmd>: <message>" and the usage line to stderr; returns MVKE_EXIT_USAGE. */
int mvke_cli_usage(const char *cmd, const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The exit code that matches a library status. */
int mvke_cli_exit_code(mvke_status status);

/* Parses a whole decimal integer / float; returns 0 on success, -1 otherwise. */
int mvke_cli_parse_i64(const char *s, long long *out);
int mvke_cli_parse_float(const char *s, float *out);

/* Writes n bytes at offset off (off < 0: at the file position), retrying short writes.
 * Returns 0, or -1 with errno set. */
int mvke_cli_write_all(int fd, const void *buf, size_t n, off_t off);

/* fsyncs the directory holding path, so that a rename into it is durable. Returns 0 or -1. */
int mvke_cli_fsync_dir_of(const char *path);

#endif
