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

/* Functions the shared library exports: every declaration of this header, and nothing else
 * (the library is built with hidden visibility). */
#if defined(__GNUC__)
#define MVKE_API __attribute__((visibility("default")))
#else
#define MVKE_API
#endif

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
    MVKE_ERR_UNSUPPORTED = -15, /* the feature is not built into this library */
    MVKE_ERR_UNTRAINED = -16    /* the index's codec has not been trained (mvke_index_train) */
} mvke_status;

/* The message of the last error on the calling thread ("" if none). Valid until the next
 * mvke_* call on the same thread. */
MVKE_API const char *mvke_last_error(void);

/* The rows of the input batch that the last error on the calling thread is about, so that a
 * caller reading its input in blocks can name the rows of its files without reading the message:
 * *n = 1 or 2 (two rows for an id given twice) and rows[0 .. *n-1] are 0-based positions in the
 * batch of the call that failed; *n = 0 when the error is about no row. Set by mvke_index_add,
 * mvke_index_upsert and mvke_index_remove (a non-finite value, a value beyond the float16
 * range, squared norms that overflow, a negative id, an id twice in the batch, an id already
 * present or not present); every call that sets the message sets this too.
 * Errors: MVKE_ERR_INVALID (NULL pointer; the last error is then left as it was). */
MVKE_API mvke_status mvke_last_error_rows(int64_t rows[2], int *n);

/* A short constant name for a status ("MVKE_ERR_DIM"); "unknown status" for other values. */
MVKE_API const char *mvke_status_name(mvke_status status);

/* The library's version string, e.g. "0.1.0". */
MVKE_API const char *mvke_version(void);

/* The instruction set the search kernels use on this machine: "generic" (portable C), "avx2" or
 * "avx512", chosen once from the CPU and capped by the environment variable MVKE_CPU
 * (generic|avx2|avx512), so that one machine can run as an older CPU would.
 * Errors: MVKE_ERR_INVALID when MVKE_CPU names an unknown level or one this CPU lacks (*name is
 * then what the CPU has); every constructor of an index or tag table and every file open fails
 * the same way. */
MVKE_API mvke_status mvke_cpu_level(const char **name);

/* ---------------------------------------------------------------------------------------------
 * Gated query rows and gates
 * ------------------------------------------------------------------------------------------- */

/* Builds the gated row of a tag: z[k*d + j] = w[k] * q[j], for k < K, j < d.
 * q: d floats; w: K floats; z: K*d floats written by the call.
 * Errors: MVKE_ERR_INVALID (NULL pointer), MVKE_ERR_DIM (K or d <= 0),
 *         MVKE_ERR_NONFINITE (NaN/Inf in q or w; z is not written). */
MVKE_API mvke_status mvke_pack_query(int K, int d, const float *q, const float *w, float *z);

/* Computes the gates of one tag from the virtual kernels:
 *     w[k] = softmax over k in the subset of ( <q, vk[k]> / temperature ),  w[k] = 0 elsewhere.
 * q: d floats; vk: K*d floats (row k is virtual kernel k); experts: the task's subset, nexperts
 * distinct indices in [0, K); temperature > 0; w: K floats written by the call.
 * Errors: MVKE_ERR_INVALID, MVKE_ERR_DIM, MVKE_ERR_NONFINITE. */
MVKE_API mvke_status mvke_gates_from_vk(int K, int d, const float *q, const float *vk, const int *experts,
                               int nexperts, float temperature, float *w);

/* ---------------------------------------------------------------------------------------------
 * Allow-lists: restrict a search to a set of ids
 * ------------------------------------------------------------------------------------------- */

typedef struct mvke_allow mvke_allow;

/* An allow-list from ids sorted in strictly increasing order (copied).
 * Errors: MVKE_ERR_INVALID (NULL with n > 0, n < 0, ids not strictly increasing: the message
 * names the position), MVKE_ERR_NOMEM. */
MVKE_API mvke_status mvke_allow_new_sorted(mvke_allow **out, const int64_t *ids, int64_t n);

/* An allow-list from a bitmap over ids (copied): id i is allowed when bit (i % 8) of byte
 * bits[i / 8] is set, for 0 <= i < nbits; every other id is not allowed.
 * Errors: MVKE_ERR_INVALID, MVKE_ERR_NOMEM. */
MVKE_API mvke_status mvke_allow_new_bitmap(mvke_allow **out, const uint8_t *bits, int64_t nbits);

/* An allow-list asked of a function: id is allowed when member(ctx, id) returns nonzero. Nothing
 * is copied or listed: a search asks only about the rows that would enter its result (the
 * FAISS plugin passes an IDSelector's is_member this way). member must be safe to call from
 * several threads at once, must not call back into the library, and ctx must outlive the
 * allow-list. Errors: MVKE_ERR_INVALID (member NULL), MVKE_ERR_NOMEM. */
MVKE_API mvke_status mvke_allow_new_callback(mvke_allow **out, int (*member)(void *ctx, int64_t id), void *ctx);

/* Whether id is allowed (*yes = 1 or 0). */
MVKE_API mvke_status mvke_allow_contains(const mvke_allow *allow, int64_t id, int *yes);

MVKE_API void mvke_allow_free(mvke_allow *allow);

/* ---------------------------------------------------------------------------------------------
 * Results of variable length
 * ------------------------------------------------------------------------------------------- */

/* A list of results per query: for query i, n_i (id, score) pairs sorted by score descending,
 * ties by smaller id. Which query a list belongs to is documented by the function that made it. */
typedef struct mvke_result mvke_result;

/* The number of query lists in the result. */
MVKE_API mvke_status mvke_result_nqueries(const mvke_result *result, int64_t *nq);

/* The list of query i: *n entries at *ids and *scores, owned by the result. Either of ids and
 * scores may be NULL when not wanted. Errors: MVKE_ERR_INVALID (i out of range). */
MVKE_API mvke_status mvke_result_get(const mvke_result *result, int64_t i, const int64_t **ids,
                            const float **scores, int64_t *n);

/* The total number of entries over all queries. */
MVKE_API mvke_status mvke_result_total(const mvke_result *result, int64_t *total);

MVKE_API void mvke_result_free(mvke_result *result);

/* ---------------------------------------------------------------------------------------------
 * The index: a store of rows of K*d floats with int64 ids
 *
 * It holds users (rows x[u]) and is searched with gated tag rows z[t]; since the score is
 * symmetric in its two rows, the same index type also holds gated tag rows and is searched with
 * user rows (this is what a tag table does inside, and what the FAISS tag index uses).
 * ------------------------------------------------------------------------------------------- */

typedef struct mvke_index mvke_index;

/* The limits of every index and tag table: at most MVKE_MAX_K experts of at most MVKE_MAX_D
 * dimensions. */
#define MVKE_MAX_K 64
#define MVKE_MAX_D 65536

typedef enum mvke_storage {
    MVKE_STORAGE_F32 = 0, /* rows kept as float32 */
    MVKE_STORAGE_F16 = 1, /* rows kept as IEEE float16: half the memory and bandwidth; the
                             score is the exact cosine of the rounded rows */
    MVKE_STORAGE_BF16 = 2, /* rows kept as bfloat16 (the high half of a float32, round to nearest
                             even): half the memory, float32's range, 8 bits of precision; the
                             score is the exact cosine of the rounded rows */
    MVKE_STORAGE_SQ8 = 3, /* a trained codec: one byte per value, per-dimension affine
                             (min/max of each expert's dimension in the training sample, like
                             FAISS's QT_8bit); a quarter of float32 */
    MVKE_STORAGE_PQ = 4   /* a trained codec: per-expert product quantisation, m sub-spaces of
                             256 centroids per expert, one byte each (m = ceil(d/3) unless
                             chosen: 50 bytes per user for K = 5, d = 30) */
} mvke_storage;

/* Codecs (sq8, pq) need training: an index with one is untrained until mvke_index_train has
 * seen a sample, and until then add and search fail with MVKE_ERR_UNTRAINED. Their scores are
 * the cosine of the decoded rows in the numerator over the exact norms: the Gram triangle of
 * every row is computed from the float32 row given to add and stored as float32, and every row
 * keeps a bound of its codes' error per expert. An index created with refine also keeps every
 * float32 row, and its searches are exact by default (MVKE_SEARCH_EXACT: certified, see
 * mvke_index_set_search_mode), or re-score a fixed R*k candidates (MVKE_SEARCH_APPROX, see
 * mvke_index_set_refine). */

/* The storage's short name ("f32", "f16", "bf16", "sq8", "pq"): a constant string, "unknown"
 * for other values. */
MVKE_API const char *mvke_storage_name(mvke_storage storage);

/* Parses a storage name as written on the command line and in Python ("f32", "f16", "bf16",
 * "sq8", "pq"; "float32", "float16" and "bfloat16" are accepted too) into *storage. A pq name
 * with its number of sub-spaces ("pq:8") is parsed by mvke_index_options_set_storage.
 * Errors: MVKE_ERR_INVALID (NULL, or an unknown name: the message lists the known ones). */
MVKE_API mvke_status mvke_storage_from_name(const char *name, mvke_storage *storage);

/* What a search computes for a user row x and a tag's gated row z (DESIGN section 2):
 *  - MVKE_SCORE_COSINE (default): s = <x, z> / |E(u,t)| |q| = cos(E(u,t), q), in [-1, 1], the
 *    paper's score (eq. 2). Every row keeps its block Gram triangle for the denominator.
 *  - MVKE_SCORE_DOT: s = <x, z> = sum_k w_k <e_k, q>, the inner product of the gated user vector
 *    with the tag embedding, unbounded: the score the authors' released training code ranks by
 *    (sigmoid of the dot product). Rows keep no Gram triangle (K(K+1)/2 floats less per row).
 * The score is chosen when an index or tag table is made and kept in its file; a search between
 * users and tags needs both of the same score. */
typedef enum mvke_score {
    MVKE_SCORE_COSINE = 0,
    MVKE_SCORE_DOT = 1
} mvke_score;

/* The score's name ("cosine", "dot"): a constant string, "unknown" for other values. */
MVKE_API const char *mvke_score_name(mvke_score score);

/* Parses "cosine" or "dot" into *score. Errors: MVKE_ERR_INVALID (NULL, or another name: the
 * message lists the known ones). */
MVKE_API mvke_status mvke_score_from_name(const char *name, mvke_score *score);

/* Probabilities from scores: p[i] = sigmoid(s[i]) = 1 / (1 + exp(-s[i])), computed in double and
 * rounded once (p may be s). A cosine's probability lies in [0.269, 0.731]. Errors:
 * MVKE_ERR_INVALID (NULL with n > 0, n < 0). */
MVKE_API mvke_status mvke_score_to_prob(int64_t n, const float *s, float *p);

/* The score threshold of a probability threshold: the smallest float32 score s with
 * sigmoid(s) >= p as mvke_score_to_prob computes it, so that a search with min_score = s returns
 * exactly the pairs whose printed probability is >= p. p in (0, 1); p <= sigmoid of the
 * smallest float gives -FLT_MAX. Errors: MVKE_ERR_INVALID (NULL, p not in (0, 1)). */
MVKE_API mvke_status mvke_score_from_prob(double p, float *min_score);

typedef struct mvke_index_options {
    mvke_storage storage; /* default MVKE_STORAGE_F32 */
    int threads;          /* threads a search may use; 0 (default) = OpenMP's default */
    int pq_m;             /* pq: sub-spaces per expert, 1..d; 0 (default) = ceil(d / 3) */
    int refine;           /* codecs: 1 keeps the float32 rows too and searches re-score exactly;
                             default 0 */
    mvke_score score;     /* default MVKE_SCORE_COSINE */
} mvke_index_options;

/* Fills opts with the defaults. */
MVKE_API void mvke_index_options_init(mvke_index_options *opts);

/* Sets opts->storage (and opts->pq_m) from a name: any name mvke_storage_from_name knows, or
 * "pq:M" with M sub-spaces per expert (M a decimal integer >= 1; checked against d by
 * mvke_index_new). Errors: MVKE_ERR_INVALID (NULL, unknown name, bad M); opts is then
 * unchanged. */
MVKE_API mvke_status mvke_index_options_set_storage(mvke_index_options *opts, const char *name);

/* A new empty index for K experts of dimension d. opts may be NULL for the defaults.
 * Limits: 1 <= K <= MVKE_MAX_K (64), 1 <= d <= MVKE_MAX_D (65536).
 * Errors: MVKE_ERR_INVALID, MVKE_ERR_DIM, MVKE_ERR_NOMEM. */
MVKE_API mvke_status mvke_index_new(mvke_index **out, int K, int d, const mvke_index_options *opts);

/* A new empty index shaped as src: its K, d, storage, threads, and for a codec its pq_m,
 * refine, search mode and trained parameters (rows added to it are encoded as src encodes them:
 * shards, merges and copies of a codec index). Errors: MVKE_ERR_INVALID, MVKE_ERR_NOMEM. */
MVKE_API mvke_status mvke_index_new_like(mvke_index **out, const mvke_index *src);

MVKE_API void mvke_index_free(mvke_index *index);

/* Trains the codec of the index on n sample rows x (n*K*d floats, shaped as for add; any
 * rows, usually a random sample of those to be added). sq8 takes each dimension's min and max;
 * pq runs k-means (Lloyd, 256 centroids, 20 iterations, a fixed seed, at most 65536 of the
 * rows) in every sub-space. With fewer distinct sub-vectors than 256, every distinct one is a
 * centroid (the sample encodes exactly). Storages without a codec need no training: the call
 * checks its arguments and does nothing.
 * Errors: MVKE_ERR_INVALID (NULL, n < 1, or the index holds rows: a trained codec is never
 * replaced under stored codes; reset first), MVKE_ERR_NONFINITE (a value; the message names
 * the row), MVKE_ERR_NOMEM. On error the index is unchanged. */
MVKE_API mvke_status mvke_index_train(mvke_index *index, int64_t n, const float *x);

/* Whether the index can take rows and searches (*yes = 1): always for f32/f16/bf16, after
 * mvke_index_train for a codec. */
MVKE_API mvke_status mvke_index_is_trained(const mvke_index *index, int *yes);

/* Sets R, the refine factor of an index created with refine: a top-k search takes the best R*k
 * candidates by the codec's score and returns the k best by the exact score of their float32
 * rows (exact scores). A threshold search re-scores every row whose codec score is >= min_score
 * and keeps those whose exact score is >= min_score (a row the codec scores below the
 * threshold is not found). Default R = 4.
 * Errors: MVKE_ERR_INVALID (NULL, R < 1, or the index keeps no float32 rows). */
MVKE_API mvke_status mvke_index_set_refine(mvke_index *index, int R);

/* Whether the index keeps float32 rows for refining, and its R; either output may be NULL. */
MVKE_API mvke_status mvke_index_refine(const mvke_index *index, int *refine, int *R);

/* How a codec index answers (DESIGN section 14, docs/codecs.md "Certified search"):
 *  - MVKE_SEARCH_EXACT (the default of an index created with refine): every user's score from
 *    the codes comes with a proven interval around its exact score; a top-k search re-scores
 *    exactly the users whose upper bound reaches the k-th best lower bound, a threshold search
 *    those whose upper bound reaches the threshold. The answer is the exact one: the users,
 *    their order and scores (from the float32 rows) are those of the same search of the
 *    float32 rows.
 *  - MVKE_SEARCH_APPROX (the only mode without refine rows): the R*k best by the codes
 *    re-scored (mvke_index_set_refine), or the codes' scores when there are no rows.
 * Indexes of other storages answer exactly in either mode. */
typedef enum mvke_search_mode {
    MVKE_SEARCH_EXACT = 0,
    MVKE_SEARCH_APPROX = 1
} mvke_search_mode;

/* Sets the search mode. Errors: MVKE_ERR_INVALID (NULL, an unknown mode, or EXACT for a codec
 * index that keeps no float32 rows). */
MVKE_API mvke_status mvke_index_set_search_mode(mvke_index *index, mvke_search_mode mode);
MVKE_API mvke_status mvke_index_search_mode(const mvke_index *index, mvke_search_mode *mode);

/* What a search did: users_scanned, the users each query read (the whole index; for a listed
 * index, the mean over the queries of the users of the lists it read); users_refined,
 * the users re-scored from their float32 rows, summed over the queries; certified, 1 when every
 * answer is provably the exact one (stored float32, float16 and bfloat16 rows always; a codec
 * index in MVKE_SEARCH_EXACT mode, or when R*k covered every user). */
typedef struct mvke_search_stats {
    int64_t users_scanned;
    int64_t users_refined;
    int certified;
    int64_t lists_scanned; /* a listed index: the lists read, summed over the queries; else 0 */
} mvke_search_stats;

/* The stats of the calling thread's last search of a user index (mvke_index_search,
 * mvke_index_range_search and every audience and tagging call built on them), like
 * mvke_last_error: thread-local, overwritten by the next search. All zero before the first.
 * Errors: MVKE_ERR_INVALID (out NULL). */
MVKE_API mvke_status mvke_last_search_stats(mvke_search_stats *out);

/* Lists (DESIGN section 13, docs/lists.md): users grouped by k-means so that an audience reads
 * only some of them.
 *
 * mvke_index_build_lists clusters the users present into nlists lists (0: about 4 sqrt(n)) with
 * k-means over their rows (a sample of at most 64 users per list, 10 iterations, a fixed seed),
 * stores them list by list (positions change; ids do not) and keeps each list's centroid and
 * per-expert radii; the lists are saved with the index. Users added later go to a tail that every
 * search reads; a remove or upsert keeps the lists' bounds true. Searches of a listed index
 * (mvke_index_search, mvke_index_range_search, audiences) then:
 *  - with nprobe 0 (the default) return exactly the flat index's answer, skipping the lists whose
 *    bound shows no user of theirs can enter it;
 *  - with nprobe P > 0 read the P lists whose centroids score best with the tag (FAISS's nprobe),
 *    and report certified (mvke_last_search_stats) when the bounds prove the answer exact.
 * A codec index without float32 rows scores by codes, which no bound covers: it reads every list
 * unless probed. Searches on a GPU read every user. Tag tables and per-user tagging do not use
 * lists. Errors: MVKE_ERR_INVALID (NULL, an empty index, nlists < 0 or > users),
 * MVKE_ERR_UNTRAINED, MVKE_ERR_NOMEM; on error the index is unchanged. */
MVKE_API mvke_status mvke_index_build_lists(mvke_index *index, int nlists);

/* Sets nprobe (0 = exact, the default; >= the number of lists reads them all). Errors:
 * MVKE_ERR_INVALID (NULL, negative). */
MVKE_API mvke_status mvke_index_set_probe(mvke_index *index, int nprobe);
MVKE_API mvke_status mvke_index_probe(const mvke_index *index, int *nprobe);

/* The lists of an index: how many, the users in them and in the tail, and the lists' sizes. */
typedef struct mvke_lists_info {
    int nlists;          /* 0: the index has no lists */
    int64_t listed;      /* users in lists */
    int64_t tail;        /* users added since the lists were made (read by every search) */
    int64_t min_size, median_size, max_size;
} mvke_lists_info;

/* Fills *out. Errors: MVKE_ERR_INVALID (NULL). */
MVKE_API mvke_status mvke_index_lists(const mvke_index *index, mvke_lists_info *out);

/* What one user costs an index, in bytes, and how its codec was trained. */
typedef struct mvke_index_footprint {
    int64_t row_bytes;    /* what a search reads per user: values or codes, Gram triangle, bounds */
    int64_t id_bytes;     /* the id beside the row and the file's (id, position) lookup pair: 24 */
    int64_t refine_bytes; /* float32 rows a codec index keeps for exact re-scoring (read only for
                             candidates); 0 without */
    int pq_m;             /* pq: sub-spaces per expert; 0 otherwise */
    int64_t train_rows;   /* a trained codec: rows of its training sample; 0 otherwise */
    uint32_t training;    /* a trained codec: CRC-32C of its parameters (two indexes encode rows
                             alike when they are equal and so are storage and pq_m); 0 otherwise */
    int refine;           /* a codec index keeps float32 rows (as mvke_index_refine) */
} mvke_index_footprint;

/* Fills *out for the index. Errors: MVKE_ERR_INVALID (NULL). */
MVKE_API mvke_status mvke_index_describe(const mvke_index *index, mvke_index_footprint *out);

/* A number that every change of the index's rows (add, upsert, remove, reset) increases: two
 * equal readings mean the same rows at the same positions in between, which a count cannot tell
 * (a remove then an add keeps it). For readers that walk the index in pieces (batch tagging).
 * Errors: MVKE_ERR_INVALID (NULL). */
MVKE_API mvke_status mvke_index_generation(const mvke_index *index, uint64_t *generation);

/* The score the index's searches compute. Errors: MVKE_ERR_INVALID (NULL). */
MVKE_API mvke_status mvke_index_score(const mvke_index *index, mvke_score *score);

/* K, d and the storage of the index; any output pointer may be NULL. */
MVKE_API mvke_status mvke_index_shape(const mvke_index *index, int *K, int *d, mvke_storage *storage);

/* Sets the number of threads searches use (0 = OpenMP's default). */
MVKE_API mvke_status mvke_index_set_threads(mvke_index *index, int threads);

/* Adds n rows. ids: n distinct int64 ids, none present yet, or NULL for ids count..count+n-1
 * (count = rows present before the call; then each must still be free). x: n*K*d floats, row i
 * at x + i*K*d (an array shaped (n, K, d)). The block Gram triangle of each row is computed here.
 * Errors: MVKE_ERR_INVALID, MVKE_ERR_NONFINITE (message names the row), MVKE_ERR_DUPLICATE
 * (message names the id and row), MVKE_ERR_UNTRAINED (a codec index before mvke_index_train),
 * MVKE_ERR_NOMEM. On error nothing is added. */
MVKE_API mvke_status mvke_index_add(mvke_index *index, int64_t n, const int64_t *ids, const float *x);

/* Like mvke_index_add, but a row whose id is present replaces that row. ids must be distinct
 * within the batch. Same errors; on error nothing changes. */
MVKE_API mvke_status mvke_index_upsert(mvke_index *index, int64_t n, const int64_t *ids, const float *x);

/* Removes n ids. Every id must be present and appear once (MVKE_ERR_UNKNOWN_ID /
 * MVKE_ERR_DUPLICATE otherwise; MVKE_ERR_INVALID for a negative id), and on error nothing is
 * removed. */
MVKE_API mvke_status mvke_index_remove(mvke_index *index, int64_t n, const int64_t *ids);

/* Removes every row. */
MVKE_API mvke_status mvke_index_reset(mvke_index *index);

/* The number of rows. */
MVKE_API mvke_status mvke_index_count(const mvke_index *index, int64_t *count);

/* Whether id is present (*yes = 1 or 0). */
MVKE_API mvke_status mvke_index_contains(const mvke_index *index, int64_t id, int *yes);

/* Copies the stored row of id into x (K*d floats; float16 rows are widened; a codec's rows are
 * decoded, or the float32 row given to add when the index keeps them for refining).
 * Errors: MVKE_ERR_UNKNOWN_ID. */
MVKE_API mvke_status mvke_index_get(const mvke_index *index, int64_t id, float *x);

/* Copies the ids of all rows, in storage order, into ids (count entries). */
MVKE_API mvke_status mvke_index_ids(const mvke_index *index, int64_t *ids);

/* Top-k search. queries: nq rows of K*d floats (gated tag rows z[t] for an index of users; user
 * rows for an index of gated tag rows). For each query i, writes the k best rows' ids and scores
 * to ids[i*k .. i*k+k-1] and scores[i*k ..], sorted; when fewer than k rows are eligible the rest
 * is padded with id -1 and score -INFINITY. allow may be NULL (every row eligible).
 * Errors: MVKE_ERR_INVALID, MVKE_ERR_BAD_K (k <= 0), MVKE_ERR_NONFINITE (a query; the message
 * names it), MVKE_ERR_UNTRAINED (a codec index before mvke_index_train), MVKE_ERR_NOMEM,
 * MVKE_ERR_BACKEND. On error the outputs are unspecified. */
MVKE_API mvke_status mvke_index_search(const mvke_index *index, int64_t nq, const float *queries, int64_t k,
                              const mvke_allow *allow, float *scores, int64_t *ids);

/* Threshold search: for each query, every eligible row with score >= min_score. Result list i
 * belongs to query i. Errors as mvke_index_search, and MVKE_ERR_NONFINITE for a NaN min_score. */
MVKE_API mvke_status mvke_index_range_search(const mvke_index *index, int64_t nq, const float *queries,
                                    float min_score, const mvke_allow *allow, mvke_result **out);

/* ---------------------------------------------------------------------------------------------
 * The tag table: tasks, tags and their gated rows
 * ------------------------------------------------------------------------------------------- */

typedef struct mvke_tags mvke_tags;

/* A new empty tag table for K experts of dimension d (opts as for the index: the storage and
 * threads of the tag rows). Errors: MVKE_ERR_INVALID, MVKE_ERR_DIM, MVKE_ERR_NOMEM. */
MVKE_API mvke_status mvke_tags_new(mvke_tags **out, int K, int d, const mvke_index_options *opts);

MVKE_API void mvke_tags_free(mvke_tags *tags);

/* Declares a task and the subset of experts its gates may use: nexperts distinct indices in
 * [0, K). Names are non-empty UTF-8 of at most 255 bytes without tab or newline.
 * Errors: MVKE_ERR_INVALID (bad name or subset), MVKE_ERR_DUPLICATE (task declared). */
MVKE_API mvke_status mvke_tags_add_task(mvke_tags *tags, const char *name, const int *experts, int nexperts);

/* Sets the number of threads the searches over the tag rows use (0 = OpenMP's default), for
 * every task, and for tasks declared later. Errors: MVKE_ERR_INVALID (NULL, threads < 0). */
MVKE_API mvke_status mvke_tags_set_threads(mvke_tags *tags, int threads);

/* The score the table's searches compute (its options' score, mvke_index_options). Errors:
 * MVKE_ERR_INVALID (NULL). */
MVKE_API mvke_status mvke_tags_score(const mvke_tags *tags, mvke_score *score);

/* The number of tasks, and the name and subset of task i (pointers owned by the table). */
MVKE_API mvke_status mvke_tags_ntasks(const mvke_tags *tags, int *ntasks);
MVKE_API mvke_status mvke_tags_task(const mvke_tags *tags, int i, const char **name, const int **experts,
                           int *nexperts);

/* Sets the virtual kernels (K*d floats, copied) and the softmax temperature (> 0, default 1) used
 * to compute gates for tags added without them. Errors: MVKE_ERR_NONFINITE, MVKE_ERR_INVALID. */
MVKE_API mvke_status mvke_tags_set_vk(mvke_tags *tags, const float *vk, float temperature);

/* Adds n tags to a task. ids: n tag ids, new within the task (the same id may exist in other
 * tasks); names: n UTF-8 display names (or NULL: empty names); parents: n parent ids (0 for a
 * root; NULL: all 0); q: n*d floats; w: n*K gate weights, zero outside the task's subset, or NULL
 * to compute them from the virtual kernels (mvke_gates_from_vk).
 * Errors: MVKE_ERR_UNKNOWN_TASK, MVKE_ERR_NONFINITE, MVKE_ERR_GATE (w nonzero outside the subset;
 * the message names the row and expert), MVKE_ERR_DUPLICATE, MVKE_ERR_INVALID (w NULL without
 * virtual kernels), MVKE_ERR_NOMEM. On error nothing is added. */
MVKE_API mvke_status mvke_tags_add(mvke_tags *tags, const char *task, int64_t n, const int64_t *ids,
                          const char *const *names, const int64_t *parents, const float *q,
                          const float *w);

/* The number of tags of a task (task NULL: over all tasks). */
MVKE_API mvke_status mvke_tags_count(const mvke_tags *tags, const char *task, int64_t *count);

/* Copies the ids of task's tags, in the order they were added, into ids (mvke_tags_count(task)
 * entries). Errors: MVKE_ERR_INVALID (NULL), MVKE_ERR_UNKNOWN_TASK. */
MVKE_API mvke_status mvke_tags_ids(const mvke_tags *tags, const char *task, int64_t *ids);

/* Copies what is known of tag id in task: its display name (pointer owned by the table), parent,
 * q (d floats) and w (K floats); any output may be NULL.
 * Errors: MVKE_ERR_UNKNOWN_TASK, MVKE_ERR_UNKNOWN_ID. */
MVKE_API mvke_status mvke_tags_get(const mvke_tags *tags, const char *task, int64_t id, const char **name,
                          int64_t *parent, float *q, float *w);

/* Copies the gated row z (K*d floats) of tag id in task. Errors as mvke_tags_get. */
MVKE_API mvke_status mvke_tags_get_row(const mvke_tags *tags, const char *task, int64_t id, float *z);

/* ---------------------------------------------------------------------------------------------
 * Searches between users and tags
 * ------------------------------------------------------------------------------------------- */

/* Reverse targeting: for each of ntag tags (ids in task), the top-k users of the index.
 * Result list i belongs to tag_ids[i]. allow may be NULL.
 * Errors: MVKE_ERR_UNKNOWN_TASK, MVKE_ERR_UNKNOWN_ID (a tag; named), MVKE_ERR_BAD_K,
 * MVKE_ERR_DIM (index and table of different K or d), MVKE_ERR_NOMEM, MVKE_ERR_BACKEND. */
MVKE_API mvke_status mvke_audience_top(const mvke_index *users, const mvke_tags *tags, const char *task,
                              int64_t ntag, const int64_t *tag_ids, int64_t k,
                              const mvke_allow *allow, mvke_result **out);

/* Reverse targeting by threshold: every user with score >= min_score, per tag. As above. */
MVKE_API mvke_status mvke_audience_range(const mvke_index *users, const mvke_tags *tags, const char *task,
                                int64_t ntag, const int64_t *tag_ids, float min_score,
                                const mvke_allow *allow, mvke_result **out);

/* Per-user top tags for nu users of the index given by id: the top-m tags of task, or of every
 * task when task is NULL. Result list u*ntasks + t belongs to user_ids[u] and task t (ntasks = 1
 * when task is given; otherwise tasks in declaration order, see mvke_tags_task).
 * Errors: MVKE_ERR_UNKNOWN_ID (a user not present; named), MVKE_ERR_UNKNOWN_TASK,
 * MVKE_ERR_BAD_K, MVKE_ERR_DIM, MVKE_ERR_NOMEM, MVKE_ERR_BACKEND. */
MVKE_API mvke_status mvke_user_tags_top(const mvke_index *users, const mvke_tags *tags, const char *task,
                               int64_t nu, const int64_t *user_ids, int64_t m, mvke_result **out);

/* The same for nu users given as raw rows x (nu*K*d floats) instead of ids. */
MVKE_API mvke_status mvke_user_tags_top_rows(const mvke_tags *tags, const char *task, int64_t nu,
                                    const float *x, int64_t m, mvke_result **out);

/* ---------------------------------------------------------------------------------------------
 * GPU searches (the CUDA backend)
 *
 * An index searches on the CPU unless told otherwise. mvke_index_use_gpu moves its searches
 * (mvke_index_search, mvke_index_range_search, and the audience functions over it) to CUDA:
 * the rows are copied to the device at the next search and kept there, refreshed after any
 * add, upsert, remove or reset; rows that do not fit in device memory are streamed from host
 * memory on every search. Results follow the same order and padding rules; scores agree with
 * the CPU backend to about 1e-6 for float32 rows (1e-3 with float16 rows, whose queries are
 * rounded to float16 on the device). When a GPU search fails (MVKE_ERR_BACKEND), nothing
 * falls back silently: the call fails and the caller may switch with mvke_index_use_cpu.
 *
 * This library does not link CUDA. The CUDA backend is a module, libmvke-cuda.so, installed
 * beside libmvke and loaded at the first of these calls; MVKE_CUDA_MODULE=path overrides where
 * it is looked for (docs/gpu.md). Without it, or without a driver or device, these calls fail
 * with MVKE_ERR_UNSUPPORTED and everything else works as before.
 * ------------------------------------------------------------------------------------------- */

/* The number of usable CUDA devices into *n.
 * Errors: MVKE_ERR_UNSUPPORTED with *n = 0 when the CUDA module is not found (the message says
 * where it was looked for) or cannot be loaded, or there is no driver or no device; the message
 * says which. */
MVKE_API mvke_status mvke_gpu_count(int *n);

/* Moves the searches of index to GPU `device` (0, 1, ...), or with device = -1 to every
 * visible device, the rows split into one shard per device and results merged on the host.
 * Errors: MVKE_ERR_INVALID (index NULL, device < -1), MVKE_ERR_UNSUPPORTED (no CUDA module,
 * no usable device, or device out of range: the message says which, and the index keeps
 * searching on the CPU), MVKE_ERR_BACKEND (CUDA or cuBLAS failed to start), MVKE_ERR_NOMEM.
 * On error the index is unchanged. An index of the dot score (mvke_score) fails with
 * MVKE_ERR_UNSUPPORTED: the module serves the cosine only. */
MVKE_API mvke_status mvke_index_use_gpu(mvke_index *index, int device);

/* Moves the searches of index back to the CPU and frees its device memory. */
MVKE_API mvke_status mvke_index_use_cpu(mvke_index *index);

/* The name of the backend the index searches with ("cpu" or "cuda") into *name (a constant
 * string). */
MVKE_API mvke_status mvke_index_backend(const mvke_index *index, const char **name);

/* Moves the user -> tags searches of a tag table (mvke_user_tags_top, mvke_user_tags_top_rows)
 * to GPU `device` (0, 1, ...; -1: every visible device, as mvke_index_use_gpu): every task's
 * gated tag rows are copied to the device at the next search and stay there (refreshed after
 * mvke_tags_add); the user rows of each search are the queries, streamed from host memory in
 * chunks on two streams, so that the copy of one chunk overlaps the scoring of the other. Tasks
 * declared later follow. Results follow the same order and padding rules as on the CPU; scores
 * agree to about 1e-6 for float32 tag rows (1e-3 with float16). The audience functions search
 * the user index and follow mvke_index_use_gpu, not this.
 * Errors: MVKE_ERR_INVALID (tags NULL, device < -1), MVKE_ERR_UNSUPPORTED (no CUDA module, no
 * driver, no usable device, or device out of range: the message says which), MVKE_ERR_BACKEND,
 * MVKE_ERR_NOMEM (and MVKE_ERR_UNSUPPORTED for a table of the dot score). All or nothing: on
 * error every task keeps searching on the CPU. */
MVKE_API mvke_status mvke_tags_use_gpu(mvke_tags *tags, int device);

/* Moves the searches of a tag table back to the CPU and frees its device memory. */
MVKE_API mvke_status mvke_tags_use_cpu(mvke_tags *tags);

/* The name of the backend the tag table's searches use ("cpu" or "cuda") into *name. */
MVKE_API mvke_status mvke_tags_backend(const mvke_tags *tags, const char **name);

/* ---------------------------------------------------------------------------------------------
 * Reading rows by position (for streaming over every user)
 * ------------------------------------------------------------------------------------------- */

/* Copies the ids and rows (widened to float32, decoded for a codec, the exact float32 rows of an
 * index kept with refine: as mvke_index_get) of the n rows at storage positions
 * first .. first+n-1 into ids (n entries) and x (n*K*d floats); either may be NULL. Positions
 * are dense in [0, count) and stable while the index is not changed, so a loop over
 * first = 0, B, 2B, ... visits every row once with bounded memory.
 * Errors: MVKE_ERR_INVALID (NULL index, range outside [0, count)). */
MVKE_API mvke_status mvke_index_read_rows(const mvke_index *index, int64_t first, int64_t n, int64_t *ids,
                                 float *x);

/* ---------------------------------------------------------------------------------------------
 * Parts of an index (for spreading the users over processes, e.g. MPI ranks)
 *
 * Storage positions are grouped in blocks of MVKE_INDEX_BLOCK_ROWS rows (every block but the
 * last is full). A process that serves part r of R takes the positions mvke_index_part gives it
 * and either searches a view of them (mvke_index_view) or streams them (mvke_index_read_rows).
 * ------------------------------------------------------------------------------------------- */

#define MVKE_INDEX_BLOCK_ROWS 65536

/* The storage positions [*first, *first + *n) of part `part` of `nparts`. The positions are cut
 * into units of `grain` rows (0: one storage block, MVKE_INDEX_BLOCK_ROWS, which makes every part
 * acceptable to mvke_index_view) and the units are dealt out in order, as evenly as possible:
 * part p gets units [p*U/nparts, (p+1)*U/nparts) of the U units. So the parts are disjoint,
 * contiguous, in storage order, and together cover every row; a part may be empty (*n = 0, and
 * *first is where it would start), e.g. when there are more parts than units.
 * Errors: MVKE_ERR_INVALID (NULL, nparts < 1, part outside [0, nparts), grain < 0). */
MVKE_API mvke_status mvke_index_part(const mvke_index *index, int64_t grain, int part, int nparts,
                            int64_t *first, int64_t *n);

/* A new index of the n rows at storage positions first .. first+n-1 of parent, whose blocks view
 * the parent's memory: only the id lookup of the view's own rows is built, so the view costs
 * memory for its share of the users, not the parent's. first must be a multiple of
 * MVKE_INDEX_BLOCK_ROWS (or the parent's count, for an empty view) and first + n a multiple of
 * it or the parent's count (a part of grain 0 from mvke_index_part always is). The view has the parent's K, d, storage and threads; its
 * position i is the parent's position first + i; lookups by id (mvke_index_contains, _get,
 * mvke_user_tags_top) know only the view's rows. A change to the view (add, remove, ...) copies
 * the blocks it touches first and never changes the parent. The parent must not be changed or
 * freed while the view exists; free the view with mvke_index_free. A view of a listed index
 * keeps the lists (their ranges cut to the view) and the probe count, so that views searched
 * apart and merged answer as the parent does, exact or probed.
 * The view's blocks of a mapped file are checked when it is made (as on their first use).
 * Errors: MVKE_ERR_INVALID (NULL, range outside [0, count) or not block-aligned), MVKE_ERR_NOMEM,
 * MVKE_ERR_CHECKSUM (a block of the range is corrupted; named).
 */
MVKE_API mvke_status mvke_index_view(const mvke_index *parent, int64_t first, int64_t n, mvke_index **out);

/* ---------------------------------------------------------------------------------------------
 * numpy .npy files (format versions 1.0, 2.0 and 3.0, C order, little-endian)
 *
 * The reader is strict: magic, version, a header of at most 10000 bytes holding exactly the keys
 * 'descr', 'fortran_order' and 'shape' (any order, trailing comma and padding accepted), dtype
 * '<f4', '<f8', '<f2' (values) or '<i8', '<i4', '<u8', '<u4' (ids) ('=' accepted on this
 * little-endian host), fortran_order False, and a file size of exactly header + data. Messages
 * name the file and the byte offset. numpy's defaults (float64 values, int64 or int32 ids) are
 * read as they are: float64 is rounded to the nearest float32 (a finite value beyond float32's
 * range is an error naming its row and element), ids are widened to int64 (a uint64 id beyond
 * int64's range is an error naming its row).
 * ------------------------------------------------------------------------------------------- */

typedef enum mvke_dtype {
    MVKE_DTYPE_F32 = 0, /* '<f4' */
    MVKE_DTYPE_F16 = 1, /* '<f2' (widened to float32 when read) */
    MVKE_DTYPE_I64 = 2, /* '<i8' */
    MVKE_DTYPE_F64 = 3, /* '<f8' (rounded to float32 when read) */
    MVKE_DTYPE_I32 = 4, /* '<i4' (widened to int64 when read) */
    MVKE_DTYPE_U64 = 5, /* '<u8' (ids up to 2^63 - 1) */
    MVKE_DTYPE_U32 = 6  /* '<u4' */
} mvke_dtype;

#define MVKE_NPY_MAX_DIMS 8

typedef struct mvke_npy mvke_npy;

/* Opens and checks a .npy file; its data is read on demand with mvke_npy_read_*.
 * Errors: MVKE_ERR_IO (cannot open or read), MVKE_ERR_FORMAT (bad magic, version, header, dtype,
 * fortran order, shape; the file is longer than its data), MVKE_ERR_TRUNCATED (the file ends
 * before the declared data; the message gives the offsets), MVKE_ERR_NOMEM. */
MVKE_API mvke_status mvke_npy_open(mvke_npy **out, const char *path);

/* The stored dtype, number of dimensions and shape (ndim entries written to shape, which must
 * hold MVKE_NPY_MAX_DIMS); any output may be NULL. */
MVKE_API mvke_status mvke_npy_shape(const mvke_npy *f, mvke_dtype *dtype, int *ndim, int64_t *shape);

/* Reads rows first .. first+n-1 along the first axis (a 0-d array has one row) into out,
 * row-major: float arrays as float32 (float16 widened, float64 rounded to nearest), integer arrays
 * as int64. Errors: MVKE_ERR_INVALID (range or NULL; a uint64 value above INT64_MAX, naming its
 * row), MVKE_ERR_NONFINITE (a finite float64 beyond float32's range, naming its row and element),
 * MVKE_ERR_FORMAT (the array has the other kind of dtype; the message names the file, its dtype
 * and those expected), MVKE_ERR_IO, MVKE_ERR_TRUNCATED (the file shrank since it was opened). */
MVKE_API mvke_status mvke_npy_read_f32(mvke_npy *f, int64_t first, int64_t n, float *out);
MVKE_API mvke_status mvke_npy_read_i64(mvke_npy *f, int64_t first, int64_t n, int64_t *out);

MVKE_API void mvke_npy_close(mvke_npy *f);

/* The header of a C-order .npy file of the given dtype and shape (version 1.0 when it fits,
 * else 2.0), padded so that the data starts at a multiple of 64 bytes: at most cap bytes written
 * to buf, *len receives the length. Errors: MVKE_ERR_INVALID (ndim, shape, cap too small). */
MVKE_API mvke_status mvke_npy_header(mvke_dtype dtype, int ndim, const int64_t *shape, char *buf, size_t cap,
                            size_t *len);

/* Writes a whole C-order array (dtype MVKE_DTYPE_F32, F16 given as uint16_t, or I64) to path.
 * Errors: MVKE_ERR_INVALID, MVKE_ERR_IO (the message names the file; a partly written file is
 * removed). */
MVKE_API mvke_status mvke_npy_save(const char *path, mvke_dtype dtype, int ndim, const int64_t *shape,
                          const void *data);

/* ---------------------------------------------------------------------------------------------
 * Tag taxonomies: tags.tsv
 *
 * A header line, then one row per (tag, task): tag_id<TAB>task<TAB>name<TAB>parent_id, with
 * tag ids >= 0, parent 0 for a root, names in UTF-8 without tabs. Row i goes with row i of the
 * tag embeddings and gates. A tag id may appear once per task.
 * ------------------------------------------------------------------------------------------- */

typedef struct mvke_taxonomy mvke_taxonomy;

/* Reads and checks a tags.tsv file. Errors: MVKE_ERR_IO, MVKE_ERR_FORMAT (missing or extra
 * column, bad number, invalid UTF-8, empty file; the message names the file and line),
 * MVKE_ERR_DUPLICATE (a tag id twice in one task: both lines named), MVKE_ERR_NOMEM. */
MVKE_API mvke_status mvke_taxonomy_read(mvke_taxonomy **out, const char *path);

/* The number of rows (without the header line). */
MVKE_API mvke_status mvke_taxonomy_count(const mvke_taxonomy *tax, int64_t *n);

/* Row i: tag id, task name, display name, parent id (strings owned by the taxonomy); any output
 * may be NULL. Errors: MVKE_ERR_INVALID (i out of range). */
MVKE_API mvke_status mvke_taxonomy_row(const mvke_taxonomy *tax, int64_t i, int64_t *tag_id, const char **task,
                              const char **name, int64_t *parent);

/* Adds every row to the tag table: row i of tax with q[i*d ..] and w[i*K ..] (w NULL: gates from
 * the table's virtual kernels), grouped by task in row order. Every task must be declared.
 * Errors: those of mvke_tags_add, with the message naming the file and line; on error the table
 * may hold the tags of the tasks added before the failing one. */
MVKE_API mvke_status mvke_taxonomy_apply(const mvke_taxonomy *tax, mvke_tags *tags, const float *q,
                                const float *w);

MVKE_API void mvke_taxonomy_free(mvke_taxonomy *tax);

/* ---------------------------------------------------------------------------------------------
 * Index files (docs/file-format.md)
 *
 * One self-contained file holds the users (ids, rows, Gram triangles), the tasks, the tags (ids,
 * names, parents, q, w), the virtual kernels if set, and the options. Little-endian, a versioned
 * header, a section table, 64-byte aligned sections, a CRC-32C per section and over the header
 * and table. Opening maps the file: user rows are read in place without a copy (they are copied
 * only when the index is changed).
 * ------------------------------------------------------------------------------------------- */

/* Saves users and tags to path: written to a temporary file in the same directory, fsynced,
 * renamed over path, and the directory fsynced, so path holds either the old or the new file.
 * Takes the index's read lock. Errors: MVKE_ERR_INVALID (NULL, or index and tag table of
 * different K or d), MVKE_ERR_IO (the message names the file and the failing call; the
 * temporary file is removed and path is unchanged), MVKE_ERR_NOMEM. */
MVKE_API mvke_status mvke_file_save(const char *path, const mvke_index *users, const mvke_tags *tags);

/* Flags of mvke_file_open. By default (format version 2) opening checks the header, the section
 * table and the small sections; the per-user sections (user blocks, ids, id lookup) are checked
 * in units of 1 MiB the first time a search or lookup reads them, so that no answer ever comes
 * from bytes that fail their checksum (MVKE_ERR_CHECKSUM naming the byte range instead), along
 * with the cheap content checks (Gram entries finite, diagonal >= 0; MVKE_ERR_FORMAT). */
#define MVKE_FILE_OPEN_DEFAULT 0u
/* Skip the checksums of the user rows and Gram triangles: version 2 checks the user blocks'
 * Gram values but not their checksum units (ids and the id lookup are still checked); version 1
 * skips the row and Gram section checksums at open. */
#define MVKE_FILE_OPEN_SKIP_ROW_CHECKSUMS 1u
/* Skip every first-use check of the per-user sections (checksums and content checks): for
 * users who accept answers from a possibly corrupted file in exchange for the first search's
 * checking time. The header, table and small sections are still checked. */
#define MVKE_FILE_OPEN_NO_VERIFY 2u

/* Opens an index file (format version 1 or 2): *users receives the index and *tags the tag table
 * (either output may be NULL when not wanted). A version 2 file is mapped and its users are
 * searched in place (a block is copied only when a change touches it; ids are looked up in the
 * file's sorted id section); a version 1 file's rows are copied into memory. Every size and
 * offset is checked before use; checksums as the flags above say.
 * Errors: MVKE_ERR_IO, MVKE_ERR_FORMAT (bad magic or version, inconsistent sizes, offsets or
 * counts, a section kind this version does not read; named), MVKE_ERR_TRUNCATED (the file is
 * shorter than it declares), MVKE_ERR_CHECKSUM (the message names the section), MVKE_ERR_GATE or
 * MVKE_ERR_NONFINITE (tag gates the tag table refuses), MVKE_ERR_DUPLICATE (a user id twice, in a
 * version 1 file), MVKE_ERR_NOMEM. On error both outputs are NULL. Searches and lookups of an
 * opened version 2 index may fail later with MVKE_ERR_CHECKSUM or MVKE_ERR_FORMAT as above. */
MVKE_API mvke_status mvke_file_open(const char *path, unsigned flags, mvke_index **users, mvke_tags **tags);

/* Checks an index file without keeping it: every size, offset and checksum, that its tags and
 * users load, and (version 2) every invariant add enforces: rows finite and within the storage's
 * range, Gram triangles equal to the ones recomputed from the rows, lanes past a block's rows
 * zero, ids non-negative and unique, the id lookup sorted, its positions a permutation agreeing
 * with the ids. Errors as mvke_file_open; content errors are MVKE_ERR_FORMAT naming the user. */
MVKE_API mvke_status mvke_file_verify(const char *path);

/* What the header of an index file says, after checking the header and section table. */
typedef struct mvke_file_info {
    uint32_t version;     /* format version */
    uint64_t size;        /* file size in bytes */
    uint32_t fingerprint; /* CRC-32C of the header: covers, through the table, every section's
                             checksum, so it identifies the file's contents */
    int K, d;
    mvke_storage storage; /* of the user rows */
    int64_t nusers;
    int nsections;
} mvke_file_info;

/* Reads and checks the header and section table of an index file (not the sections' data).
 * Errors: as mvke_file_open. */
MVKE_API mvke_status mvke_file_inspect(const char *path, mvke_file_info *info);

#ifdef __cplusplus
}
#endif

#endif /* MVKE_H */
