/*
 * clock.h - the one clock and the one median of every measurement in the project's programs
 * (the benchmark, the GPU benchmark, the naive baseline, the demo and the progress reports).
 */
#ifndef MVKE_SUPPORT_CLOCK_H
#define MVKE_SUPPORT_CLOCK_H

/* Monotonic seconds. */
double bench_now(void);

/* The median of v[0 .. n-1] (n >= 1), the mean of the two middle values for even n; sorts v. */
double bench_median(double *v, int n);

#endif
