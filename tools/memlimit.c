/*
 * memlimit.c - the tool's start under an address-space limit (ulimit -v). OpenBLAS 0.3.21 (Debian
 * 12) reserves a 128 MiB buffer per thread in its library constructor and, when the reservation
 * fails, retries forever (fixed upstream in 0.3.30): a limited process would hang before main.
 * This runs from the executable's .preinit_array, before any library constructor: below the
 * smallest limit under which that buffer fits, it exits at once with a message about memory
 * instead of hanging. Between that and about 512 MiB the hang remains (docs/reliability.md).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* The smallest limit under which the tool starts: OpenBLAS's buffer plus the mapped libraries
 * (the OpenMP and BLAS libraries, libc, stacks), measured at about 170 MiB; with a margin. */
#define MIN_LIMIT_MIB 192

static void start_under_limit(int argc, char **argv, char **envp) {
    (void)argc;
    (void)envp;
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return;
    if (rl.rlim_cur < (rlim_t)MIN_LIMIT_MIB << 20) {
        char msg[400];
        int n = snprintf(msg, sizeof msg,
                         "%s: out of memory: the address-space limit (ulimit -v) is %llu MiB; the BLAS library "
                         "reserves 128 MiB at start, so the tool needs at least %d MiB\n",
                         argv && argv[0] ? argv[0] : "mvke", (unsigned long long)(rl.rlim_cur >> 20), MIN_LIMIT_MIB);
        if (n > 0) {
            ssize_t w = write(2, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
            (void)w;
        }
        _exit(1);
    }
}

__attribute__((section(".preinit_array"), used)) static void (*const mvke_preinit)(int, char **, char **) =
    start_under_limit;

