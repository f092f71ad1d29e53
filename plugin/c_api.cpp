/*
 * c_api.cpp - the C entry points of mvke_faiss.h.
 *
 * They follow FAISS's C API: return 0, or nonzero with the exception kept in FAISS's thread-local
 * faiss_last_exception so that faiss_get_last_error() shows its message. No exception crosses
 * the C boundary: MVKE_FAISS_CATCH closes every entry point.
 */
#include "mvke/mvke_faiss.h"

#include <faiss/impl/AuxIndexStructures.h>

#include "c_entry.h"
#include "index_mvke.h"

static faiss::Index *as_index(FaissIndex *index) { return reinterpret_cast<faiss::Index *>(index); }
static const faiss::Index *as_index(const FaissIndex *index) {
    return reinterpret_cast<const faiss::Index *>(index);
}

extern "C" int mvke_faiss_user_index_new(FaissIndex **out, int K, int d) {
    try {
        mvke::require(out != nullptr, "mvke_faiss_user_index_new: out is NULL");
        *out = nullptr;
        *out = reinterpret_cast<FaissIndex *>(static_cast<faiss::Index *>(new mvke::IndexMVKE(K, d)));
    }
    MVKE_FAISS_CATCH
}

extern "C" int mvke_faiss_user_index_new_with(FaissIndex **out, int K, int d, const char *storage) {
    try {
        mvke::require(out != nullptr, "mvke_faiss_user_index_new_with: out is NULL");
        *out = nullptr;
        *out = reinterpret_cast<FaissIndex *>(static_cast<faiss::Index *>(new mvke::IndexMVKE(K, d, storage)));
    }
    MVKE_FAISS_CATCH
}

extern "C" int mvke_faiss_tag_index_new(FaissIndex **out, int K, int d) {
    try {
        mvke::require(out != nullptr, "mvke_faiss_tag_index_new: out is NULL");
        *out = nullptr;
        *out = reinterpret_cast<FaissIndex *>(static_cast<faiss::Index *>(new mvke::IndexMVKETags(K, d)));
    }
    MVKE_FAISS_CATCH
}

extern "C" int mvke_faiss_tag_index_new_with(FaissIndex **out, int K, int d, const char *options) {
    try {
        mvke::require(out != nullptr, "mvke_faiss_tag_index_new_with: out is NULL");
        *out = nullptr;
        *out = reinterpret_cast<FaissIndex *>(static_cast<faiss::Index *>(new mvke::IndexMVKETags(K, d, options)));
    }
    MVKE_FAISS_CATCH
}

extern "C" int mvke_faiss_is_mvke(const FaissIndex *index) {
    return index && dynamic_cast<const mvke::IndexMVKE *>(as_index(index)) != nullptr;
}

extern "C" int mvke_faiss_set_threads(FaissIndex *index, int threads) {
    try {
        mvke::require(index != nullptr, "mvke_faiss_set_threads: index is NULL");
        auto *m = dynamic_cast<mvke::IndexMVKE *>(as_index(index));
        mvke::require(m != nullptr, "mvke_faiss_set_threads: not an MVKE index");
        m->set_threads(threads);
    }
    MVKE_FAISS_CATCH
}

extern "C" int mvke_faiss_index_build_lists(FaissIndex *index, int nlists) {
    try {
        mvke::require(index != nullptr, "mvke_faiss_index_build_lists: index is NULL");
        auto *m = dynamic_cast<mvke::IndexMVKE *>(as_index(index));
        mvke::require(m != nullptr, "mvke_faiss_index_build_lists: not an MVKE index");
        m->build_lists(nlists);
    }
    MVKE_FAISS_CATCH
}

extern "C" int mvke_faiss_index_set_nprobe(FaissIndex *index, int nprobe) {
    try {
        mvke::require(index != nullptr, "mvke_faiss_index_set_nprobe: index is NULL");
        auto *m = dynamic_cast<mvke::IndexMVKE *>(as_index(index));
        mvke::require(m != nullptr, "mvke_faiss_index_set_nprobe: not an MVKE index");
        m->set_nprobe(nprobe);
    }
    MVKE_FAISS_CATCH
}

extern "C" int mvke_faiss_index_use_gpu(FaissIndex *index, int device) {
    try {
        mvke::require(index != nullptr, "mvke_faiss_index_use_gpu: index is NULL");
        mvke::require(device >= -1, "mvke_faiss_index_use_gpu: device must be 0, 1, ... or -1 (every device)");
        auto *m = dynamic_cast<mvke::IndexMVKE *>(as_index(index));
        mvke::require(m != nullptr, "mvke_faiss_index_use_gpu: not an MVKE index");
        m->use_device(device);
    }
    MVKE_FAISS_CATCH
}

extern "C" int mvke_faiss_index_use_cpu(FaissIndex *index) {
    try {
        mvke::require(index != nullptr, "mvke_faiss_index_use_cpu: index is NULL");
        auto *m = dynamic_cast<mvke::IndexMVKE *>(as_index(index));
        mvke::require(m != nullptr, "mvke_faiss_index_use_cpu: not an MVKE index");
        m->use_device(-2);
    }
    MVKE_FAISS_CATCH
}

extern "C" int mvke_faiss_search_selected(const FaissIndex *index, idx_t n, const float *x, idx_t k,
                                          const FaissIDSelector *sel, float *distances, idx_t *labels) {
    try {
        mvke::require(index != nullptr, "mvke_faiss_search_selected: index is NULL");
        faiss::SearchParameters params;
        params.sel = const_cast<faiss::IDSelector *>(reinterpret_cast<const faiss::IDSelector *>(sel));
        as_index(index)->search(n, x, k, distances, labels, sel ? &params : nullptr);
    }
    MVKE_FAISS_CATCH
}

extern "C" int mvke_faiss_range_search_selected(const FaissIndex *index, idx_t n, const float *x,
                                                float radius, const FaissIDSelector *sel,
                                                FaissRangeSearchResult *result) {
    try {
        mvke::require(index != nullptr, "mvke_faiss_range_search_selected: index is NULL");
        faiss::SearchParameters params;
        params.sel = const_cast<faiss::IDSelector *>(reinterpret_cast<const faiss::IDSelector *>(sel));
        as_index(index)->range_search(n, x, radius, reinterpret_cast<faiss::RangeSearchResult *>(result),
                                      sel ? &params : nullptr);
    }
    MVKE_FAISS_CATCH
}
