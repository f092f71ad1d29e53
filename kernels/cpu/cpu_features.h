/*
 * cpu_features.h - the one reader of the CPU: what the processor and the operating system let
 * the library's kernels use, read once from cpuid and xgetbv (compilers' __builtin_cpu_supports
 * differ in the names they know), capped by MVKE_CPU.
 *
 * Every choice of an instruction set in the library asks here and nowhere else: the scan
 * kernels of every storage (scan.c), float16 conversion (half.c) and the CRC-32C of index files
 * (index/crc32c.c). MVKE_CPU=generic|avx2|avx512 in the environment caps what is reported for
 * the whole process, so one machine can run as an older CPU would:
 *     generic  portable C everywhere (no SSE4.2 CRC, no F16C, no vector kernels)
 *     avx2     SSE4.2, AVX2, FMA and F16C
 *     avx512   everything this CPU has (AVX-512 F/BW/VL/DQ and, where present, AVX512_BF16)
 * An unknown name, or a level this CPU lacks, is an error (mvke_cpu_features_check), never
 * silently ignored.
 */
#ifndef MVKE_KERNELS_CPU_FEATURES_H
#define MVKE_KERNELS_CPU_FEATURES_H

#include "mvke/mvke.h"

enum {
    MVKE_CPU_HAS_SSE42 = 1 << 0,      /* SSE4.2 (the crc32 instruction) */
    MVKE_CPU_HAS_AVX2 = 1 << 1,       /* AVX2 + FMA + F16C, with ymm state enabled by the OS */
    MVKE_CPU_HAS_AVX512 = 1 << 2,     /* AVX-512 F, BW, VL, DQ, with zmm state enabled */
    MVKE_CPU_HAS_AVX512BF16 = 1 << 3, /* AVX512_BF16 (vdpbf16ps), on top of MVKE_CPU_HAS_AVX512 */
};

/* The levels MVKE_CPU names, in increasing order. */
typedef enum mvke_cpu_level_t {
    MVKE_CPU_LEVEL_GENERIC = 0,
    MVKE_CPU_LEVEL_AVX2 = 1,
    MVKE_CPU_LEVEL_AVX512 = 2,
} mvke_cpu_level_t;

/* The MVKE_CPU_HAS_* bits the library may use: this machine's, capped by MVKE_CPU (uncapped
 * when MVKE_CPU is invalid; mvke_cpu_features_check reports that). Thread-safe; read once. */
unsigned mvke_cpu_features(void);

/* The bits of the machine itself, ignoring MVKE_CPU. */
unsigned mvke_cpu_features_raw(void);

/* The level of a set of feature bits, and its name ("generic", "avx2", "avx512"). */
mvke_cpu_level_t mvke_cpu_level_of(unsigned features);
const char *mvke_cpu_level_name(mvke_cpu_level_t level);

/* MVKE_OK, or MVKE_ERR_INVALID with a message naming the value when MVKE_CPU is set to an unknown
 * level or to one this CPU lacks. Every way into the library that makes an index, a tag table or
 * opens a file calls it, so a bad MVKE_CPU stops a program at its first step. */
mvke_status mvke_cpu_features_check(void);

#endif
