/*
 * args.c - argument helpers shared by the file-based subcommands.
 */
#include "args.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int mvke_arg_take(int argc, char **argv, int *i, const char *name, const char **val) {
    if (strcmp(argv[*i], name)) return 0;
    if (*i + 1 >= argc) return -1;
    *val = argv[++*i];
    return 1;
}

int mvke_arg_gpu(int argc, char **argv, int *i, int *device) {
    if (strcmp(argv[*i], "--gpu")) return 0;
    long long n;
    *device = 0;
    if (*i + 1 < argc && mvke_cli_parse_i64(argv[*i + 1], &n) == 0 && n >= -1 && n < 1 << 20) {
        *device = (int)n;
        ++*i;
    }
    return 1;
}

int mvke_arg_wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
    return 0;
}

int mvke_arg_id_list(const char *s, int64_t **ids, int64_t *n) {
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
        if (mvke_cli_parse_i64(buf, &x) != 0) break;
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

int mvke_arg_task_spec(const char *s, char **name, int *experts, int *nexperts) {
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
        if (mvke_cli_parse_i64(buf, &a) || mvke_cli_parse_i64(dash + 1, &b) || a < 0 || b < a || b - a >= 64) return -1;
        for (long long k = a; k <= b; k++) experts[n++] = (int)k;
    } else {
        int64_t *v, m;
        if (mvke_arg_id_list(p, &v, &m) != 0) return -1;
        if (m > 64) {
            free(v);
            return -1;
        }
        for (int64_t k = 0; k < m; k++) {
            if (v[k] < 0 || v[k] > 63) {
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

int mvke_arg_load_allow(const char *cmd, const char *path, mvke_allow **out) {
    int64_t *ids = NULL, n = 0;
    mvke_status st = MVKE_OK;
    size_t pl = strlen(path);
    if (pl > 4 && !strcmp(path + pl - 4, ".npy")) {
        mvke_npy *f;
        if ((st = mvke_npy_open(&f, path)) != MVKE_OK) return mvke_cli_fail(cmd, st, "--allow");
        int nd;
        int64_t sh[MVKE_NPY_MAX_DIMS];
        mvke_dtype dt;
        mvke_npy_shape(f, &dt, &nd, sh);
        if (nd != 1 || dt != MVKE_DTYPE_I64) {
            mvke_npy_close(f);
            fprintf(stderr, "mvke %s: --allow: %s: expected a 1-d int64 array of user ids\n", cmd, path);
            return MVKE_EXIT_DATA;
        }
        n = sh[0];
        ids = malloc((size_t)(n ? n : 1) * sizeof *ids);
        if (!ids) st = MVKE_ERR_NOMEM;
        else st = mvke_npy_read_i64(f, 0, n, ids);
        mvke_npy_close(f);
    } else {
        FILE *fp = fopen(path, "r");
        if (!fp) {
            fprintf(stderr, "mvke %s: --allow: %s: cannot open: %s\n", cmd, path, strerror(errno));
            return MVKE_EXIT_IO;
        }
        char line[256];
        int64_t cap = 1024, lineno = 0;
        ids = malloc((size_t)cap * sizeof *ids);
        while (ids && st == MVKE_OK && fgets(line, sizeof line, fp)) {
            lineno++;
            size_t l = strlen(line);
            while (l && isspace((unsigned char)line[l - 1])) line[--l] = 0;
            if (l == 0 || line[0] == '#') continue;
            long long v;
            if (mvke_cli_parse_i64(line, &v) != 0) {
                fprintf(stderr, "mvke %s: --allow: %s: line %lld: '%s' is not an id\n", cmd, path, (long long)lineno, line);
                free(ids);
                fclose(fp);
                return MVKE_EXIT_DATA;
            }
            if (n == cap) {
                int64_t *g = realloc(ids, (size_t)(cap *= 2) * sizeof *ids);
                if (!g) break;
                ids = g;
            }
            ids[n++] = v;
        }
        if (!ids) st = MVKE_ERR_NOMEM;
        fclose(fp);
    }
    if (st == MVKE_OK) {
        qsort(ids, (size_t)n, sizeof *ids, cmp_i64);
        int64_t m = 0;
        for (int64_t i = 0; i < n; i++)
            if (m == 0 || ids[i] != ids[m - 1]) ids[m++] = ids[i];
        st = mvke_allow_new_sorted(out, ids, m);
    }
    free(ids);
    return st == MVKE_OK ? MVKE_EXIT_OK : mvke_cli_fail(cmd, st, "--allow");
}
