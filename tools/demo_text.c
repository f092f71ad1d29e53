/*
 * demo_text.c - the console helpers of `mvke demo` (demo.h): results printed and kept for the
 * report page, grouped numbers, names of tasks, topics and preferences, the named tags.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "demo.h"

/* Tags shown for each task (found by name; other worlds fall back to tags at fixed places). */
static const char *const NAMED[2][NAMED_PER_TASK] = {
    {"Travel", "Automobiles - electric cars", "Real estate - house lease - villa"},
    {"Finance - credit cards", "Travel - hotels", "Education - language courses - weekend"},
};

void cli_demo_say(cli_demo *dm, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    if (dm->console) {
        va_start(ap, fmt);
        vfprintf(dm->console, fmt, ap);
        va_end(ap);
    }
}

const char *cli_demo_grouped(long long v, char *buf) {
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%lld", v < 0 ? -v : v), o = 0;
    if (v < 0) buf[o++] = '-';
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = 0;
    return buf;
}

int cli_demo_make_dir(const char *path) {
    if (mkdir(path, 0777) == 0 || errno == EEXIST) return 0;
    fprintf(stderr, "mvke demo: cannot create %s: %s\n", path, strerror(errno));
    return -1;
}

const char *cli_demo_task(const cli_demo *dm, int t) {
    return dm->w->opt.tasks[t].name;
}

const char *cli_demo_topic(const cli_demo *dm, int topic) {
    return dm->w->tag_name[topic]; /* topics are the first tags */
}

void cli_demo_prefs(const cli_demo *dm, int t, int64_t u, char *buf, size_t cap) {
    const synth_world *w = dm->w;
    const int32_t *pr = w->pref + ((size_t)t * w->opt.nusers + u) * w->opt.prefs_max;
    size_t n = 0;
    buf[0] = 0;
    for (int a = 0; a < w->opt.prefs_max && pr[a] >= 0 && n < cap; a++)
        n += snprintf(buf + n, cap - n, "%s%s", a ? ", " : "", cli_demo_topic(dm, pr[a]));
}

void cli_demo_pick_named(cli_demo *dm) {
    const synth_world *w = dm->w;
    for (int t = 0; t < w->opt.ntasks && t < SYNTH_WORLD_MAX_TASKS; t++)
        for (int s = 0; s < NAMED_PER_TASK; s++) {
            int64_t pick = -1;
            if (t < 2)
                for (int64_t i = 0; i < w->ntags && pick < 0; i++)
                    if (!strcmp(w->tag_name[i], NAMED[t][s])) pick = i;
            if (pick < 0) pick = ((int64_t)(t * NAMED_PER_TASK + s) * 7919) % w->ntags;
            dm->named[t][s] = pick;
        }
}
