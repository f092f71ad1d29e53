/*
 * npy.h - the header parser of the .npy reader, exposed inside the library so that it can be
 * tested and fuzzed on bytes in memory (the public reader is in mvke.h).
 */
#ifndef MVKE_INDEX_NPY_H
#define MVKE_INDEX_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "mvke/mvke.h"

/* numpy's limit on the header length when reading files it did not write itself. */
#define MVKE_NPY_MAX_HEADER 10000

typedef struct mvke_npy_info {
    mvke_dtype dtype;
    int ndim;
    int64_t shape[MVKE_NPY_MAX_DIMS];
    uint64_t count;       /* product of shape (1 for a 0-d array) */
    uint64_t data_offset; /* where the data starts: magic + version + length + header */
    uint64_t data_bytes;  /* count * item size */
} mvke_npy_info;

/* Parses the preamble and header at the start of a file: buf holds the first n bytes (or all of
 * them when the file is shorter). Checks everything the header declares, not the file size.
 * `name` names the file in messages. Errors: MVKE_ERR_FORMAT, MVKE_ERR_TRUNCATED. */
mvke_status mvke_npy_parse(const unsigned char *buf, size_t n, const char *name, mvke_npy_info *info);

/* Bytes of one element of dtype. */
size_t mvke_dtype_size(mvke_dtype dtype);

/* 1 for the integer dtypes (read as int64 ids), 0 for the float ones (read as float32). */
int mvke_dtype_is_int(mvke_dtype dtype);

#endif
