/*
 * test_half.c - float16 conversion: the vector paths equal the scalar reference on every half
 * value and on many floats, and the scalar reference rounds as IEEE 754 says.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "kernels/half.h"
#include "reference.h"

Test(half, every_half_widens_like_the_reference) {
    static uint16_t h[65536];
    static float f[65536];
    for (int i = 0; i < 65536; i++) h[i] = (uint16_t)i;
    mvke_half_to_float(h, f, 65536);
    for (int i = 0; i < 65536; i++) {
        float r = mvke_half_to_float1((uint16_t)i);
        if (isnan(r))
            cr_assert(isnan(f[i]), "0x%04x", i);
        else
            cr_assert(memcmp(&r, &f[i], 4) == 0, "0x%04x: %g vs %g", i, r, f[i]);
    }
    /* round trip of every finite half is exact */
    for (int i = 0; i < 65536; i++)
        if (!isnan(f[i])) cr_assert_eq(mvke_half_from_float1(f[i]), (uint16_t)i, "0x%04x", i);
}

Test(half, known_values) {
    cr_assert_eq(mvke_half_from_float1(1.0f), 0x3c00);
    cr_assert_eq(mvke_half_from_float1(-2.0f), 0xc000);
    cr_assert_eq(mvke_half_from_float1(65504.0f), 0x7bff);
    cr_assert_eq(mvke_half_from_float1(65520.0f), 0x7c00); /* rounds up to Inf */
    cr_assert_eq(mvke_half_from_float1(65519.0f), 0x7bff);
    cr_assert_eq(mvke_half_from_float1(5.960464477539063e-08f), 0x0001); /* smallest subnormal */
    cr_assert_eq(mvke_half_from_float1(2.98023223876953125e-08f), 0x0000); /* half of it: ties to even */
    cr_assert_eq(mvke_half_from_float1(1.0f + 1.0f / 2048), 0x3c00);      /* tie to even (down) */
    cr_assert_eq(mvke_half_from_float1(1.0f + 3.0f / 2048), 0x3c02);      /* tie to even (up) */
    cr_assert_eq(mvke_half_from_float1(INFINITY), 0x7c00);
    cr_assert_eq(mvke_half_from_float1(-0.0f), 0x8000);
}

Test(half, vector_narrowing_matches_scalar) {
    enum { N = 100003 };
    static float f[N];
    static uint16_t a[N];
    ref_seed(5);
    for (int i = 0; i < N; i++) {
        float m = ref_normal();
        int e = (int)(ref_uniform() * 50) - 30;
        f[i] = ldexpf(m, e);
    }
    mvke_half_from_float(f, a, N);
    for (int i = 0; i < N; i++) cr_assert_eq(a[i], mvke_half_from_float1(f[i]), "%.9g", f[i]);
}
