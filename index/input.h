/*
 * input.h - opening an input file for reading without the traps of special files: open(2) on a
 * FIFO with no writer blocks for ever, and read(2) on a directory fails with EISDIR, which a
 * stdio loop takes for the end of the file.
 */
#ifndef MVKE_INDEX_INPUT_H
#define MVKE_INDEX_INPUT_H

/* Opens path for reading (non-blocking while it is opened, so that a FIFO without a writer
 * cannot hang the open, then blocking). A regular file is always taken; a FIFO, a pipe or a
 * character device only with streams_ok (text inputs such as `--ids-file <(...)`); a directory
 * and anything else never. Returns the descriptor, or -1 with errno set and `why` (cap bytes)
 * saying what is wrong ("is a directory", "not a regular file", or strerror). */
int mvke_input_open(const char *path, int streams_ok, char *why, unsigned long cap);

#endif
