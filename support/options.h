/*
 * options.h - command-line options declared in a table, and the one parser of every `mvke`
 * subcommand and of mvke-bench.
 *
 * A program declares its options as an array of cli_option (name, metavar, help, kind,
 * destination, range, required, ...) inside a cli_spec; cli_parse reads argv into the
 * destinations and prints everything the user sees about options from that table: the usage
 * line, the --help text, and every usage error (unknown option, missing value, value out of
 * range, missing required option, two options of one group, an option without the one it needs),
 * each followed by the usage line, with exit status 2.
 */
#ifndef MVKE_SUPPORT_OPTIONS_H
#define MVKE_SUPPORT_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

typedef enum cli_kind {
    CLI_FLAG,       /* no value; dst: int, set to 1 */
    CLI_STRING,     /* dst: const char *, pointing into argv */
    CLI_INT,        /* a whole decimal number in [min, max]; dst: long long */
    CLI_FLOAT,      /* a finite number in [min, max]; dst: float */
    CLI_DOUBLE,     /* a finite number in [min, max]; dst: double */
    CLI_CUSTOM,     /* dst and the value are given to parse() */
    CLI_POSITIONAL  /* the operand (name NULL, metavar "INDEX"); dst: const char *; with repeat
                       and parse, every operand goes to parse (`mvke merge A B ...`) */
} cli_kind;

typedef struct cli_option {
    const char *name;    /* "--top", "-o"; NULL for the positional operand */
    const char *metavar; /* "M" in "--top M"; NULL for a flag */
    const char *help;    /* one line, or several separated by '\n' */
    cli_kind kind;
    void *dst;
    double min, max;     /* CLI_INT, CLI_FLOAT, CLI_DOUBLE: the accepted range (inclusive) */
    int above;           /* 1: the range excludes min (a number > min) */
    int required;        /* 1: must be given; for a group: exactly one of the group */
    int group;           /* options with the same nonzero group exclude each other */
    int repeat;          /* may be given more than once (each value goes to parse or dst) */
    const char *needs;   /* given only together with this option ("--vk") */
    int optional;        /* CLI_INT: the value may be left out ("--gpu" or "--gpu 1"): the next
                            argument is taken only when it is an integer in range; without one,
                            dst gets `implied` */
    long long implied;
    /* CLI_CUSTOM: stores value into dst; returns 0, or -1 with a reason in msg (cap bytes) */
    int (*parse)(const char *value, void *dst, char *msg, size_t cap);
} cli_option;

typedef struct cli_spec {
    const char *prog;          /* "mvke audience", "mvke-bench": usage lines and errors start so */
    const char *about;         /* the paragraph of --help before the options */
    const char *epilog;        /* the text of --help after the options (may be NULL) */
    const cli_option *options;
    int noptions;
} cli_spec;

/* The most options one table may declare. */
#define CLI_MAX_OPTIONS 64

#define CLI_NOPTIONS(table) ((int)(sizeof(table) / sizeof((table)[0])))

/* Parses argv[1 .. argc-1] (argv[0] is the program or subcommand name). Returns 1 when the
 * command should run; 0 when it should stop with *exit_code: 0 after --help or -h (anywhere
 * among the arguments: the help goes to stdout), 2 after a usage error (message and usage line on
 * stderr). Options may come in any order; a value may start with '-' ("--min-score -0.5"). */
int cli_parse(const cli_spec *spec, int argc, char **argv, int *exit_code);

/* Prints "<prog>: <message>", the usage line and a hint to stderr, for the checks a command makes
 * beyond what its table says; returns the usage exit status (2). */
int cli_usage_error(const cli_spec *spec, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints the usage line ("usage: <prog> ...") built from the table to f. */
void cli_print_usage(const cli_spec *spec, FILE *f);

#endif
