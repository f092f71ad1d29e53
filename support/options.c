/*
 * options.c - the table-driven option parser of options.h.
 */
#include "options.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define HELP_COLUMN 20 /* where option help starts in --help */
#define USAGE_WIDTH 100

enum { EXIT_USAGE = 2 }; /* CLI_EXIT_USAGE of tools/cli.h, and mvke-bench's usage status */

/* Appends s to the usage line being built, wrapping before USAGE_WIDTH. */
static void put_token(FILE *f, const char *s, int *col, int indent) {
    int len = (int)strlen(s);
    if (*col + 1 + len > USAGE_WIDTH && *col > indent) {
        fprintf(f, "\n%*s", indent, "");
        *col = indent;
    } else {
        fputc(' ', f);
        (*col)++;
    }
    fputs(s, f);
    *col += len;
}

/* "--top M", "--fp16" or "INDEX" of one option. */
static void option_words(const cli_option *o, char *buf, size_t cap) {
    if (!o->name) snprintf(buf, cap, "%s", o->metavar);
    else if (o->metavar && o->kind != CLI_FLAG && o->optional) snprintf(buf, cap, "%s [%s]", o->name, o->metavar);
    else if (o->metavar && o->kind != CLI_FLAG) snprintf(buf, cap, "%s %s", o->name, o->metavar);
    else snprintf(buf, cap, "%s", o->name);
}

void cli_print_usage(const cli_spec *spec, FILE *f) {
    fprintf(f, "usage: %s", spec->prog);
    const int indent = (int)strlen("usage: ") + (int)strlen(spec->prog) + 1;
    int col = indent - 1;
    for (int i = 0; i < spec->noptions; i++) {
        const cli_option *o = &spec->options[i];
        char tok[512], words[256];
        if (o->group) {
            int first = 1;
            for (int j = 0; j < i; j++) first &= spec->options[j].group != o->group;
            if (!first) continue;
            size_t n = (size_t)snprintf(tok, sizeof tok, "%s", o->required ? "(" : "[");
            for (int j = i; j < spec->noptions; j++)
                if (spec->options[j].group == o->group) {
                    option_words(&spec->options[j], words, sizeof words);
                    n += (size_t)snprintf(tok + n, sizeof tok - n, "%s%s", j > i ? " | " : "", words);
                }
            snprintf(tok + n, sizeof tok - n, "%s", o->required ? ")" : "]");
        } else {
            option_words(o, words, sizeof words);
            snprintf(tok, sizeof tok, o->required ? "%s%s" : "[%s%s]", words, o->repeat ? " ..." : "");
        }
        put_token(f, tok, &col, indent);
    }
    fputc('\n', f);
}

static void print_help(const cli_spec *spec) {
    cli_print_usage(spec, stdout);
    if (spec->about) printf("\n%s%s", spec->about, spec->about[strlen(spec->about) - 1] == '\n' ? "" : "\n");
    for (int i = 0; i < spec->noptions; i++) {
        const cli_option *o = &spec->options[i];
        char words[256];
        option_words(o, words, sizeof words);
        int col = printf("  %s", words);
        const char *h = o->help ? o->help : "";
        if (col < HELP_COLUMN - 1) printf("%*s", HELP_COLUMN - col, "");
        else printf("  ");
        for (const char *nl; (nl = strchr(h, '\n')); h = nl + 1) printf("%.*s\n%*s", (int)(nl - h), h, HELP_COLUMN, "");
        printf("%s\n", h);
    }
    if (spec->epilog) fputs(spec->epilog, stdout);
}

int cli_usage_error(const cli_spec *spec, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", spec->prog);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    cli_print_usage(spec, stderr);
    fprintf(stderr, "(try '%s --help')\n", spec->prog);
    return EXIT_USAGE;
}

static const cli_option *find(const cli_spec *spec, const char *name) {
    for (int i = 0; i < spec->noptions; i++)
        if (spec->options[i].name && !strcmp(spec->options[i].name, name)) return &spec->options[i];
    return NULL;
}

/* The range of a number option as words: "an integer >= 1", "a number in [-1, 1]". */
static void range_words(const cli_option *o, char *buf, size_t cap) {
    const char *what = o->kind == CLI_INT ? "an integer" : "a number";
    /* Only a bound no value can reach goes unsaid: a cap of 1e18 is said, so that a value above
     * it is not told it "must be >= 1". */
    const int open_top = isinf(o->max) || o->max >= 9.2e18;
    if (isinf(o->min) && open_top) snprintf(buf, cap, "a finite number");
    else if (open_top) snprintf(buf, cap, "%s %s %.17g", what, o->above ? ">" : ">=", o->min);
    else snprintf(buf, cap, "%s in %s%.17g, %.17g]", what, o->above ? "(" : "[", o->min, o->max);
}

/* Stores one value; returns 0 or the usage status after printing why. */
static int store(const cli_spec *spec, const cli_option *o, const char *v) {
    char msg[512];
    char *end;
    if (o->kind == CLI_POSITIONAL && o->parse) { /* repeated operands collected by the command */
        msg[0] = 0;
        if (o->parse(v, o->dst, msg, sizeof msg) != 0) return cli_usage_error(spec, "%s: %s", o->metavar, msg);
        return 0;
    }
    if (o->kind == CLI_STRING || o->kind == CLI_POSITIONAL) {
        *(const char **)o->dst = v;
        return 0;
    }
    if (o->kind == CLI_CUSTOM) {
        msg[0] = 0;
        if (o->parse(v, o->dst, msg, sizeof msg) != 0) return cli_usage_error(spec, "%s: %s", o->name, msg);
        return 0;
    }
    errno = 0;
    double x;
    long long n = 0;
    int ok = *v != 0;
    if (o->kind == CLI_INT) {
        n = strtoll(v, &end, 10);
        x = (double)n;
    } else {
        x = o->kind == CLI_FLOAT ? (double)strtof(v, &end) : strtod(v, &end);
        ok = ok && isfinite(x);
    }
    ok = ok && !errno && !*end && (o->above ? x > o->min : x >= o->min) && x <= o->max;
    if (!ok) {
        range_words(o, msg, sizeof msg);
        return cli_usage_error(spec, "%s must be %s, not '%s'", o->name, msg, v);
    }
    if (o->kind == CLI_INT) *(long long *)o->dst = n;
    else if (o->kind == CLI_FLOAT) *(float *)o->dst = (float)x;
    else *(double *)o->dst = x;
    return 0;
}

/* "A", "A and B", "A, B and C" of the options whose flag is set. */
static void name_list(const cli_spec *spec, const int *pick, char *buf, size_t cap) {
    int total = 0, done = 0;
    for (int i = 0; i < spec->noptions; i++) total += pick[i];
    size_t n = 0;
    buf[0] = 0;
    for (int i = 0; i < spec->noptions && n < cap; i++) {
        if (!pick[i]) continue;
        const cli_option *o = &spec->options[i];
        done++;
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", done == 1 ? "" : done == total ? " and " : ", ",
                              o->name ? o->name : o->metavar);
    }
}

int cli_parse(const cli_spec *spec, int argc, char **argv, int *exit_code) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            print_help(spec);
            *exit_code = 0;
            return 0;
        }
    int given[CLI_MAX_OPTIONS] = {0};
    if (spec->noptions > CLI_MAX_OPTIONS) {
        *exit_code = cli_usage_error(spec, "too many options in the table");
        return 0;
    }
    int rc = 0;
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i];
        const cli_option *o = a[0] == '-' && a[1] ? find(spec, a) : NULL;
        if (a[0] == '-' && a[1] && !o) {
            rc = cli_usage_error(spec, "unknown option '%s'", a);
            break;
        }
        if (!o) { /* the operand */
            for (int j = 0; j < spec->noptions && !o; j++)
                if (spec->options[j].kind == CLI_POSITIONAL && (!given[j] || spec->options[j].repeat)) o = &spec->options[j];
            if (!o) {
                rc = cli_usage_error(spec, "unexpected argument '%s'", a);
                break;
            }
            given[o - spec->options]++;
            rc = store(spec, o, a);
            continue;
        }
        given[o - spec->options]++;
        if (o->kind == CLI_FLAG) {
            *(int *)o->dst = 1;
            continue;
        }
        if (o->optional) {
            char *end;
            const char *v = i + 1 < argc ? argv[i + 1] : "";
            errno = 0;
            const long long n = strtoll(v, &end, 10);
            if (*v && !*end && !errno && (double)n >= o->min && (double)n <= o->max) {
                *(long long *)o->dst = n;
                i++;
            } else {
                *(long long *)o->dst = o->implied;
            }
            continue;
        }
        if (i + 1 >= argc) {
            rc = cli_usage_error(spec, "%s needs a value", a);
            break;
        }
        rc = store(spec, o, argv[++i]);
    }
    if (!rc) {
        int missing[CLI_MAX_OPTIONS] = {0}, nmissing = 0;
        for (int i = 0; i < spec->noptions; i++)
            if (spec->options[i].required && !spec->options[i].group && !given[i]) missing[i] = 1, nmissing++;
        char names[1024];
        if (nmissing) {
            name_list(spec, missing, names, sizeof names);
            rc = cli_usage_error(spec, "%s %s required", names, nmissing > 1 ? "are" : "is");
        }
    }
    for (int i = 0; i < spec->noptions && !rc; i++) {
        const cli_option *o = &spec->options[i];
        if (!o->group) continue;
        int first = 1, members[CLI_MAX_OPTIONS] = {0}, count = 0;
        for (int j = 0; j < i; j++) first &= spec->options[j].group != o->group;
        if (!first) continue;
        for (int j = i; j < spec->noptions; j++)
            if (spec->options[j].group == o->group) {
                members[j] = 1;
                count += given[j] > 0;
            }
        if (count > 1 || (o->required && count == 0)) {
            char names[1024];
            name_list(spec, members, names, sizeof names);
            rc = cli_usage_error(spec, "give %s one of %s", o->required ? "exactly" : "at most", names);
        }
    }
    for (int i = 0; i < spec->noptions && !rc; i++) {
        const cli_option *o = &spec->options[i];
        const cli_option *n = o->needs ? find(spec, o->needs) : NULL;
        if (given[i] && n && !given[n - spec->options]) rc = cli_usage_error(spec, "%s goes with %s", o->name, o->needs);
    }
    *exit_code = rc;
    return rc == 0;
}
