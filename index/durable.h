/*
 * durable.h - the I/O helpers every file writer and reader of the project shares (index files,
 * .npy, the tag table, tags.tsv, and the command line's streamed outputs and checkpoints): whole
 * writes and reads despite short transfers and EINTR, the fsync of the directory that makes a
 * rename durable, and string copies through the library's allocator.
 */
#ifndef MVKE_INDEX_DURABLE_H
#define MVKE_INDEX_DURABLE_H

#include <stddef.h>
#include <stdint.h>

/* Writes all n bytes of buf at byte off of fd (off < 0: at the file position). Returns 0, or -1
 * with errno set; *done (may be NULL) receives the bytes written before a failure. */
int mvke_write_all(int fd, const void *buf, size_t n, int64_t off, size_t *done);

/* Reads up to n bytes at byte off of fd until n are read or the file ends. Returns the bytes read
 * (fewer than n only at the end of the file), or -1 with errno set. */
int64_t mvke_pread_all(int fd, void *buf, size_t n, uint64_t off);

/* The directory holding path ("." for a bare name, "/" for a file in the root) into dir. */
void mvke_dir_of(const char *path, char *dir, size_t cap);

/* fsyncs the directory holding path, so that a rename or unlink in it survives a crash.
 * Returns 0, or -1 with errno set. */
int mvke_fsync_dir_of(const char *path);

/* A copy of s (or of its first n bytes, then a NUL) from mvke_malloc; NULL when memory is short. */
char *mvke_strdup(const char *s);
char *mvke_strndup(const char *s, size_t n);

#endif
