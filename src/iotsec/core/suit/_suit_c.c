/*
 * iotsec.core.suit._suit_c: the usual SUIT_Command_Sequence pairs turned into Command objects.
 *
 * sequence(items, path, depth) takes a command sequence as the CBOR decoder produced it (a list of
 * alternating command codes and arguments, draft-ietf-suit-manifest §8.4.6) and returns the tuple
 * of Command objects that iotsec.core.suit.commands.decode_sequence returns for it, or FALLBACK
 * when ``items`` is not a non-empty list of even length (the Python path then names the error).
 *
 * It builds here only the pairs whose shape it fully knows, exactly as the Python fast path of
 * decode_sequence accepts them:
 *   - a condition or directive whose argument is a reporting policy (§8.4.7): an int 0..15;
 *   - set-component-index (§8.4.10.1) with an unsigned int or true;
 *   - override-parameters and set-parameters (§8.4.10.3) with a non-empty map whose every entry
 *     has an int label and the usual value for it (a 16-byte UUID for vendor, class and device
 *     id; an unsigned int; a bool; a text URI; a byte string; an image digest that is a byte
 *     string whose deterministic encoding (§8.1, checked by the configured strict decoder) holds
 *     exactly [int, bytes]; for labels the manifest does not define, a
 *     non-negative label or an int, bytes, text or bool value, kept as it is).
 * Every other pair (nested sequences, custom commands, an unusual value, anything wrong) is
 * handed to the Python function configured as ``pair``, which decodes it or raises the error
 * with its path. So this module changes speed only, never what is accepted.
 *
 * The Command and Digest objects are built as the Python code builds them (object.__new__, then
 * each field stored in the instance dict, bypassing the frozen dataclass __setattr__).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

enum { K_REP = 1, K_INDEX = 2, K_PARAMS = 3 };
enum { P_BYTES = 1, P_UUID = 2, P_UINT = 3, P_BOOL = 4, P_TEXT = 5, P_DIGEST = 6 };

static PyObject *FALLBACK;
static PyObject *COMMAND;      /* iotsec.core.suit.model.Command */
static PyObject *DIGEST;       /* iotsec.core.suit.model.Digest */
static PyObject *CMD_KINDS;    /* dict: command code -> K_* */
static PyObject *PARAM_KINDS;  /* dict: parameter label -> P_* */
static PyObject *DECODE;       /* the strict CBOR decoder: decode(data, True, max_depth) -> value */
static PyObject *MAX_DEPTH;    /* its nesting limit for bstr-wrapped items */
static PyObject *PAIR;         /* callable(code, arg, path, index, depth) -> Command, or raises */
static PyObject *S_CODE, *S_ARG, *S_ALG, *S_VALUE, *S_EXTRA, *EMPTY_TUPLE;

/* -1: not an int (or a bool); 0: a negative int; 1: a non-negative int, value in *out when it
 * fits (*big = 1 otherwise). */
static int uint_of(PyObject *v, long long *out, int *big) {
    if (!PyLong_CheckExact(v)) {
        return -1;
    }
    int overflow = 0;
    long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (x == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return -1;
    }
    if (overflow < 0 || (overflow == 0 && x < 0)) {
        return 0;
    }
    *big = overflow > 0;
    *out = x;
    return 1;
}

/* A new instance of cls with the given fields stored in its __dict__. */
static PyObject *build(PyObject *cls, int n, PyObject **names, PyObject **values) {
    PyTypeObject *t = (PyTypeObject *)cls;
    PyObject *obj = PyBaseObject_Type.tp_new(t, EMPTY_TUPLE, NULL);
    if (obj == NULL) {
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        if (PyObject_GenericSetAttr(obj, names[i], values[i]) < 0) {
            Py_DECREF(obj);
            return NULL;
        }
    }
    return obj;
}

static PyObject *command(PyObject *code, PyObject *arg) {
    PyObject *names[2] = {S_CODE, S_ARG};
    PyObject *values[2] = {code, arg};
    return build(COMMAND, 2, names, values);
}

/* A ``bstr .cbor`` member decoded by the strict decoder (§8.1): a new reference (the decoder's
 * own fallback object for unusual bytes, which no caller takes for the list or dict it expects),
 * NULL with an exception, or FALLBACK (borrowed) when ``val`` is not a byte string. */
static PyObject *unwrap(PyObject *val) {
    if (!PyBytes_CheckExact(val)) {
        return FALLBACK;
    }
    return PyObject_CallFunctionObjArgs(DECODE, val, Py_True, MAX_DEPTH, NULL);
}

/* The image digest of a parameter map: a Digest, NULL with an exception, or FALLBACK (borrowed
 * sentinel, not to be released) when it is not the usual bstr-wrapped [int, bytes]. */
static PyObject *digest_param(PyObject *val) {
    PyObject *inner = unwrap(val);
    if (inner == NULL || inner == FALLBACK) {
        return inner;
    }
    PyObject *out = FALLBACK;
    if (PyList_CheckExact(inner) && PyList_GET_SIZE(inner) == 2 &&
        PyLong_CheckExact(PyList_GET_ITEM(inner, 0)) && PyBytes_CheckExact(PyList_GET_ITEM(inner, 1))) {
        PyObject *names[3] = {S_ALG, S_VALUE, S_EXTRA};
        PyObject *values[3] = {PyList_GET_ITEM(inner, 0), PyList_GET_ITEM(inner, 1), EMPTY_TUPLE};
        out = build(DIGEST, 3, names, values);
    }
    Py_DECREF(inner);
    return out;
}

/* The decoded parameter map, NULL with an exception, or FALLBACK (borrowed) for the Python path. */
static PyObject *parameters(PyObject *m) {
    if (!PyDict_CheckExact(m) || PyDict_GET_SIZE(m) == 0) {
        return FALLBACK;
    }
    PyObject *out = PyDict_New();
    if (out == NULL) {
        return NULL;
    }
    Py_ssize_t pos = 0;
    PyObject *k, *val;
    while (PyDict_Next(m, &pos, &k, &val)) {
        long long label, x;
        int big = 0, vbig = 0;
        int sign = uint_of(k, &label, &big);
        if (sign < 0) {
            goto fallback; /* a label that is not an int */
        }
        PyObject *kind_obj = PyDict_GetItemWithError(PARAM_KINDS, k);
        if (kind_obj == NULL && PyErr_Occurred()) {
            goto error;
        }
        PyObject *value = val;
        int ok = 0;
        if (kind_obj == NULL) {
            /* a parameter of another draft, or a custom one with a scalar value: kept raw */
            ok = sign == 1 || PyLong_CheckExact(val) || PyBytes_CheckExact(val) || PyUnicode_CheckExact(val) ||
                 PyBool_Check(val);
        } else {
            switch (PyLong_AsLong(kind_obj)) {
            case P_BYTES:
                ok = PyBytes_CheckExact(val);
                break;
            case P_UUID:
                ok = PyBytes_CheckExact(val) && PyBytes_GET_SIZE(val) == 16;
                break;
            case P_UINT:
                ok = uint_of(val, &x, &vbig) == 1;
                break;
            case P_BOOL:
                ok = PyBool_Check(val);
                break;
            case P_TEXT:
                ok = PyUnicode_CheckExact(val);
                break;
            case P_DIGEST:
                value = digest_param(val);
                if (value == NULL) {
                    goto error;
                }
                if (value == FALLBACK) {
                    goto fallback;
                }
                ok = 1;
                break;
            default:
                break;
            }
        }
        if (!ok) {
            goto fallback;
        }
        int rc = PyDict_SetItem(out, k, value);
        if (value != val) {
            Py_DECREF(value);
        }
        if (rc < 0) {
            goto error;
        }
    }
    return out;
fallback:
    Py_DECREF(out);
    return FALLBACK;
error:
    Py_DECREF(out);
    return NULL;
}

/* One pair: a new Command, NULL with an exception, or FALLBACK (borrowed) for the Python path. */
static PyObject *pair(PyObject *code, PyObject *arg) {
    if (!PyLong_CheckExact(code)) {
        return FALLBACK;
    }
    PyObject *kind_obj = PyDict_GetItemWithError(CMD_KINDS, code);
    if (kind_obj == NULL) {
        return PyErr_Occurred() ? NULL : FALLBACK;
    }
    long long x = 0;
    int big = 0;
    switch (PyLong_AsLong(kind_obj)) {
    case K_REP:
        if (uint_of(arg, &x, &big) == 1 && !big && x <= 0xF) {
            return command(code, arg);
        }
        return FALLBACK;
    case K_INDEX:
        if (arg == Py_True || uint_of(arg, &x, &big) == 1) {
            return command(code, arg);
        }
        return FALLBACK;
    case K_PARAMS: {
        PyObject *params = parameters(arg);
        if (params == NULL || params == FALLBACK) {
            return params;
        }
        PyObject *cmd = command(code, params);
        Py_DECREF(params);
        return cmd;
    }
    default:
        return FALLBACK;
    }
}

/* A command sequence: a new tuple of Commands, NULL with an exception, or FALLBACK (borrowed). */
static PyObject *walk(PyObject *items, PyObject *path, PyObject *depth) {
    if (!PyList_CheckExact(items)) {
        return FALLBACK;
    }
    Py_ssize_t n = PyList_GET_SIZE(items);
    if (n == 0 || n % 2) {
        return FALLBACK;
    }
    PyObject *out = PyTuple_New(n / 2);
    if (out == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i += 2) {
        /* the list may change under a Python callback: read it afresh, with a reference held */
        if (i + 1 >= PyList_GET_SIZE(items)) {
            Py_DECREF(out);
            return FALLBACK;
        }
        PyObject *code = PyList_GET_ITEM(items, i);
        PyObject *arg = PyList_GET_ITEM(items, i + 1);
        Py_INCREF(code);
        Py_INCREF(arg);
        PyObject *cmd = pair(code, arg);
        if (cmd == FALLBACK) {
            PyObject *index = PyLong_FromSsize_t(i / 2);
            cmd = index == NULL ? NULL : PyObject_CallFunctionObjArgs(PAIR, code, arg, path, index, depth, NULL);
            Py_XDECREF(index);
        }
        Py_DECREF(code);
        Py_DECREF(arg);
        if (cmd == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyTuple_SET_ITEM(out, i / 2, cmd);
    }
    return out;
}

static PyObject *sequence(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "sequence(items, path, depth)");
        return NULL;
    }
    if (COMMAND == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_suit_c is not configured");
        return NULL;
    }
    PyObject *out = walk(args[0], args[1], args[2]);
    if (out == FALLBACK) {
        Py_INCREF(FALLBACK);
    }
    return out;
}

/* ------------------------------------------------------------------ manifest and common (§8.4) */

static PyObject *MANIFEST, *COMMON; /* iotsec.core.suit.model.Manifest, Common */
static PyObject *SEQ_NAMES;         /* dict: manifest label of a command sequence -> its name */
static long long L_VERSION, L_SEQNO, L_COMMON, L_REFERENCE_URI, L_TEXT; /* §8.4 labels */
static long long L_DEPENDENCIES, L_COMPONENTS, L_SHARED;               /* §8.4.5 labels */
static long long MANIFEST_VERSION;
static PyObject *L_VERSION_OBJ, *L_SEQNO_OBJ, *L_COMMON_OBJ;
static PyObject *ZERO, *S_COMMON_NAME, *S_SHARED_NAME;
static PyObject *S_SEQUENCE_NUMBER, *S_COMMON, *S_VERSION, *S_REFERENCE_URI, *S_SEQUENCES, *S_TEXT,
    *S_EXTENSIONS, *S_TAGGED, *S_COMPONENTS, *S_SHARED_SEQUENCE, *S_DEPENDENCIES;

/* path + (name,): a new tuple */
static PyObject *extend(PyObject *path, PyObject *name) {
    Py_ssize_t n = PyTuple_GET_SIZE(path);
    PyObject *out = PyTuple_New(n + 1);
    if (out == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *x = PyTuple_GET_ITEM(path, i);
        Py_INCREF(x);
        PyTuple_SET_ITEM(out, i, x);
    }
    Py_INCREF(name);
    PyTuple_SET_ITEM(out, n, name);
    return out;
}

/* A bstr-wrapped command sequence at ``path``: new tuple, NULL, or FALLBACK (borrowed). */
static PyObject *wrapped_sequence(PyObject *val, PyObject *path) {
    PyObject *items = unwrap(val);
    if (items == NULL || items == FALLBACK) {
        return items;
    }
    PyObject *out = walk(items, path, ZERO);
    Py_DECREF(items);
    return out;
}

/* The label of a map entry as a C integer: 1 for an int that fits, 0 for another int, -1 else. */
static int label_of(PyObject *k, long long *out) {
    if (!PyLong_CheckExact(k)) {
        return -1;
    }
    int overflow = 0;
    *out = PyLong_AsLongLongAndOverflow(k, &overflow);
    if (*out == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return -1;
    }
    return overflow ? 0 : 1;
}

/* §8.4.5.1 the usual [+ [* bstr]]: a new tuple of tuples, or FALLBACK (borrowed). */
static PyObject *components(PyObject *val) {
    if (!PyList_CheckExact(val) || PyList_GET_SIZE(val) == 0) {
        return FALLBACK;
    }
    Py_ssize_t n = PyList_GET_SIZE(val);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *c = PyList_GET_ITEM(val, i);
        if (!PyList_CheckExact(c)) {
            return FALLBACK;
        }
        for (Py_ssize_t j = 0; j < PyList_GET_SIZE(c); j++) {
            if (!PyBytes_CheckExact(PyList_GET_ITEM(c, j))) {
                return FALLBACK;
            }
        }
    }
    PyObject *out = PyTuple_New(n);
    if (out == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *t = PyList_AsTuple(PyList_GET_ITEM(val, i));
        if (t == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyTuple_SET_ITEM(out, i, t);
    }
    return out;
}

/* §8.4.5 SUIT_Common from its bstr: a new Common, NULL, or FALLBACK (borrowed). */
static PyObject *common(PyObject *raw, PyObject *path) {
    PyObject *m = unwrap(raw);
    if (m == NULL || m == FALLBACK) {
        return m;
    }
    PyObject *result = FALLBACK, *comps = NULL, *shared = NULL, *deps = NULL, *ext = NULL, *spath = NULL;
    if (!PyDict_CheckExact(m)) {
        goto done;
    }
    ext = PyDict_New();
    if (ext == NULL) {
        result = NULL;
        goto done;
    }
    Py_ssize_t pos = 0;
    PyObject *k, *val;
    while (PyDict_Next(m, &pos, &k, &val)) {
        long long label;
        int kind = label_of(k, &label);
        if (kind < 0) {
            goto done; /* the Python path names a label that is not an int */
        }
        if (kind == 1 && label == L_COMPONENTS) {
            Py_XSETREF(comps, components(val));
            if (comps == NULL || comps == FALLBACK) {
                result = comps;
                comps = NULL;
                goto done;
            }
        } else if (kind == 1 && label == L_SHARED) {
            if (spath == NULL && (spath = extend(path, S_SHARED_NAME)) == NULL) {
                result = NULL;
                goto done;
            }
            Py_XSETREF(shared, wrapped_sequence(val, spath));
            if (shared == NULL || shared == FALLBACK) {
                result = shared;
                shared = NULL;
                goto done;
            }
        } else if (kind == 1 && label == L_DEPENDENCIES) {
            Py_INCREF(val);
            Py_XSETREF(deps, val);
        } else if (PyDict_SetItem(ext, k, val) < 0) {
            result = NULL;
            goto done;
        }
    }
    {
        PyObject *names[4] = {S_COMPONENTS, S_SHARED_SEQUENCE, S_DEPENDENCIES, S_EXTENSIONS};
        PyObject *values[4] = {comps ? comps : EMPTY_TUPLE, shared ? shared : Py_None, deps ? deps : Py_None, ext};
        result = build(COMMON, 4, names, values);
    }
done:
    Py_DECREF(m);
    Py_XDECREF(comps);
    Py_XDECREF(shared);
    Py_XDECREF(deps);
    Py_XDECREF(ext);
    Py_XDECREF(spath);
    return result;
}

/* manifest(m, path, tagged): the Manifest decode_manifest_map returns for the decoded map ``m``
 * when every member has its usual shape (version 1, an unsigned sequence number, common with
 * components as arrays of bstr and a bstr-wrapped shared sequence, command sequences as bstr,
 * a text reference URI, other int labels kept as extensions), else FALLBACK. Severed members
 * (digests) and text go to the Python path. */
/* ``m`` is the map the CBOR decoder has just made (decode_manifest_map's argument): the Python
 * code called back while walking it (the pair decoder) holds no reference to it, so the entries
 * borrowed from it stay valid. */
static PyObject *manifest_map(PyObject *m, PyObject *path, PyObject *tagged) {
    PyObject *version = PyDict_GetItemWithError(m, L_VERSION_OBJ);
    PyObject *seqno = version ? PyDict_GetItemWithError(m, L_SEQNO_OBJ) : NULL;
    PyObject *raw_common = seqno ? PyDict_GetItemWithError(m, L_COMMON_OBJ) : NULL;
    if (raw_common == NULL) {
        return PyErr_Occurred() ? NULL : FALLBACK; /* a required member is missing */
    }
    long long v, x;
    int big = 0;
    if (label_of(version, &v) != 1 || v != MANIFEST_VERSION || uint_of(seqno, &x, &big) != 1) {
        return FALLBACK;
    }
    PyObject *cpath = extend(path, S_COMMON_NAME);
    if (cpath == NULL) {
        return NULL;
    }
    PyObject *com = common(raw_common, cpath);
    Py_DECREF(cpath);
    if (com == NULL || com == FALLBACK) {
        return com;
    }
    PyObject *result = FALLBACK, *seqs = PyDict_New(), *ext = PyDict_New(), *ref = NULL;
    if (seqs == NULL || ext == NULL) {
        result = NULL;
        goto done;
    }
    Py_ssize_t pos = 0;
    PyObject *k, *val;
    while (PyDict_Next(m, &pos, &k, &val)) {
        long long label;
        int kind = label_of(k, &label);
        if (kind < 0) {
            goto done;
        }
        if (kind == 1 && (label == L_VERSION || label == L_SEQNO || label == L_COMMON)) {
            continue;
        }
        PyObject *name = PyDict_GetItemWithError(SEQ_NAMES, k);
        if (name != NULL) {
            PyObject *spath = extend(path, name);
            if (spath == NULL) {
                result = NULL;
                goto done;
            }
            PyObject *seq = wrapped_sequence(val, spath); /* a severed member (a digest): FALLBACK */
            Py_DECREF(spath);
            if (seq == NULL || seq == FALLBACK) {
                result = seq;
                goto done;
            }
            int rc = PyDict_SetItem(seqs, k, seq);
            Py_DECREF(seq);
            if (rc < 0) {
                result = NULL;
                goto done;
            }
        } else if (PyErr_Occurred()) {
            result = NULL;
            goto done;
        } else if (kind == 1 && label == L_REFERENCE_URI) {
            if (!PyUnicode_CheckExact(val)) {
                goto done;
            }
            Py_INCREF(val);
            Py_XSETREF(ref, val);
        } else if (kind == 1 && label == L_TEXT) {
            goto done; /* text maps and their language tags: the Python path */
        } else if (PyDict_SetItem(ext, k, val) < 0) {
            result = NULL;
            goto done;
        }
    }
    {
        PyObject *names[8] = {S_SEQUENCE_NUMBER, S_COMMON, S_VERSION, S_REFERENCE_URI,
                              S_SEQUENCES,       S_TEXT,   S_EXTENSIONS, S_TAGGED};
        PyObject *values[8] = {seqno, com, version, ref ? ref : Py_None, seqs, Py_None, ext, tagged};
        result = build(MANIFEST, 8, names, values);
    }
done:
    Py_DECREF(com);
    Py_XDECREF(seqs);
    Py_XDECREF(ext);
    Py_XDECREF(ref);
    return result;
}

static PyObject *manifest(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "manifest(map, path, tagged)");
        return NULL;
    }
    if (MANIFEST == NULL || COMMAND == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_suit_c is not configured");
        return NULL;
    }
    PyObject *out = FALLBACK;
    if (PyDict_CheckExact(args[0]) && PyTuple_CheckExact(args[1]) && PyBool_Check(args[2])) {
        out = manifest_map(args[0], args[1], args[2]);
    }
    if (out == FALLBACK) {
        Py_INCREF(FALLBACK);
    }
    return out;
}

static PyObject *configure_manifest(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    /* Manifest, Common, sequence names, then the labels: version, sequence number, common,
     * reference URI, text, dependencies, components, shared sequence; the manifest version */
    if (nargs != 12 || !PyType_Check(args[0]) || !PyType_Check(args[1]) || !PyDict_CheckExact(args[2])) {
        PyErr_SetString(PyExc_TypeError, "configure_manifest(Manifest, Common, sequence_names, 9 ints)");
        return NULL;
    }
    long long *labels[9] = {&L_VERSION, &L_SEQNO, &L_COMMON, &L_REFERENCE_URI, &L_TEXT,
                            &L_DEPENDENCIES, &L_COMPONENTS, &L_SHARED, &MANIFEST_VERSION};
    for (int i = 0; i < 9; i++) {
        if (!PyLong_Check(args[3 + i])) {
            PyErr_SetString(PyExc_TypeError, "labels are ints");
            return NULL;
        }
        *labels[i] = PyLong_AsLongLong(args[3 + i]);
        if (*labels[i] == -1 && PyErr_Occurred()) {
            return NULL;
        }
    }
    PyObject *objs[3] = {PyLong_FromLongLong(L_VERSION), PyLong_FromLongLong(L_SEQNO), PyLong_FromLongLong(L_COMMON)};
    if (objs[0] == NULL || objs[1] == NULL || objs[2] == NULL) {
        Py_XDECREF(objs[0]);
        Py_XDECREF(objs[1]);
        Py_XDECREF(objs[2]);
        return NULL;
    }
    Py_XSETREF(L_VERSION_OBJ, objs[0]);
    Py_XSETREF(L_SEQNO_OBJ, objs[1]);
    Py_XSETREF(L_COMMON_OBJ, objs[2]);
    Py_INCREF(args[0]);
    Py_XSETREF(MANIFEST, args[0]);
    Py_INCREF(args[1]);
    Py_XSETREF(COMMON, args[1]);
    Py_INCREF(args[2]);
    Py_XSETREF(SEQ_NAMES, args[2]);
    Py_RETURN_NONE;
}

static PyObject *configure(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 7 || !PyType_Check(args[0]) || !PyType_Check(args[1]) || !PyDict_CheckExact(args[2]) ||
        !PyDict_CheckExact(args[3]) || !PyCallable_Check(args[4]) || !PyLong_CheckExact(args[5]) ||
        !PyCallable_Check(args[6])) {
        PyErr_SetString(PyExc_TypeError,
                        "configure(Command: type, Digest: type, command_kinds: dict, parameter_kinds: dict, "
                        "decode, max_depth: int, pair)");
        return NULL;
    }
    PyObject **slots[7] = {&COMMAND, &DIGEST, &CMD_KINDS, &PARAM_KINDS, &DECODE, &MAX_DEPTH, &PAIR};
    for (int i = 0; i < 7; i++) {
        Py_INCREF(args[i]);
        Py_XSETREF(*slots[i], args[i]);
    }
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"sequence", (PyCFunction)(void (*)(void))sequence, METH_FASTCALL,
     "sequence(items, path, depth): the tuple of Command objects, or FALLBACK."},
    {"manifest", (PyCFunction)(void (*)(void))manifest, METH_FASTCALL,
     "manifest(map, path, tagged): the Manifest, or FALLBACK."},
    {"configure_manifest", (PyCFunction)(void (*)(void))configure_manifest, METH_FASTCALL,
     "configure_manifest(Manifest, Common, sequence_names, labels...)."},
    {"configure", (PyCFunction)(void (*)(void))configure, METH_FASTCALL,
     "configure(Command, Digest, command_kinds, parameter_kinds, decode, max_depth, pair)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "iotsec.core.suit._suit_c",
    .m_doc = "The usual SUIT command-sequence pairs as Command objects; see the C source.",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__suit_c(void) {
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    FALLBACK = PyObject_CallNoArgs((PyObject *)&PyBaseObject_Type);
    EMPTY_TUPLE = PyTuple_New(0);
    S_CODE = PyUnicode_InternFromString("code");
    S_ARG = PyUnicode_InternFromString("arg");
    S_ALG = PyUnicode_InternFromString("alg");
    S_VALUE = PyUnicode_InternFromString("value");
    S_EXTRA = PyUnicode_InternFromString("extra");
    ZERO = PyLong_FromLong(0);
    S_COMMON_NAME = PyUnicode_InternFromString("common");
    S_SHARED_NAME = PyUnicode_InternFromString("shared-sequence");
    PyObject **fields[11] = {&S_SEQUENCE_NUMBER, &S_COMMON,     &S_VERSION,    &S_REFERENCE_URI,
                             &S_SEQUENCES,       &S_TEXT,       &S_EXTENSIONS, &S_TAGGED,
                             &S_COMPONENTS,      &S_SHARED_SEQUENCE, &S_DEPENDENCIES};
    const char *field_names[11] = {"sequence_number", "common",     "version",    "reference_uri",
                                   "sequences",       "text",       "extensions", "tagged",
                                   "components",      "shared_sequence", "dependencies"};
    int fields_ok = 1;
    for (int i = 0; i < 11; i++) {
        *fields[i] = PyUnicode_InternFromString(field_names[i]);
        fields_ok = fields_ok && *fields[i] != NULL;
    }
    if (FALLBACK == NULL || EMPTY_TUPLE == NULL || S_CODE == NULL || S_ARG == NULL || S_ALG == NULL ||
        S_VALUE == NULL || S_EXTRA == NULL || ZERO == NULL || S_COMMON_NAME == NULL || S_SHARED_NAME == NULL ||
        !fields_ok || PyModule_AddObjectRef(m, "FALLBACK", FALLBACK) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
