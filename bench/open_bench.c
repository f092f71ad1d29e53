/*
 * open_bench.c - mvke-open-bench: the in-process half of bench/open-bench.sh (docs/benchmarks.md,
 * "Opening and looking up").
 *
 *   mvke-open-bench id INDEX                 prints the id at the middle position
 *   mvke-open-bench lookup INDEX [N]         N random present ids (default 1e6) looked up warm:
 *                                            p50 / p99 / max of one mvke_index_contains, and of
 *                                            mvke_index_get
 *   mvke-open-bench search INDEX TASK TAG    one tag's top-10 audience in process: the first
 *                                            search after open without and with first-use
 *                                            checks, and the median of 7 later ones
 *   mvke-open-bench crc                      CRC-32C throughput, hardware and portable
 *   mvke-open-bench faiss-write INDEX OUT    the anchor: IndexIDMap2 over IndexFlatIP of the same
 *                                            rows (dimension K*d) written with faiss_write_index
 *   mvke-open-bench faiss-read OUT ID        faiss_read_index, then one reconstruct of ID: prints
 *                                            both times (the script measures the process)
 *
 * Times are printed as key=value seconds, one line per measurement.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "index/crc32c.h"
#include "mvke/mvke.h"

#ifdef MVKE_OPEN_BENCH_FAISS
#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/MetaIndexes_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/index_io_c.h>
#endif

static int fail(const char *what, mvke_status st) {
    fprintf(stderr, "mvke-open-bench: %s: %s: %s\n", what, mvke_status_name(st), mvke_last_error());
    return 1;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void) {
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int cmd_id(const char *path) {
    mvke_index *u;
    mvke_status st = mvke_file_open(path, 0, &u, NULL);
    if (st) return fail(path, st);
    int64_t n, id;
    mvke_index_count(u, &n);
    if ((st = mvke_index_read_rows(u, n / 2, 1, &id, NULL))) return fail("read", st);
    printf("%lld\n", (long long)id);
    mvke_index_free(u);
    return 0;
}

static void report(const char *what, double *t, int64_t n) {
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    printf("%s_p50_us=%.3f %s_p99_us=%.3f %s_max_us=%.3f\n", what, t[n / 2] * 1e6, what, t[n * 99 / 100] * 1e6, what,
           t[n - 1] * 1e6);
}

static int cmd_lookup(const char *path, int64_t m) {
    mvke_index *u;
    double t0 = bench_now();
    mvke_status st = mvke_file_open(path, 0, &u, NULL);
    if (st) return fail(path, st);
    printf("open_s=%.6f\n", bench_now() - t0);
    int64_t n;
    int K, d;
    mvke_index_count(u, &n);
    mvke_index_shape(u, &K, &d, NULL);
    int64_t *all = malloc((size_t)n * sizeof *all), *q = malloc((size_t)m * sizeof *q);
    double *t = malloc((size_t)m * sizeof *t);
    float *row = malloc((size_t)K * d * sizeof *row);
    if ((st = mvke_index_ids(u, all))) return fail("ids", st);
    for (int64_t i = 0; i < m; i++) q[i] = all[next() % (uint64_t)n];
    int yes, miss = 0;
    for (int64_t i = 0; i < m; i++) { /* warm: every unit checked, pages resident */
        mvke_index_contains(u, q[i], &yes);
        miss += !yes;
    }
    for (int64_t i = 0; i < m; i++) {
        double a = bench_now();
        mvke_index_contains(u, q[i], &yes);
        t[i] = bench_now() - a;
    }
    double b = bench_now();
    for (int64_t i = 0; i < m; i++) mvke_index_contains(u, q[i], &yes);
    printf("lookups=%lld users=%lld misses=%d batch_mean_us=%.3f\n", (long long)m, (long long)n, miss,
           (bench_now() - b) / (double)m * 1e6);
    report("contains", t, m);
    for (int64_t i = 0; i < m; i++) mvke_index_get(u, q[i], row);
    for (int64_t i = 0; i < m; i++) {
        double a = bench_now();
        mvke_index_get(u, q[i], row);
        t[i] = bench_now() - a;
    }
    report("get", t, m);
    free(all); free(q); free(t); free(row);
    mvke_index_free(u);
    return 0;
}

/* The first search after open, and the median of 7 after it, with the given open flags. */
static int search_once(const char *path, unsigned flags, const char *task, int64_t tag, double *first, double *later) {
    mvke_index *u;
    mvke_tags *t;
    mvke_status st = mvke_file_open(path, flags, &u, &t);
    if (st) return fail(path, st);
    double v[7];
    for (int r = 0; r < 8; r++) {
        mvke_result *res;
        double a = bench_now();
        if ((st = mvke_audience_top(u, t, task, 1, &tag, 10, NULL, &res))) return fail("audience", st);
        double s = bench_now() - a;
        mvke_result_free(res);
        if (r == 0) *first = s;
        else v[r - 1] = s;
    }
    qsort(v, 7, sizeof *v, cmp_double);
    *later = v[3];
    mvke_index_free(u);
    mvke_tags_free(t);
    return 0;
}

static int cmd_search(const char *path, const char *task, int64_t tag) {
    double f0, l0, f1, l1, f2, l2;
    /* No-verify first, so that both first searches find the file in the page cache. */
    if (search_once(path, MVKE_FILE_OPEN_NO_VERIFY, task, tag, &f0, &l0)) return 1;
    if (search_once(path, MVKE_FILE_OPEN_NO_VERIFY, task, tag, &f0, &l0)) return 1;
    if (search_once(path, MVKE_FILE_OPEN_DEFAULT, task, tag, &f1, &l1)) return 1;
    if (search_once(path, MVKE_FILE_OPEN_SKIP_ROW_CHECKSUMS, task, tag, &f2, &l2)) return 1;
    printf("first_search_noverify_s=%.6f first_search_checked_s=%.6f first_search_skiprows_s=%.6f\n", f0, f1, f2);
    printf("later_search_noverify_s=%.6f later_search_checked_s=%.6f\n", l0, l1);
    printf("check_cost_s=%.6f check_cost_vs_search=%.3f\n", f1 - f0, (f1 - f0) / l0);
    return 0;
}

static int cmd_crc(void) {
    const size_t n = (size_t)64 << 20;
    unsigned char *b = malloc(n);
    for (size_t i = 0; i < n; i++) b[i] = (unsigned char)next();
    volatile uint32_t sink = mvke_crc32c(0, b, n);
    double a = bench_now();
    for (int r = 0; r < 4; r++) sink ^= mvke_crc32c(0, b, n);
    double hw = bench_now() - a;
    a = bench_now();
    sink ^= mvke_crc32c_portable(0, b, n);
    double sw = bench_now() - a;
    (void)sink;
    printf("crc32c_GBps=%.2f crc32c_portable_GBps=%.2f\n", 4.0 * (double)n / hw / 1e9, (double)n / sw / 1e9);
    free(b);
    return 0;
}

#ifdef MVKE_OPEN_BENCH_FAISS
static int ffail(const char *what) {
    fprintf(stderr, "mvke-open-bench: %s: %s\n", what, faiss_get_last_error());
    return 1;
}

static int cmd_faiss_write(const char *path, const char *out) {
    mvke_index *u;
    mvke_status st = mvke_file_open(path, 0, &u, NULL);
    if (st) return fail(path, st);
    int64_t n;
    int K, d;
    mvke_index_count(u, &n);
    mvke_index_shape(u, &K, &d, NULL);
    FaissIndexFlatIP *flat;
    FaissIndexIDMap2 *map;
    if (faiss_IndexFlatIP_new_with(&flat, K * d) || faiss_IndexIDMap2_new(&map, (FaissIndex *)flat)) return ffail("new");
    faiss_IndexIDMap2_set_own_fields(map, 1);
    const int64_t chunk = 65536;
    float *x = malloc((size_t)chunk * K * d * sizeof *x);
    int64_t *ids = malloc((size_t)chunk * sizeof *ids);
    for (int64_t p = 0; p < n; p += chunk) {
        int64_t m = n - p < chunk ? n - p : chunk;
        if ((st = mvke_index_read_rows(u, p, m, ids, x))) return fail("read", st);
        if (faiss_Index_add_with_ids((FaissIndex *)map, m, x, ids)) return ffail("add");
    }
    if (faiss_write_index_fname((FaissIndex *)map, out)) return ffail("write");
    faiss_Index_free((FaissIndex *)map);
    free(x); free(ids);
    mvke_index_free(u);
    return 0;
}

static int cmd_faiss_read(const char *out, int64_t id) {
    FaissIndex *ix;
    double a = bench_now();
    if (faiss_read_index_fname(out, 0, &ix)) return ffail("read");
    double r = bench_now() - a;
    float v[65536];
    a = bench_now();
    if (faiss_Index_reconstruct(ix, id, v)) return ffail("reconstruct");
    printf("faiss_read_s=%.6f faiss_reconstruct_s=%.6f\n", r, bench_now() - a);
    faiss_Index_free(ix);
    return 0;
}
#endif

int main(int argc, char **argv) {
    const char *c = argc > 1 ? argv[1] : "";
    if (!strcmp(c, "id") && argc == 3) return cmd_id(argv[2]);
    if (!strcmp(c, "lookup") && (argc == 3 || argc == 4)) return cmd_lookup(argv[2], argc == 4 ? atoll(argv[3]) : 1000000);
    if (!strcmp(c, "search") && argc == 5) return cmd_search(argv[2], argv[3], atoll(argv[4]));
    if (!strcmp(c, "crc") && argc == 2) return cmd_crc();
#ifdef MVKE_OPEN_BENCH_FAISS
    if (!strcmp(c, "faiss-write") && argc == 4) return cmd_faiss_write(argv[2], argv[3]);
    if (!strcmp(c, "faiss-read") && argc == 4) return cmd_faiss_read(argv[2], atoll(argv[3]));
#else
    if (!strncmp(c, "faiss", 5)) {
        fprintf(stderr, "mvke-open-bench: built without the FAISS plugin\n");
        return 1;
    }
#endif
    fprintf(stderr, "usage: mvke-open-bench id|lookup|search|crc|faiss-write|faiss-read ... (see bench/open_bench.c)\n");
    return 2;
}
