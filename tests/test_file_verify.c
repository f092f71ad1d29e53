/*
 * test_file_verify.c - contents checked, not only bytes: files crafted with their checksums
 * recomputed (tests/craft.c) whose rows, Gram triangles, gates or id sections are impossible.
 * verify refuses every one, naming what is wrong; open or the first search refuses the ones that
 * are cheap to see (Gram entries not finite or a negative diagonal, gates outside the task).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "craft.h"
#include "index/file_format.h"
#include "kernels/layout.h"
#include "mvke/mvke.h"

enum { K = 2, d = 3, N = 10, P = 3 };
static char dir[] = "/tmp/mvke_test_verify_XXXXXX";
static char good[300], bad[300];

static void remove_dir(void) {
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

/* N users (ids 7i+1, row i value j = sin(i + 0.3 j) + 0.1 j), task "a" on expert 0, task "b" on both. */
static void setup(void) {
    static int made; /* a flag: mkdtemp's last random character may well be an 'X' */
    if (!made) {
        cr_assert_not_null(mkdtemp(dir));
        atexit(remove_dir);
        made = 1;
    }
    snprintf(good, sizeof good, "%s/good.mvke", dir);
    snprintf(bad, sizeof bad, "%s/bad.mvke", dir);
    mvke_index *u;
    mvke_tags *t;
    cr_assert_eq(mvke_index_new(&u, K, d, NULL), MVKE_OK);
    float x[N * K * d];
    int64_t ids[N];
    for (int i = 0; i < N; i++) {
        ids[i] = 7 * i + 1;
        for (int j = 0; j < K * d; j++) x[i * K * d + j] = sinf((float)i + 0.3f * (float)j) + 0.1f * (float)j;
    }
    cr_assert_eq(mvke_index_add(u, N, ids, x), MVKE_OK);
    cr_assert_eq(mvke_tags_new(&t, K, d, NULL), MVKE_OK);
    cr_assert_eq(mvke_tags_add_task(t, "a", (int[]){0}, 1), MVKE_OK);
    cr_assert_eq(mvke_tags_add_task(t, "b", (int[]){0, 1}, 2), MVKE_OK);
    float q[d] = {1, 0.5f, -0.25f}, wa[K] = {1, 0}, wb[K] = {0.5f, -0.5f};
    cr_assert_eq(mvke_tags_add(t, "a", 1, (int64_t[]){100}, NULL, NULL, q, wa), MVKE_OK);
    cr_assert_eq(mvke_tags_add(t, "b", 1, (int64_t[]){200}, NULL, NULL, q, wb), MVKE_OK);
    cr_assert_eq(mvke_file_save(good, u, t), MVKE_OK, "%s", mvke_last_error());
    mvke_index_free(u);
    mvke_tags_free(t);
    cr_assert_eq(mvke_file_verify(good), MVKE_OK, "%s", mvke_last_error());
}

TestSuite(verify, .init = setup);

static unsigned char *bytes;
static size_t nbytes;
static mvke_layout L;

static void load(void) {
    bytes = craft_read(good, &nbytes);
    cr_assert_not_null(bytes);
    mvke_layout_init(&L, K, d, MVKE_STORAGE_F32);
}

/* Pointers into the single block (16 lanes) of the file. */
static float *value(int r, int k, int j) {
    uint64_t off, size;
    cr_assert_eq(craft_section(bytes, MVKE_SEC_USER_BLOCKS, &off, &size), 0);
    unsigned char *blk = bytes + off;
    return (float *)(blk + (size_t)k * mvke_layout_plane_bytes(&L, 16)) + (size_t)j * 16 + r;
}
static float *gram(int r, int e) {
    uint64_t off, size;
    cr_assert_eq(craft_section(bytes, MVKE_SEC_USER_BLOCKS, &off, &size), 0);
    return (float *)(bytes + off + (size_t)K * mvke_layout_plane_bytes(&L, 16)) + (size_t)e * 16 + r;
}
static int64_t *section64(uint32_t kind) {
    uint64_t off, size;
    cr_assert_eq(craft_section(bytes, kind, &off, &size), 0);
    return (int64_t *)(bytes + off);
}

/* Reseals and writes the crafted file, then expects verify to refuse it with `status` and a
 * message holding `what`. */
static void expect_verify(mvke_status status, const char *what) {
    craft_reseal(bytes, nbytes);
    cr_assert_eq(craft_write(bad, bytes, nbytes), 0);
    free(bytes);
    mvke_status st = mvke_file_verify(bad);
    cr_assert_eq(st, status, "verify: %s: %s", mvke_status_name(st), mvke_last_error());
    cr_assert(strstr(mvke_last_error(), what), "verify said: %s", mvke_last_error());
}

/* The first search and the row lookup of user 7*3+1 (row 3) on the crafted file. */
static mvke_status search_status(void) {
    mvke_index *u;
    mvke_tags *t;
    cr_assert_eq(mvke_file_open(bad, 0, &u, &t), MVKE_OK, "%s", mvke_last_error());
    mvke_result *r = NULL;
    mvke_status st = mvke_audience_top(u, t, "b", 1, (int64_t[]){200}, 3, NULL, &r);
    mvke_result_free(r);
    float row[K * d];
    mvke_status st2 = mvke_index_get(u, 22, row);
    mvke_index_free(u);
    mvke_tags_free(t);
    cr_assert_eq(st, st2, "search %d, lookup %d", st, st2);
    return st;
}

Test(verify, row_with_nan) {
    load();
    *value(3, 1, 2) = NAN;
    expect_verify(MVKE_ERR_FORMAT, "user 22");
}

Test(verify, row_with_inf) {
    load();
    *value(3, 0, 0) = -INFINITY;
    expect_verify(MVKE_ERR_FORMAT, "user 22");
}

Test(verify, row_with_3e38) {
    load();
    *value(3, 0, 1) = 3e38f; /* finite, but its square overflows: add refuses it */
    expect_verify(MVKE_ERR_FORMAT, "user 22");
}

Test(verify, gram_nan_is_refused_on_first_use) {
    load();
    *gram(3, 1) = NAN;
    expect_verify(MVKE_ERR_FORMAT, "user 22");
    cr_assert_eq(search_status(), MVKE_ERR_FORMAT);
    cr_assert(strstr(mvke_last_error(), "Gram"), "%s", mvke_last_error());
}

Test(verify, gram_inf_is_refused_on_first_use) {
    load();
    *gram(3, 0) = INFINITY;
    expect_verify(MVKE_ERR_FORMAT, "user 22");
    cr_assert_eq(search_status(), MVKE_ERR_FORMAT);
}

Test(verify, gram_negative_diagonal_is_refused_on_first_use) {
    load();
    *gram(3, 2) = -1.0f; /* entry (1, 1) */
    expect_verify(MVKE_ERR_FORMAT, "user 22");
    cr_assert_eq(search_status(), MVKE_ERR_FORMAT);
}

Test(verify, gram_zero) {
    load();
    *gram(3, 0) = 0.0f;
    expect_verify(MVKE_ERR_FORMAT, "Gram entry 0");
    cr_assert_eq(search_status(), MVKE_OK); /* possible values: only verify can tell */
}

Test(verify, gram_inconsistent_with_the_rows) {
    load();
    *gram(3, 1) *= 1.5f;
    expect_verify(MVKE_ERR_FORMAT, "Gram entry 1");
}

Test(verify, padding_lane_not_zero) {
    load();
    *value(N + 2, 1, 0) = 1.0f; /* lane 12 of 16, past the 10 rows */
    expect_verify(MVKE_ERR_FORMAT, "lane 12");
}

Test(verify, gate_outside_the_task_is_refused_at_open) {
    load();
    uint64_t off, size;
    cr_assert_eq(craft_section(bytes, MVKE_SEC_TAG_W, &off, &size), 0);
    float *w = (float *)(bytes + off); /* tag 100 of task "a" (expert 0 only) */
    w[1] = -0.5f;
    expect_verify(MVKE_ERR_GATE, "expert 1");
    mvke_index *u = NULL;
    cr_assert_eq(mvke_file_open(bad, 0, &u, NULL), MVKE_ERR_GATE);
    cr_assert_null(u);
}

Test(verify, gate_nan_is_refused_at_open) {
    load();
    uint64_t off, size;
    cr_assert_eq(craft_section(bytes, MVKE_SEC_TAG_W, &off, &size), 0);
    ((float *)(bytes + off))[2] = NAN; /* tag 200, expert 0 */
    expect_verify(MVKE_ERR_NONFINITE, "gate");
}

Test(verify, unsorted_id_section) {
    load();
    int64_t *lk = section64(MVKE_SEC_ID_LOOKUP);
    int64_t a0 = lk[4], a1 = lk[5];
    lk[4] = lk[6], lk[5] = lk[7];
    lk[6] = a0, lk[7] = a1;
    expect_verify(MVKE_ERR_FORMAT, "not sorted");
}

Test(verify, positions_not_a_permutation) {
    load();
    int64_t *lk = section64(MVKE_SEC_ID_LOOKUP);
    lk[3] = lk[1]; /* pair 1 points where pair 0 does */
    expect_verify(MVKE_ERR_FORMAT, "not a permutation");
}

Test(verify, position_out_of_range) {
    load();
    section64(MVKE_SEC_ID_LOOKUP)[5] = N;
    expect_verify(MVKE_ERR_FORMAT, "outside");
}

Test(verify, lookup_disagrees_with_the_ids) {
    load();
    int64_t *ids = section64(MVKE_SEC_USER_IDS);
    ids[4] = 5; /* not the id the lookup gives for position 4, and unsorted there */
    expect_verify(MVKE_ERR_FORMAT, "user ids say");
    /* a lookup of the id the section names refuses to find it at the wrong place */
    mvke_index *u;
    cr_assert_eq(mvke_file_open(bad, 0, &u, NULL), MVKE_OK);
    int yes = 1;
    cr_assert_eq(mvke_index_contains(u, 29, &yes), MVKE_OK);
    cr_assert_eq(yes, 0);
    mvke_index_free(u);
}

Test(verify, negative_id) {
    load();
    section64(MVKE_SEC_USER_IDS)[0] = -6;
    section64(MVKE_SEC_ID_LOOKUP)[0] = -6; /* pair 0 is (id 1, position 0): still sorted */
    expect_verify(MVKE_ERR_FORMAT, "negative");
}

Test(verify, wrong_fence) {
    load();
    section64(MVKE_SEC_ID_FENCES)[0] = 2;
    expect_verify(MVKE_ERR_FORMAT, "fence");
}

Test(verify, duplicate_ids_are_refused_at_build_naming_both_rows) {
    mvke_index *u;
    cr_assert_eq(mvke_index_new(&u, K, d, NULL), MVKE_OK);
    float x[3 * K * d] = {0};
    x[0] = x[6] = x[12] = 1;
    cr_assert_eq(mvke_index_add(u, 3, (int64_t[]){5, 9, 5}, x), MVKE_ERR_DUPLICATE);
    cr_assert(strstr(mvke_last_error(), "rows 0 and 2") && strstr(mvke_last_error(), "5"), "%s", mvke_last_error());
    mvke_index_free(u);
}

/* ---- codec files: codes, bounds and refine rows ------------------------------------------- */

static char codec_good[300];

/* The same users as an sq8 index keeping its rows (trained on them). */
static void setup_codec(void) {
    setup();
    snprintf(codec_good, sizeof codec_good, "%s/codec.mvke", dir);
    mvke_index_options o;
    mvke_index_options_init(&o);
    o.storage = MVKE_STORAGE_SQ8;
    o.refine = 1;
    mvke_index *u;
    cr_assert_eq(mvke_index_new(&u, K, d, &o), MVKE_OK);
    float x[N * K * d];
    int64_t ids[N];
    for (int i = 0; i < N; i++) {
        ids[i] = 7 * i + 1;
        for (int j = 0; j < K * d; j++) x[i * K * d + j] = sinf((float)i + 0.3f * (float)j) + 0.1f * (float)j;
    }
    cr_assert_eq(mvke_index_train(u, N, x), MVKE_OK);
    cr_assert_eq(mvke_index_add(u, N, ids, x), MVKE_OK);
    mvke_tags *t;
    cr_assert_eq(mvke_file_open(good, 0, NULL, &t), MVKE_OK);
    cr_assert_eq(mvke_file_save(codec_good, u, t), MVKE_OK, "%s", mvke_last_error());
    mvke_index_free(u);
    mvke_tags_free(t);
    cr_assert_eq(mvke_file_verify(codec_good), MVKE_OK, "%s", mvke_last_error());
}

TestSuite(verify_codec, .init = setup_codec);

static mvke_layout LC;

static void load_codec(void) {
    bytes = craft_read(codec_good, &nbytes);
    cr_assert_not_null(bytes);
    mvke_layout_init(&LC, K, d, MVKE_STORAGE_SQ8);
}

static unsigned char *block0(void) {
    uint64_t off, size;
    cr_assert_eq(craft_section(bytes, MVKE_SEC_USER_BLOCKS, &off, &size), 0);
    return bytes + off;
}
/* Code j of expert k of row r, its bound byte, and value j of its refine row. */
static uint8_t *code(int r, int k, int j) { return block0() + (size_t)k * mvke_layout_plane_bytes(&LC, 16) + (size_t)j * 16 + r; }
static uint8_t *bound(int r, int k) {
    return block0() + (size_t)K * mvke_layout_plane_bytes(&LC, 16) + mvke_layout_gram_bytes(&LC, 16) + (size_t)k * 16 + r;
}
static float *refine_value(int r, int j) {
    uint64_t off, size;
    cr_assert_eq(craft_section(bytes, MVKE_SEC_REFINE_ROWS, &off, &size), 0);
    return (float *)(bytes + off) + (size_t)r * K * d + j;
}

Test(verify_codec, a_code_other_than_its_row_encodes_to) {
    load_codec();
    *code(3, 1, 2) ^= 0x40;
    expect_verify(MVKE_ERR_FORMAT, "encodes to");
}

Test(verify_codec, a_bound_below_the_codes_error) {
    load_codec();
    int lowered = 0;
    for (int r = 0; r < N && !lowered; r++)
        for (int k = 0; k < K && !lowered; k++)
            if (*bound(r, k) > 0) {
                (*bound(r, k))--;
                lowered = 1;
            }
    cr_assert(lowered, "no nonzero bound to lower");
    expect_verify(MVKE_ERR_FORMAT, "below the codes' error");
}

Test(verify_codec, a_refine_row_that_is_not_finite) {
    load_codec();
    *refine_value(4, 1) = NAN;
    expect_verify(MVKE_ERR_FORMAT, "refine row");
}

Test(verify_codec, a_refine_row_other_than_its_gram) {
    load_codec();
    *refine_value(4, 1) *= 2.0f;
    *refine_value(4, 4) += 1.0f;
    expect_verify(MVKE_ERR_FORMAT, "user 29");
}

Test(verify_codec, a_bound_byte_in_a_lane_past_the_rows) {
    load_codec();
    *bound(N + 2, 0) = 3;
    expect_verify(MVKE_ERR_FORMAT, "not zero");
}

/* A flipped bit in the refine rows, checksum not resealed: verify and a search that re-scores
 * that user refuse it with the byte range; a search never answers from it. */
Test(verify_codec, a_flipped_refine_bit_fails_its_checksum) {
    load_codec();
    *(uint32_t *)refine_value(0, 0) ^= 1u << 20;
    cr_assert_eq(craft_write(bad, bytes, nbytes), 0);
    free(bytes);
    cr_assert_eq(mvke_file_verify(bad), MVKE_ERR_CHECKSUM, "%s", mvke_last_error());
    mvke_index *u;
    mvke_tags *t;
    cr_assert_eq(mvke_file_open(bad, 0, &u, &t), MVKE_OK, "%s", mvke_last_error());
    mvke_result *r = NULL;
    /* every user is a candidate of a top-N that asks for them all */
    const mvke_status st = mvke_audience_top(u, t, "b", 1, (int64_t[]){200}, N, NULL, &r);
    cr_assert_eq(st, MVKE_ERR_CHECKSUM, "%s: %s", mvke_status_name(st), mvke_last_error());
    cr_assert_null(r);
    mvke_index_free(u);
    mvke_tags_free(t);
}

Test(verify_codec, codec_parameters_that_are_not_finite_are_refused_at_open) {
    load_codec();
    uint64_t off, size;
    cr_assert_eq(craft_section(bytes, MVKE_SEC_CODEC, &off, &size), 0);
    float *vmin = (float *)(bytes + off + 64); /* after the 64-byte head: vmin, then scale */
    vmin[1] = INFINITY;
    craft_reseal(bytes, nbytes);
    cr_assert_eq(craft_write(bad, bytes, nbytes), 0);
    free(bytes);
    mvke_index *u = NULL;
    const mvke_status st = mvke_file_open(bad, 0, &u, NULL);
    cr_assert_eq(st, MVKE_ERR_FORMAT, "%s: %s", mvke_status_name(st), mvke_last_error());
    cr_assert_null(u);
}
