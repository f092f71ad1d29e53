/*
 * dist_mpi.c - the distribution layer over MPI (Open MPI from Debian, launched with mpirun).
 *
 * MPI_Init costs a fraction of a second in a process that was not launched by mpirun (a
 * singleton starts its own runtime), so it is called only when the launcher's environment is
 * there. Messages: every rank writes to the shared stderr, so under MPI stderr becomes a stream
 * that prefixes each line with "rank R: ", which names the failing rank in any message.
 */
#define _GNU_SOURCE
#include "dist.h"

#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int active, rank, size = 1;

/* --- stderr with a rank prefix ------------------------------------------------------------ */

static int at_line_start = 1;

static int write_fd2(const char *p, size_t n) {
    while (n) {
        ssize_t w = write(2, p, n);
        if (w < 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static ssize_t prefix_write(void *cookie, const char *buf, size_t n) {
    (void)cookie;
    /* Each line goes out in one write() with its prefix, so that mpirun, which forwards every
     * rank's stderr, never interleaves two ranks inside a line. */
    char line[4096];
    const int pl = snprintf(line, sizeof line, "rank %d: ", rank);
    size_t done = 0;
    while (done < n) {
        const char *nl = memchr(buf + done, '\n', n - done);
        size_t len = nl ? (size_t)(nl - (buf + done)) + 1 : n - done;
        size_t start = at_line_start ? (size_t)pl : 0, take = len < sizeof line - start ? len : sizeof line - start;
        memcpy(line + start, buf + done, take);
        if (write_fd2(line, start + take) != 0) return -1;
        at_line_start = take == len && nl != NULL;
        done += take;
    }
    return (ssize_t)n;
}

static void prefix_stderr(void) {
    cookie_io_functions_t io = {.read = NULL, .write = prefix_write, .seek = NULL, .close = NULL};
    FILE *f = fopencookie(NULL, "w", io);
    if (!f) return;
    setvbuf(f, NULL, _IOLBF, 0);
    stderr = f;
}

/* --- the interface ------------------------------------------------------------------------- */

static int launched_by_mpi(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_SIZE") || getenv("PMI_RANK");
}

int mvke_dist_init(int *argc, char ***argv) {
    if (!launched_by_mpi()) return 0;
    if (MPI_Init(argc, argv) != MPI_SUCCESS) {
        fprintf(stderr, "mvke: MPI_Init failed\n");
        return -1;
    }
    active = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    prefix_stderr();
    return 0;
}

int mvke_dist_active(void) { return active; }
int mvke_dist_rank(void) { return rank; }
int mvke_dist_size(void) { return size; }

void mvke_dist_finish(void) {
    if (active) MPI_Finalize();
    active = 0;
}

_Noreturn void mvke_dist_abort(int code) {
    fflush(stdout);
    fflush(stderr);
    if (active) MPI_Abort(MPI_COMM_WORLD, code ? code : 1);
    exit(code);
}

int mvke_dist_barrier(void) {
    if (!active) return 0;
    if (MPI_Barrier(MPI_COMM_WORLD) != MPI_SUCCESS) {
        fprintf(stderr, "mvke: MPI_Barrier failed\n");
        return -1;
    }
    return 0;
}

int mvke_dist_gather(const void *buf, int64_t len, char **all, int64_t **lens) {
    *all = NULL;
    *lens = NULL;
    if (!active) {
        *all = malloc(len > 0 ? (size_t)len : 1);
        *lens = malloc(sizeof **lens);
        if (!*all || !*lens) goto nomem;
        if (len > 0) memcpy(*all, buf, (size_t)len);
        (*lens)[0] = len;
        return 0;
    }
    long long mine = len, *each = NULL;
    int *counts = NULL, *displs = NULL, ok = 1;
    if (rank == 0) {
        each = malloc((size_t)size * sizeof *each);
        counts = malloc((size_t)size * sizeof *counts);
        displs = malloc((size_t)size * sizeof *displs);
        *lens = malloc((size_t)size * sizeof **lens);
        ok = each && counts && displs && *lens;
    }
    /* Every rank learns whether rank 0 can take the gather before anyone sends data. */
    MPI_Gather(&mine, 1, MPI_LONG_LONG, each, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
    long long total = 0;
    if (rank == 0 && ok) {
        for (int r = 0; r < size; r++) total += each[r];
        if (total >= INT_MAX) {
            fprintf(stderr, "mvke: %lld bytes of results are too many to gather (at most 2^31)\n", total);
            ok = -1;
        } else if (!(*all = malloc(total > 0 ? (size_t)total : 1))) {
            ok = 0;
        } else {
            for (int r = 0, off = 0; r < size; r++) {
                counts[r] = (int)each[r];
                displs[r] = off;
                off += counts[r];
                (*lens)[r] = each[r];
            }
        }
    }
    MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (ok == 1)
        MPI_Gatherv(buf, (int)len, MPI_BYTE, *all, counts, displs, MPI_BYTE, 0, MPI_COMM_WORLD);
    free(each);
    free(counts);
    free(displs);
    if (ok == 1) return 0;
    free(*all);
    free(*lens);
    *all = NULL;
    *lens = NULL;
    if (ok == -1 || rank != 0) return -1;
nomem:
    free(*all);
    free(*lens);
    *all = NULL;
    *lens = NULL;
    fprintf(stderr, "mvke: out of memory gathering results\n");
    return -1;
}

int mvke_dist_min_i64(int64_t *v, int64_t n) {
    if (!active || n == 0) return 0;
    if (n > INT_MAX || MPI_Allreduce(MPI_IN_PLACE, v, (int)n, MPI_INT64_T, MPI_MIN, MPI_COMM_WORLD) != MPI_SUCCESS) {
        fprintf(stderr, "mvke: MPI_Allreduce failed\n");
        return -1;
    }
    return 0;
}
