/*
 * durable.c - whole writes and reads, directory fsync and string copies (durable.h).
 */
#include "durable.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../kernels/runtime.h"

int mvke_write_all(int fd, const void *buf, size_t n, int64_t off, size_t *done) {
    const char *p = buf;
    size_t total = 0;
    while (total < n) {
        ssize_t w = off >= 0 ? pwrite(fd, p + total, n - total, (off_t)(off + (int64_t)total))
                             : write(fd, p + total, n - total);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            if (done) *done = total;
            return -1;
        }
        total += (size_t)w;
    }
    if (done) *done = total;
    return 0;
}

int64_t mvke_pread_all(int fd, void *buf, size_t n, uint64_t off) {
    unsigned char *b = buf;
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, b + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) break;
        got += (size_t)r;
    }
    return (int64_t)got;
}

void mvke_dir_of(const char *path, char *dir, size_t cap) {
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, cap, ".");
    else if (slash == path) snprintf(dir, cap, "/");
    else snprintf(dir, cap, "%.*s", (int)(slash - path), path);
}

int mvke_fsync_dir_of(const char *path) {
    char dir[4096];
    mvke_dir_of(path, dir, sizeof dir);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int r = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

char *mvke_strndup(const char *s, size_t n) {
    char *c = mvke_malloc(n + 1);
    if (c) {
        memcpy(c, s, n);
        c[n] = 0;
    }
    return c;
}

char *mvke_strdup(const char *s) { return mvke_strndup(s, strlen(s)); }
