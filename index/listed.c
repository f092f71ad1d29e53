/*
 * listed.c - an index's lists (lists.h) from the outside: making them, the probe setting, their
 * description, and the searches that read only some lists (DESIGN section 13, docs/lists.md).
 *
 * A search of a listed index runs one query at a time, each as backend searches over position
 * spans (mvke_kdb.spans): the tail always, and lists chosen by their bounds. Without a probe
 * count the answer is the flat index's: a top-k reads the lists in the order of their bounds, in
 * rounds of growing size, and stops when the next list's bound is below the k-th score found (no
 * row of it or of any later list can enter); a threshold search reads the lists whose bound
 * reaches the threshold. With a probe count P it reads the P lists whose centroids score best,
 * and says the answer is certified when no unread list's bound reaches its k-th score (or the
 * threshold).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/runtime.h"
#include "index_impl.h"
#include "listed.h"

mvke_status mvke_index_build_lists(mvke_index *ix, int nlists) {
    mvke_error_clear();
    if (!ix) return mvke_error(MVKE_ERR_INVALID, "index is NULL");
    mvke_index_wrlock(ix);
    mvke_store *s = &ix->store;
    mvke_status st = mvke_store_trained(s) ? MVKE_OK
                                           : mvke_error(MVKE_ERR_UNTRAINED, "the %s index is not trained: lists need its rows",
                                                        mvke_storage_name(s->storage));
    int64_t *perm = NULL;
    mvke_lists l = {0};
    if (st == MVKE_OK && !(perm = mvke_malloc_array((size_t)(s->count ? s->count : 1), sizeof *perm)))
        st = mvke_error(MVKE_ERR_NOMEM, "out of memory for the order of %lld users", (long long)s->count);
    if (st == MVKE_OK) st = mvke_lists_train(s, nlists, &l, perm);
    if (st == MVKE_OK) st = mvke_store_reorder(s, perm);
    if (st == MVKE_OK) {
        mvke_lists_release(&ix->lists);
        ix->lists = l;
        ix->version++;
    } else {
        mvke_lists_release(&l);
    }
    mvke_free(perm);
    mvke_index_unlock(ix);
    return st;
}

mvke_status mvke_index_set_probe(mvke_index *ix, int nprobe) {
    mvke_error_clear();
    if (!ix) return mvke_error(MVKE_ERR_INVALID, "index is NULL");
    if (nprobe < 0) return mvke_error(MVKE_ERR_INVALID, "nprobe = %d is negative (0: exact)", nprobe);
    mvke_index_wrlock(ix);
    ix->nprobe = nprobe;
    mvke_index_unlock(ix);
    return MVKE_OK;
}

mvke_status mvke_index_probe(const mvke_index *ix, int *nprobe) {
    if (!ix || !nprobe) return mvke_error(MVKE_ERR_INVALID, "index or nprobe is NULL");
    mvke_index_rdlock(ix);
    *nprobe = ix->nprobe;
    mvke_index_unlock(ix);
    return MVKE_OK;
}

mvke_status mvke_index_lists(const mvke_index *ix, mvke_lists_info *out) {
    if (!ix || !out) return mvke_error(MVKE_ERR_INVALID, "index or out is NULL");
    mvke_index_rdlock(ix);
    const mvke_lists *l = &ix->lists;
    memset(out, 0, sizeof *out);
    out->nlists = l->n;
    out->listed = l->n ? l->off[l->n] : 0;
    out->tail = ix->store.count - out->listed;
    mvke_lists_sizes(l, &out->min_size, &out->median_size, &out->max_size);
    mvke_index_unlock(ix);
    return MVKE_OK;
}

/* ---- searches ---------------------------------------------------------------------------- */

/* Whether a search of this index goes by lists. A device backend reads every row (it does not
 * take spans); a codec index without its float32 rows scores by codes, which no list bound
 * covers, so only a probed search of it reads lists. */
int mvke_listed_applies(const mvke_index *ix) {
    return ix->lists.n > 0 && ix->backend == mvke_backend_cpu();
}

static int can_prune(const mvke_index *ix, const mvke_kdb *db) {
    return !mvke_storage_is_codec(ix->store.storage) || db->refine_R != 0;
}

typedef struct order_entry {
    float key;
    int j;
} order_entry;

static int cmp_order(const void *a, const void *b) {
    const order_entry *x = a, *y = b;
    if (x->key != y->key) return x->key > y->key ? -1 : 1;
    return x->j < y->j ? -1 : x->j > y->j;
}

static int cmp_i64(const void *a, const void *b) {
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* One query's state: its lists ordered, the spans of a round. */
typedef struct query_plan {
    const mvke_index *ix;
    mvke_kdb db;
    float *cs, *ub;
    order_entry *order;
    int64_t *spans; /* 2 * (nlists + 1) */
    int64_t *starts; /* scratch to sort the spans */
    mvke_kstats total;
} query_plan;

static mvke_status plan_alloc(query_plan *qp, const mvke_index *ix, const mvke_kdb *db) {
    const int n = ix->lists.n;
    memset(qp, 0, sizeof *qp);
    qp->ix = ix;
    qp->db = *db;
    qp->cs = mvke_malloc_array((size_t)n, sizeof *qp->cs);
    qp->ub = mvke_malloc_array((size_t)n, sizeof *qp->ub);
    qp->order = mvke_malloc_array((size_t)n, sizeof *qp->order);
    qp->spans = mvke_malloc_array(2 * ((size_t)n + 1), sizeof *qp->spans);
    qp->starts = mvke_malloc_array((size_t)n + 1, sizeof *qp->starts);
    if (qp->cs && qp->ub && qp->order && qp->spans && qp->starts) return MVKE_OK;
    return mvke_error(MVKE_ERR_NOMEM, "out of memory planning a search of %d lists", n);
}

static void plan_release(query_plan *qp) {
    mvke_free(qp->cs);
    mvke_free(qp->ub);
    mvke_free(qp->order);
    mvke_free(qp->spans);
    mvke_free(qp->starts);
}

/* Orders the lists for query z: by bound (exact) or by centroid score (probe). */
static void plan_order(query_plan *qp, const float *z, int by_bound) {
    const mvke_index *ix = qp->ix;
    const mvke_lists *l = &ix->lists;
    mvke_lists_bounds(l, ix->store.K, ix->store.d, ix->store.L.score, z, qp->cs, qp->ub);
    for (int j = 0; j < l->n; j++) qp->order[j] = (order_entry){by_bound ? qp->ub[j] : qp->cs[j], j};
    qsort(qp->order, (size_t)l->n, sizeof *qp->order, cmp_order);
}

/* Sets db's spans to the lists order[a..b) (and the tail when tail), sorted by position; every
 * list and the tail is every row: no spans, the flat scan's tiles. */
static void plan_spans(query_plan *qp, int a, int b, int tail) {
    const mvke_lists *l = &qp->ix->lists;
    if (a == 0 && b == l->n && tail) {
        qp->db.spans = NULL;
        qp->db.nspans = 0;
        return;
    }
    int64_t m = 0;
    for (int i = a; i < b; i++) {
        const int j = qp->order[i].j;
        if (l->off[j + 1] > l->off[j]) qp->starts[m++] = l->off[j] * (int64_t)(l->n + 1) + j;
    }
    /* Positions times (n + 1) plus the list: sorting the keys sorts the lists by position. */
    qsort(qp->starts, (size_t)m, sizeof *qp->starts, cmp_i64);
    int64_t ns = 0;
    for (int64_t i = 0; i < m; i++) {
        const int j = (int)(qp->starts[i] % (l->n + 1));
        qp->spans[2 * ns] = l->off[j];
        qp->spans[2 * ns + 1] = l->off[j + 1];
        ns++;
    }
    if (tail && qp->ix->store.count > l->off[l->n]) {
        qp->spans[2 * ns] = l->off[l->n];
        qp->spans[2 * ns + 1] = qp->ix->store.count;
        ns++;
    }
    qp->db.spans = qp->spans;
    qp->db.nspans = ns;
}

static int64_t list_rows(const mvke_lists *l, int j) { return l->off[j + 1] - l->off[j]; }

/* Runs the backend's top-k over the current spans and merges its answer into best (k entries,
 * sorted, padded): entries of both, best first, ties by smaller id. */
static mvke_status round_knn(query_plan *qp, const mvke_kqueries *q1, int64_t k, const mvke_kfilter *filter,
                             float *best_s, int64_t *best_i, float *s, int64_t *id) {
    mvke_kstats ks = {0, 0, 1, 0};
    if (qp->db.spans && qp->db.nspans == 0) return MVKE_OK;
    qp->db.stats = &ks;
    mvke_status st = qp->ix->backend->knn(qp->ix->backend, &qp->db, q1, k, filter, qp->ix->threads, s, id);
    qp->db.stats = NULL;
    if (st != MVKE_OK) return st;
    qp->total.scanned += ks.scanned;
    qp->total.refined += ks.refined;
    qp->total.certified &= ks.certified;
    /* Merge two sorted lists of k into best. */
    float ms[2 * 64];
    int64_t mi[2 * 64];
    float *os = k <= 64 ? ms : mvke_malloc_array((size_t)k, sizeof *os);
    int64_t *oi = k <= 64 ? mi : mvke_malloc_array((size_t)k, sizeof *oi);
    if (!os || !oi) {
        if (k > 64) {
            mvke_free(os);
            mvke_free(oi);
        }
        return mvke_error(MVKE_ERR_NOMEM, "out of memory merging a top-%lld", (long long)k);
    }
    /* A row of a panel two rounds share comes twice, with one score: kept once. */
    int64_t a = 0, b = 0;
    for (int64_t e = 0; e < k; e++) {
        if (a < k && b < k && best_i[a] >= 0 && best_i[a] == id[b] && best_s[a] == s[b]) b++;
        const int more_a = a < k && best_i[a] >= 0, more_b = b < k && id[b] >= 0;
        const int take_a = more_a && (!more_b || best_s[a] > s[b] || (best_s[a] == s[b] && best_i[a] < id[b]));
        if (take_a) {
            os[e] = best_s[a];
            oi[e] = best_i[a++];
        } else if (more_b) {
            os[e] = s[b];
            oi[e] = id[b++];
        } else {
            os[e] = -INFINITY;
            oi[e] = -1;
        }
    }
    memcpy(best_s, os, (size_t)k * sizeof *os);
    memcpy(best_i, oi, (size_t)k * sizeof *oi);
    if (k > 64) {
        mvke_free(os);
        mvke_free(oi);
    }
    return MVKE_OK;
}

mvke_status mvke_listed_knn(const mvke_index *ix, const mvke_kdb *db, const mvke_kqueries *q, int64_t k,
                            const mvke_kfilter *filter, float *out_s, int64_t *out_i) {
    const mvke_lists *l = &ix->lists;
    const int prune = can_prune(ix, db), probe = ix->nprobe > 0 && ix->nprobe < l->n ? ix->nprobe : 0;
    query_plan qp;
    mvke_status st = plan_alloc(&qp, ix, db);
    float *s = mvke_malloc_array((size_t)k, sizeof *s);
    int64_t *id = mvke_malloc_array((size_t)k, sizeof *id);
    if (st == MVKE_OK && (!s || !id)) st = mvke_error(MVKE_ERR_NOMEM, "out of memory for a top-%lld", (long long)k);
    int64_t scanned = 0, refined = 0, lists_read = 0;
    int certified = 1;
    const int64_t P = ix->store.P, D = ix->store.D;
    for (int64_t i = 0; i < q->n && st == MVKE_OK; i++) {
        const mvke_kqueries q1 = {1, q->x + i * D, q->gram + i * P};
        float *bs = out_s + i * k;
        int64_t *bi = out_i + i * k;
        for (int64_t e = 0; e < k; e++) {
            bs[e] = -INFINITY;
            bi[e] = -1;
        }
        qp.total = (mvke_kstats){0, 0, 1, 0};
        plan_order(&qp, q1.x, !probe && prune);
        int read = 0;
        if (probe || !prune) {
            read = probe ? probe : l->n;
            plan_spans(&qp, 0, read, 1);
            st = round_knn(&qp, &q1, k, filter, bs, bi, s, id);
        } else {
            /* Rounds over the lists by bound, each about twice the rows of the one before. */
            int64_t want = k * 8 > 4096 ? k * 8 : 4096;
            int tail = 1;
            while (st == MVKE_OK && (read < l->n || tail)) {
                const float tau = bi[k - 1] >= 0 ? bs[k - 1] : -INFINITY;
                int end = read;
                int64_t rows = 0;
                while (end < l->n && qp.ub[qp.order[end].j] >= tau && (rows < want || end == read)) rows += list_rows(l, qp.order[end++].j);
                if (end == read && !tail) break; /* every list left is below the k-th score */
                if (!tail && end < l->n) {
                    /* When the bounds would keep most of what is left, take it in one round:
                     * more rounds would cost more than they could save. */
                    int64_t keep = 0, left = 0;
                    for (int r = read; r < l->n; r++) {
                        left += list_rows(l, qp.order[r].j);
                        if (qp.ub[qp.order[r].j] >= tau) keep += list_rows(l, qp.order[r].j);
                    }
                    if (2 * keep >= left)
                        while (end < l->n && qp.ub[qp.order[end].j] >= tau) end++;
                }
                plan_spans(&qp, read, end, tail);
                st = round_knn(&qp, &q1, k, filter, bs, bi, s, id);
                read = end;
                tail = 0;
                want *= 2;
                if (read < l->n && qp.ub[qp.order[read].j] < (bi[k - 1] >= 0 ? bs[k - 1] : -INFINITY)) break;
            }
        }
        /* A probed answer is exact when no unread list could place a row in it. */
        int cert = qp.total.certified;
        if (cert && read < l->n) {
            if (!prune) cert = 0;
            for (int r = read; r < l->n && cert; r++) {
                const int j = qp.order[r].j;
                if (list_rows(l, j) && !(bi[k - 1] >= 0 && qp.ub[j] < bs[k - 1])) cert = 0;
            }
        }
        certified &= cert;
        scanned += qp.total.scanned;
        refined += qp.total.refined;
        lists_read += read;
    }
    if (db->stats && st == MVKE_OK) {
        db->stats->scanned = q->n ? (scanned + q->n - 1) / q->n : 0;
        db->stats->refined = refined;
        db->stats->certified = certified;
        db->stats->lists = lists_read;
    }
    mvke_free(s);
    mvke_free(id);
    plan_release(&qp);
    return st;
}

mvke_status mvke_listed_range(const mvke_index *ix, const mvke_kdb *db, const mvke_kqueries *q, float min_score,
                              const mvke_kfilter *filter, mvke_kranges *out) {
    const mvke_lists *l = &ix->lists;
    const int prune = can_prune(ix, db), probe = ix->nprobe > 0 && ix->nprobe < l->n ? ix->nprobe : 0;
    memset(out, 0, sizeof *out);
    query_plan qp;
    mvke_status st = plan_alloc(&qp, ix, db);
    mvke_kranges *per = mvke_calloc((size_t)(q->n ? q->n : 1), sizeof *per);
    if (st == MVKE_OK && !per) st = mvke_error(MVKE_ERR_NOMEM, "out of memory for %lld answers", (long long)q->n);
    int64_t scanned = 0, refined = 0, lists_read = 0, total = 0;
    int certified = 1;
    const int64_t P = ix->store.P, D = ix->store.D;
    for (int64_t i = 0; i < q->n && st == MVKE_OK; i++) {
        const mvke_kqueries q1 = {1, q->x + i * D, q->gram + i * P};
        plan_order(&qp, q1.x, !probe && prune);
        int read = probe ? probe : l->n;
        if (!probe && prune) /* the lists whose bound reaches the threshold: a prefix */
            for (read = 0; read < l->n && qp.ub[qp.order[read].j] >= min_score; read++) {}
        plan_spans(&qp, 0, read, 1);
        mvke_kstats ks = {0, 0, 1, 0};
        qp.db.stats = &ks;
        st = ix->backend->range(ix->backend, &qp.db, &q1, min_score, filter, ix->threads, &per[i]);
        qp.db.stats = NULL;
        if (st != MVKE_OK) break;
        int cert = ks.certified;
        for (int r = read; r < l->n && cert; r++)
            if (list_rows(l, qp.order[r].j) && (!prune || !(qp.ub[qp.order[r].j] < min_score))) cert = 0;
        certified &= cert;
        scanned += ks.scanned;
        refined += ks.refined;
        lists_read += read;
        total += per[i].lims[1];
    }
    if (st == MVKE_OK) st = mvke_kranges_alloc(out, q->n, total);
    if (st == MVKE_OK) {
        int64_t at = 0;
        for (int64_t i = 0; i < q->n; i++) {
            const int64_t m = per[i].lims[1];
            out->lims[i] = at;
            memcpy(out->ids + at, per[i].ids, (size_t)m * sizeof *out->ids);
            memcpy(out->scores + at, per[i].scores, (size_t)m * sizeof *out->scores);
            at += m;
        }
        out->lims[q->n] = at;
        if (db->stats) {
            db->stats->scanned = q->n ? (scanned + q->n - 1) / q->n : 0;
            db->stats->refined = refined;
            db->stats->certified = certified;
            db->stats->lists = lists_read;
        }
    }
    for (int64_t i = 0; per && i < q->n; i++) mvke_kranges_release(&per[i]);
    mvke_free(per);
    plan_release(&qp);
    return st;
}
