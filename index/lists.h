/*
 * lists.h - k-means lists of users (DESIGN section 13, docs/lists.md): users stored list by list,
 * each list's centroid and per-expert radii, and the bound that lets a search skip a list.
 *
 * List j holds the positions [off[j], off[j+1]); positions from off[n] to the end of the store are
 * the tail: users added after the lists were made, which every search reads. A list's radii cover
 * every row stored in its range: r[j][k] >= ||x_k - c_k|| for the row x a search scores (the
 * stored row; the float32 row of a codec index that keeps them), rounded up. Changes keep that
 * true: a row written into a list's range (an upsert, or the last row moved into a removed one's
 * place) grows the list's radii to cover it, and a removal that shortens the store cuts the last
 * lists' ranges.
 *
 * The bound (proved in docs/lists.md): for a tag's gated row z, every row x of list j scores at
 * most mvke_lists_bounds' ub[j] - the largest cosine between the tag and any gated vector within
 * sum_k |w_k| r_k of the list's gated centroid, plus the float32 rounding of the kernels - or, for
 * the dot score, <c, z> + sum_k r_k ||z_k|| plus the same slack.
 */
#ifndef MVKE_INDEX_LISTS_H
#define MVKE_INDEX_LISTS_H

#include <stdint.h>

#include "store.h"
#include "mvke/mvke.h"

typedef struct mvke_lists {
    int n;         /* lists; 0 = the index has none */
    int64_t *off;  /* n + 1 positions */
    float *cent;   /* n * K*d: the centroids */
    float *radius; /* n * K: per list and expert, the radius of its members around the centroid */
    double *cgram; /* n * K*K: the centroids' block Gram matrices (derived, not stored) */
} mvke_lists;

/* The default number of lists for n users: about 4 sqrt(n), at least 1 and at most n. */
int mvke_lists_default(int64_t n);

void mvke_lists_release(mvke_lists *l);

/* Makes nlists lists (0: the default) for the rows of s: k-means over a sample (evenly spaced
 * rows, at most MVKE_LISTS_SAMPLE_PER_LIST per list), every row assigned to its nearest centroid.
 * Writes the new order of the positions into perm (s->count entries: perm[i] is the old position
 * that moves to position i, list by list, in position order within a list) and fills *out, whose
 * offsets and radii describe the rows in that new order. Errors: MVKE_ERR_INVALID (no rows,
 * nlists < 0 or > rows), MVKE_ERR_NOMEM, MVKE_ERR_CHECKSUM (a mapped row). */
#define MVKE_LISTS_SAMPLE_PER_LIST 64
#define MVKE_LISTS_ITERS 10
mvke_status mvke_lists_train(const mvke_store *s, int nlists, mvke_lists *out, int64_t *perm);

/* Fills l from its parts (copied) and derives the centroids' Gram matrices, after checking them
 * against a store of `count` rows: offsets ascending from 0 to at most count, values finite,
 * radii >= 0. what names the source in messages (a file's path). Errors: MVKE_ERR_FORMAT,
 * MVKE_ERR_NOMEM. */
mvke_status mvke_lists_set(mvke_lists *l, int n, int K, int d, int64_t count, const int64_t *off,
                           const float *cent, const float *radius, const char *what);

/* The lists of positions [first, first + n) of src, renumbered from 0, into *out: every list
 * keeps its centroid and radii (its members there are some of its members), its range cut to
 * the slice; the slice's positions past the lists are its tail. Nothing when src has no lists.
 * Errors: MVKE_ERR_NOMEM. */
mvke_status mvke_lists_slice(const mvke_lists *src, int K, int d, int64_t first, int64_t n, mvke_lists *out);

/* The list holding position p, or -1 (the tail). */
int mvke_lists_find(const mvke_lists *l, int64_t p);

/* Grows the radii of the list holding position p (if any) to cover s's row there; row is
 * scratch of K*d floats. Cannot fail (a mapped row must have been checked). */
void mvke_lists_cover(mvke_lists *l, const mvke_store *s, int64_t p, float *row);

/* Cuts the lists' ranges to a store of count rows (after removals). */
void mvke_lists_truncate(mvke_lists *l, int64_t count);

/* For one gated query row z (K*d floats) of a search of the given score, per list: cs[j], the
 * score of its centroid (the probe order), and ub[j], an upper bound of the score of every row
 * stored in it as a search computes it. */
void mvke_lists_bounds(const mvke_lists *l, int K, int d, mvke_score score, const float *z, float *cs, float *ub);

/* Sizes of the lists: smallest, median and largest (0 without lists). */
void mvke_lists_sizes(const mvke_lists *l, int64_t *min, int64_t *median, int64_t *max);

#endif
