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
    blocks = [bytes.fromhex("".join(b.split())) for b in re.findall(r"~~~\n([0-9a-f\n]+)~~~", text)]
    diag = re.search(r"~~~ cbor-diag\n(.*?)~~~", text, re.S)
    assert diag is not None and len(blocks) >= 2
    return Example(name, blocks[0], blocks[-1], blocks, diag.group(1))


def private_key_pem(vectors: Path) -> bytes:
    return (vectors / "suit" / "manifest-spec" / "private_key.pem").read_bytes()


# The spec examples use sample digests (00112233..., 01234567...) that no image has. To run an
# example on a store that satisfies it, its digests and sizes are replaced by those of real
# images; everything else in the manifest stays as the example has it.
SAMPLE_A = bytes.fromhex("00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210")
SAMPLE_B = bytes.fromhex("0123456789abcdeffedcba987654321000112233445566778899aabbccddeeff")
SIZE_A, SIZE_B = 34768, 76834


def image(seed: bytes, size: int) -> bytes:
    """A deterministic test image of ``size`` bytes."""
    import hashlib

    out = bytearray()
    block = seed
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:size])


IMAGE_A = image(b"A", SIZE_A)
IMAGE_B = image(b"B", SIZE_B)
