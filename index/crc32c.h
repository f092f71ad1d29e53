/*
 * crc32c.h - CRC-32C (Castagnoli), the checksum of every section of an index file. The SSE4.2
 * crc32 instruction is used when the processor has it (checked once at run time); a portable
 * table-driven path is kept as the reference.
 */
#ifndef MVKE_INDEX_CRC32C_H
#define MVKE_INDEX_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends crc (0 to start) with n bytes of data; crc32c(crc32c(0, a), b) = crc32c(0, a || b). */
uint32_t mvke_crc32c(uint32_t crc, const void *data, size_t n);

/* The portable path alone (the reference for the hardware path in tests). */
uint32_t mvke_crc32c_portable(uint32_t crc, const void *data, size_t n);

#endif
