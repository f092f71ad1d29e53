/*
 * test_npy.c - the .npy reader and writer: files written by numpy 1.24 in format versions 1.0,
 * 2.0 and 3.0 (tests/data/npy), numpy's header rules (key order, trailing comma, padding, the
 * 10000-byte limit), and refusal of every malformed file with the right status and offset.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "index/npy.h"
#include "kernels/half.h"

/* tests/data/npy, found from this source file's path (relative to the build directory, where
 * meson runs the tests) or from MVKE_TEST_DATA. */
static void data_path(char *buf, size_t cap, const char *name) {
    const char *env = getenv("MVKE_TEST_DATA");
    if (env) {
        snprintf(buf, cap, "%s/npy/%s", env, name);
        return;
    }
    const char *src = __FILE__;
    const char *slash = strrchr(src, '/');
    snprintf(buf, cap, "%.*s/data/npy/%s", slash ? (int)(slash - src) : 1, slash ? src : ".", name);
}

static mvke_status open_fixture(const char *name, mvke_npy **f) {
    char p[1024];
    data_path(p, sizeof p, name);
    cr_assert_eq(access(p, R_OK), 0, "fixture %s not found", p);
    return mvke_npy_open(f, p);
}

Test(npy, numpy_written_files_all_versions) {
    const char *v[3] = {"v1", "v2", "v3"};
    for (int i = 0; i < 3; i++) {
        char name[64];
        mvke_npy *f;
        mvke_dtype dt;
        int nd;
        int64_t sh[MVKE_NPY_MAX_DIMS];
        snprintf(name, sizeof name, "%s_f32.npy", v[i]);
        cr_assert_eq(open_fixture(name, &f), MVKE_OK, "%s: %s", name, mvke_last_error());
        mvke_npy_shape(f, &dt, &nd, sh);
        cr_assert(dt == MVKE_DTYPE_F32 && nd == 3 && sh[0] == 2 && sh[1] == 3 && sh[2] == 2);
        float x[12];
        cr_assert_eq(mvke_npy_read_f32(f, 0, 2, x), MVKE_OK);
        for (int k = 0; k < 12; k++) cr_assert_eq(x[k], (k - 5.5f) / 4, "%s[%d]", name, k);
        cr_assert_eq(mvke_npy_read_f32(f, 1, 1, x), MVKE_OK);
        cr_assert_eq(x[0], (6 - 5.5f) / 4);
        int64_t bad[12];
        cr_assert_eq(mvke_npy_read_i64(f, 0, 1, bad), MVKE_ERR_FORMAT);
        cr_assert_eq(mvke_npy_read_f32(f, 1, 2, x), MVKE_ERR_INVALID);
        mvke_npy_close(f);

        snprintf(name, sizeof name, "%s_i64.npy", v[i]);
        cr_assert_eq(open_fixture(name, &f), MVKE_OK, "%s: %s", name, mvke_last_error());
        mvke_npy_shape(f, &dt, &nd, sh);
        cr_assert(dt == MVKE_DTYPE_I64 && nd == 1 && sh[0] == 4);
        int64_t ids[4];
        cr_assert_eq(mvke_npy_read_i64(f, 0, 4, ids), MVKE_OK);
        cr_assert(ids[0] == 10 && ids[1] == -3 && ids[2] == 7 && ids[3] == (int64_t)1 << 40);
        cr_assert_eq(mvke_npy_read_f32(f, 0, 1, x), MVKE_ERR_FORMAT);
        mvke_npy_close(f);

        snprintf(name, sizeof name, "%s_f16.npy", v[i]);
        cr_assert_eq(open_fixture(name, &f), MVKE_OK, "%s: %s", name, mvke_last_error());
        mvke_npy_shape(f, &dt, &nd, sh);
        cr_assert(dt == MVKE_DTYPE_F16 && nd == 2 && sh[0] == 2 && sh[1] == 3);
        cr_assert_eq(mvke_npy_read_f32(f, 0, 2, x), MVKE_OK);
        const float want[6] = {0.5f, -2.0f, 65504.0f, 0.00010001659393310547f, 0.0f, -0.0f};
        for (int k = 0; k < 6; k++) cr_assert_eq(x[k], want[k], "%s[%d] = %g", name, k, x[k]);
        cr_assert(signbit(x[5]));
        mvke_npy_close(f);
    }
}

Test(npy, numpy_edge_cases_and_refusals) {
    mvke_npy *f;
    int nd;
    int64_t sh[MVKE_NPY_MAX_DIMS];
    float x[4];
    cr_assert_eq(open_fixture("scalar_f32.npy", &f), MVKE_OK);
    mvke_npy_shape(f, NULL, &nd, sh);
    cr_assert_eq(nd, 0);
    cr_assert_eq(mvke_npy_read_f32(f, 0, 1, x), MVKE_OK);
    cr_assert_eq(x[0], 3.25f);
    mvke_npy_close(f);
    cr_assert_eq(open_fixture("empty_f32.npy", &f), MVKE_OK);
    mvke_npy_shape(f, NULL, &nd, sh);
    cr_assert(nd == 2 && sh[0] == 0 && sh[1] == 4);
    cr_assert_eq(mvke_npy_read_f32(f, 0, 0, x), MVKE_OK);
    mvke_npy_close(f);
    cr_assert_eq(open_fixture("fortran_f32.npy", &f), MVKE_ERR_FORMAT);
    cr_assert(strstr(mvke_last_error(), "fortran_order"), "%s", mvke_last_error());
    cr_assert(strstr(mvke_last_error(), "fortran_f32.npy"));
    cr_assert_eq(open_fixture("big_endian_f32.npy", &f), MVKE_ERR_FORMAT);
    cr_assert(strstr(mvke_last_error(), "big-endian"), "%s", mvke_last_error());
    cr_assert_eq(open_fixture("c8.npy", &f), MVKE_ERR_FORMAT);
    cr_assert(strstr(mvke_last_error(), "'<c8' is not supported (values: '<f4', '<f8' or '<f2'; ids: '<i8', '<i4', "
                                        "'<u8' or '<u4')"), "%s", mvke_last_error());
}

/* numpy's defaults as they come: float64 values rounded to the nearest float32, int32 and unsigned
 * ids widened; what does not fit is refused naming its row and element. */
Test(npy, numpy_default_dtypes_are_converted) {
    mvke_npy *f;
    mvke_dtype dt;
    int nd;
    int64_t sh[MVKE_NPY_MAX_DIMS], ids[4];
    float x[6];
    cr_assert_eq(open_fixture("f64.npy", &f), MVKE_OK, "%s", mvke_last_error());
    cr_assert_eq(mvke_npy_read_f32(f, 0, 3, x), MVKE_OK);
    cr_assert(x[0] == 1 && x[1] == 1 && x[2] == 1);
    mvke_npy_close(f);

    cr_assert_eq(open_fixture("f64_values.npy", &f), MVKE_OK, "%s", mvke_last_error());
    mvke_npy_shape(f, &dt, &nd, sh);
    cr_assert(dt == MVKE_DTYPE_F64 && nd == 2 && sh[0] == 2 && sh[1] == 3);
    cr_assert_eq(mvke_npy_read_f32(f, 0, 2, x), MVKE_OK, "%s", mvke_last_error());
    const double want[6] = {0.1, 1.0 / 3, -2.5, 1e-40, 3.4028234663852886e38, -0.0};
    for (int k = 0; k < 6; k++) cr_assert_eq(x[k], (float)want[k], "[%d] = %.9g", k, x[k]);
    cr_assert(signbit(x[5]) && x[4] == 3.4028234663852886e38f);
    cr_assert_eq(mvke_npy_read_i64(f, 0, 1, ids), MVKE_ERR_FORMAT);
    cr_assert(strstr(mvke_last_error(), "dtype is '<f8' but integer ids ('<i8', '<i4', '<u8' or '<u4') are expected"),
              "%s", mvke_last_error());
    mvke_npy_close(f);

    cr_assert_eq(open_fixture("f64_beyond.npy", &f), MVKE_OK);
    cr_assert_eq(mvke_npy_read_f32(f, 0, 1, x), MVKE_OK); /* row 0 fits */
    cr_assert_eq(mvke_npy_read_f32(f, 0, 2, x), MVKE_ERR_NONFINITE);
    cr_assert(strstr(mvke_last_error(), "f64_beyond.npy: row 1, element 2: -1e+39 is beyond float32's range"), "%s",
              mvke_last_error());
    mvke_npy_close(f);

    cr_assert_eq(open_fixture("i32.npy", &f), MVKE_OK);
    mvke_npy_shape(f, &dt, &nd, sh);
    cr_assert(dt == MVKE_DTYPE_I32 && nd == 1 && sh[0] == 4);
    cr_assert_eq(mvke_npy_read_i64(f, 0, 4, ids), MVKE_OK);
    cr_assert(ids[0] == -5 && ids[1] == 7 && ids[2] == 2147483647 && ids[3] == -2147483648LL);
    cr_assert_eq(mvke_npy_read_i64(f, 1, 2, ids), MVKE_OK);
    cr_assert(ids[0] == 7 && ids[1] == 2147483647);
    cr_assert_eq(mvke_npy_read_f32(f, 0, 1, x), MVKE_ERR_FORMAT);
    cr_assert(strstr(mvke_last_error(), "dtype is '<i4' but float values ('<f4', '<f8' or '<f2') are expected"), "%s",
              mvke_last_error());
    mvke_npy_close(f);

    cr_assert_eq(open_fixture("u32.npy", &f), MVKE_OK);
    cr_assert_eq(mvke_npy_read_i64(f, 0, 2, ids), MVKE_OK);
    cr_assert(ids[0] == 0 && ids[1] == 4294967295LL);
    mvke_npy_close(f);

    cr_assert_eq(open_fixture("u64.npy", &f), MVKE_OK);
    cr_assert_eq(mvke_npy_read_i64(f, 0, 2, ids), MVKE_OK);
    cr_assert(ids[0] == 1 && ids[1] == INT64_MAX);
    mvke_npy_close(f);

    cr_assert_eq(open_fixture("u64_beyond.npy", &f), MVKE_OK);
    cr_assert_eq(mvke_npy_read_i64(f, 0, 2, ids), MVKE_OK);
    cr_assert_eq(mvke_npy_read_i64(f, 0, 3, ids), MVKE_ERR_INVALID);
    cr_assert(strstr(mvke_last_error(), "u64_beyond.npy: row 2, element 0: 9223372036854775813 is beyond int64's range"),
              "%s", mvke_last_error());
    mvke_npy_close(f);
}

/* A v1.0 file with the given header text (padded as numpy does) followed by nbytes of data. */
static size_t make_file(unsigned char *buf, int major, const char *header, size_t nbytes) {
    size_t pre = major == 1 ? 10 : 12, hl = strlen(header) + 1;
    size_t total = (pre + hl + 63) / 64 * 64;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    size_t h = total - pre;
    buf[8] = h & 0xff;
    buf[9] = (h >> 8) & 0xff;
    if (major != 1) buf[10] = buf[11] = 0;
    memcpy(buf + pre, header, strlen(header));
    memset(buf + pre + strlen(header), ' ', total - pre - strlen(header) - 1);
    buf[total - 1] = '\n';
    memset(buf + total, 0, nbytes);
    return total + nbytes;
}

static mvke_status parse_str(const char *header, mvke_npy_info *info) {
    static unsigned char buf[1 << 15];
    size_t n = make_file(buf, 1, header, 0);
    return mvke_npy_parse(buf, n, "t.npy", info);
}

Test(npy, header_rules) {
    mvke_npy_info in;
    cr_assert_eq(parse_str("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", &in), MVKE_OK);
    cr_assert(in.ndim == 2 && in.shape[0] == 3 && in.shape[1] == 4 && in.count == 12 && in.data_bytes == 48);
    cr_assert_eq(in.data_offset, 128);
    /* any key order, no trailing comma, double quotes, newlines and tabs between tokens */
    cr_assert_eq(parse_str("{\"shape\":(5,),\n\t'fortran_order':False,'descr':'<i8'}", &in), MVKE_OK);
    cr_assert(in.dtype == MVKE_DTYPE_I64 && in.ndim == 1 && in.shape[0] == 5);
    cr_assert_eq(parse_str("{'descr': '=f2', 'fortran_order': False, 'shape': (2,3,), }", &in), MVKE_OK);
    cr_assert(in.dtype == MVKE_DTYPE_F16 && in.ndim == 2);
    cr_assert_eq(parse_str("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", &in), MVKE_OK);
    cr_assert(in.ndim == 0 && in.count == 1);
    const char *bad[] = {
        "{'descr': '<f4', 'fortran_order': False}",                                   /* no shape */
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3), }",                   /* (3) is not a tuple */
        "{'descr': '<f4', 'fortran_order': False, 'shape': (-3,), }",                 /* negative */
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': 1}",        /* unknown key */
        "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,)}",    /* repeated key */
        "{'descr': '<f4', 'fortran_order': True, 'shape': (3,)}",                     /* fortran */
        "{'descr': '<f4', 'fortran_order': Falsey, 'shape': (3,)}",
        "{'descr': '|f4', 'fortran_order': False, 'shape': (3,)}",
        "{'descr': '<i2', 'fortran_order': False, 'shape': (3,)}",
        "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)} x",                  /* text after */
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)",                     /* unclosed */
        "['descr', '<f4']",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296)}", /* overflow */
        "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2305843009213693952,)}",  /* bytes overflow */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_assert_eq(parse_str(bad[i], &in), MVKE_ERR_FORMAT, "accepted: %s", bad[i]);
        cr_assert(strstr(mvke_last_error(), "t.npy"), "%s", mvke_last_error());
    }
    /* header longer than numpy's limit for untrusted files */
    static char big[12000];
    snprintf(big, sizeof big, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }");
    memset(big + strlen(big), ' ', 10100);
    big[10150] = 0;
    static unsigned char buf[1 << 15];
    size_t n = make_file(buf, 2, big, 0);
    buf[10] = (unsigned char)((n - 12) >> 16);
    cr_assert_eq(mvke_npy_parse(buf, n, "t.npy", &in), MVKE_ERR_FORMAT);
    cr_assert(strstr(mvke_last_error(), "10000"), "%s", mvke_last_error());
    /* magic and version */
    n = make_file(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 0);
    buf[1] = 'X';
    cr_assert_eq(mvke_npy_parse(buf, n, "t.npy", &in), MVKE_ERR_FORMAT);
    cr_assert(strstr(mvke_last_error(), "magic"));
    buf[1] = 'N';
    buf[6] = 4;
    cr_assert_eq(mvke_npy_parse(buf, n, "t.npy", &in), MVKE_ERR_FORMAT);
    buf[6] = 1;
    buf[7] = 1;
    cr_assert_eq(mvke_npy_parse(buf, n, "t.npy", &in), MVKE_ERR_FORMAT);
    buf[7] = 0;
    /* every strict prefix of the header is refused */
    for (size_t k = 0; k < n; k++) cr_assert_neq(mvke_npy_parse(buf, k, "t.npy", &in), MVKE_OK, "prefix %zu", k);
}

static char tmpdir[] = "/tmp/mvke_test_npy_XXXXXX";

static void tmp_path(char *buf, size_t cap, const char *name) {
    static int made;
    if (!made) cr_assert_not_null(mkdtemp(tmpdir));
    made = 1;
    snprintf(buf, cap, "%s/%s", tmpdir, name);
}

Test(npy, writer_round_trip_and_file_size_rules) {
    char p[512];
    tmp_path(p, sizeof p, "a.npy");
    float x[2 * 3 * 4];
    for (int i = 0; i < 24; i++) x[i] = (float)i * 0.25f - 1;
    const int64_t shape[3] = {2, 3, 4};
    cr_assert_eq(mvke_npy_save(p, MVKE_DTYPE_F32, 3, shape, x), MVKE_OK);
    mvke_npy *f;
    cr_assert_eq(mvke_npy_open(&f, p), MVKE_OK, "%s", mvke_last_error());
    float y[24];
    cr_assert_eq(mvke_npy_read_f32(f, 0, 2, y), MVKE_OK);
    cr_assert_eq(memcmp(x, y, sizeof x), 0);
    mvke_npy_close(f);
    /* float16 and int64 */
    uint16_t h[6];
    mvke_half_from_float(x, h, 6);
    const int64_t sh2[2] = {3, 2};
    cr_assert_eq(mvke_npy_save(p, MVKE_DTYPE_F16, 2, sh2, h), MVKE_OK);
    cr_assert_eq(mvke_npy_open(&f, p), MVKE_OK);
    cr_assert_eq(mvke_npy_read_f32(f, 1, 2, y), MVKE_OK);
    for (int i = 0; i < 4; i++) cr_assert_eq(y[i], x[2 + i]);
    mvke_npy_close(f);
    int64_t ids[5] = {1, 2, 3, -4, INT64_MAX}, got[5];
    const int64_t sh1[1] = {5};
    cr_assert_eq(mvke_npy_save(p, MVKE_DTYPE_I64, 1, sh1, ids), MVKE_OK);
    cr_assert_eq(mvke_npy_open(&f, p), MVKE_OK);
    cr_assert_eq(mvke_npy_read_i64(f, 0, 5, got), MVKE_OK);
    cr_assert_eq(memcmp(ids, got, sizeof ids), 0);
    mvke_npy_close(f);
    /* truncated data: TRUNCATED with offsets; extra bytes: FORMAT */
    FILE *fp = fopen(p, "rb");
    unsigned char buf[256];
    size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    cr_assert_eq(n, 128 + 40);
    for (size_t k = 0; k < n; k++) {
        fp = fopen(p, "wb");
        fwrite(buf, 1, k, fp);
        fclose(fp);
        mvke_status st = mvke_npy_open(&f, p);
        cr_assert(st == MVKE_ERR_TRUNCATED || st == MVKE_ERR_FORMAT, "prefix %zu: %d", k, st);
        if (k >= 128) {
            cr_assert_eq(st, MVKE_ERR_TRUNCATED);
            cr_assert(strstr(mvke_last_error(), "needs 168 bytes"), "%s", mvke_last_error());
        }
    }
    fp = fopen(p, "wb");
    fwrite(buf, 1, n, fp);
    fputc(0, fp);
    fclose(fp);
    cr_assert_eq(mvke_npy_open(&f, p), MVKE_ERR_FORMAT);
    cr_assert(strstr(mvke_last_error(), "1 bytes after"), "%s", mvke_last_error());
    /* a shape larger than the file */
    char big[256];
    size_t bl = make_file((unsigned char *)big, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 150), }", 8);
    fp = fopen(p, "wb");
    fwrite(big, 1, bl, fp);
    fclose(fp);
    cr_assert_eq(mvke_npy_open(&f, p), MVKE_ERR_TRUNCATED);
    cr_assert_eq(mvke_npy_open(&f, "/nonexistent/x.npy"), MVKE_ERR_IO);
    cr_assert(strstr(mvke_last_error(), "/nonexistent/x.npy"));
    unlink(p);
    rmdir(tmpdir);
}
