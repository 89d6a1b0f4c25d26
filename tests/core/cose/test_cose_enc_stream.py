"""Streaming a large detached ciphertext never holds the image in memory (SUIT firmware use)."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from pathlib import Path

import pytest

from iotsec.core.cose import Algorithm, CoseKey, Encrypt0Message, EncryptMessage, RecipientSpec
from iotsec.core.cose.ciphers import encryptor
from iotsec.core.cose.encrypt import encrypt_detached
from iotsec.core.cose.encrypt0 import encrypt0_detached
from iotsec.errors import VerifyError

SIZE = 48 * 1024 * 1024
CHUNK = 64 * 1024


def _write_encrypted(path: Path, alg: Algorithm, key: bytes, iv: bytes, aad: bytes) -> str:
    """Encrypt SIZE pseudo-random bytes chunk by chunk into ``path``; return the plaintext SHA-256."""
    enc = encryptor(alg, key, iv, aad)
    digest = hashlib.sha256()
    block = os.urandom(CHUNK)
    with path.open("wb") as f:
        for i in range(SIZE // CHUNK):
            chunk = block[i % 7 :] + block[: i % 7]
            digest.update(chunk)
            f.write(enc.update(chunk))
        f.write(enc.finalize())
    return digest.hexdigest()


@pytest.mark.parametrize("alg", [Algorithm.A128CTR, Algorithm.A128GCM])
def test_stream_48mb_with_bounded_memory(tmp_path: Path, alg: Algorithm) -> None:
    key = CoseKey.symmetric(os.urandom(16))
    # the message header comes from the one-shot API; its IV and AAD drive the streamed body
    header, _ = encrypt0_detached(b"", key, alg)
    msg = Encrypt0Message.decode(header)
    iv = msg.unprotected[5]
    from iotsec.core.cose.enc_common import enc_structure

    aad = enc_structure("Encrypt0", msg.protected_bytes) if alg == Algorithm.A128GCM else b""
    path = tmp_path / "image.enc"
    expected = _write_encrypted(path, alg, key.k, iv, aad)
    unauth = alg == Algorithm.A128CTR
    tracemalloc.start()
    try:
        dec = msg.decryptor(key, allow_unauthenticated=unauth, total_length=path.stat().st_size)
        digest = hashlib.sha256()
        with path.open("rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(dec.update(chunk))
        digest.update(dec.finalize())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert digest.hexdigest() == expected
    assert peak < 2 * 1024 * 1024, f"peak {peak} bytes while streaming {SIZE}"


def test_stream_tampered_last_chunk_fails_at_finalize(tmp_path: Path) -> None:
    kek = CoseKey.symmetric(os.urandom(16), kid="kek")
    image = os.urandom(300_000)
    data, ct = encrypt_detached(image, [RecipientSpec(Algorithm.A128KW, kek)], Algorithm.A256GCM)
    msg = EncryptMessage.decode(data)
    cek = msg.content_key(kek)
    bad = ct[:-1] + bytes([ct[-1] ^ 1])
    dec = msg.decryptor(cek, total_length=len(bad))
    for i in range(0, len(bad), CHUNK):
        dec.update(bad[i : i + CHUNK])
    with pytest.raises(VerifyError):
        dec.finalize()
