"""A strict check of well-formedness and deterministic encoding (RFC 8949 §3, §4.2.1).

draft-ietf-suit-manifest §8.1 requires canonical CBOR for every map in the manifest and the
envelope. :func:`check` walks one data item once and refuses: truncation, trailing bytes,
reserved or indefinite lengths, invalid simple values, nesting deeper than ``max_depth``,
arguments and floats not in their shortest form, and map keys that are not in strictly increasing
bytewise order of their encodings (which also rules out duplicate keys). Input that passes is
exactly one well-formed, deterministically encoded item; walking the bytes once costs a fraction
of decoding and re-encoding them.
"""

from __future__ import annotations

import math
import struct

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


def is_deterministic(data: bytes) -> bool:
    """True if ``data`` is exactly one well-formed, deterministically encoded data item."""
    try:
        check(data)
    except NotDeterministic:
        return False
    return True


__all__ = ["NotDeterministic", "check", "is_deterministic"]
