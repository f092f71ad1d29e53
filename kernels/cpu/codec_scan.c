/*
 * codec_scan.c - query preparation, the Gram part of a codec scan, and the choice of kernels
 * (codec_scan.h). The instruction set is read once from cpuid (with the OS's XSAVE state, so
 * that AVX-512 is used only where its registers are saved); __builtin_cpu_supports is avoided
 * because clang 14 does not know every feature name.
 */
#include "codec_scan.h"

#include <cpuid.h>
#include <string.h>

#include "../codec.h"
#include "../gram.h"

#define LANES MVKE_LANES

static int cpu_level(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return MVKE_ISA_GENERIC;
    const int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
    if (!osxsave || !avx) return MVKE_ISA_GENERIC;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    const unsigned long long xcr0 = ((unsigned long long)hi << 32) | lo;
    if ((xcr0 & 6) != 6) return MVKE_ISA_GENERIC;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return MVKE_ISA_GENERIC;
    const int avx2 = (b >> 5) & 1, avx512f = (b >> 16) & 1;
    if (avx512f && fma && (xcr0 & 0xe6) == 0xe6) return MVKE_ISA_AVX512;
    if (avx2 && fma) return MVKE_ISA_AVX2;
    return MVKE_ISA_GENERIC;
}

static _Atomic int detected = -1; /* what the CPU allows, read once */
static _Atomic int cap_level = MVKE_ISA_AVX512;

int mvke_codec_scan_isa(void) {
    int have = detected;
    if (have < 0) detected = have = cpu_level();
    int c = cap_level;
    return have < c ? have : c;
}

int mvke_codec_scan_set_isa(int max_level) {
    cap_level = max_level < MVKE_ISA_GENERIC ? MVKE_ISA_GENERIC : max_level;
    return mvke_codec_scan_isa();
}

size_t mvke_codec_query_floats(const mvke_layout *L) {
    if (L->storage == MVKE_STORAGE_SQ8) return (size_t)L->K * (size_t)L->d;
    return (size_t)L->K * (size_t)L->m * MVKE_PQ_CENTROIDS;
}

void mvke_codec_query_prepare(const mvke_layout *L, const float *z, const float *qgram, float *w,
                              mvke_codec_query *q) {
    const mvke_codec *c = L->codec;
    const int K = L->K, d = L->d;
    memset(q, 0, sizeof *q);
    q->w = w;
    q->gram = qgram;
    q->qtr = mvke_gram_trace(K, qgram);
    for (int k = 0; k < K; k++)
        for (int j = 0; j < d; j++)
            if (z[(size_t)k * d + j] != 0.0f) {
                q->active |= (uint64_t)1 << k;
                break;
            }
    if (L->storage == MVKE_STORAGE_SQ8) {
        double cst = 0.0;
        for (size_t i = 0; i < (size_t)K * d; i++) {
            w[i] = z[i] * c->scale[i];
            cst += (double)z[i] * (double)c->vmin[i];
        }
        q->cst = (float)cst;
        return;
    }
    for (int k = 0; k < K; k++) {
        if (!((q->active >> k) & 1)) continue;
        for (int j = 0; j < c->m; j++) {
            const int ds = mvke_pq_dsub(c, j);
            const float *zs = z + (size_t)k * d + c->off[j], *cent = mvke_pq_table(c, k, j);
            float *t = w + ((size_t)k * c->m + j) * MVKE_PQ_CENTROIDS;
            for (int e = 0; e < MVKE_PQ_CENTROIDS; e++, cent += ds) {
                float s = 0.0f;
                for (int i = 0; i < ds; i++) s += zs[i] * cent[i];
                t[e] = s;
            }
        }
    }
}

/* den2 and traces of panels [p0, p1): only the Gram entries the query weighs, and the diagonal. */
static void gram_scan(const mvke_layout *L, const void *block, int64_t cap, int64_t p0, int64_t p1,
                      const mvke_codec_query *q, float *den, float *rtr) {
    const int K = L->K, P = L->P;
    const float *G = mvke_layout_gram(L, block, cap);
    for (int64_t p = p0; p < p1; p++) {
        float dacc[LANES] = {0}, tacc[LANES] = {0};
        const float *gp = G + (size_t)p * P * LANES;
        for (int e = 0; e < P; e++) {
            const float qe = q->gram[e];
            if (qe == 0.0f) continue;
            for (int g = 0; g < LANES; g++) dacc[g] += qe * gp[e * LANES + g];
        }
        for (int k = 0, e = 0; k < K; e += K - k, k++)
            for (int g = 0; g < LANES; g++) tacc[g] += gp[e * LANES + g];
        for (int g = 0; g < LANES; g++) {
            den[(p - p0) * LANES + g] = dacc[g];
            rtr[(p - p0) * LANES + g] = tacc[g];
        }
    }
}

void mvke_codec_scan(const mvke_layout *L, const void *block, int64_t cap, int64_t p0, int64_t p1,
                     const mvke_codec_query *q, float *num, float *den, float *rtr) {
    const int isa = mvke_codec_scan_isa();
    if (L->storage == MVKE_STORAGE_SQ8) {
        if (isa >= MVKE_ISA_AVX512) mvke_sq8_num_avx512(L, block, cap, p0, p1, q, num);
        else if (isa >= MVKE_ISA_AVX2) mvke_sq8_num_avx2(L, block, cap, p0, p1, q, num);
        else mvke_sq8_num_generic(L, block, cap, p0, p1, q, num);
    } else {
        if (isa >= MVKE_ISA_AVX512) mvke_pq_num_avx512(L, block, cap, p0, p1, q, num);
        else if (isa >= MVKE_ISA_AVX2) mvke_pq_num_avx2(L, block, cap, p0, p1, q, num);
        else mvke_pq_num_generic(L, block, cap, p0, p1, q, num);
    }
    gram_scan(L, block, cap, p0, p1, q, den, rtr);
}
