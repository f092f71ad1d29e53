/*
 * kmeans.h - Lloyd's k-means on float32 points, for training the pq codec (index/train.c) and
 * the lists of users (index/lists.c).
 *
 * The library's own, BLAS-based: index/ may not include FAISS headers (FAISS's k-means is
 * reachable only through plugin/), and a build without FAISS still trains codecs. Distances come
 * from one sgemm per chunk of points (|x - c|^2 = |x|^2 - 2 <x, c> + |c|^2); the result depends
 * only on the points, k, the iterations and the seed.
 */
#ifndef MVKE_INDEX_KMEANS_H
#define MVKE_INDEX_KMEANS_H

#include <stdint.h>

#include "mvke/mvke.h"

/* Clusters n points of dim floats (row-major, finite) into k centroids (k*dim floats written to
 * cent). Initial centroids are k distinct points drawn with the seed; each iteration assigns
 * every point to its nearest centroid (the first on ties) and moves every centroid to its
 * points' mean; an empty cluster takes the point farthest from its centroid. When the points
 * have at most k distinct values, those values are the centroids (in sorted order), the slots
 * past them repeat the first, and no iteration runs: every point is then its own centroid.
 * Errors: MVKE_ERR_INVALID (n < 1, dim < 1, k < 1, iters < 0), MVKE_ERR_NOMEM. */
mvke_status mvke_kmeans(int64_t n, int dim, const float *x, int k, int iters, uint64_t seed, float *cent);

/* The nearest of k centroids (k*dim floats) for each of n points, the first on ties, into
 * assign (n ints), as an iteration of mvke_kmeans assigns them; chunks of points are spread over
 * OpenMP's threads. Errors: MVKE_ERR_INVALID, MVKE_ERR_NOMEM. */
mvke_status mvke_kmeans_assign(int64_t n, int dim, const float *x, int k, const float *cent, int *assign);

#endif
