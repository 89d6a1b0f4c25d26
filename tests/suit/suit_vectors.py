"""Reading the draft-ietf-suit-manifest examples (../shared/vectors/suit/manifest-spec)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

EXAMPLES = [f"example{i}" for i in range(6)]


@dataclass
class Example:
    name: str
    unsigned: bytes  # the first hex block: envelope whose wrapper holds only the digest
    signed: bytes  # the last hex block: "Envelope with COSE authentication object"
    blocks: list[bytes]
    diag: str


def load_example(vectors: Path, name: str) -> Example:
    text = (vectors / "suit" / "manifest-spec" / f"{name}.txt").read_text()
    blocks = [
        bytes.fromhex("".join(b.split()))
        for b in re.findall(r"~~~\n([0-9a-f\n]+)~~~", text)
    ]
    diag = re.search(r"~~~ cbor-diag\n(.*?)~~~", text, re.S)
    assert diag is not None and len(blocks) >= 2
    return Example(name, blocks[0], blocks[-1], blocks, diag.group(1))


def private_key_pem(vectors: Path) -> bytes:
    return (vectors / "suit" / "manifest-spec" / "private_key.pem").read_bytes()
