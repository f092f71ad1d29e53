/*
 * errors.c - mvke.Error: every failure of the library, and every bad argument the module itself
 * rejects (shapes, dtypes), raises it with the status and the message.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pymvke.h"

PyObject *mvke_py_error = NULL;

PyDoc_STRVAR(error_doc,
    "Error(message)\n"
    "\n"
    "Raised by every function of mvke that fails. Attributes:\n"
    "\n"
    "  status       the library's status code (a negative int: mvke.ERR_DIM, mvke.ERR_NONFINITE, ...)\n"
    "  status_name  its name, e.g. 'MVKE_ERR_DIM'\n"
    "  message      the library's message (also str(error)), naming the offending row, id or file\n"
    "\n"
    "A call that raises it changes nothing: a rejected add leaves the index as it was.");

int mvke_py_errors_init(PyObject *module) {
    PyObject *dict = Py_BuildValue("{s:O,s:O,s:s}", "status", Py_None, "status_name", Py_None, "message", "");
    if (!dict) return -1;
    mvke_py_error = PyErr_NewExceptionWithDoc("mvke.Error", error_doc, PyExc_RuntimeError, dict);
    Py_DECREF(dict);
    if (!mvke_py_error) return -1;
    Py_INCREF(mvke_py_error);
    if (PyModule_AddObject(module, "Error", mvke_py_error) < 0) {
        Py_DECREF(mvke_py_error);
        return -1;
    }
    return 0;
}

/* Raises mvke.Error(msg) with its attributes set. */
static PyObject *raise_error(mvke_status status, const char *msg) {
    PyObject *text = PyUnicode_DecodeUTF8(msg, (Py_ssize_t)strlen(msg), "replace");
    if (!text) return NULL;
    PyObject *exc = PyObject_CallOneArg(mvke_py_error, text);
    if (!exc) {
        Py_DECREF(text);
        return NULL;
    }
    PyObject *st = PyLong_FromLong((long)status);
    PyObject *name = PyUnicode_FromString(mvke_status_name(status));
    if (!st || !name || PyObject_SetAttrString(exc, "status", st) < 0 ||
        PyObject_SetAttrString(exc, "status_name", name) < 0 || PyObject_SetAttrString(exc, "message", text) < 0) {
        Py_XDECREF(st);
        Py_XDECREF(name);
        Py_DECREF(text);
        Py_DECREF(exc);
        return NULL;
    }
    Py_DECREF(st);
    Py_DECREF(name);
    Py_DECREF(text);
    PyErr_SetObject(mvke_py_error, exc);
    Py_DECREF(exc);
    return NULL;
}

PyObject *mvke_py_fail(mvke_status status) {
    /* Copied first: the message lives until the next mvke_* call on this thread. */
    char msg[1024];
    const char *m = mvke_last_error();
    snprintf(msg, sizeof msg, "%s", m && *m ? m : mvke_status_name(status));
    /* The library names its C function; from Python the call is a method. */
    char *c = strstr(msg, "call mvke_index_train with a sample first");
    if (c) snprintf(c, sizeof msg - (size_t)(c - msg), "call index.train(sample) first (sample: (n, K, d) float32)");
    return raise_error(status, msg);
}

PyObject *mvke_py_failf(mvke_status status, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return raise_error(status, msg);
}
