/*
 * test_concurrency.c - searches running while the index changes, and errors raised inside the
 * CPU backend's OpenMP region.
 *
 * Checking concurrent results. One writer applies a fixed list of operations (add, upsert and
 * remove batches, in turn); the index makes each one atomic with respect to searches (a
 * reader-writer lock), so the states a search can see are S_0 (before any operation) .. S_m
 * (after all m). Before the run the same operations are applied serially to a replica index and
 * the expected top-k and threshold results of every state are recorded. During the run the writer
 * publishes how many operations have completed; a searcher that read a before its search and b
 * after it must get exactly the expected result of some state S_j with a <= j <= b + 1 (the
 * operation b + 1 may have completed, its counter not yet published). Every operation moves rows
 * that sit next to the queries, so neighbouring states have different results and a search that
 * saw a half-applied change, or a state outside its window, cannot pass.
 *
 * ThreadSanitizer: libgomp is not built with TSan and its barriers look like races, so the TSan
 * pass runs this file with OMP_NUM_THREADS=1 and MVKE_TEST_REGION_THREADS=1 (one OpenMP thread
 * per search); the eight searcher threads and the writer are plain pthreads, which TSan sees.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/runtime.h"
#include "reference.h"

enum {
    K = 4, d = 16, DD = K * d,
    N0 = 9000,    /* initial users: two row tiles, so two OpenMP threads split one query tile */
    NQ = 4,       /* queries per search */
    TOPK = 10,
    NSEARCHERS = 8,
    NOPS = 48,    /* add, upsert, remove, add, ... */
    BATCH = 24,   /* rows per operation */
    PER_OP = 12,  /* searches the writer waits for after each operation */
};

#define MIN_SCORE 0.9f

typedef enum { OP_ADD, OP_UPSERT, OP_REMOVE } op_kind;

typedef struct op {
    op_kind kind;
    int64_t n;
    int64_t ids[BATCH];
    float x[BATCH * DD];
} op;

/* The expected results of one state. */
typedef struct expect {
    float S[NQ * TOPK];
    int64_t I[NQ * TOPK];
    int64_t lims[NQ + 1];
    int64_t *rid; /* threshold hits, lims[NQ] entries */
    float *rs;
} expect;

/* The present ids while the operations are generated: hot ones (rows next to a query) first. */
typedef struct model {
    int64_t *ids;
    int64_t n, next_id;
    int64_t hot[4 * NOPS * BATCH];
    int64_t nhot;
} model;

static float g_q[NQ * d], g_w[NQ * K], g_z[NQ * DD];

/* A row next to query j: its gated row plus a little noise, so its score is close to 1. */
static void near_row(int j, float *x) {
    for (int i = 0; i < DD; i++) x[i] = g_z[j * DD + i] + 0.05f * ref_normal();
}

static void model_drop(model *m, int64_t id) {
    for (int64_t i = 0; i < m->n; i++)
        if (m->ids[i] == id) {
            m->ids[i] = m->ids[--m->n];
            break;
        }
    for (int64_t i = 0; i < m->nhot; i++)
        if (m->hot[i] == id) {
            m->hot[i] = m->hot[--m->nhot];
            break;
        }
}

/* Generates the operations. Each one involves at least one row next to every query, so it
 * changes the top-k and threshold results. */
static void make_ops(model *m, op *ops) {
    for (int o = 0; o < NOPS; o++) {
        op *p = &ops[o];
        p->kind = (op_kind)(o % 3);
        p->n = BATCH;
        if (p->kind == OP_ADD) {
            for (int i = 0; i < BATCH; i++) {
                p->ids[i] = m->next_id++;
                if (i < NQ) near_row(i, p->x + i * DD);
                else ref_fill_normal(p->x + i * DD, DD);
            }
            for (int i = 0; i < BATCH; i++) {
                m->ids[m->n++] = p->ids[i];
                if (i < NQ) m->hot[m->nhot++] = p->ids[i];
            }
        } else if (p->kind == OP_UPSERT) {
            /* Half present ids (the hottest ones lose their place: random rows), half new ones
             * next to the queries or random. */
            int i = 0;
            int64_t take_hot = m->nhot < BATCH / 4 ? m->nhot : BATCH / 4;
            int64_t taken[BATCH];
            for (int64_t h = 0; h < take_hot; h++, i++) {
                p->ids[i] = m->hot[m->nhot - 1 - h];
                ref_fill_normal(p->x + i * DD, DD);
                taken[i] = p->ids[i];
            }
            while (i < BATCH / 2) {
                int64_t id;
                int dup;
                do { /* a present id not already in the batch */
                    id = m->ids[(int64_t)(ref_uniform() * (double)m->n) % m->n];
                    dup = 0;
                    for (int j = 0; j < i; j++) dup |= p->ids[j] == id;
                } while (dup);
                p->ids[i] = id;
                ref_fill_normal(p->x + i * DD, DD);
                taken[i] = id;
                i++;
            }
            for (int j = 0; j < i; j++) model_drop(m, taken[j]), m->ids[m->n++] = taken[j];
            for (int j = 0; i < BATCH; i++, j++) {
                p->ids[i] = m->next_id++;
                if (j < NQ) {
                    near_row(j, p->x + i * DD);
                    m->hot[m->nhot++] = p->ids[i];
                } else {
                    ref_fill_normal(p->x + i * DD, DD);
                }
                m->ids[m->n++] = p->ids[i];
            }
        } else {
            /* The newest hot rows, then random present ones. */
            int i = 0;
            while (i < BATCH / 2 && m->nhot > 0) p->ids[i++] = m->hot[m->nhot - 1], model_drop(m, p->ids[i - 1]);
            while (i < BATCH) {
                p->ids[i] = m->ids[(int64_t)(ref_uniform() * (double)m->n) % m->n];
                model_drop(m, p->ids[i]);
                i++;
            }
        }
    }
}

static mvke_status apply(mvke_index *ix, const op *p) {
    switch (p->kind) {
    case OP_ADD: return mvke_index_add(ix, p->n, p->ids, p->x);
    case OP_UPSERT: return mvke_index_upsert(ix, p->n, p->ids, p->x);
    case OP_REMOVE: return mvke_index_remove(ix, p->n, p->ids);
    }
    return MVKE_ERR_INVALID;
}

static void record(const mvke_index *ix, expect *e) {
    cr_assert_eq(mvke_index_search(ix, NQ, g_z, TOPK, NULL, e->S, e->I), MVKE_OK, "%s", mvke_last_error());
    mvke_result *r;
    cr_assert_eq(mvke_index_range_search(ix, NQ, g_z, MIN_SCORE, NULL, &r), MVKE_OK, "%s", mvke_last_error());
    int64_t total;
    mvke_result_total(r, &total);
    e->rid = malloc((size_t)(total + 1) * sizeof *e->rid);
    e->rs = malloc((size_t)(total + 1) * sizeof *e->rs);
    int64_t at = 0;
    for (int j = 0; j < NQ; j++) {
        const int64_t *ids;
        const float *s;
        int64_t n;
        mvke_result_get(r, j, &ids, &s, &n);
        e->lims[j] = at;
        memcpy(e->rid + at, ids, (size_t)n * sizeof *ids);
        memcpy(e->rs + at, s, (size_t)n * sizeof *s);
        at += n;
    }
    e->lims[NQ] = at;
    mvke_result_free(r);
}

static int same_topk(const expect *e, const float *S, const int64_t *I) {
    for (int i = 0; i < NQ * TOPK; i++)
        if (I[i] != e->I[i] || fabsf(S[i] - e->S[i]) > 1e-6f) return 0;
    return 1;
}

static int same_range(const expect *e, const mvke_result *r) {
    for (int j = 0; j < NQ; j++) {
        const int64_t *ids;
        const float *s;
        int64_t n;
        if (mvke_result_get(r, j, &ids, &s, &n) != MVKE_OK) return 0;
        if (n != e->lims[j + 1] - e->lims[j]) return 0;
        for (int64_t i = 0; i < n; i++)
            if (ids[i] != e->rid[e->lims[j] + i] || fabsf(s[i] - e->rs[e->lims[j] + i]) > 1e-6f) return 0;
    }
    return 1;
}

/* Shared between the writer and the searchers. */
typedef struct shared {
    mvke_index *ix;
    const expect *exp; /* NOPS + 1 states */
    _Atomic int done;  /* operations completed */
    _Atomic int stop;
    _Atomic int64_t searches;
    _Atomic int seen[NOPS + 1];
} shared;

typedef struct searcher {
    shared *sh;
    int me;
    int64_t runs, overlapped, failures;
    char first_failure[256];
} searcher;

static void *search_loop(void *arg) {
    searcher *s = arg;
    shared *sh = s->sh;
    float S[NQ * TOPK];
    int64_t I[NQ * TOPK];
    for (int64_t it = 0; !atomic_load(&sh->stop); it++) {
        int a = atomic_load(&sh->done);
        int range = (it + s->me) % 2 == 1;
        mvke_result *r = NULL;
        mvke_status st = range ? mvke_index_range_search(sh->ix, NQ, g_z, MIN_SCORE, NULL, &r)
                               : mvke_index_search(sh->ix, NQ, g_z, TOPK, NULL, S, I);
        int b = atomic_load(&sh->done);
        int hi = b + 1 < NOPS ? b + 1 : NOPS, match = -1;
        if (st == MVKE_OK)
            for (int j = a; j <= hi && match < 0; j++)
                if (range ? same_range(&sh->exp[j], r) : same_topk(&sh->exp[j], S, I)) match = j;
        mvke_result_free(r);
        s->runs++;
        if (b > a) s->overlapped++;
        if (match >= 0) {
            atomic_store(&sh->seen[match], 1);
        } else if (s->failures++ == 0) {
            snprintf(s->first_failure, sizeof s->first_failure,
                     "searcher %d, %s search, ops completed %d..%d: %s", s->me, range ? "threshold" : "top-k",
                     a, b, st == MVKE_OK ? "the result matches no state in that window" : mvke_status_name(st));
        }
        atomic_fetch_add(&sh->searches, 1);
    }
    return NULL;
}

static void wait_searches(shared *sh, int64_t target) {
    const struct timespec pause = {0, 100 * 1000};
    while (atomic_load(&sh->searches) < target) nanosleep(&pause, NULL);
}

Test(concurrency, searches_see_a_serial_order_of_changes, .timeout = 300) {
    ref_seed(808);
    ref_fill_normal(g_q, NQ * d);
    for (int j = 0; j < NQ; j++) {
        double sum = 0;
        for (int k = 0; k < K; k++) sum += g_w[j * K + k] = (float)exp(ref_normal());
        for (int k = 0; k < K; k++) g_w[j * K + k] = (float)(g_w[j * K + k] / sum);
        cr_assert_eq(mvke_pack_query(K, d, g_q + j * d, g_w + j * K, g_z + j * DD), MVKE_OK);
    }
    model m = {malloc((N0 + NOPS * BATCH) * sizeof(int64_t)), 0, 0, {0}, 0};
    float *x0 = malloc((size_t)N0 * DD * sizeof(float));
    int64_t *ids0 = malloc(N0 * sizeof(int64_t));
    ref_fill_normal(x0, (int64_t)N0 * DD);
    for (int i = 0; i < N0; i++) ids0[i] = m.ids[m.n++] = m.next_id++;
    op *ops = malloc(NOPS * sizeof *ops);
    make_ops(&m, ops);

    /* The serial replica: the expected result of every state. */
    expect *exp = calloc(NOPS + 1, sizeof *exp);
    mvke_index *rep, *live;
    cr_assert_eq(mvke_index_new(&rep, K, d, NULL), MVKE_OK);
    cr_assert_eq(mvke_index_new(&live, K, d, NULL), MVKE_OK);
    cr_assert_eq(mvke_index_add(rep, N0, ids0, x0), MVKE_OK);
    cr_assert_eq(mvke_index_add(live, N0, ids0, x0), MVKE_OK);
    record(rep, &exp[0]);
    int changes = 0;
    for (int o = 0; o < NOPS; o++) {
        cr_assert_eq(apply(rep, &ops[o]), MVKE_OK, "op %d: %s", o, mvke_last_error());
        record(rep, &exp[o + 1]);
        changes += !same_topk(&exp[o], exp[o + 1].S, exp[o + 1].I);
    }
    /* Neighbouring states must differ, or the check below could not tell them apart. */
    cr_assert_eq(changes, NOPS, "only %d of %d operations changed the top-k results", changes, NOPS);

    shared sh;
    memset(&sh, 0, sizeof sh);
    sh.ix = live;
    sh.exp = exp;
    pthread_t th[NSEARCHERS];
    searcher ss[NSEARCHERS];
    for (int i = 0; i < NSEARCHERS; i++) {
        ss[i] = (searcher){&sh, i, 0, 0, 0, ""};
        cr_assert_eq(pthread_create(&th[i], NULL, search_loop, &ss[i]), 0);
    }
    int64_t last = 0;
    mvke_status wst = MVKE_OK;
    int wfail = -1;
    for (int o = 0; o < NOPS; o++) {
        wait_searches(&sh, last + PER_OP);
        mvke_status st = apply(live, &ops[o]);
        if (st != MVKE_OK && wst == MVKE_OK) wst = st, wfail = o;
        atomic_store(&sh.done, o + 1);
        last = atomic_load(&sh.searches);
    }
    wait_searches(&sh, last + PER_OP);
    atomic_store(&sh.stop, 1);
    int64_t runs = 0, overlapped = 0;
    for (int i = 0; i < NSEARCHERS; i++) {
        pthread_join(th[i], NULL);
        runs += ss[i].runs;
        overlapped += ss[i].overlapped;
    }
    cr_assert_eq(wst, MVKE_OK, "writer op %d failed: %s", wfail, mvke_status_name(wst));
    for (int i = 0; i < NSEARCHERS; i++)
        cr_assert_eq(ss[i].failures, 0, "%lld of %lld searches failed; first: %s", (long long)ss[i].failures,
                     (long long)ss[i].runs, ss[i].first_failure);
    int seen = 0;
    for (int j = 0; j <= NOPS; j++) seen += atomic_load(&sh.seen[j]);
    /* The writer waits for searches after every operation, so every state is searched. */
    cr_assert_eq(seen, NOPS + 1, "searches saw %d of %d states", seen, NOPS + 1);
    fprintf(stderr, "concurrency: %lld searches by %d threads during %d changes, %lld overlapping a change, "
            "%d states seen, 0 mismatches\n", (long long)runs, NSEARCHERS, NOPS, (long long)overlapped, seen);

    /* The final state against the double oracle, so the expected results are right too. */
    int64_t n;
    mvke_index_count(live, &n);
    int64_t *ids = malloc((size_t)n * sizeof *ids);
    float *x = malloc((size_t)n * DD * sizeof *x);
    ref_hit *ref = malloc((size_t)n * sizeof *ref);
    mvke_index_ids(live, ids);
    for (int64_t i = 0; i < n; i++) cr_assert_eq(mvke_index_get(live, ids[i], x + i * DD), MVKE_OK);
    for (int j = 0; j < NQ; j++) {
        int64_t nref = ref_rank(K, d, n, x, ids, NULL, g_q + j * d, g_w + j * K, ref);
        ref_check_topk(exp[NOPS].I + j * TOPK, exp[NOPS].S + j * TOPK, TOPK, TOPK, ref, nref, 1e-5);
        ref_check_range(exp[NOPS].rid + exp[NOPS].lims[j], exp[NOPS].rs + exp[NOPS].lims[j],
                        exp[NOPS].lims[j + 1] - exp[NOPS].lims[j], MIN_SCORE, ref, nref, 1e-5);
    }
    free(ids);
    free(x);
    free(ref);
    for (int j = 0; j <= NOPS; j++) free(exp[j].rid), free(exp[j].rs);
    free(exp);
    free(ops);
    free(ids0);
    free(x0);
    free(m.ids);
    mvke_index_free(rep);
    mvke_index_free(live);
}

/* ---------------------------------------------------------------------------------------------
 * An allocation failing inside the OpenMP region of a search is returned after it.
 * ------------------------------------------------------------------------------------------- */

#define RANGE_MIN 0.6f

static int region_threads(void) {
    const char *e = getenv("MVKE_TEST_REGION_THREADS");
    int n = e ? atoi(e) : 4;
    return n > 0 ? n : 4;
}

/* Fails the Nth allocation of one search for N = 0, 1, ... until it succeeds: every failing
 * search returns MVKE_ERR_NOMEM, and the search right after it (no failure armed) returns the
 * baseline. Returns the allocations a successful search makes. */
static int64_t sweep(mvke_index *ix, int64_t nq, const float *z, int range) {
    enum { KK = 16 };
    float *S0 = malloc((size_t)nq * KK * sizeof(float)), *S = malloc((size_t)nq * KK * sizeof(float));
    int64_t *I0 = malloc((size_t)nq * KK * sizeof(int64_t)), *I = malloc((size_t)nq * KK * sizeof(int64_t));
    mvke_result *r0 = NULL, *r = NULL;
    cr_assert_eq(range ? mvke_index_range_search(ix, nq, z, RANGE_MIN, NULL, &r0)
                       : mvke_index_search(ix, nq, z, KK, NULL, S0, I0), MVKE_OK);
    int64_t total0 = 0;
    if (range) mvke_result_total(r0, &total0);
    int64_t made = -1;
    for (int64_t fail = 0; fail < 100000; fail++) {
        mvke_alloc_fail_after(fail);
        mvke_status st = range ? mvke_index_range_search(ix, nq, z, RANGE_MIN, NULL, &r)
                               : mvke_index_search(ix, nq, z, KK, NULL, S, I);
        int64_t n = mvke_alloc_fail_after(-1);
        if (st == MVKE_OK) {
            made = n;
            mvke_result_free(r);
            break;
        }
        cr_assert_eq(st, MVKE_ERR_NOMEM, "allocation %lld: %s (%s)", (long long)fail, mvke_status_name(st),
                     mvke_last_error());
        cr_assert(strstr(mvke_last_error(), "out of memory"), "allocation %lld: message \"%s\"",
                  (long long)fail, mvke_last_error());
        if (range) cr_assert_null(r, "a failed threshold search handed out a result");
        /* The next search is whole again. */
        cr_assert_eq(range ? mvke_index_range_search(ix, nq, z, RANGE_MIN, NULL, &r)
                           : mvke_index_search(ix, nq, z, KK, NULL, S, I), MVKE_OK);
        if (range) {
            int64_t total;
            mvke_result_total(r, &total);
            cr_assert_eq(total, total0);
            for (int64_t j = 0; j < nq; j++) {
                const int64_t *a, *b;
                const float *sa, *sb;
                int64_t na, nb;
                mvke_result_get(r, j, &a, &sa, &na);
                mvke_result_get(r0, j, &b, &sb, &nb);
                cr_assert_eq(na, nb);
                cr_assert(memcmp(a, b, (size_t)na * sizeof *a) == 0 && memcmp(sa, sb, (size_t)na * sizeof *sa) == 0);
            }
            mvke_result_free(r);
            r = NULL;
        } else {
            cr_assert(memcmp(S, S0, (size_t)nq * KK * sizeof *S) == 0 && memcmp(I, I0, (size_t)nq * KK * sizeof *I) == 0,
                      "allocation %lld: the search after a failed one differs from the baseline", (long long)fail);
        }
    }
    cr_assert_geq(made, 0, "the search never succeeded");
    mvke_result_free(r0);
    free(S0), free(S), free(I0), free(I);
    return made;
}

static mvke_index *region_index(int64_t n, int threads, float *z, int64_t nq) {
    mvke_index_options o;
    mvke_index_options_init(&o);
    o.threads = threads;
    mvke_index *ix;
    cr_assert_eq(mvke_index_new(&ix, K, d, &o), MVKE_OK);
    float *x = malloc((size_t)n * DD * sizeof(float));
    ref_fill_normal(x, n * DD);
    cr_assert_eq(mvke_index_add(ix, n, NULL, x), MVKE_OK);
    free(x);
    float q[d], w[K];
    for (int64_t j = 0; j < nq; j++) {
        ref_fill_normal(q, d);
        for (int k = 0; k < K; k++) w[k] = (float)ref_uniform();
        cr_assert_eq(mvke_pack_query(K, d, q, w, z + j * DD), MVKE_OK);
    }
    return ix;
}

/* Threads split the row tiles of one query tile (few queries, many rows). A search allocates
 * before the region (packed queries, plan) and in each of its threads (selectors, hit lists):
 * at least one allocation per thread besides those before, or the sweep would not reach the
 * region. */
Test(concurrency, error_in_region_is_returned_rows_split, .timeout = 300) {
    ref_seed(99);
    const int T = region_threads();
    float z[2 * DD];
    mvke_index *ix = region_index(20000, T, z, 2);
    int64_t made = sweep(ix, 2, z, 0);
    const int64_t want = 1 + T;
    cr_assert_geq(made, want, "a successful search made %lld allocations; %d threads should make >= %lld",
                  (long long)made, T, (long long)want);
    int64_t made_r = sweep(ix, 2, z, 1);
    fprintf(stderr, "region (rows split, %d threads): top-k search survived %lld injected failures, "
            "threshold search %lld\n", T, (long long)made, (long long)made_r);
    mvke_index_free(ix);
}

/* Threads take whole query tiles (many queries). */
Test(concurrency, error_in_region_is_returned_queries_split, .timeout = 300) {
    ref_seed(98);
    const int T = region_threads();
    enum { NQQ = 600 };
    float *z = malloc(NQQ * DD * sizeof(float));
    mvke_index *ix = region_index(200, T, z, NQQ); /* one row tile */
    int64_t made = sweep(ix, NQQ, z, 0);
    int64_t made_r = sweep(ix, NQQ, z, 1);
    cr_assert_geq(made, 1 + T, "a successful search made %lld allocations", (long long)made);
    fprintf(stderr, "region (queries split, %d threads): top-k search survived %lld injected failures, "
            "threshold search %lld\n", T, (long long)made, (long long)made_r);
    free(z);
    mvke_index_free(ix);
}
