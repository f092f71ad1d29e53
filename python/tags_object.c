/*
 * tags_object.c - mvke.Tags: the tag table (tasks with their expert subsets, tags with their
 * embeddings q and gates w, and the virtual kernels that gates can be computed from).
 */
#include <stdlib.h>
#include <string.h>

#include "pymvke.h"

static int ready(const mvke_py_tags *self) {
    if (self->tags) return 1;
    mvke_py_failf(MVKE_ERR_INVALID, "the mvke.Tags was not initialised (call mvke.Tags(K, d))");
    return 0;
}

mvke_tags *mvke_py_tags_of(PyObject *obj, const char *what, int *K, int *d) {
    if (!PyObject_TypeCheck(obj, &mvke_py_tags_type)) {
        PyErr_Format(PyExc_TypeError, "%s must be an mvke.Tags, not %.100s", what, Py_TYPE(obj)->tp_name);
        return NULL;
    }
    mvke_py_tags *t = (mvke_py_tags *)obj;
    if (!ready(t)) return NULL;
    if (K) *K = t->K;
    if (d) *d = t->d;
    return t->tags;
}

PyObject *mvke_py_tags_wrap(mvke_tags *tags, int K, int d) {
    mvke_py_tags *self = (mvke_py_tags *)mvke_py_tags_type.tp_alloc(&mvke_py_tags_type, 0);
    if (!self) {
        mvke_tags_free(tags);
        return NULL;
    }
    self->tags = tags;
    self->K = K;
    self->d = d;
    return (PyObject *)self;
}

PyObject *mvke_py_task_names(const mvke_tags *tags) {
    int n = 0;
    mvke_tags_ntasks(tags, &n);
    PyObject *list = PyList_New(n);
    for (int i = 0; list && i < n; i++) {
        const char *name = "";
        mvke_tags_task(tags, i, &name, NULL, NULL);
        PyObject *s = PyUnicode_FromString(name);
        if (!s) Py_CLEAR(list);
        else PyList_SET_ITEM(list, i, s);
    }
    return list;
}

static void tags_dealloc(mvke_py_tags *self) {
    mvke_tags_free(self->tags);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int tags_init(mvke_py_tags *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"K", "d", "storage", "threads", "score", NULL};
    int K, d, threads = 0;
    const char *storage = "f32", *score = "cosine";
    if (!PyArg_ParseTupleAndKeywords(args, kw, "ii|sis:Tags", kwlist, &K, &d, &storage, &threads, &score)) return -1;
    if (self->tags) {
        mvke_py_failf(MVKE_ERR_INVALID, "an mvke.Tags is initialised once");
        return -1;
    }
    if (threads < 0) {
        mvke_py_failf(MVKE_ERR_INVALID, "threads = %d: must be >= 0 (0 = OpenMP's default)", threads);
        return -1;
    }
    mvke_index_options opts;
    mvke_index_options_init(&opts);
    opts.threads = threads;
    mvke_status st = mvke_storage_from_name(storage, &opts.storage);
    if (st == MVKE_OK) st = mvke_score_from_name(score, &opts.score);
    if (st == MVKE_OK) st = mvke_tags_new(&self->tags, K, d, &opts);
    if (st != MVKE_OK) {
        mvke_py_fail(st);
        return -1;
    }
    self->K = K;
    self->d = d;
    return 0;
}

PyDoc_STRVAR(add_task_doc,
    "add_task($self, name, experts)\n--\n\n"
    "Declares a task and the experts its gates may use.\n"
    "\n"
    "name: non-empty, at most 255 bytes of UTF-8, no tab or newline.\n"
    "experts: a list of distinct expert indices in [0, K) (paper: interest [0, 1, 2]).\n"
    "Raises mvke.Error (ERR_INVALID for a bad name or subset, ERR_DUPLICATE for a task declared).");

static PyObject *tags_add_task(mvke_py_tags *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"name", "experts", NULL};
    const char *name;
    PyObject *eo;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "sO:add_task", kwlist, &name, &eo)) return NULL;
    if (!ready(self)) return NULL;
    PyObject *seq = PySequence_Fast(eo, "experts must be a sequence of expert indices");
    if (!seq) return NULL;
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    int *experts = malloc((size_t)(n ? n : 1) * sizeof *experts);
    if (!experts) {
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        long v = PyLong_AsLong(PySequence_Fast_GET_ITEM(seq, i));
        if (v == -1 && PyErr_Occurred()) {
            free(experts);
            Py_DECREF(seq);
            return NULL;
        }
        /* Out-of-range values reach the library as -1, which it rejects with its message. */
        experts[i] = v < -1 || v > 1 << 20 ? -1 : (int)v;
    }
    Py_DECREF(seq);
    if (n > 1 << 20) {
        free(experts);
        return mvke_py_failf(MVKE_ERR_INVALID, "a task of %lld experts", (long long)n);
    }
    /* With the GIL held: mvke_tags_ntasks and mvke_tags_task read the task list without the
     * table's lock, and this module calls them only with the GIL, which orders them with this. */
    mvke_status st = mvke_tags_add_task(self->tags, name, experts, (int)n);
    free(experts);
    return st == MVKE_OK ? Py_NewRef(Py_None) : mvke_py_fail(st);
}

PyDoc_STRVAR(set_vk_doc,
    "set_vk($self, vk, temperature=1.0)\n--\n\n"
    "Sets the virtual kernels, used to compute the gates of tags added with w=None:\n"
    "w[k] = softmax over the task's experts of (q . vk[k]) / temperature, 0 elsewhere.\n"
    "\n"
    "vk: (K, d) or (K*d,) floats; temperature > 0. Raises mvke.Error (ERR_NONFINITE, ERR_INVALID).");

static PyObject *tags_set_vk(mvke_py_tags *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"vk", "temperature", NULL};
    PyObject *vo;
    float temperature = 1.0f;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|f:set_vk", kwlist, &vo, &temperature)) return NULL;
    if (!ready(self)) return NULL;
    PyArrayObject *vk = mvke_py_floats(vo, "vk");
    if (!vk) return NULL;
    const int nd = PyArray_NDIM(vk);
    if (!((nd == 2 && PyArray_DIM(vk, 0) == self->K && PyArray_DIM(vk, 1) == self->d) ||
          (nd == 1 && PyArray_DIM(vk, 0) == (npy_intp)self->K * self->d))) {
        Py_DECREF(vk);
        return mvke_py_failf(MVKE_ERR_DIM, "vk must be shaped (%d, %d) or (%d,)", self->K, self->d, self->K * self->d);
    }
    mvke_status st = mvke_tags_set_vk(self->tags, MVKE_PY_F32(vk), temperature);
    Py_DECREF(vk);
    return st == MVKE_OK ? Py_NewRef(Py_None) : mvke_py_fail(st);
}

/* n UTF-8 names from a sequence of str, or NULL (names None). *hold keeps them alive. */
static int names_of(PyObject *no, int64_t n, const char ***names, PyObject **hold) {
    *names = NULL;
    *hold = NULL;
    if (no == Py_None) return 0;
    if (PyUnicode_Check(no)) {
        PyErr_SetString(PyExc_TypeError, "names must be a sequence of str, one per tag, not a str");
        return -1;
    }
    PyObject *t = PySequence_Tuple(no);
    if (!t) return -1;
    if ((int64_t)PyTuple_GET_SIZE(t) != n) {
        mvke_py_failf(MVKE_ERR_DIM, "names has %lld entries; expected %lld", (long long)PyTuple_GET_SIZE(t),
                      (long long)n);
        Py_DECREF(t);
        return -1;
    }
    const char **v = malloc((size_t)(n ? n : 1) * sizeof *v);
    if (!v) {
        Py_DECREF(t);
        PyErr_NoMemory();
        return -1;
    }
    for (int64_t i = 0; i < n; i++) {
        PyObject *s = PyTuple_GET_ITEM(t, i);
        Py_ssize_t len;
        if (!PyUnicode_Check(s)) {
            PyErr_Format(PyExc_TypeError, "names[%lld] must be a str, not %.100s", (long long)i, Py_TYPE(s)->tp_name);
            break;
        }
        v[i] = PyUnicode_AsUTF8AndSize(s, &len);
        if (!v[i]) break;
        if ((size_t)len != strlen(v[i])) {
            mvke_py_failf(MVKE_ERR_INVALID, "names[%lld] holds a NUL character", (long long)i);
            break;
        }
    }
    if (PyErr_Occurred()) {
        free(v);
        Py_DECREF(t);
        return -1;
    }
    *names = v;
    *hold = t;
    return 0;
}

PyDoc_STRVAR(add_doc,
    "add($self, task, ids, q, w=None, names=None, parents=None)\n--\n\n"
    "Adds n tags to a task.\n"
    "\n"
    "ids: n int64 tag ids, new within the task (an id may recur in other tasks).\n"
    "q: (n, d) float tag embeddings.\n"
    "w: (n, K) gates, zero outside the task's experts (ERR_GATE otherwise), or None to compute\n"
    "   them from the virtual kernels (set_vk; ERR_INVALID without them).\n"
    "names: n display names (str) or None; parents: n int64 parent ids (0 = a root) or None.\n"
    "Raises mvke.Error (ERR_UNKNOWN_TASK, ERR_NONFINITE, ERR_GATE, ERR_DUPLICATE, ERR_DIM ...);\n"
    "then nothing is added.");

static PyObject *tags_add(mvke_py_tags *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"task", "ids", "q", "w", "names", "parents", NULL};
    const char *task;
    PyObject *ido, *qo, *wo = Py_None, *no = Py_None, *po = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "sOO|OOO:add", kwlist, &task, &ido, &qo, &wo, &no, &po)) return NULL;
    if (!ready(self)) return NULL;
    PyArrayObject *ids = NULL, *q = NULL, *w = NULL, *parents = NULL;
    PyObject *hold = NULL, *ret = NULL;
    const char **names = NULL;
    if (!(ids = mvke_py_ids(ido, "ids", -1))) goto out;
    const int64_t n = (int64_t)PyArray_DIM(ids, 0);
    npy_intp qshape[2] = {(npy_intp)n, self->d}, wshape[2] = {(npy_intp)n, self->K};
    if (!(q = mvke_py_floats_shaped(qo, 2, qshape, "q"))) goto out;
    if (wo != Py_None && !(w = mvke_py_floats_shaped(wo, 2, wshape, "w"))) goto out;
    if (po != Py_None && !(parents = mvke_py_ids(po, "parents", n))) goto out;
    if (names_of(no, n, &names, &hold) < 0) goto out;
    const int64_t *ip = MVKE_PY_I64(ids), *pp = parents ? MVKE_PY_I64(parents) : NULL;
    const float *qp = MVKE_PY_F32(q), *wp = w ? MVKE_PY_F32(w) : NULL;
    mvke_status st;
    Py_BEGIN_ALLOW_THREADS
    st = mvke_tags_add(self->tags, task, n, ip, names, pp, qp, wp);
    Py_END_ALLOW_THREADS
    ret = st == MVKE_OK ? Py_NewRef(Py_None) : mvke_py_fail(st);
out:
    free((void *)names);
    Py_XDECREF(hold);
    Py_XDECREF(ids);
    Py_XDECREF(q);
    Py_XDECREF(w);
    Py_XDECREF(parents);
    return ret;
}

PyDoc_STRVAR(count_doc,
    "count($self, task=None)\n--\n\n"
    "The number of tags of task, or of every task (a tag in two tasks counts twice).\n"
    "Raises mvke.Error (ERR_UNKNOWN_TASK).");

static PyObject *tags_count(mvke_py_tags *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"task", NULL};
    const char *task = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|z:count", kwlist, &task)) return NULL;
    if (!ready(self)) return NULL;
    int64_t n = 0;
    mvke_status st;
    /* Without the GIL: the table's lock may be waiting for a long add in another thread. */
    Py_BEGIN_ALLOW_THREADS
    st = mvke_tags_count(self->tags, task, &n);
    Py_END_ALLOW_THREADS
    return st == MVKE_OK ? PyLong_FromLongLong((long long)n) : mvke_py_fail(st);
}

PyDoc_STRVAR(experts_doc,
    "experts($self, task)\n--\n\n"
    "The expert indices task uses, as a list. Raises mvke.Error (ERR_UNKNOWN_TASK).");

static PyObject *tags_experts(mvke_py_tags *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"task", NULL};
    const char *task;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s:experts", kwlist, &task)) return NULL;
    if (!ready(self)) return NULL;
    int nt = 0;
    mvke_tags_ntasks(self->tags, &nt);
    for (int i = 0; i < nt; i++) {
        const char *name;
        const int *ex;
        int ne;
        if (mvke_tags_task(self->tags, i, &name, &ex, &ne) != MVKE_OK || strcmp(name, task)) continue;
        PyObject *list = PyList_New(ne);
        for (int j = 0; list && j < ne; j++) {
            PyObject *v = PyLong_FromLong(ex[j]);
            if (!v) Py_CLEAR(list);
            else PyList_SET_ITEM(list, j, v);
        }
        return list;
    }
    return mvke_py_failf(MVKE_ERR_UNKNOWN_TASK, "unknown task \"%s\"", task);
}

PyDoc_STRVAR(get_doc,
    "get($self, task, id)\n--\n\n"
    "What the table holds of tag id in task: (name, parent, q, w) with q a (d,) and w a (K,)\n"
    "float32 array. Raises mvke.Error (ERR_UNKNOWN_TASK, ERR_UNKNOWN_ID).");

static PyObject *tags_get(mvke_py_tags *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"task", "id", NULL};
    const char *task;
    long long id;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "sL:get", kwlist, &task, &id)) return NULL;
    if (!ready(self)) return NULL;
    npy_intp dq = self->d, dw = self->K;
    PyArrayObject *q = (PyArrayObject *)PyArray_SimpleNew(1, &dq, NPY_FLOAT32);
    PyArrayObject *w = (PyArrayObject *)PyArray_SimpleNew(1, &dw, NPY_FLOAT32);
    if (!q || !w) {
        Py_XDECREF(q);
        Py_XDECREF(w);
        return NULL;
    }
    const char *name = NULL;
    int64_t parent = 0;
    float *qp = MVKE_PY_F32(q), *wp = MVKE_PY_F32(w);
    mvke_status st;
    Py_BEGIN_ALLOW_THREADS
    st = mvke_tags_get(self->tags, task, (int64_t)id, &name, &parent, qp, wp);
    Py_END_ALLOW_THREADS
    if (st != MVKE_OK) {
        mvke_py_fail(st);
        Py_DECREF(q);
        Py_DECREF(w);
        return NULL;
    }
    PyObject *nm = PyUnicode_DecodeUTF8(name ? name : "", (Py_ssize_t)strlen(name ? name : ""), "replace");
    if (!nm) {
        Py_DECREF(q);
        Py_DECREF(w);
        return NULL;
    }
    return Py_BuildValue("(NLNN)", nm, (long long)parent, q, w);
}

static PyMethodDef tags_methods[] = {
    {"add_task", (PyCFunction)(void (*)(void))tags_add_task, METH_VARARGS | METH_KEYWORDS, add_task_doc},
    {"set_vk", (PyCFunction)(void (*)(void))tags_set_vk, METH_VARARGS | METH_KEYWORDS, set_vk_doc},
    {"add", (PyCFunction)(void (*)(void))tags_add, METH_VARARGS | METH_KEYWORDS, add_doc},
    {"count", (PyCFunction)(void (*)(void))tags_count, METH_VARARGS | METH_KEYWORDS, count_doc},
    {"experts", (PyCFunction)(void (*)(void))tags_experts, METH_VARARGS | METH_KEYWORDS, experts_doc},
    {"get", (PyCFunction)(void (*)(void))tags_get, METH_VARARGS | METH_KEYWORDS, get_doc},
    {NULL, NULL, 0, NULL},
};

static PyObject *get_tasks(mvke_py_tags *self, void *Py_UNUSED(c)) {
    return ready(self) ? mvke_py_task_names(self->tags) : NULL;
}

static PyObject *get_K(mvke_py_tags *self, void *Py_UNUSED(c)) {
    return ready(self) ? PyLong_FromLong(self->K) : NULL;
}

static PyObject *get_d(mvke_py_tags *self, void *Py_UNUSED(c)) {
    return ready(self) ? PyLong_FromLong(self->d) : NULL;
}

static PyObject *get_score(mvke_py_tags *self, void *Py_UNUSED(c)) {
    if (!ready(self)) return NULL;
    mvke_score s;
    mvke_tags_score(self->tags, &s);
    return PyUnicode_FromString(mvke_score_name(s));
}

static PyGetSetDef tags_getset[] = {
    {"score", (getter)get_score, NULL, "'cosine' or 'dot', as Tags() takes it: an index and a table searched\n"
     "together have the same score.", NULL},
    {"tasks", (getter)get_tasks, NULL, "The names of the tasks, in declaration order (a list of str).", NULL},
    {"K", (getter)get_K, NULL, "Experts per user.", NULL},
    {"d", (getter)get_d, NULL, "Dimension of a tag embedding and of an expert vector.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static Py_ssize_t tags_len(mvke_py_tags *self) {
    if (!ready(self)) return -1;
    int64_t n = 0;
    mvke_tags_count(self->tags, NULL, &n);
    return (Py_ssize_t)n;
}

static PyObject *tags_repr(mvke_py_tags *self) {
    if (!self->tags) return PyUnicode_FromString("mvke.Tags(<not initialised>)");
    PyObject *names = mvke_py_task_names(self->tags);
    if (!names) return NULL;
    int64_t n = 0;
    mvke_tags_count(self->tags, NULL, &n);
    PyObject *r = PyUnicode_FromFormat("mvke.Tags(K=%d, d=%d, tasks=%R, count=%lld)", self->K, self->d, names,
                                       (long long)n);
    Py_DECREF(names);
    return r;
}

static PySequenceMethods tags_as_sequence = {
    .sq_length = (lenfunc)tags_len,
};

PyDoc_STRVAR(tags_doc,
    "Tags(K, d, storage='f32', threads=0, score='cosine')\n--\n\n"
    "A tag table for users of K experts of dimension d: tasks, each using a subset of the experts,\n"
    "and per task its tags, each an embedding q (d floats) with gates w (K floats, zero outside the\n"
    "task's experts) - given, or computed from virtual kernels (set_vk). len(tags) counts every tag\n"
    "of every task. Used with an mvke.Index by mvke.audience, mvke.user_tags and mvke.tag_all.");

PyTypeObject mvke_py_tags_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "mvke.Tags",
    .tp_basicsize = sizeof(mvke_py_tags),
    .tp_dealloc = (destructor)tags_dealloc,
    .tp_repr = (reprfunc)tags_repr,
    .tp_as_sequence = &tags_as_sequence,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = tags_doc,
    .tp_methods = tags_methods,
    .tp_getset = tags_getset,
    .tp_init = (initproc)tags_init,
    .tp_new = PyType_GenericNew,
};
