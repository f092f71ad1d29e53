/*
 * world.h - a synthetic MVKE world with planted structure, for `mvke demo`, `mvke gen` and the
 * tests: a tag taxonomy, tasks on subsets of the experts, tag embeddings, virtual kernels
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
 * Everything follows from the seed (through rng.h): the same options give the same world, bit
 * for bit, and any range of users can be made again on its own (synth_world_user_rows).
 */
#ifndef MVKE_SUPPORT_WORLD_H
#define MVKE_SUPPORT_WORLD_H

#include <stddef.h>
#include <stdint.h>

#include "mvke/mvke.h"

#define SYNTH_WORLD_MAX_LEVELS 8
#define SYNTH_WORLD_MAX_TASKS 8
#define SYNTH_WORLD_MAX_PREFS 16
#define SYNTH_WORLD_MAX_NAME 64

/* A task: a name and the experts its gates may use. */
typedef struct synth_world_task {
    char name[SYNTH_WORLD_MAX_NAME];
    int experts[MVKE_MAX_K];
    int nexperts;
} synth_world_task;

typedef struct synth_world_options {
    int64_t nusers;        /* 200000 */
    uint64_t seed;         /* 42 */
    int K, d;              /* 5, 30 */
    int nlevels;           /* 4 */
    int64_t level_counts[SYNTH_WORLD_MAX_LEVELS]; /* tags per level: 18, 216, 942, 610 */
    int ntasks;            /* 2: interest on experts 0-2, intention on experts 1-4 */
    synth_world_task tasks[SYNTH_WORLD_MAX_TASKS];
    float temperature;     /* softmax temperature of the gates (1) */
    float vk_norm;         /* length of each virtual kernel (4) */
    float facet_weight;    /* length of the facet direction in a tag embedding (0.5) */
    float tag_spread;      /* length of the random step from a tag to each child (0.35) */
    float task_spread;     /* length of the random step from a tag to its task's copy (0.1) */
    float user_noise;      /* length of the noise in each user expert (2) */
    int prefs_min, prefs_max; /* level-1 topics a user prefers in the first task (2, 4) */
    float funnel;          /* chance that a preference carries over to the next task (0.4);
                              at least one always does */
    float tag_norm;        /* > 0: every tag embedding q is scaled to this length before its gates
                              are taken (0: as made, longer for deeper tags) */
    float user_scale;      /* every user row is multiplied by it (1) */
} synth_world_options;

/* The world planted for a score (mvke_score): the defaults for the cosine; for the dot score,
 * tags of one length (1), so that no tag wins by its norm, and users scaled by 3, so that the
 * dot products of planted preferences are confident logits (mostly 3-6, sigmoid 0.95-0.998;
 * the demo's default threshold for dot is 3)
 * and the others stay near 0 (docs/demo.md). */
void synth_world_options_for_score(synth_world_options *o, mvke_score score);

/* A generated world. Tags are numbered i = 0 .. ntags-1 in level order (all level-1 tags, then
 * level 2, ...); every task has every tag, and row task*ntags + i of q and w is tag i of that
 * task, which is also the order of tags.tsv. Topics are the level-1 tags, 0 .. ntopics-1. */
typedef struct synth_world {
    synth_world_options opt;
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
    float *h;           /* ntags*d: each tag's direction before facet and task (users lean to them) */
    double *popularity; /* ntopics: the weight a user picks each topic with */
} synth_world;

/* Fills o with the defaults above (the paper's setting). */
void synth_world_options_init(synth_world_options *o);

/* Checks the options. Returns 0, or -1 with the first problem in msg (cap bytes). */
int synth_world_options_check(const synth_world_options *o, char *msg, size_t cap);

/* Generates the world. Errors: MVKE_ERR_INVALID (options that synth_world_options_check
 * rejects), MVKE_ERR_NOMEM; the reason goes to msg (cap bytes). *out is NULL on error; free with
 * synth_world_free. */
mvke_status synth_world_new(synth_world **out, const synth_world_options *o, char *msg, size_t cap);

void synth_world_free(synth_world *w);

/* The rows of users first .. first+n-1 (n x K*d floats into x), the same as those of w->x:
 * every user is made from its own stream, so any range can be made again on its own. */
void synth_world_user_rows(const synth_world *w, int64_t first, int64_t n, float *x);

/* Whether user index u prefers topic in task t (1 or 0). */
int synth_world_prefers(const synth_world *w, int t, int64_t u, int topic);

/* The share of all tags whose topic user u prefers in task t: the expected precision of tags
 * drawn at random. */
double synth_world_random_precision(const synth_world *w, int t, int64_t u);

/* An index of the users (opts as for mvke_index_new, may be NULL). Errors: those of
 * mvke_index_new and mvke_index_add. */
mvke_status synth_world_users(const synth_world *w, const mvke_index_options *opts, mvke_index **out);

/* A tag table with the world's tasks, virtual kernels and tags (with their gates).
 * Errors: those of mvke_tags_new, mvke_tags_add_task, mvke_tags_set_vk and mvke_tags_add. */
mvke_status synth_world_tags(const synth_world *w, const mvke_index_options *opts, mvke_tags **out);

/* The index of tag id in the world (-1 if none). */
int64_t synth_world_tag_index(const synth_world *w, int64_t id);

/* The files of a model export, in directory dir (which must exist):
 *   users.npy (n, K, d) float32, user_ids.npy (n,) int64, tags.tsv (one row per tag and task),
 *   tag_emb.npy (ntasks*ntags, d) float32, gates.npy (ntasks*ntags, K) float32,
 *   vk.npy (K, d) float32,
 * and the planted truth: planted_<task>.npy (n, prefs_max) int64, the level-1 tag ids a user
 * prefers, -1 padded. Errors: MVKE_ERR_IO with the file named in msg (cap bytes). */
mvke_status synth_world_save(const synth_world *w, const char *dir, char *msg, size_t cap);

#endif
