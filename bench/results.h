/*
 * report.h - turns measured rows into the report: ratios to FAISS and to the naive method,
 * fractions of the machine's limits, the extrapolation to 1e9 users, the check of the targets;
 * printed as markdown, written as JSON and plotted with gnuplot.
 */
#ifndef MVKE_BENCH_REPORT_H
#define MVKE_BENCH_REPORT_H

#include <stdio.h>

#include "bench.h"

/* Fills the derived fields of every row. */
void bench_results_finish(bench_results *rep, const bench_config *cfg, const bench_limits *lim);

/* The markdown report (limits, targets, one table per size, batch tagging) to f. */
void bench_results_markdown(FILE *f, const bench_results *rep, const bench_config *cfg, const bench_limits *lim,
                           const char *machine, const char *date, double total_s);

/* Writes path as JSON. Returns 0, or 1 after printing why. */
int bench_results_json(const char *path, const bench_results *rep, const bench_config *cfg,
                      const bench_limits *lim, const char *machine, const char *date, double total_s);

/* Writes the plot data and script into dir and runs gnuplot on it (SVG). Returns 0, or 1 when
 * gnuplot is missing or fails (the data files stay). */
int bench_results_plots(const char *dir, const bench_results *rep, const bench_config *cfg, const bench_limits *lim);

#endif
