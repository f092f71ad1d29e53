/*
 * runtime.c - allocation hook, thread-local error messages and status names.
 */
#include "runtime.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

/* Armed failure countdown: < 0 disarmed; otherwise the number of allocations that may still
 * succeed. Atomic because searches allocate from several threads at once. */
static _Atomic int64_t fail_countdown = -1;
static _Atomic int64_t alloc_count = 0;

static int alloc_allowed(void) {
    int64_t left = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    if (left < 0) return 1;
    while (left > 0) {
        if (atomic_compare_exchange_weak(&fail_countdown, &left, left - 1)) {
            atomic_fetch_add(&alloc_count, 1);
            return 1;
        }
    }
    return left < 0; /* disarmed meanwhile, or exhausted */
}

int64_t mvke_alloc_fail_after(int64_t n) {
    int64_t made = atomic_exchange(&alloc_count, 0);
    atomic_store(&fail_countdown, n < 0 ? -1 : n);
    return made;
}

void *mvke_malloc(size_t size) {
    if (!alloc_allowed()) return NULL;
    return malloc(size ? size : 1);
}

void *mvke_calloc(size_t count, size_t size) {
    if (!alloc_allowed()) return NULL;
    return calloc(count ? count : 1, size ? size : 1);
}

void *mvke_realloc(void *ptr, size_t size) {
    if (!alloc_allowed()) return NULL;
    return realloc(ptr, size ? size : 1);
}

void mvke_free(void *ptr) { free(ptr); }

void *mvke_malloc_array(size_t count, size_t size) {
    size_t bytes;
    if (!mvke_mul_ok(count, size, &bytes)) return NULL;
    return mvke_malloc(bytes);
}

static _Thread_local char last_error[1024];
static _Thread_local int64_t last_rows[2];
static _Thread_local int last_nrows;

/* Formats a message into last_error with control bytes (C0 and DEL) written as \xNN: messages
 * quote names and lines from files, and a terminal must not act on an escape sequence in one. */
static void set_message(const char *fmt, va_list ap) {
    char raw[sizeof last_error];
    vsnprintf(raw, sizeof raw, fmt, ap);
    size_t o = 0;
    for (const unsigned char *c = (const unsigned char *)raw; *c && o + 1 < sizeof last_error; c++) {
        if (*c >= 0x20 && *c != 0x7f) {
            last_error[o++] = (char)*c;
        } else {
            if (o + 5 >= sizeof last_error) break;
            o += (size_t)snprintf(last_error + o, sizeof last_error - o, "\\x%02x", *c);
        }
    }
    last_error[o] = 0;
}

mvke_status mvke_error(mvke_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    set_message(fmt, ap);
    va_end(ap);
    last_nrows = 0;
    return status;
}

mvke_status mvke_error_row(mvke_status status, int64_t row, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    set_message(fmt, ap);
    va_end(ap);
    last_rows[0] = row;
    last_nrows = 1;
    return status;
}

mvke_status mvke_error_rows(mvke_status status, int64_t row1, int64_t row2, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    set_message(fmt, ap);
    va_end(ap);
    last_rows[0] = row1;
    last_rows[1] = row2;
    last_nrows = 2;
    return status;
}

void mvke_error_clear(void) {
    last_error[0] = '\0';
    last_nrows = 0;
}

const char *mvke_last_error(void) { return last_error; }

mvke_status mvke_last_error_rows(int64_t rows[2], int *n) {
    if (!rows || !n) return MVKE_ERR_INVALID; /* the last error stays as it was */
    *n = last_nrows;
    for (int i = 0; i < last_nrows; i++) rows[i] = last_rows[i];
    return MVKE_OK;
}

const char *mvke_status_name(mvke_status status) {
    switch (status) {
    case MVKE_OK: return "MVKE_OK";
    case MVKE_ERR_INVALID: return "MVKE_ERR_INVALID";
    case MVKE_ERR_NOMEM: return "MVKE_ERR_NOMEM";
    case MVKE_ERR_NONFINITE: return "MVKE_ERR_NONFINITE";
    case MVKE_ERR_DIM: return "MVKE_ERR_DIM";
    case MVKE_ERR_DUPLICATE: return "MVKE_ERR_DUPLICATE";
    case MVKE_ERR_BAD_K: return "MVKE_ERR_BAD_K";
    case MVKE_ERR_UNKNOWN_ID: return "MVKE_ERR_UNKNOWN_ID";
    case MVKE_ERR_UNKNOWN_TASK: return "MVKE_ERR_UNKNOWN_TASK";
    case MVKE_ERR_GATE: return "MVKE_ERR_GATE";
    case MVKE_ERR_IO: return "MVKE_ERR_IO";
    case MVKE_ERR_FORMAT: return "MVKE_ERR_FORMAT";
    case MVKE_ERR_TRUNCATED: return "MVKE_ERR_TRUNCATED";
    case MVKE_ERR_CHECKSUM: return "MVKE_ERR_CHECKSUM";
    case MVKE_ERR_BACKEND: return "MVKE_ERR_BACKEND";
    case MVKE_ERR_UNSUPPORTED: return "MVKE_ERR_UNSUPPORTED";
    case MVKE_ERR_UNTRAINED: return "MVKE_ERR_UNTRAINED";
    }
    return "unknown status";
}
