/*
 * kernel_harness.h - one harness for the CPU search kernels: every kernel of the one driver
 * (kernels/cpu/scan.h) x every instruction-set variant the CPU has x every storage, on named
 * edge cases, checked against the float64 oracle (oracle.h) and timed, so that a kernel's
 * correctness and its speed come from one place (tests/test_scan.c checks, `mvke-bench kernels`
 * times).
 *
 * A case is a database of three blocks built with the layout's own writer (block 1 has spare
 * panels; for a check, rows i % 11 == 4 are zero), a batch of gated queries (for a check, query
 * t % 5 == 2 has all gates zero) and a search shape. Worlds made for timing have neither zero
 * rows nor zero queries (their ties at score 0 are edge cases, not a workload). The oracle scores the rows as stored: the decoded rows for float16,
 * bfloat16 and the codecs' numerators, the exact rows for the codecs' norms (their Gram triangles
 * come from the rows given to add) and for refined scores.
 */
#ifndef MVKE_SUPPORT_KERNEL_HARNESS_H
#define MVKE_SUPPORT_KERNEL_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/backend.h"
#include "kernels/codec.h"
#include "mvke/mvke.h"

enum { KH_FILTER_NONE = 0, KH_FILTER_BITS = 1, KH_FILTER_SORTED = 2, KH_FILTER_CALLBACK = 3 };

typedef struct kh_case {
    const char *name;  /* what it exercises */
    int K, d;
    int64_t sizes[3];  /* rows of the database's three blocks */
    uint64_t db_task;  /* 0: rows on every expert; else rows are zero outside it (one task's tags) */
    int nq;
    uint64_t q_task;   /* experts the queries' gates are nonzero on (0: every expert) */
    int64_t k;         /* > 0: top-k; 0: every row with score >= thr */
    float thr;
    int filter;        /* KH_FILTER_*: every third row eligible */
    int refine_R;      /* codecs: 0 the codes' scores; > 0 the R*k best re-scored exactly; -1 certified */
    int threads;
    int dot;           /* the dot score (mvke_score): no Gram plane, the oracle's <E, q> */
} kh_case;

/* The named edge cases, in order (the same for every storage). */
size_t kh_cases(const kh_case **out);

/* A case's database and queries. */
typedef struct kh_world {
    mvke_storage storage;
    int K, d, D, P;
    int64_t n;
    float *x;         /* n * D rows as given (exact) */
    float *dec;       /* n * D rows as stored (decoded); NULL when not kept (timing only) */
    int64_t *ids;
    mvke_codec codec;
    mvke_kblock blocks[3];
    mvke_kdb db;
    int nq;
    float *q, *w, *z, *zg; /* queries: embeddings, gates, gated rows, their plain Gram triangles */
    uint8_t *allowed;      /* per row: eligible under a filter */
    uint8_t *bits;         /* the filter as a bitmap over ids, and as a sorted id list */
    int64_t nbits, nsorted, *sorted;
} kh_world;

/* Builds the world of case c in a storage (a trained codec for sq8, pq, with refine rows when
 * c->refine_R != 0) from seed; keep_decoded = 1 for a check (the decoded rows, zero rows and
 * zero queries), 0 for timing. Returns 0, or -1 when memory is short (nothing to free). */
int kh_world_make(kh_world *w, mvke_storage storage, const kh_case *c, uint64_t seed, int keep_decoded);
void kh_world_free(kh_world *w);

/* Runs case c on the variant in use and checks every query against the oracle. Returns 0, or -1
 * with what is wrong in msg (cap bytes). */
int kh_check(const kh_world *w, const kh_case *c, char *msg, size_t cap);

/* Seconds of one search of case c on the variant in use: the median of reps runs after one
 * warm-up (reps >= 1). Returns a negative number when the search fails. */
double kh_time(const kh_world *w, const kh_case *c, int reps);

/* The tolerance of a score against the oracle for a storage on a variant. */
double kh_tolerance(mvke_storage storage, int bf16_dot);

#endif
