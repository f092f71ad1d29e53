/*
 * tag_all.c - mvke.tag_all: batch tagging as a generator. It visits the users by storage
 * position in blocks (mvke_index_read_rows + mvke_user_tags_top_rows, as `mvke tag-all` does), so
 * memory stays at one block of rows and its results however many users there are, and yields
 * each block's ids with its top tags per task. Each block runs without the GIL.
 */
#include <stdlib.h>
#include <string.h>

#include "pymvke.h"

typedef struct tag_all_iter {
    PyObject_HEAD
    PyObject *index_obj, *tags_obj; /* kept alive while iterating */
    mvke_index *users;
    mvke_tags *tags;
    char *task;      /* NULL: every task */
    PyObject *names; /* the task names the dicts are keyed by */
    int64_t m, block, next, n;
    uint64_t generation; /* the index's at the start: any change ends the walk (a count cannot tell) */
    int prob; /* probabilities instead of scores */
    int K, d;
    float *x;  /* one block of rows */
    int busy;  /* a block is being scored (without the GIL): a second next() must not share x */
} tag_all_iter;

const char mvke_py_tag_all_doc[] =
    "tag_all(index, tags, m, block_users=16384, task=None, prob=False)\n--\n\n"
    "Batch tagging: the top-m tags of every user of index, as a generator of blocks.\n"
    "\n"
    "    for user_ids, per_task in mvke.tag_all(index, tags, 10):\n"
    "        D, I = per_task['interest']\n"
    "\n"
    "Each item is (user_ids, per_task): user_ids an int64 array of up to block_users ids (users in\n"
    "storage order, each once), per_task a dict {task: (D, I)} over every task (or only task),\n"
    "D (n, m) float32 scores, descending, I (n, m) int64 tag ids, padded with -inf / -1.\n"
    "prob=True: D holds probabilities sigmoid(score).\n"
    "Memory is one block whatever the number of users. Changing the index while iterating raises\n"
    "mvke.Error at the next block. The GIL is released while a block is scored.";

static void iter_clear_refs(tag_all_iter *it) {
    Py_CLEAR(it->index_obj);
    Py_CLEAR(it->tags_obj);
    Py_CLEAR(it->names);
}

static int iter_traverse(tag_all_iter *it, visitproc visit, void *arg) {
    Py_VISIT(it->index_obj);
    Py_VISIT(it->tags_obj);
    Py_VISIT(it->names);
    return 0;
}

static int iter_clear(tag_all_iter *it) {
    iter_clear_refs(it);
    return 0;
}

static void iter_dealloc(tag_all_iter *it) {
    PyObject_GC_UnTrack(it);
    iter_clear_refs(it);
    free(it->task);
    free(it->x);
    PyObject_GC_Del(it);
}

PyObject *mvke_py_tag_all(PyObject *Py_UNUSED(self), PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"index", "tags", "m", "block_users", "task", "prob", NULL};
    PyObject *io, *to;
    long long m, block = 16384;
    const char *task = NULL;
    int prob = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOL|Lzp:tag_all", kwlist, &io, &to, &m, &block, &task, &prob)) return NULL;
    int K, d, tK, td;
    mvke_index *users = mvke_py_index_of(io, "index");
    mvke_tags *tags = users ? mvke_py_tags_of(to, "tags", &tK, &td) : NULL;
    if (!tags) return NULL;
    mvke_index_shape(users, &K, &d, NULL);
    if (K != tK || d != td)
        return mvke_py_failf(MVKE_ERR_DIM, "the index has K = %d, d = %d but the tag table K = %d, d = %d", K, d, tK, td);
    if (m <= 0) return mvke_py_failf(MVKE_ERR_BAD_K, "m = %lld: the number of tags per user must be > 0", m);
    if (block < 1 || block > 1 << 22) return mvke_py_failf(MVKE_ERR_INVALID, "block_users = %lld: must be in 1-4194304", block);
    PyObject *names;
    if (task) {
        int64_t c;
        mvke_status st = mvke_tags_count(tags, task, &c);
        if (st != MVKE_OK) return mvke_py_fail(st);
        names = Py_BuildValue("[s]", task);
    } else {
        names = mvke_py_task_names(tags);
    }
    if (!names) return NULL;
    tag_all_iter *it = PyObject_GC_New(tag_all_iter, &mvke_py_tag_all_type);
    if (!it) {
        Py_DECREF(names);
        return NULL;
    }
    it->index_obj = Py_NewRef(io);
    it->tags_obj = Py_NewRef(to);
    it->users = users;
    it->tags = tags;
    it->task = task ? strdup(task) : NULL;
    it->names = names;
    it->m = m;
    it->block = block;
    it->prob = prob;
    it->next = 0;
    it->n = 0;
    it->K = K;
    it->d = d;
    it->x = NULL;
    it->busy = 0;
    int64_t n = 0;
    uint64_t gen = 0;
    Py_BEGIN_ALLOW_THREADS
    mvke_index_generation(users, &gen);
    mvke_index_count(users, &n);
    Py_END_ALLOW_THREADS
    it->n = n;
    it->generation = gen;
    PyObject_GC_Track(it);
    if (task && !it->task) {
        Py_DECREF(it);
        return PyErr_NoMemory();
    }
    return (PyObject *)it;
}

static PyObject *iter_block(tag_all_iter *it);

static PyObject *iter_next(tag_all_iter *it) {
    if (!it->index_obj || it->next >= it->n) return NULL;
    if (it->busy) {
        PyErr_SetString(PyExc_ValueError, "mvke.tag_all generator already executing (in another thread)");
        return NULL;
    }
    it->busy = 1;
    PyObject *r = iter_block(it);
    it->busy = 0;
    return r;
}

/* The next block: its ids and {task: (D, I)}. */
static PyObject *iter_block(tag_all_iter *it) {
    const int64_t b = it->n - it->next < it->block ? it->n - it->next : it->block;
    const size_t row = (size_t)it->K * (size_t)it->d;
    if (!it->x && !(it->x = malloc((size_t)(it->n < it->block ? it->n : it->block) * row * sizeof *it->x)))
        return PyErr_NoMemory();
    npy_intp nb = (npy_intp)b;
    PyArrayObject *ids = (PyArrayObject *)PyArray_SimpleNew(1, &nb, NPY_INT64);
    if (!ids) return NULL;
    int64_t *ip = MVKE_PY_I64(ids);
    mvke_result *res = NULL;
    mvke_status st = MVKE_OK;
    int64_t now = 0;
    uint64_t g0 = 0, g1 = 0;
    Py_BEGIN_ALLOW_THREADS
    /* The same generation before and after the read: no change of the rows overlapped it. */
    mvke_index_generation(it->users, &g0);
    mvke_index_count(it->users, &now);
    if (g0 == it->generation) st = mvke_index_read_rows(it->users, it->next, b, ip, it->x);
    mvke_index_generation(it->users, &g1);
    if (g1 == it->generation && st == MVKE_OK) st = mvke_user_tags_top_rows(it->tags, it->task, b, it->x, it->m, &res);
    Py_END_ALLOW_THREADS
    if (g0 != it->generation || g1 != it->generation) {
        mvke_result_free(res);
        Py_DECREF(ids);
        return mvke_py_failf(MVKE_ERR_INVALID, "the index changed during tag_all (%lld users when it started, now %lld); "
                             "start again", (long long)it->n, (long long)now);
    }
    if (st != MVKE_OK) {
        mvke_py_fail(st);
        Py_DECREF(ids);
        return NULL;
    }
    /* Always a dict, keyed by task: with one task the result's lists are already user-major. */
    PyObject *per = mvke_py_per_task(res, it->names, b, it->m, 1);
    if (it->prob) mvke_py_as_prob(per);
    mvke_result_free(res);
    if (!per) {
        Py_DECREF(ids);
        return NULL;
    }
    it->next += b;
    return Py_BuildValue("(NN)", ids, per);
}

PyTypeObject mvke_py_tag_all_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "mvke.TagAll",
    .tp_basicsize = sizeof(tag_all_iter),
    .tp_dealloc = (destructor)iter_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The generator of mvke.tag_all: yields (user_ids, {task: (D, I)}) per block of users.",
    .tp_traverse = (traverseproc)iter_traverse,
    .tp_clear = (inquiry)iter_clear,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)iter_next,
};
