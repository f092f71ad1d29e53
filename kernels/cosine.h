/*
 * cosine.h - the epilogue of every scalar path (DESIGN section 2): the guarded normalise and
 * clamp that turn a pair's numerator <x, z> and den2 = <Gram(x), Gram(z)> into its score.
 *
 * The guard: a pair whose den2 is not above MVKE_DEN2_REL_FLOOR * trace(Gram z) * trace(Gram x)
 * (both traces over the experts the search reads) scores 0. Below it the float32 Gram identity
 * cannot tell the gated vector from rounding noise (it happens only when gates cancel experts
 * almost exactly). The scalar helpers below are the one epilogue of the portable kernels, the
 * exact re-scoring and the CUDA kernels (compiled for the device too); the SIMD kernels
 * (kernels/cpu/scan_avx2.c, scan_avx512.c) compute the same expression lane by lane, with
 * correctly rounded root and divide, so every path gives the same float32 score for the same
 * sums.
 */
#ifndef MVKE_KERNELS_COSINE_H
#define MVKE_KERNELS_COSINE_H

#include <math.h>

#ifdef __CUDACC__
#define MVKE_HOST_DEVICE __host__ __device__
#else
#define MVKE_HOST_DEVICE
#endif

/* Guard of the normaliser, relative to the product of the two traces. */
#define MVKE_DEN2_REL_FLOOR 1e-9f

/* The score of a pair, in float32: floor_tr is MVKE_DEN2_REL_FLOOR * trace(z) * trace(x). */
static inline MVKE_HOST_DEVICE float mvke_cosine(float num, float den2, float floor_tr) {
    const float v = den2 > floor_tr && den2 > 0.0f ? num / sqrtf(den2) : 0.0f;
    return v > 1.0f ? 1.0f : v < -1.0f ? -1.0f : v;
}

/* The same from sums taken in double (exact re-scoring, references), rounded once at the end. */
static inline float mvke_cosine_d(double num, double den2, double floor_tr) {
    if (!(den2 > floor_tr && den2 > 0.0)) return 0.0f;
    const double v = num / sqrt(den2);
    return (float)(v > 1.0 ? 1.0 : v < -1.0 ? -1.0 : v);
}

/* The score of a pair under either score (mvke_score): the dot score is the numerator itself. */
static inline MVKE_HOST_DEVICE float mvke_score_of(int dot, float num, float den2, float floor_tr) {
    return dot ? num : mvke_cosine(num, den2, floor_tr);
}

#endif
