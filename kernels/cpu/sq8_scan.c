/*
 * sq8_scan.c - sq8 numerators from codes (codec_scan.h): per panel, a constant plus one
 * multiply-add per code and lane, over the query's active experts only. The widened codes are
 * exact small integers, so every version sums the same products (in a different order).
 */
#include <immintrin.h>

#include "codec_scan.h"

#define LANES MVKE_LANES

void mvke_sq8_num_generic(const mvke_layout *L, const void *block, int64_t cap, int64_t p0, int64_t p1,
                          const mvke_codec_query *q, float *num) {
    const int m = L->m, d = L->d;
    for (int64_t p = p0; p < p1; p++) {
        float acc[LANES];
        for (int g = 0; g < LANES; g++) acc[g] = q->cst;
        for (int k = 0; k < L->K; k++) {
            if (!((q->active >> k) & 1)) continue;
            const uint8_t *c = (const uint8_t *)mvke_layout_plane(L, block, cap, k) + (size_t)p * m * LANES;
            const float *w = q->w + (size_t)k * d;
            for (int j = 0; j < m; j++)
                for (int g = 0; g < LANES; g++) acc[g] += w[j] * (float)c[j * LANES + g];
        }
        for (int g = 0; g < LANES; g++) num[(p - p0) * LANES + g] = acc[g];
    }
}

__attribute__((target("avx2,fma"))) void mvke_sq8_num_avx2(const mvke_layout *L, const void *block, int64_t cap,
                                                            int64_t p0, int64_t p1, const mvke_codec_query *q,
                                                            float *num) {
    const int m = L->m, d = L->d;
    for (int64_t p = p0; p < p1; p++) {
        __m256 a0 = _mm256_set1_ps(q->cst), a1 = _mm256_setzero_ps();
        __m256 b0 = _mm256_set1_ps(q->cst), b1 = _mm256_setzero_ps();
        for (int k = 0; k < L->K; k++) {
            if (!((q->active >> k) & 1)) continue;
            const uint8_t *c = (const uint8_t *)mvke_layout_plane(L, block, cap, k) + (size_t)p * m * LANES;
            const float *w = q->w + (size_t)k * d;
            int j = 0;
            for (; j + 1 < m; j += 2) {
                const __m256 w0 = _mm256_set1_ps(w[j]), w1 = _mm256_set1_ps(w[j + 1]);
                const __m128i c0 = _mm_loadu_si128((const __m128i *)(c + j * LANES));
                const __m128i c1 = _mm_loadu_si128((const __m128i *)(c + (j + 1) * LANES));
                a0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(c0)), w0, a0);
                b0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(c0, 8))), w0, b0);
                a1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(c1)), w1, a1);
                b1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(c1, 8))), w1, b1);
            }
            if (j < m) {
                const __m256 w0 = _mm256_set1_ps(w[j]);
                const __m128i c0 = _mm_loadu_si128((const __m128i *)(c + j * LANES));
                a0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(c0)), w0, a0);
                b0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(c0, 8))), w0, b0);
            }
        }
        _mm256_storeu_ps(num + (p - p0) * LANES, _mm256_add_ps(a0, a1));
        _mm256_storeu_ps(num + (p - p0) * LANES + 8, _mm256_add_ps(b0, b1));
    }
}

__attribute__((target("avx512f"))) void mvke_sq8_num_avx512(const mvke_layout *L, const void *block, int64_t cap,
                                                             int64_t p0, int64_t p1, const mvke_codec_query *q,
                                                             float *num) {
    const int m = L->m, d = L->d;
    for (int64_t p = p0; p < p1; p++) {
        __m512 a0 = _mm512_set1_ps(q->cst), a1 = _mm512_setzero_ps();
        for (int k = 0; k < L->K; k++) {
            if (!((q->active >> k) & 1)) continue;
            const uint8_t *c = (const uint8_t *)mvke_layout_plane(L, block, cap, k) + (size_t)p * m * LANES;
            const float *w = q->w + (size_t)k * d;
            int j = 0;
            for (; j + 1 < m; j += 2) {
                const __m128i c0 = _mm_loadu_si128((const __m128i *)(c + j * LANES));
                const __m128i c1 = _mm_loadu_si128((const __m128i *)(c + (j + 1) * LANES));
                a0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(c0)), _mm512_set1_ps(w[j]), a0);
                a1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(c1)), _mm512_set1_ps(w[j + 1]), a1);
            }
            if (j < m) {
                const __m128i c0 = _mm_loadu_si128((const __m128i *)(c + j * LANES));
                a0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(c0)), _mm512_set1_ps(w[j]), a0);
            }
        }
        _mm512_storeu_ps(num + (p - p0) * LANES, _mm512_add_ps(a0, a1));
    }
}
