/*
 * test_lists.c - k-means lists (index/lists.c) and the searches by lists (index/listed.c): a
 * listed index without a probe count answers exactly as the flat index of the same users (every
 * storage, both scores, top-k, thresholds, allow lists, after updates); the list bound holds for
 * more than 10^6 (list, tag) pairs against the kernel's float32 scores and float64 ones; probed
 * answers are subsets of the exact one, certified only when they equal it.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "index/index_impl.h"
#include "kernels/cpu/scan.h"
#include "kernels/gram.h"
#include "support/oracle.h"
#include "support/rng.h"
#include "support/world.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NU 4000
#else
#define NU 20000
#endif

typedef struct tagset {
    int nq, K, d;
    float *q, *w, *z; /* nq * d, nq * K, nq * K*d */
} tagset;

static synth_world *demo_world(int64_t n, mvke_score score) {
    synth_world_options o;
    synth_world_options_init(&o);
    synth_world_options_for_score(&o, score);
    o.nusers = n;
    synth_world *sw;
    char msg[256];
    cr_assert_eq(synth_world_new(&sw, &o, msg, sizeof msg), MVKE_OK, "%s", msg);
    return sw;
}

/* nq of the world's tags, both tasks, spread over the taxonomy. */
static tagset world_tags(const synth_world *sw, int nq) {
    const int K = sw->opt.K, d = sw->opt.d;
    tagset t = {nq, K, d, malloc((size_t)nq * d * 4), malloc((size_t)nq * K * 4), malloc((size_t)nq * K * d * 4)};
    for (int i = 0; i < nq; i++) {
        const int64_t row = (i % sw->opt.ntasks) * sw->ntags + (int64_t)i * 53 % sw->ntags;
        memcpy(t.q + (size_t)i * d, sw->q + row * d, (size_t)d * 4);
        memcpy(t.w + (size_t)i * K, sw->w + row * K, (size_t)K * 4);
        cr_assert_eq(mvke_pack_query(K, d, t.q + (size_t)i * d, t.w + (size_t)i * K, t.z + (size_t)i * K * d), MVKE_OK);
    }
    return t;
}

static void tags_free(tagset *t) {
    free(t->q);
    free(t->w);
    free(t->z);
}

static mvke_index *make_index(const synth_world *sw, const char *storage, int refine, mvke_score score, int nlists) {
    mvke_index_options o;
    mvke_index_options_init(&o);
    cr_assert_eq(mvke_index_options_set_storage(&o, storage), MVKE_OK);
    o.refine = refine;
    o.score = score;
    mvke_index *ix;
    cr_assert_eq(mvke_index_new(&ix, sw->opt.K, sw->opt.d, &o), MVKE_OK);
    if (mvke_storage_is_codec(o.storage)) cr_assert_eq(mvke_index_train(ix, sw->opt.nusers, sw->x), MVKE_OK);
    cr_assert_eq(mvke_index_add(ix, sw->opt.nusers, sw->user_id, sw->x), MVKE_OK, "%s", mvke_last_error());
    if (nlists) cr_assert_eq(mvke_index_build_lists(ix, nlists), MVKE_OK, "%s", mvke_last_error());
    return ix;
}

/* Top-k and threshold answers of a and b agree entry for entry, bit for bit. */
static void same_answers(mvke_index *flat, mvke_index *listed, const tagset *t, int64_t k, const mvke_allow *allow,
                         const char *what) {
    const size_t n = (size_t)t->nq * (size_t)k;
    float *fs = malloc(n * 4), *ls = malloc(n * 4);
    int64_t *fi = malloc(n * 8), *li = malloc(n * 8);
    cr_assert_eq(mvke_index_search(flat, t->nq, t->z, k, allow, fs, fi), MVKE_OK);
    cr_assert_eq(mvke_index_search(listed, t->nq, t->z, k, allow, ls, li), MVKE_OK, "%s", mvke_last_error());
    mvke_search_stats st;
    mvke_last_search_stats(&st);
    for (size_t e = 0; e < n; e++)
        cr_assert(fi[e] == li[e] && (fs[e] == ls[e] || (isinf(fs[e]) && isinf(ls[e]))),
                  "%s: query %zu rank %zu: flat (%lld, %.9g), listed (%lld, %.9g)", what, e / k, e % k,
                  (long long)fi[e], (double)fs[e], (long long)li[e], (double)ls[e]);
    cr_assert(st.certified, "%s: a listed exact search is not certified", what);
    /* A threshold at the k-th score of the first query. */
    const float thr = fs[k - 1];
    mvke_result *fr, *lr;
    cr_assert_eq(mvke_index_range_search(flat, t->nq, t->z, thr, allow, &fr), MVKE_OK);
    cr_assert_eq(mvke_index_range_search(listed, t->nq, t->z, thr, allow, &lr), MVKE_OK);
    for (int i = 0; i < t->nq; i++) {
        const int64_t *a, *b;
        const float *as, *bs;
        int64_t na, nb;
        mvke_result_get(fr, i, &a, &as, &na);
        mvke_result_get(lr, i, &b, &bs, &nb);
        cr_assert_eq(na, nb, "%s: threshold query %d: flat %lld users, listed %lld", what, i, (long long)na, (long long)nb);
        for (int64_t e = 0; e < na; e++)
            cr_assert(a[e] == b[e] && as[e] == bs[e], "%s: threshold query %d entry %lld differs", what, i, (long long)e);
    }
    mvke_result_free(fr);
    mvke_result_free(lr);
    free(fs);
    free(ls);
    free(fi);
    free(li);
}

Test(lists, exact_as_flat_every_storage) {
    synth_world *sw = demo_world(NU, MVKE_SCORE_COSINE);
    tagset t = world_tags(sw, 24);
    static const struct { const char *storage; int refine; } cases[] = {
        {"f32", 0}, {"f16", 0}, {"bf16", 0}, {"sq8", 1}, {"pq", 1}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        mvke_index *flat = make_index(sw, cases[c].storage, cases[c].refine, MVKE_SCORE_COSINE, 0);
        mvke_index *listed = make_index(sw, cases[c].storage, cases[c].refine, MVKE_SCORE_COSINE, 64);
        same_answers(flat, listed, &t, 100, NULL, cases[c].storage);
        same_answers(flat, listed, &t, 7, NULL, cases[c].storage);
        mvke_index_free(flat);
        mvke_index_free(listed);
    }
    tags_free(&t);
    synth_world_free(sw);
}

Test(lists, exact_prunes_on_the_demo_world) {
    synth_world *sw = demo_world(NU, MVKE_SCORE_COSINE);
    tagset t = world_tags(sw, 40);
    mvke_index *flat = make_index(sw, "f32", 0, MVKE_SCORE_COSINE, 0);
    mvke_index *listed = make_index(sw, "f32", 0, MVKE_SCORE_COSINE, 128);
    same_answers(flat, listed, &t, 10, NULL, "f32 top-10");
    mvke_search_stats st;
    float s[40 * 10];
    int64_t id[40 * 10];
    cr_assert_eq(mvke_index_search(listed, 40, t.z, 10, NULL, s, id), MVKE_OK);
    mvke_last_search_stats(&st);
    fprintf(stderr, "lists: exact top-10 over 128 lists read %.1f lists and %lld of %d users per tag\n",
            (double)st.lists_scanned / 40, (long long)st.users_scanned, NU);
    cr_assert(st.lists_scanned > 0 && st.lists_scanned <= 40 * 128);
    mvke_index_free(flat);
    mvke_index_free(listed);
    tags_free(&t);
    synth_world_free(sw);
}

Test(lists, exact_as_flat_dot_and_allow) {
    synth_world *sw = demo_world(NU, MVKE_SCORE_DOT);
    tagset t = world_tags(sw, 16);
    mvke_index *flat = make_index(sw, "f32", 0, MVKE_SCORE_DOT, 0);
    mvke_index *listed = make_index(sw, "f32", 0, MVKE_SCORE_DOT, 50);
    same_answers(flat, listed, &t, 50, NULL, "dot");
    mvke_allow *allow;
    int64_t *ok = malloc(NU / 3 * sizeof *ok);
    for (int64_t i = 0; i < NU / 3; i++) ok[i] = 3 * i;
    cr_assert_eq(mvke_allow_new_sorted(&allow, ok, NU / 3), MVKE_OK);
    same_answers(flat, listed, &t, 50, allow, "dot, allow list");
    mvke_allow_free(allow);
    free(ok);
    mvke_index_free(flat);
    mvke_index_free(listed);
    tags_free(&t);
    synth_world_free(sw);
}

/* Every member's score, from the kernel in float32 and from float64, stays under its list's
 * bound, for random tags (random gates, some nearly cancelling) over a demo world and a world of
 * random normal users. */
static int64_t check_bounds(mvke_index *ix, const float *x_by_pos, int nq, uint64_t seed, mvke_score score) {
    const int K = ix->store.K, d = ix->store.d, D = K * d, P = mvke_gram_size(K);
    const int64_t n = ix->store.count;
    const mvke_lists *l = &ix->lists;
    float *q = malloc((size_t)nq * d * 4), *w = malloc((size_t)nq * K * 4), *z = malloc((size_t)nq * D * 4);
    float *g = malloc((size_t)nq * P * 4);
    const uint64_t key = synth_key(seed, 7);
    for (int i = 0; i < nq; i++) {
        synth_normals(key, (uint64_t)i * (d + K), d, q + (size_t)i * d);
        for (int k = 0; k < K; k++) {
            const double u = synth_uniform(key, (uint64_t)1 << 40 | ((uint64_t)i * K + k));
            /* gates of both signs, some near zero, some near cancelling */
            w[(size_t)i * K + k] = (float)(i % 3 == 0 ? u : i % 3 == 1 ? 2.0 * u - 1.0 : (k % 2 ? 1.0 : -1.0) * (0.9 + 0.1 * u));
        }
        cr_assert_eq(mvke_pack_query(K, d, q + (size_t)i * d, w + (size_t)i * K, z + (size_t)i * D), MVKE_OK);
        mvke_gram_plain(K, d, z + (size_t)i * D, g + (size_t)i * P);
    }
    float *s = malloc((size_t)nq * n * 4);
    mvke_kblock *blocks = malloc((size_t)(ix->store.nblocks + 1) * sizeof *blocks);
    mvke_kdb db;
    mvke_store_view(&ix->store, blocks, &db);
    mvke_kqueries kq = {nq, z, g};
    cr_assert_eq(mvke_scan_intervals(&db, &kq, 0, s, NULL), MVKE_OK);
    float *cs = malloc((size_t)l->n * 4), *ub = malloc((size_t)l->n * 4);
    int64_t pairs = 0, below = 0;
    for (int i = 0; i < nq; i++) {
        mvke_lists_bounds(l, K, d, score, z + (size_t)i * D, cs, ub);
        for (int j = 0; j < l->n; j++) {
            if (l->off[j + 1] == l->off[j]) continue;
            pairs++;
            float top = -INFINITY;
            for (int64_t p = l->off[j]; p < l->off[j + 1]; p++) {
                const float v = s[(size_t)i * n + p];
                const double ex = score == MVKE_SCORE_DOT
                                      ? oracle_score_dot(K, d, x_by_pos + p * D, q + (size_t)i * d, w + (size_t)i * K)
                                      : oracle_score(K, d, x_by_pos + p * D, q + (size_t)i * d, w + (size_t)i * K);
                cr_assert(v <= ub[j] && ex <= ub[j], "tag %d, list %d, position %lld: score %.9g (exact %.9g) above the bound %.9g",
                          i, j, (long long)p, (double)v, ex, (double)ub[j]);
                top = v > top ? v : top;
            }
            below += ub[j] < 1.0f;
        }
    }
    fprintf(stderr, "lists: %lld (list, tag) pairs within their bound; %.1f%% of bounds below 1\n", (long long)pairs,
            100.0 * (double)below / (double)pairs);
    free(q), free(w), free(z), free(g), free(s), free(blocks), free(cs), free(ub);
    return pairs;
}

/* The index's rows by position (float32, as a search scores them). */
static float *rows_by_pos(const mvke_index *ix) {
    const int64_t n = ix->store.count, D = ix->store.D;
    float *x = malloc((size_t)n * D * 4);
    for (int64_t p = 0; p < n; p++) mvke_store_get(&ix->store, p, x + p * D);
    return x;
}

Test(lists, bound_holds_for_a_million_pairs, .timeout = 600) {
    int64_t pairs = 0;
    for (int wi = 0; wi < 3; wi++) {
        const mvke_score score = wi == 2 ? MVKE_SCORE_DOT : MVKE_SCORE_COSINE;
        synth_world *sw = demo_world(NU / 2, score);
        if (wi == 1) /* little structure: random normal users */
            synth_normals(synth_key(99, 1), 0, (int64_t)sw->opt.nusers * sw->opt.K * sw->opt.d, sw->x);
        mvke_index *ix = make_index(sw, "f32", 0, score, 1000);
        float *x = rows_by_pos(ix);
        pairs += check_bounds(ix, x, 400, 11 + (uint64_t)wi, score);
        free(x);
        mvke_index_free(ix);
        synth_world_free(sw);
    }
    fprintf(stderr, "lists: %lld (list, tag) pairs in all\n", (long long)pairs);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    cr_assert(pairs >= 1000000, "only %lld pairs", (long long)pairs);
#endif
}

Test(lists, probes_are_subsets_certified_only_when_exact) {
    synth_world *sw = demo_world(NU, MVKE_SCORE_COSINE);
    const int nq = 30, k = 50;
    tagset t = world_tags(sw, nq);
    mvke_index *listed = make_index(sw, "f32", 0, MVKE_SCORE_COSINE, 100);
    float *es = malloc(nq * k * 4), *ps = malloc(nq * k * 4);
    int64_t *ei = malloc(nq * k * 8), *pi = malloc(nq * k * 8);
    cr_assert_eq(mvke_index_search(listed, nq, t.z, k, NULL, es, ei), MVKE_OK);
    double prev = -1.0;
    for (int P = 1; P <= 128; P *= 2) {
        cr_assert_eq(mvke_index_set_probe(listed, P), MVKE_OK);
        int64_t found = 0;
        int all_cert = 1;
        for (int i = 0; i < nq; i++) {
            cr_assert_eq(mvke_index_search(listed, 1, t.z + (size_t)i * t.K * t.d, k, NULL, ps + i * k, pi + i * k), MVKE_OK);
            mvke_search_stats st;
            mvke_last_search_stats(&st);
            int same = 1;
            for (int e = 0; e < k; e++) {
                int in = 0;
                for (int f = 0; f < k && !in; f++) in = ei[i * k + f] == pi[i * k + e];
                found += in;
                same &= pi[i * k + e] == ei[i * k + e] && ps[i * k + e] == es[i * k + e];
                /* every probed entry is a true user with its true score: at most the exact k-th's rank */
                cr_assert(pi[i * k + e] < 0 || ps[i * k + e] <= es[i * k + e], "probe %d query %d rank %d above exact", P, i, e);
            }
            if (st.certified) cr_assert(same, "probe %d, query %d: certified but not the exact answer", P, i);
            all_cert &= st.certified;
            /* a probe of every list is the exact search, which may skip lists */
            cr_assert(P < 100 ? st.lists_scanned == P : st.lists_scanned <= 100, "probe %d read %lld lists", P,
                      (long long)st.lists_scanned);
        }
        const double recall = (double)found / (double)(nq * k);
        fprintf(stderr, "lists: probe %3d of 100: recall@%d %.3f%s\n", P, k, recall, all_cert ? " (all certified)" : "");
        cr_assert(recall >= prev - 1e-12, "recall fell from %.3f to %.3f at probe %d", prev, recall, P);
        prev = recall;
        if (P >= 100) cr_assert(recall == 1.0 && all_cert);
    }
    free(es), free(ps), free(ei), free(pi);
    mvke_index_free(listed);
    tags_free(&t);
    synth_world_free(sw);
}

Test(lists, updates_keep_answers_exact) {
    synth_world *sw = demo_world(NU, MVKE_SCORE_COSINE);
    tagset t = world_tags(sw, 12);
    const int64_t n = NU, D = (int64_t)sw->opt.K * sw->opt.d;
    /* Lists over the first 3/4 of the users; then the rest added (tail), a tenth upserted with
     * other users' rows, a fifth removed; a flat index takes the same changes. */
    mvke_index_options o;
    mvke_index_options_init(&o);
    mvke_index *flat, *listed;
    cr_assert_eq(mvke_index_new(&flat, sw->opt.K, sw->opt.d, &o), MVKE_OK);
    cr_assert_eq(mvke_index_new(&listed, sw->opt.K, sw->opt.d, &o), MVKE_OK);
    const int64_t first = n * 3 / 4;
    for (int r = 0; r < 2; r++) {
        mvke_index *ix = r ? listed : flat;
        cr_assert_eq(mvke_index_add(ix, first, sw->user_id, sw->x), MVKE_OK);
        if (r) cr_assert_eq(mvke_index_build_lists(ix, 40), MVKE_OK);
        cr_assert_eq(mvke_index_add(ix, n - first, sw->user_id + first, sw->x + first * D), MVKE_OK);
        for (int64_t u = 0; u < n; u += 10)
            cr_assert_eq(mvke_index_upsert(ix, 1, &sw->user_id[u], sw->x + ((u * 7919) % n) * D), MVKE_OK);
        for (int64_t u = 3; u < n; u += 5) cr_assert_eq(mvke_index_remove(ix, 1, &sw->user_id[u]), MVKE_OK);
    }
    mvke_lists_info li;
    cr_assert_eq(mvke_index_lists(listed, &li), MVKE_OK);
    cr_assert(li.nlists == 40 && li.listed + li.tail == n - n / 5, "lists %d, listed %lld, tail %lld", li.nlists,
              (long long)li.listed, (long long)li.tail);
    same_answers(flat, listed, &t, 100, NULL, "after updates");
    /* And the bound still covers every member. */
    float *x = rows_by_pos(listed);
    check_bounds(listed, x, 50, 5, MVKE_SCORE_COSINE);
    free(x);
    mvke_index_free(flat);
    mvke_index_free(listed);
    tags_free(&t);
    synth_world_free(sw);
}

Test(lists, bad_requests_change_nothing) {
    mvke_index *ix;
    cr_assert_eq(mvke_index_new(&ix, 2, 3, NULL), MVKE_OK);
    cr_assert_eq(mvke_index_build_lists(ix, 4), MVKE_ERR_INVALID);
    cr_assert(strstr(mvke_last_error(), "empty"), "%s", mvke_last_error());
    float x[5 * 6];
    for (int i = 0; i < 30; i++) x[i] = (float)(i % 7) - 3.0f;
    cr_assert_eq(mvke_index_add(ix, 5, NULL, x), MVKE_OK);
    cr_assert_eq(mvke_index_build_lists(ix, 6), MVKE_ERR_INVALID);
    cr_assert(strstr(mvke_last_error(), "6 lists for 5 users"), "%s", mvke_last_error());
    cr_assert_eq(mvke_index_build_lists(ix, -1), MVKE_ERR_INVALID);
    mvke_lists_info li;
    mvke_index_lists(ix, &li);
    cr_assert_eq(li.nlists, 0);
    cr_assert_eq(mvke_index_set_probe(ix, -2), MVKE_ERR_INVALID);
    cr_assert_eq(mvke_index_build_lists(ix, 0), MVKE_OK); /* the default: min(n, 4 sqrt(n)) */
    mvke_index_lists(ix, &li);
    cr_assert(li.nlists == 5 && li.listed == 5 && li.tail == 0);
    cr_assert_eq(mvke_lists_default(1000000), 4000);
    mvke_index_free(ix);
}

Test(lists, saved_and_opened_with_the_index) {
    synth_world *sw = demo_world(NU / 2, MVKE_SCORE_COSINE);
    tagset t = world_tags(sw, 10);
    mvke_index *flat = make_index(sw, "sq8", 1, MVKE_SCORE_COSINE, 0);
    mvke_index *listed = make_index(sw, "sq8", 1, MVKE_SCORE_COSINE, 30);
    char path[] = "/tmp/mvke-test-lists-XXXXXX";
    const int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    cr_assert_eq(mvke_file_save(path, listed, NULL), MVKE_OK, "%s", mvke_last_error());
    mvke_index *opened;
    cr_assert_eq(mvke_file_open(path, 0, &opened, NULL), MVKE_OK, "%s", mvke_last_error());
    mvke_lists_info a, b;
    mvke_index_lists(listed, &a);
    mvke_index_lists(opened, &b);
    cr_assert(a.nlists == 30 && memcmp(&a, &b, sizeof a) == 0, "lists differ after a save and an open");
    cr_assert_eq(memcmp(listed->lists.radius, opened->lists.radius, 30 * 5 * sizeof(float)), 0);
    same_answers(flat, opened, &t, 100, NULL, "opened sq8 file");
    /* A damaged lists section is refused at open. */
    FILE *f = fopen(path, "r+b");
    unsigned char head[64 + 32 * 32];
    cr_assert_eq(fread(head, 1, sizeof head, f), sizeof head);
    uint64_t at = 0;
    for (int i = 0; i < 32; i++) {
        const unsigned char *e = head + 64 + 32 * i;
        if (e[0] == 18) memcpy(&at, e + 8, 8);
    }
    cr_assert(at > 0, "no lists section in the file");
    fseek(f, (long)at + 64 + 8, SEEK_SET);
    fputc(0x7f, f);
    fclose(f);
    mvke_index *bad = NULL;
    cr_assert_eq(mvke_file_open(path, 0, &bad, NULL), MVKE_ERR_CHECKSUM);
    cr_assert(strstr(mvke_last_error(), "lists"), "%s", mvke_last_error());
    unlink(path);
    mvke_index_free(opened);
    mvke_index_free(flat);
    mvke_index_free(listed);
    tags_free(&t);
    synth_world_free(sw);
}

/* Views of a listed index (the MPI ranks' parts) keep the lists cut to their rows: the views'
 * answers merged are the parent's, exact and probed. */
Test(lists, views_merge_to_the_parent) {
    const int K = 2, d = 4, D = K * d, nq = 6, k = 30;
    const int64_t n = 2 * 65536 + 9000;
    float *x = malloc((size_t)n * D * sizeof *x), z[6 * 8];
    synth_normals(synth_key(3, 1), 0, n * D, x);
    for (int64_t i = 0; i < n * D; i++) x[i] += (float)((i / D) % 5); /* clusters */
    synth_normals(synth_key(3, 2), 0, nq * D, z);
    mvke_index *ix;
    cr_assert_eq(mvke_index_new(&ix, K, d, NULL), MVKE_OK);
    cr_assert_eq(mvke_index_add(ix, n, NULL, x), MVKE_OK);
    cr_assert_eq(mvke_index_build_lists(ix, 40), MVKE_OK);
    mvke_index *v[3];
    const int64_t first[3] = {0, 65536, 131072}, cnt[3] = {65536, 65536, n - 131072};
    for (int r = 0; r < 3; r++) cr_assert_eq(mvke_index_view(ix, first[r], cnt[r], &v[r]), MVKE_OK, "%s", mvke_last_error());
    float ps[6 * 30], vs[3][6 * 30];
    int64_t pi[6 * 30], vi[3][6 * 30];
    for (int probe = 0; probe <= 5; probe += 5) {
        mvke_index_set_probe(ix, probe);
        cr_assert_eq(mvke_index_search(ix, nq, z, k, NULL, ps, pi), MVKE_OK);
        for (int r = 0; r < 3; r++) {
            mvke_index_set_probe(v[r], probe);
            cr_assert_eq(mvke_index_search(v[r], nq, z, k, NULL, vs[r], vi[r]), MVKE_OK);
        }
        for (int i = 0; i < nq; i++) {
            int at[3] = {0, 0, 0};
            for (int e = 0; e < k; e++) { /* merge the three sorted lists */
                int best = -1;
                for (int r = 0; r < 3; r++) {
                    if (vi[r][i * k + at[r]] < 0 || at[r] >= k) continue;
                    if (best < 0 || vs[r][i * k + at[r]] > vs[best][i * k + at[best]] ||
                        (vs[r][i * k + at[r]] == vs[best][i * k + at[best]] && vi[r][i * k + at[r]] < vi[best][i * k + at[best]]))
                        best = r;
                }
                cr_assert(best >= 0);
                cr_assert(vi[best][i * k + at[best]] == pi[i * k + e] && vs[best][i * k + at[best]] == ps[i * k + e],
                          "probe %d, query %d, rank %d: views give %lld, the parent %lld", probe, i, e,
                          (long long)vi[best][i * k + at[best]], (long long)pi[i * k + e]);
                at[best]++;
            }
        }
    }
    for (int r = 0; r < 3; r++) mvke_index_free(v[r]);
    mvke_index_free(ix);
    free(x);
}
