/*
 * scan.h - the one CPU search driver (DESIGN section 15) and the interface of its kernels,
 * private to kernels/cpu.
 *
 * Every storage (f32, f16, bf16, sq8, pq) and every search shape (tag -> users, user -> tags,
 * threshold, allow-lists, refine) goes through mvke_scan_search. A search scores packed query
 * groups against 16-row panels of the block layout (layout.h): numerator and denominator of
 * every (row, query) pair are accumulated in registers in one pass over the panel, and the
 * epilogue (guard, root, divide, clamp, compare with each query's admission threshold) runs on
 * 16 lanes at once; only lanes that pass reach the scalar selector (mvke_scan_offer).
 *
 * Subset awareness: the active experts are those the database may hold (its `experts` mask) AND
 * those on which some query of the batch is nonzero. Only their planes and the Gram entries
 * (k, l) with both k and l active are read; the others contribute exactly 0 to both sums. The
 * normaliser guard compares den2 with the traces over the active experts (README, "Numerics").
 *
 * Kernels: one table per instruction-set variant (scan_generic.c, scan_avx2.c, scan_avx512.c),
 * each holding every storage's kernel, chosen once from the one reader of the CPU
 * (cpu_features.h, capped by MVKE_CPU); mvke_cpu_variant_force lets a test or a benchmark run
 * every variant the CPU has.
 *  - f32, f16, bf16: the stored lines widened to float32 and multiplied by the query values.
 *  - sq8: the decode trick, <x^, z> = sum_i z_i vmin_i + sum_i (z_i scale_i) c_i: the query is
 *    packed pre-scaled (z_i scale_i) with a constant per query, and the codes are widened from
 *    their bytes like any other stored line; so sq8 runs the same register tiles as f32.
 *  - pq: lookup tables for a few queries (MVKE_SCAN_PQ_TABLE_MAX_Q: per query and sub-space of an
 *    active expert, LUT[c] = <z restricted to the sub-space, centroid c>, gathered per code);
 *    larger batches decode each row tile once into float32 planes (per thread) and run the f32
 *    kernel over it, where the decoding is shared by every query of the batch.
 */
#ifndef MVKE_KERNELS_CPU_SCAN_H
#define MVKE_KERNELS_CPU_SCAN_H

#include <math.h>
#include <stdint.h>

#include "../backend.h"
#include "../layout.h"
#include "shape.h"
#include "topk.h"

/* Kernels by storage: f32, f16, bf16, sq8, pq (the mvke_storage values). */
#define MVKE_SCAN_STORAGES 5
/* pq batches of at most this many queries are scored from tables; larger ones decode tiles. */
#define MVKE_SCAN_PQ_TABLE_MAX_Q 4

typedef enum mvke_cpu_variant {
    MVKE_CPU_GENERIC = 0,      /* portable C, always built */
    MVKE_CPU_AVX2 = 1,         /* AVX2 + FMA + F16C: a panel is two ymm registers */
    MVKE_CPU_AVX512 = 2,       /* AVX-512 F/BW/VL/DQ; bfloat16 widened to float32 by shifts */
    MVKE_CPU_AVX512_BF16DOT = 3, /* AVX-512 with bfloat16 rows multiplied by vdpbf16ps against
                                  the query's high + low bfloat16 parts (AVX512_BF16); measured
                                  slower than widening on this machine's CPU (docs/benchmarks.md),
                                  so selectable only by mvke_cpu_variant_force */
    MVKE_CPU_VARIANTS = 4
} mvke_cpu_variant;

/* The variant searches use: the best one the CPU allows (cpu_features.h, capped by MVKE_CPU),
 * unless one was forced. */
mvke_cpu_variant mvke_cpu_variant_get(void);

/* Forces a variant for every later search in the process (tests, benchmarks). Returns 0, or -1
 * (nothing changes) when the CPU, as MVKE_CPU caps it, lacks what the variant needs.
 * mvke_cpu_variant_unforce returns to the default choice. */
int mvke_cpu_variant_force(mvke_cpu_variant v);
void mvke_cpu_variant_unforce(void);

/* Whether the CPU (capped by MVKE_CPU) can run a variant; its name ("generic", "avx2", "avx512",
 * "avx512-bf16dot"). */
int mvke_cpu_variant_supported(mvke_cpu_variant v);
const char *mvke_cpu_variant_name(mvke_cpu_variant v);

/* The queries of a search, packed once into groups of nr queries (the kernel's register tile):
 * value j of active expert a of query r of group g is z[g * zstride + (a * dz + j) * nr + r];
 * Gram entry e is gram[g * gstride + e * nr + r]. Queries past nq in the last group are 0.
 * For sq8, z holds z_i * scale_i and cst[q] the constant sum_i z_i vmin_i of query q (0 for
 * the other storages). For pq scored from tables, query q's tables are at lut + q * lstride:
 * active expert a, sub-space j, 256 floats at ((a * m + j) * 256).
 * For the bfloat16 dot-product kernel, zb holds each pair of dimensions (2jp, 2jp+1) split
 * into a high and a low bfloat16 pair (value = hi + lo, nearly exact):
 *     zb[g * zbstride + ((a * dp + jp) * 2 + h) * nr + r],  h = 0 high, 1 low. */
typedef struct mvke_scan_pack {
    int64_t nq, ngroups;
    int nr, dz, dp;
    size_t zstride, zbstride, gstride, lstride;
    float *z;
    uint32_t *zb;
    float *gram;
    float *floor; /* per query: MVKE_DEN2_REL_FLOOR * its trace over the active experts */
    float *cst;   /* per query */
    float *lut;
    /* Certified search (codecs; NULL otherwise), per query q and active expert a:
     * zn[q * na + a] = ||z_a|| * bunit[act[a]], rounded up; nslack[q] the float32 rounding of
     * its numerator (MVKE_CERT_NUM * sum_a ||z_a|| amax[act[a]]), trz[q] its active trace. */
    float *zn, *nslack, *trz;
    float steps[16]; /* mvke_bound_step(j) * 2^-8: the SIMD kernels' table for decoding bound bytes */
} mvke_scan_pack;

/* The bound of a certified search (DESIGN section 14, docs/codecs.md "Certified search"): with
 * s^ the codes' score of a pair, the exact score lies in [s^ - e, s^ + e],
 *     e = ((sum_a zn_a B_a + nslack) / sqrt(den2) + MVKE_CERT_DEN * trx * trz / den2
 *          + MVKE_CERT_EPS) * (1 + MVKE_CERT_EPS)
 * (B_a the row's bound of expert a in units, trx and trz the active traces), and a pair the
 * guard scores 0 has e = MVKE_CERT_WIDE (always a candidate). */
#define MVKE_CERT_DEN(P) ((float)((P) + 8) * 0x1p-24f)
#define MVKE_CERT_EPS 0x1p-20f
#define MVKE_CERT_WIDE 4.0f
/* The dot score has no denominator: e = (sum_a zn_a B_a + nslack + |s^| EPS + EPS) (1 + EPS),
 * the |s^| term covering the rounding of the score itself (it is not bounded by 1). */
#define MVKE_CERT_DOT_E(es, s) (((es) + fabsf(s) * MVKE_CERT_EPS + MVKE_CERT_EPS) * (1.0f + MVKE_CERT_EPS))

/* What a kernel reads of one row tile: whole panels of one block, from the tile's first. */
typedef struct mvke_scan_view {
    const void *planes[MVKE_SCAN_MAX_K]; /* active expert a's plane, at the tile's first panel */
    const float *gram;                  /* the Gram plane, at the tile's first panel */
    const int64_t *ids;                 /* ids of the rows from the tile's first */
    int64_t n;                          /* rows from the tile's first to the block's end */
    int64_t np;                         /* panels of the tile */
    int64_t pos0;                       /* position of the first row (mvke_scan_pos) */
    const uint8_t *bounds;              /* a codec's bound plane at the tile's first panel (or NULL) */
    int K;                              /* experts per row (the bound plane's lines per panel) */
} mvke_scan_view;

/* Where one query tile's results go: queries [q0, q0 + nq) of the search. */
typedef struct mvke_scan_sink {
    const mvke_kdb *db; /* the rows' ids, by position */
    int64_t q0, nq;
    float *thr;       /* per query: scores below it cannot enter (the k-th best, or the threshold) */
    mvke_select *sel; /* top-k, or NULL */
    mvke_hits *hits;  /* threshold (or, certified, every candidate with its upper bound), or NULL */
    int cert;         /* certified: sel keeps the k best lower bounds, hits the candidates */
    const mvke_kfilter *filter;
    int by_pos;       /* hand out rows' positions instead of their ids (candidates to refine) */
    int failed;       /* a hit list could not grow */
} mvke_scan_sink;

/* Offers the lanes of `mask` (bit g: lane g) of panel p of a view's scores of query q to the
 * sink: scores[g] of row p * 16 + g of the view. Updates thr[q - q0]. The rare, scalar part of
 * the epilogue. Selections and hit lists hold positions while the scan runs (an offered row's
 * id is read only when an allow-list asks for it, or to order equal scores); the driver hands
 * out ids at the end. */
void mvke_scan_offer(mvke_scan_sink *sk, int64_t q, uint32_t mask, const float *scores, const mvke_scan_view *v,
                     int64_t p);

/* The certified end of the epilogue: lanes of `mask` whose upper bound hi[g] reaches thr; lo[g]
 * is their lower bound. A top-k search keeps the k best lower bounds (its threshold) and every
 * lane as a candidate with its upper bound; a threshold search keeps the lanes as candidates. */
void mvke_scan_offer_cert(mvke_scan_sink *sk, int64_t q, uint32_t mask, const float *lo, const float *hi,
                          const mvke_scan_view *v, int64_t p);

/* A kernel: scores query groups [g0, g1) against the view's panels and offers the candidates. */
typedef void (*mvke_scan_fn)(const mvke_scan_shape *sh, const mvke_scan_pack *pk, const mvke_scan_view *v,
                             int64_t g0, int64_t g1, mvke_scan_sink *sk);

/* A kernel NAME over groups of any width up to N that calls the kernel instantiated for the
 * pack's width (the SIMD files instantiate one per width, so that register tiles are fixed). */
#define MVKE_SCAN_ANY(NAME, N, ...)                                                                             \
    static void NAME(const mvke_scan_shape *sh, const mvke_scan_pack *pk, const mvke_scan_view *v, int64_t g0, \
                     int64_t g1, mvke_scan_sink *sk) {                                                         \
        static const mvke_scan_fn by_nr[N] = {__VA_ARGS__};                                                    \
        by_nr[pk->nr - 1](sh, pk, v, g0, g1, sk);                                                              \
    }

typedef struct mvke_scan_kernels {
    int nr_max;    /* the widest group the kernels take (pq tables: at most MVKE_SCAN_PQ_TABLE_MAX_Q) */
    int bf16_dot;  /* the bf16 kernel reads pk->zb (hi/lo pairs) instead of pk->z */
    mvke_scan_fn fn[MVKE_SCAN_STORAGES];
    /* Certified kernels (intervals offered to mvke_scan_offer_cert), by the codes they read:
     * [0] float32 planes (pq tiles the driver decoded), [1] sq8, [2] pq tables. */
    mvke_scan_fn cert[3];
} mvke_scan_kernels;

extern const mvke_scan_kernels mvke_scan_generic;
#if defined(__x86_64__) && defined(__GNUC__)
extern const mvke_scan_kernels mvke_scan_avx2;
extern const mvke_scan_kernels mvke_scan_avx512;
extern const mvke_scan_kernels mvke_scan_avx512_bf16dot;
#endif

/* The kernels of a variant. */
const mvke_scan_kernels *mvke_scan_kernels_of(mvke_cpu_variant v);

/* Valid-lane mask of panel p of a view of n rows. */
static inline uint32_t mvke_scan_lanes(int64_t n, int64_t p) {
    int64_t left = n - p * MVKE_LANES;
    return left >= MVKE_LANES ? 0xffffu : left <= 0 ? 0u : (1u << left) - 1u;
}

/* What a SIMD kernel call reads besides the planes, gathered once per call: the view, the pack,
 * the search's dimensions, and the bytes of one panel of one plane in the kernel's storage
 * `kst` (float32 for pq tiles decoded by the driver) with the prefetch distance in panels. */
typedef struct mvke_scan_ctx {
    const mvke_scan_view *v;
    const mvke_scan_pack *pk;
    int d, dp, dz, m, P, na, pa;
    int dot; /* the dot score: no denominator, no clamp (mvke_score) */
    const int *ent;
    const uint8_t *diag;
    const int *act;
    size_t line;
    int64_t ahead;
} mvke_scan_ctx;

/* The queries of one group g of nr: their packed values and Gram entries, the first query and
 * how many of the group are real. */
typedef struct mvke_scan_group {
    const float *z, *gram, *floor;
    const uint32_t *zb;
    int64_t q0;
    int nv;
} mvke_scan_group;

static inline mvke_scan_group mvke_scan_group_of(const mvke_scan_pack *pk, int64_t g, int nr) {
    mvke_scan_group gr;
    gr.z = pk->z + (size_t)g * pk->zstride;
    gr.gram = pk->gram + (size_t)g * pk->gstride;
    gr.zb = pk->zb ? pk->zb + (size_t)g * pk->zbstride : NULL;
    gr.q0 = g * nr;
    gr.nv = (int)(pk->nq - gr.q0 < nr ? pk->nq - gr.q0 : nr);
    gr.floor = pk->floor + gr.q0;
    return gr;
}

/* Software prefetch of the SIMD kernels: a search of one task reads several planes and Gram
 * lines side by side, short streams (a few KB per tile) that the hardware prefetcher picks up
 * late. Each kernel step of a tile's first query group (the others find the tile in cache)
 * prefetches, in every active plane and Gram line, the panels about
 * MVKE_SCAN_PREFETCH_BYTES past the ones it scores (measured in one process, 1e6 users, 2
 * threads, AVX-512: one tag 1.25x faster in float16 and 1.9x in sq8, 16 tags 1.27x in float32;
 * AVX2: one tag 1.28x in float32; docs/benchmarks.md, "Kernels"). */
#define MVKE_SCAN_PREFETCH_BYTES 2048

/* Panels ahead for panels of `line` bytes per plane. */
static inline int64_t mvke_scan_prefetch_panels(size_t line) {
    return (int64_t)((MVKE_SCAN_PREFETCH_BYTES + line - 1) / line);
}

/* Prefetches panels [p + ahead, p + ahead + np) of every active plane (`line` bytes per panel)
 * and their active Gram lines. Prefetches never fault, so past the view's end is harmless. */
static inline void mvke_scan_prefetch(const mvke_scan_shape *sh, const mvke_scan_view *v, int64_t p, int np,
                                      size_t line, int64_t ahead) {
    if (!ahead) return;
    for (int a = 0; a < sh->na; a++) {
        const char *b = (const char *)v->planes[a] + (size_t)(p + ahead) * line;
        for (size_t o = 0; o < (size_t)np * line; o += 64) __builtin_prefetch(b + o, 0, 3);
    }
    const size_t gl = (size_t)sh->L.P * MVKE_LANES * sizeof(float);
    const char *g = (const char *)v->gram + (size_t)(p + ahead) * gl;
    for (int m = 0; m < np; m++)
        for (int e = 0; e < sh->pa; e++) __builtin_prefetch(g + (size_t)m * gl + (size_t)sh->ent[e] * 64, 0, 3);
}

static inline void mvke_scan_ctx_init(mvke_scan_ctx *c, const mvke_scan_shape *sh, const mvke_scan_pack *pk,
                                      const mvke_scan_view *v, mvke_storage kst) {
    const mvke_layout *L = &sh->L;
    c->v = v;
    c->pk = pk;
    c->m = L->m;
    c->d = L->d;
    c->dp = pk->dp;
    c->dz = pk->dz;
    c->P = L->P;
    c->na = sh->na;
    c->pa = sh->pa;
    c->dot = L->score == MVKE_SCORE_DOT;
    c->ent = sh->ent;
    c->diag = sh->diag;
    c->act = sh->act;
    c->line = kst == MVKE_STORAGE_F32   ? (size_t)L->d * MVKE_LANES * 4
              : kst == MVKE_STORAGE_F16 ? (size_t)L->d * MVKE_LANES * 2
              : kst == MVKE_STORAGE_BF16 ? (size_t)pk->dp * 2 * MVKE_LANES * 2
              : kst == MVKE_STORAGE_SQ8 ? (size_t)L->d * MVKE_LANES
                                         : (size_t)L->m * MVKE_LANES;
    c->ahead = mvke_scan_prefetch_panels(c->line);
}

/* The search: top-k per query (k > 0, into out_s/out_i, nq * k each, sorted, padded with
 * -INFINITY / -1) or every row with score >= min_score (k == 0, *lists: one unsorted hit list
 * per query, allocated here). A codec database with refine rows (db->L.refine) and
 * db->refine_R > 0 is searched for R*k candidates per query by its codes, which are then
 * re-scored exactly from the refine rows (a threshold search re-scores every hit of its codes).
 * Errors: MVKE_ERR_NOMEM (nothing is returned). */
mvke_status mvke_scan_search(const mvke_kdb *db, const mvke_kqueries *q, int64_t k, float min_score,
                             const mvke_kfilter *filter, int threads, float *out_s, int64_t *out_i,
                             mvke_hits **lists);

/* Every pair's score by the database's own kernel (the codes' for a codec) into s, and, for a
 * codec database (certified kernels), the upper end of its certified interval into hi (NULL:
 * not wanted); both nq x n, row j of the database in storage order at [i * n + j]. The lower end
 * is -hi of the negated query (every kernel is exactly odd in the query). For tests of the
 * bound (tests/test_certify.c). Errors: MVKE_ERR_NOMEM. */
mvke_status mvke_scan_intervals(const mvke_kdb *db, const mvke_kqueries *q, int threads, float *s, float *hi);

#endif
