/*
 * file_format.h - the layout of an index file (docs/file-format.md), shared by the writer and
 * the reader. Everything is little-endian; integers are read and written byte by byte so that
 * no unaligned or host-order access happens on file bytes.
 *
 *   offset 0    header (64 bytes, CRC-32C over its first 60 bytes)
 *   offset 64   section table: nsections entries of 32 bytes (CRC-32C in the header)
 *   then        sections, each at a multiple of 64, in table order, gaps filled with zeros
 *
 * Small sections carry their CRC-32C in their table entry and are checked at open. Bulk sections
 * (the per-user ones) are cut into checksum units whose CRC-32C values form the checksum section;
 * a unit is checked when first read (units.h). Every byte of the file is covered by a checksum or
 * required to be zero, so any flipped bit is found by a full check.
 */
#ifndef MVKE_INDEX_FILE_FORMAT_H
#define MVKE_INDEX_FILE_FORMAT_H

#include <stdint.h>
#include <string.h>

#include "mvke/mvke.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "index files map float arrays in place: a little-endian host is required"
#endif

#define MVKE_FILE_MAGIC "\x89MVKEIX\n" /* 8 bytes: the high byte and newline catch text-mode copies */
#define MVKE_FILE_VERSION 2u    /* what this library writes; it reads 1 and 2 */
#define MVKE_FILE_VERSION_1 1u
#define MVKE_FILE_HEADER_SIZE 64u
#define MVKE_FILE_ENTRY_SIZE 32u
#define MVKE_FILE_ALIGN 64u
#define MVKE_FILE_MAX_SECTIONS 32u /* version 1 files have at most 16 */
#define MVKE_FILE_V1_MAX_SECTIONS 16u
#define MVKE_FILE_OPTIONS_SIZE 64u
#define MVKE_FILE_TASK_SIZE 336u /* name[256], experts[64], nexperts u32, reserved u32, ntags u64 */
#define MVKE_FILE_TAG_SIZE 32u   /* id i64, parent i64, name offset u64, name length u32, reserved u32 */
#define MVKE_FILE_NAME_MAX 255u

#define MVKE_FILE_UNIT_SHIFT 20u     /* checksum units of 1 MiB */
#define MVKE_FILE_UNIT_SHIFT_REFINE 16u /* 64 KiB in files with refine rows: a candidate's first use
                                           checks its row's unit, not a MiB */
#define MVKE_FILE_CODEC_HEAD 64u     /* u32 storage, u32 m, u32 refine, u32 reserved, u64 train rows, zeros */
#define MVKE_FILE_CHECKSUMS_HEAD 64u /* u32 unit shift, u32 reserved, u64 units, zeros */
#define MVKE_FILE_LISTS_HEAD 64u     /* u32 nlists, u32 reserved, zeros */

/* Bytes of the LISTS section of n lists for K experts of d. */
static inline uint64_t mvke_file_lists_bytes(uint64_t n, uint64_t K, uint64_t d) {
    return MVKE_FILE_LISTS_HEAD + 8 * (n + 1) + 4 * n * K * d + 4 * n * K;
}

/* Section kinds; each appears at most once. Version 1: 1-10, all but VK required. Version 2:
 * 1-8 and 11-14, all but VK required; CODEC (15) in every file of a codec storage (sq8, pq),
 * REFINE_ROWS (17) in those kept with refine, LISTS (18) in those of a listed index; 16 and
 * 19-22 are reserved for what later minor
 * additions store (docs/file-format.md) and refused by this library with a message saying so. */
enum {
    MVKE_SEC_OPTIONS = 1,   /* tag storage u32, temperature f32, has_vk u32, ntasks u32, ntags u64 */
    MVKE_SEC_TASKS = 2,     /* ntasks task records */
    MVKE_SEC_TAGS = 3,      /* ntags tag records, task by task in declaration order */
    MVKE_SEC_TAG_NAMES = 4, /* the tag names' bytes */
    MVKE_SEC_TAG_Q = 5,     /* ntags * d float32 */
    MVKE_SEC_TAG_W = 6,     /* ntags * K float32 */
    MVKE_SEC_VK = 7,        /* K * d float32, only when has_vk */
    MVKE_SEC_USER_IDS = 8,  /* nusers int64 */
    MVKE_SEC_USER_ROWS = 9, /* nusers * K * d float32 or float16 (header's storage) */
    MVKE_SEC_USER_GRAM = 10, /* version 1: nusers * K(K+1)/2 float32 */
    MVKE_SEC_USER_BLOCKS = 11, /* version 2: the storage blocks in the layout of kernels/layout.h (bulk) */
    MVKE_SEC_CHECKSUMS = 12,   /* version 2: the checksum units' CRC-32C values */
    MVKE_SEC_ID_LOOKUP = 13,   /* version 2: nusers (id, position) int64 pairs, ids ascending (bulk) */
    MVKE_SEC_ID_FENCES = 14,   /* version 2: the first id of every 65536 lookup pairs */
    MVKE_SEC_CODEC = 15,       /* codecs: the head, then sq8 vmin and scale (K*d float32 each) or pq
                                  centroids (K * 256 * d float32), then the bounds' units (K float32) */
    MVKE_SEC_REFINE_ROWS = 17, /* codecs with refine: nusers * K * d float32, row-major in storage
                                  order, for exact re-scoring (bulk) */
    MVKE_SEC_LISTS = 18,       /* k-means lists (index/lists.h): the head, nlists + 1 u64 offsets,
                                  nlists * K*d float32 centroids, nlists * K float32 radii */
    /* Reserved, not written by this version: */
    MVKE_SEC_CODES = 16,       /* per-block codes and Gram triangles of a coded index (bulk) */
    MVKE_SEC_CENTROIDS = 19,   /* (reserved) */
    MVKE_SEC_RADII = 20,       /* (reserved) */
    MVKE_SEC_TASK_LAYOUT = 21, /* task-subset layout of the blocks */
    MVKE_SEC_RESERVED_LAST = 22
};
#define MVKE_SEC_KINDS 22

/* Whether a section kind is checked by units (bulk) rather than by its table entry's CRC. */
static inline int mvke_file_bulk(uint32_t kind) {
    return kind == MVKE_SEC_USER_IDS || kind == MVKE_SEC_USER_BLOCKS || kind == MVKE_SEC_ID_LOOKUP ||
           kind == MVKE_SEC_CODES || kind == MVKE_SEC_REFINE_ROWS;
}

typedef struct mvke_file_header {
    uint32_t version;
    uint64_t file_size;
    uint64_t table_offset;
    uint32_t nsections;
    uint32_t K, d, storage;
    uint64_t nusers;
    uint32_t table_crc, header_crc;
} mvke_file_header;

typedef struct mvke_file_entry {
    uint32_t kind, flags;
    uint64_t offset, size;
    uint32_t crc, reserved;
} mvke_file_entry;

static inline void mvke_put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline void mvke_put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint32_t mvke_get_u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t mvke_get_u64(const unsigned char *p) {
    return (uint64_t)mvke_get_u32(p) | (uint64_t)mvke_get_u32(p + 4) << 32;
}

/* Header and table entries to and from their bytes. encode_header fills in header_crc. */
void mvke_file_encode_header(const mvke_file_header *h, unsigned char out[MVKE_FILE_HEADER_SIZE]);
void mvke_file_decode_header(const unsigned char in[MVKE_FILE_HEADER_SIZE], mvke_file_header *h);
void mvke_file_encode_entry(const mvke_file_entry *e, unsigned char out[MVKE_FILE_ENTRY_SIZE]);
void mvke_file_decode_entry(const unsigned char in[MVKE_FILE_ENTRY_SIZE], mvke_file_entry *e);

/* Bytes of the CODEC section of a codec storage of K experts of d. */
static inline uint64_t mvke_file_codec_bytes(uint32_t storage, uint64_t K, uint64_t d) {
    return MVKE_FILE_CODEC_HEAD + (storage == MVKE_STORAGE_SQ8 ? 8 * K * d : 4 * 256 * K * d) + 4 * K;
}

/* A short name of a section kind, for messages ("user rows"). */
const char *mvke_file_section_name(uint32_t kind);

#endif
