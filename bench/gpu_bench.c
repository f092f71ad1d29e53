/*
 * gpu_bench.c - the GPU benchmark: what fraction of the machine's limits the CUDA backend
 * reaches, measured in the same run (DESIGN section 7).
 *
 *   hbm_fraction   one tag -> top-100 over resident users: bytes of rows + Gram triangles per
 *                  second over the device-to-device copy bandwidth measured here
 *   tflops         a batch of tags -> top-100 (cuBLAS product + fused select): useful flops
 *                  2 * users * tags * (K*d + P) per second
 *   users_per_s    batch tagging, user rows against every tag of a task, top-m per user, with
 *                  the user rows streamed from host memory; and the time this gives for 1e9
 *
 * Times are wall-clock around the public calls (query checks, Gram triangles and copies
 * included), the median of several runs after a warm-up that uploads the rows. Prints one JSON
 * object (also written to --out FILE) that bench/torch_baseline.py puts beside PyTorch.
 * Usage: gpu_bench [--users N] [--tags T] [--batch B] [--tag-users U] [--K K] [--d D] [--out FILE]
 * Data comes from synth/rng.h: users and tag embeddings standard normal, by range of rows.
 */
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/clock.h"
#include "mvke/mvke.h"
#include "synth/rng.h"

static int K = 5, d = 30, D = 150, P = 15; /* --K, --d */

/* The streams of synth/rng.h this program draws from. */
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
static double hbm_bandwidth(void) {
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

/* Median seconds of reps calls of mvke_index_search. */
static double time_search(const mvke_index *ix, int64_t nq, const float *z, int64_t k, int reps) {
    float *s = malloc((size_t)nq * k * sizeof *s);
    int64_t *id = malloc((size_t)nq * k * sizeof *id);
    double t[32];
    CHECK(mvke_index_search(ix, nq, z, k, NULL, s, id)); /* warm-up: uploads the rows */
    for (int r = 0; r < reps; r++) {
        double t0 = bench_now();
        CHECK(mvke_index_search(ix, nq, z, k, NULL, s, id));
        t[r] = bench_now() - t0;
    }
    free(s);
    free(id);
    return bench_median(t, reps);
}

int main(int argc, char **argv) {
    int64_t users = 10000000, ntags = 1786, batch = 256, tag_users = 2000000, m = 10;
    const char *out = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--users")) users = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--tags")) ntags = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--batch")) batch = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--tag-users")) tag_users = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--K")) K = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--d")) d = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--out")) out = argv[i + 1];
    }
    if (K < 3 || K > MVKE_MAX_K || d < 1 || d > MVKE_MAX_D) {
        fprintf(stderr, "gpu_bench: K must be in [3, %d] and d in [1, %d]\n", MVKE_MAX_K, MVKE_MAX_D);
        return 2;
    }
    D = K * d;
    P = K * (K + 1) / 2;
    int ndev = 0;
    if (mvke_gpu_count(&ndev) != MVKE_OK) {
        fprintf(stderr, "gpu_bench: no GPU: %s\n", mvke_last_error());
        return 77;
    }
    struct cudaDeviceProp prop;
    cudaGetDeviceProperties(&prop, 0);
    const double hbm = hbm_bandwidth();
    fprintf(stderr, "device %s, copy bandwidth %.0f GB/s\n", prop.name, hbm / 1e9);

    /* Users: random expert vectors. Tags: one task over experts 0-2, softmax gates. */
    const uint64_t seed = 42;
    float *x = malloc((size_t)users * D * sizeof *x);
    float *z = malloc((size_t)ntags * D * sizeof *z);
    float *q = malloc((size_t)d * sizeof *q), *w = calloc((size_t)K, sizeof *w);
    if (!x || !z || !q || !w) {
        fprintf(stderr, "gpu_bench: out of memory for %lld users\n", (long long)users);
        return 1;
    }
#pragma omp parallel for schedule(static)
    for (int64_t u = 0; u < users; u++) synth_normals(synth_key(seed, STREAM_USERS), (uint64_t)(u * D), D, x + u * D);
    for (int64_t t = 0; t < ntags; t++) {
        synth_normals(synth_key(seed, STREAM_TAGS), (uint64_t)(t * d), d, q);
        double sum = 0;
        for (int k = 0; k < 3; k++) sum += (w[k] = expf((float)synth_normal(synth_key(seed, STREAM_GATES), (uint64_t)(t * 3 + k))));
        for (int k = 0; k < 3; k++) w[k] = (float)(w[k] / sum);
        CHECK(mvke_pack_query(K, d, q, w, z + t * D));
    }
    free(q);
    free(w);

    double res[2][2]; /* [storage][single, batch] seconds */
    for (int st = 0; st < 2; st++) {
        mvke_index_options o;
        mvke_index_options_init(&o);
        o.storage = st ? MVKE_STORAGE_F16 : MVKE_STORAGE_F32;
        mvke_index *ix = NULL;
        CHECK(mvke_index_new(&ix, K, d, &o));
        double t0 = bench_now();
        for (int64_t at = 0; at < users; at += 1000000) {
            int64_t n = users - at < 1000000 ? users - at : 1000000;
            CHECK(mvke_index_add(ix, n, NULL, x + at * D));
        }
        CHECK(mvke_index_use_gpu(ix, 0));
        fprintf(stderr, "%s index of %lld users built in %.1f s\n", st ? "f16" : "f32", (long long)users, bench_now() - t0);
        res[st][0] = time_search(ix, 1, z, 100, 15);
        res[st][1] = time_search(ix, batch, z, 100, 3);
        mvke_index_free(ix);
    }

    /* Batch tagging: user rows against every tag row, top m per user. */
    mvke_index *tags = NULL;
    CHECK(mvke_index_new(&tags, K, d, NULL));
    CHECK(mvke_index_add(tags, ntags, NULL, z));
    CHECK(mvke_index_use_gpu(tags, 0));
    if (tag_users > users) tag_users = users;
    const double t_tag = time_search(tags, tag_users, x, m, 3);
    mvke_index_free(tags);

    const double row_bytes[2] = {D * 4.0 + P * 4.0, D * 2.0 + P * 4.0};
    const double flops = 2.0 * users * batch * (D + P);
    char json[2048];
    snprintf(json, sizeof json,
             "{\"device\": \"%s\", \"users\": %lld, \"tags\": %lld, \"batch\": %lld, \"tag_users\": %lld, \"m\": %lld,\n"
             " \"hbm_copy_GBps\": %.1f,\n"
             " \"f32_one_tag_s\": %.6f, \"f32_one_tag_GBps\": %.1f, \"f32_hbm_fraction\": %.3f,\n"
             " \"f16_one_tag_s\": %.6f, \"f16_one_tag_GBps\": %.1f, \"f16_hbm_fraction\": %.3f,\n"
             " \"f32_batch_s\": %.4f, \"f32_batch_TFLOPs\": %.2f,\n"
             " \"f16_batch_s\": %.4f, \"f16_batch_TFLOPs\": %.2f,\n"
             " \"tagging_s\": %.4f, \"tagging_users_per_s\": %.0f, \"tagging_1e9_users_s\": %.0f}\n",
             prop.name, (long long)users, (long long)ntags, (long long)batch, (long long)tag_users, (long long)m,
             hbm / 1e9,
             res[0][0], users * row_bytes[0] / res[0][0] / 1e9, users * row_bytes[0] / res[0][0] / hbm,
             res[1][0], users * row_bytes[1] / res[1][0] / 1e9, users * row_bytes[1] / res[1][0] / hbm,
             res[0][1], flops / res[0][1] / 1e12, res[1][1], flops / res[1][1] / 1e12,
             t_tag, tag_users / t_tag, 1e9 / (tag_users / t_tag));
    fputs(json, stdout);
    if (out) {
        FILE *f = fopen(out, "w");
        if (f) {
            fputs(json, f);
            fclose(f);
        }
    }
    free(x);
    free(z);
    return 0;
}
