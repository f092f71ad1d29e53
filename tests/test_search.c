/*
 * test_search.c - mvke_index_search and mvke_index_range_search against the double oracle over
 * the grid the design asks for: K in {1,2,5,8}, d in {1,7,30,64}, softmax, signed and sparse
 * gates, zero users and zero tags, sizes off the tile grid, k beyond n, 1 and 2 threads,
 * allow-lists, float16 and bfloat16 storage, and concurrent searches.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"

#define TOL 1e-5

typedef enum { GATE_SOFTMAX, GATE_SIGNED, GATE_SUBSET, GATE_ZERO } gate_kind;

/* Random gates of one tag. */
static void make_gates(int K, gate_kind kind, float *w) {
    double sum = 0;
    for (int k = 0; k < K; k++) {
        switch (kind) {
        case GATE_SOFTMAX: w[k] = (float)exp(ref_normal()); sum += w[k]; break;
        case GATE_SIGNED: w[k] = ref_normal(); break;
        case GATE_SUBSET: w[k] = (k % 2 == 0) ? (float)ref_uniform() : 0.0f; break;
        case GATE_ZERO: w[k] = 0.0f; break;
        }
    }
    if (kind == GATE_SOFTMAX)
        for (int k = 0; k < K; k++) w[k] = (float)(w[k] / sum);
}

typedef struct world {
    int K, d, D;
    int64_t n;
    float *x;
    int64_t *ids;
    mvke_index *ix;
} world;

/* n random users with sparse distinct ids; every 17th user is all zeros. */
static void world_make(world *w, int K, int d, int64_t n, int threads, mvke_storage storage) {
    w->K = K;
    w->d = d;
    w->D = K * d;
    w->n = n;
    w->x = malloc((size_t)(n ? n : 1) * w->D * sizeof(float));
    w->ids = malloc((size_t)(n ? n : 1) * sizeof(int64_t));
    ref_fill_normal(w->x, n * w->D);
    for (int64_t i = 0; i < n; i++) {
        w->ids[i] = 3 * i + 1 + (i % 2); /* increasing, with gaps */
        if (i % 17 == 5) memset(w->x + i * w->D, 0, (size_t)w->D * sizeof(float));
    }
    mvke_index_options o;
    mvke_index_options_init(&o);
    o.threads = threads;
    o.storage = storage;
    cr_assert_eq(mvke_index_new(&w->ix, K, d, &o), MVKE_OK, "%s", mvke_last_error());
    cr_assert_eq(mvke_index_add(w->ix, n, w->ids, w->x), MVKE_OK, "%s", mvke_last_error());
    if (storage != MVKE_STORAGE_F32) /* the oracle scores the rows as stored */
        for (int64_t i = 0; i < n; i++) mvke_index_get(w->ix, w->ids[i], w->x + i * w->D);
}

static void world_free(world *w) {
    mvke_index_free(w->ix);
    free(w->x);
    free(w->ids);
}

/* nq tags (q, w) and their packed rows; tag 0 of a batch of more than one has q = 0. */
static void make_tags(const world *w, int nq, gate_kind kind, float *q, float *g, float *z) {
    for (int t = 0; t < nq; t++) {
        ref_fill_normal(q + t * w->d, w->d);
        if (nq > 1 && t == 0) memset(q, 0, (size_t)w->d * sizeof(float));
        make_gates(w->K, kind, g + t * w->K);
        cr_assert_eq(mvke_pack_query(w->K, w->d, q + t * w->d, g + t * w->K, z + (int64_t)t * w->D), MVKE_OK);
    }
}

/* Runs top-k and range searches for nq tags and checks each against the oracle. */
static void check_world(world *w, int nq, int64_t k, gate_kind kind, const uint8_t *allowed,
                        const mvke_allow *allow) {
    float *q = malloc((size_t)nq * w->d * sizeof(float)), *g = malloc((size_t)nq * w->K * sizeof(float));
    float *z = malloc((size_t)nq * w->D * sizeof(float));
    float *S = malloc((size_t)nq * k * sizeof(float));
    int64_t *I = malloc((size_t)nq * k * sizeof(int64_t));
    ref_hit *ref = malloc((size_t)(w->n ? w->n : 1) * sizeof(ref_hit));
    make_tags(w, nq, kind, q, g, z);
    cr_assert_eq(mvke_index_search(w->ix, nq, z, k, allow, S, I), MVKE_OK, "%s", mvke_last_error());
    mvke_result *res;
    const float thr = 0.2f;
    cr_assert_eq(mvke_index_range_search(w->ix, nq, z, thr, allow, &res), MVKE_OK, "%s", mvke_last_error());
    for (int t = 0; t < nq; t++) {
        int64_t nref = ref_rank(w->K, w->d, w->n, w->x, w->ids, allowed, q + t * w->d, g + t * w->K, ref);
        int64_t got = 0;
        while (got < k && I[t * k + got] >= 0) got++;
        for (int64_t j = got; j < k; j++) {
            cr_assert_eq(I[t * k + j], -1, "padding id");
            cr_assert(isinf(S[t * k + j]) && S[t * k + j] < 0, "padding score");
        }
        ref_check_topk(I + t * k, S + t * k, got, k, ref, nref, TOL);
        const int64_t *rid;
        const float *rsc;
        int64_t rn;
        cr_assert_eq(mvke_result_get(res, t, &rid, &rsc, &rn), MVKE_OK);
        ref_check_range(rid, rsc, rn, thr, ref, nref, TOL);
    }
    mvke_result_free(res);
    free(q); free(g); free(z); free(S); free(I); free(ref);
}

typedef struct kd_case {
    int K, d;
} kd_case;

ParameterizedTestParameters(search, grid) {
    static kd_case cases[16];
    static const int Ks[4] = {1, 2, 5, 8}, ds[4] = {1, 7, 30, 64};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) cases[i * 4 + j] = (kd_case){Ks[i], ds[j]};
    return cr_make_param_array(kd_case, cases, 16);
}

ParameterizedTest(kd_case *c, search, grid) {
    int K = c->K, d = c->d;
    ref_seed(1000 + K * 100 + d);
    for (int threads = 1; threads <= 2; threads++) {
        world w;
        world_make(&w, K, d, 1237, threads, MVKE_STORAGE_F32);
        check_world(&w, 1, 10, GATE_SOFTMAX, NULL, NULL);
        check_world(&w, 3, 50, GATE_SIGNED, NULL, NULL);
        check_world(&w, 5, 7, GATE_SUBSET, NULL, NULL);
        check_world(&w, 300, 5, GATE_SOFTMAX, NULL, NULL); /* more query tiles than threads */
        world_free(&w);
    }
}

Test(search, zero_gates_and_zero_tags_score_zero) {
    ref_seed(7);
    world w;
    world_make(&w, 5, 30, 200, 2, MVKE_STORAGE_F32);
    float q[30], g[5], z[150], S[200];
    int64_t I[200];
    ref_fill_normal(q, 30);
    make_gates(5, GATE_ZERO, g);
    mvke_pack_query(5, 30, q, g, z);
    cr_assert_eq(mvke_index_search(w.ix, 1, z, 200, NULL, S, I), MVKE_OK);
    for (int i = 0; i < 200; i++) cr_assert_eq(S[i], 0.0f, "zero gates must score 0, got %g", S[i]);
    /* all scores tie: ids ascending */
    for (int i = 1; i < 200; i++) cr_assert_lt(I[i - 1], I[i]);
    memset(q, 0, sizeof q);
    make_gates(5, GATE_SOFTMAX, g);
    mvke_pack_query(5, 30, q, g, z);
    cr_assert_eq(mvke_index_search(w.ix, 1, z, 200, NULL, S, I), MVKE_OK);
    for (int i = 0; i < 200; i++) cr_assert_eq(S[i], 0.0f);
    world_free(&w);
}

Test(search, zero_users_score_zero) {
    ref_seed(8);
    world w;
    world_make(&w, 5, 30, 100, 1, MVKE_STORAGE_F32);
    float q[30], g[5], z[150], S[100];
    int64_t I[100];
    ref_fill_normal(q, 30);
    make_gates(5, GATE_SOFTMAX, g);
    mvke_pack_query(5, 30, q, g, z);
    cr_assert_eq(mvke_index_search(w.ix, 1, z, 100, NULL, S, I), MVKE_OK);
    for (int i = 0; i < 100; i++) {
        int64_t pos = -1;
        for (int64_t j = 0; j < w.n; j++)
            if (w.ids[j] == I[i]) pos = j;
        cr_assert_geq(pos, 0);
        if (pos % 17 == 5) cr_assert_eq(S[i], 0.0f, "a zero user scored %g", S[i]);
    }
    world_free(&w);
}

Test(search, k_beyond_n_and_large_k) {
    ref_seed(9);
    for (int threads = 1; threads <= 2; threads++) {
        world w;
        world_make(&w, 5, 30, 150, threads, MVKE_STORAGE_F32);
        check_world(&w, 2, 1, GATE_SOFTMAX, NULL, NULL);
        check_world(&w, 2, 151, GATE_SOFTMAX, NULL, NULL);
        check_world(&w, 1, 10000, GATE_SIGNED, NULL, NULL);
        world_free(&w);
    }
    world w;
    world_make(&w, 2, 7, 20000, 2, MVKE_STORAGE_F32); /* several tiles, k = 10000 */
    check_world(&w, 2, 10000, GATE_SOFTMAX, NULL, NULL);
    world_free(&w);
}

Test(search, tile_boundaries) {
    /* sizes around the CPU backend's tile heights (64 .. 8192 rows) */
    static const int64_t ns[] = {1, 63, 64, 65, 255, 256, 257, 8191, 8192, 8193};
    ref_seed(10);
    for (size_t i = 0; i < sizeof ns / sizeof *ns; i++) {
        world w;
        world_make(&w, 3, 5, ns[i], 2, MVKE_STORAGE_F32);
        check_world(&w, 1, 5, GATE_SOFTMAX, NULL, NULL);
        check_world(&w, 17, 3, GATE_SIGNED, NULL, NULL);
        world_free(&w);
    }
}

Test(search, empty_index) {
    world w;
    world_make(&w, 5, 30, 0, 2, MVKE_STORAGE_F32);
    check_world(&w, 3, 4, GATE_SOFTMAX, NULL, NULL);
    world_free(&w);
}

Test(search, allow_lists) {
    ref_seed(11);
    world w;
    world_make(&w, 5, 30, 3000, 2, MVKE_STORAGE_F32);
    uint8_t *allowed = calloc((size_t)w.n, 1);
    int64_t *sorted = malloc((size_t)w.n * sizeof(int64_t)), ns = 0;
    int64_t maxid = w.ids[w.n - 1];
    uint8_t *bits = calloc((size_t)(maxid / 8 + 1), 1);
    for (int64_t i = 0; i < w.n; i++)
        if (ref_uniform() < 0.1) {
            allowed[i] = 1;
            sorted[ns++] = w.ids[i];
            bits[w.ids[i] / 8] |= (uint8_t)(1u << (w.ids[i] % 8));
        }
    mvke_allow *a1, *a2;
    cr_assert_eq(mvke_allow_new_sorted(&a1, sorted, ns), MVKE_OK);
    cr_assert_eq(mvke_allow_new_bitmap(&a2, bits, maxid + 1), MVKE_OK);
    check_world(&w, 1, 20, GATE_SOFTMAX, allowed, a1);
    check_world(&w, 4, 20, GATE_SOFTMAX, allowed, a2);
    check_world(&w, 2, 5000, GATE_SIGNED, allowed, a1); /* fewer allowed than k */
    mvke_allow_free(a1);
    mvke_allow_free(a2);
    free(allowed); free(sorted); free(bits);
    world_free(&w);
}

Test(search, float16_storage) {
    ref_seed(12);
    for (int threads = 1; threads <= 2; threads++) {
        world w;
        world_make(&w, 5, 30, 2000, threads, MVKE_STORAGE_F16);
        check_world(&w, 1, 10, GATE_SOFTMAX, NULL, NULL);
        check_world(&w, 33, 10, GATE_SIGNED, NULL, NULL);
        world_free(&w);
    }
}

Test(search, bfloat16_storage) {
    ref_seed(14);
    for (int threads = 1; threads <= 2; threads++) {
        world w;
        world_make(&w, 5, 30, 2000, threads, MVKE_STORAGE_BF16);
        check_world(&w, 1, 10, GATE_SOFTMAX, NULL, NULL);
        check_world(&w, 33, 10, GATE_SIGNED, NULL, NULL);
        world_free(&w);
    }
}

Test(search, after_remove_and_upsert) {
    ref_seed(13);
    world w;
    world_make(&w, 4, 9, 500, 2, MVKE_STORAGE_F32);
    /* remove every third user, replace every fifth with new experts */
    int64_t rm[200], nrm = 0;
    for (int64_t i = 0; i < w.n; i += 3) rm[nrm++] = w.ids[i];
    cr_assert_eq(mvke_index_remove(w.ix, nrm, rm), MVKE_OK, "%s", mvke_last_error());
    int64_t m = 0;
    for (int64_t i = 0; i < w.n; i++)
        if (i % 3 != 0) {
            memmove(w.x + m * w.D, w.x + i * w.D, (size_t)w.D * sizeof(float));
            w.ids[m++] = w.ids[i];
        }
    w.n = m;
    for (int64_t i = 0; i < w.n; i += 5) {
        ref_fill_normal(w.x + i * w.D, w.D);
        cr_assert_eq(mvke_index_upsert(w.ix, 1, &w.ids[i], w.x + i * w.D), MVKE_OK);
    }
    check_world(&w, 3, 40, GATE_SOFTMAX, NULL, NULL);
    int64_t gone[1] = {rm[0]};
    float S[10];
    int64_t I[10];
    float z[36] = {1};
    cr_assert_eq(mvke_index_search(w.ix, 1, z, 10, NULL, S, I), MVKE_OK);
    for (int i = 0; i < 10; i++) cr_assert_neq(I[i], gone[0], "a removed id came back");
    world_free(&w);
}

Test(search, rejects_bad_queries) {
    world w;
    world_make(&w, 2, 3, 10, 1, MVKE_STORAGE_F32);
    float z[6] = {1, 2, 3, 4, 5, 6}, S[4];
    int64_t I[4];
    cr_assert_eq(mvke_index_search(w.ix, 1, z, 0, NULL, S, I), MVKE_ERR_BAD_K);
    cr_assert_eq(mvke_index_search(w.ix, 1, z, -3, NULL, S, I), MVKE_ERR_BAD_K);
    z[4] = NAN;
    cr_assert_eq(mvke_index_search(w.ix, 1, z, 2, NULL, S, I), MVKE_ERR_NONFINITE);
    cr_assert(strstr(mvke_last_error(), "query 0"), "message: %s", mvke_last_error());
    z[4] = INFINITY;
    mvke_result *r = NULL;
    cr_assert_eq(mvke_index_range_search(w.ix, 1, z, 0.1f, NULL, &r), MVKE_ERR_NONFINITE);
    cr_assert_null(r);
    z[4] = 1;
    cr_assert_eq(mvke_index_range_search(w.ix, 1, z, NAN, NULL, &r), MVKE_ERR_NONFINITE);
    cr_assert_eq(mvke_index_search(w.ix, 1, NULL, 2, NULL, S, I), MVKE_ERR_INVALID);
    world_free(&w);
}

/* Concurrent searches on one index give the serial results. */
typedef struct conc_arg {
    const world *w;
    const float *z;
    int nq;
    int64_t k;
    const float *S0;
    const int64_t *I0;
    int mismatches;
} conc_arg;

static void *conc_run(void *p) {
    conc_arg *a = p;
    float *S = malloc((size_t)a->nq * a->k * sizeof(float));
    int64_t *I = malloc((size_t)a->nq * a->k * sizeof(int64_t));
    for (int rep = 0; rep < 5; rep++) {
        if (mvke_index_search(a->w->ix, a->nq, a->z, a->k, NULL, S, I) != MVKE_OK) a->mismatches++;
        if (memcmp(S, a->S0, (size_t)a->nq * a->k * sizeof(float)) ||
            memcmp(I, a->I0, (size_t)a->nq * a->k * sizeof(int64_t)))
            a->mismatches++;
    }
    free(S);
    free(I);
    return NULL;
}

Test(search, concurrent_equals_serial) {
    ref_seed(14);
    world w;
    world_make(&w, 5, 30, 5000, 2, MVKE_STORAGE_F32);
    enum { NQ = 6, KK = 25, NT = 6 };
    float q[NQ * 30], g[NQ * 5], z[NQ * 150], S0[NQ * KK];
    int64_t I0[NQ * KK];
    make_tags(&w, NQ, GATE_SOFTMAX, q, g, z);
    cr_assert_eq(mvke_index_search(w.ix, NQ, z, KK, NULL, S0, I0), MVKE_OK);
    pthread_t th[NT];
    conc_arg args[NT];
    for (int i = 0; i < NT; i++) {
        args[i] = (conc_arg){&w, z, NQ, KK, S0, I0, 0};
        pthread_create(&th[i], NULL, conc_run, &args[i]);
    }
    for (int i = 0; i < NT; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(args[i].mismatches, 0, "thread %d saw %d results differ from the serial ones", i,
                     args[i].mismatches);
    }
    world_free(&w);
}
