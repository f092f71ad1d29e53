/*
 * outputs.c - the output-path check of every writing subcommand, and the final check of stdout
 * (outputs.h).
 */
#include "outputs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "index/file_format.h"
#include "index/outpath.h"

/* Refuses path when it is the same file as an input. */
static int not_an_input(const char *cmd, const char *path, const char *const *inputs, int ninputs) {
    struct stat o;
    if (stat(path, &o) != 0) return 0; /* absent: cannot be an input */
    for (int i = 0; i < ninputs; i++) {
        struct stat s;
        if (!inputs[i] || stat(inputs[i], &s) != 0) continue;
        if (s.st_dev == o.st_dev && s.st_ino == o.st_ino) {
            if (!strcmp(path, inputs[i]))
                fprintf(stderr, "mvke %s: %s is an input of this command; nothing was written\n", cmd, path);
            else
                fprintf(stderr, "mvke %s: %s is the same file as the input %s; nothing was written\n", cmd, path,
                        inputs[i]);
            return CLI_EXIT_USAGE;
        }
    }
    return 0;
}

int cli_output_check(const char *cmd, const char *path, const char *const *inputs, int ninputs) {
    const char *why;
    if (mvke_outpath_check(path, &why) != 0) {
        fprintf(stderr, "mvke %s: %s %s; only a regular file is replaced; nothing was written\n", cmd, path, why);
        return CLI_EXIT_USAGE;
    }
    return not_an_input(cmd, path, inputs, ninputs);
}

int cli_output_dir_check(const char *cmd, const char *path, const char *const *inputs, int ninputs) {
    struct stat sb;
    if (lstat(path, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "mvke %s: %s exists and is not a directory; nothing was written\n", cmd, path);
        return CLI_EXIT_USAGE;
    }
    return not_an_input(cmd, path, inputs, ninputs);
}

int cli_output_kind_check(const char *cmd, const char *path, cli_output_kind kind, int force) {
    struct stat sb;
    if (force || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0) return 0;
    const char *want = kind == CLI_KIND_INDEX ? MVKE_FILE_MAGIC : CLI_TAGS_HEADER_KEYS;
    size_t wn = kind == CLI_KIND_INDEX ? 8 : sizeof CLI_TAGS_HEADER_KEYS - 1;
    unsigned char head[64] = {0};
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(head, 1, sizeof head, f) : 0;
    if (f) fclose(f);
    if (n >= wn && !memcmp(head, want, wn)) return 0;
    fprintf(stderr, "mvke %s: %s exists and is not %s; nothing was written: choose another output, or add --force "
            "to replace it\n", cmd, path, kind == CLI_KIND_INDEX ? "an index file" : "a tag-all output");
    return CLI_EXIT_USAGE;
}

int cli_output_replace_check(const char *cmd, const char *path, const char *const *inputs, int ninputs,
                              cli_output_kind kind, int force) {
    int rc = cli_output_check(cmd, path, inputs, ninputs);
    return rc ? rc : cli_output_kind_check(cmd, path, kind, force);
}

int cli_output_is_stdout(const char *path) {
    return !strcmp(path, "-") || !strcmp(path, "/dev/stdout") || !strcmp(path, "/dev/fd/1");
}

int cli_close_stdout(const char *cmd, int rc) {
    errno = 0;
    int bad = ferror(stdout);
    if (fflush(stdout) != 0) bad = 1;
    int e = errno;
    if (fclose(stdout) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (bad && rc == CLI_EXIT_OK) {
        fprintf(stderr, "mvke %s: write error: %s\n", cmd, e ? strerror(e) : "the output could not be written");
        return CLI_EXIT_IO;
    }
    return rc;
}
