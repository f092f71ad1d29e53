/*
 * index_mvke.h - the FAISS index types of the plugin: IndexMVKE (users, searched with gated tag
 * rows) and IndexMVKETags (one task's gated tag rows, searched with user rows).
 *
 * Both are thin: every call goes to one mvke_index of the C core, which owns the rows, the ids,
 * the math and the checks. What is here is only FAISS's side of the contract: sequential ids for
 * add, -1 / -FLT_MAX padding, strict "> radius" range search, remove_ids that ignores absent ids,
 * selectors turned into allow-lists, and core errors turned into faiss::FaissException.
 */
#ifndef MVKE_PLUGIN_INDEX_MVKE_H
#define MVKE_PLUGIN_INDEX_MVKE_H

#include <faiss/Index.h>

#include "mvke/mvke.h"

namespace mvke {

/* Users: rows x[u] of K*d floats with their ids; queries are gated tag rows z[t]. */
struct IndexMVKE : faiss::Index {
    /* Throws faiss::FaissException for bad K or d (see mvke_index_new). */
    IndexMVKE(int K, int d);
    /* With a storage: "f32", "f16", "bf16", "sq8", "pq", "pq:M", optionally followed by
     * ",refine" for a codec that keeps its float32 rows (mvke_index_options). An index with a
     * codec starts untrained (is_trained false) until train(). Throws for a bad storage. */
    IndexMVKE(int K, int d, const char *storage);
    ~IndexMVKE() override;

    IndexMVKE(const IndexMVKE &) = delete;
    IndexMVKE &operator=(const IndexMVKE &) = delete;

    /* Trains the codec on n rows (mvke_index_train); a no-op for storages without one. */
    void train(idx_t n, const float *x) override;
    void add(idx_t n, const float *x) override;
    void add_with_ids(idx_t n, const float *x, const idx_t *xids) override;
    void search(idx_t n, const float *x, idx_t k, float *distances, idx_t *labels,
                const faiss::SearchParameters *params = nullptr) const override;
    void range_search(idx_t n, const float *x, float radius, faiss::RangeSearchResult *result,
                      const faiss::SearchParameters *params = nullptr) const override;
    void reset() override;
    size_t remove_ids(const faiss::IDSelector &sel) override;
    void reconstruct(idx_t key, float *recons) const override;
    void reconstruct_n(idx_t i0, idx_t ni, float *recons) const override;

    /* Threads a search may use (0 = OpenMP's default). */
    void set_threads(int threads);
    /* Moves the searches to GPU device (-1: every device), or back to the CPU (device -2). */
    void use_device(int device);
    /* Groups the rows present into k-means lists (mvke_index_build_lists; 0: the default). */
    void build_lists(int nlists);
    /* Lists a search reads (mvke_index_set_probe; 0: exact). */
    void set_nprobe(int nprobe);

    int K() const { return K_; }
    int dk() const { return dk_; }
    /* The core index (owned by this object). */
    const mvke_index *core() const { return ix_; }

    /* An index that takes ownership of a core index (for instance one opened from a file);
     * ix must not be used by the caller afterwards, and is freed even when this throws. */
    static IndexMVKE *adopt(mvke_index *ix);

  protected:
    IndexMVKE(mvke_index *ix, int K, int d);

  private:
    void sync_ntotal();

    int K_;
    int dk_;
    mvke_index *ix_ = nullptr;
};

/* One task's tags: gated rows z[t] added with add_with_ids (ids = tag ids); queries are user
 * rows x[u]. The core index is symmetric in its two rows, so this is the same code. */
struct IndexMVKETags : IndexMVKE {
    IndexMVKETags(int K, int d) : IndexMVKE(K, d) {}
    IndexMVKETags(int K, int d, const char *options) : IndexMVKE(K, d, options) {}
    /* As IndexMVKE::adopt. */
    static IndexMVKETags *adopt(mvke_index *ix);

  private:
    IndexMVKETags(mvke_index *ix, int K, int d) : IndexMVKE(ix, K, d) {}
};

/* Throws faiss::FaissException carrying "what: STATUS_NAME: mvke_last_error()" when st is an
 * error; does nothing for MVKE_OK. */
void check(mvke_status st, const char *what);

/* Throws faiss::FaissException carrying msg unless ok. */
void require(bool ok, const char *msg);

}  // namespace mvke

#endif
