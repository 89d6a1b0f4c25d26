"""SUIT benchmark: envelope verification and processing, and install throughput.

Figures, each with the raw limit measured in the same run (bench/harness.py):

1. decode + verify (digest, COSE_Sign1 ES256) + validate of the spec's example 1, rebuilt by the
   builder from the spec's own description (example1.json, 148-byte manifest) and signed with the
   spec's key; raw = ``cryptography`` ECDSA P-256 verify of the same signature (target >= 0.7);
2. the same plus processing (shared sequence, install fetch, image-match, validate) on an in-memory
   store with a 4 KiB image; raw = the same ECDSA verify;
3. install throughput of a 32 MiB image (fetch, digest check, image-match, commit) into the
   in-memory store and into the filesystem store (fsync'd, atomic switch); raw = hashlib SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import Result, rate, report
from iotsec.agent.suit_store import FileStore
from iotsec.core import cbor
from iotsec.core.cose import CoseKey
from iotsec.core.suit import builder, codec
from iotsec.core.suit.auth import authenticate, sign_envelope
from iotsec.core.suit.processor import DeviceIdentity, process, resolve_sequences
from iotsec.core.suit.store import MemoryStore
from iotsec.core.suit.validate import check_manifest

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "vectors" / "suit" / "manifest-spec"


class OneFile:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def fetch(self, uri: str, arguments: bytes | None) -> bytes:
        return self.data


def main() -> None:
    key = CoseKey.load((VECTORS / "private_key.pem").read_bytes())
    pub = key.public()
    desc = json.loads((VECTORS / "example1.json").read_text())
    env = builder.build(desc)
    spec = codec.decode(
        bytes.fromhex("".join((VECTORS / "example1.txt").read_text().split("~~~")[-2].split()))
    )
    assert env.manifest_bytes == spec.manifest_bytes  # the description mirrors the spec example
    blob = codec.encode(sign_envelope(env, keys=[(key, -7)]))

    # raw limit: cryptography's own ECDSA verify of that signature over its Sig_structure
    signed = codec.decode(blob)
    assert signed.authentication is not None
    sign1 = cbor.loads(signed.authentication.blocks[0]).value
    tbs = cbor.dumps(["Signature1", sign1[0], b"", codec.encode_digest(signed.authentication.digest)])
    sig = sign1[3]
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    pk = pub.public_key
    assert isinstance(pk, ec.EllipticCurvePublicKey)
    pk.verify(der, tbs, ec.ECDSA(hashes.SHA256()))

    def raw_verify() -> None:
        pk.verify(der, tbs, ec.ECDSA(hashes.SHA256()))

    def decode_verify_validate() -> None:
        e, _ = authenticate(blob, [pub])  # §6.2 order: verify, then parse the manifest
        check_manifest(e.manifest, resolve_sequences(e))

    raw = rate(raw_verify, seconds=1.5)
    results = [
        Result(
            "decode+verify+validate (example1, ES256)",
            rate(decode_verify_validate, seconds=1.5),
            raw,
            "envelopes/s",
            target=0.7,
        )
    ]

    # processing with a real image: the example's digest replaced by that of a 4 KiB image
    image = bytes(range(256)) * 16
    desc_real = {
        **desc,
        "components": [
            {
                **desc["components"][0],
                "install-digest": {
                    "algorithm-id": "sha256",
                    "digest-bytes": hashlib.sha256(image).hexdigest(),
                },
                "install-size": len(image),
            }
        ],
    }
    blob2 = codec.encode(sign_envelope(builder.build(desc_real), keys=[(key, -7)]))
    ident = DeviceIdentity(
        frozenset({bytes.fromhex("fa6b4a53d5ad5fdfbe9de663e4d41ffe")}),
        frozenset({bytes.fromhex("1492af1425695e48bf429b2d51f2ab45")}),
    )
    fetcher = OneFile(image)

    def full() -> None:
        r = process(
            codec.decode(blob2),
            trust_anchors=[pub],
            identity=ident,
            stored_sequence=None,
            now=0,
            store=MemoryStore(),
            fetcher=fetcher,
        )
        assert r.ok

    results.append(
        Result("decode+verify+process (in-memory store, 4 KiB)", rate(full, seconds=1.5), raw, "envelopes/s")
    )

    # install throughput
    big = hashlib.sha256(b"seed").digest() * (32 * 1024 * 1024 // 32)
    mib = len(big) / (1024 * 1024)
    desc_big = {
        **desc,
        "components": [
            {
                **desc["components"][0],
                "install-digest": {"algorithm-id": "sha256", "digest-bytes": hashlib.sha256(big).hexdigest()},
                "install-size": len(big),
            }
        ],
    }
    blob3 = codec.encode(sign_envelope(builder.build(desc_big), keys=[(key, -7)]))
    raw_sha = rate(lambda: hashlib.sha256(big).digest(), seconds=1.5) * mib

    def install_memory() -> None:
        r = process(
            codec.decode(blob3),
            trust_anchors=[pub],
            identity=ident,
            stored_sequence=None,
            now=0,
            store=MemoryStore(),
            fetcher=OneFile(big),
        )
        assert r.ok

    results.append(
        Result("install 32 MiB (in-memory store)", rate(install_memory, seconds=3) * mib, raw_sha, "MiB/s")
    )
    with tempfile.TemporaryDirectory() as tmp:
        counter = [0]

        def install_files() -> None:
            counter[0] += 1
            store = FileStore(Path(tmp) / f"s{counter[0]}")
            r = process(
                codec.decode(blob3),
                trust_anchors=[pub],
                identity=ident,
                stored_sequence=None,
                now=0,
                store=store,
                fetcher=OneFile(big),
            )
            assert r.ok

        results.append(
            Result(
                "install 32 MiB (filesystem store, fsync + atomic switch)",
                rate(install_files, seconds=3) * mib,
                raw_sha,
                "MiB/s",
            )
        )
    report(results)


if __name__ == "__main__":
    main()
