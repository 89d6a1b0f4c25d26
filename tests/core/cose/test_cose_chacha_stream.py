"""Streamed ChaCha20/Poly1305 (RFC 8439 §2.8 from its primitives, core/cose/chacha_stream.py)
against the RFC's AEAD test vector and ``cryptography``'s one-shot ChaCha20Poly1305."""

from __future__ import annotations

import itertools

import pytest
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from hypothesis import given, settings
from hypothesis import strategies as st

from iotsec.core.cose import Algorithm, ciphers
from iotsec.errors import VerifyError

CHACHA = Algorithm.CHACHA20_POLY1305

# RFC 8439 §2.8.2 "Example and Test Vector for AEAD_CHACHA20_POLY1305"
KEY = bytes(range(0x80, 0xA0))
NONCE = bytes.fromhex("070000004041424344454647")
AAD = bytes.fromhex("50515253c0c1c2c3c4c5c6c7")
PLAINTEXT = (
    b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future,"
    b" sunscreen would be it."
)
CIPHERTEXT = bytes.fromhex(
    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b"
    "1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
    "3ff4def08e4b7a9de576d26586cec64b6116"
)
TAG = bytes.fromhex("1ae10b594f09e26a7e902ecbd0600691")


def _pieces(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(data), *[c for c in cuts if c <= len(data)]})
    return [data[a:b] for a, b in itertools.pairwise(points)]


@pytest.mark.parametrize("step", [1, 7, 16, 64, 1000])
def test_chacha_stream_rfc8439_vector(step: int) -> None:
    enc = ciphers.encryptor(CHACHA, KEY, NONCE, AAD)
    out = b"".join(enc.update(PLAINTEXT[i : i + step]) for i in range(0, len(PLAINTEXT), step))
    assert out + enc.finalize() == CIPHERTEXT + TAG
    dec = ciphers.decryptor(CHACHA, KEY, NONCE, AAD)
    sealed = CIPHERTEXT + TAG
    plain = b"".join(dec.update(sealed[i : i + step]) for i in range(0, len(sealed), step))
    assert plain + dec.finalize() == PLAINTEXT


@settings(max_examples=200, deadline=None)
@given(
    key=st.binary(min_size=32, max_size=32),
    nonce=st.binary(min_size=12, max_size=12),
    aad=st.binary(max_size=40),
    data=st.binary(max_size=300),
    cuts=st.lists(st.integers(0, 320), max_size=6),
)
def test_chacha_stream_equals_cryptography_one_shot(
    key: bytes, nonce: bytes, aad: bytes, data: bytes, cuts: list[int]
) -> None:
    reference = ChaCha20Poly1305(key).encrypt(nonce, data, aad)
    enc = ciphers.encryptor(CHACHA, key, nonce, aad)
    assert b"".join(enc.update(p) for p in _pieces(data, cuts)) + enc.finalize() == reference
    for total in (None, len(reference)):
        dec = ciphers.decryptor(CHACHA, key, nonce, aad, total_length=total)
        out = b"".join(dec.update(p) for p in _pieces(reference, cuts))
        assert out + dec.finalize() == data


@settings(max_examples=200, deadline=None)
@given(
    data=st.binary(min_size=1, max_size=200),
    where=st.integers(0, 10_000),
    bit=st.integers(0, 7),
    aad_flip=st.booleans(),
)
def test_chacha_stream_refuses_any_change(data: bytes, where: int, bit: int, aad_flip: bool) -> None:
    """A flipped bit anywhere in ciphertext or tag, or in the AAD, fails the tag check."""
    sealed = bytearray(ChaCha20Poly1305(KEY).encrypt(NONCE, data, AAD))
    aad = AAD
    if aad_flip:
        aad = bytes([AAD[0] ^ (1 << bit)]) + AAD[1:]
    else:
        sealed[where % len(sealed)] ^= 1 << bit
    dec = ciphers.decryptor(CHACHA, KEY, NONCE, aad)
    dec.update(bytes(sealed))
    with pytest.raises(VerifyError):
        dec.finalize()


def test_chacha_stream_truncated_or_extended() -> None:
    sealed = ChaCha20Poly1305(KEY).encrypt(NONCE, PLAINTEXT, AAD)
    for bad in (sealed[:-1], sealed[:10], sealed + b"\x00", b""):
        dec = ciphers.decryptor(CHACHA, KEY, NONCE, AAD)
        dec.update(bad)
        with pytest.raises(VerifyError):
            dec.finalize()
