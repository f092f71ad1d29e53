/*
 * cpu_features.h - what the processor and the operating system let the CPU kernels use, read
 * once from cpuid and xgetbv (compilers' __builtin_cpu_supports differ in the names they know).
 */
#ifndef MVKE_KERNELS_CPU_FEATURES_H
#define MVKE_KERNELS_CPU_FEATURES_H

enum {
    MVKE_CPU_HAS_AVX2 = 1 << 0,       /* AVX2 + FMA + F16C, with ymm state enabled by the OS */
    MVKE_CPU_HAS_AVX512 = 1 << 1,     /* AVX-512 F, BW, VL, DQ, with zmm state enabled */
    MVKE_CPU_HAS_AVX512BF16 = 1 << 2, /* AVX512_BF16 (vdpbf16ps), on top of MVKE_CPU_HAS_AVX512 */
};

/* The MVKE_CPU_HAS_* bits of this machine (0 off x86-64). Thread-safe; computed once. */
unsigned mvke_cpu_features(void);

#endif
