/*
 * refine.h - exact re-scoring of a codec search's candidates from the float32 rows its blocks
 * keep (the layout's refine plane), private to the CPU driver (scan.c).
 *
 * Candidates arrive by position (mvke_scan_pos: block, row), so a re-score reads the row where
 * it lies, and only the active experts' float32 values of it: the numerator and the Gram entries
 * of the norm are summed in double from them and the score rounded once (cosine.h). The
 * search's own guard (traces over the active experts) applies.
 */
#ifndef MVKE_KERNELS_CPU_REFINE_H
#define MVKE_KERNELS_CPU_REFINE_H

#include <stdint.h>

#include "shape.h"
#include "topk.h"

/* The exact score of the row at position pos for query i of q. */
float mvke_refine_score(const mvke_kdb *db, const mvke_scan_shape *sh, const mvke_kqueries *q, int64_t i,
                        int64_t pos);

/* For each query: re-scores its kk candidates (cand[i * kk + c]: positions, -1 for none) and
 * writes the k best (score, then smaller id) with their ids to out_s/out_i (nq*k, padded with
 * -INFINITY / -1). */
void mvke_refine_topk(const mvke_kdb *db, const mvke_scan_shape *sh, const mvke_kqueries *q, int64_t kk,
                      const int64_t *cand, int64_t k, int threads, float *out_s, int64_t *out_i);

/* Re-scores every hit of every query's list in place (positions in, ids out) and keeps those
 * with score >= min_score. */
void mvke_refine_hits(const mvke_kdb *db, const mvke_scan_shape *sh, const mvke_kqueries *q, float min_score,
                      int threads, mvke_hits *lists);

#endif
