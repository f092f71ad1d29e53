/*
 * kernel_bench.c - mvke-kernel-bench: every CPU kernel of the one driver (kernels/cpu/scan.h),
 * per instruction-set variant the CPU allows and per storage, timed through the kernel harness
 * (support/kernel_harness.h) that tests/test_scan.c checks them with, beside this machine's
 * limits measured in the same run (streaming read bandwidth, sgemm throughput).
 *
 * Shapes, for K experts of d and a task of experts 0-2 (the demo's `interest`):
 *   - tag -> top-100 users for 1, 16 and 256 tags at n users: time, the task's bytes over the
 *     time as a fraction of the read bandwidth, and the subset-aware flop rate
 *     (2 * (3d + 6) per pair) as a fraction of sgemm's;
 *   - the codecs with refine R = 4 (the R*k best re-scored exactly): the cost of refine as a
 *     fraction of the scan it follows, measured in the same run;
 *   - batch tagging: users as queries against a tag index of the task's gated rows, top-10 per
 *     user, users/s.
 * Every measurement is the median of --reps runs after a warm-up; variants and storages of one
 * shape are run one after another on the same data, so their ratios come from one run.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/scan.h"
#include "limits.h"
#include "mvke/mvke.h"
#include "support/kernel_harness.h"
#include "support/options.h"

static const mvke_storage all_storages[] = {MVKE_STORAGE_F32, MVKE_STORAGE_F16, MVKE_STORAGE_BF16, MVKE_STORAGE_SQ8,
                                            MVKE_STORAGE_PQ};
static const mvke_cpu_variant all_variants[] = {MVKE_CPU_GENERIC, MVKE_CPU_AVX2, MVKE_CPU_AVX512};

/* Bytes a search of the task reads per row: the task's experts and Gram entries. */
static double row_bytes(mvke_storage st, int d, int na, int pa) {
    const double per = st == MVKE_STORAGE_F32 ? 4.0 * d
                     : st == MVKE_STORAGE_F16 ? 2.0 * d
                     : st == MVKE_STORAGE_BF16 ? 2.0 * ((d + 1) / 2 * 2)
                     : st == MVKE_STORAGE_SQ8 ? (double)d
                                              : (double)((d + 2) / 3);
    return na * per + pa * 4.0;
}

typedef struct run {
    long long users, threads, tags, tag_users, reps, K, d;
    const char *storages, *variants;
} run;

static int listed(const char *list, const char *name) {
    if (!list) return 1;
    const size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        const size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    run r = {1000000, 2, 1786, 200000, 7, 5, 30, NULL, NULL};
    const cli_option options[] = {
        {.name = "--users", .metavar = "N", .help = "users of the tag -> users shapes (default 1e6)", .kind = CLI_INT,
         .dst = &r.users, .min = 16, .max = 1e9},
        {.name = "--threads", .metavar = "T", .help = "threads (default 2)", .kind = CLI_INT, .dst = &r.threads, .min = 1,
         .max = 1024},
        {.name = "--tags", .metavar = "N", .help = "tags of the batch-tagging index (default 1786)", .kind = CLI_INT,
         .dst = &r.tags, .min = 1, .max = 1e7},
        {.name = "--tag-users", .metavar = "N", .help = "users tagged in batch tagging (default 200000)", .kind = CLI_INT,
         .dst = &r.tag_users, .min = 1, .max = 1e8},
        {.name = "--reps", .metavar = "R", .help = "timed runs per measurement, the median is reported (default 7)",
         .kind = CLI_INT, .dst = &r.reps, .min = 1, .max = 1000},
        {.name = "--K", .metavar = "K", .help = "experts per user (default 5; the task is experts 0-2)", .kind = CLI_INT,
         .dst = &r.K, .min = 3, .max = 64},
        {.name = "--d", .metavar = "D", .help = "dimension of each expert (default 30)", .kind = CLI_INT, .dst = &r.d,
         .min = 1, .max = 4096},
        {.name = "--storage", .metavar = "LIST", .help = "storages among f32,f16,bf16,sq8,pq (default all)",
         .kind = CLI_STRING, .dst = &r.storages},
        {.name = "--variant", .metavar = "LIST",
         .help = "variants among generic,avx2,avx512 (default every one this CPU allows)", .kind = CLI_STRING,
         .dst = &r.variants},
    };
    const cli_spec spec = {"mvke-kernel-bench",
                           "Times every CPU search kernel (each instruction-set variant this CPU allows x each storage)\n"
                           "through the kernel harness, beside this machine's read bandwidth and sgemm throughput\n"
                           "measured in the same run. Prints one markdown table.\n\n",
                           "MVKE_CPU=generic|avx2|avx512 caps the variants, as for every program of the project.\n",
                           options, CLI_NOPTIONS(options)};
    int code;
    if (!cli_parse(&spec, argc, argv, &code)) return code;
    if (mvke_cpu_features_check() != MVKE_OK) {
        fprintf(stderr, "mvke-kernel-bench: %s\n", mvke_last_error());
        return 2;
    }
    const int threads = (int)r.threads, K = (int)r.K, d = (int)r.d, reps = (int)r.reps;
    const double bw = bench_read_bandwidth((size_t)1 << 30, threads, 5);
    const double sg = bench_sgemm_rate(256, bench_tile_rows(256), K * d, threads, 0.2);
    printf("# mvke-kernel-bench: %lld users, K = %d, d = %d, task experts 0-2, %d thread(s), median of %d runs\n\n",
           r.users, K, d, threads, reps);
    printf("machine: read bandwidth %.1f GB/s, sgemm %.1f GFLOP/s (%d threads); CPU level %s\n\n", bw, sg, threads,
           mvke_cpu_level_name(mvke_cpu_level_of(mvke_cpu_features())));
    printf("| variant | storage | shape | time | of read bandwidth | of sgemm | vs f32 |\n|---|---|---|---|---|---|---|\n");

    const int na = 3, pa = 6;
    const int64_t third = r.users / 3;
    static const int tag_counts[] = {1, 16, 256};
    for (size_t vi = 0; vi < sizeof all_variants / sizeof *all_variants; vi++) {
        const mvke_cpu_variant v = all_variants[vi];
        if (!listed(r.variants, mvke_cpu_variant_name(v))) continue;
        if (mvke_cpu_variant_force(v) != 0) {
            printf("| %s | - | skipped: this CPU (as MVKE_CPU caps it) lacks it | | | | |\n", mvke_cpu_variant_name(v));
            continue;
        }
        double f32_ms[3] = {0}, f32_tag = 0;
        for (size_t si = 0; si < sizeof all_storages / sizeof *all_storages; si++) {
            const mvke_storage st = all_storages[si];
            if (!listed(r.storages, mvke_storage_name(st))) continue;
            for (int ti = 0; ti < 3; ti++) {
                const int nq = tag_counts[ti];
                const int codec = st == MVKE_STORAGE_SQ8 || st == MVKE_STORAGE_PQ;
                for (int refine = 0; refine <= codec && (refine == 0 || nq == 1); refine++) {
                    const kh_case c = {"bench", K, d, {third, 0, r.users - 2 * third}, 0, nq, 0x7, 100, 0, 0,
                                       refine ? 4 : 0, threads, 0};
                    kh_world w;
                    if (kh_world_make(&w, st, &c, 42, 0) != 0) {
                        fprintf(stderr, "mvke-kernel-bench: out of memory for %lld users\n", r.users);
                        return 1;
                    }
                    const double t = kh_time(&w, &c, reps);
                    kh_world_free(&w);
                    if (t < 0) {
                        fprintf(stderr, "mvke-kernel-bench: %s\n", mvke_last_error());
                        return 1;
                    }
                    if (st == MVKE_STORAGE_F32) f32_ms[ti] = t;
                    const double bytes = (double)r.users * row_bytes(st, d, na, pa);
                    const double gf = 2.0 * (double)r.users * nq * (na * d + pa) / t / 1e9;
                    char shape[64], vs[32] = "";
                    snprintf(shape, sizeof shape, "%d tag%s -> top-100%s", nq, nq > 1 ? "s" : "", refine ? ", refine R=4" : "");
                    if (f32_ms[ti] > 0) snprintf(vs, sizeof vs, "%.2fx", f32_ms[ti] / t);
                    printf("| %s | %s | %s | %.2f ms | %.1f%% | %.1f%% | %s |\n", mvke_cpu_variant_name(v),
                           mvke_storage_name(st), shape, t * 1e3, 100.0 * bytes / t / 1e9 / bw, 100.0 * gf / sg, vs);
                }
            }
            /* Batch tagging: a tag index of the task in this storage, users as queries. */
            const kh_case c = {"tagging", K, d, {r.tags, 0, 0}, 0x7, (int)r.tag_users, 0, 10, 0, 0, 0, threads, 0};
            kh_world w;
            if (kh_world_make(&w, st, &c, 43, 0) != 0) {
                fprintf(stderr, "mvke-kernel-bench: out of memory for %lld users\n", r.tag_users);
                return 1;
            }
            const double t = kh_time(&w, &c, reps < 3 ? reps : 3);
            kh_world_free(&w);
            if (t < 0) {
                fprintf(stderr, "mvke-kernel-bench: %s\n", mvke_last_error());
                return 1;
            }
            if (st == MVKE_STORAGE_F32) f32_tag = t;
            const double gf = 2.0 * (double)r.tag_users * r.tags * (na * d + pa) / t / 1e9;
            char vs[32] = "";
            if (f32_tag > 0) snprintf(vs, sizeof vs, "%.2fx", f32_tag / t);
            printf("| %s | %s | batch tagging, %lld tags, top-10 | %.0f users/s | | %.1f%% | %s |\n",
                   mvke_cpu_variant_name(v), mvke_storage_name(st), r.tags, (double)r.tag_users / t, 100.0 * gf / sg, vs);
        }
    }
    mvke_cpu_variant_unforce();
    return 0;
}
