/*
 * runtime.h - what every layer of the library shares: allocation through one replaceable hook
 * (so tests can fail the Nth allocation), the thread-local error message, and checked size
 * arithmetic for sizes that come from outside.
 */
#ifndef MVKE_RUNTIME_H
#define MVKE_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "mvke/mvke.h"

/* Allocation. All library memory goes through these, never plain malloc, so that a test can
 * make allocations fail (mvke_alloc_fail_after). mvke_free(NULL) does nothing. */
void *mvke_malloc(size_t size);
void *mvke_calloc(size_t count, size_t size);
void *mvke_realloc(void *ptr, size_t size);
void mvke_free(void *ptr);

/* Allocates count * size bytes, or returns NULL when the product overflows or memory is short. */
void *mvke_malloc_array(size_t count, size_t size);

/* Test hook: after n more successful allocations, every allocation fails, until the hook is
 * disarmed with n < 0. Returns the number of allocations made since the hook was last armed. */
int64_t mvke_alloc_fail_after(int64_t n);

/* Sets the calling thread's error message (printf-style) and returns status, so that a failing
 * function can end with `return mvke_error(MVKE_ERR_DIM, "...", ...)`. */
mvke_status mvke_error(mvke_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The same, for an error about row `row` (or rows row1 and row2) of the caller's batch, which
 * mvke_last_error_rows then reports. */
mvke_status mvke_error_row(mvke_status status, int64_t row, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
mvke_status mvke_error_rows(mvke_status status, int64_t row1, int64_t row2, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Clears the calling thread's error message (and its rows). */
void mvke_error_clear(void);

/* Checked arithmetic: store a * b (or a + b) in *out and return 1, or return 0 on overflow. */
static inline int mvke_mul_ok(size_t a, size_t b, size_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
static inline int mvke_add_ok(size_t a, size_t b, size_t *out) {
    return !__builtin_add_overflow(a, b, out);
}

#endif
