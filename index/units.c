/*
 * units.c - first-touch checking of checksum units (units.h).
 */
#include "units.h"

#include "../kernels/runtime.h"
#include "crc32c.h"
#include "file_format.h"

static mvke_status check_unit(const mvke_units *u, const mvke_units_section *s, uint64_t k) {
    const uint64_t unit = (uint64_t)1 << u->shift;
    const uint64_t start = k << u->shift, len = s->size - start < unit ? s->size - start : unit;
    const uint32_t want = mvke_get_u32(u->crcs + 4 * (s->first + k));
    if (mvke_crc32c(0, u->base + s->offset + start, (size_t)len) != want)
        return mvke_error(MVKE_ERR_CHECKSUM,
                          "%s: bytes %llu-%llu (%s, checksum unit %llu): the checksum does not match (corrupted file, or "
                          "replaced in place while in use)",
                          u->path, (unsigned long long)(s->offset + start), (unsigned long long)(s->offset + start + len - 1),
                          mvke_file_section_name(s->kind), (unsigned long long)(s->first + k));
    return MVKE_OK;
}

mvke_status mvke_units_check(const mvke_units *u, const void *p, size_t n) {
    if (!u || n == 0) return MVKE_OK;
    const uint64_t off = (uint64_t)((uintptr_t)p - (uintptr_t)u->base); /* wraps for memory outside the mapping */
    for (int i = 0; i < u->nsec; i++) {
        const mvke_units_section *s = &u->sec[i];
        if (off < s->offset || off - s->offset >= s->size) continue;
        if (s->skip) return MVKE_OK;
        const uint64_t a = (off - s->offset) >> u->shift, b = (off - s->offset + n - 1) >> u->shift;
        for (uint64_t k = a; k <= b; k++) {
            unsigned char *flag = &u->state[s->first + k];
            if (__atomic_load_n(flag, __ATOMIC_ACQUIRE)) continue;
            mvke_status st = check_unit(u, s, k);
            if (st != MVKE_OK) return st;
            __atomic_store_n(flag, 1, __ATOMIC_RELEASE);
        }
        return MVKE_OK;
    }
    return MVKE_OK; /* not in a bulk section: memory the store owns */
}

mvke_status mvke_units_check_all(const mvke_units *u) {
    if (!u) return MVKE_OK;
    for (int i = 0; i < u->nsec; i++)
        for (uint64_t k = 0; k < mvke_units_count(u->sec[i].size, u->shift); k++) {
            mvke_status st = check_unit(u, &u->sec[i], k);
            if (st != MVKE_OK) return st;
        }
    return MVKE_OK;
}

void mvke_units_release(mvke_units *u) {
    if (!u) return;
    mvke_free(u->path);
    mvke_free(u->state);
    mvke_free(u->table);
    u->path = NULL;
    u->state = NULL;
    u->table = NULL;
}
