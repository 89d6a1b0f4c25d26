"""§8.3: a manifest that does not match the digest in its authentication wrapper is refused as
such (reason suit.digest.manifest) by both verification paths, before any signature is tried."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from iotsec.core.cose import CoseKey
from iotsec.core.suit import auth, builder, codec, trust
from iotsec.errors import VerifyError


@pytest.fixture(scope="module")
def key(shared_vectors: Path) -> CoseKey:
    return CoseKey.load((shared_vectors / "suit" / "manifest-spec" / "private_key.pem").read_bytes())


def _swapped_manifest(shared_vectors: Path, key: CoseKey) -> bytes:
    """Example 1 signed, then its manifest replaced by one with another sequence number."""
    desc = json.loads((shared_vectors / "suit" / "manifest-spec" / "example1.json").read_text())
    signed = auth.sign_envelope(builder.build(desc), keys=[(key, -7)])
    other = builder.build({**desc, "manifest-sequence-number": desc["manifest-sequence-number"] + 1})
    return codec.encode(
        dataclasses.replace(signed, manifest=other.manifest, manifest_bytes=other.manifest_bytes)
    )


def test_the_core_path_names_the_digest(shared_vectors: Path, key: CoseKey) -> None:
    blob = _swapped_manifest(shared_vectors, key)
    with pytest.raises(VerifyError) as err:
        auth.authenticate(blob, [key.public()])
    assert err.value.reason == "suit.digest.manifest"


def test_the_trust_domain_path_names_the_digest(shared_vectors: Path, key: CoseKey) -> None:
    env = codec.decode(_swapped_manifest(shared_vectors, key))
    anchors = [
        trust.Authority.anchor("oem", key.public()),
        trust.Authority.anchor("op", CoseKey.generate(-7).public()),
    ]
    with pytest.raises(VerifyError) as err:
        trust.authenticate(env, anchors, now=0)
    assert err.value.reason == "suit.digest.manifest"
    # the same envelope with its own manifest verifies, for the signing key only
    resigned = auth.sign_envelope(dataclasses.replace(env, authentication=None), keys=[(key, -7)])
    good = codec.decode(codec.encode(resigned))
    assert [a.name for a in trust.authenticate(good, anchors, now=0)] == ["oem"]
