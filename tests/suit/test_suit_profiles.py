"""draft-ietf-suit-mti authentication algorithms end to end: sign, verify, process, profile."""

from __future__ import annotations

from pathlib import Path

import pytest
from suit_vectors import load_example

from iotsec.core.cose import CoseKey
from iotsec.core.suit import codec, profiles
from iotsec.core.suit.auth import authenticate, sign_envelope
from iotsec.errors import PolicyError, VerifyError


@pytest.mark.parametrize(
    ("alg", "profile"),
    [
        (-9, "suit-sha256-esp256-ecdh-a128ctr"),  # ESP256
        (-19, "suit-sha256-ed25519-ecdh-a128ctr"),  # Ed25519
        (-7, "suit-sha256-esp256-ecdh-a128ctr"),  # ES256 as in the spec's examples
        (-8, "suit-sha256-ed25519-ecdh-a128ctr"),  # EdDSA with an Ed25519 key
    ],
)
def test_signature_profiles(shared_vectors: Path, alg: int, profile: str) -> None:
    key = CoseKey.generate(alg)
    unsigned = codec.decode(load_example(shared_vectors, "example0").unsigned, allow_unsigned=True)
    blob = codec.encode(sign_envelope(unsigned, keys=[(key, alg)]))
    env, result = authenticate(blob, [key.public()])
    assert [v[2] for v in result.verified] == [alg]
    assert env.authentication is not None
    assert profile in profiles.matching(env.authentication.digest.alg, [alg])
    profiles.require(profile, env.authentication.digest.alg, [alg])
    with pytest.raises(VerifyError):
        authenticate(blob, [CoseKey.generate(alg).public()])


def test_mac_profile(shared_vectors: Path) -> None:
    key = CoseKey.symmetric(b"\x01" * 32)
    unsigned = codec.decode(load_example(shared_vectors, "example0").unsigned, allow_unsigned=True)
    blob = codec.encode(sign_envelope(unsigned, mac_keys=[(key, 5)]))
    env, result = authenticate(blob, [key])
    assert result.verified[0][1:] == ("COSE_Mac0", 5) and env.manifest.sequence_number == 0
    assert profiles.matching(-16, [5]) == ["suit-sha256-hmac-a128kw-a128ctr"]
    with pytest.raises(PolicyError):
        profiles.require("suit-sha256-esp256-ecdh-a128gcm", -16, [5])
    # the firmware-encryption vectors are MACed with HMAC 256/256 (key "a"*32, SOURCES.md)
    p = shared_vectors / "suit" / "firmware-encryption" / "suit-manifest-aes-kw.hex.signed"
    _env, result = authenticate(bytes.fromhex("".join(p.read_text().split())), [CoseKey.symmetric(b"a" * 32)])
    assert profiles.matching(-16, [v[2] for v in result.verified]) == ["suit-sha256-hmac-a128kw-a128ctr"]
