/*
 * test_layout.c - the block layout: every value of every row lands at the address layout.h
 * documents, round-trips through put/get in each storage, copies and clears touch only their
 * row, part sizes are 64-byte multiples, and rows copied into a larger block keep their values.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gram.h"
#include "kernels/half.h"
#include "kernels/layout.h"

static float value(int64_t r, int k, int j) { return sinf(0.37f * (float)r + 1.1f * (float)k + 0.13f * (float)j) * 3.0f; }

static void make_row(int K, int d, int64_t r, float *row, float *gram) {
    for (int k = 0; k < K; k++)
        for (int j = 0; j < d; j++) row[k * d + j] = value(r, k, j);
    for (int e = 0; e < mvke_gram_size(K); e++) gram[e] = (float)(r * 100 + e);
}

static float rounded(mvke_storage st, float v) {
    if (st == MVKE_STORAGE_F16) return mvke_half_to_float1(mvke_half_from_float1(v));
    if (st == MVKE_STORAGE_BF16) return mvke_bf16_to_float1(mvke_bf16_from_float1(v));
    return v;
}

static void check_storage(mvke_storage st, int K, int d, int64_t cap) {
    mvke_layout L;
    cr_assert_eq(mvke_layout_init(&L, K, d, st), 0);
    const int P = mvke_gram_size(K);
    cr_assert_eq(mvke_layout_plane_bytes(&L, cap) % 64, 0);
    cr_assert_eq(mvke_layout_gram_bytes(&L, cap) % 64, 0);
    unsigned char *b = calloc(1, mvke_layout_block_bytes(&L, cap));
    float *row = malloc(sizeof(float) * K * d), *back = malloc(sizeof(float) * K * d);
    float gram[64 * 65 / 2], gback[64 * 65 / 2];
    for (int64_t r = 0; r < cap; r += 3) {
        make_row(K, d, r, row, gram);
        mvke_layout_put(&L, b, cap, r, row, gram);
    }
    for (int64_t r = 0; r < cap; r++) {
        mvke_layout_get(&L, b, cap, r, back, gback);
        make_row(K, d, r, row, gram);
        for (int k = 0; k < K; k++)
            for (int j = 0; j < d; j++) {
                float want = r % 3 ? 0.0f : rounded(st, row[k * d + j]);
                cr_assert_eq(back[k * d + j], want, "storage %d r %lld k %d j %d", st, (long long)r, k, j);
                /* The documented address. */
                const unsigned char *pl = mvke_layout_plane(&L, b, cap, k);
                const int64_t p = r / MVKE_LANES, g = r % MVKE_LANES;
                float at;
                if (st == MVKE_STORAGE_F32) at = ((const float *)pl)[(p * d + j) * MVKE_LANES + g];
                else if (st == MVKE_STORAGE_F16) at = mvke_half_to_float1(((const uint16_t *)pl)[(p * d + j) * MVKE_LANES + g]);
                else at = mvke_bf16_to_float1(((const uint16_t *)pl)[((p * ((d + 1) / 2) + j / 2) * MVKE_LANES + g) * 2 + j % 2]);
                cr_assert_eq(at, want);
            }
        for (int e = 0; e < P; e++) {
            cr_assert_eq(gback[e], r % 3 ? 0.0f : (float)(r * 100 + e));
            cr_assert_eq(mvke_layout_gram(&L, b, cap)[((r / MVKE_LANES) * P + e) * MVKE_LANES + r % MVKE_LANES], gback[e]);
        }
    }
    /* Copy row 0 to row 1, clear row 3: only those rows change. */
    mvke_layout_copy(&L, b, cap, 1, b, cap, 0);
    mvke_layout_clear(&L, b, cap, 3);
    mvke_layout_get(&L, b, cap, 1, back, gback);
    make_row(K, d, 0, row, gram);
    for (int i = 0; i < K * d; i++) cr_assert_eq(back[i], rounded(st, row[i]));
    mvke_layout_get(&L, b, cap, 3, back, gback);
    for (int i = 0; i < K * d; i++) cr_assert_eq(back[i], 0.0f);
    for (int e = 0; e < P; e++) cr_assert_eq(gback[e], 0.0f);
    /* Growing: the first n rows copied into a block of twice the capacity. */
    const int64_t n = cap - 5 > 0 ? cap - 5 : cap;
    unsigned char *big = calloc(1, mvke_layout_block_bytes(&L, 2 * cap));
    mvke_layout_copy_rows(&L, big, 2 * cap, b, cap, n);
    for (int64_t r = 0; r < n; r++) {
        float *a = malloc(sizeof(float) * K * d);
        mvke_layout_get(&L, b, cap, r, a, gram);
        mvke_layout_get(&L, big, 2 * cap, r, back, gback);
        cr_assert_eq(memcmp(a, back, sizeof(float) * K * d), 0);
        cr_assert_eq(memcmp(gram, gback, sizeof(float) * P), 0);
        free(a);
    }
    free(big);
    free(b);
    free(row);
    free(back);
}

Test(layout, every_storage_and_shape) {
    const mvke_storage sts[] = {MVKE_STORAGE_F32, MVKE_STORAGE_F16, MVKE_STORAGE_BF16};
    const int Ks[] = {1, 2, 5, 8}, ds[] = {1, 7, 30, 64};
    for (int s = 0; s < 3; s++)
        for (int a = 0; a < 4; a++)
            for (int c = 0; c < 4; c++) check_storage(sts[s], Ks[a], ds[c], 48);
}

Test(layout, unknown_storage) {
    mvke_layout L;
    cr_assert_eq(mvke_layout_init(&L, 5, 30, (mvke_storage)42), -1);
}

Test(layout, bf16_rounding) {
    cr_assert_eq(mvke_bf16_to_float1(mvke_bf16_from_float1(1.0f)), 1.0f);
    /* 1 + 2^-8 is halfway between two bf16 values: ties go to even (1.0). */
    cr_assert_eq(mvke_bf16_to_float1(mvke_bf16_from_float1(1.0f + 1.0f / 256)), 1.0f);
    cr_assert_eq(mvke_bf16_to_float1(mvke_bf16_from_float1(1.0f + 3.0f / 256)), 1.0f + 4.0f / 256);
    cr_assert(isnan(mvke_bf16_to_float1(mvke_bf16_from_float1(NAN))));
    cr_assert(isinf(mvke_bf16_to_float1(mvke_bf16_from_float1(3.4e38f))));
}
