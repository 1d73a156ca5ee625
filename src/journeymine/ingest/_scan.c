/* The XES reader's first pass over a chunk (see _xes._structure; its NumPy form is the reference).
 *
 * marks(buf, n) -> (mark, mt, li) as bytes: the positions (int64) of every '<', '>' and '"' in
 * buf[:n], the byte at each (uint8), and the indices (int64) into mark of the '<'. Two passes (count,
 * then fill) comparing 16 bytes at a time with SSE2 where the compiler offers it; the GIL is released.
 *
 * views(buf, starts, ends) -> bytes: Arrow string views of buf[starts[i]:ends[i]] (see _xes._views).
 * quotes(...), names(...): per attribute tag and per tag, see their comments.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static inline int is_mark(uint8_t c) { return c == '<' || c == '>' || c == '"'; }

/* Calls visit(pos) for each mark in p[0:n], in order. */
#if defined(__SSE2__)
#define FOR_MARKS(p, n, visit)                                                                      \
    do {                                                                                            \
        const __m128i lt_ = _mm_set1_epi8('<'), gt_ = _mm_set1_epi8('>'), q_ = _mm_set1_epi8('"'); \
        Py_ssize_t i_ = 0;                                                                          \
        for (; i_ + 16 <= (n); i_ += 16) {                                                          \
            __m128i v_ = _mm_loadu_si128((const __m128i *)((p) + i_));                             \
            unsigned m_ = (unsigned)_mm_movemask_epi8(_mm_or_si128(                                 \
                _mm_or_si128(_mm_cmpeq_epi8(v_, lt_), _mm_cmpeq_epi8(v_, gt_)), _mm_cmpeq_epi8(v_, q_))); \
            while (m_) {                                                                            \
                Py_ssize_t pos = i_ + __builtin_ctz(m_);                                            \
                visit;                                                                              \
                m_ &= m_ - 1;                                                                       \
            }                                                                                       \
        }                                                                                           \
        for (; i_ < (n); i_++)                                                                      \
            if (is_mark((p)[i_])) {                                                                 \
                Py_ssize_t pos = i_;                                                                \
                visit;                                                                              \
            }                                                                                       \
    } while (0)
#else
#define FOR_MARKS(p, n, visit)                                                                      \
    do {                                                                                            \
        for (Py_ssize_t i_ = 0; i_ < (n); i_++)                                                     \
            if (is_mark((p)[i_])) {                                                                 \
                Py_ssize_t pos = i_;                                                                \
                visit;                                                                              \
            }                                                                                       \
    } while (0)
#endif

static PyObject *marks(PyObject *self, PyObject *args) {
    Py_buffer b;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "y*n", &b, &n)) return NULL;
    if (n < 0 || n > b.len) {
        PyBuffer_Release(&b);
        PyErr_SetString(PyExc_ValueError, "n must be from 0 to the buffer's length");
        return NULL;
    }
    const uint8_t *p = (const uint8_t *)b.buf;
    Py_ssize_t count = 0, opens = 0;
    Py_BEGIN_ALLOW_THREADS
    FOR_MARKS(p, n, { count++; opens += p[pos] == '<'; });
    Py_END_ALLOW_THREADS
    PyObject *mark = PyBytes_FromStringAndSize(NULL, count * 8);
    PyObject *mt = PyBytes_FromStringAndSize(NULL, count);
    PyObject *li = PyBytes_FromStringAndSize(NULL, opens * 8);
    if (!mark || !mt || !li) {
        Py_XDECREF(mark);
        Py_XDECREF(mt);
        Py_XDECREF(li);
        PyBuffer_Release(&b);
        return NULL;
    }
    int64_t *mo = (int64_t *)PyBytes_AS_STRING(mark), *lo = (int64_t *)PyBytes_AS_STRING(li);
    uint8_t *to = (uint8_t *)PyBytes_AS_STRING(mt);
    Py_BEGIN_ALLOW_THREADS
    Py_ssize_t k = 0, j = 0;
    FOR_MARKS(p, n, {
        uint8_t c = p[pos];
        mo[k] = pos;
        to[k] = c;
        if (c == '<') lo[j++] = k;
        k++;
    });
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&b);
    return Py_BuildValue("NNN", mark, mt, li);
}

/* views(starts int64[m], ends int64[m]) -> bytes: the Arrow string view (16 bytes) of buf[starts[i]:ends[i]]
   for each i, referring to buffer 0 (the chunk), which the caller passes as the array's data buffer. */
static PyObject *views(PyObject *self, PyObject *args) {
    Py_buffer b, sb, eb;
    if (!PyArg_ParseTuple(args, "y*y*y*", &b, &sb, &eb)) return NULL;
    Py_ssize_t m = sb.len / 8;
    const char *problem = NULL;
    if (sb.len != m * 8 || eb.len != sb.len) problem = "starts and ends must be int64 arrays of one length";
    else if (b.len >= INT32_MAX) problem = "the buffer must be smaller than 2 GB";
    PyObject *out = problem ? NULL : PyBytes_FromStringAndSize(NULL, m * 16);
    if (out) {
        const uint8_t *p = (const uint8_t *)b.buf;
        const int64_t *st = (const int64_t *)sb.buf, *en = (const int64_t *)eb.buf;
        uint8_t *v = (uint8_t *)PyBytes_AS_STRING(out);
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i = 0; i < m; i++, v += 16) {
            int64_t s = st[i], e = en[i];
            if (s < 0 || e < s || e > b.len) { problem = "a view outside the buffer"; break; }
            int32_t len = (int32_t)(e - s), zero = 0, offset = (int32_t)s;
            memset(v, 0, 16);
            memcpy(v, &len, 4);
            if (len <= 12) {
                memcpy(v + 4, p + s, (size_t)len);
            } else {
                memcpy(v + 4, p + s, 4);
                memcpy(v + 8, &zero, 4);
                memcpy(v + 12, &offset, 4);
            }
        }
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&b);
    PyBuffer_Release(&sb);
    PyBuffer_Release(&eb);
    if (problem) {
        Py_XDECREF(out);
        PyErr_SetString(PyExc_ValueError, problem);
        return NULL;
    }
    return out;
}

static inline uint64_t load64(const uint8_t *p, Py_ssize_t len, int64_t at) {
    uint64_t x = 0;
    if (at >= 0 && at + 8 <= len) memcpy(&x, p + at, 8);
    return x;
}

/* Whether p[lo:hi] holds a byte that needs XML decoding or JSON escaping: & \\ tab LF CR. */
static inline int has_special(const uint8_t *p, int64_t lo, int64_t hi) {
    for (int64_t j = lo; j < hi; j++) {
        uint8_t c = p[j];
        if (c == '&' || c == '\\' || c == '\t' || c == '\n' || c == '\r') return 1;
    }
    return 0;
}

static inline uint64_t low_bytes(int64_t k) { return k >= 8 ? ~(uint64_t)0 : (((uint64_t)1 << (8 * k)) - 1); }

/* quotes(buf, s, e, nl, mark, mt, ia) -> (fast, q0, q1, q2, q3, klen, fp) as bytes, per attribute tag i
   starting at s[i], ending ('>') at e[i], with name length nl[i] and its '<' at mark index ia[i]:
   fast (uint8) when the tag is exactly <name key="K" value="V" ...>, then q0..q3 (int64) the positions of
   its four quotes (0 when not fast), klen the key's length, fp (uint64) a fingerprint of the key from
   its bytes 0-7, 8-15, its last 8 and its length, and whether the key and the value (fast tags only)
   hold a byte that needs decoding or escaping (see _xes._quotes, the NumPy form). */
static PyObject *quotes(PyObject *self, PyObject *args) {
    Py_buffer b, sb, eb, nb, mb, tb, ib;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*y*", &b, &sb, &eb, &nb, &mb, &tb, &ib)) return NULL;
    Py_ssize_t m = sb.len / 8, marks = mb.len / 8;
    const char *problem = NULL;
    if (sb.len != m * 8 || eb.len != sb.len || nb.len != sb.len || ib.len != sb.len || mb.len != marks * 8 ||
        tb.len != marks)
        problem = "s, e, nl, ia must be int64 arrays of one length and mt one byte per mark";
    PyObject *fast = NULL, *q[4] = {NULL, NULL, NULL, NULL}, *kl = NULL, *fpo = NULL, *ksp = NULL, *vsp = NULL;
    if (!problem) {
        ksp = PyBytes_FromStringAndSize(NULL, m);
        vsp = PyBytes_FromStringAndSize(NULL, m);
        fast = PyBytes_FromStringAndSize(NULL, m);
        for (int j = 0; j < 4; j++) q[j] = PyBytes_FromStringAndSize(NULL, m * 8);
        kl = PyBytes_FromStringAndSize(NULL, m * 8);
        fpo = PyBytes_FromStringAndSize(NULL, m * 8);
    }
    if (!problem && fast && q[0] && q[1] && q[2] && q[3] && kl && fpo && ksp && vsp) {
        uint8_t *KS = (uint8_t *)PyBytes_AS_STRING(ksp), *VS = (uint8_t *)PyBytes_AS_STRING(vsp);
        const uint8_t *p = (const uint8_t *)b.buf, *mt = (const uint8_t *)tb.buf;
        const int64_t *S = (const int64_t *)sb.buf, *E = (const int64_t *)eb.buf, *NL = (const int64_t *)nb.buf;
        const int64_t *mark = (const int64_t *)mb.buf, *IA = (const int64_t *)ib.buf;
        uint8_t *F = (uint8_t *)PyBytes_AS_STRING(fast);
        int64_t *Q[4], *K = (int64_t *)PyBytes_AS_STRING(kl);
        uint64_t *FP = (uint64_t *)PyBytes_AS_STRING(fpo);
        for (int j = 0; j < 4; j++) Q[j] = (int64_t *)PyBytes_AS_STRING(q[j]);
        const uint64_t key_eq = 0x3D79656BULL;            /* "key=" little-endian */
        const uint64_t value_eq = 0x3D65756C617620ULL;    /* " value=" little-endian, 7 bytes */
        Py_ssize_t len = b.len;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i = 0; i < m; i++) {
            int64_t at[6], qq[4];
            for (int j = 0; j < 6; j++) at[j] = IA[i] + j < marks ? IA[i] + j : marks - 1;
            for (int j = 0; j < 4; j++) qq[j] = mark[at[j + 1]];
            int64_t name_end = S[i] + NL[i];
            int ok = mt[at[1]] == '"' && mt[at[2]] == '"' && mt[at[3]] == '"' && mt[at[4]] == '"' &&
                     mark[at[5]] == E[i] && qq[0] == name_end + 6 && name_end + 1 < len && p[name_end + 1] == ' ' &&
                     qq[2] == qq[1] + 8;
            if (ok) {
                uint32_t w = 0;
                memcpy(&w, p + qq[0] - 4, 4);
                ok = w == (uint32_t)key_eq && (load64(p, len, qq[1] + 1) & low_bytes(7)) == value_eq;
            }
            F[i] = (uint8_t)ok;
            for (int j = 0; j < 4; j++) Q[j][i] = ok ? qq[j] : 0;
            int64_t q0 = ok ? qq[0] : 0, q1 = ok ? qq[1] : 0;
            int64_t klen = q1 - q0 - 1 > 0 ? q1 - q0 - 1 : 0;
            uint64_t fp = (load64(p, len, q0 + 1) & low_bytes(klen < 8 ? klen : 8)) ^ (uint64_t)klen;
            int64_t k2 = klen - 8 < 0 ? 0 : (klen - 8 > 8 ? 8 : klen - 8);
            fp ^= (load64(p, len, q0 + 9) & low_bytes(k2)) * 0xC2B2AE3D27D4EB4FULL;
            if (klen > 16) fp ^= load64(p, len, q1 - 8 > 0 ? q1 - 8 : 0) * 0x9E3779B97F4A7C15ULL;
            K[i] = klen;
            FP[i] = fp;
            KS[i] = ok && has_special(p, qq[0] + 1, qq[1]);
            VS[i] = ok && has_special(p, qq[2] + 1, qq[3]);
        }
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&b);
    PyBuffer_Release(&sb);
    PyBuffer_Release(&eb);
    PyBuffer_Release(&nb);
    PyBuffer_Release(&mb);
    PyBuffer_Release(&tb);
    PyBuffer_Release(&ib);
    if (problem || !fast || !q[0] || !q[1] || !q[2] || !q[3] || !kl || !fpo || !ksp || !vsp) {
        Py_XDECREF(ksp);
        Py_XDECREF(vsp);
        Py_XDECREF(fast);
        for (int j = 0; j < 4; j++) Py_XDECREF(q[j]);
        Py_XDECREF(kl);
        Py_XDECREF(fpo);
        if (problem) PyErr_SetString(PyExc_ValueError, problem);
        return NULL;
    }
    return Py_BuildValue("NNNNNNNNN", fast, q[0], q[1], q[2], q[3], kl, fpo, ksp, vsp);
}

/* names(buf, npos, named, start, tv, tl, tk) -> (nl int64, hm uint64, kind int8) as bytes, per tag whose
   name starts at npos[i]: the name's length (the bytes before the first byte below 0x21, '/' or '>'
   among the first 8; for a named tag longer than that, before the first space, tab, CR, LF, '/' or
   '>'), its first min(nl, 8) bytes as a little-endian integer, and for a start tag the kind of element
   whose (tv, tl) entry matches (tk), else 0 (OTHER). The NumPy form is in _xes._structure. */
static PyObject *names(PyObject *self, PyObject *args) {
    Py_buffer b, pb, nb, sb, vb, lb, kb;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*y*", &b, &pb, &nb, &sb, &vb, &lb, &kb)) return NULL;
    Py_ssize_t m = pb.len / 8, entries = vb.len / 8;
    const char *problem = NULL;
    if (pb.len != m * 8 || nb.len != m || sb.len != m || lb.len != entries * 8 || kb.len != entries)
        problem = "npos int64, named and start one byte per tag, tv/tl/tk one entry per element name";
    PyObject *nlo = problem ? NULL : PyBytes_FromStringAndSize(NULL, m * 8);
    PyObject *hmo = problem ? NULL : PyBytes_FromStringAndSize(NULL, m * 8);
    PyObject *ko = problem ? NULL : PyBytes_FromStringAndSize(NULL, m);
    if (nlo && hmo && ko) {
        const uint8_t *p = (const uint8_t *)b.buf, *named = (const uint8_t *)nb.buf, *start = (const uint8_t *)sb.buf;
        const int64_t *npos = (const int64_t *)pb.buf, *tl = (const int64_t *)lb.buf;
        const uint64_t *tv = (const uint64_t *)vb.buf;
        const int8_t *tk = (const int8_t *)kb.buf;
        int64_t *NL = (int64_t *)PyBytes_AS_STRING(nlo);
        uint64_t *HM = (uint64_t *)PyBytes_AS_STRING(hmo);
        int8_t *K = (int8_t *)PyBytes_AS_STRING(ko);
        Py_ssize_t len = b.len;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i = 0; i < m; i++) {
            int64_t at = npos[i], k = 0;
            uint64_t h = load64(p, len, at);
            while (k < 8) {
                uint8_t c = (uint8_t)(h >> (8 * k));
                if (c < 0x21 || c == '/' || c == '>') break;
                k++;
            }
            if (k == 8 && named[i]) {
                while (at + k < len) {
                    uint8_t c = p[at + k];
                    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '/' || c == '>') break;
                    k++;
                }
            }
            uint64_t hm = h & low_bytes(k < 8 ? k : 8);
            int8_t kind = 0;
            if (start[i])
                for (Py_ssize_t j = 0; j < entries; j++)
                    if (tv[j] == hm && tl[j] == k) { kind = tk[j]; break; }
            NL[i] = k;
            HM[i] = hm;
            K[i] = kind;
        }
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&b);
    PyBuffer_Release(&pb);
    PyBuffer_Release(&nb);
    PyBuffer_Release(&sb);
    PyBuffer_Release(&vb);
    PyBuffer_Release(&lb);
    PyBuffer_Release(&kb);
    if (problem || !nlo || !hmo || !ko) {
        Py_XDECREF(nlo);
        Py_XDECREF(hmo);
        Py_XDECREF(ko);
        if (problem) PyErr_SetString(PyExc_ValueError, problem);
        return NULL;
    }
    return Py_BuildValue("NNN", nlo, hmo, ko);
}

/* objects(frag_offsets int64[f+1], frag_data, frag_valid uint8[f], take int64[r], groups int64[size+1])
   -> (offsets int32[size+1], data, valid uint8[size]) as bytes: per group g, "{" + the fragments
   take[groups[g]:groups[g+1]] joined by "," + "}"; null for an empty group or one holding a null
   fragment (as Arrow's binary_join). The NumPy/Arrow form is _xes._objects. */
static PyObject *objects(PyObject *self, PyObject *args) {
    Py_buffer ob, db, vb, tb, gb;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*", &ob, &db, &vb, &tb, &gb)) return NULL;
    Py_ssize_t f = ob.len / 8 - 1, r = tb.len / 8, size = gb.len / 8 - 1;
    const int64_t *fo = (const int64_t *)ob.buf, *take = (const int64_t *)tb.buf, *groups = (const int64_t *)gb.buf;
    const uint8_t *fd = (const uint8_t *)db.buf, *fv = (const uint8_t *)vb.buf;
    const char *problem = NULL;
    if (f < 0 || size < 0 || ob.len != (f + 1) * 8 || vb.len != f || tb.len != r * 8 || gb.len != (size + 1) * 8)
        problem = "offsets, validity, take and groups do not fit together";
    int64_t total = 0;
    if (!problem) {
        for (Py_ssize_t g = 0; g < size && !problem; g++) {
            int64_t lo = groups[g], hi = groups[g + 1];
            if (lo < 0 || hi < lo || hi > r) { problem = "groups outside take"; break; }
            if (hi == lo) continue;
            total += 2 + (hi - lo - 1);
            for (int64_t j = lo; j < hi; j++) {
                int64_t k = take[j];
                if (k < 0 || k >= f || fo[k] < 0 || fo[k + 1] < fo[k] || fo[k + 1] > db.len) {
                    problem = "a fragment outside the data";
                    break;
                }
                total += fo[k + 1] - fo[k];
            }
        }
        if (!problem && total >= INT32_MAX) problem = "the objects hold 2 GB or more";
    }
    PyObject *oo = problem ? NULL : PyBytes_FromStringAndSize(NULL, (size + 1) * 4);
    PyObject *dd = problem ? NULL : PyBytes_FromStringAndSize(NULL, total);
    PyObject *vv = problem ? NULL : PyBytes_FromStringAndSize(NULL, size);
    if (oo && dd && vv) {
        int32_t *outo = (int32_t *)PyBytes_AS_STRING(oo);
        uint8_t *out = (uint8_t *)PyBytes_AS_STRING(dd), *valid = (uint8_t *)PyBytes_AS_STRING(vv);
        int64_t at = 0;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t g = 0; g < size; g++) {
            int64_t lo = groups[g], hi = groups[g + 1];
            int ok = hi > lo;
            for (int64_t j = lo; j < hi && ok; j++) ok = fv[take[j]] != 0;
            outo[g] = (int32_t)at;
            valid[g] = (uint8_t)ok;
            if (!ok) continue;
            out[at++] = '{';
            for (int64_t j = lo; j < hi; j++) {
                int64_t k = take[j], n = fo[k + 1] - fo[k];
                if (j > lo) out[at++] = ',';
                memcpy(out + at, fd + fo[k], (size_t)n);
                at += n;
            }
            out[at++] = '}';
        }
        outo[size] = (int32_t)at;
        Py_END_ALLOW_THREADS
        if (at < total) _PyBytes_Resize(&dd, at);
    }
    PyBuffer_Release(&ob);
    PyBuffer_Release(&db);
    PyBuffer_Release(&vb);
    PyBuffer_Release(&tb);
    PyBuffer_Release(&gb);
    if (problem || !oo || !dd || !vv) {
        Py_XDECREF(oo);
        Py_XDECREF(dd);
        Py_XDECREF(vv);
        if (problem) PyErr_SetString(PyExc_ValueError, problem);
        return NULL;
    }
    return Py_BuildValue("NNN", oo, dd, vv);
}

static PyMethodDef methods[] = {
    {"objects", objects, METH_VARARGS, "JSON objects joined from fragments, per group."},
    {"names", names, METH_VARARGS, "Element name lengths, prefixes and kinds of tags."},
    {"quotes", quotes, METH_VARARGS, "The quotes, key length and key fingerprint of attribute tags."},
    {"views", views, METH_VARARGS, "Arrow string views of slices of one buffer."},
    {"marks", marks, METH_VARARGS, "Positions of every '<', '>' and '\"', their bytes and the '<' among them."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_scan", "The XES reader's first pass.", -1, methods};

PyMODINIT_FUNC PyInit__scan(void) { return PyModule_Create(&module); }
