/*
 * file_format.c - byte encodings of the index file's header and section table.
 */
#include "file_format.h"

#include "crc32c.h"

void mvke_file_encode_header(const mvke_file_header *h, unsigned char out[MVKE_FILE_HEADER_SIZE]) {
    memset(out, 0, MVKE_FILE_HEADER_SIZE);
    memcpy(out, MVKE_FILE_MAGIC, 8);
    mvke_put_u32(out + 8, h->version);
    mvke_put_u32(out + 12, MVKE_FILE_HEADER_SIZE);
    mvke_put_u64(out + 16, h->file_size);
    mvke_put_u64(out + 24, h->table_offset);
    mvke_put_u32(out + 32, h->nsections);
    mvke_put_u32(out + 36, h->K);
    mvke_put_u32(out + 40, h->d);
    mvke_put_u32(out + 44, h->storage);
    mvke_put_u64(out + 48, h->nusers);
    mvke_put_u32(out + 56, h->table_crc);
    mvke_put_u32(out + 60, mvke_crc32c(0, out, 60));
}

void mvke_file_decode_header(const unsigned char in[MVKE_FILE_HEADER_SIZE], mvke_file_header *h) {
    h->version = mvke_get_u32(in + 8);
    h->file_size = mvke_get_u64(in + 16);
    h->table_offset = mvke_get_u64(in + 24);
    h->nsections = mvke_get_u32(in + 32);
    h->K = mvke_get_u32(in + 36);
    h->d = mvke_get_u32(in + 40);
    h->storage = mvke_get_u32(in + 44);
    h->nusers = mvke_get_u64(in + 48);
    h->table_crc = mvke_get_u32(in + 56);
    h->header_crc = mvke_get_u32(in + 60);
}

void mvke_file_encode_entry(const mvke_file_entry *e, unsigned char out[MVKE_FILE_ENTRY_SIZE]) {
    mvke_put_u32(out, e->kind);
    mvke_put_u32(out + 4, e->flags);
    mvke_put_u64(out + 8, e->offset);
    mvke_put_u64(out + 16, e->size);
    mvke_put_u32(out + 24, e->crc);
    mvke_put_u32(out + 28, e->reserved);
}

void mvke_file_decode_entry(const unsigned char in[MVKE_FILE_ENTRY_SIZE], mvke_file_entry *e) {
    e->kind = mvke_get_u32(in);
    e->flags = mvke_get_u32(in + 4);
    e->offset = mvke_get_u64(in + 8);
    e->size = mvke_get_u64(in + 16);
    e->crc = mvke_get_u32(in + 24);
    e->reserved = mvke_get_u32(in + 28);
}

const char *mvke_file_section_name(uint32_t kind) {
    static const char *names[] = {"?", "options", "tasks", "tags", "tag names", "tag embeddings",
                                  "tag gates", "virtual kernels", "user ids", "user rows", "user Gram triangles",
                                  "user blocks", "checksums", "id lookup", "id fences", "codec parameters",
                                  "codes", "refine rows", "lists", "centroids", "radii", "task layout",
                                  "reserved"};
    return kind >= 1 && kind <= MVKE_SEC_KINDS ? names[kind] : "unknown";
}
