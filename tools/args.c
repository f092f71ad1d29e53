/*
 * args.c - argument helpers shared by the file-based subcommands.
 */
#include "args.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "id_text.h"
#include "index/input.h"
#include "index/npy.h"

int cli_arg_id_list(const char *s, int64_t **ids, int64_t *n) {
    int64_t cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    int64_t *v = malloc((size_t)cap * sizeof *v);
    if (!v) return -1;
    int64_t k = 0;
    const char *p = s;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char buf[32];
        long long x;
        if (len == 0 || len >= sizeof buf) break;
        memcpy(buf, p, len);
        buf[len] = 0;
        if (cli_parse_i64(buf, &x) != 0) break;
        v[k++] = x;
        if (!e) {
            *ids = v;
            *n = k;
            return 0;
        }
        p = e + 1;
    }
    free(v);
    return -1;
}

int cli_opt_ids(const char *value, void *dst, char *msg, size_t cap) {
    cli_ids *l = dst;
    int64_t *ids, n;
    if (cli_arg_id_list(value, &ids, &n) != 0) {
        snprintf(msg, cap, "'%s': expected ids separated by commas", value);
        return -1;
    }
    free(l->ids);
    l->ids = ids;
    l->n = n;
    return 0;
}

int cli_arg_task_spec(const char *s, char **name, int *experts, int *nexperts) {
    const char *eq = strchr(s, '=');
    if (!eq || eq == s || !eq[1]) return -1;
    int n = 0;
    const char *p = eq + 1, *dash = strchr(p, '-');
    if (dash && !strchr(p, ',')) {
        long long a, b;
        char buf[32];
        size_t la = (size_t)(dash - p);
        if (la == 0 || la >= sizeof buf) return -1;
        memcpy(buf, p, la);
        buf[la] = 0;
        if (cli_parse_i64(buf, &a) || cli_parse_i64(dash + 1, &b) || a < 0 || b < a || b - a >= MVKE_MAX_K) return -1;
        for (long long k = a; k <= b; k++) experts[n++] = (int)k;
    } else {
        int64_t *v, m;
        if (cli_arg_id_list(p, &v, &m) != 0) return -1;
        if (m > MVKE_MAX_K) {
            free(v);
            return -1;
        }
        for (int64_t k = 0; k < m; k++) {
            if (v[k] < 0 || v[k] >= MVKE_MAX_K) {
                free(v);
                return -1;
            }
            experts[n++] = (int)v[k];
        }
        free(v);
    }
    *name = strndup(s, (size_t)(eq - s));
    *nexperts = n;
    return *name ? 0 : -1;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int cli_arg_read_ids(const char *cmd, const char *opt, const char *path, int64_t **out, int64_t *nout) {
    int64_t *ids = NULL, n = 0;
    mvke_status st = MVKE_OK;
    size_t pl = strlen(path);
    if (pl > 4 && !strcmp(path + pl - 4, ".npy")) {
        mvke_npy *f;
        if ((st = mvke_npy_open(&f, path)) != MVKE_OK) return cli_fail(cmd, st, opt);
        int nd;
        int64_t sh[MVKE_NPY_MAX_DIMS];
        mvke_dtype dt;
        mvke_npy_shape(f, &dt, &nd, sh);
        if (nd != 1 || !mvke_dtype_is_int(dt)) {
            mvke_npy_close(f);
            fprintf(stderr, "mvke %s: %s: %s: expected a 1-d integer array of ids (int64, int32, uint64 or uint32)\n",
                    cmd, opt, path);
            return CLI_EXIT_DATA;
        }
        n = sh[0];
        ids = malloc((size_t)(n ? n : 1) * sizeof *ids);
        if (!ids) st = MVKE_ERR_NOMEM;
        else st = mvke_npy_read_i64(f, 0, n, ids);
        mvke_npy_close(f);
    } else {
        char why[160];
        const int fd = mvke_input_open(path, 1, why, sizeof why);
        FILE *fp = fd >= 0 ? fdopen(fd, "r") : NULL;
        if (!fp) {
            fprintf(stderr, "mvke %s: %s: %s: %s\n", cmd, opt, path, fd >= 0 ? strerror(errno) : why);
            if (fd >= 0) close(fd);
            return CLI_EXIT_IO;
        }
        char *line = NULL; /* getline's buffer: a line of any length */
        size_t lcap = 0;
        ssize_t len;
        int64_t cap = 1024, lineno = 0;
        ids = malloc((size_t)cap * sizeof *ids);
        while (ids && st == MVKE_OK && (len = getline(&line, &lcap, fp)) >= 0) {
            lineno++;
            long long v;
            const char *why;
            int k = cli_id_line(line, (size_t)len, lineno, &v, &why);
            if (k == 0) continue;
            if (k < 0) {
                fprintf(stderr, "mvke %s: %s: %s: line %lld %s\n", cmd, opt, path, (long long)lineno, why);
                free(line);
                free(ids);
                fclose(fp);
                return CLI_EXIT_DATA;
            }
            if (n == cap) {
                int64_t *g = realloc(ids, (size_t)(cap *= 2) * sizeof *ids);
                if (!g) {
                    free(ids);
                    ids = NULL;
                    break;
                }
                ids = g;
            }
            ids[n++] = v;
        }
        free(line);
        /* getline ends on an error as on the end of the file: a directory, an I/O error or a
         * failed allocation must not pass for a short list. */
        if (ids && ferror(fp)) {
            fprintf(stderr, "mvke %s: %s: %s: read failed after line %lld: %s\n", cmd, opt, path, (long long)lineno,
                    strerror(errno));
            free(ids);
            fclose(fp);
            return errno == ENOMEM ? CLI_EXIT_FAIL : CLI_EXIT_IO;
        }
        if (!ids) st = MVKE_ERR_NOMEM;
        fclose(fp);
    }
    if (st != MVKE_OK) {
        free(ids);
        return cli_fail(cmd, st, opt);
    }
    *out = ids;
    *nout = n;
    return CLI_EXIT_OK;
}

int cli_arg_load_allow(const char *cmd, const char *path, mvke_allow **out) {
    int64_t *ids = NULL, n = 0;
    int rc = cli_arg_read_ids(cmd, "--allow", path, &ids, &n);
    if (rc != CLI_EXIT_OK) return rc;
    if (n == 0) { /* an empty allow-list selects nobody: almost surely a wrong file, not a wish */
        free(ids);
        fprintf(stderr, "mvke %s: --allow: %s holds no ids: an empty allow-list would select nobody\n", cmd, path);
        return CLI_EXIT_DATA;
    }
    qsort(ids, (size_t)n, sizeof *ids, cmp_i64);
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
        if (m == 0 || ids[i] != ids[m - 1]) ids[m++] = ids[i];
    mvke_status st = mvke_allow_new_sorted(out, ids, m);
    free(ids);
    return st == MVKE_OK ? CLI_EXIT_OK : cli_fail(cmd, st, "--allow");
}

/* ---- the synthetic world's options (`mvke gen`) -------------------------------------------- */

static int parse_count(const char *s, const char *end, long *out) {
    if (s == end) return -1;
    long v = 0;
    for (const char *p = s; p < end; p++) {
        if (*p < '0' || *p > '9' || v > 100000000) return -1;
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return 0;
}

int cli_world_task(const char *spec, synth_world_task *t, char *msg, size_t cap) {
    /* The same NAME=FIRST-LAST / NAME=i,j,k syntax as `mvke build --task`. */
    synth_world_task r;
    memset(&r, 0, sizeof r);
    char *name = NULL;
    if (cli_arg_task_spec(spec, &name, r.experts, &r.nexperts) != 0 || r.nexperts == 0) {
        snprintf(msg, cap, "task '%s' is not NAME=FIRST-LAST or NAME=i,j,k (experts 0 to %d)", spec, MVKE_MAX_K - 1);
        return -1;
    }
    size_t len = strlen(name);
    if (len >= sizeof r.name) {
        snprintf(msg, cap, "task '%s': the name is longer than %zu bytes", spec, sizeof r.name - 1);
        free(name);
        return -1;
    }
    memcpy(r.name, name, len + 1);
    free(name);
    *t = r;
    return 0;
}

int cli_world_levels(const char *spec, synth_world_options *o, char *msg, size_t cap) {
    int n = 0;
    int64_t counts[SYNTH_WORLD_MAX_LEVELS];
    const char *p = spec;
    while (*p) {
        const char *c = strchr(p, ',');
        const char *e = c ? c : p + strlen(p);
        long v;
        if (n >= SYNTH_WORLD_MAX_LEVELS || parse_count(p, e, &v) || v < 1) {
            snprintf(msg, cap, "levels '%s': expected up to %d counts >= 1 separated by commas", spec,
                     SYNTH_WORLD_MAX_LEVELS);
            return -1;
        }
        counts[n++] = v;
        p = c ? c + 1 : e;
    }
    if (!n) {
        snprintf(msg, cap, "levels '%s' is empty", spec);
        return -1;
    }
    o->nlevels = n;
    memcpy(o->level_counts, counts, sizeof counts[0] * n);
    return 0;
}
