/*
 * refine.h - exact re-scoring of a codec search's candidates from the float32 rows its blocks
 * keep (the layout's refine plane), private to the CPU driver (scan.c).
 *
 * Candidates arrive by position (mvke_scan_pos: block, row), so a re-score reads the row where
 * it lies: the active experts' float32 values of it and its stored Gram entries, combined in
 * exactly the float32 kernels' arithmetic (same order, fused or not as the active variant), so
 * that a re-scored candidate gets the score the float32 index gives it. The search's own guard
 * (traces over the active experts) applies.
 */
#ifndef MVKE_KERNELS_CPU_REFINE_H
#define MVKE_KERNELS_CPU_REFINE_H

#include <stdint.h>

#include "shape.h"
#include "topk.h"

/* The float32 score of the row at position pos for query i of q (as the f32 kernels give it). */
float mvke_refine_score(const mvke_kdb *db, const mvke_scan_shape *sh, const mvke_kqueries *q, int64_t i,
                        int64_t pos);

/* For each query: re-scores its candidates (cand[i]: a list of positions, scores ignored) and
 * writes the k best (score, then smaller id) with their ids to out_s/out_i (nq*k, padded with
 * -INFINITY / -1). Errors: MVKE_ERR_NOMEM, or the first-use check of a mapped row
 * (db->check), with its message. */
mvke_status mvke_refine_topk(const mvke_kdb *db, const mvke_scan_shape *sh, const mvke_kqueries *q,
                             const mvke_hits *cand, int64_t k, int threads, float *out_s, int64_t *out_i);

/* Re-scores every hit of every query's list in place (positions in, ids out) and keeps those
 * with score >= min_score. Errors: the first-use check of a mapped row. */
mvke_status mvke_refine_hits(const mvke_kdb *db, const mvke_scan_shape *sh, const mvke_kqueries *q, float min_score,
                             int threads, mvke_hits *lists);

#endif
