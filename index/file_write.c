/*
 * file_write.c - mvke_file_save: writes an index and its tag table to one file.
 *
 * Crash safety: the file is written under a temporary name in the destination's directory,
 * fsynced, renamed over the destination and the directory fsynced, so the destination holds the
 * old file or the complete new one, never a part. The header and section table go last (their
 * checksums cover the sections' checksums, which are known only after the data is written).
 *
 * Format version 2: the user blocks are written in the block layout they have in memory, with
 * their tight capacity, so that a reader maps them in place; the bulk sections' checksum units
 * are summed while they stream out and written as the last section. Saving a mapped index first
 * checks every block it copies out, so a corrupted byte never gets a fresh checksum.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../kernels/layout.h"
#include "../kernels/runtime.h"
#include "durable.h"
#include "crc32c.h"
#include "file_format.h"
#include "idlookup.h"
#include "index_impl.h"
#include "outpath.h"
#include "tags_impl.h"

typedef struct writer {
    int fd;
    const char *path; /* the temporary file, for messages */
    unsigned char *buf;
    size_t n, cap;
    uint64_t off; /* file offset of buf[0] */
    uint32_t crc; /* of the current section */
    mvke_status st;
    /* Checksum units of the bulk section being written (units == NULL for a small section). */
    uint32_t *units;
    uint64_t nunits, upos, usize; /* next unit; bytes into it; unit size */
    uint32_t ucrc;
    int cur_bulk; /* the section being written is bulk: sum units, not a section CRC */
    const int64_t *pairs; /* the sorted (id, position) pairs */
    void *tight;          /* scratch for a block written with its tight capacity */
} writer;

static void w_flush(writer *w) {
    size_t done = 0;
    if (w->st == MVKE_OK && mvke_write_all(w->fd, w->buf, w->n, (int64_t)w->off, &done) != 0)
        w->st = mvke_error(MVKE_ERR_IO, "%s: write at byte %llu failed: %s", w->path,
                           (unsigned long long)(w->off + done), strerror(errno));
    w->off += w->n;
    w->n = 0;
}

/* Sums n bytes into the current unit, closing units at their boundaries. */
static void w_units(writer *w, const unsigned char *p, size_t n) {
    while (n) {
        size_t m = w->usize - w->upos < n ? (size_t)(w->usize - w->upos) : n;
        w->ucrc = mvke_crc32c(w->ucrc, p, m);
        w->upos += m;
        p += m;
        n -= m;
        if (w->upos == w->usize) {
            w->units[w->nunits++] = w->ucrc;
            w->ucrc = 0;
            w->upos = 0;
        }
    }
}

/* Ends the bulk section being summed: its last, partial unit. */
static void w_units_end(writer *w) {
    if (w->units && w->upos) w->units[w->nunits++] = w->ucrc;
    w->ucrc = 0;
    w->upos = 0;
}

static void w_bytes(writer *w, const void *data, size_t n) {
    const unsigned char *p = data;
    if (w->cur_bulk) w_units(w, p, n);
    else w->crc = mvke_crc32c(w->crc, p, n);
    while (n && w->st == MVKE_OK) {
        size_t m = w->cap - w->n < n ? w->cap - w->n : n;
        memcpy(w->buf + w->n, p, m);
        w->n += m;
        p += m;
        n -= m;
        if (w->n == w->cap) w_flush(w);
    }
}

/* Zero padding up to file offset `to` (not part of any section's checksum; readers require zeros). */
static void w_pad_to(writer *w, uint64_t to) {
    static const unsigned char zeros[MVKE_FILE_ALIGN];
    while (w->st == MVKE_OK && w->off + w->n < to) {
        uint64_t gap = to - (w->off + w->n);
        uint32_t keep = w->crc;
        int bulk = w->cur_bulk;
        w->cur_bulk = 0;
        w_bytes(w, zeros, gap < sizeof zeros ? (size_t)gap : sizeof zeros);
        w->crc = keep;
        w->cur_bulk = bulk;
    }
}

static uint64_t align_up(uint64_t v) { return (v + MVKE_FILE_ALIGN - 1) / MVKE_FILE_ALIGN * MVKE_FILE_ALIGN; }

/* Bytes of the user blocks section: every block but the last is full. */
static int blocks_bytes(const mvke_store *s, uint64_t *full, uint64_t *total) {
    *full = mvke_layout_block_bytes(&s->L, MVKE_BLOCK_ROWS);
    *total = 0;
    if (s->nblocks == 0) return 1;
    const int64_t last = s->blocks[s->nblocks - 1].n;
    return !__builtin_mul_overflow((uint64_t)(s->nblocks - 1), *full, total) &&
           !__builtin_add_overflow(*total, (uint64_t)mvke_layout_block_bytes(&s->L, mvke_layout_round(last)), total);
}

/* The sections in file order: small ones first, then the bulk ones, the checksums last. */
static const uint32_t ORDER[] = {MVKE_SEC_OPTIONS,    MVKE_SEC_TASKS,       MVKE_SEC_TAGS,       MVKE_SEC_TAG_NAMES,
                                 MVKE_SEC_TAG_Q,      MVKE_SEC_TAG_W,       MVKE_SEC_VK,         MVKE_SEC_CODEC,
                                 MVKE_SEC_LISTS,
                                 MVKE_SEC_ID_FENCES,  MVKE_SEC_USER_IDS,    MVKE_SEC_USER_BLOCKS, MVKE_SEC_ID_LOOKUP,
                                 MVKE_SEC_REFINE_ROWS, MVKE_SEC_CHECKSUMS};
#define NORDER (sizeof ORDER / sizeof ORDER[0])

/* The checksum unit of a file: smaller with refine rows, whose units are checked one candidate
 * row at a time. */
static unsigned unit_shift(const mvke_store *s) {
    return s->L.refine ? MVKE_FILE_UNIT_SHIFT_REFINE : MVKE_FILE_UNIT_SHIFT;
}

/* Sizes and offsets of every section, with checked arithmetic; *nunits: the checksum units. */
static mvke_status layout(const mvke_index *users, const mvke_tags *tags, mvke_file_entry *e, uint32_t *nsec,
                          uint64_t *nunits) {
    const mvke_store *s = &users->store;
    const uint64_t n = (uint64_t)s->count;
    uint64_t ntags = 0, names_len = 0;
    for (int t = 0; tags && t < tags->ntasks; t++) {
        ntags += (uint64_t)tags->tasks[t].n;
        for (int64_t i = 0; i < tags->tasks[t].n; i++) names_len += strlen(tags->tasks[t].names[i]);
    }
    const uint64_t ntasks = tags ? (uint64_t)tags->ntasks : 0;
    uint64_t sizes[MVKE_SEC_KINDS + 1] = {0}, full;
    int ok = 1;
    sizes[MVKE_SEC_OPTIONS] = MVKE_FILE_OPTIONS_SIZE;
    sizes[MVKE_SEC_TASKS] = ntasks * MVKE_FILE_TASK_SIZE;
    ok &= !__builtin_mul_overflow(ntags, (uint64_t)MVKE_FILE_TAG_SIZE, &sizes[MVKE_SEC_TAGS]);
    sizes[MVKE_SEC_TAG_NAMES] = names_len;
    ok &= !__builtin_mul_overflow(ntags, (uint64_t)s->d * 4, &sizes[MVKE_SEC_TAG_Q]);
    ok &= !__builtin_mul_overflow(ntags, (uint64_t)s->K * 4, &sizes[MVKE_SEC_TAG_W]);
    sizes[MVKE_SEC_VK] = (uint64_t)s->K * (uint64_t)s->d * 4;
    sizes[MVKE_SEC_ID_FENCES] = (n + MVKE_IDLOOKUP_CHUNK - 1) / MVKE_IDLOOKUP_CHUNK * 8;
    ok &= !__builtin_mul_overflow(n, (uint64_t)8, &sizes[MVKE_SEC_USER_IDS]);
    ok &= blocks_bytes(s, &full, &sizes[MVKE_SEC_USER_BLOCKS]);
    ok &= !__builtin_mul_overflow(n, (uint64_t)16, &sizes[MVKE_SEC_ID_LOOKUP]);
    const int codec = mvke_storage_is_codec(s->storage);
    if (codec) sizes[MVKE_SEC_CODEC] = mvke_file_codec_bytes((uint32_t)s->storage, (uint64_t)s->K, (uint64_t)s->d);
    if (s->L.refine) ok &= !__builtin_mul_overflow(n, (uint64_t)s->D * 4, &sizes[MVKE_SEC_REFINE_ROWS]);
    const int lists = users->lists.n > 0;
    if (lists) sizes[MVKE_SEC_LISTS] = mvke_file_lists_bytes((uint64_t)users->lists.n, (uint64_t)s->K, (uint64_t)s->d);
    const unsigned sh = unit_shift(s);
    *nunits = mvke_units_count(sizes[MVKE_SEC_USER_IDS], sh) + mvke_units_count(sizes[MVKE_SEC_USER_BLOCKS], sh) +
              mvke_units_count(sizes[MVKE_SEC_ID_LOOKUP], sh) + mvke_units_count(sizes[MVKE_SEC_REFINE_ROWS], sh);
    sizes[MVKE_SEC_CHECKSUMS] = MVKE_FILE_CHECKSUMS_HEAD + 4 * *nunits;
    if (!ok) return mvke_error(MVKE_ERR_INVALID, "the index is too large for a file");
    uint32_t k = 0;
    uint64_t off = align_up(MVKE_FILE_HEADER_SIZE + (uint64_t)MVKE_FILE_ENTRY_SIZE * NORDER);
    for (size_t i = 0; i < NORDER; i++) {
        const uint32_t kind = ORDER[i];
        if (kind == MVKE_SEC_VK && !(tags && tags->vk)) continue;
        if (kind == MVKE_SEC_CODEC && !codec) continue;
        if (kind == MVKE_SEC_REFINE_ROWS && !s->L.refine) continue;
        if (kind == MVKE_SEC_LISTS && !lists) continue;
        e[k] = (mvke_file_entry){kind, 0, off, sizes[kind], 0, 0};
        if (__builtin_add_overflow(off, sizes[kind], &off) || off > UINT64_MAX - MVKE_FILE_ALIGN)
            return mvke_error(MVKE_ERR_INVALID, "the index is too large for a file");
        off = align_up(off);
        k++;
    }
    *nsec = k;
    return MVKE_OK;
}

/* The storage blocks one after another, each with its tight capacity. */
static void write_blocks(writer *w, const mvke_store *s) {
    for (int64_t b = 0; b < s->nblocks && w->st == MVKE_OK; b++) {
        const mvke_store_block *bk = &s->blocks[b];
        const int64_t cap = mvke_layout_round(bk->n);
        const size_t bytes = mvke_layout_block_bytes(&s->L, cap);
        if (bk->cap == cap) {
            w_bytes(w, bk->data, bytes);
            continue;
        }
        /* An owned block with room to grow: lay its rows out tight (only the last block can be
         * partial, so one scratch buffer serves). */
        if (!w->tight && !(w->tight = mvke_calloc(1, bytes))) {
            w->st = mvke_error(MVKE_ERR_NOMEM, "out of memory laying out a block of %lld rows", (long long)bk->n);
            return;
        }
        memset(w->tight, 0, bytes);
        mvke_layout_copy_rows(&s->L, w->tight, cap, bk->data, bk->cap, bk->n);
        w_bytes(w, w->tight, bytes);
    }
}

static void write_section(writer *w, const mvke_index *users, const mvke_tags *tags, mvke_file_entry *e) {
    const mvke_store *s = &users->store;
    w_pad_to(w, e->offset);
    w->crc = 0;
    w->cur_bulk = mvke_file_bulk(e->kind);
    unsigned char rec[MVKE_FILE_TASK_SIZE];
    const int ntasks = tags ? tags->ntasks : 0; /* a NULL table saves as an empty one */
    switch (e->kind) {
    case MVKE_SEC_OPTIONS: {
        memset(rec, 0, MVKE_FILE_OPTIONS_SIZE);
        uint64_t nt = 0;
        for (int t = 0; tags && t < tags->ntasks; t++) nt += (uint64_t)tags->tasks[t].n;
        uint32_t temp;
        float tf = tags ? tags->temperature : 1.0f;
        memcpy(&temp, &tf, 4);
        mvke_put_u32(rec, tags ? (uint32_t)tags->opts.storage : 0);
        mvke_put_u32(rec + 4, temp);
        mvke_put_u32(rec + 8, tags && tags->vk ? 1 : 0);
        mvke_put_u32(rec + 12, tags ? (uint32_t)tags->ntasks : 0);
        mvke_put_u64(rec + 16, nt);
        mvke_put_u32(rec + 24, (uint32_t)s->L.score);
        w_bytes(w, rec, MVKE_FILE_OPTIONS_SIZE);
        break;
    }
    case MVKE_SEC_TASKS:
        for (int t = 0; t < ntasks; t++) {
            const mvke_task *tk = &tags->tasks[t];
            memset(rec, 0, sizeof rec);
            memcpy(rec, tk->name, strlen(tk->name)); /* at most 255 bytes: the table checks names */
            for (int k = 0; k < tk->nexperts; k++) rec[256 + k] = (unsigned char)tk->experts[k];
            mvke_put_u32(rec + 320, (uint32_t)tk->nexperts);
            mvke_put_u64(rec + 328, (uint64_t)tk->n);
            w_bytes(w, rec, MVKE_FILE_TASK_SIZE);
        }
        break;
    case MVKE_SEC_TAGS: {
        uint64_t name_off = 0;
        for (int t = 0; t < ntasks; t++)
            for (int64_t i = 0; i < tags->tasks[t].n; i++) {
                const mvke_task *tk = &tags->tasks[t];
                const size_t len = strlen(tk->names[i]);
                memset(rec, 0, MVKE_FILE_TAG_SIZE);
                mvke_put_u64(rec, (uint64_t)tk->ids[i]);
                mvke_put_u64(rec + 8, (uint64_t)tk->parents[i]);
                mvke_put_u64(rec + 16, name_off);
                mvke_put_u32(rec + 24, (uint32_t)len);
                w_bytes(w, rec, MVKE_FILE_TAG_SIZE);
                name_off += len;
            }
        break;
    }
    case MVKE_SEC_TAG_NAMES:
        for (int t = 0; t < ntasks; t++)
            for (int64_t i = 0; i < tags->tasks[t].n; i++) w_bytes(w, tags->tasks[t].names[i], strlen(tags->tasks[t].names[i]));
        break;
    case MVKE_SEC_TAG_Q:
        for (int t = 0; t < ntasks; t++)
            w_bytes(w, tags->tasks[t].q, (size_t)tags->tasks[t].n * (size_t)tags->d * sizeof(float));
        break;
    case MVKE_SEC_TAG_W:
        for (int t = 0; t < ntasks; t++)
            w_bytes(w, tags->tasks[t].w, (size_t)tags->tasks[t].n * (size_t)tags->K * sizeof(float));
        break;
    case MVKE_SEC_VK:
        w_bytes(w, tags->vk, (size_t)tags->K * (size_t)tags->d * sizeof(float));
        break;
    case MVKE_SEC_ID_FENCES:
        for (int64_t c = 0; c * MVKE_IDLOOKUP_CHUNK < s->count; c++) {
            mvke_put_u64(rec, (uint64_t)w->pairs[2 * c * MVKE_IDLOOKUP_CHUNK]);
            w_bytes(w, rec, 8);
        }
        break;
    case MVKE_SEC_USER_IDS:
        for (int64_t b = 0; b < s->nblocks; b++) w_bytes(w, s->blocks[b].ids, (size_t)s->blocks[b].n * 8);
        break;
    case MVKE_SEC_USER_BLOCKS:
        write_blocks(w, s);
        break;
    case MVKE_SEC_CODEC: {
        const mvke_codec *c = &s->codec;
        const size_t D = (size_t)s->D;
        memset(rec, 0, MVKE_FILE_CODEC_HEAD);
        mvke_put_u32(rec, (uint32_t)s->storage);
        mvke_put_u32(rec + 4, (uint32_t)c->m);
        mvke_put_u32(rec + 8, (uint32_t)s->L.refine);
        mvke_put_u64(rec + 16, (uint64_t)c->train_rows);
        w_bytes(w, rec, MVKE_FILE_CODEC_HEAD);
        if (s->storage == MVKE_STORAGE_SQ8) {
            w_bytes(w, c->vmin, D * sizeof(float));
            w_bytes(w, c->scale, D * sizeof(float));
        } else {
            w_bytes(w, c->cent, D * MVKE_PQ_CENTROIDS * sizeof(float));
        }
        w_bytes(w, c->bunit, (size_t)s->K * sizeof(float));
        break;
    }
    case MVKE_SEC_LISTS: {
        const mvke_lists *l = &users->lists;
        memset(rec, 0, MVKE_FILE_LISTS_HEAD);
        mvke_put_u32(rec, (uint32_t)l->n);
        w_bytes(w, rec, MVKE_FILE_LISTS_HEAD);
        for (int j = 0; j <= l->n; j++) {
            mvke_put_u64(rec, (uint64_t)l->off[j]);
            w_bytes(w, rec, 8);
        }
        w_bytes(w, l->cent, (size_t)l->n * (size_t)s->D * sizeof(float));
        w_bytes(w, l->radius, (size_t)l->n * (size_t)s->K * sizeof(float));
        break;
    }
    case MVKE_SEC_REFINE_ROWS:
        for (int64_t b = 0; b < s->nblocks; b++)
            w_bytes(w, s->blocks[b].refine, (size_t)s->blocks[b].n * (size_t)s->D * sizeof(float));
        break;
    case MVKE_SEC_ID_LOOKUP:
        w_bytes(w, w->pairs, (size_t)s->count * 16);
        break;
    case MVKE_SEC_CHECKSUMS: {
        memset(rec, 0, MVKE_FILE_CHECKSUMS_HEAD);
        mvke_put_u32(rec, unit_shift(s));
        mvke_put_u64(rec + 8, w->nunits);
        w_bytes(w, rec, MVKE_FILE_CHECKSUMS_HEAD);
        for (uint64_t i = 0; i < w->nunits; i++) {
            mvke_put_u32(rec, w->units[i]);
            w_bytes(w, rec, 4);
        }
        break;
    }
    }
    if (w->cur_bulk) {
        w_units_end(w);
        w->cur_bulk = 0;
        w->crc = 0; /* bulk sections are covered by their units; the entry's CRC is 0 */
    }
    e->crc = w->crc;
}

/* The (id, position) pairs of every row, sorted by id: the id lookup section. Checks the ids it
 * reads from mapped blocks first. */
static mvke_status sorted_pairs(const mvke_store *s, int64_t **out) {
    *out = NULL;
    const size_t n = (size_t)s->count;
    int64_t *pairs = mvke_malloc_array(n ? 2 * n : 1, sizeof *pairs);
    int64_t *tmp = mvke_malloc_array(n ? 2 * n : 1, sizeof *tmp);
    mvke_status st = MVKE_OK;
    if (!pairs || !tmp) st = mvke_error(MVKE_ERR_NOMEM, "out of memory sorting %lld ids", (long long)n);
    for (int64_t p = 0; p < s->count && st == MVKE_OK; p++) {
        pairs[2 * p] = mvke_store_id(s, p);
        pairs[2 * p + 1] = p;
    }
    if (st == MVKE_OK) st = mvke_idlookup_sort((int64_t)n, pairs, tmp);
    mvke_free(tmp);
    if (st != MVKE_OK) {
        mvke_free(pairs);
        return st;
    }
    *out = pairs;
    return MVKE_OK;
}

/* Writes every section to the temporary file, the header and table last. */
static void write_all(writer *w, const mvke_index *users, const mvke_tags *tags, mvke_file_entry *e, uint32_t nsec) {
    w->off = e[0].offset;
    for (uint32_t i = 0; i < nsec && w->st == MVKE_OK; i++) write_section(w, users, tags, &e[i]);
    w_pad_to(w, e[nsec - 1].offset + e[nsec - 1].size);
    w_flush(w);
    if (w->st != MVKE_OK) return;
    const mvke_store *s = &users->store;
    mvke_file_header h = {MVKE_FILE_VERSION, w->off, MVKE_FILE_HEADER_SIZE, nsec, (uint32_t)s->K, (uint32_t)s->d,
                          (uint32_t)s->storage, (uint64_t)s->count, 0, 0};
    unsigned char *head = w->buf; /* the buffer is free again */
    memset(head, 0, e[0].offset);
    for (uint32_t i = 0; i < nsec; i++)
        mvke_file_encode_entry(&e[i], head + MVKE_FILE_HEADER_SIZE + i * MVKE_FILE_ENTRY_SIZE);
    h.table_crc = mvke_crc32c(0, head + MVKE_FILE_HEADER_SIZE, (size_t)nsec * MVKE_FILE_ENTRY_SIZE);
    mvke_file_encode_header(&h, head);
    w->off = 0;
    w->n = (size_t)e[0].offset;
    w_flush(w);
}

/* fsync, close, rename over path, fsync the directory; on failure the temporary file goes. */
static void publish(writer *w, const char *tmp, const char *path) {
    if (w->st == MVKE_OK && fsync(w->fd) != 0) w->st = mvke_error(MVKE_ERR_IO, "%s: fsync: %s", tmp, strerror(errno));
    /* An O_TMPFILE temporary has no name: it is linked in under path (index/outpath.h). */
    const char *tmp_name = strstr(tmp, " (unnamed") ? "" : tmp;
    if (w->st == MVKE_OK && mvke_outpath_tmp_commit(w->fd, tmp_name, path) != 0)
        w->st = mvke_error(MVKE_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (w->fd >= 0 && close(w->fd) != 0 && w->st == MVKE_OK)
        w->st = mvke_error(MVKE_ERR_IO, "%s: close: %s", tmp, strerror(errno));
    if (w->st != MVKE_OK) {
        if (w->fd >= 0) mvke_outpath_tmp_discard(tmp_name);
        return;
    }
    char dir[4096];
    mvke_dir_of(path, dir, sizeof dir);
    if (mvke_fsync_dir_of(path) != 0)
        w->st = mvke_error(MVKE_ERR_IO, "%s: fsync of the directory failed: %s (the file is in place)", dir,
                           strerror(errno));
}

mvke_status mvke_file_save(const char *path, const mvke_index *users, const mvke_tags *tags) {
    mvke_error_clear();
    if (!path || !*path || !users) return mvke_error(MVKE_ERR_INVALID, "mvke_file_save: NULL path or index");
    if (tags && (tags->K != users->store.K || tags->d != users->store.d))
        return mvke_error(MVKE_ERR_INVALID, "the index (K = %d, d = %d) and the tag table (K = %d, d = %d) differ",
                          users->store.K, users->store.d, tags->K, tags->d);
    if (tags && tags->opts.score != users->store.L.score)
        return mvke_error(MVKE_ERR_INVALID, "the index scores by %s and the tag table by %s: a file keeps one score",
                          mvke_score_name(users->store.L.score), mvke_score_name(tags->opts.score));
    const char *why;
    if (mvke_outpath_check(path, &why) != 0)
        return mvke_error(MVKE_ERR_INVALID, "%s %s: only a regular file is replaced", path, why);
    const size_t plen = strlen(path);
    char *tmp = mvke_malloc(plen + 48);
    unsigned char *buf = mvke_malloc(1 << 20);
    if (!tmp || !buf) {
        mvke_free(tmp);
        mvke_free(buf);
        return mvke_error(MVKE_ERR_NOMEM, "out of memory saving %s", path);
    }
    if (!mvke_store_trained(&users->store)) {
        mvke_free(tmp);
        mvke_free(buf);
        return mvke_error(MVKE_ERR_UNTRAINED, "%s: the %s index is not trained: a file holds a trained codec", path,
                          mvke_storage_name(users->store.storage));
    }
    snprintf(tmp, plen + 48, "%s.tmp", path); /* for messages until the temporary exists */
    mvke_index_rdlock(users);
    if (tags) pthread_rwlock_rdlock((pthread_rwlock_t *)&tags->lock);
    const mvke_store *s = &users->store;
    mvke_file_entry e[MVKE_FILE_MAX_SECTIONS];
    uint32_t nsec = 0;
    uint64_t nunits = 0;
    int64_t *pairs = NULL;
    writer w = {.fd = -1, .path = tmp, .buf = buf, .cap = 1 << 20, .st = MVKE_OK,
                .usize = (uint64_t)1 << unit_shift(&users->store)};
    w.st = mvke_store_check_all(s); /* never re-checksum bytes that fail their checks */
    for (int64_t b = 0; b < s->nblocks && w.st == MVKE_OK; b++)
        if (s->blocks[b].refine && !s->blocks[b].owned)
            w.st = mvke_units_check(s->units, s->blocks[b].refine, (size_t)s->blocks[b].n * (size_t)s->D * sizeof(float));
    if (w.st == MVKE_OK) w.st = layout(users, tags, e, &nsec, &nunits);
    if (w.st == MVKE_OK && !(w.units = mvke_malloc_array((size_t)(nunits ? nunits : 1), sizeof *w.units)))
        w.st = mvke_error(MVKE_ERR_NOMEM, "out of memory for %llu checksums", (unsigned long long)nunits);
    if (w.st == MVKE_OK) w.st = sorted_pairs(s, &pairs);
    w.pairs = pairs;
    if (w.st == MVKE_OK) {
        w.fd = mvke_outpath_tmp_open(path, tmp, plen + 48);
        if (w.fd < 0) w.st = mvke_error(MVKE_ERR_IO, "%s: cannot create a temporary file: %s", path, strerror(errno));
        else if (!tmp[0]) snprintf(tmp, plen + 48, "%s (unnamed temporary)", path);
    }
    if (w.st == MVKE_OK) write_all(&w, users, tags, e, nsec);
    if (tags) pthread_rwlock_unlock((pthread_rwlock_t *)&tags->lock);
    mvke_index_unlock(users);
    publish(&w, tmp, path);
    mvke_free(tmp);
    mvke_free(buf);
    mvke_free(pairs);
    mvke_free(w.units);
    mvke_free(w.tight);
    return w.st;
}
