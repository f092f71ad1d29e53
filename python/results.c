/*
 * results.c - numpy arrays out, in FAISS's layouts: fixed-size results as D (n, k) float32 and
 * I (n, k) int64 padded with -inf / -1, variable-size results as lims (n+1,) int64 with D and I
 * flat, so that list i is D[lims[i]:lims[i+1]].
 */
#include <math.h>
#include <string.h>

#include "pymvke.h"

int mvke_py_new_pair(int64_t rows, int64_t cols, PyArrayObject **D, PyArrayObject **I) {
    npy_intp dims[2] = {(npy_intp)rows, (npy_intp)cols};
    *D = (PyArrayObject *)PyArray_SimpleNew(2, dims, NPY_FLOAT32);
    if (!*D) return -1;
    *I = (PyArrayObject *)PyArray_SimpleNew(2, dims, NPY_INT64);
    if (!*I) {
        Py_CLEAR(*D);
        return -1;
    }
    return 0;
}

int mvke_py_fill_padded(const mvke_result *res, int64_t first, int64_t stride, int64_t nlists, int64_t k,
                        float *D, int64_t *I) {
    for (int64_t i = 0; i < nlists; i++) {
        const int64_t *ids;
        const float *scores;
        int64_t n;
        if (mvke_result_get(res, first + i * stride, &ids, &scores, &n) != MVKE_OK) return -1;
        if (n > k) n = k;
        if (n > 0) {
            memcpy(D + i * k, scores, (size_t)n * sizeof *D);
            memcpy(I + i * k, ids, (size_t)n * sizeof *I);
        }
        for (int64_t j = n; j < k; j++) {
            D[i * k + j] = -INFINITY;
            I[i * k + j] = -1;
        }
    }
    return 0;
}

PyObject *mvke_py_padded(const mvke_result *res, int64_t first, int64_t stride, int64_t nlists, int64_t k) {
    PyArrayObject *D, *I;
    if (mvke_py_new_pair(nlists, k, &D, &I) < 0) return NULL;
    if (mvke_py_fill_padded(res, first, stride, nlists, k, MVKE_PY_F32(D), MVKE_PY_I64(I)) < 0) {
        Py_DECREF(D);
        Py_DECREF(I);
        return mvke_py_failf(MVKE_ERR_INVALID, "a result holds fewer lists than expected");
    }
    return Py_BuildValue("(NN)", D, I);
}

PyObject *mvke_py_lims(const mvke_result *res) {
    int64_t nq = 0, total = 0;
    mvke_result_nqueries(res, &nq);
    mvke_result_total(res, &total);
    npy_intp nl = (npy_intp)nq + 1, nt = (npy_intp)total;
    PyArrayObject *lims = (PyArrayObject *)PyArray_SimpleNew(1, &nl, NPY_INT64);
    PyArrayObject *D = (PyArrayObject *)PyArray_SimpleNew(1, &nt, NPY_FLOAT32);
    PyArrayObject *I = (PyArrayObject *)PyArray_SimpleNew(1, &nt, NPY_INT64);
    if (!lims || !D || !I) {
        Py_XDECREF(lims);
        Py_XDECREF(D);
        Py_XDECREF(I);
        return NULL;
    }
    int64_t *L = MVKE_PY_I64(lims);
    float *d = MVKE_PY_F32(D);
    int64_t *ix = MVKE_PY_I64(I);
    int64_t at = 0;
    L[0] = 0;
    for (int64_t q = 0; q < nq; q++) {
        const int64_t *ids;
        const float *scores;
        int64_t n = 0;
        if (mvke_result_get(res, q, &ids, &scores, &n) == MVKE_OK && n > 0 && at + n <= total) {
            memcpy(d + at, scores, (size_t)n * sizeof *d);
            memcpy(ix + at, ids, (size_t)n * sizeof *ix);
            at += n;
        }
        L[q + 1] = at;
    }
    return Py_BuildValue("(NNN)", lims, D, I);
}

/* D's scores to probabilities where I (NULL: everywhere) holds an id. */
static void to_prob(PyArrayObject *D, PyArrayObject *I) {
    float *d = MVKE_PY_F32(D);
    const int64_t *ix = I ? MVKE_PY_I64(I) : NULL;
    const npy_intp n = PyArray_SIZE(D);
    for (npy_intp i = 0; i < n; i++)
        if (!ix || ix[i] >= 0) mvke_score_to_prob(1, &d[i], &d[i]);
}

PyObject *mvke_py_as_prob(PyObject *ret) {
    if (!ret) return NULL;
    if (PyDict_Check(ret)) {
        PyObject *key, *val;
        Py_ssize_t pos = 0;
        while (PyDict_Next(ret, &pos, &key, &val)) mvke_py_as_prob(val);
        return ret;
    }
    const Py_ssize_t n = PyTuple_Size(ret);
    if (n == 2) to_prob((PyArrayObject *)PyTuple_GET_ITEM(ret, 0), (PyArrayObject *)PyTuple_GET_ITEM(ret, 1));
    else if (n == 3) to_prob((PyArrayObject *)PyTuple_GET_ITEM(ret, 1), NULL);
    return ret;
}

int mvke_py_threshold(PyObject *min_score, PyObject *min_prob, float *out) {
    if (min_score == Py_None) min_score = NULL;
    if (min_prob == Py_None) min_prob = NULL;
    if (!min_score == !min_prob) {
        mvke_py_failf(MVKE_ERR_INVALID, "give one threshold: min_score (a score) or min_prob (a probability in (0, 1))");
        return -1;
    }
    const double v = PyFloat_AsDouble(min_score ? min_score : min_prob);
    if (v == -1.0 && PyErr_Occurred()) return -1;
    if (min_score) {
        *out = (float)v;
        return 0;
    }
    mvke_status st = mvke_score_from_prob(v, out);
    if (st != MVKE_OK) {
        mvke_py_fail(st);
        return -1;
    }
    return 0;
}
