/*
 * test_cpu_features.c - the one reader of the CPU (kernels/cpu/cpu_features.c): MVKE_CPU caps
 * what every kernel choice sees (scan variants, F16C, SSE4.2 CRC), and an unknown level or one
 * the CPU lacks is an error at the first constructor, never silence. Criterion runs every test
 * in its own process, so each sets MVKE_CPU before the library first reads it.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "index/crc32c.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/scan.h"
#include "kernels/half.h"
#include "mvke/mvke.h"

Test(cpu_features, generic_caps_everything) {
    setenv("MVKE_CPU", "generic", 1);
    cr_assert_eq(mvke_cpu_features(), 0u);
    const char *name = NULL;
    cr_assert_eq(mvke_cpu_level(&name), MVKE_OK);
    cr_assert_str_eq(name, "generic");
    cr_assert_eq(mvke_cpu_variant_get(), MVKE_CPU_GENERIC);
    cr_assert_eq(mvke_cpu_variant_force(MVKE_CPU_AVX2), -1, "a capped variant can be forced");
    /* The portable paths give what the hardware ones give. */
    unsigned char buf[10000];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)(i * 131 + 7);
    cr_assert_eq(mvke_crc32c(0, buf, sizeof buf), mvke_crc32c_portable(0, buf, sizeof buf));
    float f[37], back[37];
    uint16_t h[37];
    for (int i = 0; i < 37; i++) f[i] = (float)i * 0.37f - 5.0f;
    mvke_half_from_float(f, h, 37);
    mvke_half_to_float(h, back, 37);
    for (int i = 0; i < 37; i++) cr_assert_eq(h[i], mvke_half_from_float1(f[i]));
    for (int i = 0; i < 37; i++) cr_assert_eq(back[i], mvke_half_to_float1(h[i]));
    mvke_index *ix;
    cr_assert_eq(mvke_index_new(&ix, 2, 3, NULL), MVKE_OK);
    mvke_index_free(ix);
}

Test(cpu_features, avx2_caps_avx512) {
    setenv("MVKE_CPU", "avx2", 1);
    if (!(mvke_cpu_features_raw() & MVKE_CPU_HAS_AVX2)) {
        cr_assert_eq(mvke_cpu_features_check(), MVKE_ERR_INVALID);
        cr_skip_test("this CPU has no AVX2: only the refusal was checked");
    }
    cr_assert_eq(mvke_cpu_features_check(), MVKE_OK);
    cr_assert_eq(mvke_cpu_features() & (MVKE_CPU_HAS_AVX512 | MVKE_CPU_HAS_AVX512BF16), 0u);
    cr_assert(mvke_cpu_features() & MVKE_CPU_HAS_AVX2);
    cr_assert_eq(mvke_cpu_variant_get(), MVKE_CPU_AVX2);
    cr_assert_eq(mvke_cpu_variant_force(MVKE_CPU_AVX512), -1);
    const char *name;
    cr_assert_eq(mvke_cpu_level(&name), MVKE_OK);
    cr_assert_str_eq(name, "avx2");
}

Test(cpu_features, unknown_level_is_an_error) {
    setenv("MVKE_CPU", "sse9", 1);
    mvke_index *ix = NULL;
    cr_assert_eq(mvke_index_new(&ix, 2, 3, NULL), MVKE_ERR_INVALID);
    cr_assert_null(ix);
    cr_assert(strstr(mvke_last_error(), "MVKE_CPU=sse9") && strstr(mvke_last_error(), "generic, avx2 or avx512"),
              "%s", mvke_last_error());
    mvke_tags *t = NULL;
    cr_assert_eq(mvke_tags_new(&t, 2, 3, NULL), MVKE_ERR_INVALID);
    cr_assert_eq(mvke_file_open("/nonexistent", 0, NULL, NULL), MVKE_ERR_INVALID);
    const char *name;
    cr_assert_eq(mvke_cpu_level(&name), MVKE_ERR_INVALID);
}

Test(cpu_features, a_level_above_the_cpu_is_an_error) {
    setenv("MVKE_CPU", "avx512", 1);
    if (mvke_cpu_features_raw() & MVKE_CPU_HAS_AVX512) {
        cr_assert_eq(mvke_cpu_features_check(), MVKE_OK);
        cr_assert_eq(mvke_cpu_features(), mvke_cpu_features_raw(), "avx512 caps nothing on an AVX-512 CPU");
        cr_skip_test("this CPU has AVX-512: a level above it cannot be named");
    }
    cr_assert_eq(mvke_cpu_features_check(), MVKE_ERR_INVALID);
    cr_assert(strstr(mvke_last_error(), "this CPU has at most"), "%s", mvke_last_error());
}

Test(cpu_features, unset_is_the_machine) {
    unsetenv("MVKE_CPU");
    cr_assert_eq(mvke_cpu_features(), mvke_cpu_features_raw());
    cr_assert_eq(mvke_cpu_features_check(), MVKE_OK);
}
