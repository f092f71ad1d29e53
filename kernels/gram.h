/*
 * gram.h - block Gram triangles of rows of K blocks of d floats (DESIGN section 2).
 *
 * For a row x = concat_k x_k, the triangle holds P = K(K+1)/2 values in row-major upper order
 * (k <= l): <x_k, x_k> on the diagonal and 2 <x_k, x_l> off it, so that for two rows
 *     |sum_k w_k x_k|^2-style norms reduce to   sum_{k,l} Gram(x)[k][l] Gram(z)[k][l]
 *                                             = dot(triangle(x), full-weight triangle(z))
 * where only one side carries the doubled off-diagonals; the other side's triangle is the plain
 * one. We store every row with doubled off-diagonals and correct on the query side: queries use
 * mvke_gram_plain (off-diagonals not doubled).
 */
#ifndef MVKE_KERNELS_GRAM_H
#define MVKE_KERNELS_GRAM_H

#include <stdint.h>

/* P = K(K+1)/2. */
static inline int mvke_gram_size(int K) { return K * (K + 1) / 2; }

/* Gram triangle of one row with off-diagonals doubled, computed in double. Returns 0 when every
 * value is finite in float32, -1 otherwise (the row's squared norms overflow float32). */
int mvke_gram_doubled(int K, int d, const float *x, float *tri);

/* The same with plain off-diagonals (for query rows). */
int mvke_gram_plain(int K, int d, const float *x, float *tri);

/* Sum of the diagonal of a triangle: the squared norm of the whole row. */
float mvke_gram_trace(int K, const float *tri);

#endif
