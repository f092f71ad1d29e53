/*
 * topk.c - heap selection, reservoir selection, hit lists and pair sorting for the backends.
 */
#include "topk.h"

#include <math.h>

#include "../runtime.h"

void mvke_topk_init(mvke_topk *h, float *s, int64_t *id, int64_t k) {
    h->s = s;
    h->id = id;
    h->k = k;
    h->n = 0;
}

static void sift_down(float *s, int64_t *id, int64_t n, int64_t i) {
    float vs = s[i];
    int64_t vi = id[i];
    for (;;) {
        int64_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && mvke_rank_below(s[c + 1], id[c + 1], s[c], id[c])) c++;
        if (!mvke_rank_below(s[c], id[c], vs, vi)) break;
        s[i] = s[c];
        id[i] = id[c];
        i = c;
    }
    s[i] = vs;
    id[i] = vi;
}

void mvke_topk_push(mvke_topk *h, float s, int64_t id) {
    if (h->n < h->k) {
        int64_t i = h->n++;
        while (i > 0) {
            int64_t p = (i - 1) / 2;
            if (!mvke_rank_below(s, id, h->s[p], h->id[p])) break;
            h->s[i] = h->s[p];
            h->id[i] = h->id[p];
            i = p;
        }
        h->s[i] = s;
        h->id[i] = id;
    } else if (mvke_rank_below(h->s[0], h->id[0], s, id)) {
        h->s[0] = s;
        h->id[0] = id;
        sift_down(h->s, h->id, h->n, 0);
    }
}

void mvke_topk_finish(mvke_topk *h) {
    /* Heap sort: moving the worst to the end each time leaves the array best first. */
    for (int64_t end = h->n - 1; end > 0; end--) {
        float ts = h->s[0];
        int64_t ti = h->id[0];
        h->s[0] = h->s[end];
        h->id[0] = h->id[end];
        h->s[end] = ts;
        h->id[end] = ti;
        sift_down(h->s, h->id, end, 0);
    }
    for (int64_t i = h->n; i < h->k; i++) {
        h->s[i] = -INFINITY;
        h->id[i] = -1;
    }
}

int mvke_hits_push(mvke_hits *l, float s, int64_t id) {
    if (l->n == l->cap) {
        int64_t cap = l->cap ? 2 * l->cap : 64;
        float *ns = mvke_malloc_array((size_t)cap, sizeof *ns);
        int64_t *ni = mvke_malloc_array((size_t)cap, sizeof *ni);
        if (!ns || !ni) {
            mvke_free(ns);
            mvke_free(ni);
            return -1;
        }
        for (int64_t i = 0; i < l->n; i++) {
            ns[i] = l->s[i];
            ni[i] = l->id[i];
        }
        mvke_free(l->s);
        mvke_free(l->id);
        l->s = ns;
        l->id = ni;
        l->cap = cap;
    }
    l->s[l->n] = s;
    l->id[l->n] = id;
    l->n++;
    return 0;
}

void mvke_hits_release(mvke_hits *l) {
    mvke_free(l->s);
    mvke_free(l->id);
    l->s = NULL;
    l->id = NULL;
    l->n = l->cap = 0;
}

void mvke_pairs_sort(float *s, int64_t *id, int64_t n) {
    mvke_topk h = {s, id, n, 0};
    /* Build a heap of all n pairs, then heap-sort it. */
    for (int64_t i = n / 2; i-- > 0;) sift_down(s, id, n, i);
    h.n = n;
    mvke_topk_finish(&h);
}

void mvke_select_init(mvke_select *r, float *s, int64_t *key, int64_t k, int64_t cap,
                      int64_t (*id_of)(const void *ctx, int64_t key), const void *ctx) {
    r->s = s;
    r->key = key;
    r->k = k;
    r->cap = cap;
    r->n = 0;
    r->thr = -INFINITY;
    r->heap = k <= MVKE_SELECT_SORTED_MAX ? 2 : k < MVKE_SELECT_HEAP_MAX;
    r->id_of = id_of;
    r->ctx = ctx;
}

/* Whether pair (sa, ka) ranks below pair (sb, kb): a smaller score, or an equal one with a
 * larger id (keys mapped by id_of). */
static inline int rank_below(const mvke_select *r, float sa, int64_t ka, float sb, int64_t kb) {
    if (sa != sb) return sa < sb;
    return r->id_of ? r->id_of(r->ctx, ka) > r->id_of(r->ctx, kb) : ka > kb;
}

/* Whether the pair in slot a ranks below the pair in slot b. */
static inline int below(const mvke_select *r, int64_t a, int64_t b) {
    return rank_below(r, r->s[a], r->key[a], r->s[b], r->key[b]);
}

static inline void swap_pair(mvke_select *r, int64_t a, int64_t b) {
    const float ts = r->s[a];
    const int64_t tk = r->key[a];
    r->s[a] = r->s[b];
    r->key[a] = r->key[b];
    r->s[b] = ts;
    r->key[b] = tk;
}

/* Partitions [lo, hi] around a median-of-three pivot: better pairs before it, worse after.
 * Returns the pivot's place. */
static int64_t partition(mvke_select *r, int64_t lo, int64_t hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (below(r, lo, mid)) swap_pair(r, lo, mid);
    if (below(r, lo, hi)) swap_pair(r, lo, hi);
    if (below(r, hi, mid)) swap_pair(r, mid, hi);
    int64_t st = lo;
    for (int64_t i = lo; i < hi; i++)
        if (below(r, hi, i)) swap_pair(r, i, st++);
    swap_pair(r, st, hi);
    return st;
}

/* Reorders [lo, hi] so that place m holds the pair of rank m with better pairs before it. */
static void select_nth(mvke_select *r, int64_t lo, int64_t hi, int64_t m) {
    while (hi > lo) {
        const int64_t p = partition(r, lo, hi);
        if (p == m) return;
        if (m < p) hi = p - 1;
        else lo = p + 1;
    }
}

/* Sorts [lo, hi] best first (quicksort, the smaller side recursively). */
static void sort_range(mvke_select *r, int64_t lo, int64_t hi) {
    while (hi > lo) {
        const int64_t p = partition(r, lo, hi);
        if (p - lo < hi - p) {
            sort_range(r, lo, p - 1);
            lo = p + 1;
        } else {
            sort_range(r, p + 1, hi);
            hi = p - 1;
        }
    }
}

/* The heap of the first n slots, worst at the root: the pair in slot i moves down to its place. */
static void heap_down(mvke_select *r, int64_t n, int64_t i) {
    const float vs = r->s[i];
    const int64_t vk = r->key[i];
    for (;;) {
        int64_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && below(r, c + 1, c)) c++;
        if (!rank_below(r, r->s[c], r->key[c], vs, vk)) break;
        r->s[i] = r->s[c];
        r->key[i] = r->key[c];
        i = c;
    }
    r->s[i] = vs;
    r->key[i] = vk;
}

/* The sorted way (topk.h): the pair goes in above every worse one, the worst drops out when full. */
static void sorted_push(mvke_select *r, float s, int64_t key) {
    int64_t i = r->n;
    if (i == r->k) {
        if (!rank_below(r, r->s[i - 1], r->key[i - 1], s, key)) return;
        i--;
    } else {
        r->n++;
    }
    while (i > 0 && rank_below(r, r->s[i - 1], r->key[i - 1], s, key)) {
        r->s[i] = r->s[i - 1];
        r->key[i] = r->key[i - 1];
        i--;
    }
    r->s[i] = s;
    r->key[i] = key;
    if (r->n == r->k) r->thr = r->s[r->k - 1];
}

void mvke_select_heap_push(mvke_select *r, float s, int64_t key) {
    if (r->heap == 2) {
        sorted_push(r, s, key);
        return;
    }
    if (r->n < r->k) {
        int64_t i = r->n++;
        while (i > 0) {
            const int64_t p = (i - 1) / 2;
            if (!rank_below(r, s, key, r->s[p], r->key[p])) break;
            r->s[i] = r->s[p];
            r->key[i] = r->key[p];
            i = p;
        }
        r->s[i] = s;
        r->key[i] = key;
    } else if (rank_below(r, r->s[0], r->key[0], s, key)) {
        r->s[0] = s;
        r->key[0] = key;
        heap_down(r, r->n, 0);
    }
    if (r->n == r->k) r->thr = r->s[0];
}

void mvke_select_compact(mvke_select *r) {
    if (r->heap || r->n <= r->k) return;
    select_nth(r, 0, r->n - 1, r->k - 1);
    r->n = r->k;
    r->thr = r->s[r->k - 1];
}

void mvke_select_finish(mvke_select *r) {
    mvke_select_compact(r);
    if (r->heap != 2) sort_range(r, 0, r->n - 1);
    r->heap = 0; /* sorted now: further pushes would append */
}
