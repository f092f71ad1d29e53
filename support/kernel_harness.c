/*
 * kernel_harness.c - the CPU kernels' harness (kernel_harness.h).
 */
#include "kernel_harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "kernels/cpu/scan.h"
#include "kernels/gram.h"
#include "kernels/layout.h"
#include "kernels/runtime.h"
#include "oracle.h"
#include "rng.h"

/* ---- the cases --------------------------------------------------------------------------- */

#define MAX_CASES 512
static kh_case cases[MAX_CASES];
static size_t ncases;
static char names[MAX_CASES][96];

static void add(kh_case c, const char *fmt, int a, int b) {
    if (ncases == MAX_CASES) return;
    snprintf(names[ncases], sizeof names[ncases], fmt, a, b);
    c.name = names[ncases];
    if (!c.threads) c.threads = 2;
    cases[ncases++] = c;
}

static void build_cases(void) {
    static const int Ks[] = {1, 2, 5, 8}, ds[] = {1, 7, 30, 64};
    for (int ki = 0; ki < 4; ki++)
        for (int di = 0; di < 4; di++) {
            const int K = Ks[ki], d = ds[di];
            const uint64_t all = K >= 64 ? ~0ull : (1ull << K) - 1, task = K >= 3 ? 0x6ull & all : all;
            const int64_t n3 = 70 + ki + di;
            for (int f = KH_FILTER_NONE; f <= KH_FILTER_BITS; f++) {
                const char *fs = f ? ", every third row allowed" : "";
                char fmt[96];
                snprintf(fmt, sizeof fmt, "K=%%d d=%%d one tag of a task, top-10%s", fs);
                add((kh_case){0, K, d, {37, 0, n3}, 0, 1, task, 10, 0, f, 0, 2, 0}, fmt, K, d);
                snprintf(fmt, sizeof fmt, "K=%%d d=%%d one tag of a task, threshold 0.2%s", fs);
                add((kh_case){0, K, d, {37, 0, n3}, 0, 1, task, 0, 0.2f, f, 0, 2, 0}, fmt, K, d);
                snprintf(fmt, sizeof fmt, "K=%%d d=%%d 3 tags on every expert, k = 1%s", fs);
                add((kh_case){0, K, d, {37, 0, n3}, 0, 3, all, 1, 0, f, 0, 1, 0}, fmt, K, d);
                snprintf(fmt, sizeof fmt, "K=%%d d=%%d 17 tags, k = 200 > n, a group tail%s", fs);
                add((kh_case){0, K, d, {37, 0, n3}, 0, 17, task, 200, 0, f, 0, 2, 0}, fmt, K, d);
                snprintf(fmt, sizeof fmt, "K=%%d d=%%d 17 tags, threshold 0.2%s", fs);
                add((kh_case){0, K, d, {37, 0, n3}, 0, 17, task, 0, 0.2f, f, 0, 2, 0}, fmt, K, d);
                snprintf(fmt, sizeof fmt, "K=%%d d=%%d a task's tag index, 30 user rows, top-5%s", fs);
                add((kh_case){0, K, d, {37, 0, n3}, task, 30, all, 5, 0, f, 0, 2, 0}, fmt, K, d);
                /* Certified (codecs with their rows; the other storages search as above). */
                snprintf(fmt, sizeof fmt, "K=%%d d=%%d certified, one tag of a task, top-10%s", fs);
                add((kh_case){0, K, d, {37, 0, n3}, 0, 1, task, 10, 0, f, -1, 2, 0}, fmt, K, d);
                snprintf(fmt, sizeof fmt, "K=%%d d=%%d certified, 17 tags, top-20%s", fs);
                add((kh_case){0, K, d, {37, 0, n3}, 0, 17, all, 20, 0, f, -1, 2, 0}, fmt, K, d);
                snprintf(fmt, sizeof fmt, "K=%%d d=%%d certified, 3 tags, threshold 0.2%s", fs);
                add((kh_case){0, K, d, {37, 0, n3}, 0, 3, task, 0, 0.2f, f, -1, 1, 0}, fmt, K, d);
            }
        }
    add((kh_case){0, 3, 5, {0, 0, 0}, 0, 4, 0, 3, 0, 0, 0, 2, 0}, "empty database, 4 tags, top-%d%.0d", 3, 0);
    add((kh_case){0, 3, 5, {0, 0, 0}, 0, 0, 0, 3, 0, 0, 0, 2, 0}, "empty database, empty batch%.0d%.0d", 0, 0);
    add((kh_case){0, 5, 30, {300, 0, 17}, 0, 0, 0, 3, 0, 0, 0, 2, 0}, "an empty batch%.0d%.0d", 0, 0);
    add((kh_case){0, 5, 30, {1000, 5, 3003}, 0, 1, 0x7, 1, 0, 0, 0, 2, 0}, "4008 rows, one tag, k = %d%.0d", 1, 0);
    add((kh_case){0, 5, 30, {1000, 5, 3003}, 0, 300, 0x7, 25, 0, 0, 0, 2, 0},
        "4008 rows, %d tags (query tiles and group tails), top-%d", 300, 25);
    add((kh_case){0, 5, 30, {1000, 5, 3003}, 0, 300, 0x7, 25, 0, 0, 0, 1, 0}, "the same on %d thread%.0d", 1, 0);
    add((kh_case){0, 5, 30, {1000, 5, 3003}, 0, 2, 0x1e, 0, 0.3f, 0, 0, 2, 0}, "4008 rows, %d tags, threshold 0.3%.0d", 2,
        0);
    add((kh_case){0, 5, 30, {1000, 5, 3003}, 0, 5, 0x7, 20, 0, KH_FILTER_SORTED, 0, 2, 0},
        "a sorted allow-list, %d tags, top-%d", 5, 20);
    add((kh_case){0, 5, 30, {1000, 5, 3003}, 0, 5, 0x7, 20, 0, KH_FILTER_CALLBACK, 0, 2, 0},
        "an allow-list by callback, %d tags, top-%d", 5, 20);
    add((kh_case){0, 5, 30, {1000, 5, 3003}, 0, 3, 0x7, 0, 0.25f, KH_FILTER_CALLBACK, 0, 2, 0},
        "an allow-list by callback, %d tags, threshold 0.25%.0d", 3, 0);
    /* Refine (codecs keep their rows; other storages ignore it). */
    add((kh_case){0, 5, 30, {300, 7, 400}, 0, 1, 0x7, 10, 0, 0, 100, 2, 0}, "refine R = %d covering every row, top-%d",
        100, 10);
    add((kh_case){0, 5, 30, {300, 7, 400}, 0, 6, 0x1e, 10, 0, 0, 100, 2, 0}, "refine covering every row, %d tags, top-%d",
        6, 10);
    add((kh_case){0, 5, 30, {300, 7, 400}, 0, 3, 0x7, 10, 0, KH_FILTER_BITS, 4, 2, 0}, "refine R = %d, %d tags, allowed rows",
        4, 3);
    add((kh_case){0, 5, 30, {300, 7, 400}, 0, 2, 0x7, 0, 0.2f, 0, 4, 2, 0}, "refine a threshold, %d tags%.0d", 2, 0);
    add((kh_case){0, 5, 30, {1000, 5, 3003}, 0, 1, 0x7, 100, 0, 0, -1, 2, 0}, "certified, one tag, top-%d%.0d", 100, 0);
    add((kh_case){0, 5, 30, {1000, 5, 3003}, 0, 300, 0x1e, 25, 0, 0, -1, 2, 0}, "certified, %d tags, top-%d", 300, 25);
    add((kh_case){0, 5, 30, {1000, 5, 3003}, 0, 4, 0x7, 0, 0.3f, KH_FILTER_CALLBACK, -1, 2, 0},
        "certified, %d tags, threshold 0.3, allow-list by callback%.0d", 4, 0);
    /* The dot score: the same kernels without the denominator (scores are unbounded, so the
     * thresholds sit inside the scores' spread). */
    static const int dK[] = {2, 5, 8}, dd[] = {7, 30};
    for (int ki = 0; ki < 3; ki++)
        for (int di = 0; di < 2; di++) {
            const int K = dK[ki], d = dd[di];
            const uint64_t all = (1ull << K) - 1, task = 0x6ull & all;
            add((kh_case){0, K, d, {37, 0, 90}, 0, 1, task, 10, 0, 0, 0, 2, 1}, "dot, K=%d d=%d one tag of a task, top-10",
                K, d);
            add((kh_case){0, K, d, {37, 0, 90}, 0, 17, task, 0, 1.5f, KH_FILTER_BITS, 0, 2, 1},
                "dot, K=%d d=%d 17 tags, threshold 1.5, every third row allowed", K, d);
            add((kh_case){0, K, d, {37, 0, 90}, task, 30, all, 5, 0, 0, 0, 2, 1},
                "dot, K=%d d=%d a task's tag index, 30 user rows, top-5", K, d);
            add((kh_case){0, K, d, {37, 0, 90}, 0, 17, all, 20, 0, 0, -1, 2, 1}, "dot, K=%d d=%d certified, 17 tags, top-20",
                K, d);
            add((kh_case){0, K, d, {37, 0, 90}, 0, 3, task, 0, 1.0f, 0, -1, 1, 1},
                "dot, K=%d d=%d certified, 3 tags, threshold 1", K, d);
        }
    add((kh_case){0, 5, 30, {1000, 5, 3003}, 0, 300, 0x1e, 25, 0, 0, -1, 2, 1}, "dot, certified, %d tags, top-%d", 300,
        25);
}

size_t kh_cases(const kh_case **out) {
    if (!ncases) build_cases();
    *out = cases;
    return ncases;
}

double kh_tolerance(mvke_storage storage, int bf16_dot) {
    if (mvke_storage_is_codec(storage)) return 1e-4;
    return storage == MVKE_STORAGE_BF16 && bf16_dot ? 5e-5 : 1e-5;
}

/* ---- worlds ------------------------------------------------------------------------------ */

/* Trained parameters from the rows: sq8 from their range, pq with centroids taken from (slightly
 * moved) sub-vectors of the rows; the kernels do not care how good the codec is. */
static int codec_train(mvke_codec *c, int64_t n, const float *x, synth_rng *r) {
    const int64_t D = (int64_t)c->K * c->d;
    if (c->storage == MVKE_STORAGE_SQ8) {
        for (int64_t i = 0; i < D; i++) {
            float lo = n ? x[i] : -1.0f, hi = n ? x[i] : 1.0f;
            for (int64_t u = 1; u < n; u++) {
                lo = fminf(lo, x[u * D + i]);
                hi = fmaxf(hi, x[u * D + i]);
            }
            c->vmin[i] = lo;
            c->scale[i] = (hi - lo) / 255.0f;
        }
    } else {
        for (int k = 0; k < c->K; k++)
            for (int j = 0; j < c->m; j++) {
                const int ds = mvke_pq_dsub(c, j);
                float *t = (float *)mvke_pq_table(c, k, j);
                for (int e = 0; e < MVKE_PQ_CENTROIDS; e++)
                    for (int i = 0; i < ds; i++) {
                        const int64_t u = n ? synth_rng_below(r, n) : 0;
                        const float v = n ? x[u * D + (int64_t)k * c->d + c->off[j] + i] : 0.0f;
                        t[e * ds + i] = v + 0.05f * (float)synth_rng_normal(r);
                    }
            }
    }
    c->trained = 1;
    return mvke_codec_train_bounds(c, n, x);
}

void kh_world_free(kh_world *w) {
    free(w->x);
    free(w->dec);
    free(w->ids);
    for (int b = 0; b < 3; b++) {
        free((void *)w->blocks[b].data);
        free((void *)w->blocks[b].refine);
    }
    mvke_codec_release(&w->codec);
    free(w->q);
    free(w->w);
    free(w->z);
    free(w->zg);
    free(w->allowed);
    free(w->bits);
    free(w->sorted);
    memset(w, 0, sizeof *w);
}

int kh_world_make(kh_world *w, mvke_storage storage, const kh_case *c, uint64_t seed, int keep_decoded) {
    memset(w, 0, sizeof *w);
    const int K = c->K, d = c->d, D = K * d, P = mvke_gram_size(K);
    synth_rng r = synth_rng_at(synth_key(seed, 0), 0);
    w->storage = storage;
    w->K = K;
    w->d = d;
    w->D = D;
    w->P = P;
    w->n = c->sizes[0] + c->sizes[1] + c->sizes[2];
    const size_t nn = (size_t)(w->n ? w->n : 1);
    w->x = malloc(nn * (size_t)D * sizeof(float));
    w->dec = keep_decoded ? malloc(nn * (size_t)D * sizeof(float)) : NULL;
    w->ids = malloc(nn * sizeof(int64_t));
    float *g = malloc((size_t)P * sizeof(float));
    if (!w->x || (keep_decoded && !w->dec) || !w->ids || !g) goto fail;
    for (int64_t i = 0; i < w->n; i++) {
        float *row = w->x + i * D;
        for (int j = 0; j < D; j++) row[j] = (float)synth_rng_normal(&r);
        for (int k = 0; k < K; k++)
            if ((c->db_task && !((c->db_task >> k) & 1)) || (keep_decoded && i % 11 == 4))
                memset(row + k * d, 0, sizeof(float) * d);
        w->ids[i] = 7 * i + 3;
    }
    mvke_layout L;
    if (mvke_layout_init(&L, K, d, storage) != 0) goto fail;
    mvke_layout_set_score(&L, c->dot ? MVKE_SCORE_DOT : MVKE_SCORE_COSINE);
    if (mvke_storage_is_codec(storage)) {
        if (mvke_codec_init(&w->codec, K, d, storage, 0) != 0) goto fail;
        if (codec_train(&w->codec, w->n, w->x, &r) != 0) goto fail;
        mvke_layout_set_codec(&L, &w->codec, c->refine_R != 0);
    }
    int64_t at = 0;
    for (int b = 0; b < 3; b++) {
        const int64_t n = c->sizes[b], cap = mvke_layout_round(n + (b == 1 ? 16 : 0));
        void *data = calloc(1, mvke_layout_block_bytes(&L, cap ? cap : MVKE_LANES) + 64);
        if (!data) goto fail;
        for (int64_t i = 0; i < n; i++, at++) {
            const float *row = w->x + at * D;
            if (mvke_storage_is_codec(storage)) {
                mvke_gram_doubled(K, d, row, g); /* norms from the rows as given */
                mvke_layout_put(&L, data, cap, i, row, g);
            } else { /* rounded storages: the triangle of the stored values, as the store does */
                float *tmp = w->dec ? w->dec + at * D : malloc(sizeof(float) * D);
                if (!tmp) {
                    free(data);
                    goto fail;
                }
                mvke_layout_put(&L, data, cap, i, row, g);
                mvke_layout_get(&L, data, cap, i, tmp, NULL);
                mvke_gram_doubled(K, d, tmp, g);
                mvke_layout_put(&L, data, cap, i, tmp, g);
                if (!w->dec) free(tmp);
            }
            if (w->dec && mvke_storage_is_codec(storage)) mvke_layout_get(&L, data, cap, i, w->dec + at * D, NULL);
        }
        float *refine = NULL;
        if (L.refine) { /* the rows as given, for exact re-scoring */
            if (!(refine = malloc((size_t)(n ? n : 1) * (size_t)D * sizeof *refine))) {
                free(data);
                goto fail;
            }
            memcpy(refine, w->x + (at - n) * D, (size_t)n * (size_t)D * sizeof *refine);
        }
        w->blocks[b] = (mvke_kblock){.n = n, .cap = cap, .data = data, .ids = w->ids + (at - n), .refine = refine};
    }
    /* A codec's zero experts decode to nonzero values: only rows stored exactly may declare the
     * experts they are zero outside (the tag tables, which are never compressed). */
    const uint64_t experts = c->db_task && !mvke_storage_is_codec(storage) ? c->db_task : mvke_experts_all(K);
    w->db = (mvke_kdb){.L = L, .experts = experts, .nblocks = 3, .blocks = w->blocks, .refine_R = c->refine_R};

    /* Queries: gates on the query task (all zero for t % 5 == 2). */
    w->nq = c->nq;
    const size_t nq = (size_t)(c->nq ? c->nq : 1);
    w->q = malloc(nq * (size_t)d * sizeof(float));
    w->w = malloc(nq * (size_t)K * sizeof(float));
    w->z = malloc(nq * (size_t)D * sizeof(float));
    w->zg = malloc(nq * (size_t)P * sizeof(float));
    if (!w->q || !w->w || !w->z || !w->zg) goto fail;
    const uint64_t qt = c->q_task ? c->q_task : mvke_experts_all(K);
    for (int t = 0; t < c->nq; t++) {
        for (int j = 0; j < d; j++) w->q[(size_t)t * d + j] = (float)synth_rng_normal(&r);
        float *wt = w->w + (size_t)t * K;
        const int zero = keep_decoded && t % 5 == 2;
        for (int k = 0; k < K; k++) wt[k] = ((qt >> k) & 1) && !zero ? (float)synth_rng_uniform(&r) + 0.05f : 0.0f;
        if (mvke_pack_query(K, d, w->q + (size_t)t * d, wt, w->z + (size_t)t * D) != MVKE_OK) goto fail;
        mvke_gram_plain(K, d, w->z + (size_t)t * D, w->zg + (size_t)t * P);
    }

    /* Filters: every third row. */
    w->nbits = 7 * w->n + 8;
    w->allowed = calloc(nn, 1);
    w->bits = calloc((size_t)(w->nbits / 8 + 1), 1);
    w->sorted = malloc(nn * sizeof(int64_t));
    if (!w->allowed || !w->bits || !w->sorted) goto fail;
    for (int64_t i = 0; i < w->n; i++)
        if (i % 3 == 0) {
            w->allowed[i] = 1;
            w->bits[w->ids[i] >> 3] |= (uint8_t)(1u << (w->ids[i] & 7));
            w->sorted[w->nsorted++] = w->ids[i];
        }
    free(g);
    return 0;
fail:
    free(g);
    kh_world_free(w);
    return -1;
}

/* ---- running a case ---------------------------------------------------------------------- */

static int member(void *ctx, int64_t id) {
    const kh_world *w = ctx;
    return id >= 0 && id < w->nbits && ((w->bits[id >> 3] >> (id & 7)) & 1);
}

static void filter_of(const kh_world *w, const kh_case *c, mvke_kfilter *f) {
    memset(f, 0, sizeof *f);
    if (c->filter == KH_FILTER_BITS) {
        f->bits = w->bits;
        f->nbits = w->nbits;
    } else if (c->filter == KH_FILTER_SORTED) {
        f->sorted = w->sorted;
        f->nsorted = w->nsorted;
    } else if (c->filter == KH_FILTER_CALLBACK) {
        f->member = member;
        f->member_ctx = (void *)w;
    }
}

/* Whether the search re-scores from the rows (a codec with refine: certified, or the R*k best). */
static int refined(const kh_world *w, const kh_case *c) {
    return c->refine_R != 0 && mvke_storage_is_codec(w->storage);
}

int kh_check(const kh_world *w, const kh_case *c, char *msg, size_t cap) {
    const int K = w->K, d = w->d;
    const mvke_kqueries qs = {w->nq, w->z, w->zg};
    mvke_kfilter f;
    filter_of(w, c, &f);
    const mvke_kfilter *fp = c->filter ? &f : NULL;
    const uint8_t *allowed = c->filter ? w->allowed : NULL;
    const double tol = kh_tolerance(w->storage, mvke_scan_kernels_of(mvke_cpu_variant_get())->bf16_dot);
    const int exact = refined(w, c);
    /* The oracle: as stored, or exact where refine re-scores from the rows. */
    const float *xnum = exact || w->storage == MVKE_STORAGE_F32 ? w->x : w->dec;
    const float *xden = !exact && mvke_storage_is_codec(w->storage) ? w->x : NULL;
    const size_t nq = (size_t)(w->nq ? w->nq : 1), nn = (size_t)(w->n ? w->n : 1);
    const int64_t k = c->k;
    float *S = k ? malloc(nq * (size_t)k * sizeof(float)) : NULL;
    int64_t *I = k ? malloc(nq * (size_t)k * sizeof(int64_t)) : NULL;
    oracle_hit *ref = malloc(nn * sizeof *ref);
    mvke_hits *lists = NULL;
    int rc = -1;
    if ((k && (!S || !I)) || !ref) {
        snprintf(msg, cap, "out of memory");
        goto out;
    }
    const mvke_status st = mvke_scan_search(&w->db, &qs, k, c->thr, fp, c->threads, S, I, k ? NULL : &lists);
    if (st != MVKE_OK) {
        snprintf(msg, cap, "search failed: %s", mvke_last_error());
        goto out;
    }
    int64_t eligible = 0;
    for (int64_t i = 0; i < w->n; i++) eligible += !allowed || allowed[i];
    /* Refine over fewer candidates than rows is approximate: its scores are exact, its set is not.
     * A certified search is exact: set and scores. */
    const int certified = exact && c->refine_R < 0;
    const int whole = !exact || certified || (k > 0 && k * c->refine_R >= eligible);
    /* Large batches: every query is searched, about 24 of them (spread over every group and
     * tile, the last included) are checked; that a batch scores each query as it scores it
     * alone is tests/test_scan.c's own test. */
    const int step = w->nq > 24 ? (w->nq + 23) / 24 : 1;
    for (int t = 0; t < w->nq; t++) {
        if (t % step != 0 && t != w->nq - 1) continue;
        const int64_t nref = c->dot ? oracle_rank_dot(K, d, w->n, xnum, w->ids, allowed, w->q + (size_t)t * d,
                                                      w->w + (size_t)t * K, ref)
                                    : oracle_rank(K, d, w->n, xnum, xden, w->ids, allowed, w->q + (size_t)t * d,
                                                  w->w + (size_t)t * K, ref);
        char why[256] = "";
        int bad;
        if (k) {
            const int64_t *it = I + (size_t)t * k;
            const float *sc = S + (size_t)t * k;
            int64_t got = 0;
            while (got < k && it[got] >= 0) got++;
            bad = 0;
            for (int64_t i = got; i < k && !bad; i++)
                if (it[i] != -1 || sc[i] != -INFINITY) {
                    snprintf(why, sizeof why, "entry %lld after the last result is not padding", (long long)i);
                    bad = 1;
                }
            if (!bad && whole) bad = oracle_check_topk(it, sc, got, k, ref, nref, tol, why, sizeof why) != 0;
            if (!bad && !whole) /* every score exact, sorted */
                bad = oracle_check_scores(it, sc, got, -INFINITY, ref, nref, tol, why, sizeof why) != 0;
        } else {
            mvke_hits *l = &lists[t];
            mvke_pairs_sort(l->s, l->id, l->n);
            /* Refine keeps the codes' hits whose exact scores pass: their scores, not the set
             * (a certified search: the set too). */
            bad = (exact && !certified ? oracle_check_scores(l->id, l->s, l->n, c->thr, ref, nref, tol, why, sizeof why)
                                       : oracle_check_range(l->id, l->s, l->n, c->thr, ref, nref, tol, why, sizeof why)) != 0;
        }
        if (bad) {
            snprintf(msg, cap, "query %d: %s", t, why);
            goto out;
        }
    }
    rc = 0;
out:
    if (lists) {
        for (int t = 0; t < w->nq; t++) mvke_hits_release(&lists[t]);
        mvke_free(lists);
    }
    free(S);
    free(I);
    free(ref);
    return rc;
}

double kh_time(const kh_world *w, const kh_case *c, int reps) {
    const mvke_kqueries qs = {w->nq, w->z, w->zg};
    mvke_kfilter f;
    filter_of(w, c, &f);
    const size_t nq = (size_t)(w->nq ? w->nq : 1);
    const int64_t k = c->k;
    float *S = k ? malloc(nq * (size_t)k * sizeof(float)) : NULL;
    int64_t *I = k ? malloc(nq * (size_t)k * sizeof(int64_t)) : NULL;
    double *t = malloc((size_t)(reps + 1) * sizeof(double));
    double out = -1.0;
    if ((k && (!S || !I)) || !t) goto done;
    for (int r = 0; r <= reps; r++) {
        mvke_hits *lists = NULL;
        const double t0 = bench_now();
        const mvke_status st = mvke_scan_search(&w->db, &qs, k, c->thr, c->filter ? &f : NULL, c->threads, S, I,
                                                k ? NULL : &lists);
        t[r] = bench_now() - t0;
        if (lists) {
            for (int q = 0; q < w->nq; q++) mvke_hits_release(&lists[q]);
            mvke_free(lists);
        }
        if (st != MVKE_OK) goto done;
    }
    out = bench_median(t + 1, reps);
done:
    free(S);
    free(I);
    free(t);
    return out;
}
