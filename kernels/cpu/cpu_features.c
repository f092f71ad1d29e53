/*
 * cpu_features.c - cpuid and xgetbv, read directly: an instruction set is usable only when the
 * processor has it and the OS saves its registers (XCR0), which cpuid alone does not say.
 */
#include "cpu_features.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <stdint.h>

static uint64_t xcr0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static unsigned detect(void) {
    unsigned a, b, c, d, f = 0;
    if (!__get_cpuid_count(1, 0, &a, &b, &c, &d)) return 0;
    const int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, f16c = (c >> 29) & 1;
    if (!osxsave || !avx) return 0;
    const uint64_t x = xcr0();
    const int ymm_os = (x & 0x6) == 0x6, zmm_os = (x & 0xe6) == 0xe6;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    const int avx2 = (b >> 5) & 1, avx512f = (b >> 16) & 1, avx512dq = (b >> 17) & 1,
              avx512bw = (b >> 30) & 1, avx512vl = (b >> 31) & 1;
    if (ymm_os && avx2 && fma && f16c) f |= MVKE_CPU_HAS_AVX2;
    if ((f & MVKE_CPU_HAS_AVX2) && zmm_os && avx512f && avx512dq && avx512bw && avx512vl) {
        f |= MVKE_CPU_HAS_AVX512;
        if (__get_cpuid_count(7, 1, &a, &b, &c, &d) && ((a >> 5) & 1)) f |= MVKE_CPU_HAS_AVX512BF16;
    }
    return f;
}

unsigned mvke_cpu_features(void) {
    static int cached = -1; /* racing first calls compute the same value */
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        v = (int)detect();
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return (unsigned)v;
}
#else
unsigned mvke_cpu_features(void) { return 0; }
#endif
