/*
 * test_pack.c - gated query rows and gates from virtual kernels.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "reference.h"

Test(pack, kronecker_layout) {
    float q[3] = {1, 2, 3}, w[2] = {0.5f, -2}, z[6];
    cr_assert_eq(mvke_pack_query(2, 3, q, w, z), MVKE_OK);
    const float want[6] = {0.5f, 1, 1.5f, -2, -4, -6};
    for (int i = 0; i < 6; i++) cr_assert_eq(z[i], want[i]);
    float keep[6];
    memcpy(keep, z, sizeof z);
    q[1] = NAN;
    cr_assert_eq(mvke_pack_query(2, 3, q, w, z), MVKE_ERR_NONFINITE);
    cr_assert(memcmp(keep, z, sizeof z) == 0, "z written on error");
    cr_assert_eq(mvke_pack_query(0, 3, q, w, z), MVKE_ERR_DIM);
    cr_assert_eq(mvke_pack_query(2, 3, NULL, w, z), MVKE_ERR_INVALID);
}

Test(pack, gates_from_virtual_kernels) {
    ref_seed(51);
    enum { K = 5, d = 30 };
    float q[d], vk[K * d], w[K];
    ref_fill_normal(q, d);
    ref_fill_normal(vk, K * d);
    const int experts[3] = {1, 2, 4};
    for (float temp = 0.5f; temp <= 4.0f; temp *= 2) {
        cr_assert_eq(mvke_gates_from_vk(K, d, q, vk, experts, 3, temp, w), MVKE_OK);
        double logit[3], mx = -INFINITY, sum = 0;
        for (int i = 0; i < 3; i++) {
            double s = 0;
            for (int j = 0; j < d; j++) s += (double)q[j] * vk[experts[i] * d + j];
            logit[i] = s / temp;
            mx = fmax(mx, logit[i]);
        }
        for (int i = 0; i < 3; i++) sum += exp(logit[i] - mx);
        cr_assert_eq(w[0], 0.0f);
        cr_assert_eq(w[3], 0.0f);
        for (int i = 0; i < 3; i++) cr_assert_float_eq(w[experts[i]], exp(logit[i] - mx) / sum, 1e-6);
    }
    const int bad[2] = {1, 1};
    cr_assert_eq(mvke_gates_from_vk(K, d, q, vk, bad, 2, 1, w), MVKE_ERR_INVALID);
    const int out[1] = {5};
    cr_assert_eq(mvke_gates_from_vk(K, d, q, vk, out, 1, 1, w), MVKE_ERR_INVALID);
    cr_assert_eq(mvke_gates_from_vk(K, d, q, vk, experts, 3, 0, w), MVKE_ERR_INVALID);
    vk[7] = INFINITY;
    cr_assert_eq(mvke_gates_from_vk(K, d, q, vk, experts, 3, 1, w), MVKE_ERR_NONFINITE);
}
