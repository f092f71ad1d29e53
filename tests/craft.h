/*
 * craft.h - test fixtures: crafting index files (format version 2) with valid checksums, to
 * prove that the library checks contents and not only bytes. Free of Criterion.
 */
#ifndef MVKE_TESTS_CRAFT_H
#define MVKE_TESTS_CRAFT_H

#include <stddef.h>
#include <stdint.h>

/* Reads a whole file into a new buffer (*n bytes); NULL on failure. */
unsigned char *craft_read(const char *path, size_t *n);
/* Writes n bytes to path; returns 0 or -1. */
int craft_write(const char *path, const unsigned char *b, size_t n);

/* The offset and size of the section of `kind` in a file's bytes; returns 0, or -1 if absent. */
int craft_section(const unsigned char *b, uint32_t kind, uint64_t *offset, uint64_t *size);

/* Recomputes every checksum of a version 2 file after its bytes were changed: the units of the
 * bulk sections into the checksum section, every small section's entry, the table and the
 * header. */
void craft_reseal(unsigned char *b, size_t n);

/* The same for a version 1 file, where every section's entry holds its checksum. */
void craft_reseal_v1(unsigned char *b);

/* Writes to `out` a sparse file that claims nusers users: the small sections of the version 2
 * file `small` (an index with no users), fences and a checksum section sized for nusers, and
 * holes where the per-user sections would be. Returns 0 or -1. */
int craft_sparse(const char *small, const char *out, uint64_t nusers);

#endif
