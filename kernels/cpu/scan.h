/*
 * scan.h - the fused gated-cosine scan of the CPU backend, at the level of planes and panels
 * (private to kernels/cpu).
 *
 * A search scores packed query groups against 16-row panels of the block layout (layout.h):
 * numerator and denominator of every (row, query) pair are accumulated in registers in one pass
 * over the panel, and the epilogue (root, divide, clamp, compare with each query's admission
 * threshold) runs on 16 lanes at once; only lanes that pass reach the scalar selector.
 *
 * Subset awareness: the active experts are those the database may hold (its `experts` mask) AND
 * those on which some query of the batch is nonzero. Only their planes and the Gram entries
 * (k, l) with both k and l active are read; the others contribute exactly 0 to both sums. The
 * normaliser guard compares den2 with the traces over the active experts (README, "Numerics").
 *
 * Kernels come in variants (portable C, AVX2, AVX-512), chosen once from cpuid; MVKE_CPU in the
 * environment forces one, and mvke_cpu_variant_force lets a test run every variant.
 */
#ifndef MVKE_KERNELS_CPU_SCAN_H
#define MVKE_KERNELS_CPU_SCAN_H

#include <stdint.h>

#include "../backend.h"
#include "../layout.h"
#include "topk.h"

#define MVKE_SCAN_MAX_K 64
#define MVKE_SCAN_MAX_P (MVKE_SCAN_MAX_K * (MVKE_SCAN_MAX_K + 1) / 2)

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

/* The variant searches use: the best the CPU has, or MVKE_CPU's (generic|avx2|avx512) when the
 * CPU has it; decided at the first call. */
mvke_cpu_variant mvke_cpu_variant_get(void);

/* Forces a variant for every later search in the process (tests). Returns 0, or -1 (nothing
 * changes) when the CPU lacks what the variant needs. */
int mvke_cpu_variant_force(mvke_cpu_variant v);

/* Whether the CPU (and the OS) can run a variant; its name ("generic", "avx2", "avx512",
 * "avx512-bf16dot"). */
int mvke_cpu_variant_supported(mvke_cpu_variant v);
const char *mvke_cpu_variant_name(mvke_cpu_variant v);

/* One block as the scan reads it. */
typedef struct mvke_scan_block {
    int64_t n;          /* rows */
    int64_t cap;        /* rows the buffer is laid out for (a multiple of MVKE_LANES) */
    const void *data;   /* mvke_layout_block_bytes(L, cap) bytes */
    const int64_t *ids; /* n ids */
} mvke_scan_block;

/* The database: the layout of its rows, the experts its rows may be nonzero on, its blocks. */
typedef struct mvke_scan_db {
    mvke_layout L;
    uint64_t experts;
    int64_t nblocks;
    const mvke_scan_block *blocks;
} mvke_scan_db;

/* What a search reads: the active experts and Gram entries. */
typedef struct mvke_scan_shape {
    mvke_layout L;
    int na, pa;                     /* active experts, active Gram entries */
    int act[MVKE_SCAN_MAX_K];       /* active experts, ascending */
    int ent[MVKE_SCAN_MAX_P];       /* triangle positions of the active entries, ascending */
    uint8_t diag[MVKE_SCAN_MAX_P];  /* whether active entry e is on the diagonal */
} mvke_scan_shape;

/* The queries of a search, packed once into groups of nr queries (the kernel's register tile):
 * value j of active expert a of query r of group g is z[g * zstride + (a * dz + j) * nr + r];
 * Gram entry e is gram[g * gstride + e * nr + r]. Queries past nq in the last group are 0.
 * For the bfloat16 dot-product kernel, zb holds each pair of dimensions (2jp, 2jp+1) split
 * into a high and a low bfloat16 pair (value = hi + lo, nearly exact):
 *     zb[g * zbstride + ((a * dp + jp) * 2 + h) * nr + r],  h = 0 high, 1 low. */
typedef struct mvke_scan_pack {
    int64_t nq, ngroups;
    int nr, dz, dp;
    size_t zstride, zbstride, gstride;
    float *z;
    uint32_t *zb;
    float *gram;
    float *floor; /* per query: MVKE_DEN2_REL_FLOOR * its trace over the active experts */
} mvke_scan_pack;

/* Where one query group's results go: queries [q0, q0 + nq) of the search. */
typedef struct mvke_scan_sink {
    int64_t q0, nq;
    float *thr;       /* per query: scores below it cannot enter (the k-th best, or the threshold) */
    mvke_topk *heaps; /* top-k, or NULL */
    mvke_hits *hits;  /* threshold, or NULL */
    const mvke_kfilter *filter;
    int failed;       /* a hit list could not grow */
} mvke_scan_sink;

/* Offers the lanes of `mask` (bit g: lane g) of one panel's scores of query q to the sink:
 * scores[g] of row ids[g]. Updates thr[q - q0]. The rare, scalar part of the epilogue. */
void mvke_scan_offer(mvke_scan_sink *sk, int64_t q, uint32_t mask, const float *scores, const int64_t *ids);

/* A range of panels [p0, p1) of one block. */
typedef struct mvke_scan_tile {
    const mvke_scan_block *b;
    int64_t p0, p1;
} mvke_scan_tile;

/* A kernel: scores query groups [g0, g1) against the tile's panels and offers the candidates. */
typedef void (*mvke_scan_fn)(const mvke_scan_shape *sh, const mvke_scan_pack *pk, const mvke_scan_tile *t,
                             int64_t g0, int64_t g1, mvke_scan_sink *sk);

typedef struct mvke_scan_kernels {
    int nr_max;    /* the widest group the kernels take (many queries) */
    int bf16_dot;  /* the bf16 kernel reads pk->zb (hi/lo pairs) instead of pk->z */
    mvke_scan_fn fn[3]; /* by storage: f32, f16, bf16 */
} mvke_scan_kernels;

extern const mvke_scan_kernels mvke_scan_generic;
#if defined(__x86_64__) && defined(__GNUC__)
extern const mvke_scan_kernels mvke_scan_avx2;
extern const mvke_scan_kernels mvke_scan_avx512;
extern const mvke_scan_kernels mvke_scan_avx512_bf16dot;
#endif

/* The kernels of a variant. */
const mvke_scan_kernels *mvke_scan_kernels_of(mvke_cpu_variant v);

/* Valid-lane mask of panel p of a block of n rows. */
static inline uint32_t mvke_scan_lanes(int64_t n, int64_t p) {
    int64_t left = n - p * MVKE_LANES;
    return left >= MVKE_LANES ? 0xffffu : left <= 0 ? 0u : (1u << left) - 1u;
}

/* The search: top-k per query (k > 0, into out_s/out_i, nq * k each, sorted, padded with
 * -INFINITY / -1) or every row with score >= min_score (k == 0, *lists: one unsorted hit list
 * per query, allocated here). Errors: MVKE_ERR_NOMEM (nothing is returned). */
mvke_status mvke_scan_search(const mvke_scan_db *db, const mvke_kqueries *q, int64_t k, float min_score,
                             const mvke_kfilter *filter, int threads, float *out_s, int64_t *out_i,
                             mvke_hits **lists);

#endif
