/*
 * test_cuda_backend.c - the CUDA backend against the CPU backend on the same data, on a GPU.
 *
 * A plain C program (no Criterion), so that a GPU machine can build and run it with
 * -Dtests=false. Without a usable GPU, or in a build without CUDA, it prints why and exits 77,
 * which meson reports as SKIP: it never passes without having run on a device.
 *
 * Every op runs on both backends over the same database view (blocks of uneven sizes, empty
 * blocks, float32, float16 and bfloat16 storage), and the results must agree: per rank, scores
 * within TOL (1e-5 float32, 1e-3 float16), ids equal except where scores tie within TOL, every
 * GPU score within TOL of the double-precision score of its id, no id twice, only allowed ids.
 * The GPU backend runs resident, streamed from host memory (resident_bytes < 0), and over every
 * visible device. Then the public paths: mvke_index_use_gpu, searches after add / upsert /
 * remove (device copies refreshed), and back to the CPU; mvke_tags_use_gpu, user -> tags of two
 * tasks for thousands of users (the fused kernel), after adding tags and declaring a task.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/backend.h"
#include "kernels/cuda/cuda_module.h"
#include "tests/blocks.h"
#include "kernels/gram.h"
#include "kernels/half.h"
#include "mvke/mvke.h"
#include "support/rng.h"

#define SKIP 77
enum { K = 5, d = 30, D = K * d, P = K * (K + 1) / 2 };

static int checks, failures;

#define FAIL(...)                                                                            \
    do {                                                                                     \
        failures++;                                                                          \
        if (failures <= 30) {                                                                \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                      \
            printf(__VA_ARGS__);                                                             \
            printf("\n");                                                                    \
        }                                                                                    \
    } while (0)

/* Deterministic random numbers: one stream of support/rng.h, restarted with reseed(). */
static synth_rng rng = {1, 0};
static void reseed(uint64_t seed) { rng = synth_rng_at(seed, 0); }
static double uniform(void) { return synth_rng_uniform(&rng); }
static float normal(void) { return (float)synth_rng_normal(&rng); }

/* ------------------------------------------------------------------------------------------
 * A database view over host arrays, as the index would hand it to a backend.
 * ---------------------------------------------------------------------------------------- */

typedef struct db {
    int64_t n;
    float *x;       /* rows as the backends see them (rounded to the storage) */
    float *gram;
    int64_t *ids;
    int nblocks;
    mvke_kblock blocks[4];
    mvke_kdb kdb;
} db;

/* storage: 0 float32, 1 float16, 2 bfloat16. */
static void db_make(db *b, const int64_t *sizes, int nblocks, int storage) {
    static const mvke_storage sts[] = {MVKE_STORAGE_F32, MVKE_STORAGE_F16, MVKE_STORAGE_BF16};
    int64_t n = 0;
    for (int i = 0; i < nblocks; i++) n += sizes[i];
    b->n = n;
    b->nblocks = nblocks;
    b->x = malloc((size_t)(n ? n : 1) * D * sizeof(float));
    b->gram = malloc((size_t)(n ? n : 1) * P * sizeof(float));
    b->ids = malloc((size_t)(n ? n : 1) * sizeof(int64_t));
    int64_t next_id = 3;
    for (int64_t r = 0; r < n; r++) {
        float *row = b->x + r * D;
        for (int j = 0; j < D; j++) row[j] = normal();
        ref_round(sts[storage], row, D);
        mvke_gram_doubled(K, d, row, b->gram + r * P);
        next_id += 1 + (int64_t)(uniform() * 3); /* sparse, increasing... */
        b->ids[r] = (r % 7 == 3) ? 1000000007 - r : next_id; /* ...with some out of order */
    }
    mvke_layout L;
    mvke_layout_init(&L, K, d, sts[storage]);
    ref_blocks_make(&L, nblocks, sizes, b->x, b->gram, b->ids, b->blocks);
    b->kdb = (mvke_kdb){.L = L, .experts = mvke_experts_all(K), .nblocks = nblocks, .blocks = b->blocks};
}

static void db_free(db *b) {
    ref_blocks_free(b->nblocks, b->blocks);
    free(b->x);
    free(b->gram);
    free(b->ids);
}

/* Gated query rows z = w (x) q with softmax gates over a random subset; query 0 of a batch of
 * at least 3 is all zeros (every score 0: the order is by id alone). */
static void queries_make(int64_t nq, float *z, float *gram) {
    for (int64_t i = 0; i < nq; i++) {
        float q[d], w[K];
        for (int j = 0; j < d; j++) q[j] = normal();
        double sum = 0;
        for (int k = 0; k < K; k++) {
            w[k] = uniform() < 0.3 ? 0.0f : (float)exp(normal());
            sum += w[k];
        }
        for (int k = 0; k < K; k++) w[k] = sum > 0 ? (float)(w[k] / sum) : 1.0f / K;
        for (int k = 0; k < K; k++)
            for (int j = 0; j < d; j++) z[i * D + k * d + j] = nq >= 3 && i == 0 ? 0.0f : w[k] * q[j];
        mvke_gram_plain(K, d, z + i * D, gram + i * P);
    }
}

/* The score of a row and a gated query, in double. */
static double exact(const float *x, const float *z) {
    double num = 0, gx[K][K], gz[K][K];
    for (int j = 0; j < D; j++) num += (double)x[j] * z[j];
    for (int a = 0; a < K; a++)
        for (int b = 0; b < K; b++) {
            double sx = 0, sz = 0;
            for (int j = 0; j < d; j++) {
                sx += (double)x[a * d + j] * x[b * d + j];
                sz += (double)z[a * d + j] * z[b * d + j];
            }
            gx[a][b] = sx;
            gz[a][b] = sz;
        }
    double den2 = 0;
    for (int a = 0; a < K; a++)
        for (int b = 0; b < K; b++) den2 += gx[a][b] * gz[a][b];
    return den2 > 0 ? num / sqrt(den2) : 0.0;
}

static int64_t row_of(const db *b, int64_t id) {
    for (int64_t r = 0; r < b->n; r++)
        if (b->ids[r] == id) return r;
    return -1;
}

/* ------------------------------------------------------------------------------------------
 * Comparisons
 * ---------------------------------------------------------------------------------------- */

static void compare_knn(const char *what, const db *b, const float *z, int64_t nq, int64_t k,
                        const mvke_kfilter *f, const float *cs, const int64_t *ci, const float *gs,
                        const int64_t *gi, double tol) {
    checks++;
    for (int64_t q = 0; q < nq; q++) {
        for (int64_t r = 0; r < k; r++) {
            const int64_t at = q * k + r;
            if ((ci[at] < 0) != (gi[at] < 0)) {
                FAIL("%s: query %lld rank %lld: cpu id %lld, gpu id %lld (padding differs)", what,
                     (long long)q, (long long)r, (long long)ci[at], (long long)gi[at]);
                return;
            }
            if (gi[at] < 0) {
                if (!(isinf(gs[at]) && gs[at] < 0)) FAIL("%s: query %lld rank %lld: pad score %g", what, (long long)q, (long long)r, gs[at]);
                continue;
            }
            if (fabs((double)cs[at] - gs[at]) > tol) {
                FAIL("%s: query %lld rank %lld: cpu %.7f (id %lld) vs gpu %.7f (id %lld)", what,
                     (long long)q, (long long)r, cs[at], (long long)ci[at], gs[at], (long long)gi[at]);
                return;
            }
            if (gi[at] != ci[at] || r < 3) { /* a tie: the gpu's id must really score that */
                int64_t row = row_of(b, gi[at]);
                if (row < 0 || !mvke_kfilter_pass(f, gi[at])) {
                    FAIL("%s: query %lld rank %lld: gpu id %lld is not an eligible row", what,
                         (long long)q, (long long)r, (long long)gi[at]);
                    return;
                }
                double e = exact(b->x + row * D, z + q * D);
                if (fabs(e - gs[at]) > tol) {
                    FAIL("%s: query %lld rank %lld: gpu score %.7f of id %lld, exact %.7f", what,
                         (long long)q, (long long)r, gs[at], (long long)gi[at], e);
                    return;
                }
            }
            for (int64_t s = 0; s < r; s++)
                if (gi[q * k + s] == gi[at]) {
                    FAIL("%s: query %lld: id %lld twice", what, (long long)q, (long long)gi[at]);
                    return;
                }
        }
    }
}

static int cmp_id(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void compare_range(const char *what, const db *b, const float *z, int64_t nq, float min,
                          const mvke_kranges *c, const mvke_kranges *g, double tol) {
    checks++;
    for (int64_t q = 0; q < nq; q++) {
        const int64_t c0 = c->lims[q], c1 = c->lims[q + 1], g0 = g->lims[q], g1 = g->lims[q + 1];
        for (int64_t e = g0; e < g1; e++) {
            if (e > g0 && (g->scores[e] > g->scores[e - 1] ||
                           (g->scores[e] == g->scores[e - 1] && g->ids[e] < g->ids[e - 1]))) {
                FAIL("%s: query %lld: gpu list not sorted at %lld", what, (long long)q, (long long)(e - g0));
                return;
            }
            int64_t row = row_of(b, g->ids[e]);
            double ex = row >= 0 ? exact(b->x + row * D, z + q * D) : -9;
            if (row < 0 || fabs(ex - g->scores[e]) > tol || ex < min - tol) {
                FAIL("%s: query %lld: gpu hit id %lld score %.7f, exact %.7f (min %g)", what,
                     (long long)q, (long long)g->ids[e], g->scores[e], ex, min);
                return;
            }
        }
        /* Every clear cpu hit is a gpu hit; list sizes differ only by borderline hits. */
        int64_t ng = g1 - g0;
        int64_t *sorted = malloc((size_t)(ng ? ng : 1) * sizeof *sorted);
        memcpy(sorted, g->ids + g0, (size_t)ng * sizeof *sorted);
        qsort(sorted, (size_t)ng, sizeof *sorted, cmp_id);
        for (int64_t e = 1; e < ng; e++)
            if (sorted[e] == sorted[e - 1]) FAIL("%s: query %lld: id %lld twice", what, (long long)q, (long long)sorted[e]);
        for (int64_t e = c0; e < c1; e++)
            if (c->scores[e] >= min + tol &&
                !bsearch(&c->ids[e], sorted, (size_t)ng, sizeof *sorted, cmp_id)) {
                FAIL("%s: query %lld: cpu hit id %lld (%.7f) missing on the gpu", what, (long long)q,
                     (long long)c->ids[e], c->scores[e]);
                break;
            }
        free(sorted);
    }
}

/* ------------------------------------------------------------------------------------------
 * Cases over a database view
 * ---------------------------------------------------------------------------------------- */

static void run_knn(const char *name, const mvke_backend *gpu, const db *b, int64_t nq, int64_t k,
                    const mvke_kfilter *f, double tol) {
    float *z = malloc((size_t)nq * D * sizeof *z), *g = malloc((size_t)nq * P * sizeof *g);
    queries_make(nq, z, g);
    mvke_kqueries q = {nq, z, g};
    size_t nk = (size_t)nq * (size_t)k;
    float *cs = malloc(nk * sizeof *cs), *gs = malloc(nk * sizeof *gs);
    int64_t *ci = malloc(nk * sizeof *ci), *gi = malloc(nk * sizeof *gi);
    const mvke_backend *cpu = mvke_backend_cpu();
    char what[200];
    snprintf(what, sizeof what, "%s knn nq=%lld k=%lld%s", name, (long long)nq, (long long)k,
             f ? (f->bits ? " bitmap" : " sorted") : "");
    mvke_status st = cpu->knn(cpu, &b->kdb, &q, k, f, 0, cs, ci);
    if (st != MVKE_OK) FAIL("%s: cpu: %s", what, mvke_last_error());
    st = gpu->knn(gpu, &b->kdb, &q, k, f, 0, gs, gi);
    if (st != MVKE_OK) FAIL("%s: gpu: %s: %s", what, mvke_status_name(st), mvke_last_error());
    else compare_knn(what, b, z, nq, k, f, cs, ci, gs, gi, tol);
    if (st == MVKE_OK && nq >= 3) { /* query 0 scores 0 everywhere: ids in increasing order */
        checks++;
        for (int64_t r = 0; r < k; r++)
            if (gi[r] != ci[r]) {
                FAIL("%s: all-tie query rank %lld: cpu id %lld gpu id %lld", what, (long long)r,
                     (long long)ci[r], (long long)gi[r]);
                break;
            }
    }
    free(z); free(g); free(cs); free(gs); free(ci); free(gi);
}

static void run_range(const char *name, const mvke_backend *gpu, const db *b, int64_t nq, float min,
                      const mvke_kfilter *f, double tol) {
    float *z = malloc((size_t)nq * D * sizeof *z), *g = malloc((size_t)nq * P * sizeof *g);
    queries_make(nq, z, g);
    mvke_kqueries q = {nq, z, g};
    const mvke_backend *cpu = mvke_backend_cpu();
    mvke_kranges c = {0}, r = {0};
    char what[200];
    snprintf(what, sizeof what, "%s range nq=%lld min=%g%s", name, (long long)nq, min,
             f ? (f->bits ? " bitmap" : " sorted") : "");
    if (cpu->range(cpu, &b->kdb, &q, min, f, 0, &c) != MVKE_OK) FAIL("%s: cpu: %s", what, mvke_last_error());
    mvke_status st = gpu->range(gpu, &b->kdb, &q, min, f, 0, &r);
    if (st != MVKE_OK) FAIL("%s: gpu: %s: %s", what, mvke_status_name(st), mvke_last_error());
    else compare_range(what, b, z, nq, min, &c, &r, tol);
    mvke_kranges_release(&c);
    mvke_kranges_release(&r);
    free(z); free(g);
}

/* Every op on one database with one GPU backend. */
static void suite(const char *name, const mvke_backend *gpu, const db *b, double tol, int small) {
    uint8_t *bits = calloc(1 + (size_t)(1000000007 / 8), 1);
    int64_t *sorted = malloc((size_t)(b->n ? b->n : 1) * sizeof *sorted);
    int64_t ns = 0;
    for (int64_t r = 0; r < b->n; r++) {
        if (r % 3 == 0) bits[b->ids[r] >> 3] |= (uint8_t)(1u << (b->ids[r] & 7));
        if (r % 5 == 1) sorted[ns++] = b->ids[r];
    }
    qsort(sorted, (size_t)ns, sizeof *sorted, cmp_id);
    mvke_kfilter fb = {bits, 1000000008, NULL, 0, NULL, NULL}, fs = {NULL, 0, sorted, ns, NULL, NULL}, fe = {NULL, 0, sorted, 0, NULL, NULL};

    static const int64_t shapes[][2] = {{1, 1}, {1, 100}, {3, 10}, {2, 2048}, {300, 10}, {600, 100}, {70, 128}};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
        if (!small || shapes[i][0] * shapes[i][1] <= 60000)
            run_knn(name, gpu, b, shapes[i][0], shapes[i][1], NULL, tol);
    run_knn(name, gpu, b, 5, 50, &fb, tol);
    run_knn(name, gpu, b, 200, 20, &fs, tol);
    run_knn(name, gpu, b, 4, 7, &fe, tol);
    run_knn(name, gpu, b, 2, 3000, NULL, tol); /* beyond the device selector: CPU backend */
    run_range(name, gpu, b, 4, 0.25f, NULL, tol);
    run_range(name, gpu, b, 3, 0.1f, &fs, tol);
    run_range(name, gpu, b, 2, 2.0f, NULL, tol); /* nothing */
    run_range(name, gpu, b, 0, 0.5f, NULL, tol); /* no queries */
    free(bits);
    free(sorted);
}

/* The fused user -> tags path: a small database of tag rows, many user queries, small m. */
static void suite_tags(const char *name, const mvke_backend *gpu, const db *tags, double tol) {
    run_knn(name, gpu, tags, 1000, 10, NULL, tol);
    run_knn(name, gpu, tags, 257, 128, NULL, tol);
    run_knn(name, gpu, tags, 70000, 5, NULL, tol); /* more than one query chunk */
    int64_t sorted[3] = {tags->ids[5], tags->ids[17], tags->ids[900]};
    int64_t tmp;
    if (sorted[0] > sorted[1]) { tmp = sorted[0]; sorted[0] = sorted[1]; sorted[1] = tmp; }
    if (sorted[1] > sorted[2]) { tmp = sorted[1]; sorted[1] = sorted[2]; sorted[2] = tmp; }
    if (sorted[0] > sorted[1]) { tmp = sorted[0]; sorted[0] = sorted[1]; sorted[1] = tmp; }
    mvke_kfilter fs = {NULL, 0, sorted, 3, NULL, NULL};
    run_knn(name, gpu, tags, 100, 5, &fs, tol); /* fewer eligible rows than m */
}

static const mvke_backend *make_gpu(int device, int64_t resident_bytes) {
    mvke_cuda_config cfg = {device, NULL, resident_bytes, 0};
    const mvke_backend *b = NULL;
    if (mvke_backend_cuda_new(&cfg, &b) != MVKE_OK) FAIL("mvke_backend_cuda_new(%d): %s", device, mvke_last_error());
    return b;
}

/* ------------------------------------------------------------------------------------------
 * The public path
 * ---------------------------------------------------------------------------------------- */

static void public_path(void) {
    const int64_t n = 5000, nq = 8, k = 20;
    float *x = malloc((size_t)n * D * sizeof *x);
    for (int64_t i = 0; i < n * D; i++) x[i] = normal();
    mvke_index *cpu = NULL, *gpu = NULL;
    mvke_index_new(&cpu, K, d, NULL);
    mvke_index_new(&gpu, K, d, NULL);
    mvke_index_add(cpu, n, NULL, x);
    mvke_index_add(gpu, n, NULL, x);
    checks++;
    if (mvke_index_use_gpu(gpu, 999) != MVKE_ERR_UNSUPPORTED) FAIL("use_gpu(999) did not fail with MVKE_ERR_UNSUPPORTED");
    mvke_status st = mvke_index_use_gpu(gpu, 0);
    const char *bn = "";
    mvke_index_backend(gpu, &bn);
    if (st != MVKE_OK || strcmp(bn, "cuda") != 0) FAIL("use_gpu(0): %s (backend %s)", mvke_last_error(), bn);
    float z[8 * D], g[8 * P];
    queries_make(nq, z, g);
    float cs[8 * 20], gs[8 * 20];
    int64_t ci[8 * 20], gi[8 * 20];
    db view = {0}; /* for exact scores: rows by id */
    for (int round = 0; round < 3; round++) {
        if (round == 1) { /* add, upsert, remove: the device copy must follow */
            float *y = malloc((size_t)100 * D * sizeof *y);
            int64_t ids[100];
            for (int i = 0; i < 100; i++) ids[i] = i < 50 ? n + i : i; /* 50 new, 50 replaced */
            for (int64_t i = 0; i < 100 * D; i++) y[i] = normal();
            mvke_index_upsert(cpu, 100, ids, y);
            mvke_index_upsert(gpu, 100, ids, y);
            int64_t gone[3] = {7, 4000, 123};
            mvke_index_remove(cpu, 3, gone);
            mvke_index_remove(gpu, 3, gone);
            free(y);
        }
        if (round == 2) mvke_index_use_cpu(gpu);
        int64_t cnt = 0;
        mvke_index_count(cpu, &cnt);
        view.n = cnt;
        view.x = malloc((size_t)cnt * D * sizeof(float));
        view.ids = malloc((size_t)cnt * sizeof(int64_t));
        mvke_index_ids(cpu, view.ids);
        for (int64_t r = 0; r < cnt; r++) mvke_index_get(cpu, view.ids[r], view.x + r * D);
        if (mvke_index_search(cpu, nq, z, k, NULL, cs, ci) != MVKE_OK) FAIL("cpu search: %s", mvke_last_error());
        st = mvke_index_search(gpu, nq, z, k, NULL, gs, gi);
        char what[64];
        snprintf(what, sizeof what, "public search round %d", round);
        if (st != MVKE_OK) FAIL("%s: %s", what, mvke_last_error());
        else compare_knn(what, &view, z, nq, k, NULL, cs, ci, gs, gi, 1e-5);
        free(view.x);
        free(view.ids);
    }
    mvke_index_free(cpu);
    mvke_index_free(gpu);
    free(x);
}

/* Results of two user -> tags calls (nu users x ntasks lists of m) compared list by list. */
static void compare_tag_results(const char *what, const mvke_tags *tags, int ntasks, const float *x,
                                int64_t nu, int64_t m, const mvke_result *c, const mvke_result *g) {
    float *cs = malloc((size_t)nu * m * sizeof *cs), *gs = malloc((size_t)nu * m * sizeof *gs);
    int64_t *ci = malloc((size_t)nu * m * sizeof *ci), *gi = malloc((size_t)nu * m * sizeof *gi);
    for (int t = 0; t < ntasks; t++) {
        const char *task;
        mvke_tags_task(tags, t, &task, NULL, NULL);
        int64_t n = 0;
        mvke_tags_count(tags, task, &n);
        db view = {0}; /* the task's tag rows by id, for exact scores */
        view.n = n;
        view.x = malloc((size_t)(n ? n : 1) * D * sizeof(float));
        view.ids = malloc((size_t)(n ? n : 1) * sizeof(int64_t));
        for (int64_t r = 0; r < n; r++) {
            view.ids[r] = 1000 + r;
            mvke_tags_get_row(tags, task, view.ids[r], view.x + r * D);
        }
        for (int64_t u = 0; u < nu; u++) {
            const int64_t *a, *b;
            const float *sa, *sb;
            int64_t na = 0, nb = 0;
            mvke_result_get(c, u * ntasks + t, &a, &sa, &na);
            mvke_result_get(g, u * ntasks + t, &b, &sb, &nb);
            if (na != nb) FAIL("%s: user %lld task %s: %lld cpu vs %lld gpu tags", what, (long long)u, task, (long long)na, (long long)nb);
            for (int64_t r = 0; r < m; r++) {
                ci[u * m + r] = r < na ? a[r] : -1;
                cs[u * m + r] = r < na ? sa[r] : -INFINITY;
                gi[u * m + r] = r < nb ? b[r] : -1;
                gs[u * m + r] = r < nb ? sb[r] : -INFINITY;
            }
        }
        char w[160];
        snprintf(w, sizeof w, "%s task %s", what, task);
        compare_knn(w, &view, x, nu, m, NULL, cs, ci, gs, gi, 1e-5);
        free(view.x);
        free(view.ids);
    }
    free(cs); free(gs); free(ci); free(gi);
}

/* Adds n tags (ids 1000 + first ..) with random embeddings and softmax gates to a task. */
static void add_tags(mvke_tags *t, const char *task, const int *ex, int nex, int64_t first, int64_t n) {
    float *q = malloc((size_t)n * d * sizeof *q), *w = calloc((size_t)n * K, sizeof *w);
    int64_t *ids = malloc((size_t)n * sizeof *ids);
    for (int64_t i = 0; i < n; i++) {
        ids[i] = 1000 + first + i;
        for (int j = 0; j < d; j++) q[i * d + j] = normal();
        double sum = 0;
        for (int e = 0; e < nex; e++) sum += (w[i * K + ex[e]] = (float)exp(normal()));
        for (int e = 0; e < nex; e++) w[i * K + ex[e]] = (float)(w[i * K + ex[e]] / sum);
    }
    if (mvke_tags_add(t, task, n, ids, NULL, NULL, q, w) != MVKE_OK) FAIL("mvke_tags_add: %s", mvke_last_error());
    free(q); free(w); free(ids);
}

static void public_tags(void) {
    const int64_t nu = 20000, m = 10;
    static const int interest[3] = {0, 1, 2}, intention[4] = {1, 2, 3, 4}, late[2] = {0, 4};
    mvke_tags *tab[2] = {NULL, NULL}; /* cpu, gpu: the same content */
    for (int i = 0; i < 2; i++) {
        reseed(4242);
        mvke_tags_new(&tab[i], K, d, NULL);
        mvke_tags_add_task(tab[i], "interest", interest, 3);
        mvke_tags_add_task(tab[i], "intention", intention, 4);
        add_tags(tab[i], "interest", interest, 3, 0, 1786);
        add_tags(tab[i], "intention", intention, 4, 0, 1786);
    }
    checks++;
    mvke_status st = mvke_tags_use_gpu(tab[1], 0);
    const char *bn = "";
    mvke_tags_backend(tab[1], &bn);
    if (st != MVKE_OK || strcmp(bn, "cuda") != 0) FAIL("mvke_tags_use_gpu(0): %s (backend %s)", mvke_last_error(), bn);
    float *x = malloc((size_t)nu * D * sizeof *x);
    for (int64_t i = 0; i < nu * D; i++) x[i] = normal();
    for (int round = 0; round < 3; round++) {
        if (round == 1) /* more tags, and a task declared after the move: both follow */
            for (int i = 0; i < 2; i++) {
                reseed(99);
                add_tags(tab[i], "interest", interest, 3, 1786, 300);
                mvke_tags_add_task(tab[i], "late", late, 2);
                add_tags(tab[i], "late", late, 2, 0, 500);
            }
        if (round == 2) mvke_tags_use_cpu(tab[1]);
        int ntasks = 0;
        mvke_tags_ntasks(tab[0], &ntasks);
        mvke_result *c = NULL, *g = NULL;
        if (mvke_user_tags_top_rows(tab[0], NULL, nu, x, m, &c) != MVKE_OK) FAIL("cpu tags: %s", mvke_last_error());
        st = mvke_user_tags_top_rows(tab[1], NULL, nu, x, m, &g);
        char what[64];
        snprintf(what, sizeof what, "public tags round %d", round);
        if (st != MVKE_OK) FAIL("%s: %s: %s", what, mvke_status_name(st), mvke_last_error());
        else if (c) compare_tag_results(what, tab[0], ntasks, x, nu, m, c, g);
        mvke_result_free(c);
        mvke_result_free(g);
    }
    free(x);
    mvke_tags_free(tab[0]);
    mvke_tags_free(tab[1]);
}

int main(void) {
    int ndev = 0;
    mvke_status st = mvke_gpu_count(&ndev);
    if (st != MVKE_OK || ndev < 1) {
        printf("SKIP: the CUDA backend cannot run here: %s\n", mvke_last_error());
        return SKIP;
    }
    printf("%d CUDA device(s)\n", ndev);

    static const int64_t big[] = {70000, 0, 1234, 31};
    static const int64_t tiny[] = {0, 20, 0, 11};
    static const int64_t tagrows[] = {1786};
    const int64_t none[] = {0};
    const struct { const char *name; const int64_t *sizes; int nb; int storage; double tol; int small; } dbs[] = {
        {"f32", big, 4, 0, 1e-5, 0},
        {"f16", big, 4, 1, 1e-3, 0},
        {"bf16", big, 4, 2, 1e-5, 0},
        {"tiny", tiny, 4, 0, 1e-5, 1},
        {"empty", none, 1, 0, 1e-5, 1},
    };
    const struct { const char *name; int device; int64_t resident; } gpus[] = {
        {"resident", 0, 0},
        {"streamed", 0, -1},
        {"all-devices", -1, 0},
    };
    for (size_t gi = 0; gi < sizeof gpus / sizeof *gpus; gi++) {
        const mvke_backend *gpu = make_gpu(gpus[gi].device, gpus[gi].resident);
        if (!gpu) continue;
        for (size_t di = 0; di < sizeof dbs / sizeof *dbs; di++) {
            db b;
            reseed(1000 + di);
            db_make(&b, dbs[di].sizes, dbs[di].nb, dbs[di].storage);
            char name[64];
            snprintf(name, sizeof name, "%s/%s", gpus[gi].name, dbs[di].name);
            suite(name, gpu, &b, dbs[di].tol, dbs[di].small);
            db_free(&b);
        }
        for (int storage = 0; storage < 2; storage++) {
            db t;
            reseed(77 + storage);
            db_make(&t, tagrows, 1, storage);
            char name[64];
            snprintf(name, sizeof name, "%s/tags-%s", gpus[gi].name, storage ? "f16" : "f32");
            suite_tags(name, gpu, &t, storage ? 1e-3 : 1e-5);
            db_free(&t);
        }
        gpu->release(gpu);
        printf("%s: done (%d checks, %d failures so far)\n", gpus[gi].name, checks, failures);
    }
    public_path();
    public_tags();
    printf("%s: %d checks, %d failures\n", failures ? "FAIL" : "PASS", checks, failures);
    return failures ? 1 : 0;
}
