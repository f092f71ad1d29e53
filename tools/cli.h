/*
 * cli.h - what the subcommands of the `mvke` tool share: the command table, exit codes and
 * error reporting. Each subcommand lives in its own cmd_<name>.c and only parses arguments,
 * calls the library and prints.
 */
#ifndef MVKE_TOOLS_CLI_H
#define MVKE_TOOLS_CLI_H

#include <stdio.h>

#include "mvke/mvke.h"

/* Exit codes of every subcommand. */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAIL = 1,  /* anything else (out of memory, backend failure) */
    CLI_EXIT_USAGE = 2, /* bad command line; a usage line is printed (support/options.h) */
    CLI_EXIT_DATA = 3,  /* bad input data; the message names file, row or byte offset */
    CLI_EXIT_IO = 4     /* reading or writing a file failed */
};

typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
} cli_command;

/* The table of subcommands, ended by a NULL name (tools/commands.c). */
extern const cli_command cli_commands[];

/* Prints "mvke <cmd>: <message>: <library error>" to stderr and returns the exit code that
 * matches status. */
int cli_fail(const char *cmd, mvke_status status, const char *what);

/* The header line of user -> tags output (`tags`, `tag-all` tsv), without `\ttag_name` and the
 * newline: its last column is "score", or "prob" with --prob. An existing file starting with
 * CLI_TAGS_HEADER_KEYS is known as a tag-all output (outputs.h). */
#define CLI_TAGS_HEADER_KEYS "user_id\ttask\trank\ttag_id\t"
#define CLI_TAGS_HEADER CLI_TAGS_HEADER_KEYS "score"

/* --prob: the printing functions below write probabilities sigmoid(score) instead of scores
 * (one setting per process: a command sets it once after parsing), and the value column is named
 * "prob" instead of "score". */
void cli_print_set_prob(int on);
const char *cli_value_column(void);

/* The same for a refused --gpu: the library's reason, and that the command did nothing. */
int cli_fail_gpu(const char *cmd, mvke_status status);

/* Before a writer copies an index file into a new one (add, upsert, remove, update, merge):
 * its contents are verified (mvke_file_verify), so that invalid rows, Grams or ids are never
 * republished under fresh checksums. Returns CLI_EXIT_OK, or the status's exit code after
 * printing that nothing was written and why. */
int cli_verify_before_copy(const char *cmd, const char *path);

/* The exit code that matches a library status. */
int cli_exit_code(mvke_status status);

/* Prints list i of res to stdout as "key<TAB>task<TAB>rank<TAB>id<TAB>score" lines, rank from 1,
 * score with 6 decimals (the output of `mvke audience` and `mvke tags`). With names (a tag table;
 * NULL: no such column) each line ends with "<TAB>name", the name of the line's tag as stored:
 * the id's when ids_are_tags, else the key's. */
void cli_print_list(const mvke_result *res, int64_t i, long long key, const char *task, const mvke_tags *names,
                    int ids_are_tags);

/* The same lines for n entries given as arrays (ids, scores), written to f. */
void cli_print_entries(FILE *f, long long key, const char *task, const int64_t *ids, const float *scores, int64_t n,
                       const mvke_tags *names, int ids_are_tags);

/* Flushes stdout. Returns CLI_EXIT_OK, or CLI_EXIT_IO after printing that writing failed. */
int cli_finish_stdout(const char *cmd);

/* The same for a command that has committed a file (add, upsert, remove, update, merge,
 * shard): a failed report says that `path` was written all the same, so that nobody repeats the
 * change. */
int cli_finish_stdout_committed(const char *cmd, const char *path);

/* Parses a whole decimal integer / float; returns 0 on success, -1 otherwise. */
int cli_parse_i64(const char *s, long long *out);
int cli_parse_float(const char *s, float *out);

#endif
