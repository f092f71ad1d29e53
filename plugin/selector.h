/*
 * selector.h - FAISS id selectors seen from the core: the allow-list a selector means for a
 * search, and the present ids a selector picks for remove_ids.
 */
#ifndef MVKE_PLUGIN_SELECTOR_H
#define MVKE_PLUGIN_SELECTOR_H

#include <cstdint>
#include <memory>
#include <vector>

#include <faiss/impl/IDSelector.h>

#include "mvke/mvke.h"

namespace mvke {

struct AllowFree {
    void operator()(mvke_allow *a) const { mvke_allow_free(a); }
};
using AllowPtr = std::unique_ptr<mvke_allow, AllowFree>;

/* The ids stored in ix, in storage order. */
std::vector<int64_t> present_ids(const mvke_index *ix);

/* The allow-list that restricts a search of ix to the ids sel selects; null when sel is null.
 * It asks sel->is_member about the rows that would enter a result (a bitmap selector is copied
 * as a bitmap); sel must outlive it. Throws faiss::FaissException on error. */
AllowPtr allow_from_selector(const mvke_index *ix, const faiss::IDSelector *sel);

/* The ids present in ix that sel selects, sorted increasing. */
std::vector<int64_t> selected_present_ids(const mvke_index *ix, const faiss::IDSelector &sel);

}  // namespace mvke

#endif
