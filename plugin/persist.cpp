/*
 * persist.cpp - MVKE FAISS indexes to and from index files: the core's file format carries them
 * (FAISS's faiss_write_index knows only its own index types), codec indexes with their trained
 * parameters, codes, bounds and refine rows.
 */
#include <memory>
#include <string>
#include <vector>

#include "c_entry.h"
#include "index_mvke.h"
#include "mvke/mvke_faiss.h"

namespace {

struct IndexFree {
    void operator()(mvke_index *ix) const { mvke_index_free(ix); }
};
struct TagsFree {
    void operator()(mvke_tags *t) const { mvke_tags_free(t); }
};
using IndexPtr = std::unique_ptr<mvke_index, IndexFree>;
using TagsPtr = std::unique_ptr<mvke_tags, TagsFree>;

/* The MVKE index behind a FAISS handle, or a FaissException naming the call. */
const mvke::IndexMVKE *mvke_of(const FaissIndex *index, const std::string &what) {
    mvke::require(index != nullptr, (what + ": index is NULL").c_str());
    const auto *m = dynamic_cast<const mvke::IndexMVKE *>(reinterpret_cast<const faiss::Index *>(index));
    mvke::require(m != nullptr, (what + ": not an MVKE index").c_str());
    return m;
}

/* A new core index of K x d holding the gated rows of one task's tags, ids = tag ids. */
IndexPtr task_rows(const mvke_tags *tags, const char *task, int K, int d) {
    const std::string what = std::string("the tags of task \"") + task + "\"";
    int64_t n = 0;
    mvke::check(mvke_tags_count(tags, task, &n), what.c_str());
    std::vector<int64_t> ids((size_t)n);
    std::vector<float> rows((size_t)n * (size_t)K * (size_t)d);
    mvke::check(mvke_tags_ids(tags, task, ids.data()), what.c_str());
    for (int64_t i = 0; i < n; i++)
        mvke::check(mvke_tags_get_row(tags, task, ids[(size_t)i], rows.data() + (size_t)i * K * d), what.c_str());
    mvke_index *ix = nullptr;
    // Default options (f32) on purpose: a tag table holds no codec (mvke_tags_new refuses sq8,
    // pq and refine), and mvke_tags_get_row hands out float32 rows. A user index read from a
    // file is adopted as opened, codec, codes and refine rows included (mvke_faiss_index_read).
    mvke::check(mvke_index_new(&ix, K, d, nullptr), what.c_str());
    IndexPtr out(ix);
    mvke::check(mvke_index_add(ix, n, ids.data(), rows.data()), what.c_str());
    return out;
}

}  // namespace

extern "C" int mvke_faiss_index_write(const FaissIndex *index, const char *path) {
    try {
        const mvke::IndexMVKE *m = mvke_of(index, "mvke_faiss_index_write");
        mvke::require(path != nullptr, "mvke_faiss_index_write: path is NULL");
        mvke::check(mvke_file_save(path, m->core(), nullptr), "mvke_faiss_index_write");
    }
    MVKE_FAISS_CATCH
}

extern "C" int mvke_faiss_index_read(const char *path, FaissIndex **users) {
    try {
        mvke::require(users != nullptr, "mvke_faiss_index_read: users is NULL");
        *users = nullptr;
        mvke::require(path != nullptr, "mvke_faiss_index_read: path is NULL");
        mvke_index *ix = nullptr;
        mvke::check(mvke_file_open(path, MVKE_FILE_OPEN_DEFAULT, &ix, nullptr), "mvke_faiss_index_read");
        mvke::IndexMVKE *idx = mvke::IndexMVKE::adopt(ix);
        *users = reinterpret_cast<FaissIndex *>(static_cast<faiss::Index *>(idx));
    }
    MVKE_FAISS_CATCH
}

extern "C" int mvke_faiss_tag_index_read(const char *path, const char *task, FaissIndex **tags) {
    try {
        mvke::require(tags != nullptr, "mvke_faiss_tag_index_read: tags is NULL");
        *tags = nullptr;
        mvke::require(path != nullptr, "mvke_faiss_tag_index_read: path is NULL");
        mvke_index *ix = nullptr;
        mvke_tags *tt = nullptr;
        // With a task only the tag table is wanted: the users are not kept.
        mvke::check(mvke_file_open(path, MVKE_FILE_OPEN_DEFAULT, task ? nullptr : &ix, task ? &tt : nullptr),
                    "mvke_faiss_tag_index_read");
        IndexPtr rows(ix);
        TagsPtr table(tt);
        if (task) {
            mvke_file_info info;
            mvke::check(mvke_file_inspect(path, &info), "mvke_faiss_tag_index_read");
            rows = task_rows(tt, task, info.K, info.d);
        }
        mvke::IndexMVKETags *idx = mvke::IndexMVKETags::adopt(rows.release());
        *tags = reinterpret_cast<FaissIndex *>(static_cast<faiss::Index *>(idx));
    }
    MVKE_FAISS_CATCH
}
