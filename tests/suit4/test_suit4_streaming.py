"""A 100 MiB encrypted payload flows fetch -> decrypt -> store in chunks, never held twice in memory."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from pathlib import Path

import pytest

from iotsec.agent.suit_stream import SpoolingFileStore, StreamingDirectoryFetcher
from iotsec.core.cose import Algorithm, CoseKey
from iotsec.core.suit.auth import sign_envelope
from iotsec.core.suit.builder_ext import build_extended
from iotsec.core.suit.companion import process_suit
from iotsec.core.suit.encryption import PayloadEncryptor
from iotsec.core.suit.processor import DeviceIdentity

SIZE = 100 * 1024 * 1024
KEY = CoseKey.generate(Algorithm.ES256)
DEVICE = CoseKey.generate(Algorithm.ECDH_ES_A128KW, kid=b"dev")


def _setup(tmp_path: Path, alg: int) -> tuple[object, str, Path]:
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
    desc = {
        "manifest-sequence-number": 1,
        "components": [
            {
                "component-id": ["app"],
                "install-digest": {"algorithm-id": "sha256", "digest-bytes": h.hexdigest()},
                "install-size": SIZE,
                "uri": "https://cdn.example/app.enc",
                "encrypted": {"info": "app.info"},
            }
        ],
    }
    env = sign_envelope(build_extended(desc, {"app.info": enc.info}), keys=[(KEY, Algorithm.ES256)])
    return env, h.hexdigest(), payloads


@pytest.mark.slow
@pytest.mark.parametrize("alg", [Algorithm.A128GCM, Algorithm.A128CTR], ids=lambda a: a.name)
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
        r = process_suit(
            env,
            anchors=[KEY.public()],
            identity=DeviceIdentity(),
            stored_sequence=None,
            now=0,  # type: ignore[arg-type]
            store=store,
            fetcher=StreamingDirectoryFetcher(payloads),
            decryption_keys=[DEVICE],
        )
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


def test_suit4_streaming_bad_tag_leaves_nothing(tmp_path: Path) -> None:
    """A flipped ciphertext byte: the GCM tag fails at the end of the stream, nothing is committed
    and the spool file is gone."""
    payloads = tmp_path / "payloads"
    payloads.mkdir()
    enc = PayloadEncryptor([DEVICE.public()], Algorithm.A128GCM)
    data = bytearray(enc.update(os.urandom(3 << 20)) + enc.finalize())
    data[5] ^= 0x40
    (payloads / "app.enc").write_bytes(bytes(data))
    desc = {
        "manifest-sequence-number": 1,
        "components": [
            {"component-id": ["app"], "uri": "https://cdn.example/app.enc", "encrypted": {"info": "app.info"}}
        ],
    }
    env = sign_envelope(build_extended(desc, {"app.info": enc.info}), keys=[(KEY, Algorithm.ES256)])
    store = SpoolingFileStore(tmp_path / "store")
    r = process_suit(
        env,
        anchors=[KEY.public()],
        identity=DeviceIdentity(),
        stored_sequence=None,
        now=0,
        store=store,
        fetcher=StreamingDirectoryFetcher(payloads),
        decryption_keys=[DEVICE],
    )
    assert not r.ok and r.reason == "cose.decrypt.failed"
    assert store.components() == {} and store.sequence_number is None
    assert not any(p.name.startswith(".tmp-spool") for p in store.root.iterdir())


def test_suit4_streaming_ctr_without_digest_refused(tmp_path: Path) -> None:
    """AES-CTR has no integrity: without an image digest the processor refuses to decrypt."""
    payloads = tmp_path / "payloads"
    payloads.mkdir()
    enc = PayloadEncryptor([DEVICE.public()], Algorithm.A128CTR)
    (payloads / "app.enc").write_bytes(enc.update(b"x" * 1000) + enc.finalize())
    desc = {
        "manifest-sequence-number": 1,
        "components": [
            {"component-id": ["app"], "uri": "https://cdn.example/app.enc", "encrypted": {"info": "app.info"}}
        ],
    }
    env = sign_envelope(build_extended(desc, {"app.info": enc.info}), keys=[(KEY, Algorithm.ES256)])
    store = SpoolingFileStore(tmp_path / "store")
    r = process_suit(
        env,
        anchors=[KEY.public()],
        identity=DeviceIdentity(),
        stored_sequence=None,
        now=0,
        store=store,
        fetcher=StreamingDirectoryFetcher(payloads),
        decryption_keys=[DEVICE],
    )
    assert not r.ok and r.reason == "suit.encryption.unauthenticated"
    assert store.components() == {}
