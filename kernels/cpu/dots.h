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

/* Batch sizes the float16 kernel serves: up to this many queries it beats widening a tile and
 * calling BLAS. */
#define MVKE_DOTS_F16_MAX_Q 3

/* The same with float16 rows R (n halfs each), widened in registers as they are read, so that a
 * float16 index reads half the bytes of a float32 one and writes nothing back. */
void mvke_cpu_dots_f16(int nq, int64_t nr, int n, const float *Q, const uint16_t *R, float *S);

#endif
