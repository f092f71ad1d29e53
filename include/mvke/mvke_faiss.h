/*
 * mvke_faiss.h - MVKE as a FAISS index type, for programs that use FAISS's C API.
 *
 * The constructors below hand out ordinary FaissIndex handles of dimension K*d and metric
 * inner product (larger is better). Every faiss_Index_* function of the C API works on them
 * (add, add_with_ids, search, range_search, remove_ids, reset, reconstruct, reconstruct_n,
 * assign, ntotal, d, ...), they can be shards of faiss_IndexShards, and they are freed with
 * faiss_Index_free. The scores ("distances" in FAISS's words) are the gated cosines of mvke.h,
 * in [-1, 1], or for an index made with the dot score (",dot" below) the inner products
 * <x, z> = sum_k w_k <e_k, q>: then the index answers exactly as FAISS's IndexFlatIP over the
 * same rows (inner product with FAISS's own meaning), faster for a task on a subset of experts.
 *
 * Two kinds of index, one row layout (K*d floats per row):
 *  - the user index stores user rows x[u] (the K expert vectors back to back) and is searched
 *    with gated tag rows z[t] (mvke_pack_query): reverse targeting, tag -> users;
 *  - the tag index stores the gated rows z[t] of one task's tags (ids = tag ids; one index per
 *    task) and is searched with user rows x[u]: per-user top tags, user -> tags.
 *
 * FAISS conventions the indexes follow:
 *  - faiss_Index_add assigns ids ntotal .. ntotal+n-1 (each must be free); add_with_ids takes
 *    any distinct ids >= 0 that are not present yet.
 *  - faiss_Index_search pads missing results with label -1 and distance -FLT_MAX, as FAISS's
 *    inner-product indexes do; equal scores come out smaller id first.
 *  - faiss_Index_range_search returns every row with score > radius (strictly, as FAISS's
 *    inner-product range search does), each query's list sorted by score descending.
 *  - faiss_Index_remove_ids returns the number removed and ignores ids not present.
 *  - faiss_Index_reconstruct(key) takes a row's id; reconstruct_n(i0, ni) the ids i0..i0+ni-1.
 *  - Every error (NaN or Inf in a row or query, a duplicate or negative id, an unknown id,
 *    k <= 0, bad K or d) makes the call return nonzero with a message in faiss_get_last_error(),
 *    and leaves the index as it was. Nothing aborts or prints.
 *  - Searches may run concurrently; add, remove_ids and reset need exclusive access (as for any
 *    FAISS index).
 *
 * Link with the mvke_faiss library (pkg-config: mvke_faiss), which also carries FAISS's C API
 * when the system has no libfaiss_c.
 */
#ifndef MVKE_FAISS_H
#define MVKE_FAISS_H

#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/impl/AuxIndexStructures_c.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A new empty user index for K experts of dimension d (dimension K*d, inner product).
 * *out receives the index (free it with faiss_Index_free). Limits: 1 <= K <= 64,
 * 1 <= d <= 65536. Returns 0, or nonzero with the message in faiss_get_last_error() and
 * *out set to NULL. */
int mvke_faiss_user_index_new(FaissIndex **out, int K, int d);

/* A new empty user index whose rows are kept in the given storage: "f32", "f16", "bf16",
 * "sq8", "pq" or "pq:M" (mvke_index_options_set_storage), optionally followed by ",refine"
 * (a codec that also keeps its float32 rows and returns exact scores, mvke_index_set_refine)
 * and by ",dot" (the dot score, mvke_score; ",cosine" is the default), e.g. "f32,dot".
 * An index with a codec (sq8, pq) starts untrained: faiss_Index_is_trained says 0 until
 * faiss_Index_train has seen a sample (mvke_index_train), and add and search fail before.
 * Errors as mvke_faiss_user_index_new, and an unknown storage. */
int mvke_faiss_user_index_new_with(FaissIndex **out, int K, int d, const char *storage);

/* A new empty tag index for K experts of dimension d: it stores the gated rows z[t] of one
 * task's tags (add them with faiss_Index_add_with_ids, ids = tag ids) and is searched with user
 * rows x[u]. Same conventions and errors as mvke_faiss_user_index_new. */
int mvke_faiss_tag_index_new(FaissIndex **out, int K, int d);

/* The same with the options string of mvke_faiss_user_index_new_with ("f32,dot": a tag index of
 * the dot score, to search with the user rows of a dot user index). */
int mvke_faiss_tag_index_new_with(FaissIndex **out, int K, int d, const char *options);

/* Whether index is one of the two MVKE index types (1) or another FAISS index (0). */
int mvke_faiss_is_mvke(const FaissIndex *index);

/* Sets the number of threads a search of an MVKE index may use (0 = OpenMP's default).
 * Returns nonzero (message in faiss_get_last_error()) when index is not an MVKE index or
 * threads < 0. */
int mvke_faiss_set_threads(FaissIndex *index, int threads);

/* Groups the rows of an MVKE user index into k-means lists (mvke_index_build_lists; nlists 0:
 * about 4 sqrt(ntotal); docs/lists.md). Its searches stay exact and read only the lists whose
 * bounds allow, until mvke_faiss_index_set_nprobe asks for probes. Rows added later go to a tail
 * every search reads; the lists are saved by mvke_faiss_index_write. FAISS's ParameterSpace
 * does not know this index type (it refuses "nprobe" on it): use the setter below. Returns
 * nonzero (message in faiss_get_last_error()) when index is not an MVKE index, is empty, or
 * nlists is out of [0, ntotal]; the index is then unchanged. */
int mvke_faiss_index_build_lists(FaissIndex *index, int nlists);

/* FAISS's nprobe for a listed MVKE index: searches read the nprobe lists whose centroids score
 * best with the query (0, the default: the exact answer). Returns nonzero when index is not an
 * MVKE index or nprobe < 0. */
int mvke_faiss_index_set_nprobe(FaissIndex *index, int nprobe);

/* Moves the searches of an MVKE index (user or tag index) to GPU `device` (0, 1, ...; -1: every
 * visible device), as mvke_index_use_gpu: the rows are copied to the device at the next search
 * and kept there, refreshed after add, remove_ids or reset; a tag index searched with many user
 * rows runs the fused user -> tags kernel. Every faiss_Index_* call keeps working unchanged.
 * Returns nonzero (message in faiss_get_last_error()) when index is not an MVKE index, device
 * < -1, or no GPU can be used (the message says why: the CUDA module libmvke-cuda.so was not
 * found, no driver, no device); the index then keeps searching on the CPU. */
int mvke_faiss_index_use_gpu(FaissIndex *index, int device);

/* Moves the searches of an MVKE index back to the CPU and frees its device memory. Returns
 * nonzero when index is not an MVKE index. */
int mvke_faiss_index_use_cpu(FaissIndex *index);

/* faiss_Index_search restricted to the ids sel selects (FAISS 1.7's C API has no search
 * parameters, so this passes sel as SearchParameters::sel). Works on MVKE indexes and on every
 * FAISS index that honours SearchParameters (the flat indexes do). x: n * d floats; distances and
 * labels: n * k each, padded as faiss_Index_search pads. sel may be NULL (no restriction).
 * Returns 0 or nonzero with the message in faiss_get_last_error(). */
int mvke_faiss_search_selected(const FaissIndex *index, idx_t n, const float *x, idx_t k,
                               const FaissIDSelector *sel, float *distances, idx_t *labels);

/* faiss_Index_range_search restricted to the ids sel selects; otherwise as
 * mvke_faiss_search_selected. result: made with faiss_RangeSearchResult_new(&result, n). */
int mvke_faiss_range_search_selected(const FaissIndex *index, idx_t n, const float *x,
                                     float radius, const FaissIDSelector *sel,
                                     FaissRangeSearchResult *result);

/* ---------------------------------------------------------------------------------------------
 * Persistence: MVKE indexes live in mvke index files (docs/file-format.md), not in FAISS's own
 * format (faiss_write_index does not know these types and refuses them).
 * ------------------------------------------------------------------------------------------- */

/* Writes an MVKE index (user or tag index) to path as an index file holding its rows and no
 * tags: written to a temporary file, fsynced and renamed over path (mvke_file_save), so path
 * holds the old or the new file. Returns nonzero (message in faiss_get_last_error()) when index
 * is not an MVKE index or the write fails; path is then unchanged. */
int mvke_faiss_index_write(const FaissIndex *index, const char *path);

/* Reads the users of an index file (written by mvke_faiss_index_write, mvke_file_save or
 * `mvke build`) as a user index: *users receives it (free with faiss_Index_free). Every check of
 * mvke_file_open applies. Returns 0, or nonzero with *users NULL and the message in
 * faiss_get_last_error(). */
int mvke_faiss_index_read(const char *path, FaissIndex **users);

/* Reads a tag index from an index file: with task NULL, the file's rows are taken as the gated
 * tag rows (a file written by mvke_faiss_index_write from a tag index); with a task name, the
 * gated rows of that task's tags from the file's tag table (ids = tag ids). *tags receives the
 * index. Errors as mvke_faiss_index_read, and an unknown task. */
int mvke_faiss_tag_index_read(const char *path, const char *task, FaissIndex **tags);

#ifdef __cplusplus
}
#endif

#endif /* MVKE_FAISS_H */
