/*
 * file_write.c - mvke_file_save: writes an index and its tag table to one file.
 *
 * Crash safety: the file is written under a temporary name in the destination's directory,
 * fsynced, renamed over the destination and the directory fsynced, so the destination holds the
 * old file or the complete new one, never a part. The header and section table go last (their
 * checksums cover the sections' checksums, which are known only after the data is written).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../kernels/half.h"
#include "../kernels/layout.h"
#include "../kernels/runtime.h"
#include "durable.h"
#include "crc32c.h"
#include "file_format.h"
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
    float *row;      /* one row (or Gram triangle) read out of the block layout */
    uint16_t *row16; /* the same rounded to float16 */
} writer;

static void w_flush(writer *w) {
    size_t done = 0;
    if (w->st == MVKE_OK && mvke_write_all(w->fd, w->buf, w->n, (int64_t)w->off, &done) != 0)
        w->st = mvke_error(MVKE_ERR_IO, "%s: write at byte %llu failed: %s", w->path,
                           (unsigned long long)(w->off + done), strerror(errno));
    w->off += w->n;
    w->n = 0;
}

static void w_bytes(writer *w, const void *data, size_t n) {
    const unsigned char *p = data;
    w->crc = mvke_crc32c(w->crc, p, n);
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
        w_bytes(w, zeros, gap < sizeof zeros ? (size_t)gap : sizeof zeros);
        w->crc = keep;
    }
}

static uint64_t align_up(uint64_t v) { return (v + MVKE_FILE_ALIGN - 1) / MVKE_FILE_ALIGN * MVKE_FILE_ALIGN; }

/* Sizes of every section, with checked arithmetic. */
static mvke_status layout(const mvke_index *users, const mvke_tags *tags, mvke_file_entry *e, uint32_t *nsec,
                          uint64_t *names_len, uint64_t *ntags) {
    const mvke_store *s = &users->store;
    const uint64_t n = (uint64_t)s->count, D = (uint64_t)s->D, P = (uint64_t)s->P;
    *ntags = 0;
    *names_len = 0;
    for (int t = 0; tags && t < tags->ntasks; t++) {
        *ntags += (uint64_t)tags->tasks[t].n;
        for (int64_t i = 0; i < tags->tasks[t].n; i++) *names_len += strlen(tags->tasks[t].names[i]);
    }
    const uint64_t ntasks = tags ? (uint64_t)tags->ntasks : 0;
    uint64_t sizes[MVKE_SEC_KINDS + 1] = {0};
    int ok = 1;
    sizes[MVKE_SEC_OPTIONS] = MVKE_FILE_OPTIONS_SIZE;
    sizes[MVKE_SEC_TASKS] = ntasks * MVKE_FILE_TASK_SIZE;
    ok &= !__builtin_mul_overflow(*ntags, (uint64_t)MVKE_FILE_TAG_SIZE, &sizes[MVKE_SEC_TAGS]);
    sizes[MVKE_SEC_TAG_NAMES] = *names_len;
    ok &= !__builtin_mul_overflow(*ntags, (uint64_t)s->d * 4, &sizes[MVKE_SEC_TAG_Q]);
    ok &= !__builtin_mul_overflow(*ntags, (uint64_t)s->K * 4, &sizes[MVKE_SEC_TAG_W]);
    sizes[MVKE_SEC_VK] = (uint64_t)s->K * (uint64_t)s->d * 4;
    ok &= !__builtin_mul_overflow(n, (uint64_t)8, &sizes[MVKE_SEC_USER_IDS]);
    ok &= !__builtin_mul_overflow(n, D * (s->storage == MVKE_STORAGE_F16 ? 2 : 4), &sizes[MVKE_SEC_USER_ROWS]);
    ok &= !__builtin_mul_overflow(n, P * 4, &sizes[MVKE_SEC_USER_GRAM]);
    if (!ok) return mvke_error(MVKE_ERR_INVALID, "the index is too large for a file");
    uint32_t k = 0;
    uint64_t off = align_up(MVKE_FILE_HEADER_SIZE + (uint64_t)MVKE_FILE_ENTRY_SIZE * MVKE_SEC_KINDS);
    for (uint32_t kind = 1; kind <= MVKE_SEC_KINDS; kind++) {
        if (kind == MVKE_SEC_VK && !(tags && tags->vk)) continue;
        e[k] = (mvke_file_entry){kind, 0, off, sizes[kind], 0, 0};
        if (__builtin_add_overflow(off, sizes[kind], &off) || off > UINT64_MAX - MVKE_FILE_ALIGN)
            return mvke_error(MVKE_ERR_INVALID, "the index is too large for a file");
        off = align_up(off);
        k++;
    }
    *nsec = k;
    return MVKE_OK;
}

static void write_section(writer *w, const mvke_index *users, const mvke_tags *tags, mvke_file_entry *e) {
    const mvke_store *s = &users->store;
    w_pad_to(w, e->offset);
    w->crc = 0;
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
    case MVKE_SEC_USER_IDS:
        for (int64_t b = 0; b < s->nblocks; b++) w_bytes(w, s->blocks[b].ids, (size_t)s->blocks[b].n * 8);
        break;
    case MVKE_SEC_USER_ROWS:
    case MVKE_SEC_USER_GRAM:
        /* Row-major in this format version: each row is read out of the block layout. */
        for (int64_t b = 0; b < s->nblocks && w->st == MVKE_OK; b++) {
            const mvke_store_block *bk = &s->blocks[b];
            for (int64_t r = 0; r < bk->n; r++) {
                if (e->kind == MVKE_SEC_USER_GRAM) {
                    mvke_layout_get(&s->L, bk->data, bk->cap, r, NULL, w->row);
                    w_bytes(w, w->row, (size_t)s->P * 4);
                } else {
                    mvke_layout_get(&s->L, bk->data, bk->cap, r, w->row, NULL);
                    if (s->storage == MVKE_STORAGE_F16) {
                        mvke_half_from_float(w->row, w->row16, (size_t)s->D);
                        w_bytes(w, w->row16, (size_t)s->D * 2);
                    } else {
                        w_bytes(w, w->row, (size_t)s->D * 4);
                    }
                }
            }
        }
        break;
    }
    e->crc = w->crc;
}

/* The directory part of path ("." when it has none), in buf. */
mvke_status mvke_file_save(const char *path, const mvke_index *users, const mvke_tags *tags) {
    mvke_error_clear();
    if (!path || !*path || !users) return mvke_error(MVKE_ERR_INVALID, "mvke_file_save: NULL path or index");
    if (tags && (tags->K != users->store.K || tags->d != users->store.d))
        return mvke_error(MVKE_ERR_INVALID, "the index (K = %d, d = %d) and the tag table (K = %d, d = %d) differ",
                          users->store.K, users->store.d, tags->K, tags->d);
    const char *why;
    if (mvke_outpath_check(path, &why) != 0)
        return mvke_error(MVKE_ERR_INVALID, "%s %s: only a regular file is replaced", path, why);
    const size_t plen = strlen(path);
    char *tmp = mvke_malloc(plen + 48);
    unsigned char *buf = mvke_malloc(1 << 20);
    const size_t rowcap = (size_t)(users->store.D > users->store.P ? users->store.D : users->store.P);
    float *row = mvke_malloc_array(rowcap, sizeof *row);
    uint16_t *row16 = mvke_malloc_array(rowcap, sizeof *row16);
    if (!tmp || !buf || !row || !row16) {
        mvke_free(tmp);
        mvke_free(buf);
        mvke_free(row);
        mvke_free(row16);
        return mvke_error(MVKE_ERR_NOMEM, "out of memory saving %s", path);
    }
    if (users->store.storage == MVKE_STORAGE_BF16) {
        mvke_free(tmp);
        mvke_free(buf);
        mvke_free(row);
        mvke_free(row16);
        return mvke_error(MVKE_ERR_UNSUPPORTED, "%s: index files of format version %u cannot hold bfloat16 rows", path,
                          MVKE_FILE_VERSION);
    }
    snprintf(tmp, plen + 48, "%s.tmp", path); /* for messages until the temporary exists */
    mvke_index_rdlock(users);
    if (tags) pthread_rwlock_rdlock((pthread_rwlock_t *)&tags->lock);
    mvke_file_entry e[MVKE_FILE_MAX_SECTIONS];
    uint32_t nsec = 0;
    uint64_t names_len, ntags;
    writer w = {-1, tmp, buf, 0, 1 << 20, 0, 0, MVKE_OK, row, row16};
    w.st = layout(users, tags, e, &nsec, &names_len, &ntags);
    if (w.st == MVKE_OK) {
        w.fd = mvke_outpath_tmp_open(path, tmp, plen + 48);
        if (w.fd < 0) w.st = mvke_error(MVKE_ERR_IO, "%s: cannot create a temporary file: %s", path, strerror(errno));
        else if (!tmp[0]) snprintf(tmp, plen + 48, "%s (unnamed temporary)", path);
    }
    if (w.st == MVKE_OK) {
        w.off = e[0].offset;
        for (uint32_t i = 0; i < nsec && w.st == MVKE_OK; i++) write_section(&w, users, tags, &e[i]);
        w_pad_to(&w, e[nsec - 1].offset + e[nsec - 1].size);
        w_flush(&w);
    }
    if (tags) pthread_rwlock_unlock((pthread_rwlock_t *)&tags->lock);
    const mvke_store *s = &users->store;
    mvke_file_header h = {MVKE_FILE_VERSION, w.off, MVKE_FILE_HEADER_SIZE, nsec, (uint32_t)s->K, (uint32_t)s->d,
                          (uint32_t)s->storage, (uint64_t)s->count, 0, 0};
    mvke_index_unlock(users);
    if (w.st == MVKE_OK) {
        /* Header and table, then make everything durable before the name points at it. */
        unsigned char *head = buf; /* the buffer is free again */
        memset(head, 0, e[0].offset);
        for (uint32_t i = 0; i < nsec; i++)
            mvke_file_encode_entry(&e[i], head + MVKE_FILE_HEADER_SIZE + i * MVKE_FILE_ENTRY_SIZE);
        h.table_crc = mvke_crc32c(0, head + MVKE_FILE_HEADER_SIZE, (size_t)nsec * MVKE_FILE_ENTRY_SIZE);
        mvke_file_encode_header(&h, head);
        w.off = 0;
        w.n = (size_t)e[0].offset;
        w_flush(&w);
    }
    if (w.st == MVKE_OK && fsync(w.fd) != 0) w.st = mvke_error(MVKE_ERR_IO, "%s: fsync: %s", tmp, strerror(errno));
    const char *tmp_name = strstr(tmp, " (unnamed") ? "" : tmp;
    if (w.st == MVKE_OK && mvke_outpath_tmp_commit(w.fd, tmp_name, path) != 0)
        w.st = mvke_error(MVKE_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (w.fd >= 0 && close(w.fd) != 0 && w.st == MVKE_OK) w.st = mvke_error(MVKE_ERR_IO, "%s: close: %s", tmp, strerror(errno));
    if (w.st != MVKE_OK) {
        if (w.fd >= 0) mvke_outpath_tmp_discard(tmp_name);
    } else {
        char dir[4096];
        mvke_dir_of(path, dir, sizeof dir);
        if (mvke_fsync_dir_of(path) != 0)
            w.st = mvke_error(MVKE_ERR_IO, "%s: fsync of the directory failed: %s (the file is in place)", dir,
                              strerror(errno));
    }
    mvke_free(tmp);
    mvke_free(buf);
    mvke_free(row);
    mvke_free(row16);
    return w.st;
}
