/*
 * test_result.c - result lists built from padded top-k output.
 */
#include <criterion/criterion.h>
#include <math.h>

#include "index/result.h"

Test(result, from_topk_drops_padding) {
    float D[6] = {0.9f, 0.5f, -INFINITY, 0.3f, -INFINITY, -INFINITY};
    int64_t I[6] = {4, 2, -1, 8, -1, -1};
    mvke_result *r;
    cr_assert_eq(mvke_result_from_topk(2, 3, D, I, &r), MVKE_OK);
    int64_t nq, n, total;
    const int64_t *ids;
    const float *sc;
    mvke_result_nqueries(r, &nq);
    mvke_result_total(r, &total);
    cr_assert(nq == 2 && total == 3);
    cr_assert_eq(mvke_result_get(r, 0, &ids, &sc, &n), MVKE_OK);
    cr_assert(n == 2 && ids[0] == 4 && ids[1] == 2 && sc[1] == 0.5f);
    cr_assert_eq(mvke_result_get(r, 1, &ids, NULL, &n), MVKE_OK);
    cr_assert(n == 1 && ids[0] == 8);
    cr_assert_eq(mvke_result_get(r, 2, &ids, &sc, &n), MVKE_ERR_INVALID);
    cr_assert_eq(mvke_result_get(r, -1, &ids, &sc, &n), MVKE_ERR_INVALID);
    mvke_result_free(r);
    mvke_result_free(NULL);
}
