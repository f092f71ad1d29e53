/*
 * rows.c - mvke_index_read_rows: copies rows and ids by storage position, so that a batch job
 * can stream over every user of a large (mapped) index with bounded memory.
 */
#include <string.h>

#include "../kernels/layout.h"
#include "../kernels/runtime.h"
#include "index_impl.h"

mvke_status mvke_index_read_rows(const mvke_index *ix, int64_t first, int64_t n, int64_t *ids, float *x) {
    mvke_error_clear();
    if (!ix) return mvke_error(MVKE_ERR_INVALID, "index is NULL");
    mvke_index_rdlock(ix);
    const mvke_store *s = &ix->store;
    mvke_status st = MVKE_OK;
    if (first < 0 || n < 0 || first > s->count || n > s->count - first)
        st = mvke_error(MVKE_ERR_INVALID, "positions %lld..%lld are outside [0, %lld)", (long long)first,
                        (long long)(first + n - 1), (long long)s->count);
    const size_t D = (size_t)s->D;
    for (int64_t p = first; st == MVKE_OK && p < first + n;) {
        const mvke_store_block *b = &s->blocks[p / MVKE_BLOCK_ROWS];
        const int64_t r = p % MVKE_BLOCK_ROWS, m = (b->n - r < first + n - p) ? b->n - r : first + n - p;
        const size_t o = (size_t)(p - first);
        if ((st = mvke_store_check_block(s, p / MVKE_BLOCK_ROWS)) != MVKE_OK) break;
        if (ids) memcpy(ids + o, b->ids + r, (size_t)m * sizeof *ids);
        for (int64_t i = 0; x && i < m; i++) mvke_store_get(s, p + i, x + (o + (size_t)i) * D); /* exact rows of refine */
        p += m;
    }
    mvke_index_unlock(ix);
    return st;
}
