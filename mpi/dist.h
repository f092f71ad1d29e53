/*
 * dist.h - the distribution layer of the `mvke` tool (DESIGN section 9): which rank of how many
 * this process is, and the few collective operations the MPI-aware commands need.
 *
 * Two implementations share this header: dist_mpi.c over MPI (built when MPI is found,
 * -Dmpi=auto) and dist_serial.c, one rank and no communication. Under MPI, MPI is started only
 * when the process was launched by an MPI launcher; a plain `mvke ...` stays one rank and never
 * pays for MPI_Init. Nothing below tools/ knows about this layer.
 */
#ifndef MVKE_MPI_DIST_H
#define MVKE_MPI_DIST_H

#include <stdint.h>

/* Starts MPI when the environment shows an MPI launcher (OMPI_COMM_WORLD_SIZE, PMIX_RANK or
 * PMI_SIZE); otherwise does nothing and the process is rank 0 of 1. Under MPI, stderr is
 * replaced by a stream that starts every line with "rank R: ". Returns 0, or -1 when MPI
 * failed to start (a message is printed). */
int mvke_dist_init(int *argc, char ***argv);

/* Whether MPI was started (the process was launched by an MPI launcher). */
int mvke_dist_active(void);

/* This process's rank and the number of ranks (0 and 1 when MPI is not active). */
int mvke_dist_rank(void);
int mvke_dist_size(void);

/* Ends a job whose ranks all succeeded (MPI_Finalize); nothing without MPI. */
void mvke_dist_finish(void);

/* Ends the whole job at once with exit status code (MPI_Abort): for a rank that fails while
 * the others may wait for it. Without MPI, exits the process with code. */
_Noreturn void mvke_dist_abort(int code);

/* Waits for every rank. Returns 0, or -1 (message printed). */
int mvke_dist_barrier(void);

/* Gathers len bytes from every rank onto rank 0. On rank 0, *all receives the ranks' bytes one
 * after another (malloc'd; free it) and lens (size entries, malloc'd) each rank's length; on
 * the other ranks both are NULL. The total must stay below 2^31 bytes. Returns 0, or -1 (a
 * message is printed: out of memory, or the total too large). */
int mvke_dist_gather(const void *buf, int64_t len, char **all, int64_t **lens);

/* Replaces v[0..n-1] on every rank by the element-wise minimum over the ranks.
 * Returns 0, or -1 (message printed). */
int mvke_dist_min_i64(int64_t *v, int64_t n);

#endif
