/*
 * pq_scan.c - pq numerators from codes by table lookups (codec_scan.h): per panel, one lookup
 * per code and lane (a 16-lane gather on AVX-512) into the query's 256-entry table of that
 * sub-space, over the query's active experts only.
 */
#include <immintrin.h>

#include "../codec.h"
#include "codec_scan.h"

#define LANES MVKE_LANES
#define NC MVKE_PQ_CENTROIDS

void mvke_pq_num_generic(const mvke_layout *L, const void *block, int64_t cap, int64_t p0, int64_t p1,
                         const mvke_codec_query *q, float *num) {
    const int m = L->m;
    for (int64_t p = p0; p < p1; p++) {
        float acc[LANES] = {0};
        for (int k = 0; k < L->K; k++) {
            if (!((q->active >> k) & 1)) continue;
            const uint8_t *c = (const uint8_t *)mvke_layout_plane(L, block, cap, k) + (size_t)p * m * LANES;
            const float *t = q->w + (size_t)k * m * NC;
            for (int j = 0; j < m; j++, t += NC)
                for (int g = 0; g < LANES; g++) acc[g] += t[c[j * LANES + g]];
        }
        for (int g = 0; g < LANES; g++) num[(p - p0) * LANES + g] = acc[g];
    }
}

__attribute__((target("avx2,fma"))) void mvke_pq_num_avx2(const mvke_layout *L, const void *block, int64_t cap,
                                                           int64_t p0, int64_t p1, const mvke_codec_query *q,
                                                           float *num) {
    const int m = L->m;
    for (int64_t p = p0; p < p1; p++) {
        __m256 a = _mm256_setzero_ps(), b = _mm256_setzero_ps();
        for (int k = 0; k < L->K; k++) {
            if (!((q->active >> k) & 1)) continue;
            const uint8_t *c = (const uint8_t *)mvke_layout_plane(L, block, cap, k) + (size_t)p * m * LANES;
            const float *t = q->w + (size_t)k * m * NC;
            for (int j = 0; j < m; j++, t += NC) {
                const __m128i cj = _mm_loadu_si128((const __m128i *)(c + j * LANES));
                a = _mm256_add_ps(a, _mm256_i32gather_ps(t, _mm256_cvtepu8_epi32(cj), 4));
                b = _mm256_add_ps(b, _mm256_i32gather_ps(t, _mm256_cvtepu8_epi32(_mm_srli_si128(cj, 8)), 4));
            }
        }
        _mm256_storeu_ps(num + (p - p0) * LANES, a);
        _mm256_storeu_ps(num + (p - p0) * LANES + 8, b);
    }
}

__attribute__((target("avx512f"))) void mvke_pq_num_avx512(const mvke_layout *L, const void *block, int64_t cap,
                                                            int64_t p0, int64_t p1, const mvke_codec_query *q,
                                                            float *num) {
    const int m = L->m;
    for (int64_t p = p0; p < p1; p++) {
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
        for (int k = 0; k < L->K; k++) {
            if (!((q->active >> k) & 1)) continue;
            const uint8_t *c = (const uint8_t *)mvke_layout_plane(L, block, cap, k) + (size_t)p * m * LANES;
            const float *t = q->w + (size_t)k * m * NC;
            int j = 0;
            for (; j + 1 < m; j += 2, t += 2 * NC) {
                const __m512i i0 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(c + j * LANES)));
                const __m512i i1 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(c + (j + 1) * LANES)));
                a0 = _mm512_add_ps(a0, _mm512_i32gather_ps(i0, t, 4));
                a1 = _mm512_add_ps(a1, _mm512_i32gather_ps(i1, t + NC, 4));
            }
            if (j < m) {
                const __m512i i0 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(c + j * LANES)));
                a0 = _mm512_add_ps(a0, _mm512_i32gather_ps(i0, t, 4));
            }
        }
        _mm512_storeu_ps(num + (p - p0) * LANES, _mm512_add_ps(a0, a1));
    }
}
