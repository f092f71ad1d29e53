/*
 * world.h - a synthetic MVKE world with planted structure, for the demo, the tests and the
 * benchmarks: a tag taxonomy, tasks on subsets of the experts, tag embeddings, virtual kernels
 * and gates, and users whose expert vectors encode known preferences.
 *
 * The planted structure (docs/demo.md explains it at length):
 *  - Every tag belongs to one level-1 topic (its root) and has one facet in [0, K). Its
 *    embedding q is the topic's direction, refined level by level, plus the facet's direction.
 *  - Virtual kernel k is the direction of facet k, so a tag's gates (softmax of q . VK[k] over
 *    the task's experts) favour the expert of its facet: each expert carries one facet.
 *  - Each user prefers a few level-1 topics in the first task; each further task keeps a sparser
 *    subset of the previous task's preferences (impression -> click -> conversion). A user's
 *    expert k holds the directions of the preferred topics of the tasks that use expert k.
 * Everything follows from the seed: the same options give the same world, bit for bit.
 */
#ifndef MVKE_TOOLS_WORLD_H
#define MVKE_TOOLS_WORLD_H

#include <stddef.h>
#include <stdint.h>

#include "mvke/mvke.h"

#define MVKE_WORLD_MAX_LEVELS 8
#define MVKE_WORLD_MAX_TASKS 8
#define MVKE_WORLD_MAX_PREFS 16
#define MVKE_WORLD_MAX_NAME 64

/* A task: a name and the experts its gates may use. */
typedef struct mvke_world_task {
    char name[MVKE_WORLD_MAX_NAME];
    int experts[64];
    int nexperts;
} mvke_world_task;

typedef struct mvke_world_options {
    int64_t nusers;        /* 200000 */
    uint64_t seed;         /* 42 */
    int K, d;              /* 5, 30 */
    int nlevels;           /* 4 */
    int64_t level_counts[MVKE_WORLD_MAX_LEVELS]; /* tags per level: 18, 216, 942, 610 */
    int ntasks;            /* 2: interest on experts 0-2, intention on experts 1-4 */
    mvke_world_task tasks[MVKE_WORLD_MAX_TASKS];
    float temperature;     /* softmax temperature of the gates (1) */
    float vk_norm;         /* length of each virtual kernel (4) */
    float facet_weight;    /* length of the facet direction in a tag embedding (0.5) */
    float tag_spread;      /* length of the random step from a tag to each child (0.35) */
    float task_spread;     /* length of the random step from a tag to its task's copy (0.1) */
    float user_noise;      /* length of the noise in each user expert (2) */
    int prefs_min, prefs_max; /* level-1 topics a user prefers in the first task (2, 4) */
    float funnel;          /* chance that a preference carries over to the next task (0.4);
                              at least one always does */
} mvke_world_options;

/* A generated world. Tags are numbered i = 0 .. ntags-1 in level order (all level-1 tags, then
 * level 2, ...); every task has every tag, and row task*ntags + i of q and w is tag i of that
 * task, which is also the order of tags.tsv. Topics are the level-1 tags, 0 .. ntopics-1. */
typedef struct mvke_world {
    mvke_world_options opt;
    int64_t ntags;      /* tags per task */
    int ntopics;        /* level-1 tags */
    int64_t *tag_id;    /* ntags; ids 1 .. ntags */
    int64_t *tag_parent;/* ntags; 0 for a level-1 tag */
    int *tag_level;     /* ntags; 1 .. nlevels */
    int *tag_topic;     /* ntags; the level-1 ancestor, 0 .. ntopics-1 */
    int *tag_facet;     /* ntags; 0 .. K-1 */
    char **tag_name;    /* ntags; "Real estate - house lease - villa" */
    int64_t *topic_ntags; /* ntopics; tags under each topic, itself included */
    float *vk;          /* K*d */
    float *q;           /* ntasks*ntags*d */
    float *w;           /* ntasks*ntags*K; zero outside each task's experts */
    int64_t *user_id;   /* nusers; ids 0 .. nusers-1 */
    float *x;           /* nusers*K*d: user u's expert k at x + (u*K + k)*d */
    int32_t *pref;      /* ntasks*nusers*prefs_max preferred topics, -1 padded:
                           user u's in task t at pref + (t*nusers + u)*prefs_max */
} mvke_world;

/* Fills o with the defaults above (the paper's setting). */
void mvke_world_options_init(mvke_world_options *o);

/* Parses a task given as NAME=FIRST-LAST or NAME=i,j,k into t. Returns 0, or -1 with a reason in
 * msg (cap bytes). */
int mvke_world_parse_task(const char *spec, mvke_world_task *t, char *msg, size_t cap);

/* Parses level counts given as "18,216,942,610" into o. Returns 0, or -1 with a reason in msg. */
int mvke_world_parse_levels(const char *spec, mvke_world_options *o, char *msg, size_t cap);

/* Checks the options. Returns 0, or -1 with the first problem in msg (cap bytes). */
int mvke_world_options_check(const mvke_world_options *o, char *msg, size_t cap);

/* Generates the world. Errors: MVKE_ERR_INVALID (options that mvke_world_options_check
 * rejects), MVKE_ERR_NOMEM. *out is NULL on error; free with mvke_world_free. */
mvke_status mvke_world_new(mvke_world **out, const mvke_world_options *o);

void mvke_world_free(mvke_world *w);

/* Whether user index u prefers topic in task t (1 or 0). */
int mvke_world_prefers(const mvke_world *w, int t, int64_t u, int topic);

/* The share of all tags whose topic user u prefers in task t: the expected precision of tags
 * drawn at random. */
double mvke_world_random_precision(const mvke_world *w, int t, int64_t u);

/* An index of the users (opts as for mvke_index_new, may be NULL). Errors: those of
 * mvke_index_new and mvke_index_add. */
mvke_status mvke_world_users(const mvke_world *w, const mvke_index_options *opts, mvke_index **out);

/* A tag table with the world's tasks, virtual kernels and tags (with their gates).
 * Errors: those of mvke_tags_new, mvke_tags_add_task, mvke_tags_set_vk and mvke_tags_add. */
mvke_status mvke_world_tags(const mvke_world *w, const mvke_index_options *opts, mvke_tags **out);

/* The index of tag id in the world (-1 if none). */
int64_t mvke_world_tag_index(const mvke_world *w, int64_t id);

/* The files of a model export, in directory dir (which must exist):
 *   users.npy (n, K, d) float32, user_ids.npy (n,) int64, tags.tsv (one row per tag and task),
 *   tag_emb.npy (ntasks*ntags, d) float32, gates.npy (ntasks*ntags, K) float32,
 *   vk.npy (K, d) float32,
 * and the planted truth: planted_<task>.npy (n, prefs_max) int64, the level-1 tag ids a user
 * prefers, -1 padded. Errors: MVKE_ERR_IO with the file named in msg (cap bytes). */
mvke_status mvke_world_save(const mvke_world *w, const char *dir, char *msg, size_t cap);

#endif
