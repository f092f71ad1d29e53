/*
 * codec_scan.h - scoring of the compressed storages (sq8, pq) straight from their codes, for a
 * few queries at a time (one tag; larger batches decode a tile and use BLAS instead).
 *
 * Per query, once per search: the experts whose block of z is nonzero (a task's subset) and
 *  - sq8, the decode trick: <x^, z> = sum_i z_i (vmin_i + scale_i c_i)
 *                                   = sum_i z_i vmin_i + sum_i (z_i scale_i) c_i,
 *    so a constant plus one float multiply-add per code, the code widened from its byte;
 *  - pq, lookup tables: <x^, z> = sum_k sum_j LUT_kj[c_kj] with
 *    LUT_kj[c] = <z_k restricted to sub-space j, centroid c of (k, j)>; z_k already carries the
 *    gate w_k, so this is sum_k w_k sum_j <q_j, centroid>.
 * Scans then read only the planes of those experts and the Gram entries the query needs. Every
 * kernel exists as portable C and, picked once from cpuid, AVX-512 and AVX2 versions.
 */
#ifndef MVKE_KERNELS_CPU_CODEC_SCAN_H
#define MVKE_KERNELS_CPU_CODEC_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "../layout.h"

/* Queries of at most this many per tile are scored from codes; larger tiles decode. */
#define MVKE_CODEC_SCAN_MAX_Q 4
/* The most floats one query's tables may take (pq: 256 per sub-space of active experts). */
#define MVKE_CODEC_SCAN_MAX_TABLE ((size_t)1 << 22)

typedef struct mvke_codec_query {
    uint64_t active;   /* bit k: block k of z is nonzero */
    float cst;         /* sq8: sum of z_i vmin_i */
    const float *w;    /* sq8: K*d weights z_i scale_i; pq: K*m tables of 256 (active only) */
    const float *gram; /* the query's plain Gram triangle (P) */
    float qtr;         /* its trace */
} mvke_codec_query;

/* Floats of the tables one query needs under layout L. */
size_t mvke_codec_query_floats(const mvke_layout *L);

/* Prepares query z (K*d floats, plain Gram triangle qgram, kept by pointer) into q, its tables
 * in w (mvke_codec_query_floats(L) floats). */
void mvke_codec_query_prepare(const mvke_layout *L, const float *z, const float *qgram, float *w,
                              mvke_codec_query *q);

/* For panels [p0, p1) of a block of capacity cap: the numerators <x^, z> (num), den2 =
 * <Gram(x), Gram(z)> (den) and the row traces (rtr), MVKE_LANES per panel, panel p at
 * (p - p0) * MVKE_LANES. */
void mvke_codec_scan(const mvke_layout *L, const void *block, int64_t cap, int64_t p0, int64_t p1,
                     const mvke_codec_query *q, float *num, float *den, float *rtr);

/* Instruction sets of the kernels: what the CPU allows, and a cap for tests and benchmarks
 * (MVKE_ISA_GENERIC forces the portable C). Returns the level now in use. */
enum { MVKE_ISA_GENERIC = 0, MVKE_ISA_AVX2 = 1, MVKE_ISA_AVX512 = 2 };
int mvke_codec_scan_isa(void);
int mvke_codec_scan_set_isa(int max_level);

/* The kernels, per instruction set (sq8_scan.c, pq_scan.c): numerators of panels [p0, p1). */
void mvke_sq8_num_generic(const mvke_layout *L, const void *block, int64_t cap, int64_t p0, int64_t p1,
                          const mvke_codec_query *q, float *num);
void mvke_sq8_num_avx2(const mvke_layout *L, const void *block, int64_t cap, int64_t p0, int64_t p1,
                       const mvke_codec_query *q, float *num);
void mvke_sq8_num_avx512(const mvke_layout *L, const void *block, int64_t cap, int64_t p0, int64_t p1,
                         const mvke_codec_query *q, float *num);
void mvke_pq_num_generic(const mvke_layout *L, const void *block, int64_t cap, int64_t p0, int64_t p1,
                         const mvke_codec_query *q, float *num);
void mvke_pq_num_avx2(const mvke_layout *L, const void *block, int64_t cap, int64_t p0, int64_t p1,
                      const mvke_codec_query *q, float *num);
void mvke_pq_num_avx512(const mvke_layout *L, const void *block, int64_t cap, int64_t p0, int64_t p1,
                        const mvke_codec_query *q, float *num);

#endif
