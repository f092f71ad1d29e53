/*
 * selector.cpp - FAISS id selectors turned into core allow-lists and id lists.
 *
 * A search's selector becomes an allow-list that asks the selector itself (is_member as a
 * membership callback, mvke_allow_new_callback): nothing is listed, sorted or copied, and only
 * the rows that would enter a result are asked about. A bitmap selector is copied as a bitmap
 * (one bit per id, no call per row). remove_ids still lists the present ids a selector picks.
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

/* The selector's own membership test, from the core's threads (FAISS's selectors are const
 * and safe to share). An exception must not cross the C library: it counts as "not a member". */
static int selector_member(void *ctx, int64_t id) {
    try {
        return static_cast<const faiss::IDSelector *>(ctx)->is_member(id) ? 1 : 0;
    } catch (...) {
        return 0;
    }
}

AllowPtr allow_from_selector(const mvke_index *ix, const faiss::IDSelector *sel) {
    (void)ix;
    if (!sel) return AllowPtr();
    mvke_allow *a = nullptr;
    if (auto bm = dynamic_cast<const faiss::IDSelectorBitmap *>(sel)) {
        check(mvke_allow_new_bitmap(&a, bm->bitmap, (int64_t)bm->n * 8), "building an allow bitmap");
        return AllowPtr(a);
    }
    check(mvke_allow_new_callback(&a, selector_member, const_cast<faiss::IDSelector *>(sel)), "building an allow-list");
    return AllowPtr(a);
}

}  // namespace mvke
