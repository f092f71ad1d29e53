/*
 * refine.c - exact re-scoring from the refine plane (refine.h).
 */
#include "refine.h"

#include <math.h>
#include <omp.h>

#include "../runtime.h"

/* Candidates lie anywhere in the database: each re-score waits on a few cache lines from memory
 * (the active experts' values of its row). Prefetching the candidate this many places ahead
 * keeps that many rows in flight instead of one. */
#define AHEAD 8

static void prefetch_row(const mvke_kdb *db, const mvke_scan_shape *sh, int64_t pos) {
    const mvke_layout *L = &db->L;
    const mvke_kblock *b = &db->blocks[mvke_scan_pos_block(pos)];
    const int64_t r = mvke_scan_pos_row(pos);
    const int d = L->d;
    const char *x = (const char *)(mvke_layout_refine(L, b->data, b->cap) + r * (int64_t)L->K * d);
    for (int a = 0; a < sh->na; a++) {
        const char *e = x + (size_t)sh->act[a] * d * sizeof(float);
        for (size_t o = 0; o < (size_t)d * sizeof(float) + 63; o += 64) __builtin_prefetch(e + o, 0, 0);
    }
}

/* <u, v> over d floats in double, four sums so that the additions' latency does not serialise
 * a row. */
static double dot_d(const float *u, const float *v, int d) {
    double s4[4] = {0.0, 0.0, 0.0, 0.0};
    int j = 0;
    for (; j + 4 <= d; j += 4)
        for (int t = 0; t < 4; t++) s4[t] += (double)u[j + t] * (double)v[j + t];
    for (; j < d; j++) s4[j & 3] += (double)u[j] * (double)v[j];
    return (s4[0] + s4[1]) + (s4[2] + s4[3]);
}

float mvke_refine_score(const mvke_kdb *db, const mvke_scan_shape *sh, const mvke_kqueries *q, int64_t i,
                        int64_t pos) {
    const mvke_layout *L = &db->L;
    const mvke_kblock *b = &db->blocks[mvke_scan_pos_block(pos)];
    const int64_t r = mvke_scan_pos_row(pos);
    const int K = L->K, d = L->d;
    const float *x = mvke_layout_refine(L, b->data, b->cap) + r * (int64_t)K * d;
    const float *z = q->x + i * (int64_t)K * d, *qg = q->gram + i * (int64_t)L->P;
    /* The numerator over the active experts, and the norms from the same exact row: its Gram
     * entries over the active experts in double (the stored triangle holds these values rounded
     * to float32), so that a re-score reads one row and nothing else. Entry e of the shape is
     * the pair (act[a], act[c]), a <= c, in this loop's order. */
    double num = 0.0, den2 = 0.0, rtr = 0.0, qtr = 0.0;
    for (int a = 0; a < sh->na; a++) num += dot_d(x + (int64_t)sh->act[a] * d, z + (int64_t)sh->act[a] * d, d);
    for (int e = 0, a = 0; a < sh->na; a++)
        for (int c = a; c < sh->na; c++, e++) {
            const double g = dot_d(x + (int64_t)sh->act[a] * d, x + (int64_t)sh->act[c] * d, d);
            const float qe = qg[sh->ent[e]];
            den2 += (a == c ? 1.0 : 2.0) * g * (double)qe;
            if (a == c) {
                rtr += g;
                qtr += qe;
            }
        }
    return mvke_cosine_d(num, den2, (double)((float)qtr * MVKE_DEN2_REL_FLOOR) * rtr);
}

/* Re-scores candidates [c0, c1) of query i into the selection r (keys: positions). */
static void rescore(const mvke_kdb *db, const mvke_scan_shape *sh, const mvke_kqueries *q, int64_t i,
                    const int64_t *ci, int64_t c0, int64_t c1, mvke_select *r) {
    for (int64_t c = c0; c < c1 && c < c0 + AHEAD; c++)
        if (ci[c] >= 0) prefetch_row(db, sh, ci[c]);
    for (int64_t c = c0; c < c1; c++) {
        if (c + AHEAD < c1 && ci[c + AHEAD] >= 0) prefetch_row(db, sh, ci[c + AHEAD]);
        if (ci[c] < 0) continue;
        const float v = mvke_refine_score(db, sh, q, i, ci[c]);
        if (v >= r->thr) mvke_select_push(r, v, ci[c]);
    }
}

void mvke_refine_topk(const mvke_kdb *db, const mvke_scan_shape *sh, const mvke_kqueries *q, int64_t kk,
                      const int64_t *cand, int64_t k, int threads, float *out_s, int64_t *out_i) {
    const int nt = threads > 0 ? threads : omp_get_max_threads();
    /* Few queries: the threads share each query's candidates, then merge; many: a query each. */
    const int split = q->n < nt && kk >= 256 ? nt : 1;
    const int64_t cap = split * k + k + 16;
    const size_t slots = (size_t)(split > 1 ? split : nt);
    float *s = mvke_malloc_array(slots * (size_t)cap + 1, sizeof *s);
    int64_t *key = mvke_malloc_array(slots * (size_t)cap + 1, sizeof *key);
    if (!s || !key) { /* out of memory: one query at a time over the output's own storage */
        mvke_free(s);
        mvke_free(key);
        for (int64_t i = 0; i < q->n; i++) {
            mvke_topk h;
            mvke_topk_init(&h, out_s + i * k, out_i + i * k, k);
            for (int64_t c = 0; c < kk; c++) {
                const int64_t pos = cand[i * kk + c];
                if (pos < 0) continue;
                const float v = mvke_refine_score(db, sh, q, i, pos);
                const int64_t id = mvke_scan_pos_id(db, pos);
                if (mvke_topk_admits(&h, v, id)) mvke_topk_push(&h, v, id);
            }
            mvke_topk_finish(&h);
        }
        return;
    }
    if (split > 1) {
        for (int64_t i = 0; i < q->n; i++) {
            mvke_select part[64];
            const int parts = split < 64 ? split : 64;
            const int64_t *ci = cand + i * kk;
#pragma omp parallel for schedule(static, 1) num_threads(parts)
            for (int w = 0; w < parts; w++) {
                mvke_select_init(&part[w], s + (size_t)w * cap, key + (size_t)w * cap, k, cap, mvke_scan_pos_id, db);
                rescore(db, sh, q, i, ci, kk * w / parts, kk * (w + 1) / parts, &part[w]);
                mvke_select_compact(&part[w]);
            }
            for (int w = 1; w < parts; w++) /* part 0's storage holds k + k + 16 >= 2k slots */
                for (int64_t e = 0; e < part[w].n; e++) mvke_select_push(&part[0], part[w].s[e], part[w].key[e]);
            mvke_select_finish(&part[0]);
            for (int64_t e = 0; e < k; e++) {
                out_s[i * k + e] = e < part[0].n ? part[0].s[e] : -INFINITY;
                out_i[i * k + e] = e < part[0].n ? mvke_scan_pos_id(db, part[0].key[e]) : -1;
            }
        }
    } else {
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (q->n * kk >= 4096)
        for (int64_t i = 0; i < q->n; i++) {
            const int me = omp_get_thread_num();
            mvke_select r;
            mvke_select_init(&r, s + (size_t)me * cap, key + (size_t)me * cap, k, cap, mvke_scan_pos_id, db);
            rescore(db, sh, q, i, cand + i * kk, 0, kk, &r);
            mvke_select_finish(&r);
            for (int64_t e = 0; e < k; e++) {
                out_s[i * k + e] = e < r.n ? r.s[e] : -INFINITY;
                out_i[i * k + e] = e < r.n ? mvke_scan_pos_id(db, r.key[e]) : -1;
            }
        }
    }
    mvke_free(s);
    mvke_free(key);
}

void mvke_refine_hits(const mvke_kdb *db, const mvke_scan_shape *sh, const mvke_kqueries *q, float min_score,
                      int threads, mvke_hits *lists) {
    const int nt = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (q->n > 1)
    for (int64_t i = 0; i < q->n; i++) {
        mvke_hits *l = &lists[i];
        int64_t kept = 0;
        for (int64_t e = 0; e < l->n && e < AHEAD; e++) prefetch_row(db, sh, l->id[e]);
        for (int64_t e = 0; e < l->n; e++) {
            if (e + AHEAD < l->n) prefetch_row(db, sh, l->id[e + AHEAD]);
            const int64_t pos = l->id[e];
            const float v = mvke_refine_score(db, sh, q, i, pos);
            if (v >= min_score) {
                l->s[kept] = v;
                l->id[kept++] = db->blocks[mvke_scan_pos_block(pos)].ids[mvke_scan_pos_row(pos)];
            }
        }
        l->n = kept;
    }
}
