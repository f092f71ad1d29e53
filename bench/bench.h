/*
 * bench.h - what the parts of the benchmark program share: the run's settings, one measured row
 * of the report, the machine's limits, and the timing helper.
 *
 * The program (bench/main.c) builds one synthetic world (bench/world_gen.c), then for each size
 * of the scaling curve times this project's searches (bench/run_mvke.c), FAISS's IndexFlatIP and
 * the naive materialise-then-scan method (bench/run_faiss.c, or bench/run_nofaiss.c when FAISS is
 * not built), all on the same rows, beside the machine's limits measured in the same process
 * (bench/limits.c). bench/report.c prints the markdown table and writes JSON and plots.
 */
#ifndef MVKE_BENCH_H
#define MVKE_BENCH_H

#include <stdint.h>

#include "support/clock.h"
#include "mvke/mvke.h"

#define BENCH_NTAGS 1786    /* tags per task, as in the paper's taxonomy */
#define BENCH_NTASKS 2
#define BENCH_TOPK 100      /* tag -> top users */
#define BENCH_TOPM 10       /* user -> top tags per task */
#define BENCH_MAX_BATCH 256
#define BENCH_NBATCH 6      /* query batch sizes: 1, 2, 4, 16, 64, 256 */
#define BENCH_MAX_ROWS 512

extern const int bench_batches[BENCH_NBATCH];

/* The settings of one run. */
typedef struct bench_config {
    int quick;
    int K, d;                  /* experts and their dimension (--K, --d; 5 and 30) */
    int row, P;                /* K*d floats of a row, K(K+1)/2 of its Gram triangle */
    int nsizes;
    int64_t sizes[8];          /* users per point of the scaling curve */
    int nthreads;
    int threads[4];            /* thread counts to measure */
    int nstorage;
    mvke_storage storage[2];
    int batch_on[BENCH_NBATCH]; /* which batch sizes of bench_batches to run */
    int max_reps;              /* most timed repeats per measurement */
    double rep_budget_s;       /* time a measurement may take, repeats included */
    int64_t tag_users;         /* users in the batch-tagging block */
    double threshold_frac;     /* fraction of users the threshold audience keeps */
    int64_t bw_bytes;          /* buffer of the bandwidth measurement */
    uint64_t seed;
    const char *out_dir;
    int plots;
} bench_config;

/* The machine's limits, per thread count (index: position in config.threads). */
typedef struct bench_limits {
    double bw_gbs[4];                   /* streaming read bandwidth, GB/s */
    double sgemm_gfs[4][BENCH_NBATCH];  /* sgemm GFLOP/s at the search's shape per batch size */
    double sgemm_tag_gfs[4];            /* sgemm GFLOP/s at the batch-tagging shape */
} bench_limits;

/* One measured row of the report. */
typedef struct bench_row {
    char method[16];      /* "mvke", "faiss-flat", "naive" */
    char mode[16];        /* "top100", "threshold", "tagging" */
    int batch;            /* queries per call (tags; for tagging: users per block) */
    int64_t users;        /* rows searched */
    int threads;
    int storage;          /* 0 float32, 1 float16 */
    double median_s;      /* median time of one call */
    int reps;             /* timed repeats behind the median */
    int derived;          /* 1: computed from other measured rows (naive batches), not timed */
    double split_s[2];    /* naive: materialise and scan times */
    double bytes;         /* bytes the call must read from memory */
    double flops;         /* useful floating-point operations of the call */
    int64_t hits;         /* threshold: entries returned */
    /* filled by bench_results_finish */
    double throughput;    /* queries/s, or users/s for tagging */
    double vs_faiss;      /* FAISS time / this time (> 1: faster than FAISS), 0 if none */
    double vs_naive;      /* naive time / this time, 0 if none */
    double frac_bw;       /* bytes / time / measured bandwidth */
    double frac_sgemm;    /* flops / time / measured sgemm throughput */
    double t_1e9;         /* seconds to score 1e9 users against every tag of both tasks this way */
} bench_row;

/* The report under construction. */
typedef struct bench_results {
    int nrows, cap;
    bench_row *rows;
    int faiss_built;
} bench_results;

/* Appends a row (copied); exits the program on out of memory. */
bench_row *bench_results_add(bench_results *r, const bench_row *row);

/* Times fn(ctx) (which returns 0 on success): one untimed warm-up, then repeats until the budget
 * or max_reps is reached (at least 3); a call slower than the budget is its own first sample and
 * one over 3 s is timed once. *median_s and *reps receive the result. Returns fn's nonzero
 * status on failure. */
int bench_time(int (*fn)(void *ctx), void *ctx, const bench_config *cfg, double *median_s, int *reps);

/* Bytes of one stored user row plus its Gram triangle for a storage. */
double bench_row_bytes(const bench_config *cfg, int storage);

/* Prints the library error of a failed call and returns 1. */
int bench_fail(const char *what, mvke_status st);

#endif
