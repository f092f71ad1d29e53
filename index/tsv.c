/*
 * tsv.c - the tags.tsv reader: a header line, then tag_id<TAB>task<TAB>name<TAB>parent_id per
 * row. Every problem is reported with the file and line; the taxonomy is small (thousands of
 * rows), so it is read whole.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../kernels/runtime.h"
#include "durable.h"
#include "input.h"
#include "mvke/mvke.h"
#include "tags_impl.h"

#define MAX_NAME 255

struct mvke_taxonomy {
    char *path;
    int64_t n, cap;
    int64_t *ids, *parents, *lines;
    int *task; /* index into tasks */
    char **names;
    int ntasks, cap_tasks;
    char **tasks;
};

void mvke_taxonomy_free(mvke_taxonomy *t) {
    if (!t) return;
    for (int64_t i = 0; i < t->n; i++) mvke_free(t->names[i]);
    for (int i = 0; i < t->ntasks; i++) mvke_free(t->tasks[i]);
    mvke_free(t->ids);
    mvke_free(t->parents);
    mvke_free(t->lines);
    mvke_free(t->task);
    mvke_free(t->names);
    mvke_free(t->tasks);
    mvke_free(t->path);
    mvke_free(t);
}

/* Length of the valid UTF-8 prefix of s[0..n): n when all of it is valid. */
static size_t utf8_valid(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        uint32_t cp;
        if (c < 0x80) { i++; continue; }
        else if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; }
        else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; }
        else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; }
        else return i;
        if (n - i < len) return i;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return i;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
            return i;
        i += len;
    }
    return n;
}

static int parse_i64(const char *s, size_t n, int64_t *out) {
    if (n == 0 || n > 19) return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        if (v > (INT64_MAX - (s[i] - '0')) / 10) return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int find_task(const mvke_taxonomy *t, const char *s, size_t n) {
    for (int i = 0; i < t->ntasks; i++)
        if (strlen(t->tasks[i]) == n && !memcmp(t->tasks[i], s, n)) return i;
    return -1;
}

static mvke_status grow(mvke_taxonomy *t) {
    int64_t cap = t->cap ? t->cap * 2 : 64;
    int64_t *ids = mvke_realloc(t->ids, (size_t)cap * sizeof *ids);
    if (ids) t->ids = ids;
    int64_t *par = ids ? mvke_realloc(t->parents, (size_t)cap * sizeof *par) : NULL;
    if (par) t->parents = par;
    int64_t *lines = par ? mvke_realloc(t->lines, (size_t)cap * sizeof *lines) : NULL;
    if (lines) t->lines = lines;
    int *task = lines ? mvke_realloc(t->task, (size_t)cap * sizeof *task) : NULL;
    if (task) t->task = task;
    char **names = task ? mvke_realloc(t->names, (size_t)cap * sizeof *names) : NULL;
    if (names) t->names = names;
    if (!names) return mvke_error(MVKE_ERR_NOMEM, "out of memory reading %s", t->path);
    t->cap = cap;
    return MVKE_OK;
}

/* The byte offset of the first control character of s (valid UTF-8, n bytes): C0 (0x00-0x1F),
 * DEL (0x7F) or C1 (U+0080-U+009F, bytes C2 80-C2 9F); n when there is none. Names and tasks are
 * printed to terminals and TSV readers, where these would act or split fields. */
static size_t control_at(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n; i++) {
        if (u[i] < 0x20 || u[i] == 0x7F) return i;
        if (u[i] == 0xC2 && i + 1 < n && u[i + 1] >= 0x80 && u[i + 1] <= 0x9F) return i;
    }
    return n;
}

/* Parses one data line (without its newline) into row t->n. */
static mvke_status parse_line(mvke_taxonomy *t, char *line, size_t len, int64_t lineno) {
    const char *f[4];
    size_t fl[4];
    int nf = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++)
        if (i == len || line[i] == '\t') {
            if (nf == 4)
                return mvke_error(MVKE_ERR_FORMAT, "%s: line %lld: more than 4 tab-separated columns "
                                  "(expected tag_id, task, name, parent_id)", t->path, (long long)lineno);
            f[nf] = line + start;
            fl[nf++] = i - start;
            start = i + 1;
        }
    if (nf < 4)
        return mvke_error(MVKE_ERR_FORMAT, "%s: line %lld: %d column%s, expected 4 (tag_id, task, name, parent_id)",
                          t->path, (long long)lineno, nf, nf == 1 ? "" : "s");
    int64_t id, parent;
    if (parse_i64(f[0], fl[0], &id) != 0)
        return mvke_error(MVKE_ERR_FORMAT, "%s: line %lld: tag_id '%.*s' is not an integer >= 0", t->path,
                          (long long)lineno, (int)(fl[0] > 40 ? 40 : fl[0]), f[0]);
    if (parse_i64(f[3], fl[3], &parent) != 0)
        return mvke_error(MVKE_ERR_FORMAT, "%s: line %lld: parent_id '%.*s' is not an integer >= 0", t->path,
                          (long long)lineno, (int)(fl[3] > 40 ? 40 : fl[3]), f[3]);
    if (fl[1] == 0) return mvke_error(MVKE_ERR_FORMAT, "%s: line %lld: the task is empty", t->path, (long long)lineno);
    for (int k = 1; k <= 2; k++) {
        const char *what = k == 1 ? "task" : "name";
        size_t ok = utf8_valid((const unsigned char *)f[k], fl[k]);
        if (ok != fl[k])
            return mvke_error(MVKE_ERR_FORMAT, "%s: line %lld: the %s is not valid UTF-8 (byte %zu of the column)",
                              t->path, (long long)lineno, what, ok);
        if (fl[k] > MAX_NAME)
            return mvke_error(MVKE_ERR_FORMAT, "%s: line %lld: the %s is %zu bytes long (at most %d)", t->path,
                              (long long)lineno, what, fl[k], MAX_NAME);
        if (memchr(f[k], 0, fl[k]) || memchr(f[k], '\r', fl[k]))
            return mvke_error(MVKE_ERR_FORMAT, "%s: line %lld: the %s contains a NUL or carriage return", t->path,
                              (long long)lineno, what);
        const size_t c = control_at(f[k], fl[k]);
        if (c != fl[k])
            return mvke_error(MVKE_ERR_FORMAT, "%s: line %lld: the %s contains the control character 0x%02X at "
                              "byte %zu of the column (C0, DEL and C1 controls are refused)", t->path, (long long)lineno,
                              what, (unsigned char)f[k][c] == 0xC2 ? (unsigned char)f[k][c + 1] : (unsigned char)f[k][c], c);
    }
    mvke_status st;
    if (t->n == t->cap && (st = grow(t)) != MVKE_OK) return st;
    int ti = find_task(t, f[1], fl[1]);
    if (ti < 0) {
        if (t->ntasks == t->cap_tasks) {
            int c = t->cap_tasks ? t->cap_tasks * 2 : 4;
            char **nt = mvke_realloc(t->tasks, (size_t)c * sizeof *nt);
            if (!nt) return mvke_error(MVKE_ERR_NOMEM, "out of memory reading %s", t->path);
            t->tasks = nt;
            t->cap_tasks = c;
        }
        if (!(t->tasks[t->ntasks] = mvke_strndup(f[1], fl[1]))) return mvke_error(MVKE_ERR_NOMEM, "out of memory reading %s", t->path);
        ti = t->ntasks++;
    }
    char *name = mvke_strndup(f[2], fl[2]);
    if (!name) return mvke_error(MVKE_ERR_NOMEM, "out of memory reading %s", t->path);
    const int64_t r = t->n++;
    t->ids[r] = id;
    t->parents[r] = parent;
    t->lines[r] = lineno;
    t->task[r] = ti;
    t->names[r] = name;
    return MVKE_OK;
}

typedef struct key {
    int task;
    int64_t id, row;
} key;

static int cmp_key(const void *a, const void *b) {
    const key *x = a, *y = b;
    if (x->task != y->task) return x->task < y->task ? -1 : 1;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

static mvke_status check_unique(const mvke_taxonomy *t) {
    if (t->n < 2) return MVKE_OK;
    key *k = mvke_malloc_array((size_t)t->n, sizeof *k);
    if (!k) return mvke_error(MVKE_ERR_NOMEM, "out of memory checking %s", t->path);
    for (int64_t i = 0; i < t->n; i++) k[i] = (key){t->task[i], t->ids[i], i};
    qsort(k, (size_t)t->n, sizeof *k, cmp_key);
    mvke_status st = MVKE_OK;
    for (int64_t i = 1; i < t->n; i++)
        if (k[i].task == k[i - 1].task && k[i].id == k[i - 1].id) {
            st = mvke_error(MVKE_ERR_DUPLICATE, "%s: lines %lld and %lld: tag %lld appears twice in task \"%s\"",
                            t->path, (long long)t->lines[k[i - 1].row], (long long)t->lines[k[i].row],
                            (long long)k[i].id, t->tasks[k[i].task]);
            break;
        }
    mvke_free(k);
    return st;
}

mvke_status mvke_taxonomy_read(mvke_taxonomy **out, const char *path) {
    mvke_error_clear();
    if (!out || !path) return mvke_error(MVKE_ERR_INVALID, "mvke_taxonomy_read: NULL argument");
    *out = NULL;
    mvke_taxonomy *t = mvke_calloc(1, sizeof *t);
    if (!t || !(t->path = mvke_strndup(path, strlen(path)))) {
        mvke_free(t);
        return mvke_error(MVKE_ERR_NOMEM, "out of memory reading %s", path);
    }
    char why[160];
    const int fd = mvke_input_open(path, 1, why, sizeof why);
    FILE *fp = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!fp) {
        mvke_status st = mvke_error(MVKE_ERR_IO, "%s: %s", path, fd >= 0 ? strerror(errno) : why);
        if (fd >= 0) close(fd);
        mvke_taxonomy_free(t);
        return st;
    }
    char *line = NULL; /* getline's buffer: plain libc memory */
    size_t lcap = 0;
    ssize_t len;
    int64_t lineno = 0;
    int blank_at = 0; /* line number of a blank line, an error if data follows */
    mvke_status st = MVKE_OK;
    while (st == MVKE_OK && (len = getline(&line, &lcap, fp)) >= 0) {
        lineno++;
        size_t n = (size_t)len;
        if (n && line[n - 1] == '\n') n--;
        if (n && line[n - 1] == '\r') n--;
        if (lineno == 1) {
            if (n == 0) st = mvke_error(MVKE_ERR_FORMAT, "%s: line 1: empty; expected the header line "
                                        "tag_id<TAB>task<TAB>name<TAB>parent_id", path);
            else if (memchr(line, '\t', n) == NULL || n < 7)
                st = mvke_error(MVKE_ERR_FORMAT, "%s: line 1: the header line must have 4 tab-separated "
                                "columns (tag_id, task, name, parent_id)", path);
            continue;
        }
        if (n == 0) {
            if (!blank_at) blank_at = (int)lineno;
            continue;
        }
        if (blank_at) {
            st = mvke_error(MVKE_ERR_FORMAT, "%s: line %d: blank line inside the data", path, blank_at);
            break;
        }
        st = parse_line(t, line, n, lineno);
    }
    if (st == MVKE_OK && ferror(fp))
        st = mvke_error(MVKE_ERR_IO, "%s: read failed near line %lld: %s", path, (long long)lineno + 1, strerror(errno));
    if (st == MVKE_OK && lineno == 0) st = mvke_error(MVKE_ERR_FORMAT, "%s: the file is empty (no header line)", path);
    free(line);
    fclose(fp);
    if (st == MVKE_OK) st = check_unique(t);
    if (st != MVKE_OK) {
        mvke_taxonomy_free(t);
        return st;
    }
    *out = t;
    return MVKE_OK;
}

mvke_status mvke_taxonomy_count(const mvke_taxonomy *t, int64_t *n) {
    if (!t || !n) return mvke_error(MVKE_ERR_INVALID, "taxonomy or n is NULL");
    *n = t->n;
    return MVKE_OK;
}

mvke_status mvke_taxonomy_row(const mvke_taxonomy *t, int64_t i, int64_t *tag_id, const char **task,
                              const char **name, int64_t *parent) {
    if (!t) return mvke_error(MVKE_ERR_INVALID, "taxonomy is NULL");
    if (i < 0 || i >= t->n) return mvke_error(MVKE_ERR_INVALID, "row %lld is out of range [0, %lld)", (long long)i, (long long)t->n);
    if (tag_id) *tag_id = t->ids[i];
    if (task) *task = t->tasks[t->task[i]];
    if (name) *name = t->names[i];
    if (parent) *parent = t->parents[i];
    return MVKE_OK;
}

mvke_status mvke_taxonomy_apply(const mvke_taxonomy *t, mvke_tags *tags, const float *q, const float *w) {
    mvke_error_clear();
    if (!t || !tags || (t->n && !q)) return mvke_error(MVKE_ERR_INVALID, "mvke_taxonomy_apply: NULL argument");
    const int K = tags->K, d = tags->d;
    /* Check every task first, so that an unknown one adds nothing. */
    for (int i = 0; i < t->ntasks; i++)
        if (!mvke_tags_find_task(tags, t->tasks[i])) {
            int64_t r = 0;
            while (t->task[r] != i) r++;
            return mvke_error(MVKE_ERR_UNKNOWN_TASK, "%s: line %lld: task \"%s\" is not declared", t->path,
                              (long long)t->lines[r], t->tasks[i]);
        }
    int64_t *rows = mvke_malloc_array((size_t)(t->n ? t->n : 1), sizeof *rows);
    int64_t *ids = mvke_malloc_array((size_t)(t->n ? t->n : 1), sizeof *ids);
    int64_t *parents = mvke_malloc_array((size_t)(t->n ? t->n : 1), sizeof *parents);
    const char **names = mvke_malloc_array((size_t)(t->n ? t->n : 1), sizeof *names);
    float *qb = mvke_malloc_array((size_t)(t->n ? t->n : 1) * (size_t)d, sizeof *qb);
    float *wb = w ? mvke_malloc_array((size_t)(t->n ? t->n : 1) * (size_t)K, sizeof *wb) : NULL;
    mvke_status st = MVKE_OK;
    if (!rows || !ids || !parents || !names || !qb || (w && !wb)) st = mvke_error(MVKE_ERR_NOMEM, "out of memory adding tags");
    for (int ti = 0; ti < t->ntasks && st == MVKE_OK; ti++) {
        int64_t m = 0;
        for (int64_t r = 0; r < t->n; r++) {
            if (t->task[r] != ti) continue;
            rows[m] = r;
            ids[m] = t->ids[r];
            parents[m] = t->parents[r];
            names[m] = t->names[r];
            memcpy(qb + m * d, q + r * d, (size_t)d * sizeof *qb);
            if (w) memcpy(wb + m * K, w + r * K, (size_t)K * sizeof *wb);
            m++;
        }
        st = mvke_tags_add(tags, t->tasks[ti], m, ids, names, parents, qb, wb);
        if (st != MVKE_OK) {
            /* The library names the row within the batch; translate it to the file's line. */
            char msg[512];
            snprintf(msg, sizeof msg, "%s", mvke_last_error());
            long long row;
            if (sscanf(msg, "row %lld", &row) == 1 && row >= 0 && row < m)
                mvke_error(st, "%s: line %lld (row %lld of the arrays): %s", t->path, (long long)t->lines[rows[row]],
                           (long long)rows[row], msg);
            else
                mvke_error(st, "%s: task \"%s\": %s", t->path, t->tasks[ti], msg);
        }
    }
    mvke_free(rows);
    mvke_free(ids);
    mvke_free(parents);
    mvke_free(names);
    mvke_free(qb);
    mvke_free(wb);
    return st;
}
