/*
 * half.h - IEEE 754 binary16 conversion for float16 row storage. F16C instructions are used when
 * the processor has them (checked once at run time); a portable scalar path is kept.
 */
#ifndef MVKE_KERNELS_HALF_H
#define MVKE_KERNELS_HALF_H

#include <stddef.h>
#include <stdint.h>

/* float32 -> float16, round to nearest even; values beyond the float16 range become +-Inf. */
void mvke_half_from_float(const float *src, uint16_t *dst, size_t n);

/* float16 -> float32 (exact). */
void mvke_half_to_float(const uint16_t *src, float *dst, size_t n);

/* Scalar versions, the reference for the vector paths. */
uint16_t mvke_half_from_float1(float f);
float mvke_half_to_float1(uint16_t h);

/* float32 <-> bfloat16 (the high 16 bits of a float32), round to nearest even; NaN stays NaN.
 * Widening is exact. */
uint16_t mvke_bf16_from_float1(float f);
float mvke_bf16_to_float1(uint16_t h);

#endif
