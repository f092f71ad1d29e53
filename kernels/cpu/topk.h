/*
 * topk.h - bounded selection of the best (score, id) pairs, and growable hit lists.
 *
 * Order: a pair is better when its score is larger, or equal with a smaller id. That total order
 * makes results independent of how the work was split between threads.
 */
#ifndef MVKE_KERNELS_CPU_TOPK_H
#define MVKE_KERNELS_CPU_TOPK_H

#include <stdint.h>

/* A binary heap of at most k pairs whose root is the worst kept pair. */
typedef struct mvke_topk {
    float *s;
    int64_t *id;
    int64_t k, n;
} mvke_topk;

/* Whether (sa, ia) ranks below (sb, ib). */
static inline int mvke_rank_below(float sa, int64_t ia, float sb, int64_t ib) {
    return sa < sb || (sa == sb && ia > ib);
}

/* Whether (s, id) would enter the heap. */
static inline int mvke_topk_admits(const mvke_topk *h, float s, int64_t id) {
    return h->n < h->k || mvke_rank_below(h->s[0], h->id[0], s, id);
}

/* Starts an empty heap over caller storage for k pairs. */
void mvke_topk_init(mvke_topk *h, float *s, int64_t *id, int64_t k);

/* Inserts (s, id) if it ranks among the k best so far. */
void mvke_topk_push(mvke_topk *h, float s, int64_t id);

/* Sorts the kept pairs best first (destroys the heap order) and pads entries n..k-1 with
 * score -INFINITY and id -1. */
void mvke_topk_finish(mvke_topk *h);

/* A growable list of hits (for threshold searches). */
typedef struct mvke_hits {
    float *s;
    int64_t *id;
    int64_t n, cap;
} mvke_hits;

/* Appends one hit; returns 0, or -1 when memory is short (the list is unchanged). */
int mvke_hits_push(mvke_hits *l, float s, int64_t id);

void mvke_hits_release(mvke_hits *l);

/* Sorts n pairs best first. */
void mvke_pairs_sort(float *s, int64_t *id, int64_t n);

#endif
