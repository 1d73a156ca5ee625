/* The ordered funnel's chain matching, one pass per actor: the compiled form of _chains.match_ordered.
 *
 * match_ordered(actor, time, bits, steps, window_us, entry_any, ties_strict, out_start, out_depth, out_rows,
 *               out_times)
 *
 *   actor      int64[n]  non-decreasing, equal exactly within one actor (a dense index or object codes)
 *   time       int64[n]  microseconds, non-decreasing within an actor (rows in (actor, time, load order))
 *   bits       uint16[n] bit k set when row i matches step k (steps <= 16)
 *   out_start  int64[m], out_depth int64[m], out_rows and out_times int64[steps * m] (row-major);
 *              m >= the number of entering actors
 *
 * Returns (c, a): the number of entering actors and of all actors; for each j < c: out_start[j] is the row that starts the
 * actor's chosen chain, out_depth[j] its depth, out_rows[k * m + j] the row of step k and out_times the
 * row's time (both -1 past the depth).
 *
 * Semantics (those of _chains.ordered with the funnel's entry rules, see _funnel.py): step k of a chain
 * is the earliest step-k row after step k-1's row, later in time (ties_strict) or later in load order,
 * with time - t1 <= window_us (inclusive). entry "first": one chain, from the actor's first step-1 row.
 * entry "any": a chain from every step-1 row; the deepest counts, the latest-starting among equals.
 *
 * entry "any" in O(steps x L) per actor of L rows: starts are followed from the latest back. Greedy
 * matching is monotone (a later start's step-k row is never earlier), so the searches for step k of
 * successive chains begin at non-increasing rows. A search that runs into the row where the previous
 * search for the same step began would find what that one found: from there the chain continues as the
 * later-starting chain did, under a tighter window, so it cannot go deeper and is dropped. Every row is
 * thus scanned at most once per step.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>

#define MAX_STEPS 16

typedef struct {
    int32_t *buf;
    Py_ssize_t cap;
} scratch_t;

static int reserve(scratch_t *s, Py_ssize_t need) {
    if (need <= s->cap) return 0;
    Py_ssize_t cap = s->cap ? s->cap : 1024;
    while (cap < need) cap *= 2;
    int32_t *b = (int32_t *)realloc(s->buf, (size_t)cap * sizeof(int32_t));
    if (!b) return -1;
    s->buf = b;
    s->cap = cap;
    return 0;
}

/* The chain of the actor's first step-1 row s, by one forward scan; returns the depth. */
static int scan_first(int32_t s, int steps, const uint16_t *bits, int32_t L, const int64_t *t, int64_t window,
                      int ties_strict, int32_t *chain) {
    int64_t t1 = t[s];
    int32_t prev = s, i = s + 1;
    int d = 1;
    chain[0] = s;
    for (int k = 1; k < steps; k++) {
        uint16_t bit = (uint16_t)(1u << k);
        if (ties_strict)
            while (i < L && t[i] == t[prev]) i++;
        while (i < L && !(bits[i] & bit)) i++;
        if (i == L || t[i] - t1 > window) break;
        chain[k] = i;
        prev = i++;
        d++;
    }
    return d;
}

/* entry "any": the deepest chain, the latest start among equals (see the header). after[i] is the first
   row a search for the step after row i may use; lim[k] where the last search for step k began. */
static int deepest_any(int steps, const uint16_t *bits, int32_t L, const int64_t *t, int64_t window,
                       const int32_t *after, int32_t *best_start, int32_t *best_chain) {
    int32_t lim[MAX_STEPS], chain[MAX_STEPS];
    int best = 0;
    for (int k = 0; k < steps; k++) lim[k] = L;
    for (int32_t s = L - 1; s >= 0; s--) {
        if (!(bits[s] & 1)) continue;
        int64_t t1 = t[s];
        int32_t prev = s;
        int d = 1, dropped = 0;
        chain[0] = s;
        for (int k = 1; k < steps; k++) {
            uint16_t bit = (uint16_t)(1u << k);
            int32_t from = after[prev], stop = lim[k], i = from;
            lim[k] = from;
            while (i < stop && !(bits[i] & bit)) i++;
            if (i == stop && stop < L) { dropped = 1; break; }  /* joins a later start's chain */
            if (i == L || t[i] - t1 > window) break;
            chain[k] = i;
            prev = i;
            d++;
        }
        if (!dropped && d > best) {
            best = d;
            *best_start = s;
            for (int k = 0; k < d; k++) best_chain[k] = chain[k];
            if (d == steps) break;  /* no earlier start can go deeper */
        }
    }
    return best;
}

static PyObject *match_ordered(PyObject *self, PyObject *args) {
    Py_buffer ab, tb, bb, sb, db, rb, xb;
    int steps, entry_any, ties_strict;
    long long window;
    if (!PyArg_ParseTuple(args, "y*y*y*iLiiw*w*w*w*", &ab, &tb, &bb, &steps, &window, &entry_any, &ties_strict,
                          &sb, &db, &rb, &xb))
        return NULL;
    Py_ssize_t n = ab.len / 8, m = sb.len / 8;
    const char *problem = NULL;
    if (steps < 1 || steps > MAX_STEPS) problem = "steps must be from 1 to 16";
    else if (ab.len != n * 8 || tb.len != n * 8) problem = "actor and time must be int64 arrays of one length";
    else if (bb.len != n * 2) problem = "bits must be a uint16 array with one entry per row";
    else if (db.len != m * 8 || rb.len != (Py_ssize_t)steps * m * 8 || xb.len != rb.len)
        problem = "outputs must hold m, m, steps x m and steps x m int64";
    Py_ssize_t count = 0, actors = 0;
    int failed = 0;
    if (!problem) {
        const int64_t *actor = (const int64_t *)ab.buf, *time = (const int64_t *)tb.buf;
        const uint16_t *allbits = (const uint16_t *)bb.buf;
        int64_t *out_start = (int64_t *)sb.buf, *out_depth = (int64_t *)db.buf, *out_rows = (int64_t *)rb.buf;
        int64_t *out_times = (int64_t *)xb.buf;
        scratch_t scratch = {NULL, 0};
        int32_t best_chain[MAX_STEPS];
        Py_BEGIN_ALLOW_THREADS
        Py_ssize_t a = 0;
        while (a < n) {
            Py_ssize_t b = a + 1, starts = allbits[a] & 1;
            while (b < n && actor[b] == actor[a]) starts += allbits[b++] & 1;
            actors++;
            if (b - a >= INT32_MAX) { failed = 2; break; }
            if (!starts) { a = b; continue; }  /* no step-1 row: the actor does not enter */
            if (count >= m) { failed = 3; break; }
            int32_t L = (int32_t)(b - a), best_start = 0;
            const uint16_t *bits = allbits + a;
            const int64_t *t = time + a;
            int best;
            if (!entry_any || starts == 1 || steps == 1) {
                /* one chain: from the first start, or the only one, or the latest (all of depth 1) */
                if (entry_any) {
                    best_start = L - 1;
                    while (!(bits[best_start] & 1)) best_start--;
                } else {
                    while (!(bits[best_start] & 1)) best_start++;
                }
                best = scan_first(best_start, steps, bits, L, t, window, ties_strict, best_chain);
            } else {
                if (reserve(&scratch, (Py_ssize_t)L + 1)) { failed = 1; break; }
                int32_t *after = scratch.buf;
                after[L - 1] = L;
                for (int32_t i = L - 2; i >= 0; i--)
                    after[i] = (!ties_strict || t[i + 1] > t[i]) ? i + 1 : after[i + 1];
                best = deepest_any(steps, bits, L, t, window, after, &best_start, best_chain);
            }
            out_start[count] = a + best_start;
            out_depth[count] = best;
            for (int k = 0; k < steps; k++) {
                out_rows[(Py_ssize_t)k * m + count] = k < best ? a + best_chain[k] : -1;
                out_times[(Py_ssize_t)k * m + count] = k < best ? t[best_chain[k]] : -1;
            }
            count++;
            a = b;
        }
        free(scratch.buf);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&ab);
    PyBuffer_Release(&tb);
    PyBuffer_Release(&bb);
    PyBuffer_Release(&sb);
    PyBuffer_Release(&db);
    PyBuffer_Release(&rb);
    PyBuffer_Release(&xb);
    if (problem) {
        PyErr_SetString(PyExc_ValueError, problem);
        return NULL;
    }
    if (failed == 1) return PyErr_NoMemory();
    if (failed == 2) {
        PyErr_SetString(PyExc_ValueError, "an actor has 2**31 rows or more");
        return NULL;
    }
    if (failed == 3) {
        PyErr_SetString(PyExc_ValueError, "outputs are shorter than the number of entering actors");
        return NULL;
    }
    return Py_BuildValue("nn", count, actors);
}

/* count_distinct(values int64[n]) -> the number of distinct values, with a bitset over [min, max]. */
static PyObject *count_distinct(PyObject *self, PyObject *args) {
    Py_buffer vb;
    if (!PyArg_ParseTuple(args, "y*", &vb)) return NULL;
    Py_ssize_t n = vb.len / 8, distinct = 0;
    const int64_t *v = (const int64_t *)vb.buf;
    int failed = 0;
    if (vb.len != n * 8) failed = 1;
    else if (n) {
        Py_BEGIN_ALLOW_THREADS
        int64_t lo = v[0], hi = v[0];
        for (Py_ssize_t i = 1; i < n; i++) {
            if (v[i] < lo) lo = v[i];
            if (v[i] > hi) hi = v[i];
        }
        uint64_t span = (uint64_t)hi - (uint64_t)lo + 1;
        if (span > ((uint64_t)1 << 40)) failed = 2;
        else {
            uint64_t *bits = (uint64_t *)calloc((size_t)(span / 64 + 1), sizeof(uint64_t));
            if (!bits) failed = 3;
            else {
                for (Py_ssize_t i = 0; i < n; i++) {
                    uint64_t x = (uint64_t)(v[i] - lo), w = (uint64_t)1 << (x & 63);
                    distinct += !(bits[x >> 6] & w);
                    bits[x >> 6] |= w;
                }
                free(bits);
            }
        }
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&vb);
    if (failed == 1) {
        PyErr_SetString(PyExc_ValueError, "values must be an int64 array");
        return NULL;
    }
    if (failed == 2) {
        PyErr_SetString(PyExc_ValueError, "values span more than 2**40");
        return NULL;
    }
    if (failed == 3) return PyErr_NoMemory();
    return PyLong_FromSsize_t(distinct);
}

static PyMethodDef methods[] = {
    {"count_distinct", count_distinct, METH_VARARGS, "The number of distinct values of an int64 array."},
    {"match_ordered", match_ordered, METH_VARARGS, "Ordered funnel chains, one pass per actor (see _chains.py)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernel", "Compiled funnel kernel.", -1, methods};

PyMODINIT_FUNC PyInit__kernel(void) { return PyModule_Create(&module); }
