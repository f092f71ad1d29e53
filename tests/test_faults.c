/*
 * test_faults.c - allocation failures in every core operation.
 *
 * For each operation the Nth allocation is made to fail (mvke_alloc_fail_after), for
 * N = 0, 1, 2, ... until the operation succeeds. Every failing call must return MVKE_ERR_NOMEM,
 * hand out nothing, and leave the index and the tag table byte for byte as they were (a full
 * snapshot: ids in storage order, rows, tasks, tag metadata and gated rows). The successful call
 * must give what the same call gives without any failure. Under AddressSanitizer each failing
 * call is followed by a LeakSanitizer check (docs/reliability.md).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/runtime.h"
#include "reference.h"

/* Under AddressSanitizer every failing call is also checked for leaks on the spot, so that a
 * leak names the operation and the failing allocation (Criterion does not fail a test whose
 * process reports leaks at exit; .ci/run's sanitizer pass catches those from the logs). */
#if defined(__SANITIZE_ADDRESS__)
#define MVKE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MVKE_LSAN 1
#endif
#endif
#ifdef MVKE_LSAN
#include <sanitizer/lsan_interface.h>
static int leaks_now(void) { return __lsan_do_recoverable_leak_check(); }
#else
static int leaks_now(void) { return 0; }
#endif

enum { K = 4, d = 8, DD = K * d, NU = 1000, NT = 10, TAG0 = 500, TAG_SPAN = 200 };

static const char *TASKS[2] = {"interest", "intention"};

/* ---------------------------------------------------------------------------------------------
 * Snapshots, serialised to bytes so that two can be compared with memcmp
 * ------------------------------------------------------------------------------------------- */

typedef struct bytes {
    unsigned char *p;
    size_t n, cap;
} bytes;

static void put(bytes *b, const void *v, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        cr_assert_not_null(b->p);
    }
    memcpy(b->p + b->n, v, n);
    b->n += n;
}

static void put_i64(bytes *b, int64_t v) { put(b, &v, sizeof v); }

static void snap_index(bytes *b, const mvke_index *ix) {
    int64_t n;
    cr_assert_eq(mvke_index_count(ix, &n), MVKE_OK);
    put_i64(b, n);
    int64_t *ids = malloc((size_t)(n + 1) * sizeof *ids);
    float row[DD];
    cr_assert_eq(mvke_index_ids(ix, ids), MVKE_OK);
    put(b, ids, (size_t)n * sizeof *ids); /* storage order is part of the state */
    for (int64_t i = 0; i < n; i++) {
        cr_assert_eq(mvke_index_get(ix, ids[i], row), MVKE_OK);
        put(b, row, sizeof row);
    }
    free(ids);
}

static void snap_tags(bytes *b, const mvke_tags *t) {
    int nt;
    cr_assert_eq(mvke_tags_ntasks(t, &nt), MVKE_OK);
    put_i64(b, nt);
    for (int i = 0; i < nt; i++) {
        const char *name;
        const int *ex;
        int nex;
        int64_t count;
        cr_assert_eq(mvke_tags_task(t, i, &name, &ex, &nex), MVKE_OK);
        put(b, name, strlen(name) + 1);
        put(b, ex, (size_t)nex * sizeof *ex);
        cr_assert_eq(mvke_tags_count(t, name, &count), MVKE_OK);
        put_i64(b, count);
        for (int64_t id = TAG0; id < TAG0 + TAG_SPAN; id++) {
            const char *tname;
            int64_t parent;
            float q[d], w[K], z[DD];
            mvke_status st = mvke_tags_get(t, name, id, &tname, &parent, q, w);
            put_i64(b, st);
            if (st != MVKE_OK) continue;
            put(b, tname, strlen(tname) + 1);
            put_i64(b, parent);
            put(b, q, sizeof q);
            put(b, w, sizeof w);
            cr_assert_eq(mvke_tags_get_row(t, name, id, z), MVKE_OK);
            put(b, z, sizeof z);
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * The world the operations run on, and the operations
 * ------------------------------------------------------------------------------------------- */

typedef struct world {
    mvke_index *users;
    mvke_tags *tags;
    /* operands */
    float add_x[300 * DD], ups_x[100 * DD], queries[8 * DD], tag_q[20 * d];
    int64_t add_ids[300], ups_ids[100], rm_ids[100], tag_ids[20], aud_tags[3], top_users[5];
    const char *tag_names[20];
    char tag_name_buf[20][16];
    /* outputs */
    float S[8 * 10];
    int64_t I[8 * 10];
    mvke_result *res;
} world;

static void world_make(world *w, uint64_t seed) {
    memset(w, 0, sizeof *w);
    ref_seed(seed);
    mvke_index_options o;
    mvke_index_options_init(&o);
    o.threads = 2; /* searches run an OpenMP region with per-thread allocations */
    cr_assert_eq(mvke_index_new(&w->users, K, d, &o), MVKE_OK);
    cr_assert_eq(mvke_tags_new(&w->tags, K, d, &o), MVKE_OK);
    float *x = malloc(NU * DD * sizeof(float));
    int64_t *ids = malloc(NU * sizeof(int64_t));
    ref_fill_normal(x, NU * DD);
    for (int i = 0; i < NU; i++) ids[i] = 7 * i + 1;
    cr_assert_eq(mvke_index_add(w->users, NU, ids, x), MVKE_OK);
    float vk[DD];
    ref_fill_normal(vk, DD);
    cr_assert_eq(mvke_tags_set_vk(w->tags, vk, 1.0f), MVKE_OK);
    const int ex[2][3] = {{0, 1, 2}, {1, 2, 3}};
    for (int t = 0; t < 2; t++) {
        cr_assert_eq(mvke_tags_add_task(w->tags, TASKS[t], ex[t], 3), MVKE_OK);
        float q[NT * d];
        int64_t tid[NT];
        ref_fill_normal(q, NT * d);
        for (int i = 0; i < NT; i++) tid[i] = TAG0 + i;
        cr_assert_eq(mvke_tags_add(w->tags, TASKS[t], NT, tid, NULL, NULL, q, NULL), MVKE_OK);
    }
    /* Operands: 300 new users; an upsert of 50 present and 50 new; 100 removals; 20 new tags
     * (the task's arrays grow past their first capacity); searches. */
    ref_fill_normal(w->add_x, 300 * DD);
    for (int i = 0; i < 300; i++) w->add_ids[i] = 100000 + i;
    ref_fill_normal(w->ups_x, 100 * DD);
    for (int i = 0; i < 100; i++) w->ups_ids[i] = i < 50 ? ids[3 * i] : 200000 + i;
    for (int i = 0; i < 100; i++) w->rm_ids[i] = ids[NU - 1 - 5 * i];
    ref_fill_normal(w->tag_q, 20 * d);
    for (int i = 0; i < 20; i++) {
        w->tag_ids[i] = TAG0 + NT + i;
        snprintf(w->tag_name_buf[i], sizeof w->tag_name_buf[i], "tag %d", i);
        w->tag_names[i] = w->tag_name_buf[i];
    }
    float qq[d], gg[K];
    for (int j = 0; j < 8; j++) {
        ref_fill_normal(qq, d);
        for (int k = 0; k < K; k++) gg[k] = (float)ref_uniform();
        cr_assert_eq(mvke_pack_query(K, d, qq, gg, w->queries + j * DD), MVKE_OK);
    }
    for (int i = 0; i < 3; i++) w->aud_tags[i] = TAG0 + 2 * i;
    for (int i = 0; i < 5; i++) w->top_users[i] = ids[11 * i];
    free(x);
    free(ids);
}

static void world_free(world *w) {
    mvke_result_free(w->res);
    mvke_index_free(w->users);
    mvke_tags_free(w->tags);
}

static bytes snap(const world *w) {
    bytes b = {0};
    snap_index(&b, w->users);
    snap_tags(&b, w->tags);
    return b;
}

typedef mvke_status (*op_fn)(world *w);

static mvke_status op_add(world *w) { return mvke_index_add(w->users, 300, w->add_ids, w->add_x); }
static mvke_status op_upsert(world *w) { return mvke_index_upsert(w->users, 100, w->ups_ids, w->ups_x); }
static mvke_status op_remove(world *w) { return mvke_index_remove(w->users, 100, w->rm_ids); }
static mvke_status op_search(world *w) { return mvke_index_search(w->users, 8, w->queries, 10, NULL, w->S, w->I); }
static mvke_status op_range(world *w) {
    return mvke_index_range_search(w->users, 4, w->queries, 0.6f, NULL, &w->res);
}
static mvke_status op_tags_add(world *w) {
    return mvke_tags_add(w->tags, TASKS[0], 20, w->tag_ids, w->tag_names, NULL, w->tag_q, NULL);
}
static mvke_status op_audience(world *w) {
    return mvke_audience_top(w->users, w->tags, TASKS[1], 3, w->aud_tags, 10, NULL, &w->res);
}
static mvke_status op_user_tags(world *w) {
    return mvke_user_tags_top(w->users, w->tags, NULL, 5, w->top_users, 4, &w->res);
}

/* Serialises the outputs of a call (search buffers and the result object). */
static bytes outputs(const world *w, op_fn op) {
    bytes b = {0};
    if (op == op_search) {
        put(&b, w->S, sizeof w->S);
        put(&b, w->I, sizeof w->I);
    }
    if (w->res) {
        int64_t nq;
        mvke_result_nqueries(w->res, &nq);
        put_i64(&b, nq);
        for (int64_t i = 0; i < nq; i++) {
            const int64_t *ids;
            const float *s;
            int64_t n;
            mvke_result_get(w->res, i, &ids, &s, &n);
            put_i64(&b, n);
            put(&b, ids, (size_t)n * sizeof *ids);
            put(&b, s, (size_t)n * sizeof *s);
        }
    }
    return b;
}

static int same_bytes(bytes a, bytes b) { return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0); }

/* The sweep. Returns the number of injected failures the operation survived. */
static int64_t sweep(const char *what, op_fn op) {
    /* What the call gives, and the state it leaves, without failures. */
    world ref;
    world_make(&ref, 5);
    cr_assert_eq(op(&ref), MVKE_OK, "%s: %s", what, mvke_last_error());
    bytes want_state = snap(&ref), want_out = outputs(&ref, op);
    world_free(&ref);

    world w;
    world_make(&w, 5);
    int64_t fail, made = -1;
    for (fail = 0; fail < 100000; fail++) {
        bytes before = snap(&w);
        mvke_alloc_fail_after(fail);
        mvke_status st = op(&w);
        int64_t n = mvke_alloc_fail_after(-1);
        bytes after = snap(&w);
        if (st == MVKE_OK) {
            made = n;
            cr_assert(same_bytes(after, want_state), "%s: the state after success differs from a run without failures", what);
            bytes out = outputs(&w, op);
            cr_assert(same_bytes(out, want_out), "%s: the output after %lld failures differs", what, (long long)fail);
            free(out.p);
            free(before.p);
            free(after.p);
            break;
        }
        cr_assert_eq(st, MVKE_ERR_NOMEM, "%s, allocation %lld failing: %s (%s)", what, (long long)fail,
                     mvke_status_name(st), mvke_last_error());
        cr_assert(mvke_last_error()[0] != '\0', "%s, allocation %lld: no message", what, (long long)fail);
        cr_assert_null(w.res, "%s, allocation %lld: a failed call handed out a result", what, (long long)fail);
        cr_assert(same_bytes(before, after), "%s, allocation %lld failing: the index or tag table changed", what,
                  (long long)fail);
        cr_assert(!leaks_now(), "%s, allocation %lld failing: memory leaked (report above)", what, (long long)fail);
        free(before.p);
        free(after.p);
    }
    cr_assert_geq(made, 0, "%s never succeeded", what);
    /* A failed call may keep capacity it reserved before the failing allocation (not part of the
     * state), so the successful call can need fewer allocations than the failures injected. */
    cr_assert_leq(made, fail, "%s: %lld allocations on success but it failed up to %lld", what, (long long)made,
                  (long long)fail);
    fprintf(stderr, "faults: %-22s %4lld injected failures, each MVKE_ERR_NOMEM with nothing changed\n", what,
            (long long)fail);
    world_free(&w);
    free(want_state.p);
    free(want_out.p);
    return fail;
}

/* Each operation must allocate at all, or its sweep would prove nothing. */
Test(faults, index_add) { cr_assert_gt(sweep("mvke_index_add", op_add), 0); }
Test(faults, index_upsert) { cr_assert_gt(sweep("mvke_index_upsert", op_upsert), 0); }
Test(faults, index_remove) { cr_assert_gt(sweep("mvke_index_remove", op_remove), 0); }
Test(faults, index_search) { cr_assert_gt(sweep("mvke_index_search", op_search), 0); }
Test(faults, index_range_search) { cr_assert_gt(sweep("mvke_index_range_search", op_range), 0); }
Test(faults, tags_add) { cr_assert_gt(sweep("mvke_tags_add", op_tags_add), 0); }
Test(faults, audience_top) { cr_assert_gt(sweep("mvke_audience_top", op_audience), 0); }
Test(faults, user_tags_top) { cr_assert_gt(sweep("mvke_user_tags_top", op_user_tags), 0); }
