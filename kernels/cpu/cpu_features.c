/*
 * cpu_features.c - cpuid and xgetbv, read directly, and the MVKE_CPU cap (cpu_features.h). An
 * instruction set is usable only when the processor has it and the OS saves its registers
 * (XCR0), which cpuid alone does not say.
 */
#include "cpu_features.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime.h"

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
    if ((c >> 20) & 1) f |= MVKE_CPU_HAS_SSE42;
    const int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, f16c = (c >> 29) & 1;
    if (!osxsave || !avx) return f;
    const uint64_t x = xcr0();
    const int ymm_os = (x & 0x6) == 0x6, zmm_os = (x & 0xe6) == 0xe6;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
    const int avx2 = (b >> 5) & 1, avx512f = (b >> 16) & 1, avx512dq = (b >> 17) & 1,
              avx512bw = (b >> 30) & 1, avx512vl = (b >> 31) & 1;
    if ((f & MVKE_CPU_HAS_SSE42) && ymm_os && avx2 && fma && f16c) f |= MVKE_CPU_HAS_AVX2;
    if ((f & MVKE_CPU_HAS_AVX2) && zmm_os && avx512f && avx512dq && avx512bw && avx512vl) {
        f |= MVKE_CPU_HAS_AVX512;
        if (__get_cpuid_count(7, 1, &a, &b, &c, &d) && ((a >> 5) & 1)) f |= MVKE_CPU_HAS_AVX512BF16;
    }
    return f;
}
#else
static unsigned detect(void) { return 0; }
#endif

/* The bits each level allows. */
static const unsigned level_bits[] = {
    0u,
    MVKE_CPU_HAS_SSE42 | MVKE_CPU_HAS_AVX2,
    ~0u,
};
static const char *const level_names[] = {"generic", "avx2", "avx512"};
#define NLEVELS ((int)(sizeof level_names / sizeof *level_names))

mvke_cpu_level_t mvke_cpu_level_of(unsigned f) {
    if (f & MVKE_CPU_HAS_AVX512) return MVKE_CPU_LEVEL_AVX512;
    if (f & MVKE_CPU_HAS_AVX2) return MVKE_CPU_LEVEL_AVX2;
    return MVKE_CPU_LEVEL_GENERIC;
}

const char *mvke_cpu_level_name(mvke_cpu_level_t level) {
    return (unsigned)level < (unsigned)NLEVELS ? level_names[level] : "unknown";
}

/* Read once: raw bits, capped bits, and whether MVKE_CPU was valid (-1 unknown name, -2 a
 * level above the machine's, 0 fine). */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static unsigned raw_bits, capped_bits;
static int env_state;

static void read_env(void) {
    const unsigned raw = detect();
    unsigned capped = raw;
    int state = 0;
    const char *env = getenv("MVKE_CPU");
    if (env && *env) {
        int level = -1;
        for (int l = 0; l < NLEVELS; l++)
            if (strcmp(env, level_names[l]) == 0) level = l;
        if (level < 0) state = -1;
        else if (level > (int)mvke_cpu_level_of(raw)) state = -2;
        else capped = raw & level_bits[level];
    }
    raw_bits = raw;
    capped_bits = capped;
    env_state = state;
}

static void read_once(void) { pthread_once(&once, read_env); }

unsigned mvke_cpu_features(void) {
    read_once();
    return capped_bits;
}

unsigned mvke_cpu_features_raw(void) {
    read_once();
    return raw_bits;
}

mvke_status mvke_cpu_features_check(void) {
    read_once();
    if (env_state == 0) return MVKE_OK;
    const char *env = getenv("MVKE_CPU");
    const char *have = mvke_cpu_level_name(mvke_cpu_level_of(raw_bits));
    if (env_state == -1)
        return mvke_error(MVKE_ERR_INVALID, "MVKE_CPU=%s: unknown level (expected generic, avx2 or avx512; this CPU has %s)",
                          env ? env : "", have);
    return mvke_error(MVKE_ERR_INVALID, "MVKE_CPU=%s: this CPU has at most %s (MVKE_CPU caps the instruction set, it cannot add one)",
                      env ? env : "", have);
}

mvke_status mvke_cpu_level(const char **name) {
    if (name) *name = mvke_cpu_level_name(mvke_cpu_level_of(mvke_cpu_features()));
    return mvke_cpu_features_check();
}
