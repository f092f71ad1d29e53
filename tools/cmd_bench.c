/*
 * cmd_bench.c - `mvke bench`: runs the benchmark program, mvke-bench, with the same arguments.
 * It is looked up next to this program (installed side by side), then in ../bench/ (the build
 * tree), then on PATH; the benchmark itself lives in bench/ (docs/benchmarks.md).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int cli_cmd_bench(int argc, char **argv) {
    (void)argc;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = 0;
        char *slash = strrchr(self, '/');
        if (slash) *slash = 0;
        const char *rel[2] = {"/mvke-bench", "/../bench/mvke-bench"};
        for (int i = 0; i < 2; i++) {
            char path[PATH_MAX + 32];
            snprintf(path, sizeof path, "%s%s", self, rel[i]);
            if (access(path, X_OK) == 0) {
                argv[0] = path;
                execv(path, argv);
            }
        }
    }
    argv[0] = "mvke-bench";
    execvp("mvke-bench", argv);
    fprintf(stderr, "mvke bench: cannot run mvke-bench (%s); build it with ninja bench/mvke-bench\n", strerror(errno));
    return CLI_EXIT_FAIL;
}
