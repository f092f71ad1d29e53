/*
 * module.c - the `mvke` Python extension: module set-up, the function table and the constants.
 * Every name it exports comes from the library: storages from mvke_storage_name, status codes
 * from mvke_status_name, so what the C library gains appears here without a change.
 */
#define MVKE_PY_MODULE_MAIN
#include "pymvke.h"

#include <string.h>

PyDoc_STRVAR(module_doc,
    "Exact multi-interest retrieval for MVKE user models, with numpy in and out.\n"
    "\n"
    "A user is K expert vectors of dimension d; a tag of a task is an embedding q (d,) with gates\n"
    "w (K,). The score is the cosine of sum_k w[k] e[k] and q, computed exactly without\n"
    "materialising the sum. In FAISS's habits:\n"
    "\n"
    "    index = mvke.Index(K, d)                  # storage: one of mvke.storages; threads=0\n"
    "    index.add(x)                              # x (n, K, d) float32, ids 0 .. n-1\n"
    "    z = mvke.pack_query(q, w)                 # (nq, K*d) gated rows\n"
    "    D, I = index.search(z, k)                 # (nq, k), padded with -inf / -1\n"
    "    lims, D, I = index.range_search(z, 0.5)\n"
    "\n"
    "    tags = mvke.Tags(K, d); tags.add_task('interest', [0, 1, 2]); tags.add('interest', ids, q, w)\n"
    "    D, I = mvke.audience(index, tags, 'interest', [tag_id], 1000)\n"
    "    per_task = mvke.user_tags(index, tags, user_ids, 10)      # {task: (D, I)}\n"
    "    for user_ids, per_task in mvke.tag_all(index, tags, 10): ...\n"
    "    mvke.save(path, index, tags); index, tags = mvke.open(path)\n"
    "\n"
    "    index = mvke.Index(K, d, storage='sq8', refine=True)   # 1 byte per value, exact answers\n"
    "    index.train(sample); index.add(x); D, I = index.search(z, k)\n"
    "    mvke.last_search_stats()                  # {'users_scanned', 'users_refined', 'certified', 'lists_scanned'}\n"
    "\n"
    "Every failure raises mvke.Error with the library's status and message and changes nothing.\n"
    "Searches release the GIL.");

static PyMethodDef module_methods[] = {
    {"pack_query", (PyCFunction)(void (*)(void))mvke_py_pack_query, METH_VARARGS | METH_KEYWORDS,
     mvke_py_pack_query_doc},
    {"audience", (PyCFunction)(void (*)(void))mvke_py_audience, METH_VARARGS | METH_KEYWORDS, mvke_py_audience_doc},
    {"audience_range", (PyCFunction)(void (*)(void))mvke_py_audience_range, METH_VARARGS | METH_KEYWORDS,
     mvke_py_audience_range_doc},
    {"user_tags", (PyCFunction)(void (*)(void))mvke_py_user_tags, METH_VARARGS | METH_KEYWORDS, mvke_py_user_tags_doc},
    {"tag_all", (PyCFunction)(void (*)(void))mvke_py_tag_all, METH_VARARGS | METH_KEYWORDS, mvke_py_tag_all_doc},
    {"open", (PyCFunction)(void (*)(void))mvke_py_open, METH_VARARGS | METH_KEYWORDS, mvke_py_open_doc},
    {"save", (PyCFunction)(void (*)(void))mvke_py_save, METH_VARARGS | METH_KEYWORDS, mvke_py_save_doc},
    {"last_search_stats", (PyCFunction)mvke_py_last_search_stats, METH_NOARGS, mvke_py_last_search_stats_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "mvke",
    .m_doc = module_doc,
    .m_size = -1,
    .m_methods = module_methods,
};

/* mvke.storages: every storage name the library knows, in enum order. */
static int add_storages(PyObject *module) {
    PyObject *list = PyList_New(0);
    if (!list) return -1;
    for (int s = 0; s < 64; s++) {
        const char *name = mvke_storage_name((mvke_storage)s);
        if (!strcmp(name, "unknown")) continue;
        PyObject *v = PyUnicode_FromString(name);
        if (!v || PyList_Append(list, v) < 0) {
            Py_XDECREF(v);
            Py_DECREF(list);
            return -1;
        }
        Py_DECREF(v);
    }
    PyObject *t = PyList_AsTuple(list);
    Py_DECREF(list);
    if (!t || PyModule_AddObject(module, "storages", t) < 0) {
        Py_XDECREF(t);
        return -1;
    }
    return 0;
}

/* mvke.OK, mvke.ERR_INVALID, ...: every status code, named as in C without the prefix. */
static int add_statuses(PyObject *module) {
    for (int s = 0; s > -256; s--) {
        const char *name = mvke_status_name((mvke_status)s);
        if (strncmp(name, "MVKE_", 5) != 0) continue;
        if (PyModule_AddIntConstant(module, name + 5, s) < 0) return -1;
    }
    return 0;
}

/* numpy's C API, or an ImportError that says which interpreter the module was built for: the
 * usual cause is another python3 first on PATH (pyenv, conda) whose numpy is missing or other. */
static int load_numpy(void) {
    if (_import_array() >= 0) return 0;
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyObject *exe = PySys_GetObject("executable"); /* borrowed */
    PyErr_Format(PyExc_ImportError,
                 "mvke was built for %s (Python %s) and cannot load numpy's C API in this interpreter, %S "
                 "(%S); run it with %s, or build the module for this interpreter (docs/python.md)",
                 MVKE_PY_BUILT_FOR, MVKE_PY_BUILT_VERSION, exe ? exe : Py_None, value ? value : Py_None,
                 MVKE_PY_BUILT_FOR);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    return -1;
}

PyMODINIT_FUNC PyInit_mvke(void) {
    if (load_numpy() < 0) return NULL;
    if (PyType_Ready(&mvke_py_index_type) < 0 || PyType_Ready(&mvke_py_tags_type) < 0 ||
        PyType_Ready(&mvke_py_tag_all_type) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module_def);
    if (!m) return NULL;
    if (mvke_py_errors_init(m) < 0 || add_storages(m) < 0 || add_statuses(m) < 0 ||
        PyModule_AddStringConstant(m, "__version__", mvke_version()) < 0)
        goto fail;
    PyTypeObject *types[] = {&mvke_py_index_type, &mvke_py_tags_type, &mvke_py_tag_all_type};
    const char *names[] = {"Index", "Tags", "TagAll"};
    for (int i = 0; i < 3; i++) {
        Py_INCREF(types[i]);
        if (PyModule_AddObject(m, names[i], (PyObject *)types[i]) < 0) {
            Py_DECREF(types[i]);
            goto fail;
        }
    }
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
