/*
 * part.c - a rank's slice of an index: mvke_index_part cuts the storage positions into
 * contiguous parts, and mvke_index_view makes an index of a block-aligned run of positions whose
 * blocks view the parent's memory (nothing copied but the id lookup of its own rows). A view's
 * blocks are checked when it is made (the parent's first-use checks of mapped bytes), so that the
 * view itself, an in-memory store to the rest of index/, needs none.
 */
#include <string.h>

#include "../kernels/runtime.h"
#include "index_impl.h"

_Static_assert(MVKE_INDEX_BLOCK_ROWS == MVKE_BLOCK_ROWS, "the public block size is the store's");

mvke_status mvke_index_part(const mvke_index *ix, int64_t grain, int part, int nparts, int64_t *first, int64_t *n) {
    mvke_error_clear();
    if (!ix || !first || !n) return mvke_error(MVKE_ERR_INVALID, "mvke_index_part: NULL argument");
    if (nparts < 1) return mvke_error(MVKE_ERR_INVALID, "nparts = %d must be >= 1", nparts);
    if (part < 0 || part >= nparts) return mvke_error(MVKE_ERR_INVALID, "part %d is outside [0, %d)", part, nparts);
    if (grain < 0) return mvke_error(MVKE_ERR_INVALID, "grain = %lld is negative", (long long)grain);
    if (grain == 0) grain = MVKE_BLOCK_ROWS;
    int64_t count;
    mvke_index_count(ix, &count);
    const int64_t units = count / grain + (count % grain != 0);
    /* units * part < 2^63 for any index that fits in memory (units <= 2^47, part < 2^31). */
    const int64_t u0 = units * part / nparts, u1 = units * (part + 1) / nparts;
    const int64_t p0 = u0 * grain, p1 = u1 * grain < count ? u1 * grain : count;
    *first = p0 < count ? p0 : count;
    *n = p1 > *first ? p1 - *first : 0;
    return MVKE_OK;
}

mvke_status mvke_index_view(const mvke_index *parent, int64_t first, int64_t n, mvke_index **out) {
    mvke_error_clear();
    if (!out) return mvke_error(MVKE_ERR_INVALID, "mvke_index_view: out is NULL");
    *out = NULL;
    if (!parent) return mvke_error(MVKE_ERR_INVALID, "mvke_index_view: parent is NULL");
    mvke_index_rdlock(parent);
    const mvke_store *ps = &parent->store;
    mvke_status st = MVKE_OK;
    if (first < 0 || n < 0 || first > ps->count || n > ps->count - first)
        st = mvke_error(MVKE_ERR_INVALID, "positions %lld..%lld are outside [0, %lld)", (long long)first,
                        (long long)(first + n - 1), (long long)ps->count);
    else if ((first % MVKE_BLOCK_ROWS != 0 && first != ps->count) || (first + n != ps->count && n % MVKE_BLOCK_ROWS != 0))
        st = mvke_error(MVKE_ERR_INVALID, "positions %lld..%lld do not start and end on a block of %lld rows "
                        "(or at the end of the index)", (long long)first, (long long)(first + n - 1),
                        (long long)MVKE_BLOCK_ROWS);
    mvke_index *v = NULL;
    if (st == MVKE_OK) st = mvke_index_new_like_unlocked(&v, parent); /* a codec's training too */
    const int64_t b0 = first / MVKE_BLOCK_ROWS, nb = (n + MVKE_BLOCK_ROWS - 1) / MVKE_BLOCK_ROWS;
    mvke_store *s = v ? &v->store : NULL;
    /* The view reads the parent's mapped bytes without checks of its own: check its blocks now
     * (the first use of its share of the file). */
    for (int64_t b = 0; st == MVKE_OK && b < nb; b++) st = mvke_store_check_block(ps, b0 + b);
    if (st == MVKE_OK && nb > 0) {
        s->blocks = mvke_calloc((size_t)nb, sizeof *s->blocks);
        /* Blocks are checked here, but a codec's refine rows only as candidates use them: the
         * view keeps the parent's checks for those (every block marked checked). */
        if (ps->units && (s->checked = mvke_calloc((size_t)nb, 1)) != NULL) {
            memset(s->checked, 1, (size_t)nb);
            s->units = ps->units;
        }
        if (!s->blocks || (ps->units && !s->checked) || mvke_idmap_reserve(&s->map, n) != 0)
            st = mvke_error(MVKE_ERR_NOMEM, "out of memory viewing %lld rows", (long long)n);
    }
    if (st == MVKE_OK) {
        s->experts = ps->experts;
        for (int64_t b = 0; b < nb; b++) {
            s->blocks[b] = ps->blocks[b0 + b];
            s->blocks[b].owned = 0; /* copied on the first change, like a mapped file's blocks */
            for (int64_t r = 0; r < s->blocks[b].n; r++) mvke_idmap_put(&s->map, s->blocks[b].ids[r], b * MVKE_BLOCK_ROWS + r);
        }
        s->nblocks = s->cap_blocks = nb;
        s->count = n;
        /* The parent's lists cut to the view, so that a rank reads the same lists as one
         * process would: exact and probed answers merge to one process's. */
        st = mvke_lists_slice(&parent->lists, ps->K, ps->d, first, n, &v->lists);
        v->nprobe = parent->nprobe;
    }
    mvke_index_unlock(parent);
    if (st != MVKE_OK) {
        mvke_index_free(v);
        return st;
    }
    *out = v;
    return MVKE_OK;
}
