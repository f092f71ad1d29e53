/*
 * cli.c - error reporting and number parsing shared by the subcommands.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int mvke_cli_exit_code(mvke_status st) {
    switch (st) {
    case MVKE_OK: return MVKE_EXIT_OK;
    case MVKE_ERR_IO: return MVKE_EXIT_IO;
    case MVKE_ERR_INVALID:
    case MVKE_ERR_BAD_K:
    case MVKE_ERR_UNKNOWN_TASK:
    case MVKE_ERR_UNKNOWN_ID:
        return MVKE_EXIT_DATA;
    case MVKE_ERR_NONFINITE:
    case MVKE_ERR_DIM:
    case MVKE_ERR_DUPLICATE:
    case MVKE_ERR_GATE:
    case MVKE_ERR_FORMAT:
    case MVKE_ERR_TRUNCATED:
    case MVKE_ERR_CHECKSUM:
        return MVKE_EXIT_DATA;
    default: return MVKE_EXIT_FAIL;
    }
}

int mvke_cli_fail(const char *cmd, mvke_status st, const char *what) {
    const char *msg = mvke_last_error();
    fprintf(stderr, "mvke %s: %s: %s%s%s\n", cmd, what, mvke_status_name(st), *msg ? ": " : "", msg);
    return mvke_cli_exit_code(st);
}

int mvke_cli_usage(const char *cmd, const char *usage, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mvke %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: %s\n(try 'mvke %s --help')\n", usage, cmd);
    return MVKE_EXIT_USAGE;
}

int mvke_cli_parse_i64(const char *s, long long *out) {
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

int mvke_cli_parse_float(const char *s, float *out) {
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (errno || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

int mvke_cli_write_all(int fd, const void *buf, size_t n, off_t off) {
    const char *p = buf;
    while (n) {
        ssize_t w = off >= 0 ? pwrite(fd, p, n, off) : write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        p += w;
        n -= (size_t)w;
        if (off >= 0) off += w;
    }
    return 0;
}

int mvke_cli_fsync_dir_of(const char *path) {
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return -1;
    int r = fsync(fd);
    close(fd);
    return r;
}
