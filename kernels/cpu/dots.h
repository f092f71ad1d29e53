/*
 * dots.h - inner products of a few query rows against many database rows, for batches too
 * small for BLAS's matrix product to pay off (it repacks the rows for every call).
 */
#ifndef MVKE_KERNELS_CPU_DOTS_H
#define MVKE_KERNELS_CPU_DOTS_H

#include <stdint.h>

/* Batch sizes the kernel serves (measured faster than sgemv and sgemm there); a single query
 * goes to sgemv, bigger batches to sgemm. */
#define MVKE_DOTS_MIN_Q 2
#define MVKE_DOTS_MAX_Q 3

/* S[j * nr + i] = <Q[j], R[i]> for j < nq, i < nr; rows of length n, Q and R row-major. */
void mvke_cpu_dots(int nq, int64_t nr, int n, const float *Q, const float *R, float *S);

#endif
