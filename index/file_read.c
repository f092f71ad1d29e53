/*
 * file_read.c - opening, inspecting and verifying index files.
 *
 * The file is mapped read-only. Before any byte of a section is used, the header and table are
 * checked: magic, version, header checksum, declared size against the real size, table checksum,
 * then every entry (known kind, no repeats, 64-byte aligned, inside the file, in order without
 * overlap, reserved fields zero) and every size against K, d and the counts, all with checked
 * arithmetic. Gaps must be zero, so every byte of the file is either checksummed or fixed. Tags
 * are few and are rebuilt through the public tag-table API, which re-checks them (finite values,
 * gates inside the subsets, ids).
 *
 * Version 2: open reads the header, the table and the small sections only. The user blocks, ids
 * and id lookup stay in the mapping and are searched in place; their checksum units are checked
 * when first read (units.h, store.h). Version 1: the rows are row-major and are copied into the
 * block layout at open (the old path, kept so that older files still open).
 */
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../kernels/gram.h"
#include "../kernels/cpu/cpu_features.h"
#include "../kernels/layout.h"
#include "../kernels/runtime.h"
#include "crc32c.h"
#include "file_format.h"
#include "input.h"
#include "idlookup.h"
#include "index_impl.h"
#include "units.h"
#include "tags_impl.h"

typedef struct mapping {
    void *addr;
    size_t len;
} mapping;

typedef struct layout {
    const char *path;
    const unsigned char *base;
    uint64_t size;
    mvke_file_header h;
    mvke_file_entry sec[MVKE_SEC_KINDS + 1]; /* by kind; size 0 and offset 0 when absent */
    int have[MVKE_SEC_KINDS + 1];
    uint32_t tag_storage, has_vk, ntasks;
    uint32_t score; /* mvke_score of users and tags (0 in version 1 files) */
    float temperature;
    uint64_t ntags;
    uint64_t full_block; /* version 2: bytes of a full user block */
    uint64_t nunits;     /* version 2: checksum units */
    unsigned shift;      /* version 2: checksum unit = 1 << shift bytes */
    uint32_t codec_m, refine; /* codecs: codes per expert; the file keeps the rows for refine */
    uint64_t train_rows;
} layout;

static void unmap_release(void *p) {
    mapping *m = p;
    if (!m) return;
    if (m->addr) munmap(m->addr, m->len);
    mvke_free(m);
}

/* What a version 2 index's blocks view: the mapping and the first-use checks. */
typedef struct file_map {
    mapping *m;
    mvke_units units;
} file_map;

static void file_map_release(void *p) {
    file_map *f = p;
    if (!f) return;
    mvke_units_release(&f->units);
    unmap_release(f->m);
    mvke_free(f);
}

static mvke_status map_file(const char *path, mapping **out) {
    *out = NULL;
    char why[160];
    int fd = mvke_input_open(path, 0, why, sizeof why);
    if (fd < 0) return mvke_error(MVKE_ERR_IO, "%s: %s", path, why);
    struct stat sb;
    mvke_status st = MVKE_OK;
    if (fstat(fd, &sb) != 0) st = mvke_error(MVKE_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    else if ((uint64_t)sb.st_size < MVKE_FILE_HEADER_SIZE)
        st = mvke_error(MVKE_ERR_TRUNCATED, "%s: file ends at byte %lld, inside the %u-byte header", path, (long long)sb.st_size,
                        MVKE_FILE_HEADER_SIZE);
    else if ((uint64_t)sb.st_size > SIZE_MAX) st = mvke_error(MVKE_ERR_FORMAT, "%s: file too large to map", path);
    mapping *m = NULL;
    if (st == MVKE_OK && !(m = mvke_calloc(1, sizeof *m))) st = mvke_error(MVKE_ERR_NOMEM, "out of memory opening %s", path);
    if (st == MVKE_OK) {
        m->len = (size_t)sb.st_size;
        m->addr = mmap(NULL, m->len, PROT_READ, MAP_SHARED, fd, 0);
        if (m->addr == MAP_FAILED) {
            m->addr = NULL;
            st = mvke_error(MVKE_ERR_IO, "%s: mmap of %zu bytes failed: %s", path, m->len, strerror(errno));
        }
    }
    close(fd);
    if (st != MVKE_OK) {
        unmap_release(m);
        return st;
    }
    *out = m;
    return MVKE_OK;
}

static int all_zero(const unsigned char *p, uint64_t n) {
    for (uint64_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

/* Expected byte size of each section from the header and options, or fails on overflow. */
static mvke_status expected_sizes(layout *L, uint64_t *want) {
    const uint64_t K = L->h.K, d = L->h.d, n = L->h.nusers, P = (uint64_t)mvke_gram_size((int)K);
    int ok = 1;
    want[MVKE_SEC_OPTIONS] = MVKE_FILE_OPTIONS_SIZE;
    want[MVKE_SEC_TASKS] = (uint64_t)L->ntasks * MVKE_FILE_TASK_SIZE;
    ok &= !__builtin_mul_overflow(L->ntags, (uint64_t)MVKE_FILE_TAG_SIZE, &want[MVKE_SEC_TAGS]);
    want[MVKE_SEC_TAG_NAMES] = UINT64_MAX; /* checked against the tag records */
    want[MVKE_SEC_LISTS] = UINT64_MAX;     /* checked against its own head (load_lists) */
    ok &= !__builtin_mul_overflow(L->ntags, d * 4, &want[MVKE_SEC_TAG_Q]);
    ok &= !__builtin_mul_overflow(L->ntags, K * 4, &want[MVKE_SEC_TAG_W]);
    want[MVKE_SEC_VK] = K * d * 4;
    ok &= !__builtin_mul_overflow(n, (uint64_t)8, &want[MVKE_SEC_USER_IDS]);
    if (L->h.version == MVKE_FILE_VERSION_1) {
        ok &= !__builtin_mul_overflow(n, K * d * (L->h.storage == MVKE_STORAGE_F16 ? 2 : 4), &want[MVKE_SEC_USER_ROWS]);
        ok &= !__builtin_mul_overflow(n, P * 4, &want[MVKE_SEC_USER_GRAM]);
    } else {
        mvke_layout lay;
        (void)mvke_layout_init(&lay, (int)K, (int)d, (mvke_storage)L->h.storage); /* storage checked */
        mvke_layout_set_score(&lay, (mvke_score)L->score);
        if (mvke_storage_is_codec((mvke_storage)L->h.storage)) {
            /* Only the number of codes per expert shapes the blocks. */
            mvke_codec shape = {.m = (int)L->codec_m};
            mvke_layout_set_codec(&lay, &shape, 0);
            want[MVKE_SEC_CODEC] = mvke_file_codec_bytes(L->h.storage, K, d);
            if (L->refine) ok &= !__builtin_mul_overflow(n, K * d * 4, &want[MVKE_SEC_REFINE_ROWS]);
        }
        const uint64_t nb = n / MVKE_BLOCK_ROWS + (n % MVKE_BLOCK_ROWS != 0);
        const int64_t last = n ? (int64_t)(n - (nb - 1) * MVKE_BLOCK_ROWS) : 0;
        L->full_block = mvke_layout_block_bytes(&lay, MVKE_BLOCK_ROWS);
        want[MVKE_SEC_USER_BLOCKS] = 0;
        if (nb) {
            ok &= !__builtin_mul_overflow(nb - 1, L->full_block, &want[MVKE_SEC_USER_BLOCKS]);
            ok &= !__builtin_add_overflow(want[MVKE_SEC_USER_BLOCKS],
                                          (uint64_t)mvke_layout_block_bytes(&lay, mvke_layout_round(last)),
                                          &want[MVKE_SEC_USER_BLOCKS]);
        }
        ok &= !__builtin_mul_overflow(n, (uint64_t)16, &want[MVKE_SEC_ID_LOOKUP]);
        want[MVKE_SEC_ID_FENCES] = (n / MVKE_IDLOOKUP_CHUNK + (n % MVKE_IDLOOKUP_CHUNK != 0)) * 8;
        if (ok) {
            L->nunits = mvke_units_count(want[MVKE_SEC_USER_IDS], L->shift) +
                        mvke_units_count(want[MVKE_SEC_USER_BLOCKS], L->shift) +
                        mvke_units_count(want[MVKE_SEC_ID_LOOKUP], L->shift) +
                        mvke_units_count(want[MVKE_SEC_REFINE_ROWS], L->shift);
            want[MVKE_SEC_CHECKSUMS] = MVKE_FILE_CHECKSUMS_HEAD + 4 * L->nunits;
        }
    }
    if (!ok) return mvke_error(MVKE_ERR_FORMAT, "%s: the declared counts overflow (users %llu, tags %llu)", L->path,
                               (unsigned long long)n, (unsigned long long)L->ntags);
    return MVKE_OK;
}

/* Whether a kind may appear in a file of this version, and whether it must. */
static int kind_allowed(uint32_t version, uint32_t kind) {
    if (version == MVKE_FILE_VERSION_1) return kind >= 1 && kind <= MVKE_SEC_USER_GRAM;
    return (kind >= 1 && kind <= MVKE_SEC_USER_IDS) || (kind >= MVKE_SEC_USER_BLOCKS && kind <= MVKE_SEC_ID_FENCES) ||
           kind == MVKE_SEC_CODEC || kind == MVKE_SEC_REFINE_ROWS || kind == MVKE_SEC_LISTS;
}
static int kind_required(uint32_t version, uint32_t kind) {
    return kind_allowed(version, kind) && kind != MVKE_SEC_VK && kind != MVKE_SEC_CODEC && kind != MVKE_SEC_REFINE_ROWS &&
           kind != MVKE_SEC_LISTS;
}

static mvke_status check_crc(const layout *L, uint32_t kind);

/* Checks header and table; fills L. Reads no section data but the options (64 bytes) and, for a
 * codec, its codec section. */
static mvke_status parse_layout(layout *L) {
    const unsigned char *b = L->base;
    const char *path = L->path;
    if (memcmp(b, MVKE_FILE_MAGIC, 8)) return mvke_error(MVKE_ERR_FORMAT, "%s: byte 0: not an MVKE index file (bad magic)", path);
    mvke_file_decode_header(b, &L->h);
    const mvke_file_header *h = &L->h;
    if (h->version != MVKE_FILE_VERSION && h->version != MVKE_FILE_VERSION_1)
        return mvke_error(MVKE_ERR_FORMAT, "%s: byte 8: format version %u is not supported (this library reads 1 and %u; "
                          "rebuild the index with `mvke build`)", path, h->version, MVKE_FILE_VERSION);
    if (mvke_crc32c(0, b, 60) != h->header_crc)
        return mvke_error(MVKE_ERR_CHECKSUM, "%s: bytes 0-63: the header checksum does not match", path);
    if (mvke_get_u32(b + 12) != MVKE_FILE_HEADER_SIZE)
        return mvke_error(MVKE_ERR_FORMAT, "%s: byte 12: header size %u, expected %u", path, mvke_get_u32(b + 12), MVKE_FILE_HEADER_SIZE);
    if (h->file_size > L->size)
        return mvke_error(MVKE_ERR_TRUNCATED, "%s: file ends at byte %llu but its header declares %llu bytes", path,
                          (unsigned long long)L->size, (unsigned long long)h->file_size);
    if (h->file_size < L->size)
        return mvke_error(MVKE_ERR_FORMAT, "%s: %llu bytes follow the declared end of the file at byte %llu", path,
                          (unsigned long long)(L->size - h->file_size), (unsigned long long)h->file_size);
    if (h->table_offset != MVKE_FILE_HEADER_SIZE)
        return mvke_error(MVKE_ERR_FORMAT, "%s: byte 24: table offset %llu, expected %u", path,
                          (unsigned long long)h->table_offset, MVKE_FILE_HEADER_SIZE);
    const uint32_t max_sec = h->version == MVKE_FILE_VERSION_1 ? MVKE_FILE_V1_MAX_SECTIONS : MVKE_FILE_MAX_SECTIONS;
    if (h->nsections < 1 || h->nsections > max_sec)
        return mvke_error(MVKE_ERR_FORMAT, "%s: byte 32: %u sections (1 to %u allowed)", path, h->nsections, max_sec);
    if (h->K < 1 || h->K > MVKE_MAX_K || h->d < 1 || h->d > MVKE_MAX_D)
        return mvke_error(MVKE_ERR_FORMAT, "%s: byte 36: K = %u, d = %u out of range (1-64, 1-65536)", path, h->K, h->d);
    if (h->storage != MVKE_STORAGE_F32 && h->storage != MVKE_STORAGE_F16 &&
        !(h->version != MVKE_FILE_VERSION_1 && (h->storage == MVKE_STORAGE_BF16 || h->storage == MVKE_STORAGE_SQ8 ||
                                                h->storage == MVKE_STORAGE_PQ)))
        return mvke_error(MVKE_ERR_FORMAT, "%s: byte 44: unknown storage %u", path, h->storage);
    const uint64_t table_end = MVKE_FILE_HEADER_SIZE + (uint64_t)h->nsections * MVKE_FILE_ENTRY_SIZE;
    if (table_end > L->size)
        return mvke_error(MVKE_ERR_TRUNCATED, "%s: the section table ends at byte %llu, past the end of the file", path,
                          (unsigned long long)table_end);
    if (mvke_crc32c(0, b + MVKE_FILE_HEADER_SIZE, (size_t)(table_end - MVKE_FILE_HEADER_SIZE)) != h->table_crc)
        return mvke_error(MVKE_ERR_CHECKSUM, "%s: bytes %u-%llu: the section table checksum does not match", path,
                          MVKE_FILE_HEADER_SIZE, (unsigned long long)table_end - 1);
    uint64_t prev_end = table_end;
    for (uint32_t i = 0; i < h->nsections; i++) {
        const uint64_t at = MVKE_FILE_HEADER_SIZE + (uint64_t)i * MVKE_FILE_ENTRY_SIZE;
        mvke_file_entry e;
        mvke_file_decode_entry(b + at, &e);
        uint64_t end;
        if (h->version != MVKE_FILE_VERSION_1 && e.kind >= MVKE_SEC_CODEC && e.kind <= MVKE_SEC_RESERVED_LAST &&
            e.kind != MVKE_SEC_CODEC && e.kind != MVKE_SEC_REFINE_ROWS && e.kind != MVKE_SEC_LISTS)
            return mvke_error(MVKE_ERR_FORMAT, "%s: byte %llu: section %u holds %s (kind %u), which this library does not "
                              "read: open it with the version that wrote it, or rebuild the index", path,
                              (unsigned long long)at, i, mvke_file_section_name(e.kind), e.kind);
        if (!kind_allowed(h->version, e.kind))
            return mvke_error(MVKE_ERR_FORMAT, "%s: byte %llu: section %u has unknown kind %u", path, (unsigned long long)at, i, e.kind);
        if (L->have[e.kind])
            return mvke_error(MVKE_ERR_FORMAT, "%s: byte %llu: section %u repeats the %s section", path,
                              (unsigned long long)at, i, mvke_file_section_name(e.kind));
        if (e.flags || e.reserved)
            return mvke_error(MVKE_ERR_FORMAT, "%s: byte %llu: section %u has nonzero reserved fields", path, (unsigned long long)at, i);
        if (e.offset % MVKE_FILE_ALIGN || e.offset < prev_end || __builtin_add_overflow(e.offset, e.size, &end) ||
            end > L->size)
            return mvke_error(MVKE_ERR_FORMAT, "%s: byte %llu: the %s section (offset %llu, %llu bytes) is misplaced "
                              "(unaligned, overlapping or past the end at byte %llu)", path, (unsigned long long)at,
                              mvke_file_section_name(e.kind), (unsigned long long)e.offset, (unsigned long long)e.size,
                              (unsigned long long)L->size);
        if (!all_zero(b + prev_end, e.offset - prev_end))
            return mvke_error(MVKE_ERR_CHECKSUM, "%s: bytes %llu-%llu: padding before the %s section is not zero", path,
                              (unsigned long long)prev_end, (unsigned long long)e.offset - 1, mvke_file_section_name(e.kind));
        L->sec[e.kind] = e;
        L->have[e.kind] = 1;
        prev_end = end;
    }
    if (!all_zero(b + prev_end, L->size - prev_end))
        return mvke_error(MVKE_ERR_CHECKSUM, "%s: bytes %llu-%llu after the last section are not zero", path,
                          (unsigned long long)prev_end, (unsigned long long)L->size - 1);
    for (uint32_t k = 1; k <= MVKE_SEC_KINDS; k++)
        if (!L->have[k] && kind_required(h->version, k))
            return mvke_error(MVKE_ERR_FORMAT, "%s: the %s section is missing", path, mvke_file_section_name(k));
    /* The options section is tiny: check its checksum now, as the other sizes depend on it. */
    const mvke_file_entry *o = &L->sec[MVKE_SEC_OPTIONS];
    if (o->size != MVKE_FILE_OPTIONS_SIZE)
        return mvke_error(MVKE_ERR_FORMAT, "%s: the options section has %llu bytes, expected %u", path,
                          (unsigned long long)o->size, MVKE_FILE_OPTIONS_SIZE);
    const unsigned char *op = b + o->offset;
    if (mvke_crc32c(0, op, MVKE_FILE_OPTIONS_SIZE) != o->crc)
        return mvke_error(MVKE_ERR_CHECKSUM, "%s: byte %llu: the options section checksum does not match", path,
                          (unsigned long long)o->offset);
    L->tag_storage = mvke_get_u32(op);
    uint32_t tbits = mvke_get_u32(op + 4);
    memcpy(&L->temperature, &tbits, 4);
    L->has_vk = mvke_get_u32(op + 8);
    L->ntasks = mvke_get_u32(op + 12);
    L->ntags = mvke_get_u64(op + 16);
    L->score = mvke_get_u32(op + 24);
    if (L->score > MVKE_SCORE_DOT || (L->score && h->version == MVKE_FILE_VERSION_1))
        return mvke_error(MVKE_ERR_FORMAT, "%s: byte %llu: unknown score %u (this library knows 0 cosine, 1 dot)", path,
                          (unsigned long long)(o->offset + 24), L->score);
    if (L->tag_storage > 1 || L->has_vk > 1 || !all_zero(op + 28, MVKE_FILE_OPTIONS_SIZE - 28) ||
        !(L->temperature > 0.0f && L->temperature < 1e30f))
        return mvke_error(MVKE_ERR_FORMAT, "%s: byte %llu: invalid options (tag storage %u, vk flag %u, temperature %g)",
                          path, (unsigned long long)o->offset, L->tag_storage, L->has_vk, (double)L->temperature);
    if (L->has_vk != (uint32_t)L->have[MVKE_SEC_VK])
        return mvke_error(MVKE_ERR_FORMAT, "%s: the options say the virtual kernels are %s but the section is %s", path,
                          L->has_vk ? "present" : "absent", L->have[MVKE_SEC_VK] ? "present" : "absent");
    /* Codecs: the codec section is required (and only there), its head says how the blocks are
     * shaped; it is small, so its checksum is checked now. */
    const int codec = mvke_storage_is_codec((mvke_storage)h->storage);
    if (h->version != MVKE_FILE_VERSION_1) {
        if (codec != L->have[MVKE_SEC_CODEC] || (!codec && L->have[MVKE_SEC_REFINE_ROWS]))
            return mvke_error(MVKE_ERR_FORMAT, "%s: a %s index %s a codec section%s", path, mvke_storage_name((mvke_storage)h->storage),
                              codec ? "lacks" : "has", L->have[MVKE_SEC_REFINE_ROWS] && !codec ? " and refine rows" : "");
        if (codec) {
            const mvke_file_entry *ce = &L->sec[MVKE_SEC_CODEC];
            if (ce->size < MVKE_FILE_CODEC_HEAD)
                return mvke_error(MVKE_ERR_FORMAT, "%s: the codec section has %llu bytes", path, (unsigned long long)ce->size);
            mvke_status cs = check_crc(L, MVKE_SEC_CODEC);
            if (cs != MVKE_OK) return cs;
            const unsigned char *cp = b + ce->offset;
            L->codec_m = mvke_get_u32(cp + 4);
            L->refine = mvke_get_u32(cp + 8);
            L->train_rows = mvke_get_u64(cp + 16);
            const uint32_t want_m = h->storage == MVKE_STORAGE_SQ8 ? h->d : L->codec_m;
            if (mvke_get_u32(cp) != h->storage || L->codec_m < 1 || L->codec_m > h->d || L->codec_m != want_m ||
                L->refine > 1 || mvke_get_u32(cp + 12) != 0 || !all_zero(cp + 24, MVKE_FILE_CODEC_HEAD - 24) ||
                L->refine != (uint32_t)L->have[MVKE_SEC_REFINE_ROWS])
                return mvke_error(MVKE_ERR_FORMAT, "%s: byte %llu: invalid codec head (storage %u, m %u, refine %u with "
                                  "refine rows %s)", path, (unsigned long long)ce->offset, mvke_get_u32(cp), L->codec_m,
                                  L->refine, L->have[MVKE_SEC_REFINE_ROWS] ? "present" : "absent");
        }
        /* The checksum unit, from the checksum section's head (checked with the section). */
        L->shift = MVKE_FILE_UNIT_SHIFT;
        if (L->sec[MVKE_SEC_CHECKSUMS].size >= 4) L->shift = mvke_get_u32(b + L->sec[MVKE_SEC_CHECKSUMS].offset);
        if (L->shift < 12 || L->shift > 30)
            return mvke_error(MVKE_ERR_FORMAT, "%s: byte %llu: checksum unit of 2^%u bytes (12 to 30 allowed)", path,
                              (unsigned long long)L->sec[MVKE_SEC_CHECKSUMS].offset, L->shift);
    }
    uint64_t want[MVKE_SEC_KINDS + 1] = {0};
    mvke_status st = expected_sizes(L, want);
    if (st != MVKE_OK) return st;
    for (uint32_t k = 1; k <= MVKE_SEC_KINDS; k++)
        if (L->have[k] && want[k] != UINT64_MAX && L->sec[k].size != want[k])
            return mvke_error(MVKE_ERR_FORMAT, "%s: the %s section has %llu bytes but the header and options declare %llu",
                              path, mvke_file_section_name(k), (unsigned long long)L->sec[k].size,
                              (unsigned long long)want[k]);
    if (h->version != MVKE_FILE_VERSION_1)
        for (uint32_t k = 1; k <= MVKE_SEC_KINDS; k++)
            if (L->have[k] && mvke_file_bulk(k) && L->sec[k].crc != 0)
                return mvke_error(MVKE_ERR_FORMAT, "%s: the %s section's table entry holds a checksum (bulk sections are "
                                  "covered by the checksum units, their entry's is 0)", path, mvke_file_section_name(k));
    return MVKE_OK;
}

static mvke_status check_crc(const layout *L, uint32_t kind) {
    if (!L->have[kind]) return MVKE_OK;
    const mvke_file_entry *e = &L->sec[kind];
    const unsigned char *p = L->base + e->offset;
    uint32_t c = 0;
    /* In 64 MiB steps, so a huge section does not look like one endless call. */
    for (uint64_t done = 0; done < e->size;) {
        uint64_t m = e->size - done < ((uint64_t)64 << 20) ? e->size - done : (uint64_t)64 << 20;
        c = mvke_crc32c(c, p + done, (size_t)m);
        done += m;
    }
    if (c != e->crc)
        return mvke_error(MVKE_ERR_CHECKSUM, "%s: bytes %llu-%llu: the %s section checksum does not match (corrupted file)",
                          L->path, (unsigned long long)e->offset, (unsigned long long)(e->offset + e->size - 1),
                          mvke_file_section_name(kind));
    return MVKE_OK;
}

/* Rebuilds the tag table from the tag sections (checksums already checked). */
static mvke_status load_tags(const layout *L, mvke_tags **out) {
    const int K = (int)L->h.K, d = (int)L->h.d;
    const unsigned char *b = L->base;
    mvke_index_options o;
    mvke_index_options_init(&o);
    o.storage = (mvke_storage)L->tag_storage;
    o.score = (mvke_score)L->score;
    mvke_tags *t = NULL;
    mvke_status st = mvke_tags_new(&t, K, d, &o);
    if (st != MVKE_OK) return st;
    if (L->has_vk) {
        float *vk = mvke_malloc_array((size_t)K * (size_t)d, sizeof *vk);
        if (!vk) st = mvke_error(MVKE_ERR_NOMEM, "out of memory reading %s", L->path);
        else {
            memcpy(vk, b + L->sec[MVKE_SEC_VK].offset, (size_t)K * (size_t)d * sizeof *vk);
            st = mvke_tags_set_vk(t, vk, L->temperature);
            mvke_free(vk);
        }
    } else if (L->temperature != 1.0f) {
        /* Only meaningful with virtual kernels; keep it as written. */
        t->temperature = L->temperature;
    }
    const unsigned char *tasks = b + L->sec[MVKE_SEC_TASKS].offset;
    const unsigned char *recs = b + L->sec[MVKE_SEC_TAGS].offset;
    const unsigned char *names = b + L->sec[MVKE_SEC_TAG_NAMES].offset;
    const uint64_t names_size = L->sec[MVKE_SEC_TAG_NAMES].size;
    const float *q = (const float *)(b + L->sec[MVKE_SEC_TAG_Q].offset);
    const float *w = (const float *)(b + L->sec[MVKE_SEC_TAG_W].offset);
    uint64_t first = 0, name_end = 0;
    for (uint32_t ti = 0; ti < L->ntasks && st == MVKE_OK; ti++) {
        const unsigned char *r = tasks + (size_t)ti * MVKE_FILE_TASK_SIZE;
        char name[256];
        memcpy(name, r, 256);
        const size_t nl = strnlen(name, 256);
        const uint32_t nexp = mvke_get_u32(r + 320);
        const uint64_t ntags = mvke_get_u64(r + 328);
        const uint64_t at = L->sec[MVKE_SEC_TASKS].offset + (uint64_t)ti * MVKE_FILE_TASK_SIZE;
        if (nl == 0 || nl > MVKE_FILE_NAME_MAX || !all_zero(r + nl, 256 - nl) || nexp < 1 || nexp > L->h.K ||
            !all_zero(r + 256 + nexp, 64 - nexp) || mvke_get_u32(r + 324) != 0 || ntags > L->ntags - first) {
            st = mvke_error(MVKE_ERR_FORMAT, "%s: byte %llu: task record %u is invalid", L->path, (unsigned long long)at, ti);
            break;
        }
        int experts[64];
        for (uint32_t k = 0; k < nexp; k++) experts[k] = r[256 + k];
        if ((st = mvke_tags_add_task(t, name, experts, (int)nexp)) != MVKE_OK) break;
        if (ntags == 0) continue;
        int64_t *ids = mvke_malloc_array((size_t)ntags, sizeof *ids);
        int64_t *parents = mvke_malloc_array((size_t)ntags, sizeof *parents);
        char **nm = mvke_calloc((size_t)ntags, sizeof *nm);
        if (!ids || !parents || !nm) st = mvke_error(MVKE_ERR_NOMEM, "out of memory reading %s", L->path);
        for (uint64_t i = 0; i < ntags && st == MVKE_OK; i++) {
            const unsigned char *tr = recs + (size_t)(first + i) * MVKE_FILE_TAG_SIZE;
            const uint64_t noff = mvke_get_u64(tr + 16);
            const uint32_t nlen = mvke_get_u32(tr + 24);
            ids[i] = (int64_t)mvke_get_u64(tr);
            parents[i] = (int64_t)mvke_get_u64(tr + 8);
            /* Names are laid out one after another: offsets are exactly where the last ended. */
            if (noff != name_end || nlen > MVKE_FILE_NAME_MAX || nlen > names_size - name_end ||
                mvke_get_u32(tr + 28) != 0 || memchr(names + noff, 0, nlen) || parents[i] < 0) {
                st = mvke_error(MVKE_ERR_FORMAT, "%s: byte %llu: tag record %llu is invalid", L->path,
                                (unsigned long long)(L->sec[MVKE_SEC_TAGS].offset + (first + i) * MVKE_FILE_TAG_SIZE),
                                (unsigned long long)(first + i));
                break;
            }
            name_end += nlen;
            if (!(nm[i] = mvke_malloc(nlen + 1))) {
                st = mvke_error(MVKE_ERR_NOMEM, "out of memory reading %s", L->path);
                break;
            }
            memcpy(nm[i], names + noff, nlen);
            nm[i][nlen] = 0;
        }
        if (st == MVKE_OK) {
            st = mvke_tags_add(t, name, (int64_t)ntags, ids, (const char *const *)nm, parents, q + first * (uint64_t)d,
                               w + first * (uint64_t)K);
            if (st != MVKE_OK) {
                char msg[512];
                snprintf(msg, sizeof msg, "%s", mvke_last_error());
                mvke_error(st, "%s: task \"%s\": %s", L->path, name, msg);
            }
        }
        for (uint64_t i = 0; nm && i < ntags; i++) mvke_free(nm[i]);
        mvke_free(nm);
        mvke_free(ids);
        mvke_free(parents);
        first += ntags;
    }
    if (st == MVKE_OK && (first != L->ntags || name_end != names_size))
        st = mvke_error(MVKE_ERR_FORMAT, "%s: the tasks hold %llu tags and %llu name bytes but the file has %llu and %llu",
                        L->path, (unsigned long long)first, (unsigned long long)name_end, (unsigned long long)L->ntags,
                        (unsigned long long)names_size);
    if (st != MVKE_OK) {
        mvke_tags_free(t);
        return st;
    }
    *out = t;
    return MVKE_OK;
}

/* Maps and checks a file; on success *m holds the mapping and L describes it. */
static mvke_status open_layout(const char *path, unsigned flags, mapping **m, layout *L) {
    memset(L, 0, sizeof *L);
    mvke_status st = map_file(path, m);
    if (st != MVKE_OK) return st;
    L->path = path;
    L->base = (*m)->addr;
    L->size = (*m)->len;
    st = parse_layout(L);
    const int v1 = st == MVKE_OK && L->h.version == MVKE_FILE_VERSION_1;
    for (uint32_t k = 1; k <= MVKE_SEC_KINDS && st == MVKE_OK; k++) {
        if (k == MVKE_SEC_OPTIONS) continue;
        if (v1 && (flags & (MVKE_FILE_OPEN_SKIP_ROW_CHECKSUMS | MVKE_FILE_OPEN_NO_VERIFY)) &&
            (k == MVKE_SEC_USER_ROWS || k == MVKE_SEC_USER_GRAM))
            continue;
        if (!v1 && mvke_file_bulk(k)) continue; /* checked unit by unit when first read */
        st = check_crc(L, k);
    }
    if (st == MVKE_OK && !v1) {
        const unsigned char *c = L->base + L->sec[MVKE_SEC_CHECKSUMS].offset;
        if (mvke_get_u32(c) != L->shift || mvke_get_u32(c + 4) != 0 || mvke_get_u64(c + 8) != L->nunits ||
            !all_zero(c + 16, MVKE_FILE_CHECKSUMS_HEAD - 16))
            st = mvke_error(MVKE_ERR_FORMAT, "%s: byte %llu: the checksum section's head is invalid (unit shift %u, "
                            "%llu units; expected %u and %llu)", path, (unsigned long long)L->sec[MVKE_SEC_CHECKSUMS].offset,
                            mvke_get_u32(c), (unsigned long long)mvke_get_u64(c + 8), L->shift,
                            (unsigned long long)L->nunits);
    }
    if (st != MVKE_OK) {
        unmap_release(*m);
        *m = NULL;
    }
    return st;
}

/* A codec's trained parameters from the codec section (checksum checked): copied into the
 * index's codec, each checked (finite; sq8 scales and bound units >= 0 and > 0). */
static mvke_status load_codec(const layout *L, mvke_index *ix) {
    mvke_codec *c = &ix->store.codec;
    const unsigned char *p = L->base + L->sec[MVKE_SEC_CODEC].offset + MVKE_FILE_CODEC_HEAD;
    const size_t D = (size_t)L->h.K * (size_t)L->h.d;
    const uint64_t at = L->sec[MVKE_SEC_CODEC].offset + MVKE_FILE_CODEC_HEAD;
    size_t nf = 0;
    if (L->h.storage == MVKE_STORAGE_SQ8) {
        memcpy(c->vmin, p, D * sizeof(float));
        memcpy(c->scale, p + D * sizeof(float), D * sizeof(float));
        nf = 2 * D;
    } else {
        memcpy(c->cent, p, D * MVKE_PQ_CENTROIDS * sizeof(float));
        nf = D * MVKE_PQ_CENTROIDS;
    }
    memcpy(c->bunit, p + nf * sizeof(float), (size_t)L->h.K * sizeof(float));
    for (size_t i = 0; i < nf + (size_t)L->h.K; i++) {
        float v;
        memcpy(&v, p + i * sizeof(float), sizeof v);
        const int unit = i >= nf, scale = L->h.storage == MVKE_STORAGE_SQ8 && i >= D && i < nf;
        if (!isfinite(v) || (scale && v < 0.0f) || (unit && !(v > 0.0f)))
            return mvke_error(MVKE_ERR_FORMAT, "%s: byte %llu: codec parameter %zu is %g (%s)", L->path,
                              (unsigned long long)(at + i * sizeof(float)), i, (double)v,
                              unit ? "a bound unit must be positive" : scale ? "a scale must be finite and >= 0" : "not finite");
    }
    c->train_rows = (int64_t)L->train_rows;
    c->trained = 1;
    mvke_codec_derive(c);
    return MVKE_OK;
}

/* Version 2: the index's blocks, ids and id lookup view the mapping; *m passes to the index. */
static mvke_status map_users(const layout *L, unsigned flags, mapping **m, mvke_index *ix) {
    file_map *f = mvke_calloc(1, sizeof *f);
    const size_t plen = strlen(L->path);
    mvke_status st = MVKE_OK;
    if (!f || !(f->units.path = mvke_malloc(plen + 1)) ||
        !(f->units.state = mvke_calloc((size_t)(L->nunits ? L->nunits : 1), 1))) {
        if (f) mvke_units_release(&f->units);
        mvke_free(f);
        return mvke_error(MVKE_ERR_NOMEM, "out of memory opening %s", L->path);
    }
    memcpy(f->units.path, L->path, plen + 1);
    mvke_units *u = &f->units;
    u->base = L->base;
    u->shift = L->shift;
    u->nunits = L->nunits;
    /* The checksum section is copied (and its checksum checked on the copy): later first-use
     * checks compare the units with the file as it was opened, not as it may be rewritten. */
    const mvke_file_entry *ce = &L->sec[MVKE_SEC_CHECKSUMS];
    if (!(u->table = mvke_malloc((size_t)ce->size))) {
        mvke_units_release(u);
        mvke_free(f);
        return mvke_error(MVKE_ERR_NOMEM, "out of memory opening %s", L->path);
    }
    memcpy(u->table, L->base + ce->offset, (size_t)ce->size);
    if (mvke_crc32c(0, u->table, (size_t)ce->size) != ce->crc) {
        mvke_units_release(u);
        mvke_free(f);
        return mvke_error(MVKE_ERR_CHECKSUM, "%s: the checksum section changed while the file was opened (replaced in "
                          "place?)", L->path);
    }
    u->crcs = u->table + MVKE_FILE_CHECKSUMS_HEAD;
    static const uint32_t bulk[] = {MVKE_SEC_USER_IDS, MVKE_SEC_USER_BLOCKS, MVKE_SEC_ID_LOOKUP, MVKE_SEC_REFINE_ROWS};
    uint64_t first = 0;
    u->nsec = 0;
    for (int i = 0; i < 4; i++) {
        if (!L->have[bulk[i]]) continue;
        const mvke_file_entry *e = &L->sec[bulk[i]];
        const int rows = bulk[i] == MVKE_SEC_USER_BLOCKS || bulk[i] == MVKE_SEC_REFINE_ROWS;
        u->sec[u->nsec++] = (mvke_units_section){bulk[i], e->offset, e->size, first,
                                                 rows && (flags & MVKE_FILE_OPEN_SKIP_ROW_CHECKSUMS)};
        first += mvke_units_count(e->size, u->shift);
    }
    const unsigned char *b = L->base;
    const int64_t n = (int64_t)L->h.nusers;
    mvke_idlookup lk = {(const int64_t *)(b + L->sec[MVKE_SEC_ID_LOOKUP].offset), n,
                        (const int64_t *)(b + L->sec[MVKE_SEC_ID_FENCES].offset),
                        (int64_t)(L->sec[MVKE_SEC_ID_FENCES].size / 8)};
    st = mvke_store_map(&ix->store, n, (const int64_t *)(b + L->sec[MVKE_SEC_USER_IDS].offset),
                        b + L->sec[MVKE_SEC_USER_BLOCKS].offset, (size_t)L->full_block,
                        L->have[MVKE_SEC_REFINE_ROWS] ? (const float *)(b + L->sec[MVKE_SEC_REFINE_ROWS].offset) : NULL,
                        &lk, (flags & MVKE_FILE_OPEN_NO_VERIFY) ? NULL : u);
    if (st != MVKE_OK) {
        mvke_units_release(u);
        mvke_free(f);
        return st;
    }
    f->m = *m;
    *m = NULL;
    ix->store.backing = f;
    ix->store.backing_release = file_map_release;
    return MVKE_OK;
}

/* The lists section (checksum checked): offsets, centroids and radii into the index. */
static mvke_status load_lists(const layout *L, mvke_index *ix) {
    const mvke_file_entry *e = &L->sec[MVKE_SEC_LISTS];
    const unsigned char *p = L->base + e->offset;
    if (e->size < MVKE_FILE_LISTS_HEAD)
        return mvke_error(MVKE_ERR_FORMAT, "%s: the lists section has %llu bytes", L->path, (unsigned long long)e->size);
    mvke_status st = check_crc(L, MVKE_SEC_LISTS);
    if (st != MVKE_OK) return st;
    const uint32_t n = mvke_get_u32(p);
    const uint64_t K = L->h.K, d = L->h.d;
    if (n < 1 || n > L->h.nusers || !all_zero(p + 4, MVKE_FILE_LISTS_HEAD - 4) ||
        e->size != mvke_file_lists_bytes(n, K, d))
        return mvke_error(MVKE_ERR_FORMAT, "%s: byte %llu: invalid lists head (%u lists for %llu users in %llu bytes)",
                          L->path, (unsigned long long)e->offset, n, (unsigned long long)L->h.nusers,
                          (unsigned long long)e->size);
    int64_t *off = mvke_malloc_array((size_t)n + 1, sizeof *off);
    float *cent = mvke_malloc_array((size_t)n * K * d, sizeof *cent), *rad = mvke_malloc_array((size_t)n * K, sizeof *rad);
    if (!off || !cent || !rad) {
        st = mvke_error(MVKE_ERR_NOMEM, "out of memory reading %u lists", n);
    } else {
        const unsigned char *q = p + MVKE_FILE_LISTS_HEAD;
        for (uint32_t j = 0; j <= n; j++) off[j] = (int64_t)mvke_get_u64(q + 8 * (size_t)j);
        q += 8 * ((size_t)n + 1);
        memcpy(cent, q, (size_t)n * K * d * sizeof *cent);
        memcpy(rad, q + (size_t)n * K * d * sizeof *cent, (size_t)n * K * sizeof *rad);
        st = mvke_lists_set(&ix->lists, (int)n, (int)K, (int)d, (int64_t)L->h.nusers, off, cent, rad, L->path);
    }
    mvke_free(off);
    mvke_free(cent);
    mvke_free(rad);
    return st;
}

/* Version 1: the row-major rows are copied into the index's own blocks. */
static mvke_status copy_users(const layout *L, mvke_index *ix) {
    const unsigned char *b = L->base;
    mvke_status st = mvke_store_load(&ix->store, (int64_t)L->h.nusers, (const int64_t *)(b + L->sec[MVKE_SEC_USER_IDS].offset),
                                     b + L->sec[MVKE_SEC_USER_ROWS].offset,
                                     (const float *)(b + L->sec[MVKE_SEC_USER_GRAM].offset));
    if (st != MVKE_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", mvke_last_error());
        mvke_error(st, "%s: users: %s", L->path, msg);
    }
    return st;
}

mvke_status mvke_file_open(const char *path, unsigned flags, mvke_index **users, mvke_tags **tags) {
    mvke_error_clear();
    if (users) *users = NULL;
    if (tags) *tags = NULL;
    if (!path) return mvke_error(MVKE_ERR_INVALID, "mvke_file_open: path is NULL");
    mvke_status cst = mvke_cpu_features_check();
    if (cst != MVKE_OK) return cst;
    if (flags & ~(MVKE_FILE_OPEN_SKIP_ROW_CHECKSUMS | MVKE_FILE_OPEN_NO_VERIFY))
        return mvke_error(MVKE_ERR_INVALID, "unknown flags 0x%x", flags);
    mapping *m;
    layout L;
    mvke_status st = open_layout(path, flags, &m, &L);
    if (st != MVKE_OK) return st;
    mvke_tags *t = NULL;
    mvke_index *ix = NULL;
    st = load_tags(&L, &t);
    if (st == MVKE_OK) {
        mvke_index_options o;
        mvke_index_options_init(&o);
        o.storage = (mvke_storage)L.h.storage;
        if (o.storage == MVKE_STORAGE_PQ) o.pq_m = (int)L.codec_m;
        o.refine = (int)L.refine;
        o.score = (mvke_score)L.score;
        st = mvke_index_new(&ix, (int)L.h.K, (int)L.h.d, &o);
    }
    if (st == MVKE_OK && mvke_storage_is_codec((mvke_storage)L.h.storage)) st = load_codec(&L, ix);
    if (st == MVKE_OK) st = L.h.version == MVKE_FILE_VERSION_1 ? copy_users(&L, ix) : map_users(&L, flags, &m, ix);
    if (st == MVKE_OK && L.have[MVKE_SEC_LISTS]) st = load_lists(&L, ix);
    /* Version 1 rows were copied; version 2 handed the mapping to the index (m is NULL). */
    unmap_release(m);
    if (st != MVKE_OK) {
        mvke_tags_free(t);
        mvke_index_free(ix);
        return st;
    }
    if (users) *users = ix;
    else mvke_index_free(ix);
    if (tags) *tags = t;
    else mvke_tags_free(t);
    return MVKE_OK;
}

/* Verify's content checks of a codec row r of block bk (position p) beyond what the checksums
 * and first-use checks cover. With the rows kept for refine: the row as add would take it, its
 * Gram triangle, its codes equal to the row's and its bounds at least the row's (a bound below
 * would let a certified search miss a user). Without: the decoded row finite. Lanes past the
 * rows: codes, Gram entries and bounds zero. */
static mvke_status verify_codec_row(const char *path, const mvke_store *s, const mvke_store_block *bk, int64_t b,
                                    int64_t r, int64_t p, float *row, float *ref, float *g) {
    const mvke_layout *L = &s->L;
    const int K = s->K, m = L->m;
    uint8_t codes[MVKE_MAX_K * 256], want[MVKE_MAX_K * 256], bounds[MVKE_MAX_K];
    const uint8_t *bp = mvke_layout_bounds(L, bk->data, bk->cap);
    for (int k = 0; k < K; k++) {
        const uint8_t *pl = mvke_layout_plane(L, bk->data, bk->cap, k);
        for (int j = 0; j < m && m <= 256; j++) codes[k * m + j] = pl[((r / MVKE_LANES) * m + j) * MVKE_LANES + r % MVKE_LANES];
        bounds[k] = bp[((r / MVKE_LANES) * K + k) * MVKE_LANES + r % MVKE_LANES];
    }
    mvke_layout_get(L, bk->data, bk->cap, r, row, g);
    if (r >= bk->n) {
        for (int i = 0; i < K * m && m <= 256; i++)
            if (codes[i]) return mvke_error(MVKE_ERR_FORMAT, "%s: block %lld, lane %lld (past its %lld rows): code %d is not zero",
                                            path, (long long)b, (long long)r, (long long)bk->n, i);
        for (int k = 0; k < K; k++)
            if (bounds[k]) return mvke_error(MVKE_ERR_FORMAT, "%s: block %lld, lane %lld (past its %lld rows): bound %d is not zero",
                                             path, (long long)b, (long long)r, (long long)bk->n, k);
        for (int e = 0; e < L->G; e++)
            if (g[e] != 0.0f || signbit(g[e]))
                return mvke_error(MVKE_ERR_FORMAT, "%s: block %lld, lane %lld (past its %lld rows): Gram entry %d is not zero",
                                  path, (long long)b, (long long)r, (long long)bk->n, e);
        return MVKE_OK;
    }
    if (!bk->refine) {
        for (int j = 0; j < s->D; j++)
            if (!isfinite(row[j]))
                return mvke_error(MVKE_ERR_FORMAT, "%s: user %lld (position %lld): decoded value %d is not finite", path,
                                  (long long)bk->ids[r], (long long)p, j);
        return MVKE_OK;
    }
    memcpy(row, bk->refine + (size_t)r * (size_t)s->D, (size_t)s->D * sizeof *row);
    mvke_status st = mvke_store_check(s, 1, row, ref);
    if (st != MVKE_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", mvke_last_error());
        return mvke_error(MVKE_ERR_FORMAT, "%s: user %lld (position %lld): refine row: %s", path, (long long)bk->ids[r], (long long)p, msg);
    }
    for (int e = 0; e < L->G; e++) {
        const float tol = 1e-4f * (fabsf(ref[e]) + 1e-30f) + 1e-6f * fabsf(ref[0]);
        if (!(fabsf(g[e] - ref[e]) <= tol))
            return mvke_error(MVKE_ERR_FORMAT, "%s: user %lld (position %lld): Gram entry %d is %g but the refine row gives %g",
                              path, (long long)bk->ids[r], (long long)p, e, (double)g[e], (double)ref[e]);
    }
    if (m <= 256) {
        mvke_codec_encode(&s->codec, row, want);
        for (int i = 0; i < K * m; i++)
            if (codes[i] != want[i])
                return mvke_error(MVKE_ERR_FORMAT, "%s: user %lld (position %lld): code %d is %u but the refine row encodes to %u",
                                  path, (long long)bk->ids[r], (long long)p, i, codes[i], want[i]);
    }
    mvke_codec_bounds(&s->codec, row, want);
    for (int k = 0; k < K; k++)
        if (bounds[k] < want[k])
            return mvke_error(MVKE_ERR_FORMAT, "%s: user %lld (position %lld): the bound of expert %d (byte %u) is below the "
                              "codes' error (byte %u): a certified search could miss the user", path, (long long)bk->ids[r],
                              (long long)p, k, bounds[k], want[k]);
    return MVKE_OK;
}

/* Verify's content checks of a version 2 index, beyond the checksums: the rows as add would
 * take them (finite, in range, norms that do not overflow), the stored Gram triangles equal to
 * the ones recomputed from the rows within rounding, lanes past a block's rows zero, codecs as
 * verify_codec_row says, and the id lookup sorted, a permutation and in agreement with the ids. */
static mvke_status verify_contents(const char *path, const mvke_index *ix) {
    const mvke_store *s = &ix->store;
    const int D = s->D, P = s->P, codec = mvke_storage_is_codec(s->storage);
    float *row = mvke_malloc_array((size_t)D, sizeof *row), *g = mvke_malloc_array((size_t)P, sizeof *g);
    float *ref = mvke_malloc_array((size_t)P, sizeof *ref);
    int64_t *ids = mvke_malloc_array((size_t)(s->count ? s->count : 1), sizeof *ids);
    uint64_t *seen = mvke_calloc((size_t)(s->count / 64 + 1), sizeof *seen);
    mvke_status st = MVKE_OK;
    if (!row || !g || !ref || !ids || !seen) st = mvke_error(MVKE_ERR_NOMEM, "out of memory verifying %s", path);
    for (int64_t b = 0; b < s->nblocks && st == MVKE_OK; b++) {
        const mvke_store_block *bk = &s->blocks[b];
        if (bk->refine && st == MVKE_OK) st = mvke_units_check(s->units, bk->refine, (size_t)bk->n * (size_t)D * sizeof(float));
        for (int64_t r = 0; r < bk->cap && st == MVKE_OK; r++) {
            const int64_t p = b * MVKE_BLOCK_ROWS + r;
            if (r < bk->n) ids[p] = bk->ids[r];
            if (codec) {
                st = verify_codec_row(path, s, bk, b, r, p, row, ref, g);
                continue;
            }
            mvke_layout_get(&s->L, bk->data, bk->cap, r, row, g);
            if (r >= bk->n) {
                for (int j = 0; j < D && st == MVKE_OK; j++)
                    if (row[j] != 0.0f || signbit(row[j]))
                        st = mvke_error(MVKE_ERR_FORMAT, "%s: block %lld, lane %lld (past its %lld rows): value %d is not zero",
                                        path, (long long)b, (long long)r, (long long)bk->n, j);
                for (int e = 0; e < s->L.G && st == MVKE_OK; e++)
                    if (g[e] != 0.0f || signbit(g[e]))
                        st = mvke_error(MVKE_ERR_FORMAT, "%s: block %lld, lane %lld (past its %lld rows): Gram entry %d is not zero",
                                        path, (long long)b, (long long)r, (long long)bk->n, e);
                continue;
            }
            if ((st = mvke_store_check(s, 1, row, ref)) != MVKE_OK) {
                char msg[512];
                snprintf(msg, sizeof msg, "%s", mvke_last_error());
                st = mvke_error(MVKE_ERR_FORMAT, "%s: user %lld (position %lld): %s", path, (long long)bk->ids[r], (long long)p, msg);
                break;
            }
            for (int e = 0; e < s->L.G && st == MVKE_OK; e++) {
                /* The writer stores exactly what add computed; allow rounding of another program's
                 * summation order, relative to the entry's Cauchy-Schwarz bound. */
                const float tol = 1e-4f * (fabsf(ref[e]) + 1e-30f) + 1e-6f * fabsf(ref[0]);
                if (!(fabsf(g[e] - ref[e]) <= tol))
                    st = mvke_error(MVKE_ERR_FORMAT, "%s: user %lld (position %lld): Gram entry %d is %g but the stored rows "
                                    "give %g", path, (long long)bk->ids[r], (long long)p, e, (double)g[e], (double)ref[e]);
            }
        }
    }
    if (st == MVKE_OK) st = mvke_idlookup_verify(&s->lookup, ids, seen, path);
    mvke_free(row);
    mvke_free(g);
    mvke_free(ref);
    mvke_free(ids);
    mvke_free(seen);
    return st;
}

mvke_status mvke_file_verify(const char *path) {
    mvke_index *ix = NULL;
    mvke_tags *t = NULL;
    mvke_status st = mvke_file_open(path, MVKE_FILE_OPEN_DEFAULT, &ix, &t);
    if (st == MVKE_OK && ix->store.units) {
        /* Every unit, then every block's first-use checks, then the contents. */
        st = mvke_units_check_all(ix->store.units);
        if (st == MVKE_OK) st = mvke_store_check_all(&ix->store);
        if (st == MVKE_OK) st = verify_contents(path, ix);
    }
    mvke_index_free(ix);
    mvke_tags_free(t);
    return st;
}

mvke_status mvke_file_inspect(const char *path, mvke_file_info *info) {
    mvke_error_clear();
    if (!path || !info) return mvke_error(MVKE_ERR_INVALID, "mvke_file_inspect: NULL argument");
    mvke_status cst = mvke_cpu_features_check();
    if (cst != MVKE_OK) return cst;
    mapping *m;
    layout L;
    memset(&L, 0, sizeof L);
    mvke_status st = map_file(path, &m);
    if (st != MVKE_OK) return st;
    L.path = path;
    L.base = m->addr;
    L.size = m->len;
    st = parse_layout(&L);
    if (st == MVKE_OK) {
        info->version = L.h.version;
        info->size = L.size;
        info->fingerprint = L.h.header_crc;
        info->K = (int)L.h.K;
        info->d = (int)L.h.d;
        info->storage = (mvke_storage)L.h.storage;
        info->nusers = (int64_t)L.h.nusers;
        info->nsections = (int)L.h.nsections;
    }
    unmap_release(m);
    return st;
}
