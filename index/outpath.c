/*
 * outpath.c - the output-path check and the temporary files that replace a file atomically
 * (outpath.h).
 */
#define _GNU_SOURCE
#include "outpath.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "durable.h"

int mvke_outpath_check(const char *path, const char **why) {
    struct stat sb;
    if (lstat(path, &sb) != 0) {
        if (errno == ENOENT) return 0;
        *why = "cannot be examined";
        return -1;
    }
    if (S_ISREG(sb.st_mode)) return 0;
    *why = S_ISLNK(sb.st_mode)    ? "is a symbolic link (links are not followed: name the file itself)"
           : S_ISCHR(sb.st_mode)  ? "is a character device"
           : S_ISBLK(sb.st_mode)  ? "is a block device"
           : S_ISFIFO(sb.st_mode) ? "is a FIFO"
           : S_ISDIR(sb.st_mode)  ? "is a directory"
           : S_ISSOCK(sb.st_mode) ? "is a socket"
                                  : "is not a regular file";
    return -1;
}

/* The file-name part of path. */
static const char *base_of(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

void mvke_outpath_sweep(const char *path) {
    char dir[4096];
    mvke_dir_of(path, dir, sizeof dir);
    const char *base = base_of(path);
    const size_t bl = strlen(base);
    DIR *dp = opendir(dir);
    if (!dp) return;
    struct dirent *de;
    while ((de = readdir(dp))) {
        const char *n = de->d_name;
        if (strncmp(n, base, bl) || strncmp(n + bl, ".tmp.", 5)) continue;
        char *end;
        long pid = strtol(n + bl + 5, &end, 10);
        if (end == n + bl + 5 || *end != '.' || pid <= 0) continue;
        if (pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        char full[8192];
        snprintf(full, sizeof full, "%s/%s", dir, n);
        unlink(full);
    }
    closedir(dp);
}

/* A fresh pid-carrying name for path's temporary: path.tmp.PID.XXXXXX with XXXXXX random. */
static void tmp_name(const char *path, char *name, size_t cap, unsigned salt) {
    static const char al[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned v = (unsigned)time(NULL) * 2654435761u ^ (unsigned)getpid() * 40503u ^ salt * 977u;
    char r[7];
    for (int i = 0; i < 6; i++) {
        v = v * 1103515245u + 12345u;
        r[i] = al[(v >> 16) % 36];
    }
    r[6] = 0;
    snprintf(name, cap, "%s.tmp.%ld.%s", path, (long)getpid(), r);
}

int mvke_outpath_tmp_open(const char *path, char *name, size_t cap) {
    mvke_outpath_sweep(path);
    name[0] = 0;
#ifdef O_TMPFILE
    char dir[4096];
    mvke_dir_of(path, dir, sizeof dir);
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
    if (fd >= 0) {
        if (fchmod(fd, 0644) == 0) return fd;
        close(fd);
    }
#endif
    for (unsigned k = 0; k < 100; k++) {
        tmp_name(path, name, cap, k);
        int f = open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (f >= 0) {
            if (fchmod(f, 0644) == 0) return f;
            int e = errno;
            close(f);
            unlink(name);
            errno = e;
            return -1;
        }
        if (errno != EEXIST) return -1;
    }
    return -1;
}

int mvke_outpath_tmp_commit(int fd, const char *name, const char *path) {
    char linked[8192];
    if (!name[0]) {
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        int ok = -1;
        for (unsigned k = 0; k < 100 && ok != 0; k++) {
            tmp_name(path, linked, sizeof linked, k + 1000);
            ok = linkat(AT_FDCWD, proc, AT_FDCWD, linked, AT_SYMLINK_FOLLOW);
            if (ok != 0 && errno != EEXIST) return -1;
        }
        if (ok != 0) return -1;
        name = linked;
    }
    if (rename(name, path) != 0) {
        int e = errno;
        unlink(name);
        errno = e;
        return -1;
    }
    return 0;
}

void mvke_outpath_tmp_discard(const char *name) {
    if (name && name[0]) unlink(name);
}
