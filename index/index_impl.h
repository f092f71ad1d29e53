/*
 * index_impl.h - the private structure of mvke_index, shared by the files of index/.
 */
#ifndef MVKE_INDEX_IMPL_H
#define MVKE_INDEX_IMPL_H

#include <pthread.h>

#include "../kernels/backend.h"
#include "mvke/mvke.h"
#include "lists.h"
#include "store.h"

struct mvke_index {
    mvke_store store;
    int threads;                 /* 0 = OpenMP's default */
    const mvke_backend *backend; /* never NULL */
    pthread_rwlock_t lock;       /* searches share it; changes take it exclusively */
    int refine_R;                /* refine factor of an index keeping float32 rows (default 4) */
    mvke_search_mode mode;       /* codecs with refine rows: EXACT (default) or APPROX */
    mvke_lists lists;            /* k-means lists (n = 0: none) */
    int nprobe;                  /* lists a search reads; 0: as many as exactness needs */
    uint64_t version;            /* bumped by every change of the rows (under the write lock),
                                    so a backend holding device copies knows when to refresh */
};

/* mvke_index_new_like for a caller that holds src's lock. */
mvke_status mvke_index_new_like_unlocked(mvke_index **out, const mvke_index *src);

/* Lock helpers; the lock is logically mutable even in a const index. */
static inline void mvke_index_rdlock(const mvke_index *ix) {
    pthread_rwlock_rdlock((pthread_rwlock_t *)&ix->lock);
}
static inline void mvke_index_wrlock(mvke_index *ix) { pthread_rwlock_wrlock(&ix->lock); }
static inline void mvke_index_unlock(const mvke_index *ix) {
    pthread_rwlock_unlock((pthread_rwlock_t *)&ix->lock);
}

/* Initialises a reader-writer lock that prefers writers: searches arrive continuously, and with
 * glibc's default (readers first) a change would wait for ever behind overlapping searches. No
 * function takes such a lock for reading twice on one thread, which this kind would deadlock.
 * Returns 0 or an errno value. */
int mvke_rwlock_init(pthread_rwlock_t *lock);

/* Checks that ids are non-negative and distinct within the batch (MVKE_ERR_INVALID /
 * MVKE_ERR_DUPLICATE naming the rows). `what` names the ids in messages ("user id"). */
mvke_status mvke_ids_check_batch(int64_t n, const int64_t *ids, const char *what);

#endif
