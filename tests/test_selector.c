/*
 * test_selector.c - searches restricted by FAISS id selectors (plugin/selector.cpp), through
 * mvke_faiss_search_selected / mvke_faiss_range_search_selected (FAISS 1.7's C API has no search
 * parameters of its own). Results are compared with the oracle restricted to the selected ids,
 * and with FAISS's IndexFlatIP given the same selector.
 */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/impl/AuxIndexStructures_c.h>

#include "mvke/mvke_faiss.h"
#include "reference.h"

#define TOL 1e-5
#define K 4
#define DE 16
#define D (K * DE)
#define N 1500

#define OK(call)                                                                                    \
    do {                                                                                            \
        int rc_ = (call);                                                                           \
        cr_assert_eq(rc_, 0, "%s returned %d: %s", #call, rc_,                                      \
                     faiss_get_last_error() ? faiss_get_last_error() : "(no message)");            \
    } while (0)

static float x[N * D];
static int64_t ids[N];
static FaissIndex *fx;

/* Ids are row numbers (so that IndexFlatIP, whose ids are positions, names the same rows). */
static void setup(void) {
    ref_seed(31);
    ref_fill_normal(x, N * D);
    for (int64_t i = 0; i < N; i++) ids[i] = i;
    cr_assert_eq(mvke_faiss_user_index_new(&fx, K, DE), 0);
    OK(faiss_Index_add_with_ids(fx, N, x, ids));
}

static void teardown(void) { faiss_Index_free(fx); }

static void make_tag(float *q, float *w, float *z) {
    ref_fill_normal(q, DE);
    double sum = 0;
    for (int k = 0; k < K; k++) sum += (w[k] = (float)exp(ref_normal()));
    for (int k = 0; k < K; k++) w[k] = (float)(w[k] / sum);
    cr_assert_eq(mvke_pack_query(K, DE, q, w, z), MVKE_OK);
}

/* Checks a selected top-k against the oracle over rows with allowed[i] != 0. */
static void check_selected(const FaissIDSelector *sel, const uint8_t *allowed, int64_t k) {
    float q[DE], w[K], z[D];
    make_tag(q, w, z);
    float *dist = malloc((size_t)k * sizeof(float));
    int64_t *labels = malloc((size_t)k * sizeof(int64_t));
    ref_hit *ref = malloc(N * sizeof(ref_hit));
    OK(mvke_faiss_search_selected(fx, 1, z, k, sel, dist, labels));
    int64_t n = 0;
    while (n < k && labels[n] >= 0) n++;
    for (int64_t j = n; j < k; j++) cr_assert_eq(labels[j], -1);
    int64_t nref = ref_rank(K, DE, N, x, ids, allowed, q, w, ref);
    ref_check_topk(labels, dist, n, k, ref, nref, TOL);

    /* Range search with the same selector: the same rows above a radius. */
    FaissRangeSearchResult *res = NULL;
    OK(faiss_RangeSearchResult_new(&res, 1));
    OK(mvke_faiss_range_search_selected(fx, 1, z, 0.2f, sel, res));
    size_t *lims;
    int64_t *rl;
    float *rd;
    faiss_RangeSearchResult_lims(res, &lims);
    faiss_RangeSearchResult_labels(res, &rl, &rd);
    ref_check_range(rl, rd, (int64_t)lims[1], 0.2f, ref, nref, TOL);
    faiss_RangeSearchResult_free(res);
    free(dist);
    free(labels);
    free(ref);
}

TestSuite(selector, .init = setup, .fini = teardown);

Test(selector, range_selector_restricts_search) {
    FaissIDSelectorRange *sel = NULL;
    OK(faiss_IDSelectorRange_new(&sel, 200, 260));
    uint8_t allowed[N] = {0};
    for (int i = 200; i < 260; i++) allowed[i] = 1;
    check_selected((const FaissIDSelector *)sel, allowed, 10);
    check_selected((const FaissIDSelector *)sel, allowed, 100); /* more than selected: padded */
    faiss_IDSelectorRange_free(sel);
}

Test(selector, wide_range_selector_over_few_rows) {
    /* A range far larger than the index: enumerated over the rows present. */
    FaissIDSelectorRange *sel = NULL;
    OK(faiss_IDSelectorRange_new(&sel, 1400, INT64_MAX));
    uint8_t allowed[N] = {0};
    for (int i = 1400; i < N; i++) allowed[i] = 1;
    check_selected((const FaissIDSelector *)sel, allowed, 20);
    faiss_IDSelectorRange_free(sel);
}

Test(selector, batch_selector_restricts_search) {
    int64_t batch[] = {5, 1499, 77, 600, 601, 602, 999999, 77, 1234, 0};
    FaissIDSelectorBatch *sel = NULL;
    OK(faiss_IDSelectorBatch_new(&sel, sizeof batch / sizeof batch[0], batch));
    uint8_t allowed[N] = {0};
    for (size_t i = 0; i < sizeof batch / sizeof batch[0]; i++)
        if (batch[i] < N) allowed[batch[i]] = 1;
    check_selected((const FaissIDSelector *)sel, allowed, 5);
    check_selected((const FaissIDSelector *)sel, allowed, 50);
    faiss_IDSelector_free((FaissIDSelector *)sel);
}

Test(selector, null_selector_is_a_plain_search) {
    uint8_t allowed[N];
    memset(allowed, 1, sizeof allowed);
    check_selected(NULL, allowed, 30);
}

Test(selector, selected_search_works_on_faiss_own_indexes) {
    /* IndexFlatIP honours SearchParameters::sel too: it returns only selected ids. */
    FaissIndexFlatIP *flat = NULL;
    OK(faiss_IndexFlatIP_new_with(&flat, D));
    OK(faiss_Index_add(flat, N, x));
    int64_t batch[] = {3, 30, 300, 1000};
    FaissIDSelectorBatch *sel = NULL;
    OK(faiss_IDSelectorBatch_new(&sel, 4, batch));
    float q[DE], w[K], z[D], dist[6];
    int64_t labels[6];
    make_tag(q, w, z);
    OK(mvke_faiss_search_selected(flat, 1, z, 6, (const FaissIDSelector *)sel, dist, labels));
    for (int j = 0; j < 4; j++)
        cr_assert(labels[j] == 3 || labels[j] == 30 || labels[j] == 300 || labels[j] == 1000,
                  "slot %d: id %lld not selected", j, (long long)labels[j]);
    cr_assert_eq(labels[4], -1);
    cr_assert_eq(labels[5], -1);
    faiss_IDSelector_free((FaissIDSelector *)sel);
    faiss_Index_free(flat);
}

Test(selector, remove_with_selector_of_absent_ids_removes_nothing) {
    int64_t absent[] = {N, N + 1, 123456789};
    FaissIDSelectorBatch *sel = NULL;
    OK(faiss_IDSelectorBatch_new(&sel, 3, absent));
    size_t n = 99;
    OK(faiss_Index_remove_ids(fx, (const FaissIDSelector *)sel, &n));
    cr_assert_eq(n, 0);
    cr_assert_eq(faiss_Index_ntotal(fx), N);
    faiss_IDSelector_free((FaissIDSelector *)sel);
}
