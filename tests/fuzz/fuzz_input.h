/*
 * fuzz_input.h - what every fuzz target shares: the readers under test take a path, so the
 * input bytes go to an anonymous in-memory file (memfd) named /proc/self/fd/N, and a refusal
 * must always come with a message.
 */
#ifndef MVKE_FUZZ_INPUT_H
#define MVKE_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mvke/mvke.h"

/* The entry point libFuzzer calls, and the corpus replay too (tests/fuzz/replay.c). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Writes data to a new memfd and its name to path; returns the descriptor (close it after).
 * A failure here is the machine's, not the input's: abort so it is never mistaken for a pass. */
static inline int fuzz_file(const uint8_t *data, size_t size, char *path, size_t cap) {
    int fd = memfd_create("mvke-fuzz", 0);
    if (fd < 0) abort();
    for (size_t at = 0; at < size;) {
        ssize_t w = write(fd, data + at, size - at);
        if (w <= 0) abort();
        at += (size_t)w;
    }
    snprintf(path, cap, "/proc/self/fd/%d", fd);
    return fd;
}

/* Every refused input must say what is wrong. */
static inline void fuzz_refused(mvke_status st) {
    if (st == MVKE_OK || mvke_last_error()[0] == '\0') abort();
}

#endif
