/*
 * blocks.c - test fixtures: rows laid out in backend blocks (see blocks.h).
 */
#include "blocks.h"

#include <stdlib.h>

#include "kernels/half.h"

void ref_round(mvke_storage storage, float *v, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        if (storage == MVKE_STORAGE_F16) v[i] = mvke_half_to_float1(mvke_half_from_float1(v[i]));
        else if (storage == MVKE_STORAGE_BF16) v[i] = mvke_bf16_to_float1(mvke_bf16_from_float1(v[i]));
    }
}

void ref_blocks_make(const mvke_layout *L, int nblocks, const int64_t *sizes, const float *x,
                     const float *gram, const int64_t *ids, mvke_kblock *blocks) {
    const int64_t D = (int64_t)L->K * L->d;
    int64_t at = 0;
    for (int b = 0; b < nblocks; b++) {
        const int64_t n = sizes[b], cap = mvke_layout_round(n > 0 ? n : 1);
        void *data = calloc(1, mvke_layout_block_bytes(L, cap));
        for (int64_t r = 0; r < n; r++) mvke_layout_put(L, data, cap, r, x + (at + r) * D, gram + (at + r) * L->P);
        blocks[b] = (mvke_kblock){.n = n, .cap = cap, .data = data, .ids = ids + at};
        at += n;
    }
}

void ref_blocks_free(int nblocks, mvke_kblock *blocks) {
    for (int b = 0; b < nblocks; b++) free((void *)blocks[b].data);
}
