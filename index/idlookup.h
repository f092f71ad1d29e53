/*
 * idlookup.h - the id lookup section of an index file: every user's id beside its storage
 * position, as (id, position) int64 pairs sorted by id, 16 bytes per user, searched in place in
 * the mapping. A small fence section holds the first id of every chunk of MVKE_IDLOOKUP_CHUNK
 * pairs, so a lookup reads the fences (small, checked at open) and then one chunk, whose
 * checksum unit is checked before it is searched.
 */
#ifndef MVKE_INDEX_IDLOOKUP_H
#define MVKE_INDEX_IDLOOKUP_H

#include <stdint.h>

#include "mvke/mvke.h"
#include "units.h"

/* 65536 pairs: 1 MiB, one checksum unit of the default size. */
#define MVKE_IDLOOKUP_CHUNK ((int64_t)1 << 16)

typedef struct mvke_idlookup {
    const int64_t *pairs;  /* 2n values: id, position, id, position, ... ids ascending */
    int64_t n;
    const int64_t *fences; /* nfences = ceil(n / CHUNK) values: the first id of each chunk */
    int64_t nfences;
} mvke_idlookup;

/* The position the section gives for id, or -1 in *pos. Checks the chunk it reads (units may
 * be NULL) and fails with MVKE_ERR_CHECKSUM when it is corrupted. */
mvke_status mvke_idlookup_find(const mvke_idlookup *l, const mvke_units *units, int64_t id, int64_t *pos);

/* Sorts n (id, position) pairs by id in place (radix sort; tmp holds 2n scratch values) and
 * checks that no id repeats: MVKE_ERR_DUPLICATE names the id and both positions. */
mvke_status mvke_idlookup_sort(int64_t n, int64_t *pairs, int64_t *tmp);

/* Checks a section's contents (verify): ids strictly ascending and >= 0, positions a
 * permutation of 0..n-1, each pair agreeing with the ids in storage order (ids: n values), and
 * the fences equal to the first id of every chunk. `seen` is n bits of zeroed scratch. The
 * message names `path` and the first pair that is wrong. */
mvke_status mvke_idlookup_verify(const mvke_idlookup *l, const int64_t *ids, uint64_t *seen, const char *path);

#endif
