/* Order checks for the store's clustered scans (see _store._in_order); the NumPy form is in _store.py.
 *
 * descents(actor int64[n], time int64[n], event int64[n]) -> bytes of int64 positions i (1 <= i < n)
 * where the key (actor, time, event) does not increase from row i-1 to row i: where one ordered run of
 * rows ends and the next begins. One pass, no temporaries; the GIL is released.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* whether the key does not increase from row i-1 to row i, without short-circuit branches */
#define DOWN(i) ((a[i] < a[i - 1]) | ((a[i] == a[i - 1]) & ((t[i] < t[i - 1]) | ((t[i] == t[i - 1]) & (e[i] <= e[i - 1])))))

static PyObject *descents(PyObject *self, PyObject *args) {
    Py_buffer ab, tb, eb;
    if (!PyArg_ParseTuple(args, "y*y*y*", &ab, &tb, &eb)) return NULL;
    Py_ssize_t n = ab.len / 8, found = 0, cap = 0;
    int64_t *out = NULL;
    int failed = 0;
    if (ab.len != n * 8 || tb.len != ab.len || eb.len != ab.len) failed = 1;
    else {
        const int64_t *a = (const int64_t *)ab.buf, *t = (const int64_t *)tb.buf, *e = (const int64_t *)eb.buf;
        Py_BEGIN_ALLOW_THREADS
        /* count first, branch-free (vectorised): the common answer is "none" */
        Py_ssize_t total = 0;
        for (Py_ssize_t i = 1; i < n; i++) total += DOWN(i);
        for (Py_ssize_t i = 1; total && i < n; i++) {
            if (DOWN(i)) {
                if (found == cap) {
                    cap = cap ? cap * 2 : 64;
                    int64_t *grown = (int64_t *)realloc(out, (size_t)cap * sizeof(int64_t));
                    if (!grown) { failed = 2; break; }
                    out = grown;
                }
                out[found++] = i;
            }
        }
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&ab);
    PyBuffer_Release(&tb);
    PyBuffer_Release(&eb);
    if (failed) {
        free(out);
        if (failed == 2) return PyErr_NoMemory();
        PyErr_SetString(PyExc_ValueError, "actor, time and event must be int64 arrays of one length");
        return NULL;
    }
    PyObject *result = PyBytes_FromStringAndSize((const char *)out, found * (Py_ssize_t)sizeof(int64_t));
    free(out);
    return result;
}

static PyMethodDef methods[] = {
    {"descents", descents, METH_VARARGS, "Positions where (actor, time, event) does not increase."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_order", "Order checks for clustered scans.", -1, methods};

PyMODINIT_FUNC PyInit__order(void) { return PyModule_Create(&module); }
