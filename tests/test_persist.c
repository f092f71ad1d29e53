/*
 * test_persist.c - MVKE FAISS indexes through index files (plugin/persist.cpp): a written index
 * reads back with the same ids, rows and searches (a trained sq8 index with refine too: its codec
 * is kept, and it answers as an f32 index of the same rows); a task's tag index reads from a
 * file's tag table and answers as the core's user -> tags search; bad paths, other FAISS index
 * types and unknown tasks fail with a message, hand out nothing and leave the destination
 * untouched.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>

#include "mvke/mvke_faiss.h"
#include "reference.h"

#define OK(call)                                                                                    \
    do {                                                                                            \
        int rc_ = (call);                                                                           \
        cr_assert_eq(rc_, 0, "%s returned %d: %s", #call, rc_,                                      \
                     faiss_get_last_error() ? faiss_get_last_error() : "(no message)");            \
    } while (0)

enum { K = 3, d = 7, D = K * d, N = 500, NQ = 4, TOPK = 20 };

static char dir[] = "/tmp/mvke-persist-XXXXXX";
static void setup(void) { cr_assert_not_null(mkdtemp(dir)); }
static void teardown(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}
TestSuite(persist, .init = setup, .fini = teardown);

static void path_in(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "%s/%s", dir, name); }

/* Searches a and b with the same queries and requires identical answers. */
static void same_searches(FaissIndex *a, FaissIndex *b, const float *queries) {
    float Da[NQ * TOPK], Db[NQ * TOPK];
    idx_t Ia[NQ * TOPK], Ib[NQ * TOPK];
    OK(faiss_Index_search(a, NQ, queries, TOPK, Da, Ia));
    OK(faiss_Index_search(b, NQ, queries, TOPK, Db, Ib));
    cr_assert_eq(memcmp(Ia, Ib, sizeof Ia), 0);
    cr_assert_eq(memcmp(Da, Db, sizeof Da), 0);
}

Test(persist, user_index_round_trip) {
    ref_seed(91);
    float *x = malloc(sizeof(float) * N * D), z[NQ * D], q[d], w[K] = {0.5f, 0.3f, 0.2f};
    idx_t ids[N];
    ref_fill_normal(x, N * D);
    for (int i = 0; i < N; i++) ids[i] = 1000 + 3 * i;
    for (int t = 0; t < NQ; t++) {
        ref_fill_normal(q, d);
        cr_assert_eq(mvke_pack_query(K, d, q, w, z + t * D), MVKE_OK);
    }
    FaissIndex *u = NULL, *back = NULL;
    OK(mvke_faiss_user_index_new(&u, K, d));
    OK(faiss_Index_add_with_ids(u, N, x, ids));
    char path[256];
    path_in(path, sizeof path, "users.mvke");
    OK(mvke_faiss_index_write(u, path));
    OK(mvke_faiss_index_read(path, &back));
    cr_assert(mvke_faiss_is_mvke(back));
    cr_assert_eq(faiss_Index_ntotal(back), N);
    cr_assert_eq(faiss_Index_d(back), D);
    same_searches(u, back, z);
    float r1[D], r2[D];
    OK(faiss_Index_reconstruct(u, ids[17], r1));
    OK(faiss_Index_reconstruct(back, ids[17], r2));
    cr_assert_eq(memcmp(r1, r2, sizeof r1), 0);
    /* The read index is a full index: it takes more users. */
    OK(faiss_Index_add_with_ids(back, 1, x, (idx_t[]){7}));
    cr_assert_eq(faiss_Index_ntotal(back), N + 1);
    faiss_Index_free(u);
    faiss_Index_free(back);
    free(x);
}

/* Range searches of a and b with the same queries give identical lists; returns their total. */
static size_t same_range_searches(FaissIndex *a, FaissIndex *b, const float *queries, float radius) {
    FaissRangeSearchResult *ra = NULL, *rb = NULL;
    OK(faiss_RangeSearchResult_new(&ra, NQ));
    OK(faiss_RangeSearchResult_new(&rb, NQ));
    OK(faiss_Index_range_search(a, NQ, queries, radius, ra));
    OK(faiss_Index_range_search(b, NQ, queries, radius, rb));
    size_t *la, *lb;
    idx_t *ia, *ib;
    float *da, *db;
    faiss_RangeSearchResult_lims(ra, &la);
    faiss_RangeSearchResult_lims(rb, &lb);
    faiss_RangeSearchResult_labels(ra, &ia, &da);
    faiss_RangeSearchResult_labels(rb, &ib, &db);
    cr_assert_eq(memcmp(la, lb, (NQ + 1) * sizeof *la), 0);
    const size_t total = la[NQ];
    cr_assert_eq(memcmp(ia, ib, total * sizeof *ia), 0);
    cr_assert_eq(memcmp(da, db, total * sizeof *da), 0);
    faiss_RangeSearchResult_free(ra);
    faiss_RangeSearchResult_free(rb);
    return total;
}

/* The last search on this thread was a codec index's certified one: rows were re-scored (an
 * f32 index re-scores none), and the answer is the exact one. */
static void last_search_was_certified_refine(void) {
    mvke_search_stats st;
    cr_assert_eq(mvke_last_search_stats(&st), MVKE_OK);
    cr_assert(st.certified);
    cr_assert_gt(st.users_refined, 0);
    cr_assert_eq(st.users_scanned, N);
}

/* A trained sq8 index with its float32 rows, built through FAISS, answers as a plain f32 index
 * of the same rows; written and read back it keeps its codec (trained, rows, refine rows) and
 * answers identically. Untrained, it cannot be written. */
Test(persist, codec_index_round_trip) {
    ref_seed(93);
    float *x = malloc(sizeof(float) * N * D), z[NQ * D], q[d], w[K] = {0.2f, 0.5f, 0.3f};
    idx_t ids[N];
    ref_fill_normal(x, N * D);
    for (int i = 0; i < N; i++) ids[i] = 50 + 7 * i;
    for (int t = 0; t < NQ; t++) {
        ref_fill_normal(q, d);
        cr_assert_eq(mvke_pack_query(K, d, q, w, z + t * D), MVKE_OK);
    }
    FaissIndex *u = NULL, *f = NULL, *back = NULL;
    OK(mvke_faiss_user_index_new_with(&u, K, d, "sq8,refine"));
    char path[256];
    path_in(path, sizeof path, "sq8.mvke");
    cr_assert_neq(mvke_faiss_index_write(u, path), 0);
    cr_assert(strstr(faiss_get_last_error(), "MVKE_ERR_UNTRAINED"), "%s", faiss_get_last_error());
    cr_assert_neq(access(path, F_OK), 0);
    OK(faiss_Index_train(u, N, x));
    cr_assert(faiss_Index_is_trained(u));
    OK(faiss_Index_add_with_ids(u, N, x, ids));
    OK(mvke_faiss_user_index_new(&f, K, d));
    OK(faiss_Index_add_with_ids(f, N, x, ids));
    same_searches(f, u, z);
    last_search_was_certified_refine();
    cr_assert_gt(same_range_searches(f, u, z, 0.3f), 0);
    last_search_was_certified_refine();

    OK(mvke_faiss_index_write(u, path));
    mvke_file_info info;
    cr_assert_eq(mvke_file_inspect(path, &info), MVKE_OK);
    cr_assert_eq(info.storage, MVKE_STORAGE_SQ8);
    cr_assert_eq(info.nusers, N);
    OK(mvke_faiss_index_read(path, &back));
    cr_assert(faiss_Index_is_trained(back));
    cr_assert_eq(faiss_Index_ntotal(back), N);
    same_searches(u, back, z);
    last_search_was_certified_refine();
    same_searches(f, back, z);
    cr_assert_gt(same_range_searches(f, back, z, 0.3f), 0);
    last_search_was_certified_refine();
    cr_assert_gt(same_range_searches(u, back, z, 0.0f), 0);
    /* The codec came back trained: the read index takes more rows (and no second training). */
    OK(faiss_Index_add_with_ids(back, 1, x, (idx_t[]){7}));
    cr_assert_eq(faiss_Index_ntotal(back), N + 1);
    cr_assert_neq(faiss_Index_train(back, N, x), 0);
    faiss_Index_free(u);
    faiss_Index_free(f);
    faiss_Index_free(back);
    free(x);
}

Test(persist, tag_index_round_trip_and_from_a_task) {
    ref_seed(92);
    /* A tag table with one task on experts 0 and 2, saved with a few users. */
    mvke_tags *tags = NULL;
    mvke_index *users = NULL;
    cr_assert_eq(mvke_tags_new(&tags, K, d, NULL), MVKE_OK);
    cr_assert_eq(mvke_index_new(&users, K, d, NULL), MVKE_OK);
    const int ex[2] = {0, 2};
    cr_assert_eq(mvke_tags_add_task(tags, "interest", ex, 2), MVKE_OK);
    enum { NT = 40 };
    float tq[NT * d], tw[NT * K];
    int64_t tid[NT];
    ref_fill_normal(tq, NT * d);
    for (int i = 0; i < NT; i++) {
        tid[i] = 5 + 2 * i;
        tw[i * K + 0] = 0.7f;
        tw[i * K + 1] = 0.0f;
        tw[i * K + 2] = 0.3f;
    }
    cr_assert_eq(mvke_tags_add(tags, "interest", NT, tid, NULL, NULL, tq, tw), MVKE_OK);
    float ux[NQ * D];
    int64_t uid[NQ] = {1, 2, 3, 4};
    ref_fill_normal(ux, NQ * D);
    cr_assert_eq(mvke_index_add(users, NQ, uid, ux), MVKE_OK);
    char path[256], path2[256];
    path_in(path, sizeof path, "world.mvke");
    path_in(path2, sizeof path2, "tags.mvke");
    cr_assert_eq(mvke_file_save(path, users, tags), MVKE_OK);

    FaissIndex *t = NULL, *t2 = NULL;
    OK(mvke_faiss_tag_index_read(path, "interest", &t));
    cr_assert_eq(faiss_Index_ntotal(t), NT);
    /* The answers of the core's user -> tags search. */
    mvke_result *res = NULL;
    cr_assert_eq(mvke_user_tags_top_rows(tags, "interest", NQ, ux, 5, &res), MVKE_OK);
    float Dt[NQ * 5];
    idx_t It[NQ * 5];
    OK(faiss_Index_search(t, NQ, ux, 5, Dt, It));
    for (int u = 0; u < NQ; u++) {
        const int64_t *ids;
        const float *sc;
        int64_t n;
        cr_assert_eq(mvke_result_get(res, u, &ids, &sc, &n), MVKE_OK);
        cr_assert_eq(n, 5);
        for (int r = 0; r < 5; r++) {
            cr_assert_eq(It[u * 5 + r], ids[r]);
            cr_assert_eq(Dt[u * 5 + r], sc[r]);
        }
    }
    mvke_result_free(res);
    /* A tag index written and read back as one (task NULL). */
    OK(mvke_faiss_index_write(t, path2));
    OK(mvke_faiss_tag_index_read(path2, NULL, &t2));
    same_searches(t, t2, ux);
    /* An unknown task: an error naming it, nothing handed out. */
    FaissIndex *none = (FaissIndex *)&none;
    cr_assert_neq(mvke_faiss_tag_index_read(path, "intention", &none), 0);
    cr_assert_null(none);
    cr_assert(strstr(faiss_get_last_error(), "intention"), "%s", faiss_get_last_error());
    faiss_Index_free(t);
    faiss_Index_free(t2);
    mvke_tags_free(tags);
    mvke_index_free(users);
}

Test(persist, errors_hand_out_nothing_and_write_nothing) {
    FaissIndex *out = (FaissIndex *)&out;
    char path[256];
    path_in(path, sizeof path, "missing.mvke");
    cr_assert_neq(mvke_faiss_index_read(path, &out), 0);
    cr_assert_null(out);
    cr_assert(strstr(faiss_get_last_error(), "missing.mvke"), "%s", faiss_get_last_error());
    /* A file that is not an index. */
    path_in(path, sizeof path, "junk.mvke");
    FILE *f = fopen(path, "w");
    fputs("not an index, just some text long enough to hold a header.................", f);
    fclose(f);
    out = (FaissIndex *)&out;
    cr_assert_neq(mvke_faiss_index_read(path, &out), 0);
    cr_assert_null(out);
    /* Another FAISS index type cannot be written, and the destination is not created. */
    FaissIndexFlatIP *flat = NULL;
    OK(faiss_IndexFlatIP_new_with(&flat, D));
    path_in(path, sizeof path, "flat.mvke");
    cr_assert_neq(mvke_faiss_index_write((FaissIndex *)flat, path), 0);
    cr_assert(strstr(faiss_get_last_error(), "not an MVKE index"), "%s", faiss_get_last_error());
    cr_assert_neq(access(path, F_OK), 0);
    faiss_Index_free((FaissIndex *)flat);
    /* A directory that does not exist: an error, nothing created. */
    FaissIndex *u = NULL;
    OK(mvke_faiss_user_index_new(&u, K, d));
    path_in(path, sizeof path, "no/such/dir/u.mvke");
    cr_assert_neq(mvke_faiss_index_write(u, path), 0);
    cr_assert_neq(mvke_faiss_index_write(NULL, path), 0);
    cr_assert_neq(mvke_faiss_index_read(NULL, &out), 0);
    faiss_Index_free(u);
}
