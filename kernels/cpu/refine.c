/*
 * refine.c - exact re-scoring from the refine plane (refine.h).
 */
#include "refine.h"

#include <math.h>
#include <omp.h>

#include "../cosine.h"
#include "../runtime.h"
#include "scan.h"

/* Candidates lie anywhere in the database: each re-score waits on a few cache lines from memory
 * (the active experts' values of its row). Prefetching the candidate this many places ahead
 * keeps that many rows in flight instead of one. */
#define AHEAD 8

static void prefetch_row(const mvke_kdb *db, const mvke_scan_shape *sh, int64_t pos) {
    const mvke_layout *L = &db->L;
    const mvke_kblock *b = &db->blocks[mvke_scan_pos_block(pos)];
    const int64_t r = mvke_scan_pos_row(pos);
    const int d = L->d;
    const char *x = (const char *)(b->refine + r * (int64_t)L->K * d);
    for (int a = 0; a < sh->na; a++) {
        const char *e = x + (size_t)sh->act[a] * d * sizeof(float);
        for (size_t o = 0; o < (size_t)d * sizeof(float) + 63; o += 64) __builtin_prefetch(e + o, 0, 0);
    }
    if (L->G) __builtin_prefetch(mvke_layout_gram(L, b->data, b->cap) + (size_t)(r / MVKE_LANES) * L->G * MVKE_LANES, 0, 0);
}

/* The score of the row at x (its Gram entries at g, LANES apart) for query i, by the f32
 * kernels' arithmetic: the numerator from 0 over the active experts ascending and their
 * dimensions ascending, then the denominator over the active Gram entries in the shape's order,
 * the row's trace in the same order and the query's guard as pack_make makes it; each term a
 * multiply-add, fused (FMA) or not as the variant's kernels do. So a candidate gets the float32
 * score the same search of the float32 rows gives it, to the bit, and the certified answer is
 * the float32 index's answer, near ties included. */
#define SCORE_BODY(MADD)                                                                                  \
    float num = 0.0f, den2 = 0.0f, tr = 0.0f, qtr = 0.0f;                                                 \
    for (int a = 0; a < sh->na; a++) {                                                                    \
        const float *xa = x + (int64_t)sh->act[a] * d, *za = z + (int64_t)sh->act[a] * d;                 \
        for (int j = 0; j < d; j++) num = MADD(xa[j], za[j], num);                                        \
    }                                                                                                     \
    for (int e = 0; e < sh->pa; e++) {                                                                    \
        const float ge = g[(size_t)sh->ent[e] * MVKE_LANES], qe = qg[sh->ent[e]];                         \
        if (sh->diag[e]) {                                                                                \
            tr += ge;                                                                                     \
            qtr += qe;                                                                                    \
        }                                                                                                 \
        den2 = MADD(ge, qe, den2);                                                                        \
    }                                                                                                     \
    return mvke_score_of(sh->L.score == MVKE_SCORE_DOT, num, den2, qtr * MVKE_DEN2_REL_FLOOR * tr);

static inline float madd_plain(float a, float b, float c) { return c + a * b; }

static float score_plain(const mvke_scan_shape *sh, int d, const float *x, const float *z, const float *g,
                         const float *qg) {
    SCORE_BODY(madd_plain)
}

#if defined(__x86_64__) && defined(__GNUC__)
#define FUSED __attribute__((target("fma")))
#else
#define FUSED
#endif
static FUSED float score_fused(const mvke_scan_shape *sh, int d, const float *x, const float *z, const float *g,
                               const float *qg) {
    SCORE_BODY(__builtin_fmaf)
}

float mvke_refine_score(const mvke_kdb *db, const mvke_scan_shape *sh, const mvke_kqueries *q, int64_t i,
                        int64_t pos) {
    const mvke_layout *L = &db->L;
    const mvke_kblock *b = &db->blocks[mvke_scan_pos_block(pos)];
    const int64_t r = mvke_scan_pos_row(pos);
    const int K = L->K, d = L->d;
    const float *x = b->refine + r * (int64_t)K * d;
    const float *z = q->x + i * (int64_t)K * d, *qg = q->gram + i * (int64_t)L->P;
    const float *g = mvke_layout_gram(L, b->data, b->cap) + ((size_t)(r / MVKE_LANES) * L->G) * MVKE_LANES +
                     (size_t)(r % MVKE_LANES);
    return mvke_cpu_variant_get() == MVKE_CPU_GENERIC ? score_plain(sh, d, x, z, g, qg)
                                                      : score_fused(sh, d, x, z, g, qg);
}

/* The candidate's row, after its first-use check (mapped rows); NULL when the check failed. */
static int row_ok(const mvke_kdb *db, int64_t pos) {
    if (!db->check) return 1;
    const mvke_kblock *b = &db->blocks[mvke_scan_pos_block(pos)];
    const size_t D = (size_t)db->L.K * (size_t)db->L.d;
    return db->check(db->check_ctx, b->refine + (size_t)mvke_scan_pos_row(pos) * D, D * sizeof(float)) == MVKE_OK;
}

/* Re-scores candidates [c0, c1) of list l (positions) of query i into the selection r. Returns
 * -1, or the first candidate whose row failed its check. */
static int64_t rescore(const mvke_kdb *db, const mvke_scan_shape *sh, const mvke_kqueries *q, int64_t i,
                       const mvke_hits *l, int64_t c0, int64_t c1, mvke_select *r) {
    const int64_t *ci = l->id;
    for (int64_t c = c0; c < c1 && c < c0 + AHEAD; c++) prefetch_row(db, sh, ci[c]);
    for (int64_t c = c0; c < c1; c++) {
        if (c + AHEAD < c1) prefetch_row(db, sh, ci[c + AHEAD]);
        if (!row_ok(db, ci[c])) return ci[c];
        const float v = mvke_refine_score(db, sh, q, i, ci[c]);
        if (v >= r->thr) mvke_select_push(r, v, ci[c]);
    }
    return -1;
}

/* The error of a failed first-use check, made again in the calling thread (messages are
 * thread-local). */
static mvke_status check_error(const mvke_kdb *db, int64_t pos) {
    const mvke_kblock *b = &db->blocks[mvke_scan_pos_block(pos)];
    const size_t D = (size_t)db->L.K * (size_t)db->L.d;
    return db->check(db->check_ctx, b->refine + (size_t)mvke_scan_pos_row(pos) * D, D * sizeof(float));
}

static void write_out(const mvke_kdb *db, const mvke_select *r, int64_t k, float *out_s, int64_t *out_i) {
    for (int64_t e = 0; e < k; e++) {
        out_s[e] = e < r->n ? r->s[e] : -INFINITY;
        out_i[e] = e < r->n ? mvke_scan_pos_id(db, r->key[e]) : -1;
    }
}

mvke_status mvke_refine_topk(const mvke_kdb *db, const mvke_scan_shape *sh, const mvke_kqueries *q,
                             const mvke_hits *cand, int64_t k, int threads, float *out_s, int64_t *out_i) {
    const int nt = threads > 0 ? threads : omp_get_max_threads();
    int64_t most = 0, total = 0;
    for (int64_t i = 0; i < q->n; i++) {
        most = cand[i].n > most ? cand[i].n : most;
        total += cand[i].n;
    }
    /* Few queries: the threads share each query's candidates, then merge; many: a query each. */
    const int split = q->n < nt && most >= 256 ? (nt < 64 ? nt : 64) : 1;
    const int64_t cap = mvke_select_cap(k) > split * k + 1 ? mvke_select_cap(k) : split * k + 1;
    const size_t slots = (size_t)(split > 1 ? split : nt);
    float *s = mvke_malloc_array(slots * (size_t)cap + 1, sizeof *s);
    int64_t *key = mvke_malloc_array(slots * (size_t)cap + 1, sizeof *key);
    if (!s || !key) {
        mvke_free(s);
        mvke_free(key);
        return mvke_error(MVKE_ERR_NOMEM, "out of memory re-scoring %lld candidates", (long long)total);
    }
    int64_t bad = -1;
    if (split > 1) {
        for (int64_t i = 0; i < q->n && bad < 0; i++) {
            mvke_select part[64];
#pragma omp parallel for schedule(static, 1) num_threads(split)
            for (int w = 0; w < split; w++) {
                mvke_select_init(&part[w], s + (size_t)w * cap, key + (size_t)w * cap, k, cap, mvke_scan_pos_id, db);
                const int64_t b = rescore(db, sh, q, i, &cand[i], cand[i].n * w / split, cand[i].n * (w + 1) / split,
                                          &part[w]);
                if (b >= 0) __atomic_store_n(&bad, b, __ATOMIC_RELAXED);
                mvke_select_compact(&part[w]);
            }
            for (int w = 1; w < split; w++) /* part 0's storage holds split * k + 1 slots */
                for (int64_t e = 0; e < part[w].n; e++) mvke_select_push(&part[0], part[w].s[e], part[w].key[e]);
            mvke_select_finish(&part[0]);
            write_out(db, &part[0], k, out_s + i * k, out_i + i * k);
        }
    } else {
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (total >= 4096)
        for (int64_t i = 0; i < q->n; i++) {
            if (__atomic_load_n(&bad, __ATOMIC_RELAXED) >= 0) continue;
            const int me = omp_get_thread_num();
            mvke_select r;
            mvke_select_init(&r, s + (size_t)me * cap, key + (size_t)me * cap, k, cap, mvke_scan_pos_id, db);
            const int64_t b = rescore(db, sh, q, i, &cand[i], 0, cand[i].n, &r);
            if (b >= 0) __atomic_store_n(&bad, b, __ATOMIC_RELAXED);
            mvke_select_finish(&r);
            write_out(db, &r, k, out_s + i * k, out_i + i * k);
        }
    }
    mvke_free(s);
    mvke_free(key);
    return bad >= 0 ? check_error(db, bad) : MVKE_OK;
}

mvke_status mvke_refine_hits(const mvke_kdb *db, const mvke_scan_shape *sh, const mvke_kqueries *q, float min_score,
                             int threads, mvke_hits *lists) {
    const int nt = threads > 0 ? threads : omp_get_max_threads();
    int64_t total = 0, bad = -1;
    for (int64_t i = 0; i < q->n; i++) total += lists[i].n;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (q->n > 1 && total >= 4096)
    for (int64_t i = 0; i < q->n; i++) {
        mvke_hits *l = &lists[i];
        int64_t kept = 0;
        for (int64_t e = 0; e < l->n && e < AHEAD; e++) prefetch_row(db, sh, l->id[e]);
        for (int64_t e = 0; e < l->n; e++) {
            if (e + AHEAD < l->n) prefetch_row(db, sh, l->id[e + AHEAD]);
            const int64_t pos = l->id[e];
            if (!row_ok(db, pos)) {
                __atomic_store_n(&bad, pos, __ATOMIC_RELAXED);
                break;
            }
            const float v = mvke_refine_score(db, sh, q, i, pos);
            if (v >= min_score) {
                l->s[kept] = v;
                l->id[kept++] = mvke_scan_pos_id(db, pos);
            }
        }
        l->n = kept;
    }
    return bad >= 0 ? check_error(db, bad) : MVKE_OK;
}
