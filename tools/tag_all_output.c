/*
 * tag_all_output.c - the output writers of `mvke tag-all`:
 *   - tsv: OUT is a text file with a header line, then user_id task rank tag_id score (or prob).
 *   - npy: OUT is a directory holding user_ids.npy (n,) and per task TASK.tag_ids.npy and
 *     TASK.scores.npy (or TASK.probs.npy) (n, M), padded with -1 / -inf where a task has fewer than M tags. The
 *     files are created at full size up front; block b writes its rows in place.
 * Each block's output depends only on the index and the block, which is what makes a resumed run
 * byte-identical to an uninterrupted one.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "index/durable.h"
#include "decimal.h"
#include "tag_all.h"

/* Sanitised file name part of a task name. */
static void task_file(const char *dir, const char *task, const char *suffix, char *buf, size_t cap) {
    char clean[256];
    size_t i = 0;
    for (; task[i] && i < sizeof clean - 1; i++) {
        char c = task[i];
        clean[i] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_') ? c : '_';
    }
    clean[i] = 0;
    snprintf(buf, cap, "%s/%s.%s.npy", dir, clean, suffix);
}

/* Opens (or creates at full size) the npy outputs. */
static int npy_open_outputs(cli_tag_run *r, int resume) {
    /* Two tasks whose names clean up to the same file would overwrite each other: refused before
     * any file is made. */
    for (int a = 0; a < r->ntasks; a++)
        for (int b = a + 1; b < r->ntasks; b++) {
            char pa[4400], pb[4400];
            task_file(r->out, r->task_names[a], "x", pa, sizeof pa);
            task_file(r->out, r->task_names[b], "x", pb, sizeof pb);
            if (!strcmp(pa, pb)) {
                fprintf(stderr, "mvke tag-all: tasks \"%s\" and \"%s\" map to the same file names; use --task\n",
                        r->task_names[a], r->task_names[b]);
                return CLI_EXIT_DATA;
            }
        }
    const int nf = 1 + 2 * r->ntasks;
    r->fds = calloc((size_t)nf, sizeof *r->fds);
    r->data_off = calloc((size_t)nf, sizeof *r->data_off);
    if (!r->fds || !r->data_off) return cli_fail("tag-all", MVKE_ERR_NOMEM, "opening the outputs");
    for (int i = 0; i < nf; i++) r->fds[i] = -1;
    if (mkdir(r->out, 0755) != 0 && errno != EEXIST) return cli_tag_io_fail("cannot create the directory", r->out);
    for (int i = 0; i < nf; i++) {
        char path[4400];
        mvke_dtype dt = MVKE_DTYPE_I64;
        int nd = 2;
        int64_t shape[2] = {r->hi - r->lo, r->top};
        if (i == 0) {
            snprintf(path, sizeof path, "%s/user_ids.npy", r->out);
            nd = 1;
        } else {
            task_file(r->out, r->task_names[(i - 1) / 2], (i - 1) % 2 ? (r->prob ? "probs" : "scores") : "tag_ids", path,
                      sizeof path);
            if ((i - 1) % 2) dt = MVKE_DTYPE_F32;
        }
        char head[512];
        size_t hl;
        mvke_npy_header(dt, nd, shape, head, sizeof head, &hl);
        const uint64_t total = hl + (uint64_t)(r->hi - r->lo) * (uint64_t)(nd == 1 ? 1 : r->top) * (dt == MVKE_DTYPE_F32 ? 4 : 8);
        r->data_off[i] = hl;
        r->fds[i] = open(path, O_RDWR | O_CREAT | (resume ? 0 : O_TRUNC), 0644);
        if (r->fds[i] < 0) return cli_tag_io_fail("cannot open", path);
        struct stat sb;
        if (resume && (fstat(r->fds[i], &sb) != 0 || (uint64_t)sb.st_size != total)) {
            fprintf(stderr, "mvke tag-all: %s does not have the size of this run's output; give --force instead of "
                    "--resume to start over\n", path);
            return CLI_EXIT_DATA;
        }
        if (!resume && (mvke_write_all(r->fds[i], head, hl, 0, NULL) != 0 || ftruncate(r->fds[i], (off_t)total) != 0))
            return cli_tag_io_fail("cannot write", path);
    }
    return CLI_EXIT_OK;
}

int cli_tag_open_outputs(cli_tag_run *r, int resume, uint64_t *bytes) {
    if (r->npy) return npy_open_outputs(r, resume);
    const char *head = r->prob ? (r->names ? CLI_TAGS_HEADER_KEYS "prob\ttag_name\n" : CLI_TAGS_HEADER_KEYS "prob\n")
                               : (r->names ? CLI_TAGS_HEADER "\ttag_name\n" : CLI_TAGS_HEADER "\n");
    if (r->stream) {
        r->fd = 1;
        if (mvke_write_all(1, head, strlen(head), -1, NULL) != 0) return cli_tag_io_fail("write error on", r->out);
        *bytes = strlen(head);
        return CLI_EXIT_OK;
    }
    r->fd = open(r->out, O_WRONLY | O_CREAT | (resume ? 0 : O_TRUNC), 0644);
    if (r->fd < 0) return cli_tag_io_fail("cannot open", r->out);
    if (resume) {
        struct stat sb;
        if (fstat(r->fd, &sb) != 0 || (uint64_t)sb.st_size < *bytes) {
            fprintf(stderr, "mvke tag-all: %s is shorter than its checkpoint says (%llu bytes); give --force instead of "
                    "--resume to start over\n",
                    r->out, (unsigned long long)*bytes);
            return CLI_EXIT_DATA;
        }
        if (ftruncate(r->fd, (off_t)*bytes) != 0) return cli_tag_io_fail("cannot truncate", r->out);
        return CLI_EXIT_OK;
    }
    *bytes = 0;
    if (r->parts && r->rank != 0) return CLI_EXIT_OK; /* the other parts continue part 0 */
    if (mvke_write_all(r->fd, head, strlen(head), 0, NULL) != 0) return cli_tag_io_fail("cannot write", r->out);
    *bytes = strlen(head);
    return CLI_EXIT_OK;
}

/* Output of one block: appended text (tsv) or rows written in place (npy). */
int cli_tag_write_block(cli_tag_run *r, int64_t first, int64_t m, const int64_t *ids, mvke_result *res, char **buf,
                        size_t *cap, uint64_t *bytes) {
    if (!r->npy) {
        size_t len = 0;
        for (int64_t u = 0; u < m; u++) {
            char prefix[CLI_DECIMAL_MAX + 512]; /* "user_id<TAB>task<TAB>", the same on the user's lines */
            char *const after_id = cli_decimal_i64(prefix, ids[u]);
            *after_id = '\t';
            for (int t = 0; t < r->ntasks; t++) {
                const int64_t *tid;
                const float *sc;
                int64_t n;
                mvke_result_get(res, u * r->ntasks + t, &tid, &sc, &n);
                const size_t tlen = strlen(r->task_names[t]); /* at most 255 bytes */
                memcpy(after_id + 1, r->task_names[t], tlen);
                after_id[1 + tlen] = '\t';
                const size_t plen = (size_t)(after_id - prefix) + tlen + 2;
                for (int64_t k = 0; k < n; k++) {
                    const char *name = NULL;
                    if (r->names) mvke_tags_get(r->tags, r->task_names[t], tid[k], &name, NULL, NULL, NULL);
                    const size_t nlen = name ? strlen(name) : 0;
                    const size_t need = plen + 3 * CLI_DECIMAL_MAX + nlen + 8;
                    if (*cap - len < need) {
                        size_t nc = *cap * 2 + need + 4096;
                        char *g = realloc(*buf, nc);
                        if (!g) return cli_fail("tag-all", MVKE_ERR_NOMEM, "formatting the output");
                        *buf = g;
                        *cap = nc;
                    }
                    float v = sc[k];
                    if (r->prob) mvke_score_to_prob(1, &v, &v);
                    char *p = *buf + len;
                    memcpy(p, prefix, plen);
                    p = cli_decimal_i64(p + plen, k + 1);
                    *p++ = '\t';
                    p = cli_decimal_i64(p, tid[k]);
                    *p++ = '\t';
                    p = cli_decimal_fixed6(p, v);
                    if (r->names) {
                        *p++ = '\t';
                        memcpy(p, name, nlen);
                        p += nlen;
                    }
                    *p++ = '\n';
                    len = (size_t)(p - *buf);
                }
            }
        }
        if (mvke_write_all(r->fd, *buf, len, r->stream ? -1 : (int64_t)*bytes, NULL) != 0)
            return cli_tag_io_fail(r->stream ? "write error on" : "cannot write", r->out);
        *bytes += len;
        return CLI_EXIT_OK;
    }
    const size_t M = (size_t)r->top;
    if (mvke_write_all(r->fds[0], ids, (size_t)m * 8, (int64_t)(r->data_off[0] + (uint64_t)first * 8), NULL) != 0)
        return cli_tag_io_fail("cannot write in", r->out);
    int64_t *ti = malloc((size_t)m * M * sizeof *ti);
    float *ts = malloc((size_t)m * M * sizeof *ts);
    if (!ti || !ts) {
        free(ti);
        free(ts);
        return cli_fail("tag-all", MVKE_ERR_NOMEM, "formatting the output");
    }
    int rc = CLI_EXIT_OK;
    for (int t = 0; t < r->ntasks && rc == CLI_EXIT_OK; t++) {
        for (int64_t u = 0; u < m; u++) {
            const int64_t *tid;
            const float *sc;
            int64_t n;
            mvke_result_get(res, u * r->ntasks + t, &tid, &sc, &n);
            for (size_t k = 0; k < M; k++) {
                ti[(size_t)u * M + k] = (int64_t)k < n ? tid[k] : -1;
                ts[(size_t)u * M + k] = (int64_t)k < n ? sc[k] : -INFINITY;
                if (r->prob && (int64_t)k < n) mvke_score_to_prob(1, &ts[(size_t)u * M + k], &ts[(size_t)u * M + k]);
            }
        }
        const uint64_t row0 = (uint64_t)first * M;
        if (mvke_write_all(r->fds[1 + 2 * t], ti, (size_t)m * M * 8, (int64_t)(r->data_off[1 + 2 * t] + row0 * 8), NULL) != 0 ||
            mvke_write_all(r->fds[2 + 2 * t], ts, (size_t)m * M * 4, (int64_t)(r->data_off[2 + 2 * t] + row0 * 4), NULL) != 0)
            rc = cli_tag_io_fail("cannot write in", r->out);
    }
    free(ti);
    free(ts);
    return rc;
}

int cli_tag_sync_outputs(const cli_tag_run *r) {
    if (r->stream) return 0;
    if (!r->npy) return fdatasync(r->fd) == 0 ? 0 : cli_tag_io_fail("cannot fsync", r->out);
    for (int i = 0; i < 1 + 2 * r->ntasks; i++)
        if (fdatasync(r->fds[i]) != 0) return cli_tag_io_fail("cannot fsync a file in", r->out);
    return 0;
}

