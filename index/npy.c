/*
 * npy.c - a strict reader and a writer for numpy's .npy format (versions 1.0, 2.0, 3.0).
 *
 * The preamble is the magic "\x93NUMPY", a major and minor version byte, then the header length
 * (2 bytes little-endian in 1.0, 4 bytes in 2.0 and 3.0) and the header: a Python dict literal
 * with exactly the keys 'descr', 'fortran_order' and 'shape', padded with spaces and ended with a
 * newline. We follow numpy's own reader: any key order, a trailing comma, whitespace between
 * tokens, a header of at most 10000 bytes. Everything else is refused with a message naming the
 * file and the byte offset. Data is read on demand with pread, so arrays larger than memory can be
 * streamed by rows.
 */
#include "npy.h"

#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../kernels/half.h"
#include "../kernels/runtime.h"
#include "durable.h"
#include "input.h"

struct mvke_npy {
    int fd;
    char *path;
    mvke_npy_info info;
    uint64_t rows;     /* along the first axis (1 for a 0-d array) */
    uint64_t row_elems;
};

/* Every dtype the reader takes, as numpy writes it on this little-endian host. */
static const struct {
    const char *descr;
    mvke_dtype dtype;
    size_t size;
} dtypes[] = {{"<f4", MVKE_DTYPE_F32, 4}, {"<f2", MVKE_DTYPE_F16, 2}, {"<i8", MVKE_DTYPE_I64, 8},
              {"<f8", MVKE_DTYPE_F64, 8}, {"<i4", MVKE_DTYPE_I32, 4}, {"<u8", MVKE_DTYPE_U64, 8},
              {"<u4", MVKE_DTYPE_U32, 4}};
#define NDTYPES (sizeof dtypes / sizeof dtypes[0])

/* What each reader takes, for messages. */
#define FLOAT_DTYPES "'<f4', '<f8' or '<f2'"
#define ID_DTYPES "'<i8', '<i4', '<u8' or '<u4'"

size_t mvke_dtype_size(mvke_dtype dtype) {
    for (size_t i = 0; i < NDTYPES; i++)
        if (dtypes[i].dtype == dtype) return dtypes[i].size;
    return 8;
}

static const char *dtype_descr(mvke_dtype dtype) {
    for (size_t i = 0; i < NDTYPES; i++)
        if (dtypes[i].dtype == dtype) return dtypes[i].descr;
    return "?";
}

int mvke_dtype_is_int(mvke_dtype dtype) {
    return dtype == MVKE_DTYPE_I64 || dtype == MVKE_DTYPE_I32 || dtype == MVKE_DTYPE_U64 || dtype == MVKE_DTYPE_U32;
}

static int dtype_is_float(mvke_dtype dtype) { return !mvke_dtype_is_int(dtype); }

/* ---- header parsing ------------------------------------------------------------------------ */

typedef struct parser {
    const unsigned char *s;
    size_t pos, end, base; /* base: file offset of s[0] */
    const char *name;
} parser;

static mvke_status perr(const parser *p, const char *what) {
    return mvke_error(MVKE_ERR_FORMAT, "%s: byte %zu: bad .npy header: %s", p->name, p->base + p->pos, what);
}

static void skip_ws(parser *p) {
    while (p->pos < p->end && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
                               p->s[p->pos] == '\r'))
        p->pos++;
}

static int accept(parser *p, char c) {
    skip_ws(p);
    if (p->pos < p->end && p->s[p->pos] == (unsigned char)c) {
        p->pos++;
        return 1;
    }
    return 0;
}

/* A quoted string (' or ") without escapes, copied into out (NUL-terminated). */
static mvke_status parse_string(parser *p, char *out, size_t cap) {
    skip_ws(p);
    if (p->pos >= p->end || (p->s[p->pos] != '\'' && p->s[p->pos] != '"')) return perr(p, "expected a string");
    unsigned char q = p->s[p->pos++];
    size_t n = 0;
    while (p->pos < p->end && p->s[p->pos] != q) {
        unsigned char c = p->s[p->pos];
        if (c == '\\' || c < 0x20 || c >= 0x7f) return perr(p, "unsupported character in a string");
        if (n + 1 >= cap) return perr(p, "string too long");
        out[n++] = (char)c;
        p->pos++;
    }
    if (p->pos >= p->end) return perr(p, "unterminated string");
    p->pos++;
    out[n] = 0;
    return MVKE_OK;
}

static int accept_word(parser *p, const char *w) {
    skip_ws(p);
    size_t n = strlen(w);
    if (p->end - p->pos >= n && !memcmp(p->s + p->pos, w, n)) {
        /* the word must end here: no identifier character after it */
        unsigned char c = p->pos + n < p->end ? p->s[p->pos + n] : ' ';
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_') return 0;
        p->pos += n;
        return 1;
    }
    return 0;
}

static mvke_status parse_shape(parser *p, mvke_npy_info *info) {
    if (!accept(p, '(')) return perr(p, "'shape' must be a tuple");
    info->ndim = 0;
    for (;;) {
        if (accept(p, ')')) break;
        skip_ws(p);
        if (p->pos >= p->end || p->s[p->pos] < '0' || p->s[p->pos] > '9')
            return perr(p, "shape entries must be non-negative integers");
        uint64_t v = 0;
        while (p->pos < p->end && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
            if (v > ((uint64_t)INT64_MAX - 9) / 10) return perr(p, "shape entry too large");
            v = v * 10 + (p->s[p->pos++] - '0');
        }
        if (info->ndim == MVKE_NPY_MAX_DIMS) return perr(p, "more than 8 dimensions");
        info->shape[info->ndim++] = (int64_t)v;
        if (accept(p, ',')) continue;
        if (accept(p, ')')) break;
        return perr(p, "expected ',' or ')' in the shape");
    }
    /* Python writes a 1-tuple as "(n,)": "(n)" is an int, not a tuple. */
    if (info->ndim == 1) {
        size_t i = p->pos - 1; /* at ')' */
        while (i > 0 && (p->s[i - 1] == ' ' || p->s[i - 1] == '\t' || p->s[i - 1] == '\n' || p->s[i - 1] == '\r')) i--;
        if (i == 0 || p->s[i - 1] != ',') return perr(p, "a 1-d shape must be written (n,)");
    }
    return MVKE_OK;
}

static mvke_status parse_descr(parser *p, mvke_npy_info *info) {
    char d[16];
    skip_ws(p);
    if (p->pos < p->end && p->s[p->pos] == '[') return perr(p, "structured dtypes are not supported");
    mvke_status st = parse_string(p, d, sizeof d);
    if (st != MVKE_OK) return st;
    /* '=' is native order, which is little-endian on every host this library builds for. */
    const int le = d[0] == '<' || d[0] == '=';
    for (size_t i = 0; le && i < NDTYPES; i++)
        if (!strcmp(d + 1, dtypes[i].descr + 1)) {
            info->dtype = dtypes[i].dtype;
            return MVKE_OK;
        }
    if (d[0] == '>')
        return mvke_error(MVKE_ERR_FORMAT, "%s: dtype '%s' is big-endian; save it as little-endian ('<%s')",
                          p->name, d, d + 1);
    return mvke_error(MVKE_ERR_FORMAT, "%s: dtype '%s' is not supported (values: " FLOAT_DTYPES "; ids: " ID_DTYPES ")",
                      p->name, d);
}

mvke_status mvke_npy_parse(const unsigned char *buf, size_t n, const char *name, mvke_npy_info *info) {
    memset(info, 0, sizeof *info);
    if (!name) name = "(npy)";
    static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
    if (n < 8) {
        if (memcmp(buf, magic, n < 6 ? n : 6))
            return mvke_error(MVKE_ERR_FORMAT, "%s: byte 0: not a .npy file (bad magic)", name);
        return mvke_error(MVKE_ERR_TRUNCATED, "%s: file ends at byte %zu inside the .npy preamble", name, n);
    }
    if (memcmp(buf, magic, 6)) return mvke_error(MVKE_ERR_FORMAT, "%s: byte 0: not a .npy file (bad magic)", name);
    const unsigned major = buf[6], minor = buf[7];
    if (major < 1 || major > 3 || minor != 0)
        return mvke_error(MVKE_ERR_FORMAT, "%s: byte 6: .npy format version %u.%u is not supported (1.0, 2.0, 3.0)",
                          name, major, minor);
    const size_t lenbytes = major == 1 ? 2 : 4;
    if (n < 8 + lenbytes)
        return mvke_error(MVKE_ERR_TRUNCATED, "%s: file ends at byte %zu inside the .npy preamble", name, n);
    uint64_t hlen = buf[8] | (uint64_t)buf[9] << 8;
    if (lenbytes == 4) hlen |= (uint64_t)buf[10] << 16 | (uint64_t)buf[11] << 24;
    if (hlen > MVKE_NPY_MAX_HEADER)
        return mvke_error(MVKE_ERR_FORMAT, "%s: byte 8: header length %llu exceeds the limit of %d bytes", name,
                          (unsigned long long)hlen, MVKE_NPY_MAX_HEADER);
    const size_t hstart = 8 + lenbytes;
    if (n < hstart + hlen)
        return mvke_error(MVKE_ERR_TRUNCATED, "%s: file ends at byte %zu inside the header (which ends at byte %llu)",
                          name, n, (unsigned long long)(hstart + hlen));
    parser p = {buf + hstart, 0, (size_t)hlen, hstart, name};
    mvke_status st;
    if (!accept(&p, '{')) return perr(&p, "expected '{'");
    int have_descr = 0, have_fortran = 0, have_shape = 0;
    for (;;) {
        if (accept(&p, '}')) break;
        char key[32];
        if ((st = parse_string(&p, key, sizeof key)) != MVKE_OK) return st;
        if (!accept(&p, ':')) return perr(&p, "expected ':'");
        if (!strcmp(key, "descr")) {
            if (have_descr++) return perr(&p, "key 'descr' appears twice");
            if ((st = parse_descr(&p, info)) != MVKE_OK) return st;
        } else if (!strcmp(key, "fortran_order")) {
            if (have_fortran++) return perr(&p, "key 'fortran_order' appears twice");
            if (accept_word(&p, "True"))
                return mvke_error(MVKE_ERR_FORMAT, "%s: fortran_order is True; only C-order arrays are supported "
                                  "(save with numpy.ascontiguousarray)", name);
            if (!accept_word(&p, "False")) return perr(&p, "fortran_order must be True or False");
        } else if (!strcmp(key, "shape")) {
            if (have_shape++) return perr(&p, "key 'shape' appears twice");
            if ((st = parse_shape(&p, info)) != MVKE_OK) return st;
        } else {
            return perr(&p, "unknown key (expected 'descr', 'fortran_order', 'shape')");
        }
        if (accept(&p, ',')) continue;
        if (accept(&p, '}')) break;
        return perr(&p, "expected ',' or '}'");
    }
    skip_ws(&p);
    if (p.pos != p.end) return perr(&p, "text after the closing '}'");
    if (!have_descr || !have_fortran || !have_shape)
        return mvke_error(MVKE_ERR_FORMAT, "%s: .npy header lacks the key '%s'", name,
                          !have_descr ? "descr" : !have_fortran ? "fortran_order" : "shape");
    uint64_t count = 1;
    for (int i = 0; i < info->ndim; i++)
        if (__builtin_mul_overflow(count, (uint64_t)info->shape[i], &count) || count > (uint64_t)INT64_MAX)
            return mvke_error(MVKE_ERR_FORMAT, "%s: the shape's element count overflows", name);
    info->count = count;
    if (__builtin_mul_overflow(count, (uint64_t)mvke_dtype_size(info->dtype), &info->data_bytes) ||
        info->data_bytes > (uint64_t)INT64_MAX - hstart - hlen)
        return mvke_error(MVKE_ERR_FORMAT, "%s: the shape's byte size overflows", name);
    info->data_offset = hstart + hlen;
    return MVKE_OK;
}

/* ---- the reader ---------------------------------------------------------------------------- */

/* Reads exactly n bytes at off, or fails naming the file and offset. */
static mvke_status read_at(int fd, const char *path, void *buf, size_t n, uint64_t off) {
    int64_t got = mvke_pread_all(fd, buf, n, off);
    if (got < 0) return mvke_error(MVKE_ERR_IO, "%s: read at byte %llu: %s", path, (unsigned long long)off, strerror(errno));
    if ((uint64_t)got < n)
        return mvke_error(MVKE_ERR_TRUNCATED, "%s: file ends at byte %llu, %zu bytes short", path,
                          (unsigned long long)(off + (uint64_t)got), n - (size_t)got);
    return MVKE_OK;
}

mvke_status mvke_npy_open(mvke_npy **out, const char *path) {
    mvke_error_clear();
    if (!out || !path) return mvke_error(MVKE_ERR_INVALID, "mvke_npy_open: NULL argument");
    *out = NULL;
    char why[160];
    int fd = mvke_input_open(path, 0, why, sizeof why);
    if (fd < 0) return mvke_error(MVKE_ERR_IO, "%s: %s", path, why);
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        close(fd);
        return mvke_error(MVKE_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    }
    const uint64_t size = (uint64_t)sb.st_size;
    unsigned char head[12 + MVKE_NPY_MAX_HEADER];
    size_t want = size < sizeof head ? (size_t)size : sizeof head;
    mvke_status st = read_at(fd, path, head, want, 0);
    mvke_npy_info info;
    if (st == MVKE_OK) st = mvke_npy_parse(head, want, path, &info);
    if (st == MVKE_OK && size != info.data_offset + info.data_bytes) {
        const unsigned long long expect = info.data_offset + info.data_bytes;
        char shape[200] = "(";
        for (int i = 0; i < info.ndim; i++)
            snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%lld%s", (long long)info.shape[i],
                     info.ndim == 1 || i + 1 < info.ndim ? "," : "");
        strcat(shape, ")");
        st = size < expect
                 ? mvke_error(MVKE_ERR_TRUNCATED, "%s: file ends at byte %llu but shape %s of '%s' needs %llu bytes",
                              path, (unsigned long long)size, shape, dtype_descr(info.dtype), expect)
                 : mvke_error(MVKE_ERR_FORMAT, "%s: %llu bytes after the data of shape %s end at byte %llu",
                              path, (unsigned long long)(size - expect), shape, expect);
    }
    mvke_npy *f = NULL;
    if (st == MVKE_OK && (!(f = mvke_calloc(1, sizeof *f)) || !(f->path = mvke_strdup(path)))) {
        if (f) mvke_free(f);
        f = NULL;
        st = mvke_error(MVKE_ERR_NOMEM, "out of memory opening %s", path);
    }
    if (st != MVKE_OK) {
        close(fd);
        return st;
    }
    f->fd = fd;
    f->info = info;
    f->rows = info.ndim ? (uint64_t)info.shape[0] : 1;
    f->row_elems = 1;
    for (int i = 1; i < info.ndim; i++) f->row_elems *= (uint64_t)info.shape[i];
    *out = f;
    return MVKE_OK;
}

mvke_status mvke_npy_shape(const mvke_npy *f, mvke_dtype *dtype, int *ndim, int64_t *shape) {
    if (!f) return mvke_error(MVKE_ERR_INVALID, "npy file is NULL");
    if (dtype) *dtype = f->info.dtype;
    if (ndim) *ndim = f->info.ndim;
    if (shape) memcpy(shape, f->info.shape, (size_t)f->info.ndim * sizeof *shape);
    return MVKE_OK;
}

static mvke_status check_range(const mvke_npy *f, int64_t first, int64_t n, const void *out) {
    if (first < 0 || n < 0 || (n > 0 && !out) || (uint64_t)first > f->rows || (uint64_t)n > f->rows - (uint64_t)first)
        return mvke_error(MVKE_ERR_INVALID, "%s: rows %lld..%lld are outside the array's %llu rows", f->path,
                          (long long)first, (long long)first + n - 1, (unsigned long long)f->rows);
    return MVKE_OK;
}

mvke_status mvke_npy_read_f32(mvke_npy *f, int64_t first, int64_t n, float *out) {
    mvke_error_clear();
    if (!f) return mvke_error(MVKE_ERR_INVALID, "npy file is NULL");
    mvke_status st = check_range(f, first, n, out);
    if (st != MVKE_OK) return st;
    if (!dtype_is_float(f->info.dtype))
        return mvke_error(MVKE_ERR_FORMAT, "%s: dtype is '%s' but float values (" FLOAT_DTYPES ") are expected",
                          f->path, dtype_descr(f->info.dtype));
    const size_t es = mvke_dtype_size(f->info.dtype);
    const uint64_t off = f->info.data_offset + (uint64_t)first * f->row_elems * es;
    const uint64_t total = (uint64_t)n * f->row_elems;
    if (f->info.dtype == MVKE_DTYPE_F32) return read_at(f->fd, f->path, out, total * es, off);
    /* float16 and float64: read through a fixed buffer and convert. */
    union {
        uint16_t h[8192];
        double d[8192];
    } buf;
    for (uint64_t done = 0; done < total;) {
        size_t m = total - done < 8192 ? (size_t)(total - done) : 8192;
        if ((st = read_at(f->fd, f->path, &buf, m * es, off + done * es)) != MVKE_OK) return st;
        if (f->info.dtype == MVKE_DTYPE_F16) mvke_half_to_float(buf.h, out + done, m);
        else
            for (size_t i = 0; i < m; i++) {
                out[done + i] = (float)buf.d[i];
                if (isinf(out[done + i]) && isfinite(buf.d[i])) {
                    const uint64_t e = (uint64_t)first * f->row_elems + done + i;
                    return mvke_error(MVKE_ERR_NONFINITE, "%s: row %llu, element %llu: %.10g is beyond float32's range",
                                      f->path, (unsigned long long)(e / f->row_elems),
                                      (unsigned long long)(e % f->row_elems), buf.d[i]);
                }
            }
        done += m;
    }
    return MVKE_OK;
}

mvke_status mvke_npy_read_i64(mvke_npy *f, int64_t first, int64_t n, int64_t *out) {
    mvke_error_clear();
    if (!f) return mvke_error(MVKE_ERR_INVALID, "npy file is NULL");
    mvke_status st = check_range(f, first, n, out);
    if (st != MVKE_OK) return st;
    if (dtype_is_float(f->info.dtype))
        return mvke_error(MVKE_ERR_FORMAT, "%s: dtype is '%s' but integer ids (" ID_DTYPES ") are expected", f->path,
                          dtype_descr(f->info.dtype));
    const size_t es = mvke_dtype_size(f->info.dtype);
    const uint64_t off = f->info.data_offset + (uint64_t)first * f->row_elems * es;
    const uint64_t total = (uint64_t)n * f->row_elems;
    /* Read in place: 4-byte values fill the first half of out, then widen from the end down. */
    if ((st = read_at(f->fd, f->path, out, total * es, off)) != MVKE_OK) return st;
    if (f->info.dtype == MVKE_DTYPE_I32 || f->info.dtype == MVKE_DTYPE_U32)
        for (uint64_t i = total; i-- > 0;) {
            uint32_t v;
            memcpy(&v, (const char *)out + 4 * i, 4);
            out[i] = f->info.dtype == MVKE_DTYPE_I32 ? (int64_t)(int32_t)v : (int64_t)v;
        }
    else if (f->info.dtype == MVKE_DTYPE_U64)
        for (uint64_t i = 0; i < total; i++)
            if (out[i] < 0) {
                const uint64_t e = (uint64_t)first * f->row_elems + i;
                return mvke_error(MVKE_ERR_INVALID, "%s: row %llu, element %llu: %llu is beyond int64's range",
                                  f->path, (unsigned long long)(e / f->row_elems),
                                  (unsigned long long)(e % f->row_elems), (unsigned long long)out[i]);
            }
    return MVKE_OK;
}

void mvke_npy_close(mvke_npy *f) {
    if (!f) return;
    close(f->fd);
    mvke_free(f->path);
    mvke_free(f);
}

/* ---- the writer ---------------------------------------------------------------------------- */

mvke_status mvke_npy_header(mvke_dtype dtype, int ndim, const int64_t *shape, char *buf, size_t cap,
                            size_t *len) {
    if (!buf || !len || ndim < 0 || ndim > MVKE_NPY_MAX_DIMS || (ndim && !shape) ||
        (dtype != MVKE_DTYPE_F32 && dtype != MVKE_DTYPE_F16 && dtype != MVKE_DTYPE_I64))
        return mvke_error(MVKE_ERR_INVALID, "mvke_npy_header: bad arguments");
    char dict[400];
    int k = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", dtype_descr(dtype));
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return mvke_error(MVKE_ERR_INVALID, "shape[%d] = %lld is negative", i, (long long)shape[i]);
        k += snprintf(dict + k, sizeof dict - (size_t)k, i ? ", %lld" : "%lld", (long long)shape[i]);
    }
    k += snprintf(dict + k, sizeof dict - (size_t)k, "%s), }", ndim == 1 ? "," : "");
    /* Version 1.0 has a 2-byte length; numpy pads the whole preamble to a multiple of 64. */
    size_t pre = 10, hl = (size_t)k + 1;
    size_t total = (pre + hl + 63) / 64 * 64;
    int major = 1;
    if (total - pre > 65535) {
        major = 2;
        pre = 12;
        total = (pre + hl + 63) / 64 * 64;
    }
    if (cap < total) return mvke_error(MVKE_ERR_INVALID, "mvke_npy_header: buffer of %zu bytes < %zu", cap, total);
    const size_t h = total - pre;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (char)major;
    buf[7] = 0;
    buf[8] = (char)(h & 0xff);
    buf[9] = (char)(h >> 8 & 0xff);
    if (major == 2) {
        buf[10] = (char)(h >> 16 & 0xff);
        buf[11] = (char)(h >> 24 & 0xff);
    }
    memcpy(buf + pre, dict, (size_t)k);
    memset(buf + pre + k, ' ', total - pre - (size_t)k - 1);
    buf[total - 1] = '\n';
    *len = total;
    return MVKE_OK;
}

mvke_status mvke_npy_save(const char *path, mvke_dtype dtype, int ndim, const int64_t *shape,
                          const void *data) {
    mvke_error_clear();
    if (!path) return mvke_error(MVKE_ERR_INVALID, "mvke_npy_save: path is NULL");
    char head[512];
    size_t hl;
    mvke_status st = mvke_npy_header(dtype, ndim, shape, head, sizeof head, &hl);
    if (st != MVKE_OK) return st;
    uint64_t count = 1;
    for (int i = 0; i < ndim; i++)
        if (__builtin_mul_overflow(count, (uint64_t)shape[i], &count))
            return mvke_error(MVKE_ERR_INVALID, "the shape's element count overflows");
    uint64_t bytes;
    if (__builtin_mul_overflow(count, (uint64_t)mvke_dtype_size(dtype), &bytes) || bytes > SIZE_MAX)
        return mvke_error(MVKE_ERR_INVALID, "the array is too large");
    if (bytes && !data) return mvke_error(MVKE_ERR_INVALID, "mvke_npy_save: data is NULL");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return mvke_error(MVKE_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    const unsigned char *parts[2] = {(const unsigned char *)head, data};
    size_t sizes[2] = {hl, (size_t)bytes};
    for (int i = 0; i < 2 && st == MVKE_OK; i++)
        if (mvke_write_all(fd, parts[i], sizes[i], -1, NULL) != 0)
            st = mvke_error(MVKE_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    if (close(fd) != 0 && st == MVKE_OK) st = mvke_error(MVKE_ERR_IO, "%s: close failed: %s", path, strerror(errno));
    if (st != MVKE_OK) unlink(path);
    return st;
}
