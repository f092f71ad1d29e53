/*
 * ranks.h - which users this process serves when `mvke audience`, `tags` and `tag-all` run as
 * R ranks under mpirun (mpi/dist.h): part r of the storage positions of one index file every
 * rank opens (shared storage), or the whole of its own shard file PREFIX.<r>.mvke (written by
 * `mvke shard`). Run as one process without --shards, this is the whole index, as always.
 */
#ifndef MVKE_TOOLS_RANKS_H
#define MVKE_TOOLS_RANKS_H

#include <stdint.h>

#include "mvke/mvke.h"

/* The name of shard `part` of PREFIX: PREFIX.<part, 5 digits>.mvke. */
void cli_shard_path(const char *prefix, int part, char *buf, size_t cap);

typedef struct cli_rank_users {
    mvke_index *file;  /* the index file this rank opened */
    mvke_index *users; /* what this rank searches: `file` itself, or a view of its part of it */
    mvke_tags *tags;   /* every tag (each shard holds them all) */
    int64_t first, n;  /* this rank's storage positions in `file` */
    int parts;         /* whether the users are split over ranks (MPI active or --shards) */
    char path[4096];   /* the file opened */
} cli_rank_users;

/* Opens what this rank serves: with shards (a prefix) its shard file, all of whose users are
 * its own; else the file `index`, of which it serves part rank/size of the positions (whole
 * blocks, mvke_index_part), as a view when `view` is set. flags go to mvke_file_open. With shards, rank 0 also checks that
 * there is no shard beyond the last rank (users would be left out). Returns an exit code; errors
 * are printed for `cmd`, naming the file. */
int cli_rank_open(const char *cmd, const char *index, const char *shards, int view, unsigned flags,
                  cli_rank_users *out);

void cli_rank_close(cli_rank_users *r);

/* Result lists merged over the ranks: list i has off[i+1] - off[i] entries at ids + off[i] and
 * scores + off[i] (nq + 1 offsets). Filled on rank 0 only. */
typedef struct cli_rank_lists {
    int64_t nq;
    int64_t *off, *ids;
    float *scores;
} cli_rank_lists;

/* Collective: merges every rank's result lists (the same queries on every rank) onto rank 0
 * under the library's total order (score descending, then smaller id), keeping the first `keep`
 * entries of each list (keep <= 0: all of them, for threshold searches). Since each rank's top
 * k holds every one of its users that can be in the global top k, this equals one process's
 * answer. Returns an exit code (errors printed for `cmd`). */
int cli_rank_merge(const char *cmd, const mvke_result *local, int64_t keep, cli_rank_lists *out);

void cli_rank_lists_free(cli_rank_lists *l);

#endif
