/*
 * convert.c - numpy arrays in: float rows, ids and allow-lists, checked before anything reaches
 * the library. An argument that already is a C-contiguous float32 (int64) array is used in place,
 * never copied; anything else array-like is converted once. Bad shapes and dtypes raise
 * mvke.Error naming the argument, so a call that fails here has changed nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "pymvke.h"

/* "(3, 7)" for an array's shape. */
static void shape_text(PyArrayObject *a, char *buf, size_t cap) {
    size_t len = (size_t)snprintf(buf, cap, "(");
    const int nd = PyArray_NDIM(a);
    for (int i = 0; i < nd && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? ", " : "", (long long)PyArray_DIM(a, i));
    if (len < cap) snprintf(buf + len, cap - len, nd == 1 ? ",)" : ")");
}

/* An ndarray view of any array-like, or NULL with mvke.Error (ragged lists, objects numpy cannot
 * read) naming the argument. */
static PyArrayObject *as_array(PyObject *obj, const char *what) {
    PyArrayObject *a = (PyArrayObject *)PyArray_FROM_O(obj);
    if (a) return a;
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyObject *text = value ? PyObject_Str(value) : NULL;
    const char *t = text ? PyUnicode_AsUTF8(text) : NULL;
    if (!t) PyErr_Clear();
    mvke_py_failf(MVKE_ERR_INVALID, "%s cannot be read as an array: %s", what, t ? t : "unknown reason");
    Py_XDECREF(text);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    return NULL;
}

static const char *dtype_name(PyArrayObject *a, char *buf, size_t cap) {
    PyObject *s = PyObject_Str((PyObject *)PyArray_DESCR(a));
    const char *t = s ? PyUnicode_AsUTF8(s) : NULL;
    snprintf(buf, cap, "%s", t ? t : "?");
    if (!t) PyErr_Clear();
    Py_XDECREF(s);
    return buf;
}

PyArrayObject *mvke_py_floats(PyObject *obj, const char *what) {
    PyArrayObject *a = as_array(obj, what);
    if (!a) return NULL;
    if (PyArray_DESCR(a)->kind != 'f') {
        char dt[64];
        mvke_py_failf(MVKE_ERR_INVALID, "%s must hold floating-point numbers, not dtype %s", what,
                      dtype_name(a, dt, sizeof dt));
        Py_DECREF(a);
        return NULL;
    }
    /* The same object back (a new reference) when it is already float32, C-contiguous, aligned
     * and in native byte order; a converted copy otherwise. */
    PyArrayObject *f = (PyArrayObject *)PyArray_FromArray(a, PyArray_DescrFromType(NPY_FLOAT32),
                                                          NPY_ARRAY_IN_ARRAY | NPY_ARRAY_FORCECAST);
    Py_DECREF(a);
    return f;
}

PyArrayObject *mvke_py_rows(PyObject *obj, int K, int d, const char *what, int64_t *n) {
    PyArrayObject *a = mvke_py_floats(obj, what);
    if (!a) return NULL;
    const int nd = PyArray_NDIM(a);
    if ((nd == 3 && PyArray_DIM(a, 1) == K && PyArray_DIM(a, 2) == d) ||
        (nd == 2 && PyArray_DIM(a, 1) == (npy_intp)K * d)) {
        *n = (int64_t)PyArray_DIM(a, 0);
        return a;
    }
    char sh[128];
    shape_text(a, sh, sizeof sh);
    mvke_py_failf(MVKE_ERR_DIM, "%s has shape %s; expected (n, %d, %d) or (n, %d) for K = %d, d = %d", what, sh, K, d,
                  K * d, K, d);
    Py_DECREF(a);
    return NULL;
}

PyArrayObject *mvke_py_floats_shaped(PyObject *obj, int ndim, const npy_intp *shape, const char *what) {
    PyArrayObject *a = mvke_py_floats(obj, what);
    if (!a) return NULL;
    int ok = PyArray_NDIM(a) == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = shape[i] < 0 || PyArray_DIM(a, i) == shape[i];
    if (ok) return a;
    char sh[128], want[128];
    shape_text(a, sh, sizeof sh);
    size_t len = (size_t)snprintf(want, sizeof want, "(");
    for (int i = 0; i < ndim && len < sizeof want; i++) {
        if (shape[i] < 0) len += (size_t)snprintf(want + len, sizeof want - len, "%sn", i ? ", " : "");
        else len += (size_t)snprintf(want + len, sizeof want - len, "%s%lld", i ? ", " : "", (long long)shape[i]);
    }
    if (len < sizeof want) snprintf(want + len, sizeof want - len, ndim == 1 ? ",)" : ")");
    mvke_py_failf(MVKE_ERR_DIM, "%s has shape %s; expected %s", what, sh, want);
    Py_DECREF(a);
    return NULL;
}

PyArrayObject *mvke_py_ids(PyObject *obj, const char *what, int64_t want_n) {
    PyArrayObject *a = as_array(obj, what);
    if (!a) return NULL;
    if (PyArray_SIZE(a) == 0 && PyArray_NDIM(a) <= 1) {
        /* An empty list arrives as float64: no ids, whatever its dtype. */
        Py_DECREF(a);
        npy_intp zero = 0;
        a = (PyArrayObject *)PyArray_SimpleNew(1, &zero, NPY_INT64);
    } else {
        const char kind = PyArray_DESCR(a)->kind;
        if (kind != 'i' && kind != 'u') {
            char dt[64];
            mvke_py_failf(MVKE_ERR_INVALID, "%s must be integers (int64 ids), not dtype %s", what,
                          dtype_name(a, dt, sizeof dt));
            Py_DECREF(a);
            return NULL;
        }
        if (PyArray_NDIM(a) > 1) {
            char sh[128];
            shape_text(a, sh, sizeof sh);
            mvke_py_failf(MVKE_ERR_DIM, "%s has shape %s; expected a 1-d array of ids", what, sh);
            Py_DECREF(a);
            return NULL;
        }
        const int wide_unsigned = kind == 'u' && PyArray_ITEMSIZE(a) == 8;
        PyArrayObject *c = (PyArrayObject *)PyArray_FromArray(a, PyArray_DescrFromType(NPY_INT64),
                                                              NPY_ARRAY_IN_ARRAY | NPY_ARRAY_FORCECAST);
        Py_DECREF(a);
        if (!c) return NULL;
        /* uint64 ids above INT64_MAX wrap to negative int64 in the cast: name them as they were. */
        const int64_t *v = MVKE_PY_I64(c);
        for (npy_intp i = 0; wide_unsigned && i < PyArray_SIZE(c); i++)
            if (v[i] < 0) {
                mvke_py_failf(MVKE_ERR_INVALID, "%s: row %lld: id %llu is beyond int64's range (ids are < 2^63)", what,
                              (long long)i, (unsigned long long)v[i]);
                Py_DECREF(c);
                return NULL;
            }
        if (PyArray_NDIM(c) == 0) { /* one id */
            npy_intp one = 1;
            PyArray_Dims dims = {&one, 1};
            a = (PyArrayObject *)PyArray_Newshape(c, &dims, NPY_CORDER);
            Py_DECREF(c);
        } else {
            a = c;
        }
    }
    if (a && want_n >= 0 && (int64_t)PyArray_DIM(a, 0) != want_n) {
        mvke_py_failf(MVKE_ERR_DIM, "%s has %lld entries; expected %lld", what, (long long)PyArray_DIM(a, 0),
                      (long long)want_n);
        Py_DECREF(a);
        return NULL;
    }
    return a;
}

static int cmp_i64(const void *a, const void *b) {
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* A bool mask: bit i of the bitmap is mask[i]. */
static int allow_mask(PyArrayObject *a, mvke_allow **out) {
    if (PyArray_NDIM(a) != 1) {
        char sh[128];
        shape_text(a, sh, sizeof sh);
        mvke_py_failf(MVKE_ERR_DIM, "allow is a bool mask of shape %s; expected a 1-d mask over ids", sh);
        return -1;
    }
    PyArrayObject *c = (PyArrayObject *)PyArray_FromArray(a, PyArray_DescrFromType(NPY_BOOL), NPY_ARRAY_IN_ARRAY);
    if (!c) return -1;
    const int64_t n = (int64_t)PyArray_DIM(c, 0);
    const npy_bool *m = (const npy_bool *)PyArray_DATA(c);
    uint8_t *bits = calloc((size_t)(n / 8 + 1), 1);
    if (!bits) {
        Py_DECREF(c);
        PyErr_NoMemory();
        return -1;
    }
    for (int64_t i = 0; i < n; i++)
        if (m[i]) bits[i / 8] |= (uint8_t)(1u << (i % 8));
    Py_DECREF(c);
    mvke_status st = mvke_allow_new_bitmap(out, bits, n);
    free(bits);
    if (st != MVKE_OK) {
        mvke_py_fail(st);
        return -1;
    }
    return 0;
}

int mvke_py_allow(PyObject *obj, mvke_allow **out) {
    *out = NULL;
    if (obj == NULL || obj == Py_None) return 0;
    PyArrayObject *a = as_array(obj, "allow");
    if (!a) return -1;
    if (PyArray_DESCR(a)->kind == 'b') {
        int r = allow_mask(a, out);
        Py_DECREF(a);
        return r;
    }
    Py_DECREF(a);
    PyArrayObject *ids = mvke_py_ids(obj, "allow (an array of user ids or a bool mask)", -1);
    if (!ids) return -1;
    const int64_t n = (int64_t)PyArray_DIM(ids, 0);
    const int64_t *v = MVKE_PY_I64(ids);
    int sorted = 1;
    for (int64_t i = 1; i < n && sorted; i++) sorted = v[i] > v[i - 1];
    mvke_status st;
    if (sorted) {
        st = mvke_allow_new_sorted(out, v, n);
    } else {
        /* Any order and repeats are fine here: sorted and made distinct on a copy. */
        int64_t *s = malloc((size_t)(n ? n : 1) * sizeof *s);
        if (!s) {
            Py_DECREF(ids);
            PyErr_NoMemory();
            return -1;
        }
        memcpy(s, v, (size_t)n * sizeof *s);
        qsort(s, (size_t)n, sizeof *s, cmp_i64);
        int64_t m = 0;
        for (int64_t i = 0; i < n; i++)
            if (m == 0 || s[i] != s[m - 1]) s[m++] = s[i];
        st = mvke_allow_new_sorted(out, s, m);
        free(s);
    }
    Py_DECREF(ids);
    if (st != MVKE_OK) {
        mvke_py_fail(st);
        return -1;
    }
    return 0;
}
