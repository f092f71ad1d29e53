/*
 * refine.c - exact re-scoring from the refine plane (refine.h).
 */
#include "refine.h"

#include <math.h>

#include "../kernels/backend.h"
#include "../kernels/cpu/topk.h"
#include "../kernels/gram.h"

float mvke_refine_score(const mvke_store *s, int64_t p, const float *z, const float *qgram, float qtr) {
    const mvke_store_block *b = &s->blocks[p / MVKE_BLOCK_ROWS];
    const int64_t r = p % MVKE_BLOCK_ROWS;
    const float *x = mvke_layout_refine(&s->L, b->data, b->cap) + r * s->D;
    float g[64 * 65 / 2]; /* P for the largest K */
    mvke_layout_get(&s->L, b->data, b->cap, r, NULL, g);
    double num = 0.0, den2 = 0.0;
    for (int64_t j = 0; j < s->D; j++) num += (double)x[j] * (double)z[j];
    for (int e = 0; e < s->P; e++) den2 += (double)g[e] * (double)qgram[e];
    const double rtr = mvke_gram_trace(s->K, g);
    if (!(den2 > (double)qtr * MVKE_DEN2_REL_FLOOR * rtr && den2 > 0.0)) return 0.0f;
    double v = num / sqrt(den2);
    return (float)(v > 1.0 ? 1.0 : v < -1.0 ? -1.0 : v);
}

void mvke_refine_topk(const mvke_store *s, int64_t nq, const float *z, const float *qgram, int64_t kk,
                      const int64_t *cand_i, int64_t k, float *out_s, int64_t *out_i) {
    const int64_t D = s->D, P = s->P;
    for (int64_t q = 0; q < nq; q++) {
        const float *zq = z + q * D, *gq = qgram + q * P;
        const float qtr = mvke_gram_trace(s->K, gq);
        mvke_topk h;
        mvke_topk_init(&h, out_s + q * k, out_i + q * k, k);
        for (int64_t c = 0; c < kk; c++) {
            const int64_t id = cand_i[q * kk + c];
            if (id < 0) continue;
            const float v = mvke_refine_score(s, mvke_store_find(s, id), zq, gq, qtr);
            if (mvke_topk_admits(&h, v, id)) mvke_topk_push(&h, v, id);
        }
        mvke_topk_finish(&h);
    }
}

int64_t mvke_refine_hits(const mvke_store *s, const float *z, const float *qgram, float min_score, int64_t n,
                         int64_t *ids, float *scores) {
    const float qtr = mvke_gram_trace(s->K, qgram);
    int64_t kept = 0;
    for (int64_t i = 0; i < n; i++) {
        const float v = mvke_refine_score(s, mvke_store_find(s, ids[i]), z, qgram, qtr);
        if (v >= min_score) {
            ids[kept] = ids[i];
            scores[kept++] = v;
        }
    }
    mvke_pairs_sort(scores, ids, kept);
    return kept;
}
