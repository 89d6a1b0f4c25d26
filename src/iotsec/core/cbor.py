"""Deterministic CBOR encoding and strict decoding (RFC 8949).

* :func:`dumps` encodes with the core deterministic encoding requirements of RFC 8949 §4.2.1:
  preferred (shortest) argument encoding, definite lengths, and map keys sorted in the bytewise
  lexicographic order of their deterministic encodings.
* :func:`loads` decodes one data item and refuses, with :class:`~iotsec.errors.DecodeError`:
  truncated input, trailing bytes (§5.3.1 "well-formed" is per data item; we want exactly one),
  reserved additional-information values (§3), invalid simple values (§3.3), stray ``break``,
  nesting deeper than ``max_depth``, input larger than ``max_size`` and duplicate map keys
  (§5.6, compared on their encoded bytes).

The well-formedness walk runs in Python but jumps over byte and text strings, so its cost grows
with the number of items, not with payload size; the decode itself is cbor2's C extension.
"""

from __future__ import annotations

import binascii
import io
import json
import re
import threading
from typing import Any

import cbor2
import cbor_diag
from cbor2 import CBORTag

from iotsec.core import _fastcbor
from iotsec.errors import DecodeError, ValidationError

DEFAULT_MAX_DEPTH = 64
DEFAULT_MAX_SIZE = 64 * 1024 * 1024


def _head(data: bytes, pos: int, end: int) -> tuple[int, int, int | None, int]:
    """Read an initial byte and its argument. Returns (major, info, argument, new_pos).

    ``argument`` is None for indefinite length (info 31).
    """
    if pos >= end:
        raise DecodeError("CBOR input is truncated", reason="cbor.truncated")
    ib = data[pos]
    major, info = ib >> 5, ib & 0x1F
    pos += 1
    if info < 24:
        return major, info, info, pos
    if info <= 27:
        n = 1 << (info - 24)
        if pos + n > end:
            raise DecodeError("CBOR input is truncated", reason="cbor.truncated")
        return major, info, int.from_bytes(data[pos : pos + n], "big"), pos + n
    if info == 31:
        if major in (0, 1, 6):
            raise DecodeError(
                f"indefinite length is not allowed for major type {major}", reason="cbor.malformed"
            )
        return major, info, None, pos
    raise DecodeError(f"reserved additional information value {info}", reason="cbor.malformed")


class _Frame:
    __slots__ = ("chunk_major", "is_map", "keys", "n", "remaining", "start")

    def __init__(self, remaining: int, is_map: bool, start: int, chunk_major: int | None = None):
        self.remaining = remaining  # items still expected; -1 for indefinite length
        self.is_map = is_map
        self.start = start
        self.chunk_major = chunk_major  # for indefinite strings: the major type of their chunks
        self.n = 0  # items read so far (key/value parity for maps)
        self.keys: set[object] = set()


def _key_identity(raw: bytes) -> object:
    """What a map key becomes once decoded, so that keys Python would merge count as duplicates.

    RFC 8949 §5.6 forbids duplicate keys. Comparing encodings alone misses keys that are distinct
    in CBOR but equal as Python dict keys (``1``, ``true`` and ``1.0``; a non-preferred ``0x1801``
    and ``0x01``): a decoder that silently merged them would hide a member from the validator.
    One-byte keys (small ints, the usual case) are their own identity.
    """
    if len(raw) == 1 and raw[0] < 0x38:  # unsigned/negative ints 0..23 / -1..-24: preferred form
        return raw[0] if raw[0] < 0x18 else -1 - (raw[0] - 0x20)
    try:
        value = cbor2.loads(raw)
        hash(value)
    except Exception:  # noqa: BLE001 - unhashable or not decodable here: the full decode reports it
        return raw
    return value


def check_well_formed(
    data: bytes, *, max_depth: int = DEFAULT_MAX_DEPTH, allow_duplicate_keys: bool = False
) -> None:
    """Raise :class:`DecodeError` unless ``data`` is exactly one well-formed CBOR data item."""
    _walk(data, max_depth, allow_duplicate_keys)


def _walk(data: bytes, max_depth: int, allow_duplicate_keys: bool) -> bool:
    """The well-formedness walk; returns whether ``data`` has indefinite-length strings."""
    indefinite_strings = False
    end = len(data)
    stack: list[_Frame] = []
    pos = 0
    while True:
        start = pos
        top = stack[-1] if stack else None
        if top is not None and top.remaining == -1 and pos < end and data[pos] == 0xFF:
            stack.pop()
            pos += 1
            if top.is_map and top.n % 2:
                raise DecodeError("indefinite map has a key without a value", reason="cbor.malformed")
            done = top.start
        else:
            major, info, arg, pos = _head(data, pos, end)
            if top is not None and top.chunk_major is not None and (major != top.chunk_major or arg is None):
                raise DecodeError("bad chunk in an indefinite-length string", reason="cbor.malformed")
            nests = major in (4, 5, 6) or (major in (2, 3) and arg is None)
            if nests and len(stack) >= max_depth:
                raise DecodeError(f"CBOR nesting is deeper than {max_depth}", reason="cbor.depth")
            if major in (2, 3):
                if arg is None:
                    indefinite_strings = True
                    stack.append(_Frame(-1, False, start, chunk_major=major))
                    continue
                if arg > end - pos:
                    raise DecodeError("CBOR input is truncated", reason="cbor.truncated")
                pos += arg
            elif major in (4, 5):
                is_map = major == 5
                if arg is None:
                    stack.append(_Frame(-1, is_map, start))
                    continue
                if arg:
                    if arg > end - pos:  # every item takes at least one byte
                        raise DecodeError("CBOR input is truncated", reason="cbor.truncated")
                    stack.append(_Frame(arg * 2 if is_map else arg, is_map, start))
                    continue
            elif major == 6:
                stack.append(_Frame(1, False, start))
                continue
            elif major == 7:
                if arg is None:
                    raise DecodeError("unexpected CBOR break", reason="cbor.malformed")
                if info == 24 and arg < 32:
                    raise DecodeError("invalid two-byte simple value", reason="cbor.malformed")
            done = start
        # the item data[done:pos] is complete: account for it in the enclosing containers
        while stack:
            f = stack[-1]
            if f.is_map:
                if f.n % 2 == 0 and not allow_duplicate_keys:
                    key = _key_identity(data[done:pos])
                    if key in f.keys:
                        raise DecodeError("duplicate key in a CBOR map", reason="cbor.duplicate_key")
                    f.keys.add(key)
                f.n += 1
            if f.remaining == -1:
                break
            f.remaining -= 1
            if f.remaining:
                break
            stack.pop()
            done = f.start
        if not stack:
            if pos != end:
                raise DecodeError(
                    f"{end - pos} trailing byte(s) after the CBOR data item", reason="cbor.trailing"
                )
            return indefinite_strings


def loads(
    data: bytes,
    *,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_size: int = DEFAULT_MAX_SIZE,
    allow_duplicate_keys: bool = False,
) -> Any:
    """Decode exactly one CBOR data item, strictly (see the module docstring).

    Tags that cbor2 does not interpret come back as :class:`cbor2.CBORTag`.
    """
    return _loads(data, max_depth, max_size, allow_duplicate_keys, False)[0]


def loads_reencodes(
    data: bytes,
    *,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_size: int = DEFAULT_MAX_SIZE,
    allow_duplicate_keys: bool = False,
) -> tuple[Any, bool]:
    """:func:`loads`, and whether cbor2 re-encodes the value to exactly ``data`` (preferred
    serialization, definite lengths, map order as received). The fast path below proves it on the
    way, so callers that need to know (RFC 9711 §6.3 profile checks) get it without a second encode.
    """
    return _loads(data, max_depth, max_size, allow_duplicate_keys, True)


def _loads(
    data: bytes, max_depth: int, max_size: int, allow_duplicate_keys: bool, want_same: bool
) -> tuple[Any, bool]:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DecodeError("CBOR input must be bytes", reason="cbor.type")
    if type(data) is not bytes:
        data = bytes(data)
    if len(data) > max_size:
        raise DecodeError(
            f"CBOR input of {len(data)} bytes exceeds the limit of {max_size}", reason="cbor.size"
        )
    # Fast path in C (_cbor_c.c): one pass that accepts only well-formed items in preferred
    # serialization with definite lengths, no duplicate or colliding keys and nesting within
    # max_depth, and returns exactly what cbor2 returns; anything else takes the paths below.
    fast = _fastcbor.decode
    if fast is not None:
        value = fast(data, False, max_depth)
        if value is not _fastcbor.FALLBACK:
            return value, True
    # Fast path, all in cbor2's C code: decode, re-encode (cbor2 keeps the map order it read and
    # writes preferred serialization), compare. Equal bytes prove one well-formed item with definite
    # lengths, shortest arguments, no trailing bytes and no duplicate or colliding keys (a merged key
    # would re-encode shorter); only the nesting depth is left to check, on containers alone.
    # Anything else (non-preferred but valid encodings, semantic tags, errors) takes the exact walk.
    try:
        value = cbor2.loads(data)
        if _reencode(value) == data and _nesting_within(value, max_depth):
            return value, True
    except Exception:  # noqa: BLE001, S110 - the walk below names the problem precisely
        pass
    check_well_formed(data, max_depth=max_depth, allow_duplicate_keys=allow_duplicate_keys)
    try:
        value = cbor2.loads(data)
    except Exception as exc:  # cbor2 raises several types for semantic errors (bad UTF-8, tags)
        raise DecodeError(f"invalid CBOR: {exc}", reason="cbor.invalid") from exc
    if not want_same:
        return value, False
    try:
        same = cbor2.dumps(value) == data
    except Exception:  # noqa: BLE001 - a value cbor2 cannot write back is not re-encodable
        same = False
    return value, same


_ENCODERS = threading.local()


def _reencode(value: Any) -> bytes:
    """``cbor2.dumps(value)`` with default options, on a per-thread encoder: building a
    ``CBOREncoder`` costs more than encoding a small item. An encoder that raised is dropped (its
    cycle-detection state may be left half-done)."""
    enc = getattr(_ENCODERS, "encoder", None)
    if enc is None:
        enc = _ENCODERS.encoder = cbor2.CBOREncoder(io.BytesIO())
    fp = io.BytesIO()
    enc.fp = fp
    try:
        enc.encode(value)
    except BaseException:
        _ENCODERS.encoder = None
        raise
    return fp.getvalue()


_LEAVES = frozenset({bytes, str, int, float, bool, type(None)})


def _nesting_within(value: Any, max_depth: int) -> bool:
    """For a value cbor2 decoded and re-encoded to the same bytes: True if arrays, maps and tags nest
    at most ``max_depth`` deep and every other value is a plain leaf (a value cbor2 built from a
    semantic tag, like a datetime, answers False). False sends the caller to the exact walk."""
    # exact types: cbor2's own value classes (simple values, ...) subclass tuple or int.
    # Level by level: ``level`` holds the containers found at ``depth``.
    leaves = _LEAVES
    if type(value) in leaves:
        return True
    level = [value]
    depth = 0
    while level:
        if depth >= max_depth:
            return False
        nxt: list[Any] = []
        for obj in level:
            kind = type(obj)
            if kind is dict:
                for k in obj:
                    if type(k) not in leaves:
                        nxt.append(k)
                for v in obj.values():
                    if type(v) not in leaves:
                        nxt.append(v)
            elif kind is list or kind is tuple:
                for v in obj:
                    if type(v) not in leaves:
                        nxt.append(v)
            elif kind is CBORTag:
                if type(obj.value) not in leaves:
                    nxt.append(obj.value)
            else:
                return False
        level = nxt
        depth += 1
    return True


def _canonical(obj: Any) -> Any:
    if isinstance(obj, dict):
        items = [(cbor2.dumps(_canonical(k)), k, _canonical(v)) for k, v in obj.items()]
        items.sort(key=lambda kv: kv[0])
        return {k: v for _, k, v in items}
    if isinstance(obj, (list, tuple)):
        return [_canonical(x) for x in obj]
    if isinstance(obj, CBORTag):
        return CBORTag(obj.tag, _canonical(obj.value))
    return obj


def dumps(obj: Any) -> bytes:
    """Encode deterministically (RFC 8949 §4.2.1: bytewise lexicographic map-key order)."""
    fast = _fastcbor.encode
    if fast is not None:  # the C encoder for plain values; floats, bignums, dates... below
        out = fast(obj)
        if out is not _fastcbor.FALLBACK:
            return out  # type: ignore[no-any-return]
    try:
        return cbor2.dumps(_canonical(obj))
    except Exception as exc:
        raise ValidationError(f"value cannot be encoded as CBOR: {exc}", reason="cbor.encode") from exc


def tag(number: int, value: Any) -> CBORTag:
    return CBORTag(number, value)


def _is_panic(exc: BaseException) -> bool:
    # cbor-diag is a Rust extension: a panic inside it surfaces as pyo3's PanicException, which
    # derives from BaseException, so ``except Exception`` does not see it.
    return type(exc).__name__ == "PanicException"


def _render(value: Any) -> str:
    """Diagnostic notation of a decoded value (used where cbor-diag cannot render the bytes)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (bytes, bytearray)):
        return f"h'{bytes(value).hex()}'"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_render(k)}: {_render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, CBORTag):
        return f"{value.tag}({_render(value.value)})"
    return repr(value)


def to_diag(data: bytes, *, pretty: bool = True) -> str:
    """CBOR diagnostic notation (RFC 8949 §8) of well-formed ``data``.

    Indefinite-length strings (which the cbor-diag renderer does not support) are shown joined.
    """
    data = bytes(data)
    if not _walk(data, DEFAULT_MAX_DEPTH, True):
        try:
            return str(cbor_diag.cbor2diag(data, pretty=pretty))
        except BaseException as exc:
            if not (isinstance(exc, Exception) or _is_panic(exc)):
                raise
    return _render(loads(data, allow_duplicate_keys=True))


def from_diag(text: str) -> bytes:
    """Parse CBOR diagnostic notation (RFC 8949 §8, with RFC 8610 appendix G extensions)."""
    try:
        return bytes(cbor_diag.diag2cbor(text))
    except BaseException as exc:
        if not (isinstance(exc, Exception) or _is_panic(exc)):
            raise
        raise DecodeError(f"invalid CBOR diagnostic notation: {exc}", reason="cbor.diag") from exc


_HEX = re.compile(rb"^[0-9a-fA-F\s]+$")


def read_any(blob: bytes) -> bytes:
    """Accept CBOR as raw bytes, hex text or diagnostic notation (for files a user hands us)."""
    stripped = blob.strip()
    if stripped and _HEX.match(stripped):
        try:
            return binascii.unhexlify(b"".join(stripped.split()))
        except (binascii.Error, ValueError) as exc:
            raise DecodeError(f"invalid hex: {exc}", reason="cbor.hex") from exc
    try:
        check_well_formed(blob, allow_duplicate_keys=True)
        return blob
    except DecodeError:
        pass
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError("input is neither CBOR, hex nor diagnostic notation", reason="cbor.format") from exc
    return from_diag(text)


__all__ = [
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_SIZE",
    "CBORTag",
    "check_well_formed",
    "dumps",
    "from_diag",
    "loads",
    "loads_reencodes",
    "read_any",
    "tag",
    "to_diag",
]
