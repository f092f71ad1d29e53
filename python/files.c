/*
 * files.c - mvke.open and mvke.save: index files (docs/file-format.md) holding the users and
 * the tag table together. Paths are str, bytes or os.PathLike.
 */
#include "pymvke.h"

const char mvke_py_open_doc[] =
    "open(path, check_rows=True)\n--\n\n"
    "Opens an index file written by mvke.save or `mvke build`: returns (index, tags).\n"
    "\n"
    "The file is mapped: user rows are read in place and copied only when the index is changed.\n"
    "check_rows=False skips the checksums of the user rows (the bulk of a large file); everything\n"
    "else is still checked. Raises mvke.Error (ERR_IO, ERR_FORMAT, ERR_TRUNCATED, ERR_CHECKSUM\n"
    "naming the section).";

PyObject *mvke_py_open(PyObject *Py_UNUSED(self), PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"path", "check_rows", NULL};
    PyObject *path = NULL;
    int check_rows = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|p:open", kwlist, PyUnicode_FSConverter, &path, &check_rows))
        return NULL;
    const char *p = PyBytes_AS_STRING(path);
    const unsigned flags = check_rows ? MVKE_FILE_OPEN_DEFAULT : MVKE_FILE_OPEN_SKIP_ROW_CHECKSUMS;
    mvke_index *users = NULL;
    mvke_tags *tags = NULL;
    mvke_status st;
    Py_BEGIN_ALLOW_THREADS
    st = mvke_file_open(p, flags, &users, &tags);
    Py_END_ALLOW_THREADS
    Py_DECREF(path);
    if (st != MVKE_OK) return mvke_py_fail(st);
    int K = 0, d = 0;
    mvke_index_shape(users, &K, &d, NULL);
    PyObject *io = mvke_py_index_wrap(users);
    if (!io) {
        mvke_tags_free(tags);
        return NULL;
    }
    PyObject *to = mvke_py_tags_wrap(tags, K, d);
    if (!to) {
        Py_DECREF(io);
        return NULL;
    }
    return Py_BuildValue("(NN)", io, to);
}

const char mvke_py_save_doc[] =
    "save(path, index, tags=None)\n--\n\n"
    "Saves the users of index and the tag table (None: an empty one) to one index file.\n"
    "\n"
    "The file is written beside path, synced, then renamed over it: path holds either the old or\n"
    "the new file, never a partial one. Raises mvke.Error (ERR_IO naming the file and the failing\n"
    "call, ERR_INVALID when index and tags differ in K or d).";

PyObject *mvke_py_save(PyObject *Py_UNUSED(self), PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"path", "index", "tags", NULL};
    PyObject *path = NULL, *io, *to = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&O|O:save", kwlist, PyUnicode_FSConverter, &path, &io, &to))
        return NULL;
    mvke_index *users = mvke_py_index_of(io, "index");
    mvke_tags *tags = NULL;
    if (users && to != Py_None) tags = mvke_py_tags_of(to, "tags", NULL, NULL);
    if (!users || (to != Py_None && !tags)) {
        Py_DECREF(path);
        return NULL;
    }
    const char *p = PyBytes_AS_STRING(path);
    mvke_status st;
    Py_BEGIN_ALLOW_THREADS
    st = mvke_file_save(p, users, tags);
    Py_END_ALLOW_THREADS
    Py_DECREF(path);
    return st == MVKE_OK ? Py_NewRef(Py_None) : mvke_py_fail(st);
}
