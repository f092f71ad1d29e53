/*
 * limits.c - streaming read bandwidth and sgemm throughput of this machine.
 *
 * Bandwidth: each thread sums its share of a buffer much larger than the last-level cache (a
 * read-reduce, as a scan over stored rows is). The best of several passes is the limit.
 * sgemm: each thread runs its own single-threaded cblas_sgemm on operands that stay in cache, at
 * the shape the CPU backend's tiles have (queries x tile rows x K*d, C = A . B^T), which is how
 * the search parallelises BLAS; the best of several runs is the limit. Both use the same thread
 * counts as the searches they are compared with.
 */
#include "limits.h"

#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const int bench_batches[BENCH_NBATCH] = {1, 2, 4, 16, 64, 256};

typedef uint64_t v2u __attribute__((vector_size(16)));

int bench_tile_rows(int nq) {
    int tq = nq < 256 ? nq : 256;
    int tu = 65536 / (tq > 0 ? tq : 1);
    return tu < 64 ? 64 : tu > 8192 ? 8192 : tu;
}

/* Sum of n bytes (n a multiple of 64) in 16-byte lanes, four accumulators. */
static uint64_t read_reduce(const unsigned char *p, size_t n) {
    v2u a = {0, 0}, b = a, c = a, d = a, x;
    for (size_t i = 0; i < n; i += 64) {
        memcpy(&x, p + i, 16); a += x;
        memcpy(&x, p + i + 16, 16); b += x;
        memcpy(&x, p + i + 32, 16); c += x;
        memcpy(&x, p + i + 48, 16); d += x;
    }
    v2u s = a + b + c + d;
    return s[0] + s[1];
}

static double bandwidth(unsigned char *buf, size_t bytes, int threads, int passes) {
    double best = 0;
    volatile uint64_t sink = 0;
    for (int r = 0; r < passes; r++) {
        uint64_t total = 0;
        double t0 = bench_now();
#pragma omp parallel num_threads(threads) reduction(+ : total)
        {
            int me = omp_get_thread_num(), nt = omp_get_num_threads();
            size_t share = bytes / (size_t)nt / 64 * 64;
            total += read_reduce(buf + share * (size_t)me, share);
        }
        double t = bench_now() - t0;
        sink += total;
        double gbs = (double)(bytes / (size_t)threads / 64 * 64 * (size_t)threads) / t / 1e9;
        if (gbs > best) best = gbs;
    }
    (void)sink;
    return best;
}

/* GFLOP/s of `threads` concurrent single-threaded sgemms of m x n x k. */
double bench_sgemm_rate(int m, int n, int k, int threads, double seconds) {
    double best = 0;
    for (int r = 0; r < 3; r++) {
        int64_t calls_total = 0;
        double t0 = 0, t1 = 0;
        int failed = 0;
#pragma omp parallel num_threads(threads) reduction(+ : calls_total) reduction(| : failed)
        {
            omp_set_num_threads(1);
            float *A = malloc((size_t)m * k * sizeof *A), *B = malloc((size_t)n * k * sizeof *B);
            float *C = malloc((size_t)m * n * sizeof *C);
            if (!A || !B || !C) failed = 1;
            else {
                for (int64_t i = 0; i < (int64_t)m * k; i++) A[i] = (float)((i * 7) % 13) * 0.1f;
                for (int64_t i = 0; i < (int64_t)n * k; i++) B[i] = (float)((i * 5) % 11) * 0.1f;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, A, k, B, k, 0.0f, C, n);
            }
#pragma omp barrier
#pragma omp master
            t0 = bench_now();
#pragma omp barrier
            /* Every thread runs the same number of calls, sized by a first timed call. */
            if (!failed) {
                double s = bench_now();
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, A, k, B, k, 0.0f, C, n);
                double one = bench_now() - s;
                int64_t calls = (int64_t)(seconds / (one > 1e-7 ? one : 1e-7));
                if (calls < 1) calls = 1;
                if (calls > 1000000) calls = 1000000;
                for (int64_t c = 0; c < calls; c++)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, A, k, B, k, 0.0f, C, n);
                calls_total += calls + 1;
            }
#pragma omp barrier
#pragma omp master
            t1 = bench_now();
            free(A);
            free(B);
            free(C);
        }
        if (failed) return 0;
        double gf = 2.0 * m * n * (double)k * (double)calls_total / (t1 - t0) / 1e9;
        if (gf > best) best = gf;
    }
    return best;
}

double bench_read_bandwidth(size_t bytes, int threads, int passes) {
    bytes = bytes / 64 * 64;
    unsigned char *buf = aligned_alloc(64, bytes);
    if (!buf) return 0;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (size_t i = 0; i < bytes; i += 4096) memset(buf + i, (int)(i >> 12), bytes - i < 4096 ? bytes - i : 4096);
    const double gbs = bandwidth(buf, bytes, threads, passes);
    free(buf);
    return gbs;
}

int bench_limits_measure(const bench_config *cfg, bench_limits *lim) {
    memset(lim, 0, sizeof *lim);
    const double secs = cfg->quick ? 0.05 : 0.2;
    for (int t = 0; t < cfg->nthreads; t++) {
        int th = cfg->threads[t];
        lim->bw_gbs[t] = bench_read_bandwidth((size_t)cfg->bw_bytes, th, cfg->quick ? 3 : 7);
        if (!(lim->bw_gbs[t] > 0)) {
            fprintf(stderr, "mvke-bench: cannot allocate %lld bytes for the bandwidth measurement\n",
                    (long long)cfg->bw_bytes);
            return 1;
        }
        for (int b = 0; b < BENCH_NBATCH; b++) {
            int m = bench_batches[b];
            lim->sgemm_gfs[t][b] = bench_sgemm_rate(m, bench_tile_rows(m), cfg->row, th, secs);
        }
        lim->sgemm_tag_gfs[t] = bench_sgemm_rate(256, bench_tile_rows(256), cfg->row, th, secs);
        fprintf(stderr, "limits, %d thread%s: read bandwidth %.1f GB/s; sgemm %.1f GFLOP/s (64 x %d x %d), "
                "%.1f GFLOP/s (256 x %d x %d)\n", th, th > 1 ? "s" : "", lim->bw_gbs[t],
                lim->sgemm_gfs[t][4], bench_tile_rows(64), cfg->row, lim->sgemm_gfs[t][5],
                bench_tile_rows(256), cfg->row);
    }
    return 0;
}
