/*
 * shape.h - what the CPU driver's parts share about one search (private to kernels/cpu): the
 * experts and Gram entries it reads, and the positions (block, row) by which it names rows
 * before their ids are read.
 */
#ifndef MVKE_KERNELS_CPU_SHAPE_H
#define MVKE_KERNELS_CPU_SHAPE_H

#include <stdint.h>

#include "../backend.h"
#include "../layout.h"

#define MVKE_SCAN_MAX_K 64
#define MVKE_SCAN_MAX_P (MVKE_SCAN_MAX_K * (MVKE_SCAN_MAX_K + 1) / 2)

/* What a search reads: the active experts and Gram entries. */
typedef struct mvke_scan_shape {
    mvke_layout L;
    int na, pa;                     /* active experts, active Gram entries (none for the dot score) */
    int act[MVKE_SCAN_MAX_K];       /* active experts, ascending */
    int ent[MVKE_SCAN_MAX_P];       /* triangle positions of the active entries, ascending */
    uint8_t diag[MVKE_SCAN_MAX_P];  /* whether active entry e is on the diagonal */
} mvke_scan_shape;

/* A row's position in the database: its block and its row in the block. */
static inline int64_t mvke_scan_pos(int64_t block, int64_t row) { return (block << 32) | row; }
static inline int64_t mvke_scan_pos_block(int64_t pos) { return pos >> 32; }
static inline int64_t mvke_scan_pos_row(int64_t pos) { return pos & 0xffffffff; }

/* The id of the row at a position of db (a const mvke_kdb *, as a selection's id_of). */
static inline int64_t mvke_scan_pos_id(const void *db, int64_t pos) {
    return ((const mvke_kdb *)db)->blocks[mvke_scan_pos_block(pos)].ids[mvke_scan_pos_row(pos)];
}

#endif
