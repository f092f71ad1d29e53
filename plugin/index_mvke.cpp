/*
 * index_mvke.cpp - IndexMVKE: faiss::Index calls forwarded to the core's mvke_index.
 *
 * The core already rejects bad input without changing anything, so each method only checks what
 * FAISS's contract adds, calls the core once, turns an error status into a FaissException
 * (which FAISS's C API returns as nonzero with the message) and refreshes ntotal.
 */
#include "index_mvke.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <string>
#include <vector>

#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>

#include "selector.h"

namespace mvke {

void check(mvke_status st, const char *what) {
    if (st == MVKE_OK) return;
    std::string msg = std::string("mvke: ") + what + ": " + mvke_status_name(st) + ": " + mvke_last_error();
    throw faiss::FaissException(msg);
}

void require(bool ok, const char *msg) {
    if (!ok) throw faiss::FaissException(msg);
}

/* The core index, made before faiss::Index so that bad K or d is reported by the core. */
static mvke_index *new_core(int K, int d) {
    mvke_index *ix = nullptr;
    check(mvke_index_new(&ix, K, d, nullptr), "creating the index");
    return ix;
}

/* The same with an options string: a storage, then any of ",refine", ",dot", ",cosine"
 * ("pq:8", "sq8,refine", "f16,dot"). */
static mvke_index *new_core_with(int K, int d, const char *storage) {
    require(storage != nullptr, "mvke: the storage is NULL");
    std::string all(storage), name = all.substr(0, all.find(','));
    mvke_index_options o;
    mvke_index_options_init(&o);
    for (size_t at = all.find(','); at != std::string::npos;) {
        const size_t end = all.find(',', at + 1);
        const std::string flag = all.substr(at + 1, end == std::string::npos ? std::string::npos : end - at - 1);
        if (flag == "refine") o.refine = 1;
        else if (flag == "dot") o.score = MVKE_SCORE_DOT;
        else if (flag == "cosine") o.score = MVKE_SCORE_COSINE;
        else
            throw faiss::FaissException("mvke: options \"" + all + "\": unknown option \"" + flag +
                                        "\" after the storage (known: refine, dot, cosine)");
        at = end;
    }
    check(mvke_index_options_set_storage(&o, name.c_str()), "the storage");
    mvke_index *ix = nullptr;
    check(mvke_index_new(&ix, K, d, &o), "creating the index");
    return ix;
}

IndexMVKE::IndexMVKE(int K, int d) : IndexMVKE(new_core(K, d), K, d) {}

IndexMVKE::IndexMVKE(int K, int d, const char *storage) : IndexMVKE(new_core_with(K, d, storage), K, d) {}

IndexMVKE::IndexMVKE(mvke_index *ix, int K, int d)
    : faiss::Index((idx_t)K * d, faiss::METRIC_INNER_PRODUCT), K_(K), dk_(d), ix_(ix) {
    int yes = 1;
    mvke_index_is_trained(ix, &yes);
    is_trained = yes != 0;
}

void IndexMVKE::train(idx_t n, const float *x) {
    check(mvke_index_train(ix_, (int64_t)n, x), "train");
    int yes = 0;
    check(mvke_index_is_trained(ix_, &yes), "train");
    is_trained = yes != 0;
}

IndexMVKE::~IndexMVKE() { mvke_index_free(ix_); }

/* K and d of a core index about to be adopted; frees it when they cannot be read. */
static void shape_of(mvke_index *ix, int *K, int *d) {
    mvke_status st = mvke_index_shape(ix, K, d, nullptr);
    if (st != MVKE_OK) {
        mvke_index_free(ix);
        check(st, "adopting an index");
    }
}

IndexMVKE *IndexMVKE::adopt(mvke_index *ix) {
    int K = 0, d = 0;
    shape_of(ix, &K, &d);
    IndexMVKE *out = nullptr;
    try {
        out = new IndexMVKE(ix, K, d);
    } catch (...) {
        mvke_index_free(ix);
        throw;
    }
    out->sync_ntotal();
    return out;
}

IndexMVKETags *IndexMVKETags::adopt(mvke_index *ix) {
    int K = 0, d = 0;
    shape_of(ix, &K, &d);
    IndexMVKETags *out = nullptr;
    try {
        out = new IndexMVKETags(ix, K, d);
    } catch (...) {
        mvke_index_free(ix);
        throw;
    }
    int64_t n = 0;
    check(mvke_index_count(out->core(), &n), "counting rows");
    out->ntotal = n;
    return out;
}

void IndexMVKE::sync_ntotal() {
    int64_t n = 0;
    check(mvke_index_count(ix_, &n), "counting rows");
    ntotal = n;
}

void IndexMVKE::add(idx_t n, const float *x) {
    // The core numbers rows count..count+n-1 when given no ids: FAISS's ntotal..ntotal+n-1.
    check(mvke_index_add(ix_, n, nullptr, x), "add");
    sync_ntotal();
}

void IndexMVKE::add_with_ids(idx_t n, const float *x, const idx_t *xids) {
    check(mvke_index_add(ix_, n, xids, x), xids ? "add_with_ids" : "add");
    sync_ntotal();
}

void IndexMVKE::search(idx_t n, const float *x, idx_t k, float *distances, idx_t *labels,
                       const faiss::SearchParameters *params) const {
    require(k > 0, "mvke: search: k must be > 0");
    if (n <= 0) {
        require(n == 0, "mvke: search: n must be >= 0");
        return;
    }
    AllowPtr allow = allow_from_selector(ix_, params ? params->sel : nullptr);
    check(mvke_index_search(ix_, n, x, k, allow.get(), distances, labels), "search");
    // The core pads with -INFINITY; FAISS's inner-product indexes pad with the lowest float.
    const size_t total = (size_t)n * (size_t)k;
    for (size_t i = 0; i < total; i++)
        if (labels[i] < 0) distances[i] = -FLT_MAX;
}

void IndexMVKE::range_search(idx_t n, const float *x, float radius, faiss::RangeSearchResult *result,
                             const faiss::SearchParameters *params) const {
    require(result, "mvke: range_search: result is NULL");
    require(n >= 0, "mvke: range_search: n must be >= 0");
    require((idx_t)result->nq == n, "mvke: range_search: result was made for another number of queries");
    require(!std::isnan(radius), "mvke: range_search: radius is NaN");
    AllowPtr allow = allow_from_selector(ix_, params ? params->sel : nullptr);
    // FAISS keeps scores strictly above the radius for inner products; the core keeps >= min.
    const float min_score = std::nextafter(radius, INFINITY);
    mvke_result *res = nullptr;
    check(mvke_index_range_search(ix_, n, x, min_score, allow.get(), &res), "range_search");
    struct ResultFree {
        mvke_result *r;
        ~ResultFree() { mvke_result_free(r); }
    } guard{res};

    for (idx_t i = 0; i < n; i++) {
        int64_t cnt = 0;
        check(mvke_result_get(res, i, nullptr, nullptr, &cnt), "range_search");
        result->lims[i] = (size_t)cnt;
    }
    result->do_allocation();
    for (idx_t i = 0; i < n; i++) {
        const int64_t *ids = nullptr;
        const float *scores = nullptr;
        int64_t cnt = 0;
        check(mvke_result_get(res, i, &ids, &scores, &cnt), "range_search");
        std::copy(ids, ids + cnt, result->labels + result->lims[i]);
        std::copy(scores, scores + cnt, result->distances + result->lims[i]);
    }
}

void IndexMVKE::reset() {
    check(mvke_index_reset(ix_), "reset");
    sync_ntotal();
}

size_t IndexMVKE::remove_ids(const faiss::IDSelector &sel) {
    std::vector<int64_t> ids = selected_present_ids(ix_, sel);
    check(mvke_index_remove(ix_, (int64_t)ids.size(), ids.data()), "remove_ids");
    sync_ntotal();
    return ids.size();
}

void IndexMVKE::reconstruct(idx_t key, float *recons) const {
    check(mvke_index_get(ix_, key, recons), "reconstruct");
}

void IndexMVKE::reconstruct_n(idx_t i0, idx_t ni, float *recons) const {
    require(ni >= 0, "mvke: reconstruct_n: ni must be >= 0");
    // Checked first so that a missing id leaves recons untouched.
    for (idx_t i = 0; i < ni; i++) {
        int yes = 0;
        check(mvke_index_contains(ix_, i0 + i, &yes), "reconstruct_n");
        if (!yes)
            throw faiss::FaissException("mvke: reconstruct_n: id " + std::to_string(i0 + i) +
                                        " is not in the index");
    }
    for (idx_t i = 0; i < ni; i++) check(mvke_index_get(ix_, i0 + i, recons + i * d), "reconstruct_n");
}

void IndexMVKE::set_threads(int threads) {
    check(mvke_index_set_threads(ix_, threads), "set_threads");
}

void IndexMVKE::build_lists(int nlists) {
    check(mvke_index_build_lists(ix_, nlists), "build_lists");
}

void IndexMVKE::set_nprobe(int nprobe) {
    check(mvke_index_set_probe(ix_, nprobe), "set_nprobe");
}

void IndexMVKE::use_device(int device) {
    if (device == -2) check(mvke_index_use_cpu(ix_), "use_cpu");
    else check(mvke_index_use_gpu(ix_, device), "use_gpu");
}

}  // namespace mvke
