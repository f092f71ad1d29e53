/*
 * progress.h - progress reports on stderr for long runs: a bar with rate and ETA redrawn in
 * place when stderr is a terminal, a plain line every few seconds otherwise (logs stay short).
 */
#ifndef MVKE_TOOLS_PROGRESS_H
#define MVKE_TOOLS_PROGRESS_H

#include <stdint.h>

typedef struct cli_progress {
    const char *what; /* "users" */
    int64_t total, start_done;
    double t0, last;
    int tty;
} cli_progress;

void cli_progress_start(cli_progress *p, const char *what, int64_t done, int64_t total);
/* Reports `done` units (rate-limited; force = 1 always prints). */
void cli_progress_update(cli_progress *p, int64_t done, int force);
/* Ends the bar (a newline on a terminal). */
void cli_progress_end(cli_progress *p, int64_t done);

#endif
