"""Zero-copy fast path for the common shape of a COSE_Encrypt0 (the decryption hot path).

``[protected: bstr, unprotected: {small int: int / bstr}, ciphertext: bstr / nil]`` behind an
optional tag 16. The ciphertext is returned as a ``memoryview`` into the input, so a large
payload is never copied before the AEAD reads it. The accepted subset is checked completely here
(definite lengths, no duplicate labels, no trailing bytes); anything else returns ``None`` and
the caller uses the general strict decoder, so the fast path changes speed, never acceptance.
The header maps are read by :func:`iotsec.core.cose._fast.simple_map`, the reader of the
COSE_Sign1 / COSE_Mac0 fast path.
"""

from __future__ import annotations

from typing import Any

from iotsec.core.cose._fast import simple_map, uint_arg

TAG16 = 0xD0  # major 6, value 16 (RFC 9052 §2: COSE_Encrypt0)


def _bstr_span(data: bytes, pos: int, end: int) -> tuple[int, int] | None:
    """(start, stop) of a definite-length byte string at ``pos``."""
    if pos >= end or data[pos] >> 5 != 2 or (data[pos] & 0x1F) > 27:
        return None
    r = uint_arg(data, pos + 1, data[pos] & 0x1F, end)
    if r is None or r[1] + r[0] > end:
        return None
    return r[1], r[1] + r[0]


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
    m = simple_map(data, span[1], end)
    if m is None:
        return None
    unprotected, pos = m
    if pos < end and data[pos] == 0xF6:
        return (tagged, protected, unprotected, None) if pos + 1 == end else None
    span = _bstr_span(data, pos, end)
    if span is None or span[1] != end:
        return None
    return tagged, protected, unprotected, memoryview(data)[span[0] : span[1]]


__all__ = ["encrypt0_parts"]
