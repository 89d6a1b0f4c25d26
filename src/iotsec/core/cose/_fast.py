"""A strict fast path for the common shape of COSE_Sign1 / COSE_Mac0 (the verification hot path).

It accepts only a subset of CBOR that it can check completely itself: definite lengths, header
maps whose keys are small integers and whose values are small integers or byte strings, no
trailing bytes, no duplicate labels. Anything else returns ``None`` and the caller falls back
to the general strict decoder (:func:`iotsec.core.cbor.loads`), so the fast path changes speed,
never what is accepted.
"""

from __future__ import annotations

from typing import Any


def head(major: int, n: int) -> bytes:
    """The CBOR head of major type ``major`` with argument ``n`` (RFC 8949 §3, preferred form)."""
    mt = major << 5
    if n < 24:
        return bytes((mt | n,))
    if n < 0x100:
        return bytes((mt | 24, n))
    if n < 0x10000:
        return bytes((mt | 25,)) + n.to_bytes(2, "big")
    if n < 0x100000000:
        return bytes((mt | 26,)) + n.to_bytes(4, "big")
    return bytes((mt | 27,)) + n.to_bytes(8, "big")


def encode_simple_map(m: dict[Any, Any]) -> bytes | None:
    """Deterministic encoding (RFC 8949 §4.2.1) of a map of small-int keys to ints / byte strings.

    None for any other map (the caller then uses the general encoder).
    """
    items = []
    for k, v in m.items():
        if type(k) is not int or not -24 <= k < 24:
            return None
        kb = bytes((k,)) if k >= 0 else bytes((0x1F - k,))
        if type(v) is int and -(2**64) <= v < 2**64:
            vb = head(0, v) if v >= 0 else head(1, -1 - v)
        elif type(v) is bytes:
            vb = head(2, len(v)) + v
        else:
            return None
        items.append((kb, vb))
    items.sort()
    return head(5, len(items)) + b"".join(k + v for k, v in items)


def uint_arg(data: bytes, pos: int, info: int, end: int) -> tuple[int, int] | None:
    """Argument of a head with additional information ``info`` (< 28); None if truncated."""
    if info < 24:
        return info, pos
    n = 1 << (info - 24)
    if pos + n > end:
        return None
    return int.from_bytes(data[pos : pos + n], "big"), pos + n


def _bstr(data: bytes, pos: int, end: int) -> tuple[bytes, int] | None:
    if pos >= end:
        return None
    ib = data[pos]
    if 0x40 <= ib < 0x58:  # length in the initial byte
        n, p = ib - 0x40, pos + 1
    elif ib == 0x58:
        if pos + 2 > end:
            return None
        n, p = data[pos + 1], pos + 2
    elif 0x59 <= ib <= 0x5B:
        r = uint_arg(data, pos + 1, ib & 0x1F, end)
        if r is None:
            return None
        n, p = r
    else:
        return None
    q = p + n
    if q > end:
        return None
    return data[p:q], q


def simple_map(data: bytes, pos: int, end: int) -> tuple[dict[Any, Any], int] | None:
    """A map of small-int keys to small ints / byte strings at ``pos``, else None."""
    if pos >= end:
        return None
    ib = data[pos]
    if ib == 0xA0:
        return {}, pos + 1
    if ib >> 5 != 5 or (ib & 0x1F) >= 24:
        return None
    count = ib & 0x1F
    pos += 1
    out: dict[Any, Any] = {}
    for _ in range(count):
        if pos >= end:
            return None
        kb = data[pos]
        if kb < 0x18:
            key = kb
        elif 0x20 <= kb < 0x38:
            key = -1 - (kb - 0x20)
        else:
            return None
        if key in out:
            return None  # duplicate: let the strict decoder report it
        pos += 1
        if pos >= end:
            return None
        vb = data[pos]
        major, info = vb >> 5, vb & 0x1F
        if major in (0, 1) and info < 28:
            r = uint_arg(data, pos + 1, info, end)
            if r is None:
                return None
            n, pos = r
            out[key] = n if major == 0 else -1 - n
        elif major == 2:
            rb = _bstr(data, pos, end)
            if rb is None:
                return None
            out[key], pos = rb
        else:
            return None
    return out, pos


def protected_map(data: bytes) -> dict[Any, Any] | None:
    """The protected bucket's map, if it is a simple map filling ``data`` exactly, else None.

    An empty ``data`` is the empty map (RFC 9052 §3: zero-length bstr).
    """
    if len(data) == 3 and data[0] == 0xA1 and data[1] == 0x01 and data[2] < 0x38:
        v = data[2]  # {1: alg} with a one-byte alg, the usual protected bucket
        if v < 0x18:
            return {1: v}
        if v >= 0x20:
            return {1: 0x1F - v}
    if not data:
        return {}
    r = simple_map(data, 0, len(data))
    if r is None or r[1] != len(data):
        return None
    return r[0]


def four_items(data: bytes, tag_byte: int) -> tuple[bool, bytes, dict[Any, Any], bytes | None, bytes] | None:
    """``[bstr, simple map, bstr / nil, bstr]``, optionally behind the one-byte tag ``tag_byte``."""
    end = len(data)
    pos = 0
    tagged = False
    if end and data[0] == tag_byte:
        tagged, pos = True, 1
    if end < pos + 5 or data[pos] != 0x84:  # 0x84 and at least four one-byte items
        return None
    ib = data[pos + 1]
    if 0x40 <= ib < 0x58:  # a short protected bucket (the usual one), read inline
        q = pos + 2 + ib - 0x40
        if q > end:
            return None
        prot, pos = data[pos + 2 : q], q
    else:
        r = _bstr(data, pos + 1, end)
        if r is None:
            return None
        prot, pos = r
    unprot: dict[Any, Any]
    if pos < end and data[pos] == 0xA0:  # an empty unprotected bucket
        unprot, pos = {}, pos + 1
    else:
        m = simple_map(data, pos, end)
        if m is None:
            return None
        unprot, pos = m
    payload: bytes | None
    if pos < end and data[pos] == 0xF6:
        payload, pos = None, pos + 1
    else:
        r = _bstr(data, pos, end)
        if r is None:
            return None
        payload, pos = r
    if pos + 2 < end and data[pos] == 0x58 and pos + 2 + data[pos + 1] == end:
        # the last item is a 24..255-byte string ending the data (an ECDSA signature, a MAC tag)
        return tagged, prot, unprot, payload, data[pos + 2 :]
    r = _bstr(data, pos, end)
    if r is None:
        return None
    last, pos = r
    if pos != end:
        return None
    return tagged, prot, unprot, payload, last


__all__ = ["encode_simple_map", "four_items", "head", "protected_map", "simple_map", "uint_arg"]
