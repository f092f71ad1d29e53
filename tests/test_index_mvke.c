/*
 * test_index_mvke.c - IndexMVKE and IndexMVKETags (plugin/index_mvke.cpp) used the way a FAISS
 * user uses them: only through FAISS's C API plus the two constructors of mvke_faiss.h. Results
 * are compared with the core's own mvke_index_search on the same rows and with the double
 * oracle; padding is compared with what FAISS's IndexFlatIP does in the same situation.
 */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/IndexShards_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/impl/AuxIndexStructures_c.h>

#include "mvke/mvke.h"
#include "mvke/mvke_faiss.h"
#include "reference.h"

#define TOL 1e-5
#define K 5
#define DE 30
#define D (K * DE)

/* Asserts that a FAISS C API call succeeded, showing FAISS's message otherwise. */
#define OK(call)                                                                                    \
    do {                                                                                            \
        int rc_ = (call);                                                                           \
        cr_assert_eq(rc_, 0, "%s returned %d: %s", #call, rc_,                                      \
                     faiss_get_last_error() ? faiss_get_last_error() : "(no message)");            \
    } while (0)

/* Asserts that a call failed with a message. */
#define FAILS(call)                                                                                 \
    do {                                                                                            \
        int rc_ = (call);                                                                           \
        cr_assert_neq(rc_, 0, "%s succeeded but should fail", #call);                               \
        const char *m_ = faiss_get_last_error();                                                    \
        cr_assert(m_ && *m_, "%s failed without a message", #call);                                 \
    } while (0)

/* n users with sparse ids 7i+3, every 23rd all zeros; rows, ids, and both indexes filled. */
typedef struct users {
    int64_t n;
    float *x;
    int64_t *ids;
    FaissIndex *fx;  /* the plugin, through FAISS's C API */
    mvke_index *core; /* the core, directly */
} users;

static void users_make(users *u, int64_t n, uint64_t seed) {
    ref_seed(seed);
    u->n = n;
    u->x = malloc((size_t)(n ? n : 1) * D * sizeof(float));
    u->ids = malloc((size_t)(n ? n : 1) * sizeof(int64_t));
    ref_fill_normal(u->x, n * D);
    for (int64_t i = 0; i < n; i++) {
        u->ids[i] = 7 * i + 3;
        if (i % 23 == 4) memset(u->x + i * D, 0, D * sizeof(float));
    }
    OK(mvke_faiss_user_index_new(&u->fx, K, DE));
    OK(faiss_Index_add_with_ids(u->fx, n, u->x, u->ids));
    cr_assert_eq(mvke_index_new(&u->core, K, DE, NULL), MVKE_OK, "%s", mvke_last_error());
    cr_assert_eq(mvke_index_add(u->core, n, u->ids, u->x), MVKE_OK, "%s", mvke_last_error());
}

static void users_free(users *u) {
    faiss_Index_free(u->fx);
    mvke_index_free(u->core);
    free(u->x);
    free(u->ids);
}

/* nq tags with softmax gates; q (nq*DE), w (nq*K) and packed rows z (nq*D). */
static void make_tags(int nq, float *q, float *w, float *z) {
    for (int t = 0; t < nq; t++) {
        ref_fill_normal(q + t * DE, DE);
        double sum = 0;
        for (int k = 0; k < K; k++) sum += (w[t * K + k] = (float)exp(ref_normal()));
        for (int k = 0; k < K; k++) w[t * K + k] = (float)(w[t * K + k] / sum);
        cr_assert_eq(mvke_pack_query(K, DE, q + t * DE, w + t * K, z + (int64_t)t * D), MVKE_OK);
    }
}

/* The number of real results in a FAISS result row, after checking the padding behind them. */
static int64_t valid_prefix(const int64_t *labels, const float *dist, int64_t k) {
    int64_t n = 0;
    while (n < k && labels[n] >= 0) n++;
    for (int64_t j = n; j < k; j++) {
        cr_assert_eq(labels[j], -1, "slot %lld: a real result after padding", (long long)j);
        cr_assert_eq(dist[j], -FLT_MAX, "slot %lld: padding distance %g", (long long)j, dist[j]);
    }
    return n;
}

/* Checks FAISS-side results of nq tags against the core and the oracle over the given rows. */
static void check_against_core_and_oracle(const users *u, int nq, const float *q, const float *w,
                                          const float *z, int64_t k, const float *dist,
                                          const int64_t *labels) {
    float *cs = malloc((size_t)(nq * k) * sizeof(float));
    int64_t *ci = malloc((size_t)(nq * k) * sizeof(int64_t));
    ref_hit *ref = malloc((size_t)(u->n ? u->n : 1) * sizeof(ref_hit));
    cr_assert_eq(mvke_index_search(u->core, nq, z, k, NULL, cs, ci), MVKE_OK, "%s", mvke_last_error());
    for (int t = 0; t < nq; t++) {
        const int64_t *L = labels + t * k;
        const float *S = dist + t * k;
        int64_t n = valid_prefix(L, S, k);
        for (int64_t j = 0; j < n; j++) {
            cr_assert_eq(L[j], ci[t * k + j], "tag %d rank %lld: id %lld, core %lld", t, (long long)j,
                         (long long)L[j], (long long)ci[t * k + j]);
            cr_assert_eq(S[j], cs[t * k + j], "tag %d rank %lld: score differs from the core", t, (long long)j);
        }
        int64_t nref = ref_rank(K, DE, u->n, u->x, u->ids, NULL, q + t * DE, w + t * K, ref);
        ref_check_topk(L, S, n, k, ref, nref, TOL);
    }
    free(cs);
    free(ci);
    free(ref);
}

Test(index_mvke, search_matches_core_and_oracle_for_every_k) {
    users u;
    users_make(&u, 3000, 11);
    cr_assert_eq(faiss_Index_ntotal(u.fx), 3000);
    cr_assert_eq(faiss_Index_d(u.fx), D);
    cr_assert_eq(faiss_Index_metric_type(u.fx), METRIC_INNER_PRODUCT);
    cr_assert(faiss_Index_is_trained(u.fx));
    enum { NQ = 3 };
    float q[NQ * DE], w[NQ * K], z[NQ * D];
    make_tags(NQ, q, w, z);
    const int64_t ks[] = {1, 10, 100, 2048};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        int64_t k = ks[i];
        float *dist = malloc((size_t)(NQ * k) * sizeof(float));
        int64_t *labels = malloc((size_t)(NQ * k) * sizeof(int64_t));
        OK(faiss_Index_search(u.fx, NQ, z, k, dist, labels));
        check_against_core_and_oracle(&u, NQ, q, w, z, k, dist, labels);
        for (int t = 0; t < NQ; t++) cr_assert_geq(labels[t * k + k - 1], 0, "k = %lld: short result", (long long)k);
        free(dist);
        free(labels);
    }
    users_free(&u);
}

Test(index_mvke, padding_matches_faiss_index_flat_ip) {
    users u;
    users_make(&u, 5, 12);
    FaissIndexFlatIP *flat = NULL;
    OK(faiss_IndexFlatIP_new_with(&flat, D));
    OK(faiss_Index_add(flat, u.n, u.x));
    enum { KK = 9 };
    float q[DE], w[K], z[D], dm[KK], df[KK];
    int64_t lm[KK], lf[KK];
    make_tags(1, q, w, z);
    OK(faiss_Index_search(u.fx, 1, z, KK, dm, lm));
    OK(faiss_Index_search(flat, 1, z, KK, df, lf));
    for (int j = 0; j < KK; j++) {
        cr_assert_eq(lm[j] < 0, lf[j] < 0, "slot %d: padded in one index only", j);
        if (lf[j] < 0) {
            cr_assert_eq(lm[j], lf[j], "slot %d: padding label", j);
            cr_assert_eq(dm[j], df[j], "slot %d: padding distance %g, IndexFlatIP %g", j, dm[j], df[j]);
        }
    }
    check_against_core_and_oracle(&u, 1, q, w, z, KK, dm, lm);
    faiss_Index_free(flat);
    users_free(&u);
}

Test(index_mvke, add_assigns_sequential_ids_and_reconstruct_returns_rows) {
    ref_seed(13);
    enum { N = 40 };
    float *x = malloc(N * D * sizeof(float)), back[D];
    ref_fill_normal(x, N * D);
    FaissIndex *fx = NULL;
    OK(mvke_faiss_user_index_new(&fx, K, DE));
    OK(faiss_Index_add(fx, 25, x));
    OK(faiss_Index_add(fx, N - 25, x + 25 * D));
    cr_assert_eq(faiss_Index_ntotal(fx), N);
    for (int64_t i = 0; i < N; i++) {
        OK(faiss_Index_reconstruct(fx, i, back));
        cr_assert_eq(memcmp(back, x + i * D, sizeof back), 0, "row %lld differs", (long long)i);
    }
    float *many = malloc(10 * D * sizeof(float));
    OK(faiss_Index_reconstruct_n(fx, 30, 10, many));
    cr_assert_eq(memcmp(many, x + 30 * D, 10 * D * sizeof(float)), 0);
    FAILS(faiss_Index_reconstruct(fx, N, back));
    FAILS(faiss_Index_reconstruct_n(fx, 35, 10, many));
    free(many);

    /* add() numbers from ntotal, so it collides with an id given earlier: refused, nothing added. */
    FaissIndex *fy = NULL;
    int64_t one = 1;
    OK(mvke_faiss_user_index_new(&fy, K, DE));
    OK(faiss_Index_add_with_ids(fy, 1, x, &one));
    FAILS(faiss_Index_add(fy, 2, x + D));
    cr_assert_eq(faiss_Index_ntotal(fy), 1);
    faiss_Index_free(fy);
    free(x);
    faiss_Index_free(fx);
}

Test(index_mvke, range_search_matches_oracle_and_core) {
    users u;
    users_make(&u, 2000, 14);
    enum { NQ = 3 };
    float q[NQ * DE], w[NQ * K], z[NQ * D];
    make_tags(NQ, q, w, z);
    ref_hit *ref = malloc((size_t)u.n * sizeof(ref_hit));
    const float radii[] = {0.25f, 0.0f, 0.9f};
    for (size_t r = 0; r < sizeof radii / sizeof radii[0]; r++) {
        FaissRangeSearchResult *res = NULL;
        OK(faiss_RangeSearchResult_new(&res, NQ));
        OK(faiss_Index_range_search(u.fx, NQ, z, radii[r], res));
        size_t *lims;
        int64_t *labels;
        float *dist;
        faiss_RangeSearchResult_lims(res, &lims);
        faiss_RangeSearchResult_labels(res, &labels, &dist);
        mvke_result *core = NULL;
        cr_assert_eq(mvke_index_range_search(u.core, NQ, z, nextafterf(radii[r], INFINITY), NULL, &core), MVKE_OK);
        for (int t = 0; t < NQ; t++) {
            int64_t n = (int64_t)(lims[t + 1] - lims[t]);
            const int64_t *ci;
            const float *cs;
            int64_t cn;
            cr_assert_eq(mvke_result_get(core, t, &ci, &cs, &cn), MVKE_OK);
            cr_assert_eq(n, cn, "radius %g tag %d: %lld hits, core %lld", radii[r], t, (long long)n, (long long)cn);
            for (int64_t j = 0; j < n; j++) {
                cr_assert_eq(labels[lims[t] + j], ci[j]);
                cr_assert_eq(dist[lims[t] + j], cs[j]);
                cr_assert_gt(dist[lims[t] + j], radii[r], "FAISS keeps scores strictly above the radius");
            }
            int64_t nref = ref_rank(K, DE, u.n, u.x, u.ids, NULL, q + t * DE, w + t * K, ref);
            ref_check_range(labels + lims[t], dist + lims[t], n, radii[r], ref, nref, TOL);
        }
        mvke_result_free(core);
        faiss_RangeSearchResult_free(res);
    }
    free(ref);
    users_free(&u);
}

/* The oracle's allowed mask of the users still present after removals. */
static void mark_present(const users *u, const uint8_t *removed, uint8_t *allowed) {
    for (int64_t i = 0; i < u->n; i++) allowed[i] = !removed[i];
}

/* Top-k through FAISS against the oracle restricted to rows not removed. */
static void check_search_after_removal(const users *u, const uint8_t *removed, int64_t k) {
    float q[DE], w[K], z[D];
    make_tags(1, q, w, z);
    float *dist = malloc((size_t)k * sizeof(float));
    int64_t *labels = malloc((size_t)k * sizeof(int64_t));
    uint8_t *allowed = malloc((size_t)u->n);
    ref_hit *ref = malloc((size_t)u->n * sizeof(ref_hit));
    mark_present(u, removed, allowed);
    OK(faiss_Index_search(u->fx, 1, z, k, dist, labels));
    int64_t nref = ref_rank(K, DE, u->n, u->x, u->ids, allowed, q, w, ref);
    ref_check_topk(labels, dist, valid_prefix(labels, dist, k), k, ref, nref, TOL);
    free(dist);
    free(labels);
    free(allowed);
    free(ref);
}

Test(index_mvke, remove_ids_with_range_and_batch_selectors) {
    users u;
    users_make(&u, 500, 15);
    uint8_t *removed = calloc((size_t)u.n, 1);
    float row[D];

    /* Range [100, 400): ids 7i+3 in it are i = 14..56 (43 rows). */
    FaissIDSelectorRange *range = NULL;
    OK(faiss_IDSelectorRange_new(&range, 100, 400));
    size_t nremoved = 0;
    OK(faiss_Index_remove_ids(u.fx, (const FaissIDSelector *)range, &nremoved));
    int64_t expect = 0;
    for (int64_t i = 0; i < u.n; i++)
        if (u.ids[i] >= 100 && u.ids[i] < 400) {
            removed[i] = 1;
            expect++;
        }
    cr_assert_eq((int64_t)nremoved, expect, "range removed %zu, expected %lld", nremoved, (long long)expect);
    cr_assert_eq(faiss_Index_ntotal(u.fx), u.n - expect);
    FAILS(faiss_Index_reconstruct(u.fx, u.ids[20], row));
    OK(faiss_Index_reconstruct(u.fx, u.ids[60], row));
    check_search_after_removal(&u, removed, 50);
    /* The same range again removes nothing. */
    OK(faiss_Index_remove_ids(u.fx, (const FaissIDSelector *)range, &nremoved));
    cr_assert_eq(nremoved, 0);
    faiss_IDSelectorRange_free(range);

    /* A batch with present ids, already removed ids and ids never added: only present ones count. */
    int64_t batch[] = {u.ids[0], u.ids[3], u.ids[20], 4, 999999, u.ids[499], u.ids[3]};
    FaissIDSelectorBatch *sel = NULL;
    OK(faiss_IDSelectorBatch_new(&sel, sizeof batch / sizeof batch[0], batch));
    OK(faiss_Index_remove_ids(u.fx, (const FaissIDSelector *)sel, &nremoved));
    cr_assert_eq(nremoved, 3, "batch removed %zu, expected 3", nremoved);
    removed[0] = removed[3] = removed[499] = 1;
    cr_assert_eq(faiss_Index_ntotal(u.fx), u.n - expect - 3);
    check_search_after_removal(&u, removed, 1000); /* k beyond the rows left: padded */
    faiss_IDSelector_free((FaissIDSelector *)sel);

    /* A removed id can be added again. */
    OK(faiss_Index_add_with_ids(u.fx, 1, u.x + 3 * D, &u.ids[3]));
    removed[3] = 0;
    check_search_after_removal(&u, removed, 100);
    free(removed);
    users_free(&u);
}

Test(index_mvke, reset_empties_and_index_stays_usable) {
    users u;
    users_make(&u, 300, 16);
    OK(faiss_Index_reset(u.fx));
    cr_assert_eq(faiss_Index_ntotal(u.fx), 0);
    float q[DE], w[K], z[D], dist[4];
    int64_t labels[4];
    make_tags(1, q, w, z);
    OK(faiss_Index_search(u.fx, 1, z, 4, dist, labels));
    cr_assert_eq(valid_prefix(labels, dist, 4), 0);
    OK(faiss_Index_add_with_ids(u.fx, u.n, u.x, u.ids));
    cr_assert_eq(faiss_Index_ntotal(u.fx), u.n);
    OK(faiss_Index_search(u.fx, 1, z, 4, dist, labels));
    check_against_core_and_oracle(&u, 1, q, w, z, 4, dist, labels);
    users_free(&u);
}

/* Three IndexMVKE shards under IndexShards against one index holding every row. threaded: FAISS
 * searches the shards in parallel threads; via_shards: rows are added through the IndexShards
 * (which splits them in contiguous thirds) rather than dealt out to the shards directly. */
static void check_three_shards(int threaded, int via_shards) {
    users u;
    users_make(&u, 2400, 17);
    FaissIndexShards *shards = NULL;
    /* successive_ids = 0: the shards' own ids are the answer, as with IndexIDMap shards. */
    OK(faiss_IndexShards_new_with_options(&shards, D, threaded, 0));
    FaissIndex *part[3];
    for (int s = 0; s < 3; s++) {
        OK(mvke_faiss_user_index_new(&part[s], K, DE));
        OK(faiss_IndexShards_add_shard(shards, part[s]));
    }
    if (via_shards) {
        OK(faiss_Index_add_with_ids((FaissIndex *)shards, u.n, u.x, u.ids));
        cr_assert_eq(faiss_Index_ntotal((FaissIndex *)shards), u.n);
    } else {
        /* Dealt out unevenly and interleaved. */
        for (int64_t i = 0; i < u.n; i++)
            OK(faiss_Index_add_with_ids(part[i % 7 == 0 ? 0 : (i % 2) + 1], 1, u.x + i * D, &u.ids[i]));
    }
    int64_t total = 0;
    for (int s = 0; s < 3; s++) {
        cr_assert_gt(faiss_Index_ntotal(part[s]), 0, "shard %d is empty", s);
        total += faiss_Index_ntotal(part[s]);
    }
    cr_assert_eq(total, u.n);

    enum { NQ = 4 };
    float q[NQ * DE], w[NQ * K], z[NQ * D];
    make_tags(NQ, q, w, z);
    const int64_t ks[] = {1, 10, 100, 2048};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        int64_t k = ks[i];
        float *ds = malloc((size_t)(NQ * k) * sizeof(float)), *d1 = malloc((size_t)(NQ * k) * sizeof(float));
        int64_t *ls = malloc((size_t)(NQ * k) * sizeof(int64_t)), *l1 = malloc((size_t)(NQ * k) * sizeof(int64_t));
        OK(faiss_Index_search((FaissIndex *)shards, NQ, z, k, ds, ls));
        OK(faiss_Index_search(u.fx, NQ, z, k, d1, l1));
        /* Same ranking; a row's score may differ in the last bits with its place in a BLAS tile,
         * so scores agree within 1e-6 and ids may swap only between such near-ties. */
        for (int64_t j = 0; j < NQ * k; j++) {
            cr_assert(fabsf(ds[j] - d1[j]) <= 1e-6f, "k = %lld slot %lld: shards %.9g, one index %.9g", (long long)k,
                      (long long)j, ds[j], d1[j]);
            if (ls[j] != l1[j]) {
                int64_t t = j / k, jj = j % k;
                float other = NAN; /* the one index's score of the id the shards put here */
                for (int64_t r = 0; r < k; r++)
                    if (l1[t * k + r] == ls[j]) other = d1[t * k + r];
                cr_assert(fabsf(other - d1[j]) <= 2e-6f, "k = %lld query %lld rank %lld: shards %lld, one index %lld",
                          (long long)k, (long long)t, (long long)jj, (long long)ls[j], (long long)l1[j]);
            }
        }
        /* FAISS's merge keeps equal scores in shard order rather than id order, so the oracle
         * (which wants ties by id) checks the one index; the shards were checked against it. */
        check_against_core_and_oracle(&u, NQ, q, w, z, k, d1, l1);
        free(ds);
        free(d1);
        free(ls);
        free(l1);
    }
    /* A shard of another dimension is refused by FAISS. */
    FaissIndex *other = NULL;
    OK(mvke_faiss_user_index_new(&other, K, DE + 1));
    FAILS(faiss_IndexShards_add_shard(shards, other));
    faiss_Index_free(other);
    faiss_IndexShards_free(shards); /* does not own its shards */
    for (int s = 0; s < 3; s++) faiss_Index_free(part[s]);
    users_free(&u);
}

Test(index_mvke, three_shards_merge_like_one_index) { check_three_shards(0, 0); }

Test(index_mvke, three_threaded_shards_filled_through_index_shards) { check_three_shards(1, 1); }

/* Search results of a fixed query, to compare an index before and after a rejected call. */
static void snapshot(FaissIndex *fx, const float *z, float *dist, int64_t *labels) {
    OK(faiss_Index_search(fx, 1, z, 20, dist, labels));
}

static void assert_unchanged(FaissIndex *fx, int64_t ntotal, const float *z, const float *dist0,
                             const int64_t *labels0) {
    float dist[20];
    int64_t labels[20];
    cr_assert_eq(faiss_Index_ntotal(fx), ntotal, "ntotal changed after a rejected call");
    snapshot(fx, z, dist, labels);
    cr_assert_eq(memcmp(labels, labels0, sizeof labels), 0, "results changed after a rejected call");
    cr_assert_eq(memcmp(dist, dist0, sizeof dist), 0, "scores changed after a rejected call");
}

Test(index_mvke, errors_return_nonzero_with_message_and_change_nothing) {
    users u;
    users_make(&u, 200, 18);
    float q[DE], w[K], z[D], dist0[20];
    int64_t labels0[20];
    make_tags(1, q, w, z);
    snapshot(u.fx, z, dist0, labels0);

    float *rows = malloc(3 * D * sizeof(float));
    ref_fill_normal(rows, 3 * D);
    int64_t fresh[3] = {100000, 100001, 100002};

    /* NaN and Inf in a row. */
    rows[D + 17] = NAN;
    FAILS(faiss_Index_add_with_ids(u.fx, 3, rows, fresh));
    cr_assert(strstr(faiss_get_last_error(), "row 1"), "message does not name the row: %s", faiss_get_last_error());
    FAILS(faiss_Index_add(u.fx, 3, rows));
    rows[D + 17] = INFINITY;
    FAILS(faiss_Index_add_with_ids(u.fx, 3, rows, fresh));
    rows[D + 17] = 0.5f;
    assert_unchanged(u.fx, u.n, z, dist0, labels0);

    /* Duplicate ids: within the batch, and against the index. */
    int64_t dup_batch[3] = {100000, 100001, 100000};
    FAILS(faiss_Index_add_with_ids(u.fx, 3, rows, dup_batch));
    int64_t dup_index[3] = {100000, u.ids[7], 100002};
    FAILS(faiss_Index_add_with_ids(u.fx, 3, rows, dup_index));
    cr_assert(strstr(faiss_get_last_error(), "already"), "message: %s", faiss_get_last_error());
    int64_t neg[3] = {100000, -5, 100002};
    FAILS(faiss_Index_add_with_ids(u.fx, 3, rows, neg));
    assert_unchanged(u.fx, u.n, z, dist0, labels0);

    /* Bad queries and k. */
    float dist[20];
    int64_t labels[20];
    float bad[D];
    memcpy(bad, z, sizeof bad);
    bad[3] = NAN;
    FAILS(faiss_Index_search(u.fx, 1, bad, 20, dist, labels));
    FAILS(faiss_Index_search(u.fx, 1, z, 0, dist, labels));
    FaissRangeSearchResult *res = NULL;
    OK(faiss_RangeSearchResult_new(&res, 1));
    FAILS(faiss_Index_range_search(u.fx, 1, bad, 0.5f, res));
    FAILS(faiss_Index_range_search(u.fx, 1, z, NAN, res));
    faiss_RangeSearchResult_free(res);

    /* Unknown ids. */
    float row[D];
    FAILS(faiss_Index_reconstruct(u.fx, 5, row));
    cr_assert(strstr(faiss_get_last_error(), "5"), "message does not name the id: %s", faiss_get_last_error());
    assert_unchanged(u.fx, u.n, z, dist0, labels0);

    /* Wrong shapes at construction: nothing is handed out. */
    FaissIndex *none = (FaissIndex *)&u; /* a value that must be overwritten */
    FAILS(mvke_faiss_user_index_new(&none, 0, DE));
    cr_assert_null(none);
    none = (FaissIndex *)&u;
    FAILS(mvke_faiss_user_index_new(&none, 65, DE));
    cr_assert_null(none);
    FAILS(mvke_faiss_tag_index_new(&none, K, 0));
    cr_assert_null(none);
    FAILS(mvke_faiss_tag_index_new(&none, K, -3));
    FAILS(mvke_faiss_user_index_new(NULL, K, DE));

    free(rows);
    users_free(&u);
}

Test(index_mvke, tag_index_returns_top_tags_of_a_user) {
    ref_seed(19);
    enum { NT = 400, NU = 5, M = 25 };
    float *q = malloc(NT * DE * sizeof(float)), *w = malloc(NT * K * sizeof(float)), *z = malloc(NT * D * sizeof(float));
    int64_t tag_ids[NT];
    make_tags(NT, q, w, z);
    for (int t = 0; t < NT; t++) tag_ids[t] = 1000 + 3 * t;
    FaissIndex *tags = NULL;
    OK(mvke_faiss_tag_index_new(&tags, K, DE));
    cr_assert(mvke_faiss_is_mvke(tags));
    OK(faiss_Index_add_with_ids(tags, NT, z, tag_ids));
    cr_assert_eq(faiss_Index_ntotal(tags), NT);

    /* The core's tag table serves the same question (user -> top tags of a task). */
    mvke_tags *table = NULL;
    int all[K] = {0, 1, 2, 3, 4};
    cr_assert_eq(mvke_tags_new(&table, K, DE, NULL), MVKE_OK);
    cr_assert_eq(mvke_tags_add_task(table, "interest", all, K), MVKE_OK);
    cr_assert_eq(mvke_tags_add(table, "interest", NT, tag_ids, NULL, NULL, q, w), MVKE_OK, "%s", mvke_last_error());

    float x[NU * D], dist[NU * M];
    int64_t labels[NU * M];
    ref_fill_normal(x, NU * D);
    OK(faiss_Index_search(tags, NU, x, M, dist, labels));
    mvke_result *top = NULL;
    cr_assert_eq(mvke_user_tags_top_rows(table, "interest", NU, x, M, &top), MVKE_OK, "%s", mvke_last_error());
    ref_hit ref[NT];
    for (int u = 0; u < NU; u++) {
        const int64_t *ti;
        const float *ts;
        int64_t tn;
        cr_assert_eq(mvke_result_get(top, u, &ti, &ts, &tn), MVKE_OK);
        cr_assert_eq(tn, M);
        /* The oracle ranks tags for one user: score every tag against x[u] in double. */
        for (int t = 0; t < NT; t++) {
            ref[t].id = tag_ids[t];
            ref[t].score = ref_score(K, DE, x + u * D, q + t * DE, w + t * K);
            ref[t].slack = ref_slack(K, DE, x + u * D, q + t * DE, w + t * K);
        }
        for (int i = 1; i < NT; i++) /* insertion sort: score descending, id ascending */
            for (int j = i; j > 0 && (ref[j].score > ref[j - 1].score ||
                                      (ref[j].score == ref[j - 1].score && ref[j].id < ref[j - 1].id)); j--) {
                ref_hit tmp = ref[j];
                ref[j] = ref[j - 1];
                ref[j - 1] = tmp;
            }
        ref_check_topk(labels + u * M, dist + u * M, valid_prefix(labels + u * M, dist + u * M, M), M, ref, NT, TOL);
        for (int j = 0; j < M; j++) {
            cr_assert_eq(labels[u * M + j], ti[j], "user %d rank %d: tag %lld, tag table %lld", u, j,
                         (long long)labels[u * M + j], (long long)ti[j]);
            cr_assert_float_eq(dist[u * M + j], ts[j], TOL);
        }
    }
    mvke_result_free(top);
    mvke_tags_free(table);
    faiss_Index_free(tags);
    free(q);
    free(w);
    free(z);
}

/* A dot index ("f32,dot") is FAISS's inner product with FAISS's own meaning: its search and
 * range search agree with IndexFlatIP over the same rows (labels equal but for near-ties,
 * distances within float32 rounding of a sum of K*d products), user index and tag index alike;
 * an unknown option after the storage is refused with the known ones. */
Test(index_mvke, dot_index_answers_as_faiss_index_flat_ip) {
    ref_seed(77);
    enum { NU = 700, NQ = 9, KK = 12 };
    float *x = malloc(sizeof(float) * NU * D), q[NQ * DE], w[NQ * K], z[NQ * D];
    ref_fill_normal(x, (int64_t)NU * D);
    make_tags(NQ, q, w, z);
    for (int t = 0; t < NQ; t++) /* tags on experts 1-3, as a task */
        for (int j = 0; j < DE; j++) z[t * D + j] = z[t * D + 4 * DE + j] = 0.0f;
    FaissIndex *dot = NULL, *tagix = NULL;
    FaissIndexFlatIP *flat = NULL, *flatz = NULL;
    OK(mvke_faiss_user_index_new_with(&dot, K, DE, "f32,dot"));
    OK(faiss_IndexFlatIP_new_with(&flat, D));
    OK(faiss_Index_add(dot, NU, x));
    OK(faiss_Index_add(flat, NU, x));
    float dm[NQ * KK], df[NQ * KK];
    int64_t lm[NQ * KK], lf[NQ * KK];
    OK(faiss_Index_search(dot, NQ, z, KK, dm, lm));
    OK(faiss_Index_search(flat, NQ, z, KK, df, lf));
    int above1 = 0;
    for (int i = 0; i < NQ * KK; i++) {
        const float tol = 1e-5f * (1.0f + fabsf(df[i]));
        cr_assert(fabsf(dm[i] - df[i]) <= tol, "slot %d: %g, IndexFlatIP %g", i, (double)dm[i], (double)df[i]);
        if (lm[i] != lf[i]) /* only a near-tie may swap */
            cr_assert(fabsf(dm[i] - dm[i % KK ? i - 1 : i + 1]) <= 2 * tol, "slot %d: label %lld, IndexFlatIP %lld", i,
                      (long long)lm[i], (long long)lf[i]);
        above1 |= dm[i] > 1.0f;
    }
    cr_assert(above1, "dot scores beyond 1 (no cosine)");
    /* Range search: the same users above a radius, but for those within rounding of it. */
    FaissRangeSearchResult *rm = NULL, *rf = NULL;
    OK(faiss_RangeSearchResult_new(&rm, NQ));
    OK(faiss_RangeSearchResult_new(&rf, NQ));
    const float radius = dm[KK - 1];
    OK(faiss_Index_range_search(dot, NQ, z, radius, rm));
    OK(faiss_Index_range_search(flat, NQ, z, radius, rf));
    size_t *limm, *limf;
    faiss_RangeSearchResult_lims(rm, &limm);
    faiss_RangeSearchResult_lims(rf, &limf);
    cr_assert(limm[NQ] > 0);
    const size_t diff = limm[NQ] > limf[NQ] ? limm[NQ] - limf[NQ] : limf[NQ] - limm[NQ];
    cr_assert(diff <= 2, "range search: %zu results, IndexFlatIP %zu", limm[NQ], limf[NQ]);
    faiss_RangeSearchResult_free(rm);
    faiss_RangeSearchResult_free(rf);
    /* User -> tags: a dot tag index of the gated rows, searched with user rows. */
    OK(mvke_faiss_tag_index_new_with(&tagix, K, DE, "f32,dot"));
    OK(faiss_IndexFlatIP_new_with(&flatz, D));
    OK(faiss_Index_add(tagix, NQ, z));
    OK(faiss_Index_add(flatz, NQ, z));
    float tm[5 * 4], tf[5 * 4];
    int64_t km[5 * 4], kf[5 * 4];
    OK(faiss_Index_search(tagix, 5, x, 4, tm, km));
    OK(faiss_Index_search(flatz, 5, x, 4, tf, kf));
    for (int i = 0; i < 20; i++)
        cr_assert(fabsf(tm[i] - tf[i]) <= 1e-5f * (1.0f + fabsf(tf[i])), "user %d: tag score %g, IndexFlatIP %g", i / 4,
                  (double)tm[i], (double)tf[i]);
    FaissIndex *bad = NULL;
    FAILS(mvke_faiss_user_index_new_with(&bad, K, DE, "f32,ip"));
    cr_assert(strstr(faiss_get_last_error(), "refine, dot, cosine"), "%s", faiss_get_last_error());
    cr_assert_null(bad);
    OK(mvke_faiss_user_index_new_with(&bad, K, DE, "sq8,refine,dot"));
    faiss_Index_free(bad);
    faiss_Index_free(dot);
    faiss_Index_free(tagix);
    faiss_Index_free(flat);
    faiss_Index_free(flatz);
    free(x);
}

/* A listed user index through FAISS's C API: exact by default (the same answers as a flat one,
 * search and range search), nprobe through the plugin's setter, rows added after the lists, and
 * the lists kept by mvke_faiss_index_write / _read. */
Test(index_mvke, listed_index_answers_as_flat_and_probes) {
    ref_seed(91);
    enum { NU = 3000, NQ = 8, KK = 20 };
    float *x = malloc(sizeof(float) * NU * D), q[NQ * DE], w[NQ * K], z[NQ * D];
    ref_fill_normal(x, (int64_t)NU * D);
    for (int64_t i = 0; i < (int64_t)NU * D; i++) x[i] += (float)((i / D) % 7) * 0.3f; /* some structure */
    make_tags(NQ, q, w, z);
    FaissIndex *flat = NULL, *listed = NULL;
    OK(mvke_faiss_user_index_new(&flat, K, DE));
    OK(mvke_faiss_user_index_new(&listed, K, DE));
    OK(faiss_Index_add(flat, NU - 200, x));
    OK(faiss_Index_add(listed, NU - 200, x));
    FAILS(mvke_faiss_index_build_lists(listed, NU));
    OK(mvke_faiss_index_build_lists(listed, 30));
    OK(faiss_Index_add(flat, 200, x + (size_t)(NU - 200) * D)); /* ids NU-200.. in both: the tail */
    OK(faiss_Index_add(listed, 200, x + (size_t)(NU - 200) * D));
    float df[NQ * KK], dl[NQ * KK];
    int64_t lf[NQ * KK], ll[NQ * KK];
    OK(faiss_Index_search(flat, NQ, z, KK, df, lf));
    OK(faiss_Index_search(listed, NQ, z, KK, dl, ll));
    for (int i = 0; i < NQ * KK; i++)
        cr_assert(lf[i] == ll[i] && df[i] == dl[i], "slot %d: flat (%lld, %g), listed (%lld, %g)", i, (long long)lf[i],
                  (double)df[i], (long long)ll[i], (double)dl[i]);
    FaissRangeSearchResult *rf = NULL, *rl = NULL;
    OK(faiss_RangeSearchResult_new(&rf, NQ));
    OK(faiss_RangeSearchResult_new(&rl, NQ));
    OK(faiss_Index_range_search(flat, NQ, z, df[KK - 1], rf));
    OK(faiss_Index_range_search(listed, NQ, z, df[KK - 1], rl));
    size_t *limf, *liml;
    idx_t *labf, *labl;
    float *distf, *distl;
    faiss_RangeSearchResult_lims(rf, &limf);
    faiss_RangeSearchResult_lims(rl, &liml);
    faiss_RangeSearchResult_labels(rf, &labf, &distf);
    faiss_RangeSearchResult_labels(rl, &labl, &distl);
    cr_assert_eq(limf[NQ], liml[NQ]);
    for (size_t e = 0; e < limf[NQ]; e++) cr_assert_eq(labf[e], labl[e], "range entry %zu", e);
    faiss_RangeSearchResult_free(rf);
    faiss_RangeSearchResult_free(rl);
    /* Probes: fewer users read; a probe of every list is exact again. */
    FAILS(mvke_faiss_index_set_nprobe(listed, -1));
    OK(mvke_faiss_index_set_nprobe(listed, 3));
    OK(faiss_Index_search(listed, NQ, z, KK, dl, ll));
    mvke_search_stats st;
    mvke_last_search_stats(&st);
    cr_assert(st.lists_scanned == 3 * NQ && st.users_scanned < NU / 2, "lists %lld, users %lld", (long long)st.lists_scanned,
              (long long)st.users_scanned);
    OK(mvke_faiss_index_set_nprobe(listed, 30));
    OK(faiss_Index_search(listed, NQ, z, KK, dl, ll));
    for (int i = 0; i < NQ * KK; i++) cr_assert(lf[i] == ll[i] && df[i] == dl[i], "probe 30, slot %d", i);
    /* Written and read back with its lists. */
    char path[] = "/tmp/mvke-test-listed-XXXXXX";
    const int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    OK(mvke_faiss_index_write(listed, path));
    FaissIndex *back = NULL;
    OK(mvke_faiss_index_read(path, &back));
    OK(mvke_faiss_index_set_nprobe(back, 3));
    float db[NQ * KK];
    int64_t lb[NQ * KK];
    OK(faiss_Index_search(back, NQ, z, KK, db, lb));
    mvke_last_search_stats(&st);
    cr_assert_eq(st.lists_scanned, 3 * NQ, "the lists did not survive the file");
    unlink(path);
    faiss_Index_free(back);
    faiss_Index_free(flat);
    faiss_Index_free(listed);
    free(x);
}
