/*
 * criterion.h (stand-in) - the few Criterion macros the concurrency test and the oracle use, for
 * the ThreadSanitizer build only. Criterion cannot start under TSan (its inheritable arena is
 * mapped where TSan keeps its shadow memory: "Could not initialize inheritable arena",
 * Snaipe/Criterion#274), so tests/meson.build compiles test_concurrency.c and reference.c against
 * this header when b_sanitize is thread. Tests run in order in one process; the first failed
 * check prints where and why and exits 1.
 */
#ifndef MVKE_TSAN_CRITERION_STANDIN_H
#define MVKE_TSAN_CRITERION_STANDIN_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct plain_test {
    const char *name;
    void (*fn)(void);
    struct plain_test *next;
} plain_test;

/* Weak, so that every file including this header shares one list and one main. */
__attribute__((weak)) plain_test *plain_tests_head;
__attribute__((weak)) plain_test *plain_tests_tail;

#define Test(suite, name, ...)                                                                   \
    static void suite##_##name##_fn(void);                                                       \
    static plain_test suite##_##name##_entry = {#suite "::" #name, suite##_##name##_fn, NULL};  \
    __attribute__((constructor)) static void suite##_##name##_register(void) {                  \
        if (plain_tests_tail) plain_tests_tail->next = &suite##_##name##_entry;                  \
        else plain_tests_head = &suite##_##name##_entry;                                         \
        plain_tests_tail = &suite##_##name##_entry;                                              \
    }                                                                                            \
    static void suite##_##name##_fn(void)

__attribute__((format(printf, 4, 5))) static inline void plain_fail(const char *file, int line,
                                                                    const char *cond,
                                                                    const char *fmt, ...) {
    fprintf(stderr, "%s:%d: check failed: %s\n   ", file, line, cond);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

#define cr_assert(c, ...) \
    do { if (!(c)) plain_fail(__FILE__, __LINE__, #c, " " __VA_ARGS__); } while (0)
#define cr_assert_eq(a, b, ...) cr_assert((a) == (b), __VA_ARGS__)
#define cr_assert_neq(a, b, ...) cr_assert((a) != (b), __VA_ARGS__)
#define cr_assert_geq(a, b, ...) cr_assert((a) >= (b), __VA_ARGS__)
#define cr_assert_null(p, ...) cr_assert((p) == NULL, __VA_ARGS__)
#define cr_assert_fail(...) plain_fail(__FILE__, __LINE__, "failed", " " __VA_ARGS__)

__attribute__((weak)) int main(void) {
    int n = 0;
    for (plain_test *t = plain_tests_head; t; t = t->next, n++) {
        fprintf(stderr, "[RUN ] %s\n", t->name);
        t->fn();
        fprintf(stderr, "[ OK ] %s\n", t->name);
    }
    fprintf(stderr, "%d tests passed\n", n);
    return n > 0 ? 0 : 1;
}

#endif
