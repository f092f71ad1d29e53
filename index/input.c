/*
 * input.c - opening input files (input.h).
 */
#define _GNU_SOURCE
#include "input.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int mvke_input_open(const char *path, int streams_ok, char *why, unsigned long cap) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, cap, "cannot open: %s", strerror(errno));
        return -1;
    }
    struct stat sb;
    int e = 0;
    if (fstat(fd, &sb) != 0) {
        e = errno;
        snprintf(why, cap, "cannot stat: %s", strerror(e));
    } else if (S_ISDIR(sb.st_mode)) {
        e = EISDIR;
        snprintf(why, cap, "is a directory, not a file");
    } else if (!S_ISREG(sb.st_mode) && !(streams_ok && (S_ISFIFO(sb.st_mode) || S_ISCHR(sb.st_mode)))) {
        e = EINVAL;
        snprintf(why, cap, "not a regular file");
    } else {
        const int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
            e = errno;
            snprintf(why, cap, "cannot read: %s", strerror(e));
        }
    }
    if (e) {
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}
