/*
 * scan_bench.c - mvke-scan-bench: the fused scan kernels (kernels/cpu/scan.h) on blocks of the
 * storage layout, beside this machine's limits measured in the same run: streaming read
 * bandwidth and single-threaded sgemm throughput per thread. It reports, for K = 5, d = 30 and
 * a task of experts 0-2 (the demo's `interest`):
 *   - tag -> top-100 users for 1, 16, 64, 256 tags at n users, each storage: time, the task's
 *     bytes over the time as a fraction of the read bandwidth, and the subset-aware flop rate
 *     (2 * (3*30 + 6) per pair) as a fraction of sgemm's;
 *   - batch tagging: users as queries against a tag index of `ntags` gated rows of the task,
 *     top-10 per user, users/s;
 * for the variant MVKE_CPU selects (default: the best the CPU has) and 1..threads threads.
 * Usage: mvke-scan-bench [users (1000000)] [threads (2)] [ntags (1786)]
 */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/cpu/scan.h"
#include "kernels/gram.h"
#include "kernels/layout.h"
#include "mvke/mvke.h"

enum { K = 5, D = 30, KD = K * D, P = K * (K + 1) / 2, NA = 3, PA = 6 };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static uint64_t rng = 88172645463325252ull;
static float rnd(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)(rng >> 40) / 16777216.0f - 0.5f;
}

/* A block of n rows (zero outside `experts`). */
static void *block_make(const mvke_layout *L, int64_t n, uint64_t experts, int64_t **ids) {
    const int64_t cap = mvke_layout_round(n > 0 ? n : 1);
    const size_t bytes = (mvke_layout_block_bytes(L, cap) + 63) / 64 * 64;
    void *b = aligned_alloc(64, bytes);
    *ids = malloc(sizeof(int64_t) * (size_t)n);
    if (!b || !*ids) return NULL;
    memset(b, 0, bytes);
    float row[KD], g[P];
    for (int64_t i = 0; i < n; i++) {
        for (int j = 0; j < KD; j++) row[j] = (experts >> (j / D)) & 1 ? rnd() : 0.0f;
        mvke_gram_doubled(K, D, row, g);
        mvke_layout_put(L, b, cap, i, row, g);
        (*ids)[i] = i;
    }
    return b;
}

/* nq query rows (zero outside `experts`) with their plain Gram triangles. */
static void queries_make(int64_t nq, uint64_t experts, float *z, float *zg) {
    for (int64_t t = 0; t < nq; t++) {
        for (int j = 0; j < KD; j++) z[t * KD + j] = (experts >> (j / D)) & 1 ? rnd() : 0.0f;
        mvke_gram_plain(K, D, z + t * KD, zg + t * P);
    }
}

/* Best of `reps` searches, seconds. */
static double time_search(const mvke_scan_db *db, const mvke_kqueries *q, int64_t k, int threads, int reps) {
    float *S = malloc(sizeof(float) * (size_t)(q->n * k));
    int64_t *ids_out = malloc(sizeof(int64_t) * (size_t)(q->n * k));
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        const double t0 = now();
        if (mvke_scan_search(db, q, k, 0.0f, NULL, threads, S, ids_out, NULL) != MVKE_OK) {
            fprintf(stderr, "mvke-scan-bench: %s\n", mvke_last_error());
            exit(1);
        }
        const double t = now() - t0;
        best = t < best ? t : best;
    }
    free(S);
    free(ids_out);
    return best;
}

/* Streaming read bandwidth of `threads` threads over a buffer far beyond the caches, GB/s. */
static double read_bandwidth(int threads) {
    const size_t n = (size_t)1 << 27; /* 512 MiB of float */
    float *buf = malloc(n * sizeof *buf);
    if (!buf) return 0;
#pragma omp parallel for num_threads(threads)
    for (size_t i = 0; i < n; i++) buf[i] = (float)(i & 7);
    double best = 1e30, sink = 0;
    for (int r = 0; r < 5; r++) {
        const double t0 = now();
        double s = 0;
#pragma omp parallel num_threads(threads) reduction(+ : s)
        {
            /* 64 independent sums (four cache lines per step), so the adds never limit the reads. */
            float acc[64] = {0};
#pragma omp for
            for (size_t i = 0; i < n; i += 64)
                for (int j = 0; j < 64; j++) acc[j] += buf[i + j];
            for (int j = 0; j < 64; j++) s += acc[j];
        }
        const double t = now() - t0;
        sink += s;
        best = t < best ? t : best;
    }
    free(buf);
    return sink == -1 ? 0 : (double)(n * sizeof *buf) / best / 1e9;
}

/* GFLOP/s of `threads` concurrent single-threaded 512^3 sgemms (operands in cache). */
static double sgemm_rate(int threads) {
    const int m = 512;
    double flops = 0, t0 = 0, t = 0;
    openblas_set_num_threads(1);
#pragma omp parallel num_threads(threads)
    {
        float *A = malloc(sizeof(float) * m * m), *B = malloc(sizeof(float) * m * m), *C = malloc(sizeof(float) * m * m);
        for (int i = 0; i < m * m; i++) A[i] = B[i] = 0.5f;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, m, m, 1.0f, A, m, B, m, 0.0f, C, m);
#pragma omp barrier
#pragma omp master
        t0 = now();
        for (int r = 0; r < 10; r++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, m, m, 1.0f, A, m, B, m, 0.0f, C, m);
#pragma omp barrier
#pragma omp master
        {
            t = now() - t0;
            flops = 10.0 * 2.0 * m * m * m * threads;
        }
        free(A);
        free(B);
        free(C);
    }
    return flops / t / 1e9;
}

int main(int argc, char **argv) {
    const int64_t n = argc > 1 ? atoll(argv[1]) : 1000000;
    const int maxthreads = argc > 2 ? atoi(argv[2]) : 2;
    const int64_t ntags = argc > 3 ? atoll(argv[3]) : 1786;
    const uint64_t task = 0x7, all = 0x1f;
    printf("variant %s, %lld users, K = %d, d = %d, task experts 0-2\n", mvke_cpu_variant_name(mvke_cpu_variant_get()),
           (long long)n, K, D);
    static const char *const names[3] = {"f32", "f16", "bf16"};
    for (int th = 1; th <= maxthreads; th++) {
        const double bw = read_bandwidth(th), sg = sgemm_rate(th);
        printf("\n%d thread(s): read bandwidth %.1f GB/s, sgemm %.1f GFLOP/s\n", th, bw, sg);
        double t1[3] = {0};
        for (int st = 0; st < 3; st++) {
            mvke_layout L;
            mvke_layout_init(&L, K, D, (mvke_storage)st);
            int64_t *ids;
            void *b = block_make(&L, n, all, &ids);
            if (!b) return 1;
            mvke_scan_block blk = {n, mvke_layout_round(n), b, ids};
            mvke_scan_db db = {L, all, 1, &blk};
            static const int nqs[4] = {1, 16, 64, 256};
            for (int i = 0; i < 4; i++) {
                const int nq = nqs[i];
                float *z = malloc(sizeof(float) * nq * KD), *zg = malloc(sizeof(float) * nq * P);
                queries_make(nq, task, z, zg);
                mvke_kqueries q = {nq, z, zg};
                const double t = time_search(&db, &q, 100, th, nq == 1 ? 7 : 3);
                const double bytes = (double)n * (NA * D * L.esize + PA * 4);
                const double gf = 2.0 * (double)n * nq * (NA * D + PA) / t / 1e9;
                if (nq == 1) t1[st] = t;
                printf("  %-4s %3d tag(s) -> top-100: %9.2f ms  %5.1f%% of read bandwidth  %5.1f%% of sgemm%s\n",
                       names[st], nq, t * 1e3, 100.0 * bytes / t / 1e9 / bw, 100.0 * gf / sg,
                       "");
                free(z);
                free(zg);
            }
            free(b);
            free(ids);
        }
        printf("  1 tag speed-up over f32: f16 %.2fx, bf16 %.2fx\n", t1[0] / t1[1], t1[0] / t1[2]);
        /* Batch tagging: the tag index of the task, users as queries, top-10 per user. */
        const int64_t nu = n < 200000 ? n : 200000;
        float *z = malloc(sizeof(float) * (size_t)nu * KD), *zg = malloc(sizeof(float) * (size_t)nu * P);
        queries_make(nu, all, z, zg);
        mvke_kqueries q = {nu, z, zg};
        for (int st = 0; st < 3; st++) {
            mvke_layout L;
            mvke_layout_init(&L, K, D, (mvke_storage)st);
            int64_t *ids;
            void *b = block_make(&L, ntags, task, &ids);
            if (!b) return 1;
            mvke_scan_block blk = {ntags, mvke_layout_round(ntags), b, ids};
            mvke_scan_db db = {L, task, 1, &blk};
            const double t = time_search(&db, &q, 10, th, 1);
            const double gf = 2.0 * (double)nu * ntags * (NA * D + PA) / t / 1e9;
            printf("  %-4s batch tagging, %lld tags of one task, top-10: %9.0f users/s  %5.1f%% of sgemm\n", names[st],
                   (long long)ntags, (double)nu / t, 100.0 * gf / sg);
            free(b);
            free(ids);
        }
        free(z);
        free(zg);
    }
    return 0;
}
