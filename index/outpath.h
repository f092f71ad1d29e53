/*
 * outpath.h - what every writer of the project does before and while it replaces a file: the
 * check that a path may be replaced (absent or a regular file, never a device, FIFO, directory,
 * socket or symbolic link), and the temporary file that becomes the path only when complete
 * (O_TMPFILE + linkat where the file system has it, so nothing is left after SIGKILL; otherwise a
 * name carrying the writer's pid, removed by a later writer of the same path once that pid is
 * gone). Symbolic links are refused, not followed: the caller names the file it means.
 */
#ifndef MVKE_INDEX_OUTPATH_H
#define MVKE_INDEX_OUTPATH_H

#include <stddef.h>

/* 0 when path may be replaced by a new regular file (it is absent or a regular file); otherwise
 * -1 with *why (static text) saying what it is ("is a FIFO", "is a symbolic link", ...). */
int mvke_outpath_check(const char *path, const char **why);

/* A temporary file in path's directory, for writing what will become path. Returns an fd opened
 * read-write with mode 0644, or -1 with errno set. name (cap bytes) receives the temporary name,
 * or "" when the file has none yet (O_TMPFILE). Removes first the temporaries of path left by
 * writers that no longer run. */
int mvke_outpath_tmp_open(const char *path, char *name, size_t cap);

/* Makes the complete, fsynced temporary fd (named name, or unnamed) the file path: an unnamed one
 * is linked under a pid-carrying name and renamed. Does not close fd. Returns 0, or -1 with errno
 * set (the temporary then removed). */
int mvke_outpath_tmp_commit(int fd, const char *name, const char *path);

/* Removes a temporary that will not be committed (name "" : nothing to remove). */
void mvke_outpath_tmp_discard(const char *name);

/* Removes the temporaries of path ("path.tmp.PID.*") whose writer PID no longer runs. */
void mvke_outpath_sweep(const char *path);

#endif
