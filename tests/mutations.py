"""Byte-level mutations for fuzz tests drawn by hypothesis (shared by the decoder and endpoint tests)."""

from __future__ import annotations

from hypothesis import strategies as st


def mutate(data: bytes, draw: st.DrawFn) -> bytes:
    """``data`` after 1 to 4 drawn edits: a flipped bit, a cut at some position, or 1-4 inserted
    bytes."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(out)))
        kind = draw(st.sampled_from(["flip", "cut", "insert"]))
        if kind == "flip" and pos < len(out):
            out[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del out[pos:]
        else:
            out[pos:pos] = draw(st.binary(min_size=1, max_size=4))
    return bytes(out)
