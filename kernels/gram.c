/*
 * gram.c - block Gram triangles, accumulated in double so that stored norms are as exact as
 * float32 allows.
 */
#include "gram.h"

#include <math.h>

static int gram_tri(int K, int d, const float *x, float *tri, double off_scale) {
    int p = 0, ok = 1;
    for (int k = 0; k < K; k++) {
        const float *a = x + (int64_t)k * d;
        for (int l = k; l < K; l++) {
            const float *b = x + (int64_t)l * d;
            double s = 0.0;
            for (int j = 0; j < d; j++) s += (double)a[j] * (double)b[j];
            float v = (float)(l == k ? s : off_scale * s);
            if (!isfinite(v)) ok = 0;
            tri[p++] = v;
        }
    }
    return ok ? 0 : -1;
}

int mvke_gram_doubled(int K, int d, const float *x, float *tri) { return gram_tri(K, d, x, tri, 2.0); }

int mvke_gram_plain(int K, int d, const float *x, float *tri) { return gram_tri(K, d, x, tri, 1.0); }

float mvke_gram_trace(int K, const float *tri) {
    float t = 0.0f;
    int p = 0;
    for (int k = 0; k < K; k++) {
        t += tri[p];
        p += K - k;
    }
    return t;
}
