/*
 * writer_lock.c - the exclusive lock the commands that rewrite an index file hold from their
 * read of it to the rename of the new one (writer_lock.h).
 */
#include "writer_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

int cli_writer_lock(const char *cmd, const char *path, int *fd) {
    *fd = -1;
    const long step_ms = 20;
    int said = 0;
    for (long waited_ms = 0;;) {
        int f = open(path, O_RDONLY | O_CLOEXEC);
        if (f < 0) return CLI_EXIT_OK; /* the caller's open names what is wrong */
        if (flock(f, LOCK_EX | LOCK_NB) == 0) {
            struct stat held, now;
            if (fstat(f, &held) == 0 && stat(path, &now) == 0 && held.st_dev == now.st_dev && held.st_ino == now.st_ino) {
                if (said) fprintf(stderr, "mvke %s: the other writer of %s is done; going on\n", cmd, path);
                *fd = f;
                return CLI_EXIT_OK;
            }
            close(f); /* a new file was renamed over path: lock that one, and read its change */
            continue;
        }
        const int e = errno;
        close(f);
        if (e != EWOULDBLOCK && e != EINTR) {
            fprintf(stderr, "mvke %s: cannot lock %s for writing: %s; nothing was changed\n", cmd, path, strerror(e));
            return CLI_EXIT_IO;
        }
        if (!said) {
            fprintf(stderr, "mvke %s: %s is being changed by another command; waiting for it (at most %d s)\n", cmd, path,
                    CLI_WRITER_WAIT_S);
            said = 1;
        }
        if (waited_ms >= CLI_WRITER_WAIT_S * 1000L) {
            fprintf(stderr, "mvke %s: %s is still being changed by another command after %d s; nothing was changed: "
                    "run this again when it is done\n", cmd, path, CLI_WRITER_WAIT_S);
            return CLI_EXIT_FAIL;
        }
        struct timespec ts = {0, step_ms * 1000000L};
        nanosleep(&ts, NULL);
        waited_ms += step_ms;
    }
}
