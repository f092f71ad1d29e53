/*
 * test_gram.c - block Gram triangles: layout, doubling, trace, overflow, and the identity
 * |E|^2 |q|^2 = <Gram(x) doubled, Gram(z) plain> that the search relies on.
 */
#include <criterion/criterion.h>
#include <math.h>

#include "kernels/gram.h"
#include "reference.h"

Test(gram, layout_and_doubling) {
    const int K = 3, d = 2;
    const float x[6] = {1, 2, 3, 4, -5, 6};
    float plain[6], dbl[6];
    cr_assert_eq(mvke_gram_size(K), 6);
    cr_assert_eq(mvke_gram_plain(K, d, x, plain), 0);
    cr_assert_eq(mvke_gram_doubled(K, d, x, dbl), 0);
    /* (0,0) (0,1) (0,2) (1,1) (1,2) (2,2) */
    const float want[6] = {5, 11, 7, 25, 9, 61};
    for (int i = 0; i < 6; i++) cr_assert_float_eq(plain[i], want[i], 1e-6, "entry %d", i);
    const int diag[6] = {1, 0, 0, 1, 0, 1};
    for (int i = 0; i < 6; i++) cr_assert_float_eq(dbl[i], diag[i] ? want[i] : 2 * want[i], 1e-6, "entry %d", i);
    cr_assert_float_eq(mvke_gram_trace(K, plain), 5 + 25 + 61, 1e-6);
}

Test(gram, identity_with_gated_rows) {
    ref_seed(3);
    for (int K = 1; K <= 8; K++)
        for (int d = 1; d <= 33; d += 8) {
            float x[8 * 33], q[33], w[8], z[8 * 33], gx[36], gz[36];
            ref_fill_normal(x, K * d);
            ref_fill_normal(q, d);
            ref_fill_normal(w, K);
            mvke_pack_query(K, d, q, w, z);
            mvke_gram_doubled(K, d, x, gx);
            mvke_gram_plain(K, d, z, gz);
            double lhs = 0, e2 = 0, q2 = 0;
            for (int p = 0; p < mvke_gram_size(K); p++) lhs += (double)gx[p] * gz[p];
            for (int j = 0; j < d; j++) {
                double e = 0;
                for (int k = 0; k < K; k++) e += (double)w[k] * x[k * d + j];
                e2 += e * e;
                q2 += (double)q[j] * q[j];
            }
            cr_assert(fabs(lhs - e2 * q2) <= 1e-5 * (1 + e2 * q2), "K=%d d=%d: %g vs %g", K, d, lhs, e2 * q2);
        }
}

Test(gram, overflow_is_reported) {
    float x[2] = {3e19f, 1};
    float tri[3];
    cr_assert_eq(mvke_gram_doubled(2, 1, x, tri), -1);
    x[0] = 1e18f;
    cr_assert_eq(mvke_gram_doubled(2, 1, x, tri), 0);
}
