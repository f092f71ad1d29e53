/*
 * fuzz_file.c - fuzz target for the index-file opener (index/file_read.c): any bytes are either
 * refused with a message, or opened. A version 2 file opens without reading its per-user bytes,
 * so an opened file either passes mvke_file_verify, and then mvke_file_inspect gives the same
 * shape and count and its users are searchable and readable back by id, or fails it, and then
 * searches and reads may fail (checksums on first use) but must not crash.
 */
#define _GNU_SOURCE /* memfd_create */
#include <math.h>

#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[64];
    int fd = fuzz_file(data, size, path, sizeof path);
    mvke_index *users = NULL;
    mvke_tags *tags = NULL;
    mvke_status st = mvke_file_open(path, MVKE_FILE_OPEN_DEFAULT, &users, &tags);
    if (st != MVKE_OK) {
        fuzz_refused(st);
        if (users || tags) abort(); /* on error both outputs are NULL */
        if (mvke_file_verify(path) == MVKE_OK) abort();
        close(fd);
        return 0;
    }
    mvke_file_info info;
    int K, d;
    int64_t n;
    const int valid = mvke_file_verify(path) == MVKE_OK;
    if (mvke_file_inspect(path, &info) != MVKE_OK) abort();
    if (mvke_index_shape(users, &K, &d, NULL) != MVKE_OK || mvke_index_count(users, &n) != MVKE_OK) abort();
    if (!valid) {
        /* Damaged per-user bytes: whatever the calls answer, they must not crash or leak. */
        mvke_index_set_threads(users, 1);
        float *q = calloc((size_t)K * d, sizeof *q), *x = malloc((size_t)K * d * sizeof *x);
        if (!q || !x) abort();
        q[0] = 1.0f;
        float s[4];
        int64_t id[4];
        if (mvke_index_search(users, 1, q, 4, NULL, s, id) == MVKE_OK)
            for (int i = 0; i < 4 && i < n; i++) (void)mvke_index_get(users, id[i], x);
        free(q);
        free(x);
        mvke_index_free(users);
        mvke_tags_free(tags);
        close(fd);
        return 0;
    }
    if (info.K != K || info.d != d || info.nusers != n || info.size != size) abort();
    /* Every row's bytes are in the file, so the counts are bounded by its size. */
    if (n < 0 || (n > 0 && (uint64_t)n * (uint64_t)K * (uint64_t)d > size)) abort();
    mvke_index_set_threads(users, 1);
    if (n > 0) {
        float *q = malloc((size_t)K * d * sizeof *q), *x = malloc((size_t)K * d * sizeof *x);
        if (!q || !x) abort();
        for (int i = 0; i < K * d; i++) q[i] = 1.0f / (float)(1 + i % 7);
        float s[4];
        int64_t id[4];
        if (mvke_index_search(users, 1, q, 4, NULL, s, id) != MVKE_OK) abort();
        for (int i = 0; i < 4 && i < n; i++) {
            if (id[i] < 0 || !(s[i] >= -1.0f && s[i] <= 1.0f)) abort();
            if (mvke_index_get(users, id[i], x) != MVKE_OK) abort();
            for (int j = 0; j < K * d; j++)
                if (!isfinite(x[j])) abort(); /* a stored row is finite */
        }
        free(q);
        free(x);
    }
    if (tags) {
        int nt;
        if (mvke_tags_ntasks(tags, &nt) != MVKE_OK || nt < 0) abort();
        for (int t = 0; t < nt; t++) {
            const char *name;
            int64_t count;
            if (mvke_tags_task(tags, t, &name, NULL, NULL) != MVKE_OK) abort();
            if (mvke_tags_count(tags, name, &count) != MVKE_OK || count < 0) abort();
        }
    }
    mvke_index_free(users);
    mvke_tags_free(tags);
    close(fd);
    return 0;
}
