/*
 * selector.cpp - FAISS id selectors turned into core allow-lists and id lists.
 *
 * Selectors whose members are known (range, batch, array, bitmap) become an allow-list without
 * asking is_member per row, so a small selection of a large index costs only its own size. The
 * rest (IDSelectorNot, user subclasses) are asked about each present id; the result is exact
 * either way.
 */
#include "selector.h"

#include <algorithm>

#include "index_mvke.h"

namespace mvke {

std::vector<int64_t> present_ids(const mvke_index *ix) {
    int64_t n = 0;
    check(mvke_index_count(ix, &n), "counting rows");
    std::vector<int64_t> ids((size_t)n);
    if (n > 0) check(mvke_index_ids(ix, ids.data()), "listing ids");
    return ids;
}

std::vector<int64_t> selected_present_ids(const mvke_index *ix, const faiss::IDSelector &sel) {
    std::vector<int64_t> ids = present_ids(ix);
    ids.erase(std::remove_if(ids.begin(), ids.end(), [&](int64_t id) { return !sel.is_member(id); }),
              ids.end());
    std::sort(ids.begin(), ids.end());
    return ids;
}

/* Sorts, removes repeats and negative ids (the core stores none). */
static void normalise(std::vector<int64_t> &ids) {
    ids.erase(std::remove_if(ids.begin(), ids.end(), [](int64_t id) { return id < 0; }), ids.end());
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
}

static AllowPtr allow_sorted(const std::vector<int64_t> &ids) {
    mvke_allow *a = nullptr;
    check(mvke_allow_new_sorted(&a, ids.data(), (int64_t)ids.size()), "building an allow-list");
    return AllowPtr(a);
}

AllowPtr allow_from_selector(const mvke_index *ix, const faiss::IDSelector *sel) {
    if (!sel) return AllowPtr();
    if (auto r = dynamic_cast<const faiss::IDSelectorRange *>(sel)) {
        int64_t n = 0;
        check(mvke_index_count(ix, &n), "counting rows");
        int64_t lo = std::max<int64_t>(r->imin, 0), hi = r->imax;
        std::vector<int64_t> ids;
        if (hi > lo && (uint64_t)hi - (uint64_t)lo <= (uint64_t)n) {
            ids.reserve((size_t)(hi - lo));
            for (int64_t id = lo; id < hi; id++) ids.push_back(id);
        } else if (hi > lo) {
            ids = selected_present_ids(ix, *sel);
        }
        return allow_sorted(ids);
    }
    if (auto b = dynamic_cast<const faiss::IDSelectorBatch *>(sel)) {
        std::vector<int64_t> ids(b->set.begin(), b->set.end());
        normalise(ids);
        return allow_sorted(ids);
    }
    if (auto a = dynamic_cast<const faiss::IDSelectorArray *>(sel)) {
        std::vector<int64_t> ids(a->ids, a->ids + a->n);
        normalise(ids);
        return allow_sorted(ids);
    }
    if (auto bm = dynamic_cast<const faiss::IDSelectorBitmap *>(sel)) {
        mvke_allow *a = nullptr;
        check(mvke_allow_new_bitmap(&a, bm->bitmap, (int64_t)bm->n * 8), "building an allow bitmap");
        return AllowPtr(a);
    }
    return allow_sorted(selected_present_ids(ix, *sel));
}

}  // namespace mvke
