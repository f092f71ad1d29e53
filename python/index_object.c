/*
 * index_object.c - mvke.Index: a store of users (rows of K*d floats with int64 ids), in the
 * habits of FAISS's Python indexes: add / search / range_search / remove_ids-like calls on numpy
 * arrays. The GIL is released around every call that scans or changes rows, so Python threads
 * search one index concurrently (the index's own reader-writer lock orders them with changes).
 * Codec storages (sq8, pq) add train(), is_trained, and with refine the search mode and R.
 */
#include "pymvke.h"

#include <limits.h>
#include <string.h>

static int ready(const mvke_py_index *self) {
    if (self->index) return 1;
    mvke_py_failf(MVKE_ERR_INVALID, "the mvke.Index was not initialised (call mvke.Index(K, d))");
    return 0;
}

mvke_index *mvke_py_index_of(PyObject *obj, const char *what) {
    if (!PyObject_TypeCheck(obj, &mvke_py_index_type)) {
        PyErr_Format(PyExc_TypeError, "%s must be an mvke.Index, not %.100s", what, Py_TYPE(obj)->tp_name);
        return NULL;
    }
    mvke_py_index *ix = (mvke_py_index *)obj;
    return ready(ix) ? ix->index : NULL;
}

PyObject *mvke_py_index_wrap(mvke_index *index) {
    mvke_py_index *self = (mvke_py_index *)mvke_py_index_type.tp_alloc(&mvke_py_index_type, 0);
    if (!self) {
        mvke_index_free(index);
        return NULL;
    }
    self->index = index;
    self->threads = 0;
    return (PyObject *)self;
}

static void index_dealloc(mvke_py_index *self) {
    mvke_index_free(self->index);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int index_init(mvke_py_index *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"K", "d", "storage", "threads", "refine", "score", NULL};
    int K, d, threads = 0, refine = 0;
    const char *storage = "f32", *score = "cosine";
    if (!PyArg_ParseTupleAndKeywords(args, kw, "ii|sips:Index", kwlist, &K, &d, &storage, &threads, &refine, &score))
        return -1;
    if (self->index) {
        /* Replacing the handle could free it under a search running without the GIL. */
        mvke_py_failf(MVKE_ERR_INVALID, "an mvke.Index is initialised once");
        return -1;
    }
    mvke_index_options opts;
    mvke_index_options_init(&opts);
    /* The library parses the name, "pq:M" included, and its message lists the known ones. */
    mvke_status st = mvke_index_options_set_storage(&opts, storage);
    if (st == MVKE_OK) st = mvke_score_from_name(score, &opts.score);
    if (st == MVKE_OK && threads < 0) {
        mvke_py_failf(MVKE_ERR_INVALID, "threads = %d: must be >= 0 (0 = OpenMP's default)", threads);
        return -1;
    }
    opts.threads = threads;
    opts.refine = refine;
    if (st == MVKE_OK) st = mvke_index_new(&self->index, K, d, &opts);
    if (st != MVKE_OK) {
        mvke_py_fail(st);
        return -1;
    }
    self->threads = threads;
    return 0;
}

static int64_t count(const mvke_py_index *self);

static void shape(const mvke_py_index *self, int *K, int *d) {
    mvke_index_shape(self->index, K, d, NULL);
}

/* add / upsert: the same checks, one library call. */
static PyObject *add_rows(mvke_py_index *self, PyObject *xo, PyObject *ido, int upsert) {
    if (!ready(self)) return NULL;
    int K, d;
    shape(self, &K, &d);
    int64_t n;
    PyArrayObject *x = mvke_py_rows(xo, K, d, "x", &n);
    if (!x) return NULL;
    PyArrayObject *ids = NULL;
    if (ido != Py_None && !(ids = mvke_py_ids(ido, "ids", n))) {
        Py_DECREF(x);
        return NULL;
    }
    const float *xp = MVKE_PY_F32(x);
    const int64_t *ip = ids ? MVKE_PY_I64(ids) : NULL;
    mvke_status st;
    Py_BEGIN_ALLOW_THREADS
    st = upsert ? mvke_index_upsert(self->index, n, ip, xp) : mvke_index_add(self->index, n, ip, xp);
    Py_END_ALLOW_THREADS
    PyObject *ret = st == MVKE_OK ? Py_NewRef(Py_None) : mvke_py_fail(st);
    Py_DECREF(x);
    Py_XDECREF(ids);
    return ret;
}

PyDoc_STRVAR(add_doc,
    "add($self, x, ids=None)\n--\n\n"
    "Adds n users.\n"
    "\n"
    "x: the users' expert vectors, shaped (n, K, d) or (n, K*d); float32 is used in place when\n"
    "   C-contiguous, other float dtypes are converted.\n"
    "ids: n distinct int64 ids not yet present, or None for ntotal .. ntotal+n-1 (as FAISS's add).\n"
    "\n"
    "Each row's block Gram triangle is computed here. Raises mvke.Error for a wrong shape or dtype,\n"
    "NaN/Inf (ERR_NONFINITE, the row named) or a duplicate id (ERR_DUPLICATE); then nothing is added.");

static PyObject *index_add(mvke_py_index *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"x", "ids", NULL};
    PyObject *xo, *ido = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O:add", kwlist, &xo, &ido)) return NULL;
    return add_rows(self, xo, ido, 0);
}

PyDoc_STRVAR(train_doc,
    "train($self, x)\n--\n\n"
    "Trains the codec of an 'sq8' or 'pq' index on n sample rows, before any add.\n"
    "\n"
    "x: sample users shaped as for add(), (n, K, d) or (n, K*d); usually a random sample of the\n"
    "   rows to be added. sq8 takes each dimension's min and max, pq runs k-means per sub-space.\n"
    "Storages without a codec ('f32', 'f16', 'bf16') need no training: the call checks x and does\n"
    "nothing. Raises mvke.Error (ERR_INVALID when n < 1 or the index holds rows, ERR_NONFINITE);\n"
    "then the index is unchanged. The GIL is released while training.");

static PyObject *index_train(mvke_py_index *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"x", NULL};
    PyObject *xo;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O:train", kwlist, &xo)) return NULL;
    if (!ready(self)) return NULL;
    int K, d;
    shape(self, &K, &d);
    int64_t n;
    PyArrayObject *x = mvke_py_rows(xo, K, d, "x", &n);
    if (!x) return NULL;
    const float *xp = MVKE_PY_F32(x);
    mvke_status st;
    Py_BEGIN_ALLOW_THREADS
    st = mvke_index_train(self->index, n, xp);
    Py_END_ALLOW_THREADS
    PyObject *ret = st == MVKE_OK ? Py_NewRef(Py_None) : mvke_py_fail(st);
    Py_DECREF(x);
    return ret;
}

PyDoc_STRVAR(upsert_doc,
    "upsert($self, x, ids)\n--\n\n"
    "Adds n users, replacing the rows of ids already present.\n"
    "\n"
    "x: (n, K, d) or (n, K*d) floats; ids: n distinct int64 ids.\n"
    "Raises mvke.Error as add(); on error nothing changes.");

static PyObject *index_upsert(mvke_py_index *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"x", "ids", NULL};
    PyObject *xo, *ido;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO:upsert", kwlist, &xo, &ido)) return NULL;
    if (ido == Py_None) return mvke_py_failf(MVKE_ERR_INVALID, "upsert needs ids");
    return add_rows(self, xo, ido, 1);
}

PyDoc_STRVAR(remove_doc,
    "remove($self, ids)\n--\n\n"
    "Removes the users ids (an int64 array-like, or one id) and returns how many were removed.\n"
    "\n"
    "Every id must be present and appear once: otherwise mvke.Error (ERR_UNKNOWN_ID naming the id,\n"
    "ERR_DUPLICATE) and nothing is removed.");

static PyObject *index_remove(mvke_py_index *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"ids", NULL};
    PyObject *ido;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O:remove", kwlist, &ido)) return NULL;
    if (!ready(self)) return NULL;
    PyArrayObject *ids = mvke_py_ids(ido, "ids", -1);
    if (!ids) return NULL;
    const int64_t n = (int64_t)PyArray_DIM(ids, 0);
    const int64_t *ip = MVKE_PY_I64(ids);
    mvke_status st;
    Py_BEGIN_ALLOW_THREADS
    st = mvke_index_remove(self->index, n, ip);
    Py_END_ALLOW_THREADS
    PyObject *ret = st == MVKE_OK ? PyLong_FromLongLong((long long)n) : mvke_py_fail(st);
    Py_DECREF(ids);
    return ret;
}

PyDoc_STRVAR(reset_doc, "reset($self)\n--\n\nRemoves every user.");

static PyObject *index_reset(mvke_py_index *self, PyObject *Py_UNUSED(arg)) {
    if (!ready(self)) return NULL;
    mvke_status st;
    Py_BEGIN_ALLOW_THREADS
    st = mvke_index_reset(self->index);
    Py_END_ALLOW_THREADS
    return st == MVKE_OK ? Py_NewRef(Py_None) : mvke_py_fail(st);
}

PyDoc_STRVAR(contains_doc, "contains($self, id)\n--\n\nWhether user id is in the index (also: id in index).");

static PyObject *index_contains(mvke_py_index *self, PyObject *arg) {
    if (!ready(self)) return NULL;
    long long id = PyLong_AsLongLong(arg);
    if (id == -1 && PyErr_Occurred()) return NULL;
    int yes = 0;
    mvke_status st;
    /* Without the GIL: the lookup waits for a running add or remove. */
    Py_BEGIN_ALLOW_THREADS
    st = mvke_index_contains(self->index, (int64_t)id, &yes);
    Py_END_ALLOW_THREADS
    if (st != MVKE_OK) return mvke_py_fail(st);
    return PyBool_FromLong(yes);
}

static int index_sq_contains(mvke_py_index *self, PyObject *arg) {
    PyObject *r = index_contains(self, arg);
    if (!r) return -1;
    int yes = r == Py_True;
    Py_DECREF(r);
    return yes;
}

PyDoc_STRVAR(reconstruct_doc,
    "reconstruct($self, id)\n--\n\n"
    "The stored experts of user id as a (K, d) float32 array (float16 rows widened).\n"
    "Raises mvke.Error (ERR_UNKNOWN_ID) when id is not present.");

static PyObject *index_reconstruct(mvke_py_index *self, PyObject *arg) {
    if (!ready(self)) return NULL;
    long long id = PyLong_AsLongLong(arg);
    if (id == -1 && PyErr_Occurred()) return NULL;
    int K, d;
    shape(self, &K, &d);
    npy_intp dims[2] = {K, d};
    PyArrayObject *x = (PyArrayObject *)PyArray_SimpleNew(2, dims, NPY_FLOAT32);
    if (!x) return NULL;
    float *xp = MVKE_PY_F32(x);
    mvke_status st;
    Py_BEGIN_ALLOW_THREADS
    st = mvke_index_get(self->index, (int64_t)id, xp);
    Py_END_ALLOW_THREADS
    if (st != MVKE_OK) {
        mvke_py_fail(st);
        Py_DECREF(x);
        return NULL;
    }
    return (PyObject *)x;
}

PyDoc_STRVAR(ids_doc,
    "ids($self)\n--\n\n"
    "The ids of every user, in storage order, as an (ntotal,) int64 array.");

static PyObject *index_ids(mvke_py_index *self, PyObject *Py_UNUSED(arg)) {
    if (!ready(self)) return NULL;
    const int64_t n = count(self);
    npy_intp dim = (npy_intp)n;
    PyArrayObject *ids = (PyArrayObject *)PyArray_SimpleNew(1, &dim, NPY_INT64);
    if (!ids) return NULL;
    int64_t *ip = MVKE_PY_I64(ids);
    mvke_status st = MVKE_OK;
    /* By range, so that a concurrent change makes an error, never a write past the array. */
    Py_BEGIN_ALLOW_THREADS
    if (n > 0) st = mvke_index_read_rows(self->index, 0, n, ip, NULL);
    Py_END_ALLOW_THREADS
    if (st != MVKE_OK) {
        mvke_py_fail(st);
        Py_DECREF(ids);
        return NULL;
    }
    return (PyObject *)ids;
}

PyDoc_STRVAR(search_doc,
    "search($self, z, k, allow=None, prob=False)\n--\n\n"
    "Top-k users for each of nq gated tag rows, as FAISS's Index.search: returns (D, I).\n"
    "\n"
    "z: (nq, K*d) gated rows (mvke.pack_query(q, w)), or (nq, K, d); float32 used in place when\n"
    "   C-contiguous, other float dtypes converted.\n"
    "k: the number of results per query, > 0 (ERR_BAD_K otherwise).\n"
    "allow: None (every user), an int64 array of user ids (any order), or a bool mask over ids\n"
    "   (mask[i] allows user i).\n"
    "\n"
    "D: (nq, k) float32, the exact scores (the index's score: gated cosines, or dot products),\n"
    "   descending (equal scores: smaller id first); with prob=True their probabilities\n"
    "   sigmoid(score).\n"
    "I: (nq, k) int64, the user ids.\n"
    "Rows with fewer than k eligible users are padded with D = -inf and I = -1.\n"
    "NaN/Inf in z raises mvke.Error (ERR_NONFINITE, the query named). The GIL is released while\n"
    "searching: several Python threads may search one index at once.");

static PyObject *index_search(mvke_py_index *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"z", "k", "allow", "prob", NULL};
    PyObject *zo, *allow_o = Py_None;
    long long k;
    int prob = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OL|Op:search", kwlist, &zo, &k, &allow_o, &prob)) return NULL;
    if (!ready(self)) return NULL;
    int K, d;
    shape(self, &K, &d);
    int64_t nq;
    PyArrayObject *z = mvke_py_rows(zo, K, d, "z", &nq);
    if (!z) return NULL;
    if (k <= 0) {
        Py_DECREF(z);
        return mvke_py_failf(MVKE_ERR_BAD_K, "k = %lld: the number of results must be > 0", k);
    }
    mvke_allow *allow = NULL;
    PyArrayObject *D = NULL, *I = NULL;
    if (mvke_py_allow(allow_o, &allow) < 0 || mvke_py_new_pair(nq, k, &D, &I) < 0) {
        mvke_allow_free(allow);
        Py_DECREF(z);
        return NULL;
    }
    const float *zp = MVKE_PY_F32(z);
    float *Dp = MVKE_PY_F32(D);
    int64_t *Ip = MVKE_PY_I64(I);
    mvke_status st;
    Py_BEGIN_ALLOW_THREADS
    st = mvke_index_search(self->index, nq, zp, (int64_t)k, allow, Dp, Ip);
    mvke_allow_free(allow);
    Py_END_ALLOW_THREADS
    Py_DECREF(z);
    if (st != MVKE_OK) {
        mvke_py_fail(st);
        Py_DECREF(D);
        Py_DECREF(I);
        return NULL;
    }
    PyObject *ret = Py_BuildValue("(NN)", D, I);
    return prob ? mvke_py_as_prob(ret) : ret;
}

PyDoc_STRVAR(range_search_doc,
    "range_search($self, z, min_score=None, allow=None, prob=False, min_prob=None)\n--\n\n"
    "Every user with score >= min_score (or probability sigmoid(score) >= min_prob: give one),\n"
    "per gated tag row, in FAISS's range_search layout: returns (lims, D, I).\n"
    "\n"
    "z: (nq, K*d) or (nq, K, d) floats; min_score: a float (NaN raises ERR_NONFINITE);\n"
    "min_prob: in (0, 1), the same users as min_score at its exact threshold;\n"
    "allow: as in search(); prob=True: D holds probabilities.\n"
    "\n"
    "lims: (nq+1,) int64; the results of query i are D[lims[i]:lims[i+1]] (float32 scores,\n"
    "descending, equal scores by smaller id) and I[lims[i]:lims[i+1]] (int64 user ids).\n"
    "The GIL is released while searching.");

static PyObject *index_range_search(mvke_py_index *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"z", "min_score", "allow", "prob", "min_prob", NULL};
    PyObject *zo, *allow_o = Py_None, *min_o = Py_None, *minp_o = Py_None;
    int prob = 0;
    float min_score;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|OOpO:range_search", kwlist, &zo, &min_o, &allow_o, &prob, &minp_o))
        return NULL;
    if (!ready(self) || mvke_py_threshold(min_o, minp_o, &min_score) < 0) return NULL;
    int K, d;
    shape(self, &K, &d);
    int64_t nq;
    PyArrayObject *z = mvke_py_rows(zo, K, d, "z", &nq);
    if (!z) return NULL;
    mvke_allow *allow = NULL;
    if (mvke_py_allow(allow_o, &allow) < 0) {
        Py_DECREF(z);
        return NULL;
    }
    const float *zp = MVKE_PY_F32(z);
    mvke_result *res = NULL;
    mvke_status st;
    Py_BEGIN_ALLOW_THREADS
    st = mvke_index_range_search(self->index, nq, zp, min_score, allow, &res);
    mvke_allow_free(allow);
    Py_END_ALLOW_THREADS
    Py_DECREF(z);
    if (st != MVKE_OK) return mvke_py_fail(st);
    PyObject *ret = mvke_py_lims(res);
    mvke_result_free(res);
    return prob ? mvke_py_as_prob(ret) : ret;
}

PyDoc_STRVAR(use_gpu_doc,
    "use_gpu($self, device=0)\n--\n\n"
    "Moves this index's searches to CUDA device `device` (-1: every visible device, one shard\n"
    "each). Raises mvke.Error (ERR_UNSUPPORTED) when the library has no CUDA backend or there is\n"
    "no usable device; the index then keeps searching on the CPU.");

static PyObject *index_use_gpu(mvke_py_index *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"device", NULL};
    int device = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|i:use_gpu", kwlist, &device)) return NULL;
    if (!ready(self)) return NULL;
    mvke_status st;
    Py_BEGIN_ALLOW_THREADS
    st = mvke_index_use_gpu(self->index, device);
    Py_END_ALLOW_THREADS
    return st == MVKE_OK ? Py_NewRef(Py_None) : mvke_py_fail(st);
}

PyDoc_STRVAR(use_cpu_doc, "use_cpu($self)\n--\n\nMoves this index's searches back to the CPU.");

static PyObject *index_use_cpu(mvke_py_index *self, PyObject *Py_UNUSED(arg)) {
    if (!ready(self)) return NULL;
    mvke_status st;
    Py_BEGIN_ALLOW_THREADS
    st = mvke_index_use_cpu(self->index);
    Py_END_ALLOW_THREADS
    return st == MVKE_OK ? Py_NewRef(Py_None) : mvke_py_fail(st);
}

PyDoc_STRVAR(build_lists_doc,
    "build_lists($self, nlists=0)\n--\n\n"
    "Groups the users present into nlists k-means lists (0: about 4 sqrt(ntotal); docs/lists.md).\n"
    "Searches stay exact and skip the lists whose bounds rule them out; set nprobe to read only the\n"
    "nprobe lists whose centroids score best with each tag (FAISS's nprobe). Users added later go to\n"
    "a tail every search reads. The lists are saved with the index.\n"
    "\n"
    "Raises mvke.Error (ERR_INVALID for an empty index or nlists above ntotal; the index is unchanged).");

static PyObject *index_build_lists(mvke_py_index *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"nlists", NULL};
    int nlists = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|i:build_lists", kwlist, &nlists)) return NULL;
    if (!ready(self)) return NULL;
    mvke_status st;
    Py_BEGIN_ALLOW_THREADS
    st = mvke_index_build_lists(self->index, nlists);
    Py_END_ALLOW_THREADS
    if (st != MVKE_OK) return mvke_py_fail(st);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(lists_doc,
    "lists($self)\n--\n\n"
    "The index's lists: {'nlists', 'listed', 'tail', 'min_size', 'median_size', 'max_size'}\n"
    "(nlists 0: none; tail: users added since the lists were made).");

static PyObject *index_lists(mvke_py_index *self, PyObject *Py_UNUSED(arg)) {
    if (!ready(self)) return NULL;
    mvke_lists_info li;
    mvke_index_lists(self->index, &li);
    return Py_BuildValue("{s:i,s:L,s:L,s:L,s:L,s:L}", "nlists", li.nlists, "listed", (long long)li.listed, "tail",
                         (long long)li.tail, "min_size", (long long)li.min_size, "median_size",
                         (long long)li.median_size, "max_size", (long long)li.max_size);
}

static PyMethodDef index_methods[] = {
    {"build_lists", (PyCFunction)(void (*)(void))index_build_lists, METH_VARARGS | METH_KEYWORDS, build_lists_doc},
    {"lists", (PyCFunction)index_lists, METH_NOARGS, lists_doc},
    {"add", (PyCFunction)(void (*)(void))index_add, METH_VARARGS | METH_KEYWORDS, add_doc},
    {"train", (PyCFunction)(void (*)(void))index_train, METH_VARARGS | METH_KEYWORDS, train_doc},
    {"upsert", (PyCFunction)(void (*)(void))index_upsert, METH_VARARGS | METH_KEYWORDS, upsert_doc},
    {"remove", (PyCFunction)(void (*)(void))index_remove, METH_VARARGS | METH_KEYWORDS, remove_doc},
    {"reset", (PyCFunction)index_reset, METH_NOARGS, reset_doc},
    {"contains", (PyCFunction)index_contains, METH_O, contains_doc},
    {"reconstruct", (PyCFunction)index_reconstruct, METH_O, reconstruct_doc},
    {"ids", (PyCFunction)index_ids, METH_NOARGS, ids_doc},
    {"search", (PyCFunction)(void (*)(void))index_search, METH_VARARGS | METH_KEYWORDS, search_doc},
    {"range_search", (PyCFunction)(void (*)(void))index_range_search, METH_VARARGS | METH_KEYWORDS,
     range_search_doc},
    {"use_gpu", (PyCFunction)(void (*)(void))index_use_gpu, METH_VARARGS | METH_KEYWORDS, use_gpu_doc},
    {"use_cpu", (PyCFunction)index_use_cpu, METH_NOARGS, use_cpu_doc},
    {NULL, NULL, 0, NULL},
};

/* The number of users. Like every call that takes the index's lock, without the GIL: the lock
 * may be waiting for a long add in another thread, which must not stop the interpreter. */
static int64_t count(const mvke_py_index *self) {
    int64_t n = 0;
    Py_BEGIN_ALLOW_THREADS
    mvke_index_count(self->index, &n);
    Py_END_ALLOW_THREADS
    return n;
}

static PyObject *get_ntotal(mvke_py_index *self, void *Py_UNUSED(c)) {
    return ready(self) ? PyLong_FromLongLong((long long)count(self)) : NULL;
}

static PyObject *get_K(mvke_py_index *self, void *Py_UNUSED(c)) {
    if (!ready(self)) return NULL;
    int K, d;
    shape(self, &K, &d);
    return PyLong_FromLong(K);
}

static PyObject *get_d(mvke_py_index *self, void *Py_UNUSED(c)) {
    if (!ready(self)) return NULL;
    int K, d;
    shape(self, &K, &d);
    return PyLong_FromLong(d);
}

/* The storage as Index() takes it: "pq:M" for pq (its M is part of the encoding). */
static PyObject *storage_name(const mvke_py_index *self) {
    mvke_storage s;
    mvke_index_shape(self->index, NULL, NULL, &s);
    if (s != MVKE_STORAGE_PQ) return PyUnicode_FromString(mvke_storage_name(s));
    mvke_index_footprint fp = {0};
    Py_BEGIN_ALLOW_THREADS
    mvke_index_describe(self->index, &fp); /* takes the index's lock */
    Py_END_ALLOW_THREADS
    return PyUnicode_FromFormat("%s:%d", mvke_storage_name(s), fp.pq_m);
}

static PyObject *get_storage(mvke_py_index *self, void *Py_UNUSED(c)) {
    return ready(self) ? storage_name(self) : NULL;
}

static int trained(const mvke_py_index *self) {
    int yes = 0;
    Py_BEGIN_ALLOW_THREADS
    mvke_index_is_trained(self->index, &yes);
    Py_END_ALLOW_THREADS
    return yes;
}

static PyObject *get_is_trained(mvke_py_index *self, void *Py_UNUSED(c)) {
    return ready(self) ? PyBool_FromLong(trained(self)) : NULL;
}

/* Whether the index keeps float32 rows (refine) and its refine factor R. */
static void refine_of(const mvke_py_index *self, int *refine, int *R) {
    Py_BEGIN_ALLOW_THREADS
    mvke_index_refine(self->index, refine, R);
    Py_END_ALLOW_THREADS
}

static PyObject *get_refine(mvke_py_index *self, void *Py_UNUSED(c)) {
    if (!ready(self)) return NULL;
    int refine = 0;
    refine_of(self, &refine, NULL);
    return PyBool_FromLong(refine);
}

static PyObject *get_refine_factor(mvke_py_index *self, void *Py_UNUSED(c)) {
    if (!ready(self)) return NULL;
    int R = 0;
    refine_of(self, NULL, &R);
    return PyLong_FromLong(R);
}

static int set_refine_factor(mvke_py_index *self, PyObject *value, void *Py_UNUSED(c)) {
    if (!ready(self)) return -1;
    if (!value) {
        PyErr_SetString(PyExc_AttributeError, "refine_factor cannot be deleted");
        return -1;
    }
    long R = PyLong_AsLong(value);
    if (R == -1 && PyErr_Occurred()) return -1;
    if (R < INT_MIN || R > INT_MAX) {
        mvke_py_failf(MVKE_ERR_INVALID, "refine factor R = %ld is out of range", R);
        return -1;
    }
    mvke_status st;
    Py_BEGIN_ALLOW_THREADS
    st = mvke_index_set_refine(self->index, (int)R); /* waits for running searches */
    Py_END_ALLOW_THREADS
    if (st != MVKE_OK) {
        mvke_py_fail(st);
        return -1;
    }
    return 0;
}

static PyObject *get_mode(mvke_py_index *self, void *Py_UNUSED(c)) {
    if (!ready(self)) return NULL;
    mvke_search_mode mode = MVKE_SEARCH_EXACT;
    Py_BEGIN_ALLOW_THREADS
    mvke_index_search_mode(self->index, &mode);
    Py_END_ALLOW_THREADS
    return PyUnicode_FromString(mode == MVKE_SEARCH_APPROX ? "approx" : "exact");
}

static int set_mode(mvke_py_index *self, PyObject *value, void *Py_UNUSED(c)) {
    if (!ready(self)) return -1;
    if (!value) {
        PyErr_SetString(PyExc_AttributeError, "mode cannot be deleted");
        return -1;
    }
    if (!PyUnicode_Check(value)) {
        PyErr_Format(PyExc_TypeError, "mode must be 'exact' or 'approx', not %.100s", Py_TYPE(value)->tp_name);
        return -1;
    }
    const char *name = PyUnicode_AsUTF8(value);
    if (!name) return -1;
    mvke_search_mode mode;
    if (!strcmp(name, "exact")) mode = MVKE_SEARCH_EXACT;
    else if (!strcmp(name, "approx")) mode = MVKE_SEARCH_APPROX;
    else {
        mvke_py_failf(MVKE_ERR_INVALID, "unknown search mode \"%.100s\" (known: exact, approx)", name);
        return -1;
    }
    mvke_status st;
    Py_BEGIN_ALLOW_THREADS
    st = mvke_index_set_search_mode(self->index, mode); /* waits for running searches */
    Py_END_ALLOW_THREADS
    if (st != MVKE_OK) {
        mvke_py_fail(st);
        return -1;
    }
    return 0;
}

static PyObject *get_backend(mvke_py_index *self, void *Py_UNUSED(c)) {
    if (!ready(self)) return NULL;
    const char *name = "cpu";
    mvke_index_backend(self->index, &name);
    return PyUnicode_FromString(name);
}

static PyObject *get_threads(mvke_py_index *self, void *Py_UNUSED(c)) {
    return ready(self) ? PyLong_FromLong(self->threads) : NULL;
}

static int set_threads(mvke_py_index *self, PyObject *value, void *Py_UNUSED(c)) {
    if (!ready(self)) return -1;
    if (!value) {
        PyErr_SetString(PyExc_AttributeError, "threads cannot be deleted");
        return -1;
    }
    long t = PyLong_AsLong(value);
    if (t == -1 && PyErr_Occurred()) return -1;
    if (t < 0 || t > 1 << 16) {
        mvke_py_failf(MVKE_ERR_INVALID, "threads = %ld: must be in 0-65536 (0 = OpenMP's default)", t);
        return -1;
    }
    mvke_status st;
    Py_BEGIN_ALLOW_THREADS
    st = mvke_index_set_threads(self->index, (int)t); /* waits for running searches */
    Py_END_ALLOW_THREADS
    if (st != MVKE_OK) {
        mvke_py_fail(st);
        return -1;
    }
    self->threads = (int)t;
    return 0;
}

static PyObject *get_nprobe(mvke_py_index *self, void *Py_UNUSED(c)) {
    if (!ready(self)) return NULL;
    int p = 0;
    mvke_index_probe(self->index, &p);
    return PyLong_FromLong(p);
}

static int set_nprobe(mvke_py_index *self, PyObject *value, void *Py_UNUSED(c)) {
    if (!ready(self)) return -1;
    if (!value) {
        PyErr_SetString(PyExc_AttributeError, "nprobe cannot be deleted");
        return -1;
    }
    long p = PyLong_AsLong(value);
    if (p == -1 && PyErr_Occurred()) return -1;
    if (p < 0 || p > INT_MAX) {
        mvke_py_failf(MVKE_ERR_INVALID, "nprobe = %ld: must be >= 0 (0 = the exact answer)", p);
        return -1;
    }
    mvke_status st;
    Py_BEGIN_ALLOW_THREADS
    st = mvke_index_set_probe(self->index, (int)p); /* waits for running searches */
    Py_END_ALLOW_THREADS
    if (st != MVKE_OK) {
        mvke_py_fail(st);
        return -1;
    }
    return 0;
}

static PyObject *get_score(mvke_py_index *self, void *Py_UNUSED(c)) {
    if (!ready(self)) return NULL;
    mvke_score s;
    mvke_index_score(self->index, &s);
    return PyUnicode_FromString(mvke_score_name(s));
}

static PyGetSetDef index_getset[] = {
    {"nprobe", (getter)get_nprobe, (setter)set_nprobe,
     "A listed index (build_lists): the lists a search reads, those whose centroids score best\n"
     "with the tag; 0 (the default) gives the exact answer.", NULL},
    {"score", (getter)get_score, NULL,
     "What searches compute, as Index() takes it: 'cosine' (the paper's cos(E, q), in [-1, 1]) or\n"
     "'dot' (<E, q>, the score the released training code ranks by; docs/scores.md).", NULL},
    {"ntotal", (getter)get_ntotal, NULL, "The number of users (as FAISS's ntotal; also len(index)).", NULL},
    {"K", (getter)get_K, NULL, "Experts per user.", NULL},
    {"d", (getter)get_d, NULL, "Dimension of an expert vector (rows have K*d floats).", NULL},
    {"storage", (getter)get_storage, NULL,
     "The row storage's name as Index() takes it ('f32', 'f16', 'sq8', 'pq:M' with its M; see mvke.storages).", NULL},
    {"is_trained", (getter)get_is_trained, NULL,
     "Whether the index takes rows and searches: always for f32/f16/bf16, after train() for sq8/pq.", NULL},
    {"refine", (getter)get_refine, NULL,
     "Whether a codec index keeps its float32 rows (Index(..., refine=True)) to answer exactly.", NULL},
    {"mode", (getter)get_mode, (setter)set_mode,
     "How a codec index searches, settable: 'exact' (the default with refine: certified, the answer of\n"
     "the float32 rows) or 'approx' (the refine_factor * k best by the codes re-scored, or the codes'\n"
     "scores without refine). Other storages answer exactly in either mode.", NULL},
    {"refine_factor", (getter)get_refine_factor, (setter)set_refine_factor,
     "R of the 'approx' mode of an index with refine: a top-k search re-scores the R*k best by the\n"
     "codes (default 4); settable, >= 1, only with refine.", NULL},
    {"backend", (getter)get_backend, NULL, "The backend searches run on: 'cpu' or 'cuda'.", NULL},
    {"threads", (getter)get_threads, (setter)set_threads,
     "Threads one search uses (0 = OpenMP's default); settable.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static Py_ssize_t index_len(mvke_py_index *self) {
    return ready(self) ? (Py_ssize_t)count(self) : -1;
}

static PyObject *index_repr(mvke_py_index *self) {
    if (!self->index) return PyUnicode_FromString("mvke.Index(<not initialised>)");
    int K, d, refine = 0;
    mvke_index_shape(self->index, &K, &d, NULL);
    refine_of(self, &refine, NULL);
    PyObject *storage = storage_name(self);
    if (!storage) return NULL;
    PyObject *r = PyUnicode_FromFormat("mvke.Index(K=%d, d=%d, storage='%U'%s, trained=%s, ntotal=%lld)", K, d, storage,
                                       refine ? ", refine=True" : "", trained(self) ? "True" : "False",
                                       (long long)count(self));
    Py_DECREF(storage);
    return r;
}

static PySequenceMethods index_as_sequence = {
    .sq_length = (lenfunc)index_len,
    .sq_contains = (objobjproc)index_sq_contains,
};

PyDoc_STRVAR(index_doc,
    "Index(K, d, storage='f32', threads=0, refine=False, score='cosine')\n--\n\n"
    "An index of users, each K expert vectors of dimension d (a row of K*d floats) with an int64\n"
    "id, searched with gated tag rows z = w (x) q (mvke.pack_query). The score of a user for a tag\n"
    "is the exact cosine of sum_k w[k] e[k] and q (score='cosine', the paper's), or their inner\n"
    "product (score='dot', what the released training code ranks by), computed without\n"
    "materialising that sum. Searches take prob=True for probabilities sigmoid(score).\n"
    "\n"
    "storage: one of mvke.storages ('f32'; 'f16', 'bf16' = half the memory, scores exact for the\n"
    "   rounded rows; the codecs 'sq8' = one byte per value, 'pq' or 'pq:M' = M bytes per expert),\n"
    "   parsed by the library; threads: threads one search uses (0 = OpenMP's default).\n"
    "refine: with a codec, also keep the float32 rows: searches are then exact and certified (mode\n"
    "   'exact', the answer of an 'f32' index of the same rows) while scanning the codes.\n"
    "A codec index is untrained (is_trained False) until train(sample); add and search raise\n"
    "mvke.Error (ERR_UNTRAINED) before. mvke.last_search_stats() tells what the last search did.\n"
    "\n"
    "Methods follow FAISS: train, add, search -> (D, I), range_search -> (lims, D, I), plus upsert,\n"
    "remove, reset, contains, reconstruct, ids. Errors raise mvke.Error and change nothing.\n"
    "Any number of threads may search at once; add/upsert/remove/reset wait for running searches.");

PyTypeObject mvke_py_index_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "mvke.Index",
    .tp_basicsize = sizeof(mvke_py_index),
    .tp_dealloc = (destructor)index_dealloc,
    .tp_repr = (reprfunc)index_repr,
    .tp_as_sequence = &index_as_sequence,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = index_doc,
    .tp_methods = index_methods,
    .tp_getset = index_getset,
    .tp_init = (initproc)index_init,
    .tp_new = PyType_GenericNew,
};
