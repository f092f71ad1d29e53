/*
 * test_rng.c - the counter-based generator (support/rng.c): value i of a stream is output i of the
 * sequential splitmix64 with the same seed, a position in a stream draws the same values as the
 * counter, ranges of normals are made the same on their own, and the draws look uniform/normal.
 */
#include <criterion/criterion.h>
#include <math.h>

#include "support/rng.h"

/* The classic sequential splitmix64, written out as the reference. */
static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

Test(rng, counter_is_sequential_splitmix64) {
    for (uint64_t seed = 0; seed < 5; seed++) {
        uint64_t s = seed * 0x1234567ull;
        for (uint64_t i = 0; i < 1000; i++) cr_assert_eq(synth_u64(seed * 0x1234567ull, i), splitmix64(&s), "value %llu", (unsigned long long)i);
    }
}

Test(rng, positions_draw_what_the_counter_gives) {
    synth_rng r = synth_rng_at(99, 10);
    for (uint64_t i = 10; i < 200; i++) cr_assert_eq(synth_rng_u64(&r), synth_u64(99, i));
    r = synth_rng_at(7, 40);
    for (uint64_t i = 20; i < 60; i++) cr_assert_eq(synth_rng_normal(&r), synth_normal(7, i));
}

Test(rng, any_range_of_normals_is_made_again_alone) {
    float all[500], part[120];
    synth_normals(5, 1000, 500, all);
    synth_normals(5, 1234, 120, part);
    for (int j = 0; j < 120; j++) cr_assert_eq(part[j], all[234 + j]);
    cr_assert_neq(synth_key(5, 1), synth_key(5, 2), "streams differ");
}

Test(rng, draws_are_uniform_and_normal) {
    double su = 0, sn = 0, sn2 = 0;
    const int n = 200000;
    synth_rng r = synth_rng_at(synth_key(42, 3), 0);
    int below[10] = {0};
    for (int i = 0; i < n; i++) {
        double u = synth_rng_uniform(&r);
        cr_assert(u > 0 && u < 1);
        su += u;
        int64_t b = synth_rng_below(&r, 10);
        cr_assert(b >= 0 && b < 10);
        below[b]++;
        double x = synth_normal(11, (uint64_t)i);
        sn += x;
        sn2 += x * x;
    }
    cr_assert(fabs(su / n - 0.5) < 0.01, "mean %f", su / n);
    cr_assert(fabs(sn / n) < 0.01 && fabs(sn2 / n - 1) < 0.02, "mean %f, variance %f", sn / n, sn2 / n);
    for (int b = 0; b < 10; b++) cr_assert(below[b] > n / 10 * 0.95 && below[b] < n / 10 * 1.05);
}
