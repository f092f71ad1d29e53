/*
 * gnuplot.h - the one way the programs draw their pictures: gnuplot run on a script in a folder
 * (the benchmark's SVG plots, the demo's report pictures), without a shell.
 */
#ifndef MVKE_SUPPORT_GNUPLOT_H
#define MVKE_SUPPORT_GNUPLOT_H

#include <stddef.h>

/* Runs `gnuplot script` with dir as its working directory and its output on stderr. Returns 0,
 * or -1 with the reason in msg (cap bytes): gnuplot missing, failing, or not started. */
int bench_gnuplot(const char *dir, const char *script, char *msg, size_t cap);

#endif
