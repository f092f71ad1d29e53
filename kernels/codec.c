/*
 * codec.c - encoding and decoding of the sq8 and pq codecs (codec.h). Training lives in
 * index/ (index/train.c, index/kmeans.c): kernels only apply parameters.
 */
#include "codec.h"

#include <string.h>

#include "runtime.h"

int mvke_codec_init(mvke_codec *c, int K, int d, mvke_storage storage, int m) {
    memset(c, 0, sizeof *c);
    if (K < 1 || d < 1 || !mvke_storage_is_codec(storage)) return -2;
    c->storage = storage;
    c->K = K;
    c->d = d;
    const size_t D = (size_t)K * (size_t)d;
    if (storage == MVKE_STORAGE_SQ8) {
        c->m = d;
        c->vmin = mvke_calloc(D, sizeof *c->vmin);
        c->scale = mvke_calloc(D, sizeof *c->scale);
        if (!c->vmin || !c->scale) {
            mvke_codec_release(c);
            return -1;
        }
        return 0;
    }
    if (m == 0) m = mvke_pq_default_m(d);
    if (m < 1 || m > d) return -2;
    c->m = m;
    c->off = mvke_malloc_array((size_t)m + 1, sizeof *c->off);
    c->cent = mvke_calloc(D * MVKE_PQ_CENTROIDS, sizeof *c->cent);
    if (!c->off || !c->cent) {
        mvke_codec_release(c);
        return -1;
    }
    for (int j = 0; j <= m; j++) c->off[j] = (int)((int64_t)j * d / m);
    return 0;
}

void mvke_codec_release(mvke_codec *c) {
    if (!c) return;
    mvke_free(c->off);
    mvke_free(c->vmin);
    mvke_free(c->scale);
    mvke_free(c->cent);
    memset(c, 0, sizeof *c);
}

void mvke_codec_take(mvke_codec *dst, mvke_codec *src) {
    mvke_codec_release(dst);
    *dst = *src;
    memset(src, 0, sizeof *src);
}

uint8_t mvke_pq_encode1(const mvke_codec *c, int k, int j, const float *v) {
    const int ds = mvke_pq_dsub(c, j);
    const float *t = mvke_pq_table(c, k, j);
    float best = 0.0f;
    int arg = 0;
    for (int e = 0; e < MVKE_PQ_CENTROIDS; e++, t += ds) {
        float dist = 0.0f;
        for (int i = 0; i < ds; i++) {
            const float diff = v[i] - t[i];
            dist += diff * diff;
        }
        if (e == 0 || dist < best) {
            best = dist;
            arg = e;
        }
    }
    return (uint8_t)arg;
}

void mvke_pq_decode1(const mvke_codec *c, int k, int j, uint8_t code, float *out) {
    const int ds = mvke_pq_dsub(c, j);
    memcpy(out, mvke_pq_table(c, k, j) + (size_t)code * ds, (size_t)ds * sizeof *out);
}

void mvke_codec_encode(const mvke_codec *c, const float *row, uint8_t *codes) {
    for (int k = 0; k < c->K; k++) {
        const float *v = row + (size_t)k * c->d;
        for (int j = 0; j < c->m; j++) {
            codes[(size_t)k * c->m + j] = c->storage == MVKE_STORAGE_SQ8
                                              ? mvke_sq8_encode1(c, k * c->d + j, v[j])
                                              : mvke_pq_encode1(c, k, j, v + c->off[j]);
        }
    }
}

void mvke_codec_decode(const mvke_codec *c, const uint8_t *codes, float *row) {
    for (int k = 0; k < c->K; k++) {
        float *v = row + (size_t)k * c->d;
        for (int j = 0; j < c->m; j++) {
            const uint8_t code = codes[(size_t)k * c->m + j];
            if (c->storage == MVKE_STORAGE_SQ8)
                v[j] = mvke_sq8_decode1(c, k * c->d + j, code);
            else
                mvke_pq_decode1(c, k, j, code, v + c->off[j]);
        }
    }
}
