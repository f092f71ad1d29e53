/*
 * cpu_backend.c - the CPU backend: tiled BLAS products with a fused normalise + select epilogue.
 *
 * Design notes.
 * 1. A search compares a batch of query rows with every database row. The database is cut into
 *    tiles of TU rows and the queries into tiles of TQ rows; for one (query tile, row tile) pair
 *    two products give num = Q . R^T (inner dimension K*d) and den2 = GQ . GR^T (inner dimension
 *    P), both TQ x TU, small enough to stay in cache. The epilogue turns them into cosines and
 *    feeds each query's selector at once, so the full score matrix never exists.
 * 2. Work is split one of two ways. With at least as many query tiles as threads, each thread
 *    takes whole query tiles and scans the whole database for them: no merging (the batch tagging
 *    and user -> tags shape). With fewer, the query tiles are taken one at a time and the threads
 *    split the database tiles, each with private selectors merged at the end (the tag -> users
 *    shape, a few queries over many rows).
 * 3. Selection uses a total order (score, then smaller id), so results do not depend on the split.
 * 4. Every BLAS call runs on one thread (we parallelise over tiles ourselves): inside each worker
 *    omp_set_num_threads(1) makes OpenBLAS's OpenMP build stay single-threaded even in a team of
 *    one.
 * 5. Rows live in the expert-major block layout (kernels/layout.h); each tile is read out into
 *    row-major float32 scratch, then the products use the routine that is fastest for the batch
 *    size: sgemv for one query, a small-batch kernel for two or three (kernels/cpu/dots.c), sgemm
 *    beyond.
 * 6. The codecs (sq8, pq) score tiles of at most MVKE_CODEC_SCAN_MAX_Q queries straight from
 *    their codes (codec_scan.h: tables built once per query tile, per thread); larger tiles
 *    decode the tile and take the path of note 5, where BLAS amortises the decoding.
 */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "../backend.h"
#include "../gram.h"
#include "../runtime.h"
#include "codec_scan.h"
#include "scan.h"
#include "dots.h"
#include "topk.h"

/* Scores held per tile: TQ * TU floats in each of the two product buffers. */
#define TILE_FLOATS (64 * 1024)
#define TU_MIN 64
#define TU_MAX 8192
#define TQ_MAX 256
/* Bound on selector entries per thread when threads split the rows of one query tile. */
#define HEAP_ENTRIES_PER_THREAD (1 << 22)

typedef struct tile_ref {
    int64_t block, start, n;
} tile_ref;

typedef struct plan {
    const mvke_kdb *db;
    const mvke_kqueries *q;
    const mvke_kfilter *filter;
    int D, P, threads;
    int64_t TQ, TU, ntiles;
    tile_ref *tiles;
    size_t codec_floats; /* > 0: tiles are scored from codes, with this many table floats per query */
} plan;

typedef struct scratch {
    float *S, *G, *rtr, *xf, *gf; /* xf, gf: the tile's rows and Gram triangles, row-major */
    /* Codec scans: the query tile's tables (prepared for queries from cq_q0) and panel outputs. */
    mvke_codec_query *cq;
    float *cw, *cnum, *cden, *crtr;
    int64_t cq_q0;
} scratch;

/* What a search keeps for one query tile: heaps (top-k) or hit lists (threshold). */
typedef struct sink {
    int64_t nq;
    int64_t k;       /* > 0: top-k */
    float min_score; /* threshold when k == 0 */
    mvke_topk *heaps;
    mvke_hits *hits;
    int failed;      /* a hit list could not grow */
    int owned;       /* heap storage was allocated by sink_alloc */
} sink;

static int threads_for(int threads) {
    int n = threads > 0 ? threads : omp_get_max_threads();
    return n < 1 ? 1 : n;
}

static mvke_status plan_make(plan *pl, const mvke_kdb *db, const mvke_kqueries *q,
                             const mvke_kfilter *filter, int threads, int64_t k) {
    memset(pl, 0, sizeof *pl);
    pl->db = db;
    pl->q = q;
    pl->filter = filter;
    pl->D = db->L.K * db->L.d;
    pl->P = db->L.P;
    pl->threads = threads_for(threads);
    int64_t tq = q->n < TQ_MAX ? q->n : TQ_MAX;
    if (k > 0) {
        int64_t cap = HEAP_ENTRIES_PER_THREAD / k;
        if (tq > cap) tq = cap > 0 ? cap : 1;
    }
    pl->TQ = tq > 0 ? tq : 1;
    int64_t tu = TILE_FLOATS / pl->TQ;
    tu = tu < TU_MIN ? TU_MIN : tu > TU_MAX ? TU_MAX : tu;
    pl->TU = tu;
    int64_t nt = 0;
    for (int64_t b = 0; b < db->nblocks; b++) nt += (db->blocks[b].n + tu - 1) / tu;
    pl->ntiles = nt;
    if ((db->L.storage == MVKE_STORAGE_SQ8 || db->L.storage == MVKE_STORAGE_PQ) && pl->TQ <= MVKE_CODEC_SCAN_MAX_Q &&
        mvke_codec_query_floats(&db->L) <= MVKE_CODEC_SCAN_MAX_TABLE)
        pl->codec_floats = mvke_codec_query_floats(&db->L);
    pl->tiles = mvke_malloc_array((size_t)(nt ? nt : 1), sizeof *pl->tiles);
    if (!pl->tiles) return mvke_error(MVKE_ERR_NOMEM, "out of memory planning a search of %lld tiles", (long long)nt);
    int64_t t = 0;
    for (int64_t b = 0; b < db->nblocks; b++)
        for (int64_t s = 0; s < db->blocks[b].n; s += tu) {
            int64_t n = db->blocks[b].n - s;
            pl->tiles[t++] = (tile_ref){b, s, n < tu ? n : tu};
        }
    return MVKE_OK;
}

static int scratch_alloc(const plan *pl, scratch *sc) {
    size_t st = (size_t)pl->TQ * (size_t)pl->TU;
    sc->S = mvke_malloc_array(st, sizeof(float));
    sc->G = mvke_malloc_array(st, sizeof(float));
    sc->rtr = mvke_malloc_array((size_t)pl->TU, sizeof(float));
    sc->xf = mvke_malloc_array((size_t)pl->TU * (size_t)pl->D, sizeof(float));
    sc->gf = mvke_malloc_array((size_t)pl->TU * (size_t)pl->P, sizeof(float));
    int ok = sc->S && sc->G && sc->rtr && sc->xf && sc->gf;
    sc->cq_q0 = -1;
    if (ok && pl->codec_floats) {
        const size_t panel_out = (size_t)pl->TU + 2 * MVKE_LANES;
        sc->cq = mvke_malloc_array((size_t)pl->TQ, sizeof *sc->cq);
        sc->cw = mvke_malloc_array((size_t)pl->TQ * pl->codec_floats, sizeof(float));
        sc->cnum = mvke_malloc_array(panel_out, sizeof(float));
        sc->cden = mvke_malloc_array(panel_out, sizeof(float));
        sc->crtr = mvke_malloc_array(panel_out, sizeof(float));
        ok = sc->cq && sc->cw && sc->cnum && sc->cden && sc->crtr;
    }
    return ok ? 0 : -1;
}

static void scratch_release(scratch *sc) {
    mvke_free(sc->S);
    mvke_free(sc->G);
    mvke_free(sc->rtr);
    mvke_free(sc->xf);
    mvke_free(sc->gf);
    mvke_free(sc->cq);
    mvke_free(sc->cw);
    mvke_free(sc->cnum);
    mvke_free(sc->cden);
    mvke_free(sc->crtr);
}

/* S (nq x nr) = Q (nq x n) . R (nr x n)^T, by the routine that is fastest for the batch size. */
static void product(int64_t nq, int nr, int n, const float *Q, const float *R, float *S) {
    if (nq == 1)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, nr, n, 1.0f, R, n, Q, 1, 0.0f, S, 1);
    else if (nq >= MVKE_DOTS_MIN_Q && nq <= MVKE_DOTS_MAX_Q)
        mvke_cpu_dots((int)nq, nr, n, Q, R, S);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nq, nr, n, 1.0f, Q, n, R, n, 0.0f, S, nr);
}

/* score_tile for a codec scored from its codes: the same cosines, guard and clamp. */
static void score_tile_codec(const plan *pl, int64_t q0, int64_t nq, const tile_ref *t, scratch *sc) {
    const mvke_kblock *b = &pl->db->blocks[t->block];
    const mvke_layout *L = &pl->db->L;
    if (sc->cq_q0 != q0) {
        for (int64_t j = 0; j < nq; j++)
            mvke_codec_query_prepare(L, pl->q->x + (q0 + j) * pl->D, pl->q->gram + (q0 + j) * pl->P,
                                     sc->cw + (size_t)j * pl->codec_floats, &sc->cq[j]);
        sc->cq_q0 = q0;
    }
    const int64_t p0 = t->start / MVKE_LANES, p1 = (t->start + t->n + MVKE_LANES - 1) / MVKE_LANES;
    const int64_t skip = t->start - p0 * MVKE_LANES;
    const int nr = (int)t->n;
    for (int64_t j = 0; j < nq; j++) {
        const mvke_codec_query *cq = &sc->cq[j];
        mvke_codec_scan(L, b->data, b->cap, p0, p1, cq, sc->cnum, sc->cden, sc->crtr);
        float *s = sc->S + j * nr;
        const float qt = cq->qtr * MVKE_DEN2_REL_FLOOR;
        for (int i = 0; i < nr; i++) {
            const float den2 = sc->cden[skip + i];
            float v = den2 > qt * sc->crtr[skip + i] && den2 > 0.0f ? sc->cnum[skip + i] / sqrtf(den2) : 0.0f;
            s[i] = v > 1.0f ? 1.0f : v < -1.0f ? -1.0f : v;
        }
    }
}

/* Cosines of queries [q0, q0+nq) against the rows of one tile, into sc->S (nq x tile rows). The
 * tile's rows are read out of the block layout into row-major scratch first. */
static void score_tile(const plan *pl, int64_t q0, int64_t nq, const float *qtr, const tile_ref *t,
                       scratch *sc) {
    if (pl->codec_floats) {
        score_tile_codec(pl, q0, nq, t, sc);
        return;
    }
    const mvke_kblock *b = &pl->db->blocks[t->block];
    const int D = pl->D, P = pl->P, K = pl->db->L.K;
    const int nr = (int)t->n;
    for (int i = 0; i < nr; i++)
        mvke_layout_get(&pl->db->L, b->data, b->cap, t->start + i, sc->xf + (size_t)i * D, sc->gf + (size_t)i * P);
    const float *rx = sc->xf, *rg = sc->gf;
    const float *qx = pl->q->x + q0 * D, *qg = pl->q->gram + q0 * P;
    product(nq, nr, D, qx, rx, sc->S);
    product(nq, nr, P, qg, rg, sc->G);
    for (int i = 0; i < nr; i++) sc->rtr[i] = mvke_gram_trace(K, rg + (int64_t)i * P);
    for (int64_t j = 0; j < nq; j++) {
        float *s = sc->S + j * nr;
        const float *g = sc->G + j * nr;
        const float qt = qtr[q0 + j] * MVKE_DEN2_REL_FLOOR;
        for (int i = 0; i < nr; i++) {
            float den2 = g[i];
            float v = den2 > qt * sc->rtr[i] && den2 > 0.0f ? s[i] / sqrtf(den2) : 0.0f;
            s[i] = v > 1.0f ? 1.0f : v < -1.0f ? -1.0f : v;
        }
    }
}

/* Feeds one scored tile to the sink of its query tile. */
static void consume(const plan *pl, sink *sk, const tile_ref *t, const scratch *sc) {
    const int64_t *ids = pl->db->blocks[t->block].ids + t->start;
    const int64_t nr = t->n;
    for (int64_t j = 0; j < sk->nq; j++) {
        const float *s = sc->S + j * nr;
        if (sk->k > 0) {
            mvke_topk *h = &sk->heaps[j];
            for (int64_t i = 0; i < nr; i++)
                if (mvke_topk_admits(h, s[i], ids[i]) && mvke_kfilter_pass(pl->filter, ids[i]))
                    mvke_topk_push(h, s[i], ids[i]);
        } else {
            mvke_hits *l = &sk->hits[j];
            for (int64_t i = 0; i < nr; i++)
                if (s[i] >= sk->min_score && mvke_kfilter_pass(pl->filter, ids[i]) &&
                    mvke_hits_push(l, s[i], ids[i]) != 0)
                    sk->failed = 1;
        }
    }
}

/* Allocates a sink for nq queries. Heaps use the given storage when not NULL. */
static int sink_alloc(sink *sk, int64_t nq, int64_t k, float min_score, float *out_s, int64_t *out_i) {
    memset(sk, 0, sizeof *sk);
    sk->nq = nq;
    sk->k = k;
    sk->min_score = min_score;
    if (k > 0) {
        sk->heaps = mvke_malloc_array((size_t)nq, sizeof *sk->heaps);
        if (!sk->heaps) return -1;
        if (!out_s) {
            out_s = mvke_malloc_array((size_t)nq * (size_t)k, sizeof *out_s);
            out_i = mvke_malloc_array((size_t)nq * (size_t)k, sizeof *out_i);
            if (!out_s || !out_i) {
                mvke_free(out_s);
                mvke_free(out_i);
                mvke_free(sk->heaps);
                sk->heaps = NULL;
                return -1;
            }
            sk->owned = 1;
        }
        for (int64_t j = 0; j < nq; j++) mvke_topk_init(&sk->heaps[j], out_s + j * k, out_i + j * k, k);
    } else {
        sk->hits = mvke_calloc((size_t)nq, sizeof *sk->hits);
        if (!sk->hits) return -1;
    }
    return 0;
}

static void sink_release(sink *sk) {
    if (sk->heaps) {
        if (sk->owned && sk->nq > 0) {
            mvke_free(sk->heaps[0].s);
            mvke_free(sk->heaps[0].id);
        }
        mvke_free(sk->heaps);
    }
    if (sk->hits) {
        for (int64_t j = 0; j < sk->nq; j++) mvke_hits_release(&sk->hits[j]);
        mvke_free(sk->hits);
    }
    memset(sk, 0, sizeof *sk);
}

/* Runs the search. For top-k, results land in out_s/out_i. For thresholds, *lists receives one hit list
 * per query (allocated here, merged over threads). */
/* float32, float16 and bfloat16 rows go to the fused scan (scan.h), which reads the block
 * layout's planes directly, only the active experts', in one pass per panel. */
static int scanned(const mvke_kdb *db) {
    return db->L.storage == MVKE_STORAGE_F32 || db->L.storage == MVKE_STORAGE_F16 ||
           db->L.storage == MVKE_STORAGE_BF16;
}

_Static_assert(sizeof(mvke_scan_block) == sizeof(mvke_kblock), "the scan reads backend blocks as they are");

static mvke_status run(const mvke_kdb *db, const mvke_kqueries *q, int64_t k, float min_score,
                       const mvke_kfilter *filter, int threads, float *out_s, int64_t *out_i,
                       mvke_hits **lists) {
    if (scanned(db)) {
        const mvke_scan_db sdb = {db->L, db->experts, db->nblocks, (const mvke_scan_block *)db->blocks};
        return mvke_scan_search(&sdb, q, k, min_score, filter, threads, out_s, out_i, lists);
    }
    plan pl;
    mvke_status st = plan_make(&pl, db, q, filter, threads, k);
    if (st != MVKE_OK) return st;
    const int P = pl.P, K = db->L.K;
    float *qtr = mvke_malloc_array((size_t)(q->n ? q->n : 1), sizeof *qtr);
    mvke_hits *out_lists = k > 0 ? NULL : mvke_calloc((size_t)(q->n ? q->n : 1), sizeof *out_lists);
    if (!qtr || (k == 0 && !out_lists)) {
        mvke_free(qtr);
        mvke_free(out_lists);
        mvke_free(pl.tiles);
        return mvke_error(MVKE_ERR_NOMEM, "out of memory starting a search of %lld queries", (long long)q->n);
    }
    for (int64_t j = 0; j < q->n; j++) qtr[j] = mvke_gram_trace(K, q->gram + j * P);

    const int64_t nqt = (q->n + pl.TQ - 1) / pl.TQ;
    int failed = 0; /* 1: out of memory in a worker */

    if (nqt >= pl.threads || pl.ntiles <= 1) {
        /* Whole query tiles per thread. */
#pragma omp parallel num_threads(pl.threads) reduction(| : failed)
        {
            omp_set_num_threads(1);
            scratch sc = {0};
            if (scratch_alloc(&pl, &sc) != 0) failed = 1;
#pragma omp for schedule(dynamic, 1)
            for (int64_t qt = 0; qt < nqt; qt++) {
                if (failed) continue;
                int64_t q0 = qt * pl.TQ, nq = q->n - q0 < pl.TQ ? q->n - q0 : pl.TQ;
                sink sk;
                if (sink_alloc(&sk, nq, k, min_score, k > 0 ? out_s + q0 * k : NULL,
                               k > 0 ? out_i + q0 * k : NULL) != 0) {
                    failed = 1;
                    continue;
                }
                for (int64_t t = 0; t < pl.ntiles; t++) {
                    score_tile(&pl, q0, nq, qtr, &pl.tiles[t], &sc);
                    consume(&pl, &sk, &pl.tiles[t], &sc);
                }
                if (k > 0) {
                    for (int64_t j = 0; j < nq; j++) mvke_topk_finish(&sk.heaps[j]);
                } else {
                    if (sk.failed) failed = 1;
                    for (int64_t j = 0; j < nq; j++) { /* hand the lists over */
                        out_lists[q0 + j] = sk.hits[j];
                        memset(&sk.hits[j], 0, sizeof sk.hits[j]);
                    }
                }
                sink_release(&sk);
            }
            scratch_release(&sc);
        }
    } else {
        /* One query tile at a time; threads split the row tiles. */
        for (int64_t qt = 0; qt < nqt && !failed; qt++) {
            int64_t q0 = qt * pl.TQ, nq = q->n - q0 < pl.TQ ? q->n - q0 : pl.TQ;
            sink *sinks = mvke_calloc((size_t)pl.threads, sizeof *sinks);
            if (!sinks) {
                failed = 1;
                break;
            }
#pragma omp parallel num_threads(pl.threads) reduction(| : failed)
            {
                omp_set_num_threads(1);
                int me = omp_get_thread_num();
                scratch sc = {0};
                if (scratch_alloc(&pl, &sc) != 0 ||
                    sink_alloc(&sinks[me], nq, k, min_score, NULL, NULL) != 0)
                    failed = 1;
#pragma omp for schedule(dynamic, 4)
                for (int64_t t = 0; t < pl.ntiles; t++) {
                    if (failed) continue;
                    score_tile(&pl, q0, nq, qtr, &pl.tiles[t], &sc);
                    consume(&pl, &sinks[me], &pl.tiles[t], &sc);
                }
                if (sinks[me].failed) failed = 1;
                scratch_release(&sc);
            }
            if (!failed) {
                for (int64_t j = 0; j < nq; j++) {
                    if (k > 0) {
                        mvke_topk h;
                        mvke_topk_init(&h, out_s + (q0 + j) * k, out_i + (q0 + j) * k, k);
                        for (int w = 0; w < pl.threads; w++) {
                            const mvke_topk *src = sinks[w].heaps ? &sinks[w].heaps[j] : NULL;
                            for (int64_t e = 0; src && e < src->n; e++)
                                mvke_topk_push(&h, src->s[e], src->id[e]);
                        }
                        mvke_topk_finish(&h);
                    } else {
                        mvke_hits *dst = &out_lists[q0 + j];
                        for (int w = 0; w < pl.threads && !failed; w++) {
                            const mvke_hits *src = sinks[w].hits ? &sinks[w].hits[j] : NULL;
                            for (int64_t e = 0; src && e < src->n; e++)
                                if (mvke_hits_push(dst, src->s[e], src->id[e]) != 0) {
                                    failed = 1;
                                    break;
                                }
                        }
                    }
                }
            }
            for (int w = 0; w < pl.threads; w++) sink_release(&sinks[w]);
            mvke_free(sinks);
        }
    }
    mvke_free(qtr);
    mvke_free(pl.tiles);
    if (failed) {
        if (out_lists) {
            for (int64_t j = 0; j < q->n; j++) mvke_hits_release(&out_lists[j]);
            mvke_free(out_lists);
        }
        return mvke_error(MVKE_ERR_NOMEM, "out of memory during a search of %lld queries", (long long)q->n);
    }
    if (lists) *lists = out_lists;
    return MVKE_OK;
}

static mvke_status cpu_knn(const mvke_backend *self, const mvke_kdb *db, const mvke_kqueries *q,
                           int64_t k, const mvke_kfilter *filter, int threads, float *out_s, int64_t *out_i) {
    (void)self;
    return run(db, q, k, 0.0f, filter, threads, out_s, out_i, NULL);
}

static mvke_status cpu_range(const mvke_backend *self, const mvke_kdb *db, const mvke_kqueries *q,
                             float min_score, const mvke_kfilter *filter, int threads,
                             mvke_kranges *out) {
    (void)self;
    mvke_hits *lists = NULL;
    mvke_status st = run(db, q, 0, min_score, filter, threads, NULL, NULL, &lists);
    if (st != MVKE_OK) return st;
    memset(out, 0, sizeof *out);
    int64_t total = 0;
    for (int64_t j = 0; j < q->n; j++) total += lists[j].n;
    if ((st = mvke_kranges_alloc(out, q->n, total)) == MVKE_OK) {
        int64_t at = 0;
        for (int64_t j = 0; j < q->n; j++) {
            out->lims[j] = at;
            if (lists[j].n) {
                memcpy(out->ids + at, lists[j].id, (size_t)lists[j].n * sizeof *out->ids);
                memcpy(out->scores + at, lists[j].s, (size_t)lists[j].n * sizeof *out->scores);
                mvke_pairs_sort(out->scores + at, out->ids + at, lists[j].n);
            }
            at += lists[j].n;
        }
        out->lims[q->n] = at;
    }
    for (int64_t j = 0; j < q->n; j++) mvke_hits_release(&lists[j]);
    mvke_free(lists);
    return st;
}

static const mvke_backend cpu_backend = {"cpu", cpu_knn, cpu_range, NULL};

const mvke_backend *mvke_backend_cpu(void) { return &cpu_backend; }
