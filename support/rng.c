/*
 * rng.c - the counter-based generator of rng.h.
 */
#include "rng.h"

#include <math.h>

#define GOLDEN 0x9e3779b97f4a7c15ull

static uint64_t finalise(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double unit(uint64_t bits) { return ((double)(bits >> 11) + 0.5) * (1.0 / 9007199254740992.0); }

/* Box-Muller, the first uniform for the radius and the second for the angle. */
static double box_muller(double u1, double u2) { return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2); }

uint64_t synth_key(uint64_t seed, uint64_t stream) { return seed ^ (stream * 0xd1b54a32d192ed03ull); }

uint64_t synth_u64(uint64_t key, uint64_t i) { return finalise(key + (i + 1) * GOLDEN); }

double synth_uniform(uint64_t key, uint64_t i) { return unit(synth_u64(key, i)); }

double synth_normal(uint64_t key, uint64_t i) {
    return box_muller(synth_uniform(key, 2 * i), synth_uniform(key, 2 * i + 1));
}

void synth_normals(uint64_t key, uint64_t first, int64_t n, float *out) {
    for (int64_t j = 0; j < n; j++) out[j] = (float)synth_normal(key, first + (uint64_t)j);
}

synth_rng synth_rng_at(uint64_t key, uint64_t position) { return (synth_rng){key, position}; }

uint64_t synth_rng_u64(synth_rng *r) { return synth_u64(r->key, r->next++); }

double synth_rng_uniform(synth_rng *r) { return unit(synth_rng_u64(r)); }

int64_t synth_rng_below(synth_rng *r, int64_t n) { return (int64_t)(synth_rng_uniform(r) * (double)n) % n; }

double synth_rng_normal(synth_rng *r) {
    double u1 = synth_rng_uniform(r);
    double u2 = synth_rng_uniform(r);
    return box_muller(u1, u2);
}
