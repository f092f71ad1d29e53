/*
 * idlookup.c - searching, building and verifying the sorted id lookup section (idlookup.h).
 */
#include "idlookup.h"

#include <string.h>

#include "../kernels/runtime.h"

mvke_status mvke_idlookup_find(const mvke_idlookup *l, const mvke_units *units, int64_t id, int64_t *pos) {
    *pos = -1;
    if (l->n == 0 || id < 0 || l->nfences < 1 || id < l->fences[0]) return MVKE_OK;
    /* The last chunk whose first id is <= id. */
    int64_t lo = 0, hi = l->nfences - 1;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo + 1) / 2;
        if (l->fences[mid] <= id) lo = mid;
        else hi = mid - 1;
    }
    const int64_t first = lo * MVKE_IDLOOKUP_CHUNK;
    if (first >= l->n) return MVKE_OK; /* fences disagree with the size: only verify reports it */
    const int64_t m = l->n - first < MVKE_IDLOOKUP_CHUNK ? l->n - first : MVKE_IDLOOKUP_CHUNK;
    const int64_t *c = l->pairs + 2 * first;
    mvke_status st = mvke_units_check(units, c, (size_t)m * 16);
    if (st != MVKE_OK) return st;
    /* The first pair with id >= the one sought, in [a, b). Ids of real users are spread evenly
     * enough that a few interpolation steps land next to it (each a cache miss fewer than the
     * binary steps they replace); binary search finishes, so odd distributions cost at most
     * the probes spent. */
    int64_t a = 0, b = m;
    for (int probe = 0; probe < 3 && b - a > 32; probe++) {
        const int64_t lo = c[2 * a], hi = c[2 * (b - 1)];
        if (id <= lo) {
            b = a;
            break;
        }
        if (id > hi) {
            a = b;
            break;
        }
        /* lo < id <= hi: a guess strictly inside (a, b - 1]. */
        int64_t g = a + (int64_t)((double)(id - lo) / (double)(hi - lo) * (double)(b - 1 - a));
        if (g <= a) g = a + 1;
        if (g > b - 1) g = b - 1;
        if (c[2 * g] < id) a = g + 1;
        else b = g; /* c[2g] >= id: the answer is at or before g */
        /* Look a little to the side the guess was off by, to shrink the range fast. */
        if (c[2 * g] < id && a + 8 < b && c[2 * (a + 8)] >= id) b = a + 9;
        else if (c[2 * g] >= id && g - 8 > a && c[2 * (g - 8)] < id) a = g - 7;
    }
    while (a < b) {
        int64_t mid = a + (b - a) / 2;
        if (c[2 * mid] < id) a = mid + 1;
        else b = mid;
    }
    if (a < m && c[2 * a] == id) *pos = c[2 * a + 1];
    return MVKE_OK;
}

mvke_status mvke_idlookup_sort(int64_t n, int64_t *pairs, int64_t *tmp) {
    /* LSD radix sort on the id, 11 bits a pass, skipping passes whose digit never varies. */
    enum { BITS = 11, R = 1 << BITS };
    static const int passes = (63 + BITS - 1) / BITS;
    int64_t *src = pairs, *dst = tmp;
    uint64_t all_or = 0, all_and = ~(uint64_t)0;
    for (int64_t i = 0; i < n; i++) {
        all_or |= (uint64_t)pairs[2 * i];
        all_and &= (uint64_t)pairs[2 * i];
    }
    for (int pass = 0; pass < passes; pass++) {
        const int sh = pass * BITS;
        if ((((all_or ^ all_and) >> sh) & (R - 1)) == 0) continue;
        int64_t count[R];
        memset(count, 0, sizeof count);
        for (int64_t i = 0; i < n; i++) count[((uint64_t)src[2 * i] >> sh) & (R - 1)]++;
        int64_t at = 0;
        for (int r = 0; r < R; r++) {
            int64_t c = count[r];
            count[r] = at;
            at += c;
        }
        for (int64_t i = 0; i < n; i++) {
            int64_t k = count[((uint64_t)src[2 * i] >> sh) & (R - 1)]++;
            dst[2 * k] = src[2 * i];
            dst[2 * k + 1] = src[2 * i + 1];
        }
        int64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != pairs) memcpy(pairs, src, (size_t)n * 16);
    for (int64_t i = 1; i < n; i++)
        if (pairs[2 * i] == pairs[2 * i - 2])
            return mvke_error(MVKE_ERR_DUPLICATE, "positions %lld and %lld: id %lld appears twice",
                              (long long)pairs[2 * i - 1], (long long)pairs[2 * i + 1], (long long)pairs[2 * i]);
    return MVKE_OK;
}

mvke_status mvke_idlookup_verify(const mvke_idlookup *l, const int64_t *ids, uint64_t *seen, const char *path) {
    const int64_t n = l->n;
    for (int64_t i = 0; i < n; i++) {
        const int64_t id = l->pairs[2 * i], p = l->pairs[2 * i + 1];
        if (id < 0)
            return mvke_error(MVKE_ERR_FORMAT, "%s: id lookup entry %lld: id %lld is negative", path, (long long)i, (long long)id);
        if (i > 0 && id <= l->pairs[2 * i - 2])
            return mvke_error(MVKE_ERR_FORMAT, "%s: id lookup entry %lld: id %lld after %lld (not sorted ascending, or repeated)",
                              path, (long long)i, (long long)id, (long long)l->pairs[2 * i - 2]);
        if (p < 0 || p >= n)
            return mvke_error(MVKE_ERR_FORMAT, "%s: id lookup entry %lld: position %lld is outside [0, %lld)", path,
                              (long long)i, (long long)p, (long long)n);
        if (seen[p / 64] >> (p % 64) & 1)
            return mvke_error(MVKE_ERR_FORMAT, "%s: id lookup entry %lld: position %lld appears twice (not a permutation)",
                              path, (long long)i, (long long)p);
        seen[p / 64] |= (uint64_t)1 << (p % 64);
        if (ids[p] != id)
            return mvke_error(MVKE_ERR_FORMAT, "%s: id lookup entry %lld: id %lld at position %lld, but the user ids say %lld",
                              path, (long long)i, (long long)id, (long long)p, (long long)ids[p]);
    }
    const int64_t want = (n + MVKE_IDLOOKUP_CHUNK - 1) / MVKE_IDLOOKUP_CHUNK;
    if (l->nfences != want)
        return mvke_error(MVKE_ERR_FORMAT, "%s: %lld id fences for %lld users (expected %lld)", path, (long long)l->nfences,
                          (long long)n, (long long)want);
    for (int64_t c = 0; c < want; c++)
        if (l->fences[c] != l->pairs[2 * c * MVKE_IDLOOKUP_CHUNK])
            return mvke_error(MVKE_ERR_FORMAT, "%s: id fence %lld is %lld but its chunk starts at id %lld", path, (long long)c,
                              (long long)l->fences[c], (long long)l->pairs[2 * c * MVKE_IDLOOKUP_CHUNK]);
    return MVKE_OK;
}
