/*
 * searches.c - the module's functions between users and tags: mvke.pack_query,
 * mvke.audience / mvke.audience_range (tag -> users) and mvke.user_tags (user -> tags). Each
 * checks its arguments, runs one library call without the GIL, and hands back FAISS-shaped
 * arrays. mvke.last_search_stats reads what the calling thread's last search did.
 */
#include <string.h>

#include "pymvke.h"

const char mvke_py_pack_query_doc[] =
    "pack_query(q, w)\n--\n\n"
    "Gated tag rows z = w (x) q: block k of z is w[k] * q.\n"
    "\n"
    "q (d,) and w (K,) give z of shape (K*d,); q (n, d) and w (n, K) give z of shape (n, K*d),\n"
    "float32. These rows are the queries of Index.search and Index.range_search.\n"
    "Raises mvke.Error for mismatched shapes (ERR_DIM) or NaN/Inf (ERR_NONFINITE, the row named).";

PyObject *mvke_py_pack_query(PyObject *Py_UNUSED(self), PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"q", "w", NULL};
    PyObject *qo, *wo;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO:pack_query", kwlist, &qo, &wo)) return NULL;
    PyArrayObject *q = mvke_py_floats(qo, "q"), *w = q ? mvke_py_floats(wo, "w") : NULL;
    if (!w) {
        Py_XDECREF(q);
        return NULL;
    }
    const int nd = PyArray_NDIM(q);
    PyObject *ret = NULL;
    if (!((nd == 1 && PyArray_NDIM(w) == 1) || (nd == 2 && PyArray_NDIM(w) == 2 && PyArray_DIM(q, 0) == PyArray_DIM(w, 0)))) {
        mvke_py_failf(MVKE_ERR_DIM, "pack_query takes q (d,) with w (K,), or q (n, d) with w (n, K); got %d-d q with %d-d w%s",
                      nd, PyArray_NDIM(w), nd == 2 && PyArray_NDIM(w) == 2 ? " of different n" : "");
        goto out;
    }
    const npy_intp n = nd == 2 ? PyArray_DIM(q, 0) : 1;
    const npy_intp d = PyArray_DIM(q, nd - 1), K = PyArray_DIM(w, nd - 1);
    if (d <= 0 || K <= 0 || d > 65536 || K > 65536) {
        mvke_py_failf(MVKE_ERR_DIM, "pack_query: K = %lld, d = %lld must be in 1-65536", (long long)K, (long long)d);
        goto out;
    }
    npy_intp dims[2] = {n, K * d};
    PyArrayObject *z = (PyArrayObject *)(nd == 2 ? PyArray_SimpleNew(2, dims, NPY_FLOAT32)
                                                 : PyArray_SimpleNew(1, dims + 1, NPY_FLOAT32));
    if (!z) goto out;
    const float *qp = MVKE_PY_F32(q), *wp = MVKE_PY_F32(w);
    float *zp = MVKE_PY_F32(z);
    for (npy_intp i = 0; i < n; i++) {
        mvke_status st = mvke_pack_query((int)K, (int)d, qp + i * d, wp + i * K, zp + i * K * d);
        if (st != MVKE_OK) {
            if (nd == 2) mvke_py_failf(st, "row %lld: %s", (long long)i, mvke_last_error());
            else mvke_py_fail(st);
            Py_DECREF(z);
            goto out;
        }
    }
    ret = (PyObject *)z;
out:
    Py_DECREF(q);
    Py_DECREF(w);
    return ret;
}

const char mvke_py_audience_doc[] =
    "audience(index, tags, task, tag_ids, k, allow=None)\n--\n\n"
    "Reverse targeting: the top-k users of index for each of ntag tags of task.\n"
    "\n"
    "tag_ids: ntag int64 tag ids of task; allow: None, an int64 array of user ids or a bool mask.\n"
    "Returns (D, I): D (ntag, k) float32 scores, descending; I (ntag, k) int64 user ids; padded\n"
    "with -inf / -1 where fewer than k users are eligible (as Index.search).\n"
    "Raises mvke.Error (ERR_UNKNOWN_TASK, ERR_UNKNOWN_ID naming the tag, ERR_BAD_K, ERR_DIM when\n"
    "index and tags differ in K or d). The GIL is released while searching.";

/* The arguments every audience call shares. */
typedef struct audience_args {
    mvke_index *users;
    mvke_tags *tags;
    PyArrayObject *tag_ids;
    mvke_allow *allow;
} audience_args;

static int audience_parse(PyObject *io, PyObject *to, PyObject *ido, PyObject *allow_o, audience_args *a) {
    memset(a, 0, sizeof *a);
    if (!(a->users = mvke_py_index_of(io, "index")) || !(a->tags = mvke_py_tags_of(to, "tags", NULL, NULL)) ||
        !(a->tag_ids = mvke_py_ids(ido, "tag_ids", -1)))
        return -1;
    if (mvke_py_allow(allow_o, &a->allow) < 0) {
        Py_CLEAR(a->tag_ids);
        return -1;
    }
    return 0;
}

PyObject *mvke_py_audience(PyObject *Py_UNUSED(self), PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"index", "tags", "task", "tag_ids", "k", "allow", "prob", NULL};
    PyObject *io, *to, *ido, *allow_o = Py_None;
    const char *task;
    long long k;
    int prob = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOsOL|Op:audience", kwlist, &io, &to, &task, &ido, &k, &allow_o, &prob))
        return NULL;
    audience_args a;
    if (audience_parse(io, to, ido, allow_o, &a) < 0) return NULL;
    const int64_t ntag = (int64_t)PyArray_DIM(a.tag_ids, 0);
    const int64_t *tp = MVKE_PY_I64(a.tag_ids);
    mvke_result *res = NULL;
    mvke_status st;
    Py_BEGIN_ALLOW_THREADS
    st = mvke_audience_top(a.users, a.tags, task, ntag, tp, (int64_t)k, a.allow, &res);
    mvke_allow_free(a.allow);
    Py_END_ALLOW_THREADS
    PyObject *ret = st == MVKE_OK ? mvke_py_padded(res, 0, 1, ntag, (int64_t)k) : mvke_py_fail(st);
    mvke_result_free(res);
    Py_DECREF(a.tag_ids);
    return prob ? mvke_py_as_prob(ret) : ret;
}

const char mvke_py_audience_range_doc[] =
    "audience_range(index, tags, task, tag_ids, min_score=None, allow=None, prob=False, min_prob=None)\n--\n\n"
    "Reverse targeting by threshold: every user of index with score >= min_score (or with\n"
    "probability sigmoid(score) >= min_prob, in (0, 1): give one), per tag. prob=True: D holds\n"
    "probabilities.\n"
    "\n"
    "Returns (lims, D, I) in FAISS's range_search layout: the users of tag_ids[i] are\n"
    "I[lims[i]:lims[i+1]] with scores D[lims[i]:lims[i+1]], descending.\n"
    "Raises mvke.Error as audience(), and ERR_NONFINITE for a NaN min_score.";

PyObject *mvke_py_audience_range(PyObject *Py_UNUSED(self), PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"index", "tags", "task", "tag_ids", "min_score", "allow", "prob", "min_prob", NULL};
    PyObject *io, *to, *ido, *allow_o = Py_None, *min_o = Py_None, *minp_o = Py_None;
    const char *task;
    float min_score;
    int prob = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOsO|OOpO:audience_range", kwlist, &io, &to, &task, &ido, &min_o,
                                     &allow_o, &prob, &minp_o))
        return NULL;
    if (mvke_py_threshold(min_o, minp_o, &min_score) < 0) return NULL;
    audience_args a;
    if (audience_parse(io, to, ido, allow_o, &a) < 0) return NULL;
    const int64_t ntag = (int64_t)PyArray_DIM(a.tag_ids, 0);
    const int64_t *tp = MVKE_PY_I64(a.tag_ids);
    mvke_result *res = NULL;
    mvke_status st;
    Py_BEGIN_ALLOW_THREADS
    st = mvke_audience_range(a.users, a.tags, task, ntag, tp, min_score, a.allow, &res);
    mvke_allow_free(a.allow);
    Py_END_ALLOW_THREADS
    PyObject *ret = st == MVKE_OK ? mvke_py_lims(res) : mvke_py_fail(st);
    mvke_result_free(res);
    Py_DECREF(a.tag_ids);
    return prob ? mvke_py_as_prob(ret) : ret;
}

const char mvke_py_user_tags_doc[] =
    "user_tags(index, tags, user_ids, m, task=None, prob=False)\n--\n\n"
    "Per-user top tags: the top-m tags for each of nu users of index (given by id).\n"
    "\n"
    "With task: returns (D, I), D (nu, m) float32 scores, descending, I (nu, m) int64 tag ids,\n"
    "padded with -inf / -1 where task has fewer than m tags.\n"
    "With task=None: a dict {task: (D, I)} over every task, in declaration order.\n"
    "prob=True: D holds probabilities sigmoid(score).\n"
    "Raises mvke.Error (ERR_UNKNOWN_ID naming the user, ERR_UNKNOWN_TASK, ERR_BAD_K, ERR_DIM).\n"
    "The GIL is released while searching.";

/* {task: (D, I)} (task NULL) or (D, I) from a result of nu users x ntasks lists. */
PyObject *mvke_py_per_task(const mvke_result *res, PyObject *names, int64_t nu, int64_t m, int by_task) {
    if (!by_task) return mvke_py_padded(res, 0, 1, nu, m);
    const Py_ssize_t nt = PyList_GET_SIZE(names);
    int64_t nq = 0;
    mvke_result_nqueries(res, &nq);
    if (nq != nu * (int64_t)nt)
        return mvke_py_failf(MVKE_ERR_INVALID, "the tag table's tasks changed during the search; run it again");
    PyObject *dict = PyDict_New();
    for (Py_ssize_t t = 0; dict && t < nt; t++) {
        PyObject *pair = mvke_py_padded(res, t, nt, nu, m);
        if (!pair || PyDict_SetItem(dict, PyList_GET_ITEM(names, t), pair) < 0) Py_CLEAR(dict);
        Py_XDECREF(pair);
    }
    return dict;
}

PyObject *mvke_py_user_tags(PyObject *Py_UNUSED(self), PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"index", "tags", "user_ids", "m", "task", "prob", NULL};
    PyObject *io, *to, *uo;
    const char *task = NULL;
    long long m;
    int prob = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOL|zp:user_tags", kwlist, &io, &to, &uo, &m, &task, &prob)) return NULL;
    mvke_index *users = mvke_py_index_of(io, "index");
    mvke_tags *tags = users ? mvke_py_tags_of(to, "tags", NULL, NULL) : NULL;
    if (!tags) return NULL;
    PyArrayObject *ids = mvke_py_ids(uo, "user_ids", -1);
    if (!ids) return NULL;
    PyObject *names = task ? NULL : mvke_py_task_names(tags);
    if (!task && !names) {
        Py_DECREF(ids);
        return NULL;
    }
    const int64_t nu = (int64_t)PyArray_DIM(ids, 0);
    const int64_t *up = MVKE_PY_I64(ids);
    mvke_result *res = NULL;
    mvke_status st;
    Py_BEGIN_ALLOW_THREADS
    st = mvke_user_tags_top(users, tags, task, nu, up, (int64_t)m, &res);
    Py_END_ALLOW_THREADS
    PyObject *ret = st == MVKE_OK ? mvke_py_per_task(res, names, nu, (int64_t)m, !task) : mvke_py_fail(st);
    mvke_result_free(res);
    Py_XDECREF(names);
    Py_DECREF(ids);
    return prob ? mvke_py_as_prob(ret) : ret;
}

const char mvke_py_last_search_stats_doc[] =
    "last_search_stats()\n--\n\n"
    "What this thread's last successful search of a user index did, as a dict:\n"
    "'users_scanned' (the users each query read; a listed index: their mean over the queries),\n"
    "'users_refined' (the users re-scored from their float32 rows, summed over the queries),\n"
    "'certified' (True when every answer is provably the exact one: f32/f16/bf16 always; a codec\n"
    "index in mode 'exact', or when R*k covered every user; a probed listed index when the list\n"
    "bounds prove it) and 'lists_scanned' (a listed index: the lists read, summed over the\n"
    "queries; else 0). Counts Index.search, Index.range_search, audience, audience_range and every other call\n"
    "that searches users. Per thread, as in C (mvke_last_search_stats): call it on the thread that\n"
    "searched, before its next search; other threads' searches do not change it. All zero before\n"
    "the first search.";

PyObject *mvke_py_last_search_stats(PyObject *Py_UNUSED(self), PyObject *Py_UNUSED(arg)) {
    /* The library keeps the stats per OS thread, and a Python thread runs its searches on its own
     * OS thread (releasing the GIL does not move it), so this reads the caller's last search. */
    mvke_search_stats s;
    mvke_status st = mvke_last_search_stats(&s);
    if (st != MVKE_OK) return mvke_py_fail(st);
    return Py_BuildValue("{s:L,s:L,s:O,s:L}", "users_scanned", (long long)s.users_scanned, "users_refined",
                         (long long)s.users_refined, "certified", s.certified ? Py_True : Py_False, "lists_scanned",
                         (long long)s.lists_scanned);
}
