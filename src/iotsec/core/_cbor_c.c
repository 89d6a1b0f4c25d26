/*
 * iotsec.core._cbor_c: a strict one-pass CBOR decoder for the common case (RFC 8949).
 *
 * decode(data, deterministic, max_depth) decodes ``data`` (bytes) as exactly one data item and
 * returns what cbor2.loads returns for the same bytes, or the module's FALLBACK object when the
 * input is anything else than the plain well-formed, preferred-serialization case. The Python
 * callers (iotsec.core.cbor, iotsec.core.deterministic) then take their exact path, which
 * accepts or refuses the input and names the problem. So this decoder never reports an error of
 * its own: it only decides faster for the input it fully understands.
 *
 * Handled: unsigned and negative integers (64-bit arguments), byte and text strings (UTF-8
 * checked), arrays, maps, tags that cbor2 leaves as CBORTag, false, true, null. Everything else
 * (floats, undefined, other simple values, indefinite lengths, cbor2's semantic tags, maps or
 * tags as map keys, duplicate or colliding keys) returns FALLBACK.
 *
 * Rules enforced (§4.2.1 "preferred serialization", §3): shortest argument encodings, definite
 * lengths, no trailing bytes, no duplicate keys (two keys that Python merges in one dict, as 1
 * and true, count as duplicates), and the caller's nesting limit. With ``deterministic`` the map
 * keys must also be in strictly increasing bytewise order of their encodings (§4.2.1).
 *
 * encode(obj) (below) is the matching deterministic encoder.
 *
 * Nesting limits, to be the same as the Python paths: with ``deterministic`` an item enclosed
 * in L containers (arrays, maps, tags) needs L <= max_depth; otherwise a container enclosed in L
 * containers needs L < max_depth.
 *
 * Every length is checked against the bytes left before it is used; counts of array and map
 * items are bounded by the bytes left (each item takes at least one byte), so no allocation is
 * larger than the input.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAX_SUPPORTED_DEPTH 512

static PyObject *FALLBACK;      /* the sentinel returned for "take the exact path" */
static PyObject *TAG_CLASS;     /* cbor2.CBORTag, set by configure() */
static PyObject *SEMANTIC_TAGS; /* frozenset of tag numbers that cbor2 interprets */

typedef struct {
    const uint8_t *data;
    Py_ssize_t end;
    Py_ssize_t pos;
    int deterministic;
    int max_depth;
} Reader;

/* Read the argument of the item whose initial byte is at r->pos. Returns 0 and sets *major and
 * *arg, or -1 (fallback) for indefinite lengths, reserved values, major 7 with info >= 24,
 * truncation, or an argument not in its shortest form. */
static int read_head(Reader *r, int *major, uint64_t *arg) {
    if (r->pos >= r->end) {
        return -1;
    }
    uint8_t ib = r->data[r->pos++];
    int info = ib & 0x1f;
    *major = ib >> 5;
    if (info < 24) {
        *arg = (uint64_t)info;
        return 0;
    }
    if (info > 27 || *major == 7) {
        return -1;
    }
    Py_ssize_t n = (Py_ssize_t)1 << (info - 24);
    if (r->end - r->pos < n) {
        return -1;
    }
    uint64_t v = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        v = (v << 8) | r->data[r->pos + i];
    }
    r->pos += n;
    static const uint64_t minimum[4] = {24, 0x100, 0x10000, 0x100000000ULL};
    if (v < minimum[info - 24]) {
        return -1;
    }
    *arg = v;
    return 0;
}

static PyObject *item(Reader *r, int level, int as_key);

/* Bytewise lexicographic comparison of two encodings (§4.2.1). */
static int encoding_less(const uint8_t *a, Py_ssize_t alen, const uint8_t *b, Py_ssize_t blen) {
    Py_ssize_t n = alen < blen ? alen : blen;
    int c = memcmp(a, b, (size_t)n);
    if (c != 0) {
        return c < 0;
    }
    return alen < blen;
}

static PyObject *array(Reader *r, uint64_t count, int level, int as_key) {
    if ((uint64_t)(r->end - r->pos) < count) {
        return NULL;
    }
    PyObject *list = PyList_New((Py_ssize_t)count);
    if (list == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < (Py_ssize_t)count; i++) {
        PyObject *v = item(r, level + 1, as_key);
        if (v == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, v);
    }
    if (as_key) { /* cbor2 makes array keys immutable */
        PyObject *t = PyList_AsTuple(list);
        Py_DECREF(list);
        return t;
    }
    return list;
}

static PyObject *map(Reader *r, uint64_t count, int level) {
    if ((uint64_t)(r->end - r->pos) / 2 < count) {
        return NULL;
    }
    PyObject *dict = PyDict_New();
    if (dict == NULL) {
        return NULL;
    }
    Py_ssize_t prev_start = 0, prev_end = 0;
    for (uint64_t i = 0; i < count; i++) {
        Py_ssize_t start = r->pos;
        PyObject *k = item(r, level + 1, 1);
        if (k == NULL) {
            Py_DECREF(dict);
            return NULL;
        }
        if (r->deterministic) {
            if (i > 0 && !encoding_less(r->data + prev_start, prev_end - prev_start, r->data + start,
                                        r->pos - start)) {
                Py_DECREF(k);
                Py_DECREF(dict);
                return NULL;
            }
            prev_start = start;
            prev_end = r->pos;
        }
        PyObject *v = item(r, level + 1, 0);
        if (v == NULL) {
            Py_DECREF(k);
            Py_DECREF(dict);
            return NULL;
        }
        int rc = PyDict_SetItem(dict, k, v);
        Py_DECREF(k);
        Py_DECREF(v);
        if (rc < 0) {
            Py_DECREF(dict);
            return NULL;
        }
        if ((uint64_t)PyDict_GET_SIZE(dict) != i + 1) { /* duplicate, or keys Python merges */
            Py_DECREF(dict);
            return NULL;
        }
    }
    return dict;
}

static PyObject *item(Reader *r, int level, int as_key) {
    if (r->deterministic ? level > r->max_depth : 0) {
        return NULL;
    }
    if (r->pos >= r->end) {
        return NULL;
    }
    uint8_t ib = r->data[r->pos];
    if (ib < 0x18) {
        r->pos++;
        return PyLong_FromLong(ib);
    }
    if (ib == 0xf4 || ib == 0xf5 || ib == 0xf6) {
        r->pos++;
        PyObject *v = ib == 0xf4 ? Py_False : ib == 0xf5 ? Py_True : Py_None;
        Py_INCREF(v);
        return v;
    }
    int major;
    uint64_t arg;
    if (read_head(r, &major, &arg) < 0) {
        return NULL;
    }
    switch (major) {
    case 0:
        return PyLong_FromUnsignedLongLong(arg);
    case 1:
        if (arg > (uint64_t)INT64_MAX) {
            return NULL; /* below -2**63: rare, left to the exact path */
        }
        return PyLong_FromLongLong(-1 - (long long)arg);
    case 2:
    case 3: {
        if ((uint64_t)(r->end - r->pos) < arg) {
            return NULL;
        }
        const char *p = (const char *)(r->data + r->pos);
        r->pos += (Py_ssize_t)arg;
        if (major == 2) {
            return PyBytes_FromStringAndSize(p, (Py_ssize_t)arg);
        }
        PyObject *s = PyUnicode_DecodeUTF8(p, (Py_ssize_t)arg, "strict");
        if (s == NULL && PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
            PyErr_Clear(); /* invalid UTF-8: the exact path reports it */
        }
        return s;
    }
    case 4:
    case 5:
    case 6:
        if (!r->deterministic && level >= r->max_depth) {
            return NULL;
        }
        if (major == 4) {
            return array(r, arg, level, as_key);
        }
        if (major == 5) {
            return as_key ? NULL : map(r, arg, level);
        }
        {
            if (as_key) {
                return NULL;
            }
            PyObject *number = PyLong_FromUnsignedLongLong(arg);
            if (number == NULL) {
                return NULL;
            }
            int semantic = PySet_Contains(SEMANTIC_TAGS, number);
            if (semantic != 0) { /* cbor2 builds its own objects (or an error occurred) */
                Py_DECREF(number);
                return NULL;
            }
            PyObject *v = item(r, level + 1, 0);
            if (v == NULL) {
                Py_DECREF(number);
                return NULL;
            }
            PyObject *tag = PyObject_CallFunctionObjArgs(TAG_CLASS, number, v, NULL);
            Py_DECREF(number);
            Py_DECREF(v);
            return tag;
        }
    default:
        return NULL;
    }
}

static PyObject *decode(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 3 || !PyBytes_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "decode(data: bytes, deterministic: bool, max_depth: int)");
        return NULL;
    }
    if (TAG_CLASS == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "configure() was not called");
        return NULL;
    }
    int deterministic = PyObject_IsTrue(args[1]);
    long max_depth = PyLong_AsLong(args[2]);
    if (deterministic < 0 || (max_depth == -1 && PyErr_Occurred())) {
        return NULL;
    }
    if (max_depth < 0 || max_depth > MAX_SUPPORTED_DEPTH) {
        Py_INCREF(FALLBACK);
        return FALLBACK;
    }
    Reader r = {(const uint8_t *)PyBytes_AS_STRING(args[0]), PyBytes_GET_SIZE(args[0]), 0,
                deterministic, (int)max_depth};
    PyObject *v = item(&r, 0, 0);
    if (v == NULL) {
        if (PyErr_Occurred()) {
            return NULL; /* MemoryError and the like */
        }
        Py_INCREF(FALLBACK);
        return FALLBACK;
    }
    if (r.pos != r.end) {
        Py_DECREF(v);
        Py_INCREF(FALLBACK);
        return FALLBACK;
    }
    return v;
}


/* ---------------------------------------------------------------------------------------------
 * encode(obj): the deterministic encoding of RFC 8949 §4.2.1 (preferred arguments, definite
 * lengths, map keys sorted by the bytewise order of their encodings) for ints within 64 bits,
 * bools, None, bytes, str, lists, tuples, dicts and CBORTag; FALLBACK for any other value (floats,
 * big integers, dates...), which the Python encoder then handles. The output is byte for byte what
 * iotsec.core.cbor.dumps produces in Python (tests/core/test_cbor_c.py).
 */

#define MAX_ENCODE_DEPTH 1000

typedef struct {
    uint8_t *buf;
    size_t len;
    size_t cap;
} Buffer;

static int buf_reserve(Buffer *b, size_t extra) {
    if (b->cap - b->len >= extra) {
        return 0;
    }
    size_t cap = b->cap ? b->cap : 128;
    while (cap - b->len < extra) {
        if (cap > ((size_t)PY_SSIZE_T_MAX) / 2) {
            PyErr_NoMemory();
            return -1;
        }
        cap *= 2;
    }
    uint8_t *p = PyMem_Realloc(b->buf, cap);
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->buf = p;
    b->cap = cap;
    return 0;
}

static int put_head(Buffer *b, int major, uint64_t arg) {
    if (buf_reserve(b, 9) < 0) {
        return -1;
    }
    uint8_t *p = b->buf + b->len;
    uint8_t mt = (uint8_t)(major << 5);
    if (arg < 24) {
        p[0] = mt | (uint8_t)arg;
        b->len += 1;
    } else if (arg <= 0xff) {
        p[0] = mt | 24;
        p[1] = (uint8_t)arg;
        b->len += 2;
    } else if (arg <= 0xffff) {
        p[0] = mt | 25;
        p[1] = (uint8_t)(arg >> 8);
        p[2] = (uint8_t)arg;
        b->len += 3;
    } else if (arg <= 0xffffffffULL) {
        p[0] = mt | 26;
        for (int i = 0; i < 4; i++) {
            p[1 + i] = (uint8_t)(arg >> (24 - 8 * i));
        }
        b->len += 5;
    } else {
        p[0] = mt | 27;
        for (int i = 0; i < 8; i++) {
            p[1 + i] = (uint8_t)(arg >> (56 - 8 * i));
        }
        b->len += 9;
    }
    return 0;
}

static int put_bytes(Buffer *b, int major, const char *data, Py_ssize_t n) {
    if (put_head(b, major, (uint64_t)n) < 0 || buf_reserve(b, (size_t)n) < 0) {
        return -1;
    }
    memcpy(b->buf + b->len, data, (size_t)n);
    b->len += (size_t)n;
    return 0;
}

/* 0 on success, -1 with an exception set, 1 for "fallback" (no exception set). */
static int enc(Buffer *b, PyObject *obj, int depth);

typedef struct {
    size_t start; /* offset of the key's encoding in the scratch buffer */
    size_t klen;
    PyObject *value;
} Entry;

/* the key encodings that entry_cmp compares; set right before each qsort (the GIL is held for
 * the whole encode, and no Python code runs between setting it and sorting) */
static const uint8_t *sort_base;

static int entry_cmp(const void *pa, const void *pb) {
    const Entry *a = pa, *b = pb;
    size_t n = a->klen < b->klen ? a->klen : b->klen;
    int c = memcmp(sort_base + a->start, sort_base + b->start, n);
    if (c != 0) {
        return c;
    }
    return a->klen < b->klen ? -1 : a->klen > b->klen ? 1 : 0;
}

static int enc_map(Buffer *b, PyObject *obj, int depth) {
    Py_ssize_t n = PyDict_GET_SIZE(obj);
    if (put_head(b, 5, (uint64_t)n) < 0) {
        return -1;
    }
    if (n == 0) {
        return 0;
    }
    Entry *entries = PyMem_Malloc(sizeof(Entry) * (size_t)n);
    Buffer keys = {NULL, 0, 0};
    int rc = 0;
    if (entries == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    PyObject *k, *v;
    Py_ssize_t pos = 0, i = 0;
    while (PyDict_Next(obj, &pos, &k, &v)) {
        if (i >= n) { /* the dict changed size while encoding */
            rc = 1;
            goto done;
        }
        size_t start = keys.len;
        rc = enc(&keys, k, depth + 1);
        if (rc != 0) {
            goto done;
        }
        entries[i].start = start;
        entries[i].klen = keys.len - start;
        entries[i].value = v;
        i++;
    }
    if (i != n) {
        rc = 1;
        goto done;
    }
    sort_base = keys.buf;
    qsort(entries, (size_t)n, sizeof(Entry), entry_cmp);
    for (i = 0; i < n; i++) {
        if (i > 0 && entry_cmp(&entries[i - 1], &entries[i]) == 0) {
            rc = 1; /* two keys with one encoding: left to the Python encoder */
            goto done;
        }
    }
    for (i = 0; i < n; i++) {
        if (buf_reserve(b, entries[i].klen) < 0) {
            rc = -1;
            goto done;
        }
        memcpy(b->buf + b->len, keys.buf + entries[i].start, entries[i].klen);
        b->len += entries[i].klen;
        rc = enc(b, entries[i].value, depth + 1);
        if (rc != 0) {
            goto done;
        }
    }
done:
    PyMem_Free(entries);
    PyMem_Free(keys.buf);
    return rc;
}

static int enc(Buffer *b, PyObject *obj, int depth) {
    if (depth > MAX_ENCODE_DEPTH) {
        return 1;
    }
    if (obj == Py_None || obj == Py_True || obj == Py_False) {
        if (buf_reserve(b, 1) < 0) {
            return -1;
        }
        b->buf[b->len++] = obj == Py_None ? 0xf6 : obj == Py_True ? 0xf5 : 0xf4;
        return 0;
    }
    if (PyLong_Check(obj)) {
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
        if (overflow == 0) {
            if (v == -1 && PyErr_Occurred()) {
                return -1;
            }
            return v >= 0 ? put_head(b, 0, (uint64_t)v) : put_head(b, 1, (uint64_t)(-1 - v));
        }
        if (overflow > 0) {
            unsigned long long u = PyLong_AsUnsignedLongLong(obj);
            if (u == (unsigned long long)-1 && PyErr_Occurred()) {
                PyErr_Clear();
                return 1; /* a bignum: the Python encoder */
            }
            return put_head(b, 0, (uint64_t)u);
        }
        return 1; /* below -2**63 */
    }
    if (PyBytes_Check(obj)) {
        return put_bytes(b, 2, PyBytes_AS_STRING(obj), PyBytes_GET_SIZE(obj));
    }
    if (PyUnicode_Check(obj)) {
        Py_ssize_t n;
        const char *s = PyUnicode_AsUTF8AndSize(obj, &n);
        if (s == NULL) {
            if (PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
                PyErr_Clear(); /* lone surrogates: the Python encoder reports them */
                return 1;
            }
            return -1;
        }
        return put_bytes(b, 3, s, n);
    }
    if (PyList_Check(obj) || PyTuple_Check(obj)) {
        PyObject *seq = obj;
        Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
        if (put_head(b, 4, (uint64_t)n) < 0) {
            return -1;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            /* a list may change size while an item is encoded (never here: no Python code runs) */
            if (i >= PySequence_Fast_GET_SIZE(seq)) {
                return 1;
            }
            int rc = enc(b, PySequence_Fast_GET_ITEM(seq, i), depth + 1);
            if (rc != 0) {
                return rc;
            }
        }
        return 0;
    }
    if (PyDict_Check(obj)) {
        return enc_map(b, obj, depth);
    }
    if (TAG_CLASS != NULL && Py_IS_TYPE(obj, (PyTypeObject *)TAG_CLASS)) {
        PyObject *tag = PyObject_GetAttrString(obj, "tag");
        if (tag == NULL) {
            return -1;
        }
        unsigned long long t = PyLong_Check(tag) ? PyLong_AsUnsignedLongLong(tag) : (unsigned long long)-1;
        Py_DECREF(tag);
        if (t == (unsigned long long)-1) {
            PyErr_Clear();
            return 1;
        }
        PyObject *value = PyObject_GetAttrString(obj, "value");
        if (value == NULL) {
            return -1;
        }
        int rc = put_head(b, 6, (uint64_t)t);
        if (rc == 0) {
            rc = enc(b, value, depth + 1);
        }
        Py_DECREF(value);
        return rc;
    }
    return 1;
}

static PyObject *encode(PyObject *self, PyObject *obj) {
    (void)self;
    Buffer b = {NULL, 0, 0};
    int rc = enc(&b, obj, 0);
    PyObject *out;
    if (rc < 0) {
        out = NULL;
    } else if (rc > 0) {
        Py_INCREF(FALLBACK);
        out = FALLBACK;
    } else {
        out = PyBytes_FromStringAndSize((const char *)b.buf, (Py_ssize_t)b.len);
    }
    PyMem_Free(b.buf);
    return out;
}

static PyObject *configure(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 2 || !PyFrozenSet_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "configure(tag_class, semantic_tags: frozenset[int])");
        return NULL;
    }
    Py_INCREF(args[0]);
    Py_XSETREF(TAG_CLASS, args[0]);
    Py_INCREF(args[1]);
    Py_XSETREF(SEMANTIC_TAGS, args[1]);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"decode", (PyCFunction)(void (*)(void))decode, METH_FASTCALL,
     "decode(data, deterministic, max_depth): the decoded item, or FALLBACK."},
    {"encode", (PyCFunction)encode, METH_O,
     "encode(obj): the deterministic encoding (RFC 8949 §4.2.1), or FALLBACK."},
    {"configure", (PyCFunction)(void (*)(void))configure, METH_FASTCALL,
     "configure(tag_class, semantic_tags): the CBORTag class and the tags left to cbor2."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "iotsec.core._cbor_c",
    .m_doc = "Strict one-pass CBOR decoder for the common case; see the C source.",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__cbor_c(void) {
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    FALLBACK = PyObject_CallNoArgs((PyObject *)&PyBaseObject_Type);
    if (FALLBACK == NULL || PyModule_AddObjectRef(m, "FALLBACK", FALLBACK) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
