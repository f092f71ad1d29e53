/*
 * test_kmeans.c - the k-means of index/kmeans.c: well separated clusters are found, few distinct
 * points become the centroids exactly, results are deterministic, bad arguments are refused.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "index/kmeans.h"
#include "reference.h"

Test(kmeans, finds_well_separated_clusters) {
    const int n = 4000, dim = 3, k = 4;
    float *x = malloc(sizeof(float) * n * dim), cent[12], again[12];
    const float centre[4][3] = {{10, 0, 0}, {0, 10, 0}, {0, 0, 10}, {-10, -10, -10}};
    ref_seed(1);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < dim; j++) x[i * dim + j] = centre[i % 4][j] + 0.1f * ref_normal();
    cr_assert_eq(mvke_kmeans(n, dim, x, k, 20, 7, cent), MVKE_OK);
    for (int c = 0; c < 4; c++) {
        double best = INFINITY;
        for (int e = 0; e < k; e++) {
            double s = 0;
            for (int j = 0; j < dim; j++) s += pow(cent[e * dim + j] - centre[c][j], 2);
            best = s < best ? s : best;
        }
        cr_assert_lt(best, 0.01, "cluster %d not found (%g)", c, best);
    }
    cr_assert_eq(mvke_kmeans(n, dim, x, k, 20, 7, again), MVKE_OK);
    cr_assert_eq(memcmp(cent, again, sizeof cent), 0, "not deterministic");
    free(x);
}

Test(kmeans, few_distinct_points_are_the_centroids) {
    /* 10 points, 3 distinct, 256 centroids: the 3 values (sorted), then repeats of the first. */
    float x[10] = {5, 1, 3, 1, 5, 5, 3, 1, 1, 3}, cent[256];
    cr_assert_eq(mvke_kmeans(10, 1, x, 256, 20, 1, cent), MVKE_OK);
    cr_assert_eq(cent[0], 1);
    cr_assert_eq(cent[1], 3);
    cr_assert_eq(cent[2], 5);
    for (int c = 3; c < 256; c++) cr_assert_eq(cent[c], 1);
    /* One point. */
    float one[2] = {0.5f, -2}, c2[8];
    cr_assert_eq(mvke_kmeans(1, 2, one, 4, 20, 1, c2), MVKE_OK);
    for (int c = 0; c < 4; c++) cr_assert(c2[2 * c] == 0.5f && c2[2 * c + 1] == -2);
}

Test(kmeans, empty_clusters_are_refilled) {
    /* Many identical points and a few outliers, more centroids than clusters: no NaN. */
    const int n = 300;
    float x[300], cent[16];
    for (int i = 0; i < n; i++) x[i] = i < 280 ? 0.0f : (float)(i - 279);
    cr_assert_eq(mvke_kmeans(n, 1, x, 16, 20, 3, cent), MVKE_OK);
    for (int c = 0; c < 16; c++) cr_assert(isfinite(cent[c]));
}

Test(kmeans, bad_arguments) {
    float x[4] = {0}, c[4];
    cr_assert_eq(mvke_kmeans(0, 1, x, 1, 1, 0, c), MVKE_ERR_INVALID);
    cr_assert_eq(mvke_kmeans(4, 0, x, 1, 1, 0, c), MVKE_ERR_INVALID);
    cr_assert_eq(mvke_kmeans(4, 1, x, 0, 1, 0, c), MVKE_ERR_INVALID);
    cr_assert_eq(mvke_kmeans(4, 1, x, 1, -1, 0, c), MVKE_ERR_INVALID);
}
