/*
 * rng.h - the one random generator of the programs and tests around the library: counter-based,
 * so that value i of a stream is a pure function of (key, i) and any range of rows can be made on
 * its own, in any order, on any number of threads, and come out the same.
 *
 * Value i of the stream `key` is the splitmix64 finaliser of key + (i + 1) * 0x9e3779b97f4a7c15,
 * which is also output i of the classic sequential splitmix64 seeded with `key`; a synth_rng is
 * only a position in such a stream, for code that draws one value after another.
 *
 * Where it lives: support/ (with the synthetic MVKE world, world.h, and the other helpers the
 * programs and tests share) is compiled once into a static archive that the `mvke` tool, the
 * benchmarks and the tests link. The library does not export it: synthetic data is not part of
 * the retrieval API.
 */
#ifndef MVKE_SUPPORT_RNG_H
#define MVKE_SUPPORT_RNG_H

#include <stdint.h>

/* The key of a stream: a seed and a stream number (one per purpose). */
uint64_t synth_key(uint64_t seed, uint64_t stream);

/* Value i of stream key: 64 random bits, a uniform double in (0, 1), a standard normal
 * (Box-Muller from uniforms 2i and 2i+1 of the stream). */
uint64_t synth_u64(uint64_t key, uint64_t i);
double synth_uniform(uint64_t key, uint64_t i);
double synth_normal(uint64_t key, uint64_t i);

/* out[j] = synth_normal(key, first + j) for j < n: a range of rows of normals. */
void synth_normals(uint64_t key, uint64_t first, int64_t n, float *out);

/* A position in a stream, for sequential draws: each call takes the next value. */
typedef struct synth_rng {
    uint64_t key, next;
} synth_rng;

/* The stream key from value `position` on. */
synth_rng synth_rng_at(uint64_t key, uint64_t position);
uint64_t synth_rng_u64(synth_rng *r);
double synth_rng_uniform(synth_rng *r);
/* Uniform in [0, n), n >= 1. */
int64_t synth_rng_below(synth_rng *r, int64_t n);
/* A standard normal from the next two values. */
double synth_rng_normal(synth_rng *r);

#endif
