"""The copy-free decryption paths (update_parts, update_into, sliced AES-CTR) give exactly what
``cryptography`` gives on the whole input, whatever the chunking; a bad GCM tag still fails."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from hypothesis import given, settings
from hypothesis import strategies as st

from iotsec.core.cose import Algorithm, CoseKey
from iotsec.core.cose import ciphers as cc
from iotsec.core.suit.encryption import SLICE, EncryptionInfo, decrypt_chunks, encrypt_payload
from iotsec.errors import UnsupportedError, VerifyError

KEY = bytes(range(16))
GCM_IV = bytes(range(12))
CTR_IV = bytes(range(16))
KEK = CoseKey.symmetric(bytes(range(32, 48)), kid=b"kek")


def _cuts(data: bytes, sizes: list[int]) -> list[bytes]:
    out, i = [], 0
    for n in sizes:
        out.append(data[i : i + n])
        i += n
    out.append(data[i:])
    return out


@settings(max_examples=40, deadline=None)
@given(
    plain=st.binary(min_size=0, max_size=3000),
    sizes=st.lists(st.integers(min_value=0, max_value=700), max_size=8),
    slice_len=st.sampled_from([None, 1, 16, 17, 100]),
    known=st.booleans(),
    chacha=st.booleans(),
)
def test_suit4_aead_update_parts_any_chunking(
    plain: bytes, sizes: list[int], slice_len: int | None, known: bool, chacha: bool
) -> None:
    """AES-GCM and ChaCha20/Poly1305 (RFC 8439 §2.8 from its primitives) through update_parts,
    with and without the total length, against cryptography's one-shot AEADs."""
    alg, key = (Algorithm.CHACHA20_POLY1305, bytes(range(32))) if chacha else (Algorithm.A128GCM, KEY)
    aead = ChaCha20Poly1305(key) if chacha else AESGCM(key)
    ct = aead.encrypt(GCM_IV, plain, b"aad")  # reference: cryptography one-shot
    dec = cc.decryptor(alg, key, GCM_IV, b"aad", total_length=len(ct) if known else None)
    got = b"".join(b"".join(dec.update_parts(c, slice_len)) for c in _cuts(ct, sizes))
    assert got + dec.finalize() == plain


@pytest.mark.parametrize("declared", [-1, 1, -16])
def test_suit4_aead_update_parts_wrong_total_length(declared: int) -> None:
    """A declared total length that is not the real one fails (too short: more than a tag after
    the body; too long: the tag never completes)."""
    ct = AESGCM(KEY).encrypt(GCM_IV, os.urandom(1000), b"")
    dec = cc.decryptor(Algorithm.A128GCM, KEY, GCM_IV, total_length=len(ct) + declared)
    with pytest.raises(VerifyError):
        dec.update_parts(ct, 64)
        dec.finalize()


@settings(max_examples=25, deadline=None)
@given(plain=st.binary(min_size=1, max_size=2000), sizes=st.lists(st.integers(0, 500), max_size=6))
def test_suit4_gcm_update_parts_bad_tag(plain: bytes, sizes: list[int]) -> None:
    ct = bytearray(AESGCM(KEY).encrypt(GCM_IV, plain, b""))
    ct[-1] ^= 1
    dec = cc.decryptor(Algorithm.A128GCM, KEY, GCM_IV)
    for c in _cuts(bytes(ct), sizes):
        dec.update_parts(c, 64)
    with pytest.raises(VerifyError):
        dec.finalize()


def test_suit4_ctr_update_into_matches_cryptography() -> None:
    plain = os.urandom(5000)
    enc = Cipher(algorithms.AES(KEY), modes.CTR(CTR_IV)).encryptor()
    ct = enc.update(plain) + enc.finalize()
    dec = cc.decryptor(Algorithm.A128CTR, KEY, CTR_IV)
    buf = bytearray(len(ct) + 15)
    n = dec.update_into(ct[:1234], buf)
    n += dec.update_into(memoryview(ct)[1234:], memoryview(buf)[n:])
    assert n == len(plain) and bytes(buf[:n]) == plain and dec.finalize() == b""
    with pytest.raises(UnsupportedError):
        cc.decryptor(Algorithm.A128GCM, KEY, GCM_IV).update_into(b"x" * 32, bytearray(64))


@pytest.mark.parametrize("size", [0, 1, SLICE - 1, SLICE, SLICE + 1, 3 * SLICE + 7])
@pytest.mark.parametrize("alg", [Algorithm.A128CTR, Algorithm.A128GCM])
def test_suit4_in_memory_and_streamed_decrypt_sizes(size: int, alg: int) -> None:
    plain = os.urandom(size)
    ep = encrypt_payload(plain, [KEK], alg)
    info = EncryptionInfo.decode(ep.info)
    whole = info.decrypt([KEK], ep.ciphertext)
    assert type(whole) is bytes and whole == plain
    step = max(1, SLICE // 3)
    chunks = (ep.ciphertext[i : i + step] for i in range(0, len(ep.ciphertext), step))
    assert b"".join(decrypt_chunks(info, [KEK], chunks)) == plain
