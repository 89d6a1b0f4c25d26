"""The C fast path shared by :mod:`iotsec.core.cbor` and :mod:`iotsec.core.deterministic`.

``encode(obj)`` returns the deterministic encoding (RFC 8949 §4.2.1) of plain values (ints within
64 bits, bools, None, bytes, str, lists, tuples, dicts, CBORTag), or :data:`FALLBACK` for anything
else; :func:`iotsec.core.cbor.dumps` then encodes in Python.
``decode(data, deterministic, max_depth)`` returns the decoded item, or :data:`FALLBACK` when
the input is not the plain, preferred-serialization case the C decoder handles (see
``_cbor_c.c``); the callers then take their exact path, which decides and names any problem. The
extension is optional at install time: without it :data:`decode` is None and the pure-Python
paths do the same work, slower.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cbor2 import CBORTag

# Tags that cbor2 turns into Python objects (dates, bignums, decimals, regexps, MIME, UUIDs, sets,
# shared and string references, self-describe...): left to cbor2 so that the value is the same. A
# superset of what cbor2 5.x interprets (tests/core/test_cbor_c.py checks it against the installed
# cbor2); any other tag becomes a plain CBORTag, as cbor2 makes it.
SEMANTIC_TAGS = frozenset({*range(6), *range(21, 38), 100, 256, 258, 260, 261, 262, 263, 1004, 43000, 55799})

FALLBACK: object = object()
decode: Callable[[bytes, bool, int], Any] | None = None
encode: Callable[[object], Any] | None = None  # deterministic encoding, or FALLBACK

try:
    from iotsec.core import _cbor_c
except ImportError:  # pragma: no cover - built by `pip install`; absent without a C compiler
    pass
else:
    _cbor_c.configure(CBORTag, SEMANTIC_TAGS)
    FALLBACK = _cbor_c.FALLBACK
    decode = _cbor_c.decode
    encode = _cbor_c.encode

__all__ = ["FALLBACK", "SEMANTIC_TAGS", "decode", "encode"]
