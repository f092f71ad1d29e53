/*
 * fuzz_tsv.c - fuzz target for the tags.tsv reader (index/tsv.c): any bytes are either refused
 * with a message, or read; every row of a read taxonomy has its strings and a tag id >= 0.
 */
#define _GNU_SOURCE /* memfd_create */
#include <string.h>

#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[64];
    int fd = fuzz_file(data, size, path, sizeof path);
    mvke_taxonomy *tax = NULL;
    mvke_status st = mvke_taxonomy_read(&tax, path);
    if (st != MVKE_OK) {
        fuzz_refused(st);
        if (tax) abort();
        close(fd);
        return 0;
    }
    int64_t n;
    if (mvke_taxonomy_count(tax, &n) != MVKE_OK || n < 0 || n > (int64_t)size) abort();
    size_t total = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t id, parent;
        const char *task, *name;
        if (mvke_taxonomy_row(tax, i, &id, &task, &name, &parent) != MVKE_OK) abort();
        if (!task || !name || id < 0 || !task[0]) abort();
        total += strlen(task) + strlen(name);
    }
    if (total > size) abort(); /* every string came from the input */
    if (mvke_taxonomy_row(tax, n, NULL, NULL, NULL, NULL) != MVKE_ERR_INVALID) abort();
    mvke_taxonomy_free(tax);
    close(fd);
    return 0;
}
