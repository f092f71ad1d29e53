/*
 * layout.h - how rows sit inside a storage block (DESIGN section 8): expert-major planes of
 * lane panels, so that a search of one task reads only its experts' bytes.
 *
 * A block holds up to `cap` rows (cap a multiple of MVKE_LANES) of K experts of d values, in one
 * buffer of mvke_layout_block_bytes(L, cap) bytes, 64-byte aligned parts one after another:
 *
 *   expert plane 0 | expert plane 1 | ... | expert plane K-1 | Gram plane [| bound plane]
 *
 * Rows are grouped in panels of MVKE_LANES consecutive rows (the SIMD lanes of a kernel).
 *  - Expert plane k holds cap / MVKE_LANES panels; panel p is d x MVKE_LANES stored values:
 *    value j of expert k of row r (p = r / LANES, g = r % LANES) is element
 *        (p * d + j) * LANES + g                    (f32, f16)
 *        ((p * dp + j / 2) * LANES + g) * 2 + j % 2  (bf16, dp = ceil(d / 2) pairs; the missing
 *                                                     value of an odd d is 0)
 *        (p * m + j) * LANES + g                    (sq8: m = d one-byte codes; pq: m one-byte
 *                                                     codes, one per sub-space, see codec.h)
 *    so one dimension of 16 rows is one 64-byte line (f32) and a bf16 pair of 16 rows is one
 *    line, the operand of vdpbf16ps; a codec's 16 codes of one dimension or sub-space are 16
 *    consecutive bytes.
 *  - The Gram plane holds, per panel, the P = K(K+1)/2 entries of the rows' Gram triangles (see
 *    gram.h, off-diagonals doubled) as P x LANES float32: entry e of row r is element
 *        (p * P + e) * LANES + g
 *    so a task reads only the lines of the entries (k, l) with k, l in its subset. A layout for
 *    the dot score (mvke_layout_set_score) has no Gram plane: its score has no denominator.
 *  - The bound plane, only in a codec layout, holds per panel K lines of 16 bytes: the bound
 *    byte of expert k of row r (codec.h) at byte (p * K + k) * LANES + g.
 * The float32 rows a codec index keeps for refine are not part of a block: each block carries
 * them in an array of its own (row-major, row r at element r * K*d), so that a search of the
 * codes never pages them in and a file keeps them in a section of their own.
 * Each part is padded to a multiple of 64 bytes. Lanes past a block's row count hold zeros
 * (zero codes for a codec: they decode to vmin or centroid 0, and their Gram entries are 0).
 * The same bytes are what an index file stores per block, so a mapped file is searched in place.
 */
#ifndef MVKE_KERNELS_LAYOUT_H
#define MVKE_KERNELS_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "mvke/mvke.h"

#define MVKE_LANES 16
#define MVKE_LAYOUT_ALIGN 64

struct mvke_codec;

typedef struct mvke_layout {
    int K, d, P;
    int G;             /* Gram entries stored per row: P (cosine), 0 (dot: no Gram plane) */
    mvke_score score;  /* what a search computes (mvke.h); MVKE_SCORE_COSINE unless set */
    mvke_storage storage;
    int esize;         /* bytes of one stored value: 4 (f32), 2 (f16, bf16) or 1 (sq8, pq codes) */
    int panel_values;  /* stored values of one expert in one panel: d * LANES, 2 * dp * LANES
                          (bf16), or m * LANES (codecs) */
    int m;             /* codes per expert (codecs): d for sq8, the sub-spaces for pq */
    int refine;        /* 1: blocks carry the rows as given (float32) for exact re-scoring */
    const struct mvke_codec *codec; /* the trained parameters of sq8 and pq (codec.h), owned by
                                       the store; NULL for the other storages */
} mvke_layout;

/* Fills L for K experts of dimension d in the given storage. A codec storage gets its default
 * number of codes (pq: mvke_pq_default_m) and no parameters until mvke_layout_set_codec.
 * Returns 0, or -1 for a storage the layout does not know (the caller reports it). */
int mvke_layout_init(mvke_layout *L, int K, int d, mvke_storage storage);

/* Attaches a codec (of L's storage, K and d) and takes its number of codes per expert; refine
 * marks blocks that carry their rows for re-scoring. The codec must outlive every use of L, and
 * be trained before a put. */
void mvke_layout_set_codec(mvke_layout *L, const struct mvke_codec *codec, int refine);

/* Sets the score searches of these blocks compute; the dot score stores no Gram plane (set it
 * before any block is laid out). */
void mvke_layout_set_score(mvke_layout *L, mvke_score score);

/* The bound plane of a codec block (NULL for other storages). */
const uint8_t *mvke_layout_bounds(const mvke_layout *L, const void *block, int64_t cap);

/* Rounds a row count up to whole panels. */
static inline int64_t mvke_layout_round(int64_t n) { return (n + MVKE_LANES - 1) / MVKE_LANES * MVKE_LANES; }

/* Bytes of one expert plane, of the Gram plane, and of a whole block, for cap rows (a multiple of
 * MVKE_LANES). No overflow for cap <= 2^32 and K, d within the library's limits. */
size_t mvke_layout_plane_bytes(const mvke_layout *L, int64_t cap);
size_t mvke_layout_gram_bytes(const mvke_layout *L, int64_t cap);
size_t mvke_layout_block_bytes(const mvke_layout *L, int64_t cap);

/* The start of expert plane k, and of the Gram plane, in a block buffer of capacity cap. */
static inline const void *mvke_layout_plane(const mvke_layout *L, const void *block, int64_t cap, int k) {
    return (const unsigned char *)block + (size_t)k * mvke_layout_plane_bytes(L, cap);
}
static inline const float *mvke_layout_gram(const mvke_layout *L, const void *block, int64_t cap) {
    return (const float *)((const unsigned char *)block + (size_t)L->K * mvke_layout_plane_bytes(L, cap));
}

/* Writes row r of a block: `row` is K*d float32 values (expert-major, as in the public API),
 * converted to the storage (round to nearest even; encoded by the codec, with its bounds), and
 * `gram` its P Gram values. */
void mvke_layout_put(const mvke_layout *L, void *block, int64_t cap, int64_t r, const float *row,
                     const float *gram);

/* Reads row r back, widened to float32 (decoded, for a codec), into
 * row (K*d values) and gram (P values); either output may be NULL. */
void mvke_layout_get(const mvke_layout *L, const void *block, int64_t cap, int64_t r, float *row,
                     float *gram);

/* Copies row rs of block src (capacity cs) to row rd of block dst (capacity cdst), bit for bit. */
void mvke_layout_copy(const mvke_layout *L, void *dst, int64_t cdst, int64_t rd, const void *src,
                      int64_t cs, int64_t rs);

/* Sets row r of a block to zeros (values and Gram entries): the state of an unused lane. */
void mvke_layout_clear(const mvke_layout *L, void *block, int64_t cap, int64_t r);

/* Copies the first n rows (n <= both capacities) of block src (capacity cs) into block dst
 * (capacity cdst, zeroed beyond n up to mvke_layout_round(n) is the caller's business: dst lanes
 * past n in the last panel are copied from src, which keeps them zero). Used to grow a block and
 * to write a block with its tight capacity. */
void mvke_layout_copy_rows(const mvke_layout *L, void *dst, int64_t cdst, const void *src, int64_t cs,
                           int64_t n);

#endif
