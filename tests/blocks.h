/*
 * blocks.h - test fixtures: row-major rows laid out in backend blocks the way the row store
 * lays them out (kernels/layout.h), for tests that call backends directly. Free of Criterion,
 * so the plain-C GPU check links it too.
 */
#ifndef MVKE_TESTS_BLOCKS_H
#define MVKE_TESTS_BLOCKS_H

#include <stdint.h>

#include "kernels/backend.h"

/* Rounds n values to what the storage keeps (float16 or bfloat16 round to nearest even; float32
 * unchanged), in place. */
void ref_round(mvke_storage storage, float *v, int64_t n);

/* nblocks blocks of sizes[b] rows each, taking rows, Gram triangles (L->P each) and ids in order
 * from x, gram and ids; x must already be rounded to L's storage. Each block gets its own buffer
 * of the tight capacity (free with ref_blocks_free). */
void ref_blocks_make(const mvke_layout *L, int nblocks, const int64_t *sizes, const float *x,
                     const float *gram, const int64_t *ids, mvke_kblock *blocks);
void ref_blocks_free(int nblocks, mvke_kblock *blocks);

#endif
