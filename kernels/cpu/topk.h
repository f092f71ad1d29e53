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

/* Selection for scans, of the k best (score desc, then id asc) of the pairs offered, in one of
 * two ways chosen by k:
 *  - k <= MVKE_SELECT_SORTED_MAX: the first k slots kept sorted best first, a pair inserted by
 *    moving the worse ones down (about k/2 moves in a loop whose one mispredicted branch is its
 *    exit; a heap's sift mispredicts at every level: measured 24% of batch tagging's top-10 time
 *    with a heap); the threshold rises with every pair that enters;
 *  - k < MVKE_SELECT_HEAP_MAX: a binary heap in the first k slots (O(log k) per pair);
 *  - larger k: a reservoir of `cap` >= 2k slots that takes a pair by appending it and, when full,
 *    keeps its k best (a partition) and raises its threshold to the worst kept (O(1) per pair:
 *    a heap's sift dominated the tail of a top-400 over a million rows).
 * Keys may stand for ids (id_of NULL) or for something id_of maps to an id (a row's position, so
 * that a scan reads no id for a pair it offers): ids are looked up only to order equal scores. */
#define MVKE_SELECT_SORTED_MAX 32
#define MVKE_SELECT_HEAP_MAX 128

typedef struct mvke_select {
    float *s;
    int64_t *key;
    int64_t k, cap, n;
    float thr; /* pairs scoring below it cannot be among the k best (-INFINITY until full) */
    int heap;  /* 2: the first k slots sorted best first; 1: a heap, worst at the root; 0: a reservoir */
    int64_t (*id_of)(const void *ctx, int64_t key);
    const void *ctx;
} mvke_select;

/* Starts an empty selection of the k best (k >= 1) over caller storage of cap slots:
 * mvke_select_cap(k) or more. */
void mvke_select_init(mvke_select *r, float *s, int64_t *key, int64_t k, int64_t cap,
                      int64_t (*id_of)(const void *ctx, int64_t key), const void *ctx);

/* Slots a selection of the k best needs. */
static inline int64_t mvke_select_cap(int64_t k) { return k < MVKE_SELECT_HEAP_MAX ? k : 2 * k + 16; }

/* Keeps at most the k best pairs (a reservoir: partitions; a heap has nothing to do) and sets thr
 * to the worst of them when there are k. */
void mvke_select_compact(mvke_select *r);

/* Offers a pair that scores >= r->thr (callers test first: it is the kernels' admission test). */
void mvke_select_heap_push(mvke_select *r, float s, int64_t key);
static inline void mvke_select_push(mvke_select *r, float s, int64_t key) {
    if (r->heap) {
        mvke_select_heap_push(r, s, key);
        return;
    }
    if (r->n == r->cap) mvke_select_compact(r);
    r->s[r->n] = s;
    r->key[r->n++] = key;
}

/* Keeps the k best and sorts them best first in place: r->s[0..r->n), r->key[0..r->n). */
void mvke_select_finish(mvke_select *r);

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
