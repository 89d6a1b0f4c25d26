"""Byte offsets of commands in their command sequence (draft-ietf-suit-report §3).

suit-record-section-offset is "the number of bytes into the current Command Sequence at which
the current command is located". A section is encoded once and walked with the minimal reader of
CBOR heads of ``core.deterministic`` (SUIT is deterministically encoded: definite lengths only);
commands nested in try-each or run-sequence get offsets counted from the start of their top-level
section.
"""

from __future__ import annotations

from iotsec.core.deterministic import head, skip
from iotsec.core.suit import codec
from iotsec.core.suit.model import CommandSequence
from iotsec.core.suit.registry import Command as Cmd


def command_offsets(seq: CommandSequence, section: int, out: dict[int, tuple[int, int]]) -> None:
    """Byte offset of each command in its top-level section (draft-ietf-suit-report §3).

    The section is encoded once and walked; nested sequences (run-sequence, try-each) are located
    inside their byte strings, so their offsets count from the start of the top-level section.
    """
    _walk(seq, codec.encode_sequence(seq), 0, section, out)


def _walk(seq: CommandSequence, buf: bytes, pos: int, section: int, out: dict[int, tuple[int, int]]) -> None:
    _, _, pos = head(buf, pos)  # the array head
    for cmd in seq:
        out[id(cmd)] = (section, pos)
        pos = skip(buf, pos)  # command code
        if cmd.code == Cmd.RUN_SEQUENCE and isinstance(cmd.arg, tuple):
            _, _, inner = head(buf, pos)  # bstr head: the nested sequence follows
            _walk(cmd.arg, buf, inner, section, out)
        elif cmd.code == Cmd.TRY_EACH and isinstance(cmd.arg, tuple):
            _, _, apos = head(buf, pos)  # array of bstr / nil
            for sub in cmd.arg:
                if sub is not None:
                    _, _, inner = head(buf, apos)
                    _walk(sub, buf, inner, section, out)
                apos = skip(buf, apos)
        pos = skip(buf, pos)  # argument


__all__ = ["command_offsets"]
