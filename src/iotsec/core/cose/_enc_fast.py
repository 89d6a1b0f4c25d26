"""Zero-copy fast path for the common shape of a COSE_Encrypt0 (the decryption hot path).

``[protected: bstr, unprotected: {small int: int / bstr}, ciphertext: bstr / nil]`` behind an
optional tag 16. The ciphertext is returned as a ``memoryview`` into the input, so a large
payload is never copied before the AEAD reads it. The accepted subset is checked completely here
(definite lengths, no duplicate labels, no trailing bytes); anything else returns ``None`` and
the caller uses the general strict decoder, so the fast path changes speed, never acceptance.
"""

from __future__ import annotations

from typing import Any

TAG16 = 0xD0  # major 6, value 16 (RFC 9052 §2: COSE_Encrypt0)


def _arg(data: bytes, pos: int, info: int, end: int) -> tuple[int, int] | None:
    if info < 24:
        return info, pos
    if info > 27:
        return None
    n = 1 << (info - 24)
    if pos + n > end:
        return None
    return int.from_bytes(data[pos : pos + n], "big"), pos + n


def _bstr_span(data: bytes, pos: int, end: int) -> tuple[int, int] | None:
    """(start, stop) of a definite-length byte string at ``pos``."""
    if pos >= end or data[pos] >> 5 != 2:
        return None
    r = _arg(data, pos + 1, data[pos] & 0x1F, end)
    if r is None or r[1] + r[0] > end:
        return None
    return r[1], r[1] + r[0]


def _simple_map(data: bytes, pos: int, end: int) -> tuple[dict[int, Any], int] | None:
    if pos >= end or data[pos] >> 5 != 5 or (data[pos] & 0x1F) >= 24:
        return None
    count, pos = data[pos] & 0x1F, pos + 1
    out: dict[int, Any] = {}
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
            return None
        pos += 1
        if pos >= end:
            return None
        major = data[pos] >> 5
        if major in (0, 1):
            r = _arg(data, pos + 1, data[pos] & 0x1F, end)
            if r is None:
                return None
            out[key] = r[0] if major == 0 else -1 - r[0]
            pos = r[1]
        elif major == 2:
            span = _bstr_span(data, pos, end)
            if span is None:
                return None
            out[key] = data[span[0] : span[1]]
            pos = span[1]
        else:
            return None
    return out, pos


def protected_map(data: bytes) -> dict[int, Any] | None:
    """The protected bucket as a map when it is a simple map filling ``data`` exactly, else None.

    An empty ``data`` is the empty map (RFC 9052 §3: zero-length bstr).
    """
    if not data:
        return {}
    m = _simple_map(data, 0, len(data))
    if m is None or m[1] != len(data):
        return None
    return m[0]


def encrypt0_parts(data: bytes) -> tuple[bool, bytes, dict[int, Any], memoryview | None] | None:
    """``(tagged, protected bytes, unprotected map, ciphertext view)`` or None (use the slow path)."""
    end, pos, tagged = len(data), 0, False
    if end and data[0] == TAG16:
        tagged, pos = True, 1
    if pos >= end or data[pos] != 0x83:
        return None
    span = _bstr_span(data, pos + 1, end)
    if span is None:
        return None
    protected = data[span[0] : span[1]]
    m = _simple_map(data, span[1], end)
    if m is None:
        return None
    unprotected, pos = m
    if pos < end and data[pos] == 0xF6:
        return (tagged, protected, unprotected, None) if pos + 1 == end else None
    span = _bstr_span(data, pos, end)
    if span is None or span[1] != end:
        return None
    return tagged, protected, unprotected, memoryview(data)[span[0] : span[1]]


__all__ = ["encrypt0_parts", "protected_map"]
