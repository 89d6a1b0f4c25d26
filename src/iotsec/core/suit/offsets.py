"""Byte offsets of commands in their command sequence (draft-ietf-suit-report §3).

suit-record-section-offset is "the number of bytes into the current Command Sequence at which
the current command is located". A section is encoded once and walked with a minimal reader of
CBOR heads (SUIT is deterministically encoded: definite lengths only); commands nested in
try-each or run-sequence get offsets counted from the start of their top-level section.
"""

from __future__ import annotations

from iotsec.core.suit import codec
from iotsec.core.suit.model import CommandSequence
from iotsec.core.suit.registry import Command as Cmd


def _head(buf: bytes, pos: int) -> tuple[int, int, int]:
    """(major type, argument, position after the head) of the CBOR item at ``pos``."""
    ib = buf[pos]
    major, info = ib >> 5, ib & 0x1F
    if info < 24:
        return major, info, pos + 1
    n = 1 << (info - 24)  # 24..27: 1, 2, 4, 8 bytes (deterministic CBOR: never indefinite)
    return major, int.from_bytes(buf[pos + 1 : pos + 1 + n], "big"), pos + 1 + n


def _skip(buf: bytes, pos: int) -> int:
    """Position after the CBOR item at ``pos`` (definite lengths only, as SUIT requires)."""
    major, arg, pos = _head(buf, pos)
    if major in (2, 3):
        return pos + arg
    if major == 4:
        for _ in range(arg):
            pos = _skip(buf, pos)
    elif major == 5:
        for _ in range(2 * arg):
            pos = _skip(buf, pos)
    elif major == 6:
        pos = _skip(buf, pos)
    return pos


def command_offsets(seq: CommandSequence, section: int, out: dict[int, tuple[int, int]]) -> None:
    """Byte offset of each command in its top-level section (draft-ietf-suit-report §3).

    The section is encoded once and walked; nested sequences (run-sequence, try-each) are located
    inside their byte strings, so their offsets count from the start of the top-level section.
    """
    _walk(seq, codec.encode_sequence(seq), 0, section, out)


def _walk(seq: CommandSequence, buf: bytes, pos: int, section: int, out: dict[int, tuple[int, int]]) -> None:
    _, _, pos = _head(buf, pos)  # the array head
    for cmd in seq:
        out[id(cmd)] = (section, pos)
        pos = _skip(buf, pos)  # command code
        if cmd.code == Cmd.RUN_SEQUENCE and isinstance(cmd.arg, tuple):
            _, _, inner = _head(buf, pos)  # bstr head: the nested sequence follows
            _walk(cmd.arg, buf, inner, section, out)
        elif cmd.code == Cmd.TRY_EACH and isinstance(cmd.arg, tuple):
            _, _, apos = _head(buf, pos)  # array of bstr / nil
            for sub in cmd.arg:
                if sub is not None:
                    _, _, inner = _head(buf, apos)
                    _walk(sub, buf, inner, section, out)
                apos = _skip(buf, apos)
        pos = _skip(buf, pos)  # argument


__all__ = ["command_offsets"]
