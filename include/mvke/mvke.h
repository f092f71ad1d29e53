/*
 * mvke.h - public C API of the MVKE retrieval core.
 *
 * A user is a row x = concat_k e[k] of K expert vectors of dimension d (K*d floats). A tag of a
 * task is an embedding q (d floats) plus gate weights w (K floats); its gated row is
 * z = w (x) q (block k is w[k] * q, see mvke_pack_query). The score of a user for a tag is
 *
 *     s(u, t) = cos( sum_k w[k] e[k], q ) = <x, z> / sqrt(<Gram(x), Gram(z)>)
 *
 * and is 0 when either side has norm 0. Scores are in [-1, 1]; larger is better.
 *
 * Conventions:
 *  - Every fallible function returns an mvke_status (MVKE_OK = 0, negative on error) and, on
 *    error, sets a thread-local message readable with mvke_last_error().
 *  - No function aborts, exits or prints.
 *  - The caller owns what it passes in; the library owns the handles it returns until the
 *    matching _free, and every _free accepts NULL.
 *  - A call that fails changes nothing: a rejected add leaves the index as it was.
 *  - Any number of searches may run at once on one index; add, upsert, remove and reset are
 *    exclusive (a reader-writer lock inside the index enforces this).
 *  - Result lists are sorted by score, descending; equal scores are ordered by smaller id first.
 *    Fixed-size result buffers (mvke_index_search) pad missing entries with id -1 and score
 *    -INFINITY.
 */
#ifndef MVKE_H
#define MVKE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Status codes and errors
 * ------------------------------------------------------------------------------------------- */

typedef enum mvke_status {
    MVKE_OK = 0,
    MVKE_ERR_INVALID = -1,      /* invalid argument: NULL pointer, negative count, bad option */
    MVKE_ERR_NOMEM = -2,        /* an allocation failed */
    MVKE_ERR_NONFINITE = -3,    /* NaN or Inf in a vector, gate or threshold */
    MVKE_ERR_DIM = -4,          /* K or d does not match the index, or is out of range */
    MVKE_ERR_DUPLICATE = -5,    /* an id appears twice in a batch or is already present */
    MVKE_ERR_BAD_K = -6,        /* the number of results asked for is <= 0 */
    MVKE_ERR_UNKNOWN_ID = -7,   /* a user or tag id that is not (or no longer) present */
    MVKE_ERR_UNKNOWN_TASK = -8, /* a task name that was never declared */
    MVKE_ERR_GATE = -9,         /* a gate weight is nonzero outside its task's expert subset */
    MVKE_ERR_IO = -10,          /* reading or writing a file failed */
    MVKE_ERR_FORMAT = -11,      /* a malformed file: bad magic, version, header or shape */
    MVKE_ERR_TRUNCATED = -12,   /* a file ends before the data it declares */
    MVKE_ERR_CHECKSUM = -13,    /* a checksum does not match: the file is corrupted */
    MVKE_ERR_BACKEND = -14,     /* a compute backend (BLAS, CUDA) failed */
    MVKE_ERR_UNSUPPORTED = -15  /* the feature is not built into this library */
} mvke_status;

/* The message of the last error on the calling thread ("" if none). Valid until the next
 * mvke_* call on the same thread. */
const char *mvke_last_error(void);

/* A short constant name for a status ("MVKE_ERR_DIM"); "unknown status" for other values. */
const char *mvke_status_name(mvke_status status);

/* The library's version string, e.g. "0.1.0". */
const char *mvke_version(void);

/* ---------------------------------------------------------------------------------------------
 * Gated query rows and gates
 * ------------------------------------------------------------------------------------------- */

/* Builds the gated row of a tag: z[k*d + j] = w[k] * q[j], for k < K, j < d.
 * q: d floats; w: K floats; z: K*d floats written by the call.
 * Errors: MVKE_ERR_INVALID (NULL pointer), MVKE_ERR_DIM (K or d <= 0),
 *         MVKE_ERR_NONFINITE (NaN/Inf in q or w; z is not written). */
mvke_status mvke_pack_query(int K, int d, const float *q, const float *w, float *z);

/* Computes the gates of one tag from the virtual kernels:
 *     w[k] = softmax over k in the subset of ( <q, vk[k]> / temperature ),  w[k] = 0 elsewhere.
 * q: d floats; vk: K*d floats (row k is virtual kernel k); experts: the task's subset, nexperts
 * distinct indices in [0, K); temperature > 0; w: K floats written by the call.
 * Errors: MVKE_ERR_INVALID, MVKE_ERR_DIM, MVKE_ERR_NONFINITE. */
mvke_status mvke_gates_from_vk(int K, int d, const float *q, const float *vk, const int *experts,
                               int nexperts, float temperature, float *w);

/* ---------------------------------------------------------------------------------------------
 * Allow-lists: restrict a search to a set of ids
 * ------------------------------------------------------------------------------------------- */

typedef struct mvke_allow mvke_allow;

/* An allow-list from ids sorted in strictly increasing order (copied).
 * Errors: MVKE_ERR_INVALID (NULL with n > 0, n < 0, ids not strictly increasing: the message
 * names the position), MVKE_ERR_NOMEM. */
mvke_status mvke_allow_new_sorted(mvke_allow **out, const int64_t *ids, int64_t n);

/* An allow-list from a bitmap over ids (copied): id i is allowed when bit (i % 8) of byte
 * bits[i / 8] is set, for 0 <= i < nbits; every other id is not allowed.
 * Errors: MVKE_ERR_INVALID, MVKE_ERR_NOMEM. */
mvke_status mvke_allow_new_bitmap(mvke_allow **out, const uint8_t *bits, int64_t nbits);

/* Whether id is allowed (*yes = 1 or 0). */
mvke_status mvke_allow_contains(const mvke_allow *allow, int64_t id, int *yes);

void mvke_allow_free(mvke_allow *allow);

/* ---------------------------------------------------------------------------------------------
 * Results of variable length
 * ------------------------------------------------------------------------------------------- */

/* A list of results per query: for query i, n_i (id, score) pairs sorted by score descending,
 * ties by smaller id. Which query a list belongs to is documented by the function that made it. */
typedef struct mvke_result mvke_result;

/* The number of query lists in the result. */
mvke_status mvke_result_nqueries(const mvke_result *result, int64_t *nq);

/* The list of query i: *n entries at *ids and *scores, owned by the result. Either of ids and
 * scores may be NULL when not wanted. Errors: MVKE_ERR_INVALID (i out of range). */
mvke_status mvke_result_get(const mvke_result *result, int64_t i, const int64_t **ids,
                            const float **scores, int64_t *n);

/* The total number of entries over all queries. */
mvke_status mvke_result_total(const mvke_result *result, int64_t *total);

void mvke_result_free(mvke_result *result);

/* ---------------------------------------------------------------------------------------------
 * The index: a store of rows of K*d floats with int64 ids
 *
 * It holds users (rows x[u]) and is searched with gated tag rows z[t]; since the score is
 * symmetric in its two rows, the same index type also holds gated tag rows and is searched with
 * user rows (this is what a tag table does inside, and what the FAISS tag index uses).
 * ------------------------------------------------------------------------------------------- */

typedef struct mvke_index mvke_index;

typedef enum mvke_storage {
    MVKE_STORAGE_F32 = 0, /* rows kept as float32 */
    MVKE_STORAGE_F16 = 1  /* rows kept as IEEE float16: half the memory and bandwidth; the
                             score is the exact cosine of the rounded rows */
} mvke_storage;

typedef struct mvke_index_options {
    mvke_storage storage; /* default MVKE_STORAGE_F32 */
    int threads;          /* threads a search may use; 0 (default) = OpenMP's default */
} mvke_index_options;

/* Fills opts with the defaults. */
void mvke_index_options_init(mvke_index_options *opts);

/* A new empty index for K experts of dimension d. opts may be NULL for the defaults.
 * Limits: 1 <= K <= 64, 1 <= d <= 65536.
 * Errors: MVKE_ERR_INVALID, MVKE_ERR_DIM, MVKE_ERR_NOMEM. */
mvke_status mvke_index_new(mvke_index **out, int K, int d, const mvke_index_options *opts);

void mvke_index_free(mvke_index *index);

/* K, d and the storage of the index; any output pointer may be NULL. */
mvke_status mvke_index_shape(const mvke_index *index, int *K, int *d, mvke_storage *storage);

/* Sets the number of threads searches use (0 = OpenMP's default). */
mvke_status mvke_index_set_threads(mvke_index *index, int threads);

/* Adds n rows. ids: n distinct int64 ids, none present yet, or NULL for ids count..count+n-1
 * (count = rows present before the call; then each must still be free). x: n*K*d floats, row i
 * at x + i*K*d (an array shaped (n, K, d)). The block Gram triangle of each row is computed here.
 * Errors: MVKE_ERR_INVALID, MVKE_ERR_NONFINITE (message names the row), MVKE_ERR_DUPLICATE
 * (message names the id and row), MVKE_ERR_NOMEM. On error nothing is added. */
mvke_status mvke_index_add(mvke_index *index, int64_t n, const int64_t *ids, const float *x);

/* Like mvke_index_add, but a row whose id is present replaces that row. ids must be distinct
 * within the batch. Same errors; on error nothing changes. */
mvke_status mvke_index_upsert(mvke_index *index, int64_t n, const int64_t *ids, const float *x);

/* Removes n ids. Every id must be present and appear once (MVKE_ERR_UNKNOWN_ID /
 * MVKE_ERR_DUPLICATE otherwise, and nothing is removed). */
mvke_status mvke_index_remove(mvke_index *index, int64_t n, const int64_t *ids);

/* Removes every row. */
mvke_status mvke_index_reset(mvke_index *index);

/* The number of rows. */
mvke_status mvke_index_count(const mvke_index *index, int64_t *count);

/* Whether id is present (*yes = 1 or 0). */
mvke_status mvke_index_contains(const mvke_index *index, int64_t id, int *yes);

/* Copies the stored row of id into x (K*d floats; float16 rows are widened).
 * Errors: MVKE_ERR_UNKNOWN_ID. */
mvke_status mvke_index_get(const mvke_index *index, int64_t id, float *x);

/* Copies the ids of all rows, in storage order, into ids (count entries). */
mvke_status mvke_index_ids(const mvke_index *index, int64_t *ids);

/* Top-k search. queries: nq rows of K*d floats (gated tag rows z[t] for an index of users; user
 * rows for an index of gated tag rows). For each query i, writes the k best rows' ids and scores
 * to ids[i*k .. i*k+k-1] and scores[i*k ..], sorted; when fewer than k rows are eligible the rest
 * is padded with id -1 and score -INFINITY. allow may be NULL (every row eligible).
 * Errors: MVKE_ERR_INVALID, MVKE_ERR_BAD_K (k <= 0), MVKE_ERR_NONFINITE (a query; the message
 * names it), MVKE_ERR_NOMEM, MVKE_ERR_BACKEND. On error the outputs are unspecified. */
mvke_status mvke_index_search(const mvke_index *index, int64_t nq, const float *queries, int64_t k,
                              const mvke_allow *allow, float *scores, int64_t *ids);

/* Threshold search: for each query, every eligible row with score >= min_score. Result list i
 * belongs to query i. Errors as mvke_index_search, and MVKE_ERR_NONFINITE for a NaN min_score. */
mvke_status mvke_index_range_search(const mvke_index *index, int64_t nq, const float *queries,
                                    float min_score, const mvke_allow *allow, mvke_result **out);

/* ---------------------------------------------------------------------------------------------
 * The tag table: tasks, tags and their gated rows
 * ------------------------------------------------------------------------------------------- */

typedef struct mvke_tags mvke_tags;

/* A new empty tag table for K experts of dimension d (opts as for the index: the storage and
 * threads of the tag rows). Errors: MVKE_ERR_INVALID, MVKE_ERR_DIM, MVKE_ERR_NOMEM. */
mvke_status mvke_tags_new(mvke_tags **out, int K, int d, const mvke_index_options *opts);

void mvke_tags_free(mvke_tags *tags);

/* Declares a task and the subset of experts its gates may use: nexperts distinct indices in
 * [0, K). Names are non-empty UTF-8 of at most 255 bytes without tab or newline.
 * Errors: MVKE_ERR_INVALID (bad name or subset), MVKE_ERR_DUPLICATE (task declared). */
mvke_status mvke_tags_add_task(mvke_tags *tags, const char *name, const int *experts, int nexperts);

/* The number of tasks, and the name and subset of task i (pointers owned by the table). */
mvke_status mvke_tags_ntasks(const mvke_tags *tags, int *ntasks);
mvke_status mvke_tags_task(const mvke_tags *tags, int i, const char **name, const int **experts,
                           int *nexperts);

/* Sets the virtual kernels (K*d floats, copied) and the softmax temperature (> 0, default 1) used
 * to compute gates for tags added without them. Errors: MVKE_ERR_NONFINITE, MVKE_ERR_INVALID. */
mvke_status mvke_tags_set_vk(mvke_tags *tags, const float *vk, float temperature);

/* Adds n tags to a task. ids: n tag ids, new within the task (the same id may exist in other
 * tasks); names: n UTF-8 display names (or NULL: empty names); parents: n parent ids (0 for a
 * root; NULL: all 0); q: n*d floats; w: n*K gate weights, zero outside the task's subset, or NULL
 * to compute them from the virtual kernels (mvke_gates_from_vk).
 * Errors: MVKE_ERR_UNKNOWN_TASK, MVKE_ERR_NONFINITE, MVKE_ERR_GATE (w nonzero outside the subset;
 * the message names the row and expert), MVKE_ERR_DUPLICATE, MVKE_ERR_INVALID (w NULL without
 * virtual kernels), MVKE_ERR_NOMEM. On error nothing is added. */
mvke_status mvke_tags_add(mvke_tags *tags, const char *task, int64_t n, const int64_t *ids,
                          const char *const *names, const int64_t *parents, const float *q,
                          const float *w);

/* The number of tags of a task (task NULL: over all tasks). */
mvke_status mvke_tags_count(const mvke_tags *tags, const char *task, int64_t *count);

/* Copies what is known of tag id in task: its display name (pointer owned by the table), parent,
 * q (d floats) and w (K floats); any output may be NULL.
 * Errors: MVKE_ERR_UNKNOWN_TASK, MVKE_ERR_UNKNOWN_ID. */
mvke_status mvke_tags_get(const mvke_tags *tags, const char *task, int64_t id, const char **name,
                          int64_t *parent, float *q, float *w);

/* Copies the gated row z (K*d floats) of tag id in task. Errors as mvke_tags_get. */
mvke_status mvke_tags_get_row(const mvke_tags *tags, const char *task, int64_t id, float *z);

/* ---------------------------------------------------------------------------------------------
 * Searches between users and tags
 * ------------------------------------------------------------------------------------------- */

/* Reverse targeting: for each of ntag tags (ids in task), the top-k users of the index.
 * Result list i belongs to tag_ids[i]. allow may be NULL.
 * Errors: MVKE_ERR_UNKNOWN_TASK, MVKE_ERR_UNKNOWN_ID (a tag; named), MVKE_ERR_BAD_K,
 * MVKE_ERR_DIM (index and table of different K or d), MVKE_ERR_NOMEM, MVKE_ERR_BACKEND. */
mvke_status mvke_audience_top(const mvke_index *users, const mvke_tags *tags, const char *task,
                              int64_t ntag, const int64_t *tag_ids, int64_t k,
                              const mvke_allow *allow, mvke_result **out);

/* Reverse targeting by threshold: every user with score >= min_score, per tag. As above. */
mvke_status mvke_audience_range(const mvke_index *users, const mvke_tags *tags, const char *task,
                                int64_t ntag, const int64_t *tag_ids, float min_score,
                                const mvke_allow *allow, mvke_result **out);

/* Per-user top tags for nu users of the index given by id: the top-m tags of task, or of every
 * task when task is NULL. Result list u*ntasks + t belongs to user_ids[u] and task t (ntasks = 1
 * when task is given; otherwise tasks in declaration order, see mvke_tags_task).
 * Errors: MVKE_ERR_UNKNOWN_ID (a user not present; named), MVKE_ERR_UNKNOWN_TASK,
 * MVKE_ERR_BAD_K, MVKE_ERR_DIM, MVKE_ERR_NOMEM, MVKE_ERR_BACKEND. */
mvke_status mvke_user_tags_top(const mvke_index *users, const mvke_tags *tags, const char *task,
                               int64_t nu, const int64_t *user_ids, int64_t m, mvke_result **out);

/* The same for nu users given as raw rows x (nu*K*d floats) instead of ids. */
mvke_status mvke_user_tags_top_rows(const mvke_tags *tags, const char *task, int64_t nu,
                                    const float *x, int64_t m, mvke_result **out);

#ifdef __cplusplus
}
#endif

#endif /* MVKE_H */
