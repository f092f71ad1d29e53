/*
 * test_cpu_backend.c - the CPU backend called directly on hand-made databases: several blocks
 * of uneven sizes (including empty ones), in every storage, both filter kinds,
 * both work splits (few and many queries), against the double oracle.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/backend.h"
#include "kernels/gram.h"
#include "blocks.h"
#include "reference.h"

enum { K = 4, d = 6, DD = K * d, P = K * (K + 1) / 2 };

typedef struct db_fixture {
    int64_t n;
    float *x;    /* as the backend sees them (rounded to the storage) */
    int64_t *ids;
    float *gram;
    mvke_kblock blocks[4];
    mvke_kdb db;
} db_fixture;

/* Four blocks of uneven sizes (one empty, one not a multiple of the panel width). */
static void fixture_make(db_fixture *f, mvke_storage storage) {
    static const int64_t sizes[4] = {700, 0, 9000, 31};
    f->n = 0;
    for (int b = 0; b < 4; b++) f->n += sizes[b];
    f->x = malloc(f->n * DD * sizeof(float));
    f->ids = malloc(f->n * sizeof(int64_t));
    f->gram = malloc(f->n * P * sizeof(float));
    ref_fill_normal(f->x, f->n * DD);
    ref_round(storage, f->x, f->n * DD);
    int64_t at = 0;
    for (int b = 0; b < 4; b++) {
        for (int64_t i = at; i < at + sizes[b]; i++) {
            f->ids[i] = 5 * i + b;
            mvke_gram_doubled(K, d, f->x + i * DD, f->gram + i * P);
        }
        at += sizes[b];
    }
    mvke_layout L;
    cr_assert_eq(mvke_layout_init(&L, K, d, storage), 0);
    ref_blocks_make(&L, 4, sizes, f->x, f->gram, f->ids, f->blocks);
    f->db = (mvke_kdb){.L = L, .experts = mvke_experts_all(K), .nblocks = 4, .blocks = f->blocks};
}

static void fixture_free(db_fixture *f) {
    ref_blocks_free(4, f->blocks);
    free(f->x);
    free(f->ids);
    free(f->gram);
}

static void run_case(db_fixture *f, int nq, int64_t k, const mvke_kfilter *filter, const uint8_t *allowed,
                     int threads) {
    const mvke_backend *be = mvke_backend_cpu();
    float *q = malloc(nq * d * sizeof(float)), *w = malloc(nq * K * sizeof(float));
    float *z = malloc(nq * DD * sizeof(float)), *zg = malloc(nq * P * sizeof(float));
    float *S = malloc(nq * k * sizeof(float));
    int64_t *I = malloc(nq * k * sizeof(int64_t));
    ref_hit *ref = malloc(f->n * sizeof(ref_hit));
    ref_fill_normal(q, nq * d);
    for (int i = 0; i < nq * K; i++) w[i] = (float)ref_uniform();
    for (int t = 0; t < nq; t++) {
        mvke_pack_query(K, d, q + t * d, w + t * K, z + t * DD);
        mvke_gram_plain(K, d, z + t * DD, zg + t * P);
    }
    mvke_kqueries qs = {nq, z, zg};
    cr_assert_eq(be->knn(be, &f->db, &qs, k, filter, threads, S, I), MVKE_OK);
    mvke_kranges r;
    cr_assert_eq(be->range(be, &f->db, &qs, 0.3f, filter, threads, &r), MVKE_OK);
    cr_assert_eq(r.nq, nq);
    for (int t = 0; t < nq; t++) {
        int64_t nref = ref_rank(K, d, f->n, f->x, f->ids, allowed, q + t * d, w + t * K, ref);
        int64_t got = 0;
        while (got < k && I[t * k + got] >= 0) got++;
        ref_check_topk(I + t * k, S + t * k, got, k, ref, nref, 1e-5);
        ref_check_range(r.ids + r.lims[t], r.scores + r.lims[t], r.lims[t + 1] - r.lims[t], 0.3f, ref, nref, 1e-5);
    }
    mvke_kranges_release(&r);
    free(q); free(w); free(z); free(zg); free(S); free(I); free(ref);
}

Test(cpu_backend, blocks_every_storage_both_splits) {
    const mvke_storage sts[] = {MVKE_STORAGE_F32, MVKE_STORAGE_F16, MVKE_STORAGE_BF16};
    for (int si = 0; si < 3; si++) {
        ref_seed(21);
        db_fixture f;
        fixture_make(&f, sts[si]);
        for (int threads = 1; threads <= 2; threads++) {
            run_case(&f, 1, 10, NULL, NULL, threads);
            run_case(&f, 2, 300, NULL, NULL, threads);
            run_case(&f, 600, 3, NULL, NULL, threads);
        }
        fixture_free(&f);
    }
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

Test(cpu_backend, filters) {
    ref_seed(22);
    db_fixture f;
    fixture_make(&f, MVKE_STORAGE_F32);
    uint8_t *allowed = calloc(f.n, 1);
    int64_t *sorted = malloc(f.n * sizeof(int64_t)), ns = 0;
    int64_t nbits = f.ids[f.n - 1] + 1;
    uint8_t *bits = calloc(nbits / 8 + 1, 1);
    for (int64_t i = 0; i < f.n; i++)
        if (f.ids[i] % 3 == 0) {
            allowed[i] = 1;
            sorted[ns++] = f.ids[i];
            bits[f.ids[i] / 8] |= (uint8_t)(1u << (f.ids[i] % 8));
        }
    qsort(sorted, ns, sizeof *sorted, cmp_i64);
    mvke_kfilter fs = {NULL, 0, sorted, ns, NULL, NULL}, fb = {bits, nbits, NULL, 0, NULL, NULL};
    run_case(&f, 1, 50, &fs, allowed, 2);
    run_case(&f, 7, 50, &fb, allowed, 2);
    run_case(&f, 300, 5, &fb, allowed, 1);
    free(allowed); free(sorted); free(bits);
    fixture_free(&f);
}

Test(cpu_backend, filter_semantics) {
    int64_t s[3] = {2, 5, 9};
    uint8_t b[2] = {0x05, 0x80}; /* ids 0, 2, 15 */
    mvke_kfilter fs = {NULL, 0, s, 3, NULL, NULL}, fb = {b, 16, NULL, 0, NULL, NULL};
    cr_assert(mvke_kfilter_pass(NULL, 123));
    cr_assert(mvke_kfilter_pass(&fs, 5) && mvke_kfilter_pass(&fs, 9) && !mvke_kfilter_pass(&fs, 6));
    cr_assert(!mvke_kfilter_pass(&fs, -1) && !mvke_kfilter_pass(&fs, 10));
    cr_assert(mvke_kfilter_pass(&fb, 0) && mvke_kfilter_pass(&fb, 2) && mvke_kfilter_pass(&fb, 15));
    cr_assert(!mvke_kfilter_pass(&fb, 1) && !mvke_kfilter_pass(&fb, 16) && !mvke_kfilter_pass(&fb, -3));
}
