/*
 * gpu_bench.c - the GPU benchmark: what fraction of the machine's limits the CUDA backend
 * reaches, and whether it agrees with the CPU backend, measured in one run (DESIGN section 7).
 *
 *   one tag        one tag -> top-100 over `users` resident users (float32 and float16 rows):
 *                  bytes read (rows, Gram triangles, traces) per second, as a fraction of the
 *                  device-to-device copy bandwidth measured here and of the nominal peak
 *   batch          `batch` tags -> top-100 (cuBLAS product + fused select): useful flops
 *                  2 * users * tags * (K*d + P) per second
 *   tagging        batch tagging through the public path: a tag table of two tasks with `tags`
 *                  tags each on the GPU (mvke_tags_use_gpu, rows resident), `tag_users` user
 *                  rows streamed from host memory in blocks of `block` users
 *                  (mvke_user_tags_top_rows, top m of both tasks), users per second and the time
 *                  this gives for 1e9 users
 *   fused          the fused kernel alone: one task's tag rows as an index, all `tag_users`
 *                  users in one call, users per second (one task)
 *   equality       the same searches on the CPU backend (the index and the table switched
 *                  back with use_cpu): ranks whose ids differ while the scores differ by more
 *                  than the tolerance (1e-5 float32, 1e-3 float16), and the largest score
 *                  difference at equal rank
 *
 * Times are wall-clock around the public calls (query checks, Gram triangles and copies
 * included), the median of several runs after a warm-up that uploads the rows. Prints one JSON
 * object (also written to --out FILE) that bench/torch_baseline.py and bench/gpu_report.py use.
 * Without a usable GPU it prints why and exits 77.
 * Usage: gpu_bench [--users N] [--tags T] [--batch B] [--tag-users U] [--block B] [--m M]
 *                  [--K K] [--d D] [--out FILE]
 * Data comes from support/rng.h: users and tag embeddings standard normal, by range of rows.
 */
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/clock.h"
#include "support/options.h"
#include "mvke/mvke.h"
#include "support/rng.h"

static int K = 5, d = 30, D = 150, P = 15; /* --K, --d */

/* The streams of support/rng.h this program draws from. */
enum { STREAM_USERS = 1, STREAM_TAGS = 2, STREAM_GATES = 3 };

#define CHECK(call)                                                                          \
    do {                                                                                     \
        mvke_status st_ = (call);                                                            \
        if (st_ != MVKE_OK) {                                                                \
            fprintf(stderr, "gpu_bench: %s failed: %s: %s\n", #call, mvke_status_name(st_),   \
                    mvke_last_error());                                                      \
            exit(1);                                                                         \
        }                                                                                    \
    } while (0)

/* Device-to-device copy bandwidth (read + write bytes per second) of 2 GiB buffers. */
static double copy_bandwidth(void) {
    size_t bytes = (size_t)2 << 30;
    void *a = NULL, *b = NULL;
    if (cudaMalloc(&a, bytes) != cudaSuccess || cudaMalloc(&b, bytes) != cudaSuccess) return 0;
    cudaMemset(a, 1, bytes);
    cudaDeviceSynchronize();
    double best = 0;
    for (int i = 0; i < 5; i++) {
        double t = bench_now();
        cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice);
        cudaDeviceSynchronize();
        double bw = 2.0 * bytes / (bench_now() - t);
        if (bw > best) best = bw;
    }
    cudaFree(a);
    cudaFree(b);
    return best;
}

/* Nominal memory bandwidth: memory clock (kHz, double data rate) x bus width. */
static double peak_bandwidth(int dev) {
    int khz = 0, bits = 0;
    if (cudaDeviceGetAttribute(&khz, cudaDevAttrMemoryClockRate, dev) != cudaSuccess ||
        cudaDeviceGetAttribute(&bits, cudaDevAttrGlobalMemoryBusWidth, dev) != cudaSuccess)
        return 0;
    return 2.0 * khz * 1e3 * bits / 8.0;
}

/* Median seconds of reps calls of mvke_index_search (after one warm-up call); the results of
 * the last call are left in s / id. */
static double time_search(const mvke_index *ix, int64_t nq, const float *z, int64_t k, int reps,
                          float *s, int64_t *id) {
    double t[32];
    CHECK(mvke_index_search(ix, nq, z, k, NULL, s, id)); /* warm-up: uploads the rows */
    for (int r = 0; r < reps; r++) {
        double t0 = bench_now();
        CHECK(mvke_index_search(ix, nq, z, k, NULL, s, id));
        t[r] = bench_now() - t0;
    }
    return bench_median(t, reps);
}

/* Agreement of n ranked lists: ranks whose ids differ beyond a tie, the largest score gap. */
typedef struct agree {
    int64_t ranks, bad;
    double max_diff;
} agree;

static void agree_add(agree *a, int64_t n, const float *cs, const int64_t *ci, const float *gs,
                      const int64_t *gi, double tol) {
    for (int64_t i = 0; i < n; i++) {
        a->ranks++;
        if ((ci[i] < 0) != (gi[i] < 0)) {
            a->bad++;
            continue;
        }
        if (ci[i] < 0) continue;
        const double diff = fabs((double)cs[i] - gs[i]);
        if (diff > a->max_diff) a->max_diff = diff;
        if (ci[i] != gi[i] && diff > tol) a->bad++;
    }
}

/* Flattens a result of nl lists into m entries each (padded with -1 / -inf). */
static void flatten(const mvke_result *r, int64_t nl, int64_t m, float *s, int64_t *id) {
    for (int64_t l = 0; l < nl; l++) {
        const int64_t *ids;
        const float *sc;
        int64_t n = 0;
        mvke_result_get(r, l, &ids, &sc, &n);
        for (int64_t j = 0; j < m; j++) {
            id[l * m + j] = j < n ? ids[j] : -1;
            s[l * m + j] = j < n ? sc[j] : -INFINITY;
        }
    }
}

int main(int argc, char **argv) {
    long long users = 10000000, ntags = 1786, batch = 256, tag_users = 4000000, block = 262144, m = 10, Kl = 5, dl = 30;
    const char *out = NULL;
    const cli_option options[] = {
        {.name = "--users", .metavar = "N", .help = "users resident on the device (default 1e7)", .kind = CLI_INT,
         .dst = &users, .min = 1, .max = 1e10},
        {.name = "--tags", .metavar = "T", .help = "tags per task (default 1786)", .kind = CLI_INT, .dst = &ntags,
         .min = 1, .max = 1e7},
        {.name = "--batch", .metavar = "B", .help = "tags per audience call, at most --tags (default 256)",
         .kind = CLI_INT, .dst = &batch, .min = 1, .max = 1e7},
        {.name = "--tag-users", .metavar = "N", .help = "users tagged in batch tagging (default 4e6)", .kind = CLI_INT,
         .dst = &tag_users, .min = 1, .max = 1e10},
        {.name = "--block", .metavar = "N", .help = "users per streamed block of batch tagging (default 262144)",
         .kind = CLI_INT, .dst = &block, .min = 1, .max = 1e9},
        {.name = "--m", .metavar = "M", .help = "tags kept per user and task (default 10)", .kind = CLI_INT, .dst = &m,
         .min = 1, .max = 128},
        {.name = "--K", .metavar = "K", .help = "experts per user (default 5; the two tasks use experts 0-4)",
         .kind = CLI_INT, .dst = &Kl, .min = 5, .max = MVKE_MAX_K},
        {.name = "--d", .metavar = "D", .help = "dimension of each expert (default 30)", .kind = CLI_INT, .dst = &dl,
         .min = 1, .max = MVKE_MAX_D},
        {.name = "--out", .metavar = "FILE", .help = "also write the figures as JSON to FILE", .kind = CLI_STRING,
         .dst = &out},
    };
    const cli_spec spec = {"gpu_bench",
                           "The CUDA backend on one GPU: audiences of resident users, batch tagging of users streamed\n"
                           "from host memory, beside the card's copy bandwidth (docs/gpu.md). Exits 77 without a GPU.\n\n",
                           "Numbers like 1e7 are accepted.\n", options, CLI_NOPTIONS(options)};
    int code;
    if (!cli_parse(&spec, argc, argv, &code)) return code;
    if (batch > ntags) return cli_usage_error(&spec, "--batch %lld exceeds --tags %lld", batch, ntags);
    K = (int)Kl;
    d = (int)dl;
    D = K * d;
    P = K * (K + 1) / 2;
    int ndev = 0;
    if (mvke_gpu_count(&ndev) != MVKE_OK) {
        printf("SKIP: gpu_bench needs a GPU: %s\n", mvke_last_error());
        return 77;
    }
    struct cudaDeviceProp prop;
    cudaGetDeviceProperties(&prop, 0);
    const double copy_bw = copy_bandwidth(), peak_bw = peak_bandwidth(0);
    fprintf(stderr, "device %s: copy bandwidth %.0f GB/s, nominal %.0f GB/s\n", prop.name, copy_bw / 1e9, peak_bw / 1e9);
    if (tag_users > users) tag_users = users;

    /* Users: standard normal expert vectors. Tags: two tasks (experts 0-2 and 1-4), softmax gates. */
    const uint64_t seed = 42;
    double t0 = bench_now();
    float *x = malloc((size_t)users * D * sizeof *x);
    float *q = malloc((size_t)ntags * d * sizeof *q), *w[2], *z = malloc((size_t)ntags * D * sizeof *z);
    int64_t *tag_ids = malloc((size_t)ntags * sizeof *tag_ids);
    if (!x || !q || !z || !tag_ids) {
        fprintf(stderr, "gpu_bench: out of host memory for %lld users\n", (long long)users);
        return 1;
    }
#pragma omp parallel for schedule(static)
    for (int64_t u = 0; u < users; u++) synth_normals(synth_key(seed, STREAM_USERS), (uint64_t)(u * D), D, x + u * D);
    static const int ex[2][4] = {{0, 1, 2}, {1, 2, 3, 4}};
    static const int nex[2] = {3, 4};
    synth_normals(synth_key(seed, STREAM_TAGS), 0, ntags * d, q);
    for (int k = 0; k < 2; k++) {
        w[k] = calloc((size_t)ntags * K, sizeof *w[k]);
        for (int64_t t = 0; t < ntags; t++) {
            double sum = 0;
            for (int e = 0; e < nex[k]; e++)
                sum += (w[k][t * K + ex[k][e]] =
                            expf((float)synth_normal(synth_key(seed, STREAM_GATES), (uint64_t)((t * 2 + k) * K + e))));
            for (int e = 0; e < nex[k]; e++) w[k][t * K + ex[k][e]] = (float)(w[k][t * K + ex[k][e]] / sum);
        }
    }
    for (int64_t t = 0; t < ntags; t++) {
        tag_ids[t] = t;
        CHECK(mvke_pack_query(K, d, q + t * d, w[0] + t * K, z + t * D));
    }
    fprintf(stderr, "data made in %.1f s\n", bench_now() - t0);

    /* One tag and a batch over resident users, then the same on the CPU for equality. */
    const int64_t kk = 100, ncheck = batch < 16 ? batch : 16;
    float *gs = malloc((size_t)batch * kk * sizeof *gs), *cs = malloc((size_t)batch * kk * sizeof *cs);
    int64_t *gi = malloc((size_t)batch * kk * sizeof *gi), *ci = malloc((size_t)batch * kk * sizeof *ci);
    double res[2][2];  /* [storage][one tag, batch] seconds */
    agree eq[2] = {{0}}; /* [storage] */
    for (int st = 0; st < 2; st++) {
        mvke_index_options o;
        mvke_index_options_init(&o);
        o.storage = st ? MVKE_STORAGE_F16 : MVKE_STORAGE_F32;
        mvke_index *ix = NULL;
        CHECK(mvke_index_new(&ix, K, d, &o));
        t0 = bench_now();
        for (int64_t at = 0; at < users; at += 1000000) {
            int64_t n = users - at < 1000000 ? users - at : 1000000;
            CHECK(mvke_index_add(ix, n, NULL, x + at * D));
        }
        CHECK(mvke_index_use_gpu(ix, 0));
        fprintf(stderr, "%s index of %lld users built in %.1f s\n", st ? "f16" : "f32", (long long)users, bench_now() - t0);
        res[st][0] = time_search(ix, 1, z, kk, 15, gs, gi);
        res[st][1] = time_search(ix, batch, z, kk, 3, gs, gi);
        CHECK(mvke_index_use_cpu(ix));
        CHECK(mvke_index_search(ix, ncheck, z, kk, NULL, cs, ci));
        agree_add(&eq[st], ncheck * kk, cs, ci, gs, gi, st ? 1e-3 : 1e-5);
        fprintf(stderr, "%s: one tag %.3f ms, %lld tags %.1f ms; vs cpu: %lld of %lld ranks differ, max score diff %.2e\n",
                st ? "f16" : "f32", res[st][0] * 1e3, (long long)batch, res[st][1] * 1e3, (long long)eq[st].bad,
                (long long)eq[st].ranks, eq[st].max_diff);
        mvke_index_free(ix);
    }

    /* The fused kernel alone: one task's tag rows as an index, every tagging user in one call
     * (no per-block host work), to tell device time from host time in the figure below. */
    double t_fused;
    {
        mvke_index *tix = NULL;
        CHECK(mvke_index_new(&tix, K, d, NULL));
        CHECK(mvke_index_add(tix, ntags, tag_ids, z));
        CHECK(mvke_index_use_gpu(tix, 0));
        float *fs = malloc((size_t)tag_users * m * sizeof *fs);
        int64_t *fi = malloc((size_t)tag_users * m * sizeof *fi);
        if (!fs || !fi) {
            fprintf(stderr, "gpu_bench: out of host memory for %lld tagging results\n", (long long)tag_users);
            return 1;
        }
        t_fused = time_search(tix, tag_users, x, m, 3, fs, fi);
        fprintf(stderr, "fused kernel, one task, one call: %lld users in %.3f s (%.0f users/s)\n",
                (long long)tag_users, t_fused, tag_users / t_fused);
        free(fs);
        free(fi);
        mvke_index_free(tix);
    }

    /* Batch tagging through the tag table, users streamed from host memory block by block. */
    mvke_tags *tags = NULL;
    CHECK(mvke_tags_new(&tags, K, d, NULL));
    CHECK(mvke_tags_add_task(tags, "interest", ex[0], nex[0]));
    CHECK(mvke_tags_add_task(tags, "intention", ex[1], nex[1]));
    CHECK(mvke_tags_add(tags, "interest", ntags, tag_ids, NULL, NULL, q, w[0]));
    CHECK(mvke_tags_add(tags, "intention", ntags, tag_ids, NULL, NULL, q, w[1]));
    CHECK(mvke_tags_use_gpu(tags, 0));
    const int64_t first = block < tag_users ? block : tag_users;
    mvke_result *warm = NULL;
    CHECK(mvke_user_tags_top_rows(tags, NULL, first, x, m, &warm)); /* uploads the tag rows */
    double t_tag[3];
    for (int r = 0; r < 3; r++) {
        t0 = bench_now();
        for (int64_t at = 0; at < tag_users; at += block) {
            const int64_t n = tag_users - at < block ? tag_users - at : block;
            mvke_result *res_b = NULL;
            CHECK(mvke_user_tags_top_rows(tags, NULL, n, x + at * D, m, &res_b));
            mvke_result_free(res_b);
        }
        t_tag[r] = bench_now() - t0;
    }
    const double tagging_s = bench_median(t_tag, 3);
    /* The first users again on the CPU. */
    const int64_t ntc = first < 20000 ? first : 20000;
    mvke_result *cpu_tags = NULL;
    CHECK(mvke_tags_use_cpu(tags));
    CHECK(mvke_user_tags_top_rows(tags, NULL, ntc, x, m, &cpu_tags));
    float *ts_g = malloc((size_t)first * 2 * m * sizeof *ts_g), *ts_c = malloc((size_t)ntc * 2 * m * sizeof *ts_c);
    int64_t *ti_g = malloc((size_t)first * 2 * m * sizeof *ti_g), *ti_c = malloc((size_t)ntc * 2 * m * sizeof *ti_c);
    flatten(warm, first * 2, m, ts_g, ti_g);
    flatten(cpu_tags, ntc * 2, m, ts_c, ti_c);
    agree eq_tag = {0};
    agree_add(&eq_tag, ntc * 2 * m, ts_c, ti_c, ts_g, ti_g, 1e-5);
    fprintf(stderr, "tagging: %lld users in %.3f s (%.0f users/s); vs cpu: %lld of %lld ranks differ, max score diff %.2e\n",
            (long long)tag_users, tagging_s, tag_users / tagging_s, (long long)eq_tag.bad, (long long)eq_tag.ranks,
            eq_tag.max_diff);
    mvke_result_free(warm);
    mvke_result_free(cpu_tags);
    mvke_tags_free(tags);

    const double row_bytes[2] = {D * 4.0 + P * 4.0 + 4.0, D * 2.0 + P * 4.0 + 4.0};
    const double copy_div = copy_bw > 0 ? copy_bw : INFINITY, peak_div = peak_bw > 0 ? peak_bw : INFINITY;
    const double flops = 2.0 * users * batch * (D + P);
    char json[4096];
    snprintf(json, sizeof json,
             "{\"device\": \"%s\", \"users\": %lld, \"tags\": %lld, \"batch\": %lld, \"tag_users\": %lld, \"block\": %lld, \"m\": %lld,\n"
             " \"hbm_copy_GBps\": %.1f, \"hbm_peak_GBps\": %.1f,\n"
             " \"f32_one_tag_s\": %.6f, \"f32_one_tag_GBps\": %.1f, \"f32_hbm_fraction\": %.3f, \"f32_peak_fraction\": %.3f,\n"
             " \"f16_one_tag_s\": %.6f, \"f16_one_tag_GBps\": %.1f, \"f16_hbm_fraction\": %.3f, \"f16_peak_fraction\": %.3f,\n"
             " \"f32_batch_s\": %.4f, \"f32_batch_TFLOPs\": %.2f,\n"
             " \"f16_batch_s\": %.4f, \"f16_batch_TFLOPs\": %.2f,\n"
             " \"tagging_s\": %.4f, \"tagging_users_per_s\": %.0f, \"tagging_1e9_users_s\": %.0f,\n"
             " \"fused_one_task_s\": %.4f, \"fused_one_task_users_per_s\": %.0f,\n"
             " \"eq_f32_ranks\": %lld, \"eq_f32_bad\": %lld, \"eq_f32_max_diff\": %.3e,\n"
             " \"eq_f16_ranks\": %lld, \"eq_f16_bad\": %lld, \"eq_f16_max_diff\": %.3e,\n"
             " \"eq_tagging_ranks\": %lld, \"eq_tagging_bad\": %lld, \"eq_tagging_max_diff\": %.3e}\n",
             prop.name, (long long)users, (long long)ntags, (long long)batch, (long long)tag_users, (long long)block,
             (long long)m, copy_bw / 1e9, peak_bw / 1e9,
             res[0][0], users * row_bytes[0] / res[0][0] / 1e9, users * row_bytes[0] / res[0][0] / copy_div,
             users * row_bytes[0] / res[0][0] / peak_div,
             res[1][0], users * row_bytes[1] / res[1][0] / 1e9, users * row_bytes[1] / res[1][0] / copy_div,
             users * row_bytes[1] / res[1][0] / peak_div,
             res[0][1], flops / res[0][1] / 1e12, res[1][1], flops / res[1][1] / 1e12,
             tagging_s, tag_users / tagging_s, 1e9 / (tag_users / tagging_s), t_fused, tag_users / t_fused,
             (long long)eq[0].ranks, (long long)eq[0].bad, eq[0].max_diff,
             (long long)eq[1].ranks, (long long)eq[1].bad, eq[1].max_diff,
             (long long)eq_tag.ranks, (long long)eq_tag.bad, eq_tag.max_diff);
    fputs(json, stdout);
    if (out) {
        FILE *f = fopen(out, "w");
        if (f) {
            fputs(json, f);
            fclose(f);
        }
    }
    free(x); free(q); free(z); free(w[0]); free(w[1]); free(tag_ids);
    free(gs); free(cs); free(gi); free(ci);
    free(ts_g); free(ts_c); free(ti_g); free(ti_c);
    return 0;
}
