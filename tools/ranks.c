/*
 * ranks.c - opening the users a rank serves, and merging the ranks' result lists (ranks.h).
 */
#include "ranks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../mpi/dist.h"
#include "cli.h"
#include "sigbus.h"

void cli_shard_path(const char *prefix, int part, char *buf, size_t cap) {
    snprintf(buf, cap, "%s.%05d.mvke", prefix, part);
}

int cli_rank_open(const char *cmd, const char *index, const char *shards, int view, unsigned flags,
                  cli_rank_users *out) {
    memset(out, 0, sizeof *out);
    const int rank = mvke_dist_rank(), size = mvke_dist_size();
    out->parts = shards || mvke_dist_active();
    if (shards) cli_shard_path(shards, rank, out->path, sizeof out->path);
    else snprintf(out->path, sizeof out->path, "%s", index);
    if (shards && rank == 0) {
        char extra[4096];
        cli_shard_path(shards, size, extra, sizeof extra);
        if (access(extra, F_OK) == 0) {
            fprintf(stderr, "mvke %s: %s exists: the shards of %s are more than the %d rank%s of this job; "
                    "run with as many ranks as shards\n", cmd, extra, shards, size, size == 1 ? "" : "s");
            return CLI_EXIT_USAGE;
        }
    }
    cli_sigbus_index(out->path);
    mvke_status st = mvke_file_open(out->path, flags, &out->file, &out->tags);
    if (st != MVKE_OK) return cli_fail(cmd, st, out->path);
    out->users = out->file;
    mvke_index_count(out->file, &out->n);
    if (shards || size == 1) return CLI_EXIT_OK;
    if ((st = mvke_index_part(out->file, 0, rank, size, &out->first, &out->n)) != MVKE_OK ||
        (view && (st = mvke_index_view(out->file, out->first, out->n, &out->users)) != MVKE_OK)) {
        out->users = NULL;
        int rc = cli_fail(cmd, st, out->path);
        cli_rank_close(out);
        return rc;
    }
    return CLI_EXIT_OK;
}

void cli_rank_close(cli_rank_users *r) {
    if (r->users != r->file) mvke_index_free(r->users);
    mvke_index_free(r->file);
    mvke_tags_free(r->tags);
    memset(r, 0, sizeof *r);
}

/* One candidate of a merged list. */
typedef struct cand {
    float score;
    int64_t id;
} cand;

static int cand_cmp(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

int cli_rank_merge(const char *cmd, const mvke_result *local, int64_t keep, cli_rank_lists *out) {
    memset(out, 0, sizeof *out);
    int64_t nq, total;
    mvke_result_nqueries(local, &nq);
    mvke_result_total(local, &total);
    /* This rank's lists: nq counts, then every id, then every score, padded to 8 bytes so that
     * every rank's part of the gathered bytes is aligned. */
    const size_t bytes = ((size_t)(nq + total) * 8 + (size_t)total * 4 + 7) / 8 * 8;
    char *buf = malloc(bytes ? bytes : 1), *all = NULL;
    int64_t *lens = NULL;
    if (!buf) {
        fprintf(stderr, "mvke %s: out of memory merging results\n", cmd);
        return CLI_EXIT_FAIL;
    }
    int64_t *cnt = (int64_t *)buf, *ids = cnt + nq, at = 0;
    float *sc = (float *)(ids + total);
    for (int64_t i = 0; i < nq; i++) {
        const int64_t *li;
        const float *ls;
        mvke_result_get(local, i, &li, &ls, &cnt[i]);
        memcpy(ids + at, li, (size_t)cnt[i] * sizeof *li);
        memcpy(sc + at, ls, (size_t)cnt[i] * sizeof *ls);
        at += cnt[i];
    }
    int rc = mvke_dist_gather(buf, (int64_t)bytes, &all, &lens) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    free(buf);
    if (rc != CLI_EXIT_OK || mvke_dist_rank() != 0) return rc;

    const int R = mvke_dist_size();
    /* Where each rank's counts, ids and scores start in the gathered bytes. */
    const int64_t **rc_cnt = calloc((size_t)R, sizeof *rc_cnt), **rc_ids = calloc((size_t)R, sizeof *rc_ids);
    const float **rc_sc = calloc((size_t)R, sizeof *rc_sc);
    int64_t *pos = calloc((size_t)R, sizeof *pos), grand = 0, off = 0;
    out->nq = nq;
    out->off = malloc((size_t)(nq + 1) * sizeof *out->off);
    if (!rc_cnt || !rc_ids || !rc_sc || !pos || !out->off) goto nomem;
    for (int r = 0; r < R; r++) {
        const char *p = all + off;
        int64_t t = 0;
        rc_cnt[r] = (const int64_t *)p;
        for (int64_t i = 0; i < nq; i++) t += rc_cnt[r][i];
        rc_ids[r] = rc_cnt[r] + nq;
        rc_sc[r] = (const float *)(rc_ids[r] + t);
        grand += t;
        off += lens[r];
    }
    out->ids = malloc((size_t)(grand ? grand : 1) * sizeof *out->ids);
    out->scores = malloc((size_t)(grand ? grand : 1) * sizeof *out->scores);
    cand *c = malloc((size_t)(grand ? grand : 1) * sizeof *c);
    if (!out->ids || !out->scores || !c) {
        free(c);
        goto nomem;
    }
    out->off[0] = 0;
    for (int64_t i = 0; i < nq; i++) {
        int64_t m = 0;
        for (int r = 0; r < R; r++) {
            for (int64_t j = 0; j < rc_cnt[r][i]; j++) c[m + j] = (cand){rc_sc[r][pos[r] + j], rc_ids[r][pos[r] + j]};
            m += rc_cnt[r][i];
            pos[r] += rc_cnt[r][i];
        }
        qsort(c, (size_t)m, sizeof *c, cand_cmp);
        if (keep > 0 && m > keep) m = keep;
        for (int64_t j = 0; j < m; j++) {
            out->ids[out->off[i] + j] = c[j].id;
            out->scores[out->off[i] + j] = c[j].score;
        }
        out->off[i + 1] = out->off[i] + m;
    }
    free(c);
    goto done;
nomem:
    fprintf(stderr, "mvke %s: out of memory merging results\n", cmd);
    cli_rank_lists_free(out);
    rc = CLI_EXIT_FAIL;
done:
    free(rc_cnt);
    free(rc_ids);
    free(rc_sc);
    free(pos);
    free(all);
    free(lens);
    return rc;
}

void cli_rank_lists_free(cli_rank_lists *l) {
    free(l->off);
    free(l->ids);
    free(l->scores);
    memset(l, 0, sizeof *l);
}
