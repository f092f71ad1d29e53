/*
 * backend.h - the small interface every compute backend implements.
 *
 * A backend scores query rows against database rows with the gated cosine of DESIGN section 2,
 *     s = <x, z> / sqrt(<Gram(x), Gram(z)>),
 * and keeps, per query, either the top k rows or every row above a threshold. It never writes the
 * whole queries x rows score matrix: scores live in one tile at a time. The index layer owns the
 * data and the locking; a backend only reads the views below. The CPU backend is always there,
 * inside libmvke. Device backends are separate shared objects (libmvke-cuda.so) that the
 * registry in registry.c - the only place that names them - loads at run time when a caller asks
 * for a device; their own headers (kernels/cuda/cuda_module.h) say how they are made.
 */
#ifndef MVKE_KERNELS_BACKEND_H
#define MVKE_KERNELS_BACKEND_H

#include <stdint.h>

#include "cosine.h"
#include "layout.h"
#include "mvke/mvke.h"

/* One block of database rows, laid out as layout.h describes (expert-major planes of 16-row
 * panels, then the Gram plane). Lanes from n up to cap hold zeros. */
typedef struct mvke_kblock {
    int64_t n;            /* rows in the block */
    int64_t cap;          /* rows the buffer is laid out for (a multiple of MVKE_LANES) */
    const void *data;     /* mvke_layout_block_bytes(&db->L, cap) bytes */
    const int64_t *ids;   /* n ids */
    const float *refine;  /* the rows as given, n * K*d float32 row-major (layouts with refine) */
} mvke_kblock;

/* What a search did: rows it scanned, rows it re-scored exactly, and whether its answer is
 * provably the exact one (the rows' own scores for stored rows; for a codec, a certified search
 * or a refine that covered every row). */
typedef struct mvke_kstats {
    int64_t scanned, refined;
    int certified;
    int64_t lists; /* lists read (a listed index's searches, index/listed.c) */
} mvke_kstats;

/* The database: every block of one index, in storage order. */
typedef struct mvke_kdb {
    mvke_layout L;    /* K, d, P and storage of the rows */
    uint64_t experts; /* bit k set: expert k may be nonzero in some row (every expert for an index
                         of users; the task's subset for a task's gated tag rows) */
    int64_t nblocks;
    const mvke_kblock *blocks;
    int refine_R;     /* a codec layout with refine rows: > 0, a top-k search takes the R*k best by
                         the codes and re-scores them exactly, a threshold search re-scores every
                         hit of its codes (approximate); -1, the certified search of DESIGN
                         section 14 (exact); 0: the codes' scores as they are */
    /* First-use checks of mapped bytes a search reads outside the blocks (refine rows): NULL
     * when there is nothing to check; else MVKE_OK or an error with its message. */
    mvke_status (*check)(const void *ctx, const void *p, size_t n);
    const void *check_ctx;
    mvke_kstats *stats; /* what the search did (NULL: not asked) */
    /* A search of part of the rows (lists, index/lists.h): nspans ranges of positions [spans[2i],
     * spans[2i+1]), ascending and disjoint; the whole panels they touch are scanned, so rows
     * sharing a panel with a range's ends are scored too (each row once). NULL: every row. Only
     * the CPU backend reads it; the index layer never hands spans to another. */
    const int64_t *spans;
    int64_t nspans;
} mvke_kdb;

/* The experts mask with the low K bits set. */
static inline uint64_t mvke_experts_all(int K) { return K >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << K) - 1); }

/* A batch of float32 query rows with their Gram triangles. */
typedef struct mvke_kqueries {
    int64_t n;
    const float *x;    /* n * K*d */
    const float *gram; /* n * P */
} mvke_kqueries;

/* Which database ids are eligible; NULL means all. A bitmap over [0, nbits), a sorted id array,
 * or a membership callback (a FAISS IDSelector's is_member, asked only for rows that would
 * enter a result; it must be safe to call from several threads at once). */
typedef struct mvke_kfilter {
    const uint8_t *bits;
    int64_t nbits;
    const int64_t *sorted;
    int64_t nsorted;
    int (*member)(void *ctx, int64_t id);
    void *member_ctx;
} mvke_kfilter;

/* Variable-length results: entries of query i are [lims[i], lims[i+1]) of ids and scores,
 * sorted by score descending, ties by smaller id. Allocated with mvke_malloc. */
typedef struct mvke_kranges {
    int64_t nq;
    int64_t *lims; /* nq + 1 */
    int64_t *ids;
    float *scores;
} mvke_kranges;

typedef struct mvke_backend mvke_backend;

struct mvke_backend {
    const char *name;
    /* Top-k per query into D and I (nq * k each, sorted, padded with -INFINITY and -1). */
    mvke_status (*knn)(const mvke_backend *self, const mvke_kdb *db, const mvke_kqueries *q,
                       int64_t k, const mvke_kfilter *filter, int threads, float *out_scores, int64_t *out_ids);
    /* Every row with score >= min_score, per query, into out (allocated by the call). */
    mvke_status (*range)(const mvke_backend *self, const mvke_kdb *db, const mvke_kqueries *q,
                         float min_score, const mvke_kfilter *filter, int threads,
                         mvke_kranges *out);
    /* Optional (NULL for backends that live forever, like the CPU one): frees a backend made by
     * a device module's constructor, with everything it holds. */
    void (*release)(const mvke_backend *self);
};

/* The CPU backend (the one CPU driver, kernels/cpu/scan.h, over OpenMP). Always available. */
const mvke_backend *mvke_backend_cpu(void);

/* The backend searches use by default: the CPU one, unless another was selected and is
 * available. */
const mvke_backend *mvke_backend_default(void);

/* Frees the arrays of a kranges and zeroes it. */
void mvke_kranges_release(mvke_kranges *r);

/* Allocates r's arrays for nq queries and `total` entries (r->nq = nq; lims, ids and scores
 * uninitialised). On failure r is left empty and MVKE_ERR_NOMEM is returned with a message. */
mvke_status mvke_kranges_alloc(mvke_kranges *r, int64_t nq, int64_t total);

/* Whether id passes the filter (a NULL filter passes everything). */
static inline int mvke_kfilter_pass(const mvke_kfilter *f, int64_t id) {
    if (!f) return 1;
    if (f->member) return f->member(f->member_ctx, id) != 0;
    if (f->bits) return id >= 0 && id < f->nbits && ((f->bits[id >> 3] >> (id & 7)) & 1);
    int64_t lo = 0, hi = f->nsorted;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (f->sorted[mid] < id) lo = mid + 1; else hi = mid;
    }
    return lo < f->nsorted && f->sorted[lo] == id;
}

#endif
