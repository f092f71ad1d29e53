/*
 * test_codec.c - the sq8 and pq codecs (kernels/codec.c) and their planes in the block layout:
 * codes decode to what codec.h documents, encoding picks the nearest code, constant dimensions
 * decode exactly, out-of-range values clamp, and the layout stores codes at the documented
 * address with the refine plane holding the exact rows.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/codec.h"
#include "kernels/gram.h"
#include "kernels/layout.h"
#include "reference.h"

static void sq8_params(mvke_codec *c) {
    for (int i = 0; i < c->K * c->d; i++) {
        c->vmin[i] = -1.0f - 0.1f * (float)i;
        c->scale[i] = i % 5 == 4 ? 0.0f : (2.0f + 0.2f * (float)i) / 255.0f; /* every fifth constant */
    }
    c->trained = 1;
}

Test(codec, sq8_codes_decode_affinely_and_encode_to_the_nearest) {
    mvke_codec c;
    cr_assert_eq(mvke_codec_init(&c, 3, 5, MVKE_STORAGE_SQ8, 0), 0);
    cr_assert_eq(c.m, 5);
    sq8_params(&c);
    for (int i = 0; i < 15; i++) {
        for (int code = 0; code < 256; code++) {
            const float v = mvke_sq8_decode1(&c, i, (uint8_t)code);
            cr_assert_float_eq(v, c.vmin[i] + c.scale[i] * code, 1e-6);
            if (c.scale[i] > 0) cr_assert_eq(mvke_sq8_encode1(&c, i, v), code, "i %d code %d", i, code);
        }
        /* A value between codes goes to the nearer one; beyond the range it clamps. */
        ref_seed((uint64_t)i);
        for (int t = 0; t < 100; t++) {
            const float v = c.vmin[i] + (float)(ref_uniform() * 255.0) * c.scale[i];
            const float back = mvke_sq8_decode1(&c, i, mvke_sq8_encode1(&c, i, v));
            cr_assert_leq(fabsf(back - v), c.scale[i] * 0.5f + 1e-6f);
        }
        cr_assert_eq(mvke_sq8_encode1(&c, i, c.vmin[i] - 100.0f), 0);
        cr_assert_eq(mvke_sq8_encode1(&c, i, c.vmin[i] + 1000.0f), c.scale[i] > 0 ? 255 : 0);
        if (c.scale[i] == 0) cr_assert_eq(mvke_sq8_decode1(&c, i, mvke_sq8_encode1(&c, i, c.vmin[i])), c.vmin[i]);
    }
    mvke_codec_release(&c);
}

Test(codec, pq_subspaces_cover_the_expert_and_encode_to_the_nearest_centroid) {
    mvke_codec c;
    cr_assert_eq(mvke_codec_init(&c, 2, 7, MVKE_STORAGE_PQ, 3), 0);
    cr_assert_eq(c.off[0], 0);
    cr_assert_eq(c.off[3], 7);
    for (int j = 0; j < 3; j++) cr_assert(mvke_pq_dsub(&c, j) == 2 || mvke_pq_dsub(&c, j) == 3);
    ref_seed(9);
    ref_fill_normal(c.cent, 2 * 7 * MVKE_PQ_CENTROIDS);
    c.trained = 1;
    float v[3], back[3];
    for (int k = 0; k < 2; k++)
        for (int j = 0; j < 3; j++) {
            const int ds = mvke_pq_dsub(&c, j);
            for (int t = 0; t < 50; t++) {
                ref_fill_normal(v, ds);
                const uint8_t code = mvke_pq_encode1(&c, k, j, v);
                double best = INFINITY;
                for (int e = 0; e < MVKE_PQ_CENTROIDS; e++) {
                    double s = 0;
                    for (int i = 0; i < ds; i++) {
                        const double df = v[i] - mvke_pq_table(&c, k, j)[e * ds + i];
                        s += df * df;
                    }
                    best = s < best ? s : best;
                }
                mvke_pq_decode1(&c, k, j, code, back);
                double got = 0;
                for (int i = 0; i < ds; i++) got += ((double)v[i] - back[i]) * ((double)v[i] - back[i]);
                cr_assert_float_eq(got, best, 1e-5);
            }
        }
    mvke_codec_release(&c);
}

Test(codec, bad_parameters_are_refused) {
    mvke_codec c;
    cr_assert_eq(mvke_codec_init(&c, 2, 7, MVKE_STORAGE_PQ, 8), -2);
    cr_assert_eq(mvke_codec_init(&c, 2, 7, MVKE_STORAGE_F32, 0), -2);
    cr_assert_eq(mvke_codec_init(&c, 2, 30, MVKE_STORAGE_PQ, 0), 0);
    cr_assert_eq(c.m, 10); /* the default: ceil(d / 3) */
    mvke_codec_release(&c);
}

static void layout_roundtrip(mvke_storage st, int refine) {
    const int K = 3, d = 7, D = K * d, P = mvke_gram_size(K);
    const int64_t cap = 48;
    mvke_codec c;
    cr_assert_eq(mvke_codec_init(&c, K, d, st, 0), 0);
    if (st == MVKE_STORAGE_SQ8) {
        sq8_params(&c);
    } else {
        ref_seed(3);
        ref_fill_normal(c.cent, (int64_t)D * MVKE_PQ_CENTROIDS);
        c.trained = 1;
    }
    mvke_layout L;
    cr_assert_eq(mvke_layout_init(&L, K, d, st), 0);
    mvke_layout_set_codec(&L, &c, refine);
    cr_assert_eq(mvke_layout_plane_bytes(&L, cap) % 64, 0);
    unsigned char *b = calloc(1, mvke_layout_block_bytes(&L, cap));
    unsigned char *b2 = calloc(1, mvke_layout_block_bytes(&L, cap));
    float row[21], back[21], gram[6], gback[6], dec[21];
    uint8_t codes[21];
    for (int64_t r = 0; r < cap; r++) {
        ref_fill_normal(row, D);
        for (int e = 0; e < P; e++) gram[e] = (float)(r + e);
        mvke_layout_put(&L, b, cap, r, row, gram);
        mvke_layout_get(&L, b, cap, r, back, gback);
        mvke_codec_encode(&c, row, codes);
        mvke_codec_decode(&c, codes, dec);
        for (int i = 0; i < D; i++) cr_assert_eq(back[i], dec[i]);
        for (int e = 0; e < P; e++) cr_assert_eq(gback[e], gram[e]);
        for (int k = 0; k < K; k++)
            for (int j = 0; j < c.m; j++) {
                const uint8_t *pl = mvke_layout_plane(&L, b, cap, k);
                cr_assert_eq(pl[((r / MVKE_LANES) * c.m + j) * MVKE_LANES + r % MVKE_LANES], codes[k * c.m + j]);
            }
        /* The bound of each expert at its documented address, as the codec computes it. */
        uint8_t want[3];
        mvke_codec_bounds(&c, row, want);
        const uint8_t *bp = mvke_layout_bounds(&L, b, cap);
        for (int k = 0; k < K; k++) cr_assert_eq(bp[((r / MVKE_LANES) * K + k) * MVKE_LANES + r % MVKE_LANES], want[k]);
    }
    (void)refine; /* the refine rows are not part of a block (layout.h) */
    /* Copy and clear move the bounds with the codes. */
    mvke_layout_copy(&L, b2, cap, 5, b, cap, 17);
    mvke_layout_get(&L, b2, cap, 5, back, gback);
    mvke_layout_get(&L, b, cap, 17, dec, gram);
    cr_assert_eq(memcmp(back, dec, sizeof back), 0);
    for (int k = 0; k < K; k++)
        cr_assert_eq(mvke_layout_bounds(&L, b2, cap)[(0 * K + k) * MVKE_LANES + 5], mvke_layout_bounds(&L, b, cap)[(1 * K + k) * MVKE_LANES + 1]);
    mvke_layout_clear(&L, b2, cap, 5);
    for (size_t i = 0; i < mvke_layout_block_bytes(&L, cap); i++) cr_assert_eq(b2[i], 0);
    mvke_layout_copy_rows(&L, b2, cap, b, cap, 20);
    for (int64_t r = 0; r < 20; r++) {
        mvke_layout_get(&L, b2, cap, r, back, NULL);
        mvke_layout_get(&L, b, cap, r, dec, NULL);
        cr_assert_eq(memcmp(back, dec, sizeof back), 0);
    }
    free(b);
    free(b2);
    mvke_codec_release(&c);
}

Test(codec, layout_planes_hold_codes_at_the_documented_address) {
    layout_roundtrip(MVKE_STORAGE_SQ8, 0);
    layout_roundtrip(MVKE_STORAGE_PQ, 0);
    layout_roundtrip(MVKE_STORAGE_SQ8, 1);
    layout_roundtrip(MVKE_STORAGE_PQ, 1);
}

/* The bound bytes (codec.h): 0 for 0, the smallest byte whose value covers r, 255 beyond the
 * scale; values increase with the byte and a step is at most 2^(1/16). */
Test(codec, bound_bytes_cover_tightly) {
    cr_assert_eq(mvke_bound_encode(0.0), 0);
    cr_assert_eq(mvke_bound_value(0), 0.0f);
    cr_assert(isinf(mvke_bound_value(MVKE_BOUND_INF)));
    cr_assert_eq(mvke_bound_encode(1e30), MVKE_BOUND_INF);
    cr_assert_eq(mvke_bound_encode(1e-30), 1);
    for (int b = 2; b < 255; b++) {
        cr_assert_gt(mvke_bound_value((uint8_t)b), mvke_bound_value((uint8_t)(b - 1)));
        cr_assert_leq((double)mvke_bound_value((uint8_t)b), (double)mvke_bound_value((uint8_t)(b - 1)) * 1.0443, "b = %d", b);
    }
    ref_seed(8);
    for (int i = 0; i < 100000; i++) {
        const double r = exp((ref_uniform() - 0.5) * 20.0);
        const uint8_t b = mvke_bound_encode(r);
        cr_assert((double)mvke_bound_value(b) >= r, "r = %.17g: byte %u is below", r, b);
        if (b > 1 && b < 255) cr_assert((double)mvke_bound_value((uint8_t)(b - 1)) < r, "r = %.17g: byte %u is not the smallest", r, b);
    }
}

/* A row's bounds cover its codes' error, expert by expert, for both codecs. */
Test(codec, bounds_cover_the_residuals) {
    const int K = 3, d = 7, D = K * d;
    for (int pq = 0; pq < 2; pq++) {
        mvke_codec c;
        cr_assert_eq(mvke_codec_init(&c, K, d, pq ? MVKE_STORAGE_PQ : MVKE_STORAGE_SQ8, 0), 0);
        ref_seed(9);
        if (pq) ref_fill_normal(c.cent, (int64_t)D * MVKE_PQ_CENTROIDS);
        else sq8_params(&c);
        c.trained = 1;
        float sample[200 * 21];
        ref_fill_normal(sample, 200 * D);
        cr_assert_eq(mvke_codec_train_bounds(&c, 200, sample), 0);
        for (int k = 0; k < K; k++) cr_assert(c.bunit[k] > 0.0f && c.amax[k] > 0.0f);
        for (int i = 0; i < 2000; i++) {
            float row[21], dec[21];
            uint8_t codes[21], b[3];
            ref_fill_normal(row, D);
            if (i % 7 == 0) for (int j = 0; j < D; j++) row[j] *= 50.0f; /* beyond the trained range */
            mvke_codec_encode(&c, row, codes);
            mvke_codec_decode(&c, codes, dec);
            mvke_codec_bounds(&c, row, b);
            for (int k = 0; k < K; k++) {
                double e2 = 0;
                for (int j = 0; j < d; j++) e2 += ((double)row[k * d + j] - dec[k * d + j]) * ((double)row[k * d + j] - dec[k * d + j]);
                cr_assert(sqrt(e2) <= (double)c.bunit[k] * (double)mvke_bound_value(b[k]) * (1 + 1e-6),
                          "%s row %d expert %d: residual %g, bound %g", pq ? "pq" : "sq8", i, k, sqrt(e2),
                          (double)c.bunit[k] * (double)mvke_bound_value(b[k]));
            }
        }
        mvke_codec_release(&c);
    }
}
