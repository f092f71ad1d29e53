/*
 * tags_impl.h - the private structure of mvke_tags: tasks, tag metadata, and per task an
 * mvke_index of the tags' gated rows keyed by tag id.
 */
#ifndef MVKE_INDEX_TAGS_IMPL_H
#define MVKE_INDEX_TAGS_IMPL_H

#include <pthread.h>

#include "idmap.h"
#include "mvke/mvke.h"

typedef struct mvke_task {
    char *name;
    int *experts;
    int nexperts;
    uint64_t mask;    /* bit k set: expert k is in the subset */
    mvke_index *rows; /* gated rows z of the task's tags, ids = tag ids */
    /* Metadata of the task's tags, append-only, slot i for the i-th tag added. */
    int64_t n, cap;
    int64_t *ids;
    char **names;
    int64_t *parents;
    float *q; /* n * d */
    float *w; /* n * K */
    mvke_idmap slot; /* tag id -> metadata slot */
} mvke_task;

struct mvke_tags {
    int K, d;
    mvke_index_options opts;
    int ntasks, cap_tasks;
    mvke_task *tasks;
    float *vk; /* K * d, or NULL */
    float temperature;
    pthread_rwlock_t lock; /* guards the task list and metadata */
    int on_gpu;            /* 1: every task's rows search on GPU gpu_device (mvke_tags_use_gpu),
                              and tasks declared later follow */
    int gpu_device;
};

/* The task named `name`, or NULL (with MVKE_ERR_UNKNOWN_TASK set as the last error). */
const mvke_task *mvke_tags_find_task(const mvke_tags *tags, const char *name);

/* mvke_tags_get_row without taking the table's lock (the caller holds it). */
mvke_status mvke_tags_row_locked(const mvke_tags *tags, const char *task, int64_t id, float *z);

#endif
