/*
 * test_decimal.c - tools/decimal.c writes exactly what printf writes: "%lld" for integers and
 * "%.6f" for scores, over every float exponent, both signs, exact halves (where rounding to
 * even shows) and the values printf spells out (inf, nan, -0).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "support/rng.h"
#include "tools/decimal.h"

static void same_fixed6(float v) {
    char want[400], got[CLI_DECIMAL_MAX + 1];
    snprintf(want, sizeof want, "%.6f", (double)v);
    char *end = cli_decimal_fixed6(got, v);
    cr_assert_leq(end - got, CLI_DECIMAL_MAX);
    *end = 0;
    cr_assert_str_eq(got, want, "%a: printf writes %s", (double)v, want);
}

static void same_i64(int64_t v) {
    char want[32], got[CLI_DECIMAL_MAX + 1];
    snprintf(want, sizeof want, "%lld", (long long)v);
    *cli_decimal_i64(got, v) = 0;
    cr_assert_str_eq(got, want);
}

Test(decimal, fixed6_matches_printf_over_every_exponent) {
    synth_rng r = synth_rng_at(synth_key(7, 1), 0);
    for (int e = -160; e <= 60; e++)
        for (int i = 0; i < 4000; i++) {
            const float v = ldexpf((float)(synth_rng_uniform(&r) + 1.0), e);
            same_fixed6(v);
            same_fixed6(-v);
        }
}

Test(decimal, fixed6_matches_printf_on_scores_and_probabilities) {
    /* The values tag-all writes most: cosines in [-1, 1] and sigmoids in (0, 1). */
    synth_rng r = synth_rng_at(synth_key(7, 2), 0);
    for (int i = 0; i < 1000000; i++) {
        const float c = (float)(2.0 * synth_rng_uniform(&r) - 1.0);
        same_fixed6(c);
        same_fixed6((float)(1.0 / (1.0 + exp(-8.0 * c))));
    }
}

Test(decimal, fixed6_rounds_exact_halves_to_even) {
    /* k * 2^-s * 10^6 ends in exactly .5 for odd k when 2^s divides 2 * 10^6 * k but not
     * 10^6 * k: s = 7 (10^6 = 2^6 * 15625). 0.0078125 -> 0.007812, 3 * 2^-7 -> 0.023438. */
    for (int k = -4000; k <= 4000; k++)
        for (int s = 1; s <= 12; s++) same_fixed6(ldexpf((float)k, -s));
    char got[CLI_DECIMAL_MAX + 1];
    *cli_decimal_fixed6(got, 0x1p-7f) = 0;
    cr_assert_str_eq(got, "0.007812");
}

Test(decimal, fixed6_special_values) {
    const float v[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN, 0x1p-149f, -0x1p-149f, 0x1p-126f,
                       0x1p40f, -0x1p40f, nextafterf(0x1p40f, 0), 3.4028235e38f, -3.4028235e38f,
                       4.9999995e-7f, 5e-7f, 5.0000006e-7f, -5e-7f, 0.9999995f, 0.99999994f, 1.0f, -1.0f};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) same_fixed6(v[i]);
}

Test(decimal, i64_matches_printf) {
    const int64_t v[] = {0, 1, -1, 9, 10, -10, 99, 100, INT64_MAX, INT64_MIN, INT64_MIN + 1, 1000000000000000000};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) same_i64(v[i]);
    synth_rng r = synth_rng_at(synth_key(7, 3), 0);
    for (int i = 0; i < 200000; i++) {
        const uint64_t u = synth_rng_u64(&r);
        same_i64((int64_t)(u >> (u & 63)));
        same_i64(-(int64_t)(u >> ((u >> 6) & 63) >> 1));
    }
}
