/*
 * pymvke.h - private header of the `mvke` Python extension: the object layouts and the helpers
 * that the module's files share. The extension uses only the public C API (mvke/mvke.h); numpy's
 * C API is imported once, in module.c (MVKE_PY_MODULE_MAIN), and shared through one symbol.
 */
#ifndef MVKE_PYMVKE_H
#define MVKE_PYMVKE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#define PY_ARRAY_UNIQUE_SYMBOL mvke_py_numpy_api
#ifndef MVKE_PY_MODULE_MAIN
#define NO_IMPORT_ARRAY
#endif
#include <numpy/arrayobject.h>

#include <mvke/mvke.h>

/* ---- objects ------------------------------------------------------------------------------- */

/* mvke.Index: owns one mvke_index. */
typedef struct mvke_py_index {
    PyObject_HEAD
    mvke_index *index; /* NULL until __init__ succeeded */
    int threads;       /* as last set; the C API has no getter */
} mvke_py_index;

/* mvke.Tags: owns one mvke_tags. */
typedef struct mvke_py_tags {
    PyObject_HEAD
    mvke_tags *tags; /* NULL until __init__ succeeded */
    int K, d;        /* the table's shape (the C API hands it out only through the index) */
} mvke_py_tags;

extern PyTypeObject mvke_py_index_type;
extern PyTypeObject mvke_py_tags_type;
extern PyTypeObject mvke_py_tag_all_type;

/* A new mvke.Index / mvke.Tags object taking ownership of a handle (freed on failure). */
PyObject *mvke_py_index_wrap(mvke_index *index);
PyObject *mvke_py_tags_wrap(mvke_tags *tags, int K, int d);

/* The handle inside an argument, or NULL with mvke.Error / TypeError set. */
mvke_index *mvke_py_index_of(PyObject *obj, const char *what);
mvke_tags *mvke_py_tags_of(PyObject *obj, const char *what, int *K, int *d);

/* ---- errors (errors.c) ----------------------------------------------------------------------- */

/* mvke.Error, a RuntimeError subclass carrying .status, .status_name and .message. */
extern PyObject *mvke_py_error;

int mvke_py_errors_init(PyObject *module);

/* Raises mvke.Error for a failed library call with the library's message; returns NULL. Call it
 * right after the failing call, on the same thread (the message is thread-local). */
PyObject *mvke_py_fail(mvke_status status);

/* Raises mvke.Error with a message of the module's own (bad shapes, dtypes). Returns NULL. */
PyObject *mvke_py_failf(mvke_status status, const char *fmt, ...);

/* ---- numpy conversions (convert.c) ------------------------------------------------------------ */

/* A float32, C-contiguous, aligned view of obj: obj itself (a new reference) when it already is
 * one, else a converted copy. Any floating dtype is accepted; other dtypes raise mvke.Error
 * (MVKE_ERR_INVALID) naming `what`. */
PyArrayObject *mvke_py_floats(PyObject *obj, const char *what);

/* Rows of K*d floats: an array shaped (n, K, d) or (n, K*d). Sets *n. mvke.Error MVKE_ERR_DIM
 * names the shape otherwise. */
PyArrayObject *mvke_py_rows(PyObject *obj, int K, int d, const char *what, int64_t *n);

/* Floats of an exact shape: `ndim` dims given in `shape` (-1: any size), `what` in messages. */
PyArrayObject *mvke_py_floats_shaped(PyObject *obj, int ndim, const npy_intp *shape, const char *what);

/* A 1-d int64, C-contiguous array of ids (a scalar is one id). Integer dtypes are converted;
 * others raise mvke.Error. When want_n >= 0 the length must be want_n. */
PyArrayObject *mvke_py_ids(PyObject *obj, const char *what, int64_t want_n);

/* An allow-list from None (*out = NULL), an integer array of ids (any order, duplicates
 * allowed) or a bool mask over ids. Returns 0, or -1 with mvke.Error set. */
int mvke_py_allow(PyObject *obj, mvke_allow **out);

/* ---- results (results.c) ------------------------------------------------------------------------ */

/* Copies lists first, first+stride, ... (nlists of them) of a result into D/I of nlists x k,
 * padding with -inf / -1. Needs no GIL. Returns 0, or -1 when a list is out of range. */
int mvke_py_fill_padded(const mvke_result *res, int64_t first, int64_t stride, int64_t nlists, int64_t k,
                        float *D, int64_t *I);

/* (D, I) arrays of nlists x k from a result's lists as mvke_py_fill_padded. */
PyObject *mvke_py_padded(const mvke_result *res, int64_t first, int64_t stride, int64_t nlists, int64_t k);

/* (lims, D, I) in FAISS's range_search layout from every list of a result. */
PyObject *mvke_py_lims(const mvke_result *res);

/* prob=True: a search's output, (D, I), (lims, D, I) or {task: (D, I)}, with every score of D
 * replaced by its probability sigmoid(score) (mvke_score_to_prob), in place; padding (I = -1)
 * stays -inf. Returns ret (or NULL when ret is NULL). */
PyObject *mvke_py_as_prob(PyObject *ret);

/* The score threshold of a range search from min_score or min_prob (each a Python float or NULL /
 * None; exactly one given; min_prob as mvke_score_from_prob). Returns 0, or -1 with an error
 * set. */
int mvke_py_threshold(PyObject *min_score, PyObject *min_prob, float *out);

/* New (rows, cols) arrays of float32 and int64; NULL on failure (with *D, *I unset). */
int mvke_py_new_pair(int64_t rows, int64_t cols, PyArrayObject **D, PyArrayObject **I);

#define MVKE_PY_F32(a) ((float *)PyArray_DATA(a))
#define MVKE_PY_I64(a) ((int64_t *)PyArray_DATA(a))

/* ---- module functions (searches.c, tag_all.c) -------------------------------------------------- */

PyObject *mvke_py_pack_query(PyObject *self, PyObject *args, PyObject *kw);
PyObject *mvke_py_audience(PyObject *self, PyObject *args, PyObject *kw);
PyObject *mvke_py_audience_range(PyObject *self, PyObject *args, PyObject *kw);
PyObject *mvke_py_user_tags(PyObject *self, PyObject *args, PyObject *kw);
PyObject *mvke_py_open(PyObject *self, PyObject *args, PyObject *kw);
PyObject *mvke_py_save(PyObject *self, PyObject *args, PyObject *kw);
PyObject *mvke_py_tag_all(PyObject *self, PyObject *args, PyObject *kw);
PyObject *mvke_py_last_search_stats(PyObject *self, PyObject *arg);

extern const char mvke_py_pack_query_doc[], mvke_py_audience_doc[], mvke_py_audience_range_doc[],
    mvke_py_user_tags_doc[], mvke_py_open_doc[], mvke_py_save_doc[], mvke_py_tag_all_doc[],
    mvke_py_last_search_stats_doc[];

/* user_tags' output from a result of nu users: (D, I) of nu x m, or with by_task a dict
 * {name: (D, I)} over the tasks in `names` (the result's lists are user-major). */
PyObject *mvke_py_per_task(const mvke_result *res, PyObject *names, int64_t nu, int64_t m, int by_task);

/* The names of a table's tasks as a list of str, or NULL. */
PyObject *mvke_py_task_names(const mvke_tags *tags);

#endif /* MVKE_PYMVKE_H */
