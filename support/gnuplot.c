/*
 * gnuplot.c - running gnuplot on a script in a folder (gnuplot.h): fork, chdir, exec.
 */
#include "gnuplot.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int bench_gnuplot(const char *dir, const char *script, char *msg, size_t cap) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(msg, cap, "cannot start gnuplot: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        if (chdir(dir) != 0) _exit(126);
        dup2(2, 1);
        execlp("gnuplot", "gnuplot", script, (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            snprintf(msg, cap, "waiting for gnuplot: %s", strerror(errno));
            return -1;
        }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        snprintf(msg, cap, "gnuplot is not installed (Debian package gnuplot-nox)");
    else snprintf(msg, cap, "gnuplot failed on %s/%s (status %d)", dir, script, status);
    return -1;
}
