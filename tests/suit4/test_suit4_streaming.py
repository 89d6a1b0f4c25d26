"""A 100 MiB encrypted payload flows fetch -> decrypt -> store in chunks, never held twice in memory."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from pathlib import Path

import pytest
from suit4_helpers import process

from iotsec.agent.suit_stream import SpoolingFileStore, StreamingDirectoryFetcher
from iotsec.core.cose import Algorithm, CoseKey
from iotsec.core.suit.auth import sign_envelope
from iotsec.core.suit.builder_ext import build_extended
from iotsec.core.suit.companion import SuitResult
from iotsec.core.suit.encryption import PayloadEncryptor
from iotsec.core.suit.model import Envelope

SIZE = 100 * 1024 * 1024
KEY = CoseKey.generate(Algorithm.ES256)
DEVICE = CoseKey.generate(Algorithm.ECDH_ES_A128KW, kid=b"dev")


def _signed(enc: PayloadEncryptor, **image: object) -> Envelope:
    """A manifest that fetches ``app.enc``, decrypts it with ``enc``'s info and installs it as
    ['app']; IMAGE: the install-digest and install-size it checks, if any."""
    app = {
        "component-id": ["app"],
        **image,
        "uri": "https://cdn.example/app.enc",
        "encrypted": {"info": "app.info"},
    }
    desc = {"manifest-sequence-number": 1, "components": [app]}
    return sign_envelope(build_extended(desc, {"app.info": enc.info}), keys=[(KEY, Algorithm.ES256)])


def _process(env: Envelope, payloads: Path, store: SpoolingFileStore) -> SuitResult:
    return process(
        env,
        store,
        anchors=[KEY.public()],
        fetcher=StreamingDirectoryFetcher(payloads),
        decryption_keys=[DEVICE],
    )


def _setup(tmp_path: Path, alg: int) -> tuple[Envelope, str, Path]:
    payloads = tmp_path / "payloads"
    payloads.mkdir()
    h = hashlib.sha256()
    enc = PayloadEncryptor([DEVICE.public()], alg)
    block = os.urandom(1 << 20)
    with open(payloads / "app.enc", "wb") as f:
        for n in range(SIZE >> 20):
            chunk = bytes([n & 0xFF]) + block[1:]
            h.update(chunk)
            f.write(enc.update(chunk))
        f.write(enc.finalize())
    digest = {"algorithm-id": "sha256", "digest-bytes": h.hexdigest()}
    return _signed(enc, **{"install-digest": digest, "install-size": SIZE}), h.hexdigest(), payloads


@pytest.mark.slow
@pytest.mark.parametrize(
    "alg", [Algorithm.A128GCM, Algorithm.A128CTR, Algorithm.CHACHA20_POLY1305], ids=lambda a: a.name
)
def test_suit4_streaming_100mib(tmp_path: Path, alg: int) -> None:
    env, digest, payloads = _setup(tmp_path, alg)
    store = SpoolingFileStore(tmp_path / "store")
    before_commit: list[int] = []
    commit = store.commit

    def traced_commit(n: int | None) -> None:
        before_commit.append(tracemalloc.get_traced_memory()[1])
        commit(n)

    store.commit = traced_commit  # type: ignore[method-assign]
    tracemalloc.start()
    try:
        r = _process(env, payloads, store)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    r.check()
    got = hashlib.sha256()
    with open(store.path_of((b"app",)), "rb") as f:
        while block := f.read(1 << 20):
            got.update(block)
    assert got.hexdigest() == digest
    # fetch, decrypt, stage and image-match: chunks of 1 MiB plus bookkeeping, far below one copy
    assert before_commit[0] < 16 * 1024 * 1024, f"peak before commit {before_commit[0] / 1e6:.1f} MB"
    # FileStore.commit writes the spool (file-backed) and reads it back in blocks to check it
    assert peak < 16 * 1024 * 1024, f"peak traced memory {peak / 1e6:.1f} MB"
    assert not any(p.name.startswith(".tmp-spool") for p in store.root.iterdir())


@pytest.mark.parametrize(
    ("alg", "size", "flip", "reason"),
    [
        # a flipped ciphertext byte: the GCM tag fails at the end of the stream
        pytest.param(Algorithm.A128GCM, 3 << 20, 5, "cose.decrypt.failed", id="gcm-bad-tag"),
        # ... and the Poly1305 tag of a ChaCha20/Poly1305 stream (RFC 8439 §2.8)
        pytest.param(
            Algorithm.CHACHA20_POLY1305, 3 << 20, (3 << 20) - 7, "cose.decrypt.failed", id="chacha-bad-tag"
        ),
        # AES-CTR has no integrity: without an image digest the processor refuses to decrypt
        pytest.param(
            Algorithm.A128CTR, 1000, None, "suit.encryption.unauthenticated", id="ctr-without-digest"
        ),
    ],
)
def test_suit4_streaming_refused_leaves_nothing(
    tmp_path: Path, alg: int, size: int, flip: int | None, reason: str
) -> None:
    """A refused encrypted payload: nothing is committed and no spool file is left."""
    payloads = tmp_path / "payloads"
    payloads.mkdir()
    enc = PayloadEncryptor([DEVICE.public()], alg)
    data = bytearray(enc.update(os.urandom(size)) + enc.finalize())
    if flip is not None:
        data[flip] ^= 0x40
    (payloads / "app.enc").write_bytes(bytes(data))
    store = SpoolingFileStore(tmp_path / "store")
    r = _process(_signed(enc), payloads, store)
    assert not r.ok and r.reason == reason
    assert store.components() == {} and store.sequence_number is None
    assert not any(p.name.startswith(".tmp-spool") for p in store.root.iterdir())
