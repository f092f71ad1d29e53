/*
 * cli.c - error reporting and number parsing shared by the subcommands.
 */
#include "cli.h"
#include "decimal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_exit_code(mvke_status st) {
    switch (st) {
    case MVKE_OK: return CLI_EXIT_OK;
    case MVKE_ERR_IO: return CLI_EXIT_IO;
    case MVKE_ERR_INVALID:
    case MVKE_ERR_BAD_K:
    case MVKE_ERR_UNKNOWN_TASK:
    case MVKE_ERR_UNKNOWN_ID:
        return CLI_EXIT_DATA;
    case MVKE_ERR_NONFINITE:
    case MVKE_ERR_DIM:
    case MVKE_ERR_DUPLICATE:
    case MVKE_ERR_GATE:
    case MVKE_ERR_FORMAT:
    case MVKE_ERR_TRUNCATED:
    case MVKE_ERR_CHECKSUM:
        return CLI_EXIT_DATA;
    default: return CLI_EXIT_FAIL;
    }
}

int cli_fail(const char *cmd, mvke_status st, const char *what) {
    const char *msg = mvke_last_error();
    fprintf(stderr, "mvke %s: %s: %s%s%s\n", cmd, what, mvke_status_name(st), *msg ? ": " : "", msg);
    return cli_exit_code(st);
}

int cli_fail_gpu(const char *cmd, mvke_status st) {
    /* The library's message ends "...; searches stay on the CPU backend", true of the API; the
     * command stops instead, and says so. */
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", mvke_last_error());
    char *tail = strstr(msg, "; searches stay on the CPU backend");
    if (!tail) tail = strstr(msg, "; the tags stay on the CPU");
    if (tail) *tail = 0;
    fprintf(stderr, "mvke %s: --gpu: %s%s%s; nothing was searched (without --gpu the search runs on the CPU)\n", cmd,
            mvke_status_name(st), *msg ? ": " : "", msg);
    return cli_exit_code(st);
}

static int print_prob;

void cli_print_set_prob(int on) { print_prob = on != 0; }
const char *cli_value_column(void) { return print_prob ? "prob" : "score"; }

void cli_print_entries(FILE *f, long long key, const char *task, const int64_t *ids, const float *scores, int64_t n,
                       const mvke_tags *names, int ids_are_tags) {
    for (int64_t r = 0; r < n; r++) {
        float v = scores[r];
        if (print_prob) mvke_score_to_prob(1, &v, &v);
        char num[CLI_DECIMAL_MAX + 1];
        *cli_decimal_fixed6(num, v) = 0;
        fprintf(f, "%lld\t%s\t%lld\t%lld\t%s", key, task, (long long)r + 1, (long long)ids[r], num);
        if (names) {
            const char *name = "";
            mvke_tags_get(names, task, ids_are_tags ? ids[r] : (int64_t)key, &name, NULL, NULL, NULL);
            fprintf(f, "\t%s", name ? name : "");
        }
        fputc('\n', f);
    }
}

void cli_print_list(const mvke_result *res, int64_t i, long long key, const char *task, const mvke_tags *names,
                    int ids_are_tags) {
    const int64_t *ids;
    const float *sc;
    int64_t n = 0;
    mvke_result_get(res, i, &ids, &sc, &n);
    cli_print_entries(stdout, key, task, ids, sc, n, names, ids_are_tags);
}

int cli_finish_stdout(const char *cmd) {
    if (fflush(stdout) == 0 && !ferror(stdout)) return CLI_EXIT_OK;
    fprintf(stderr, "mvke %s: write error: %s\n", cmd, strerror(errno));
    return CLI_EXIT_IO;
}

int cli_verify_before_copy(const char *cmd, const char *path) {
    const mvke_status st = mvke_file_verify(path);
    if (st == MVKE_OK) return CLI_EXIT_OK;
    fprintf(stderr, "mvke %s: %s fails verification, so its contents are not copied into a new file (nothing was "
            "written): %s: %s\n", cmd, path, mvke_status_name(st), mvke_last_error());
    return cli_exit_code(st);
}

int cli_finish_stdout_committed(const char *cmd, const char *path) {
    if (fflush(stdout) == 0 && !ferror(stdout)) return CLI_EXIT_OK;
    fprintf(stderr, "mvke %s: write error on the report: %s; %s was written all the same (the change is committed: "
            "do not run it again)\n", cmd, strerror(errno), path);
    return CLI_EXIT_IO;
}

int cli_parse_i64(const char *s, long long *out) {
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

int cli_parse_float(const char *s, float *out) {
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (errno || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}
