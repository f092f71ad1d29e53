/*
 * units.h - integrity on use: the bulk sections of a mapped index file (user ids, user blocks,
 * the id lookup) are cut into checksum units of a fixed size, each with its CRC-32C in the
 * file's checksum table. A unit is checked the first time a search or lookup reads any byte of
 * it; a per-unit flag (atomic, so concurrent readers may check the same unit at once, harmlessly)
 * makes every later read free. Nothing is read from a unit before its check passes.
 */
#ifndef MVKE_INDEX_UNITS_H
#define MVKE_INDEX_UNITS_H

#include <stddef.h>
#include <stdint.h>

#include "mvke/mvke.h"

#define MVKE_UNITS_MAX_SECTIONS 8

typedef struct mvke_units_section {
    uint32_t kind;
    uint64_t offset, size; /* in the file */
    uint64_t first;        /* index of its first unit in the table */
    int skip;              /* not checked (an open flag said so) */
} mvke_units_section;

typedef struct mvke_units {
    const unsigned char *base; /* the mapped file */
    char *path;                /* for messages (owned) */
    unsigned shift;            /* unit = 1 << shift bytes */
    uint64_t nunits;
    const unsigned char *crcs; /* nunits little-endian u32: in table, or (a mapped file) in the
                                  mapping */
    unsigned char *table;      /* a mapped file's checksum section copied at open (owned): a unit
                                  rewritten in place later fails its check against the CRC the
                                  file had when it was opened, so a file replaced in place (cp over
                                  it) never answers with another file's bytes */
    unsigned char *state;      /* per unit: 0 not yet checked, 1 good */
    int nsec;
    mvke_units_section sec[MVKE_UNITS_MAX_SECTIONS];
} mvke_units;

/* The number of units of a section of `size` bytes. */
static inline uint64_t mvke_units_count(uint64_t size, unsigned shift) {
    return (size + ((uint64_t)1 << shift) - 1) >> shift;
}

/* Checks every unit that overlaps the n bytes at p (inside one bulk section of the mapping) and
 * has not been checked yet. Returns MVKE_OK, or MVKE_ERR_CHECKSUM naming the file, the section
 * and the byte range of the failing unit. u may be NULL (nothing to check: memory we own). */
mvke_status mvke_units_check(const mvke_units *u, const void *p, size_t n);

/* Checks every unit of every section, whatever its flag, without marking any (verify). */
mvke_status mvke_units_check_all(const mvke_units *u);

/* Frees what mvke_units owns (path, state and table). */
void mvke_units_release(mvke_units *u);

#endif
