/*
 * allow.c - allow-lists (sorted ids, a bitmap over ids, or a membership callback) that restrict
 * searches.
 */
#include <string.h>

#include "../kernels/runtime.h"
#include "allow_impl.h"

mvke_status mvke_allow_new_sorted(mvke_allow **out, const int64_t *ids, int64_t n) {
    mvke_error_clear();
    if (!out) return mvke_error(MVKE_ERR_INVALID, "out is NULL");
    *out = NULL;
    if (n < 0 || (n > 0 && !ids)) return mvke_error(MVKE_ERR_INVALID, "bad allow-list of %lld ids", (long long)n);
    for (int64_t i = 1; i < n; i++)
        if (ids[i] <= ids[i - 1])
            return mvke_error(MVKE_ERR_INVALID,
                              "allow-list position %lld: id %lld does not increase on %lld (ids must be sorted and distinct)",
                              (long long)i, (long long)ids[i], (long long)ids[i - 1]);
    mvke_allow *a = mvke_calloc(1, sizeof *a);
    int64_t *copy = mvke_malloc_array((size_t)(n ? n : 1), sizeof *copy);
    if (!a || !copy) {
        mvke_free(a);
        mvke_free(copy);
        return mvke_error(MVKE_ERR_NOMEM, "out of memory copying %lld allowed ids", (long long)n);
    }
    if (n) memcpy(copy, ids, (size_t)n * sizeof *copy);
    a->filter.sorted = copy;
    a->filter.nsorted = n;
    *out = a;
    return MVKE_OK;
}

mvke_status mvke_allow_new_bitmap(mvke_allow **out, const uint8_t *bits, int64_t nbits) {
    mvke_error_clear();
    if (!out) return mvke_error(MVKE_ERR_INVALID, "out is NULL");
    *out = NULL;
    if (nbits < 0 || (nbits > 0 && !bits)) return mvke_error(MVKE_ERR_INVALID, "bad bitmap of %lld bits", (long long)nbits);
    size_t bytes = (size_t)(nbits / 8 + 1);
    mvke_allow *a = mvke_calloc(1, sizeof *a);
    uint8_t *copy = mvke_calloc(bytes, 1);
    if (!a || !copy) {
        mvke_free(a);
        mvke_free(copy);
        return mvke_error(MVKE_ERR_NOMEM, "out of memory copying a bitmap of %lld bits", (long long)nbits);
    }
    if (nbits) memcpy(copy, bits, (size_t)((nbits + 7) / 8));
    a->filter.bits = copy;
    a->filter.nbits = nbits;
    *out = a;
    return MVKE_OK;
}

mvke_status mvke_allow_new_callback(mvke_allow **out, int (*member)(void *ctx, int64_t id), void *ctx) {
    mvke_error_clear();
    if (!out) return mvke_error(MVKE_ERR_INVALID, "out is NULL");
    *out = NULL;
    if (!member) return mvke_error(MVKE_ERR_INVALID, "the membership function is NULL");
    mvke_allow *a = mvke_calloc(1, sizeof *a);
    if (!a) return mvke_error(MVKE_ERR_NOMEM, "out of memory for an allow-list");
    a->filter.member = member;
    a->filter.member_ctx = ctx;
    *out = a;
    return MVKE_OK;
}

mvke_status mvke_allow_contains(const mvke_allow *a, int64_t id, int *yes) {
    if (!a || !yes) return mvke_error(MVKE_ERR_INVALID, "allow-list or yes is NULL");
    *yes = mvke_kfilter_pass(&a->filter, id);
    return MVKE_OK;
}

void mvke_allow_free(mvke_allow *a) {
    if (!a) return;
    mvke_free((void *)a->filter.sorted);
    mvke_free((void *)a->filter.bits);
    mvke_free(a);
}
