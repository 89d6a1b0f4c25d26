"""Deterministically encoded CBOR (RFC 8949 §4.2.1): decode it, or say exactly why it is not.

draft-ietf-suit-manifest §8.1 requires canonical CBOR for every map in the manifest and the
envelope. :func:`check` walks one data item once and refuses: truncation, trailing bytes,
reserved or indefinite lengths, invalid simple values, nesting deeper than ``max_depth``,
arguments and floats not in their shortest form, and map keys that are not in strictly
increasing bytewise order of their encodings (which also rules out duplicate keys).
:func:`loads` runs that check, then decodes with cbor2.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import cbor2
from cbor2 import CBORTag

from iotsec.core import _fastcbor

_MIN_ARG = {24: 24, 25: 0x100, 26: 0x10000, 27: 0x100000000}


class NotDeterministic(ValueError):
    """Raised by :func:`check`; ``malformed`` tells a broken item from a non-canonical one."""

    def __init__(self, message: str, *, malformed: bool = False) -> None:
        super().__init__(message)
        self.malformed = malformed


def _float_ok(info: int, raw: bytes) -> bool:
    if info == 25:
        value = struct.unpack(">e", raw)[0]
        return bool(not math.isnan(value) or raw == b"\x7e\x00")
    fmt, narrower = (">f", ">e") if info == 26 else (">d", ">f")
    value = struct.unpack(fmt, raw)[0]
    if math.isnan(value):
        return False  # NaN is the half-precision 0xf97e00
    try:
        narrowed: float = struct.unpack(narrower, struct.pack(narrower, value))[0]
    except (OverflowError, struct.error):
        return True
    return bool(narrowed != value)


def _item(data: bytes, pos: int, depth: int, end: int) -> int:
    if depth < 0:
        raise NotDeterministic("nesting too deep", malformed=True)
    if pos >= end:
        raise NotDeterministic("truncated", malformed=True)
    ib = data[pos]
    info = ib & 0x1F
    if ib < 0x40 and info < 24:  # the common case in SUIT: a small integer in the initial byte
        return pos + 1
    major = ib >> 5
    pos += 1
    if info < 24:
        arg = info
    elif info == 24 and major != 7:
        if pos >= end:
            raise NotDeterministic("truncated", malformed=True)
        arg = data[pos]
        pos += 1
        if arg < 24:
            raise NotDeterministic("argument not in its shortest form")
    elif info <= 27:
        n = 1 << (info - 24)
        if pos + n > end:
            raise NotDeterministic("truncated", malformed=True)
        raw = data[pos : pos + n]
        pos += n
        if major == 7:
            if info == 24:
                if raw[0] < 32:
                    raise NotDeterministic("invalid simple value", malformed=True)
            elif not _float_ok(info, raw):
                raise NotDeterministic("float not in its shortest form")
            return pos
        arg = int.from_bytes(raw, "big")
        if arg < _MIN_ARG[info]:
            raise NotDeterministic("argument not in its shortest form")
    elif info == 31:
        raise NotDeterministic("indefinite length or break")
    else:
        raise NotDeterministic("reserved additional information", malformed=True)
    if major == 2 or major == 3:  # noqa: PLR1714
        pos += arg
        if pos > end:
            raise NotDeterministic("truncated", malformed=True)
        return pos
    if major == 4:
        depth -= 1
        for _ in range(arg):
            pos = _item(data, pos, depth, end)
        return pos
    if major == 5:
        depth -= 1
        previous = b""
        for i in range(arg):
            start = pos
            pos = _item(data, pos, depth, end)
            key = data[start:pos]
            if i and key <= previous:
                raise NotDeterministic("map keys duplicated or not in bytewise order")
            previous = key
            pos = _item(data, pos, depth, end)
        return pos
    if major == 6:
        return _item(data, pos, depth - 1, end)
    return pos


def check(data: bytes, *, max_depth: int = 48) -> None:
    """Raise :class:`NotDeterministic` unless ``data`` is one deterministically encoded item."""
    if _item(data, 0, max_depth, len(data)) != len(data):
        raise NotDeterministic("trailing bytes", malformed=True)


class _Fallback(Exception):
    """The fast decoder met something it does not decode itself: take the exact path."""


# Tags cbor2 turns into Python objects (dates, bignums, UUIDs, sets, shared values...); the fast
# decoder leaves those to cbor2. Every other tag becomes a plain CBORTag, as cbor2 makes it.
_SEMANTIC_TAGS = _fastcbor.SEMANTIC_TAGS
_MIN = {25: 0x100, 26: 0x10000, 27: 0x100000000}


def _arg(data: bytes, pos: int, info: int) -> tuple[int, int]:
    """The argument after an initial byte with additional information ``info`` (24..27), shortest
    form required (the caller handles info < 24)."""
    if info == 24:
        arg = data[pos]
        if arg < 24:
            raise _Fallback
        return arg, pos + 1
    if info > 27:
        raise _Fallback
    n = 1 << (info - 24)
    end = pos + n
    arg = int.from_bytes(data[pos:end], "big")
    if arg < _MIN[info]:
        raise _Fallback
    return arg, end


def _value(data: bytes, pos: int, depth: int) -> tuple[Any, int]:
    """Decode the deterministically encoded item at ``pos``; :class:`_Fallback` on anything else.

    Returns what cbor2 would return for the same bytes. Handles integers, byte and text strings,
    arrays, maps (keys in strictly increasing bytewise order), tags that cbor2 leaves as CBORTag,
    false, true and null; floats, other simple values and cbor2's semantic tags fall back.

    Lengths are not checked against the end of ``data`` where they are read: a string that runs
    past the end comes back short and leaves the position past the end, where positions only
    grow, so the next read raises IndexError or :func:`loads` finds the end misplaced; either way
    the exact path takes over. (Every item read advances the position, so no loop runs longer
    than ``data`` is long.)
    """
    if depth < 0:
        raise _Fallback
    ib = data[pos]
    if ib < 0x18:
        return ib, pos + 1
    major = ib >> 5
    info = ib & 0x1F
    pos += 1
    if major == 7:
        if ib == 0xF4:
            return False, pos
        if ib == 0xF5:
            return True, pos
        if ib == 0xF6:
            return None, pos
        raise _Fallback
    if info < 24:
        arg = info
    elif info == 24:
        arg = data[pos]
        if arg < 24:
            raise _Fallback
        pos += 1
    else:
        arg, pos = _arg(data, pos, info)
    if major == 2:
        end = pos + arg
        return data[pos:end], end
    if major == 4:
        out: list[Any] = []
        depth -= 1
        if depth < 0 and arg:
            raise _Fallback  # the walk's depth rule: an item inside sits one level deeper
        for _ in range(arg):
            # small integers and byte strings up to 255 bytes inline: the bulk of SUIT and COSE
            ib = data[pos]
            if ib < 0x18:
                out.append(ib)
                pos += 1
            elif 0x20 <= ib < 0x38:
                out.append(0x1F - ib)
                pos += 1
            elif 0x40 <= ib <= 0x58:
                if ib == 0x58:
                    end = data[pos + 1]
                    if end < 24:
                        raise _Fallback
                    pos += 2
                    end += pos
                else:
                    pos += 1
                    end = pos + ib - 0x40
                out.append(data[pos:end])
                pos = end
            else:
                v, pos = _value(data, pos, depth)
                out.append(v)
        return out, pos
    if major == 5:
        m: dict[Any, Any] = {}
        depth -= 1
        if depth < 0 and arg:
            raise _Fallback
        # keys in strictly increasing bytewise order of their encodings (which rules out
        # duplicates); a one-byte key only needs the first byte of the previous key
        first = -1  # first byte of the previous key
        pstart = pend = 0  # the previous key's encoding
        for _ in range(arg):
            kb = data[pos]
            if kb < 0x18 or 0x20 <= kb < 0x38:
                if kb <= first:
                    raise _Fallback  # duplicated or out of bytewise order: let the walk say which
                k: Any = kb if kb < 0x18 else 0x1F - kb
                pstart = pos
                pos += 1
            else:
                start = pos
                if kb < 0x80:  # integers, byte and text strings
                    k, pos = _value(data, pos, depth)
                else:
                    k, pos = _key(data, pos, depth)
                if first >= 0 and data[start:pos] <= data[pstart:pend]:
                    raise _Fallback
                pstart = start
            pend = pos
            first = kb
            ib = data[pos]  # the value: inline cases as in arrays
            if ib < 0x18:
                m[k] = ib
                pos += 1
            elif 0x40 <= ib <= 0x58:
                if ib == 0x58:
                    end = data[pos + 1]
                    if end < 24:
                        raise _Fallback
                    pos += 2
                    end += pos
                else:
                    pos += 1
                    end = pos + ib - 0x40
                m[k] = data[pos:end]
                pos = end
            else:
                m[k], pos = _value(data, pos, depth)
        if len(m) != arg:
            raise _Fallback  # distinct encodings, equal Python keys (1 and true): cbor2 merges them
        return m, pos
    if major == 0:
        return arg, pos
    if major == 1:
        return -1 - arg, pos
    if major == 3:
        end = pos + arg
        try:
            return data[pos:end].decode("utf-8"), end
        except UnicodeDecodeError:
            raise _Fallback from None
    # major 6
    if arg in _SEMANTIC_TAGS:
        raise _Fallback
    v, pos = _value(data, pos, depth - 1)
    return CBORTag(arg, v), pos


def _key(data: bytes, pos: int, depth: int) -> tuple[Any, int]:
    """A map key that is not an integer or a string: cbor2 makes arrays immutable (tuples)."""
    if depth < 0:
        raise _Fallback
    ib = data[pos]
    if ib >> 5 != 4:
        if ib in (0xF4, 0xF5, 0xF6):
            return _value(data, pos, depth)
        raise _Fallback  # maps, tags and floats as keys: cbor2's immutable forms, left to it
    info = ib & 0x1F
    if info < 24:
        arg, pos = info, pos + 1
    else:
        arg, pos = _arg(data, pos + 1, info)
    items = []
    depth -= 1
    for _ in range(arg):
        if data[pos] < 0x80:
            v, pos = _value(data, pos, depth)
        else:
            v, pos = _key(data, pos, depth)
        items.append(v)
    return tuple(items), pos


def loads(data: bytes, *, max_depth: int = 48) -> Any:
    """Decode ``data``, which must be one deterministically encoded item.

    A one-pass decoder checks and decodes the items SUIT and COSE are made of: the C extension
    (``_cbor_c.c``) when it is built, else :func:`_value` in Python (for small items faster than
    cbor2's C decoder, whose fixed cost per call dominates). Anything it does not handle itself,
    valid or not, goes to the exact walk (:func:`check`) and then to cbor2, so the result and every
    error are the same either way. Raises :class:`NotDeterministic` (``malformed`` set for broken
    CBOR, including cbor2's semantic errors such as invalid UTF-8).
    """
    fast = _fastcbor.decode
    if fast is not None:
        value = fast(data, True, max_depth) if type(data) is bytes else _fastcbor.FALLBACK
        if value is not _fastcbor.FALLBACK:
            return value
    else:
        try:
            value, end = _value(data, 0, max_depth)
            if end == len(data):
                return value
        except (_Fallback, IndexError):
            pass
    check(data, max_depth=max_depth)
    try:
        return cbor2.loads(data)
    except Exception as err:  # semantic errors of cbor2 (bad UTF-8, tag contents)
        raise NotDeterministic(f"invalid CBOR: {err}", malformed=True) from err


def is_deterministic(data: bytes) -> bool:
    """True if ``data`` is exactly one well-formed, deterministically encoded data item."""
    try:
        check(data)
    except NotDeterministic:
        return False
    return True


def head(buf: bytes, pos: int) -> tuple[int, int, int]:
    """(major type, argument, position after the head) of the item at ``pos`` of data that
    :func:`check` accepted (definite lengths only)."""
    ib = buf[pos]
    major, info = ib >> 5, ib & 0x1F
    if info < 24:
        return major, info, pos + 1
    n = 1 << (info - 24)  # 24..27: 1, 2, 4, 8 argument bytes
    return major, int.from_bytes(buf[pos + 1 : pos + 1 + n], "big"), pos + 1 + n


def skip(buf: bytes, pos: int) -> int:
    """Position after the item at ``pos`` of data that :func:`check` accepted."""
    major, arg, pos = head(buf, pos)
    if major in (2, 3):
        return pos + arg
    if major == 4:
        for _ in range(arg):
            pos = skip(buf, pos)
    elif major == 5:
        for _ in range(2 * arg):
            pos = skip(buf, pos)
    elif major == 6:
        pos = skip(buf, pos)
    return pos


__all__ = ["NotDeterministic", "check", "head", "is_deterministic", "loads", "skip"]
