/*
 * craft.c - crafted index files with recomputed checksums (craft.h).
 */
#include "craft.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "index/crc32c.h"
#include "index/file_format.h"
#include "index/idlookup.h"
#include "index/units.h"
#include "kernels/layout.h"

unsigned char *craft_read(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n ? *n : 1);
    if (b && fread(b, 1, *n, f) != *n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

int craft_write(const char *path, const unsigned char *b, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(b, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

int craft_section(const unsigned char *b, uint32_t kind, uint64_t *offset, uint64_t *size) {
    mvke_file_header h;
    mvke_file_decode_header(b, &h);
    for (uint32_t i = 0; i < h.nsections; i++) {
        mvke_file_entry e;
        mvke_file_decode_entry(b + MVKE_FILE_HEADER_SIZE + i * MVKE_FILE_ENTRY_SIZE, &e);
        if (e.kind == kind) {
            *offset = e.offset;
            *size = e.size;
            return 0;
        }
    }
    return -1;
}

/* Table, then header checksums. */
static void seal_head(unsigned char *b) {
    mvke_file_header h;
    mvke_file_decode_header(b, &h);
    h.table_crc = mvke_crc32c(0, b + MVKE_FILE_HEADER_SIZE, (size_t)h.nsections * MVKE_FILE_ENTRY_SIZE);
    mvke_file_encode_header(&h, b);
}

void craft_reseal(unsigned char *b, size_t n) {
    (void)n;
    mvke_file_header h;
    mvke_file_decode_header(b, &h);
    uint64_t coff, csize;
    if (craft_section(b, MVKE_SEC_CHECKSUMS, &coff, &csize) == 0) {
        /* The per-user sections in the table's order, in units of the shift the table's head
         * gives (files with refine rows use smaller units). */
        static const uint32_t bulk[] = {MVKE_SEC_USER_IDS, MVKE_SEC_USER_BLOCKS, MVKE_SEC_ID_LOOKUP,
                                        MVKE_SEC_REFINE_ROWS};
        uint64_t u = 0, off, size;
        const uint64_t unit = (uint64_t)1 << mvke_get_u32(b + coff);
        for (int i = 0; i < 4; i++) {
            if (craft_section(b, bulk[i], &off, &size)) continue;
            for (uint64_t s = 0; s < size; s += unit, u++)
                mvke_put_u32(b + coff + MVKE_FILE_CHECKSUMS_HEAD + 4 * u,
                             mvke_crc32c(0, b + off + s, (size_t)(size - s < unit ? size - s : unit)));
        }
    }
    for (uint32_t i = 0; i < h.nsections; i++) {
        unsigned char *ep = b + MVKE_FILE_HEADER_SIZE + i * MVKE_FILE_ENTRY_SIZE;
        mvke_file_entry e;
        mvke_file_decode_entry(ep, &e);
        e.crc = mvke_file_bulk(e.kind) ? 0 : mvke_crc32c(0, b + e.offset, (size_t)e.size);
        mvke_file_encode_entry(&e, ep);
    }
    seal_head(b);
}

void craft_reseal_v1(unsigned char *b) {
    mvke_file_header h;
    mvke_file_decode_header(b, &h);
    for (uint32_t i = 0; i < h.nsections; i++) {
        unsigned char *ep = b + MVKE_FILE_HEADER_SIZE + i * MVKE_FILE_ENTRY_SIZE;
        mvke_file_entry e;
        mvke_file_decode_entry(ep, &e);
        e.crc = mvke_crc32c(0, b + e.offset, (size_t)e.size);
        mvke_file_encode_entry(&e, ep);
    }
    seal_head(b);
}

int craft_sparse(const char *small, const char *out, uint64_t nusers) {
    size_t n;
    unsigned char *b = craft_read(small, &n);
    if (!b) return -1;
    mvke_file_header h;
    mvke_file_decode_header(b, &h);
    mvke_layout L;
    mvke_layout_init(&L, (int)h.K, (int)h.d, (mvke_storage)h.storage);
    const uint64_t rows = (uint64_t)1 << 16, nb = (nusers + rows - 1) / rows, last = nusers - (nb - 1) * rows;
    uint64_t sizes[MVKE_SEC_KINDS + 1] = {0};
    sizes[MVKE_SEC_USER_IDS] = nusers * 8;
    sizes[MVKE_SEC_USER_BLOCKS] = (nb - 1) * mvke_layout_block_bytes(&L, (int64_t)rows) +
                                  mvke_layout_block_bytes(&L, mvke_layout_round((int64_t)last));
    sizes[MVKE_SEC_ID_LOOKUP] = nusers * 16;
    sizes[MVKE_SEC_ID_FENCES] = (nusers + MVKE_IDLOOKUP_CHUNK - 1) / MVKE_IDLOOKUP_CHUNK * 8;
    const uint64_t nunits = mvke_units_count(sizes[MVKE_SEC_USER_IDS], MVKE_FILE_UNIT_SHIFT) +
                            mvke_units_count(sizes[MVKE_SEC_USER_BLOCKS], MVKE_FILE_UNIT_SHIFT) +
                            mvke_units_count(sizes[MVKE_SEC_ID_LOOKUP], MVKE_FILE_UNIT_SHIFT);
    sizes[MVKE_SEC_CHECKSUMS] = MVKE_FILE_CHECKSUMS_HEAD + 4 * nunits;
    FILE *f = fopen(out, "wb");
    if (!f) {
        free(b);
        return -1;
    }
    /* New offsets in table order; small sections keep their bytes, new ones are zeros (ids and
     * blocks are holes), the checksum section gets its head. */
    uint64_t off = (MVKE_FILE_HEADER_SIZE + (uint64_t)h.nsections * MVKE_FILE_ENTRY_SIZE + 63) / 64 * 64;
    unsigned char head[4096] = {0};
    memcpy(head, b, MVKE_FILE_HEADER_SIZE);
    int rc = 0;
    for (uint32_t i = 0; i < h.nsections; i++) {
        mvke_file_entry e;
        mvke_file_decode_entry(b + MVKE_FILE_HEADER_SIZE + i * MVKE_FILE_ENTRY_SIZE, &e);
        const uint64_t old_off = e.offset;
        if (sizes[e.kind] || e.kind == MVKE_SEC_USER_IDS) e.size = sizes[e.kind];
        e.offset = off;
        /* Bulk sections stay holes: nothing is allocated for them. */
        const int bulk = mvke_file_bulk(e.kind);
        unsigned char *data = bulk ? NULL : calloc(1, e.size ? e.size : 1);
        if (!bulk && !data) rc = -1;
        if (data && !sizes[e.kind]) memcpy(data, b + old_off, e.size);
        if (data && e.kind == MVKE_SEC_CHECKSUMS) {
            mvke_put_u32(data, MVKE_FILE_UNIT_SHIFT);
            mvke_put_u64(data + 8, nunits);
        }
        e.crc = bulk || !data ? 0 : mvke_crc32c(0, data, (size_t)e.size);
        if (data && e.size) {
            if (fseeko(f, (off_t)off, SEEK_SET) || fwrite(data, 1, e.size, f) != e.size) rc = -1;
        }
        free(data);
        mvke_file_encode_entry(&e, head + MVKE_FILE_HEADER_SIZE + i * MVKE_FILE_ENTRY_SIZE);
        off = (off + e.size + 63) / 64 * 64;
        if (i == h.nsections - 1) off = e.offset + e.size;
    }
    h.nusers = nusers;
    h.file_size = off;
    h.table_crc = mvke_crc32c(0, head + MVKE_FILE_HEADER_SIZE, (size_t)h.nsections * MVKE_FILE_ENTRY_SIZE);
    mvke_file_encode_header(&h, head);
    if (fseeko(f, 0, SEEK_SET) || fwrite(head, 1, MVKE_FILE_HEADER_SIZE + h.nsections * MVKE_FILE_ENTRY_SIZE, f) == 0) rc = -1;
    if (fclose(f)) rc = -1;
    if (rc == 0 && truncate(out, (off_t)off) != 0) rc = -1;
    free(b);
    return rc;
}
