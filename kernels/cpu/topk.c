/*
 * topk.c - heap selection, hit lists and pair sorting for the CPU backend.
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
