/*
 * progress.c - progress reports on stderr (see progress.h).
 */
#include "progress.h"

#include <stdio.h>
#include <unistd.h>

#include "support/clock.h"

void cli_progress_start(cli_progress *p, const char *what, int64_t done, int64_t total) {
    p->what = what;
    p->total = total;
    p->start_done = done;
    p->t0 = p->last = bench_now();
    p->tty = isatty(2);
}

static void fmt_eta(double s, char *buf, size_t cap) {
    if (s < 0 || s > 1e8) {
        snprintf(buf, cap, "--:--:--");
        return;
    }
    long t = (long)(s + 0.5);
    snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
}

void cli_progress_update(cli_progress *p, int64_t done, int force) {
    const double now = bench_now();
    if (!force && now - p->last < (p->tty ? 0.2 : 5.0)) return;
    p->last = now;
    const double el = now - p->t0, rate = el > 0 ? (double)(done - p->start_done) / el : 0;
    const double frac = p->total ? (double)done / (double)p->total : 1.0;
    char eta[32];
    fmt_eta(rate > 0 ? (double)(p->total - done) / rate : -1, eta, sizeof eta);
    if (p->tty) {
        char bar[31];
        int fill = (int)(frac * 30);
        for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
        bar[30] = 0;
        fprintf(stderr, "\r[%s] %5.1f%% %lld/%lld %s  %.0f %s/s  ETA %s ", bar, frac * 100, (long long)done,
                (long long)p->total, p->what, rate, p->what, eta);
    } else {
        fprintf(stderr, "progress: %lld/%lld %s (%.1f%%), %.0f %s/s, ETA %s\n", (long long)done, (long long)p->total,
                p->what, frac * 100, rate, p->what, eta);
    }
    fflush(stderr);
}

void cli_progress_end(cli_progress *p, int64_t done) {
    cli_progress_update(p, done, 1);
    if (p->tty) fputc('\n', stderr);
}
