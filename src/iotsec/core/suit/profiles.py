"""The SUIT algorithm profiles of draft-ietf-suit-mti (digest, authentication, key exchange, encryption).

Code points from the IANA "COSE Algorithms" registry as the draft lists them. :func:`matching`
tells which profiles an envelope's digest and authentication algorithms fit; a device can
require one with :func:`require`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from iotsec.errors import PolicyError


@dataclass(frozen=True)
class Profile:
    """One row of draft-ietf-suit-mti: algorithm ids per category (None: no encryption)."""

    name: str
    digest: int
    auth: int
    key_exchange: int
    encryption: int
    status: str


PROFILES: tuple[Profile, ...] = (
    Profile("suit-sha256-hmac-a128kw-a128ctr", -16, 5, -3, -65534, "symmetric"),
    Profile("suit-sha256-esp256-ecdh-a128ctr", -16, -9, -29, -65534, "constrained asymmetric"),
    Profile("suit-sha256-ed25519-ecdh-a128ctr", -16, -19, -29, -65534, "constrained asymmetric"),
    Profile("suit-sha256-esp256-ecdh-a128gcm", -16, -9, -29, 1, "AEAD"),
    Profile("suit-sha256-ed25519-ecdh-chacha-poly", -16, -19, -29, 24, "AEAD"),
    Profile("suit-sha256-hsslms-a256kw-a256ctr", -16, -46, -5, -65532, "hash-based signatures"),
)

# Polymorphic ids the draft's profiles name by their fully specified successors (RFC 9864):
# ES256 (-7) is ECDSA P-256/SHA-256 like ESP256 when the key is P-256; EdDSA (-8) is Ed25519 with
# an Ed25519 key. The spec's own examples are signed with ES256.
_EQUIVALENT = {-7: -9, -8: -19}


def matching(digest_alg: int, auth_algs: Iterable[int]) -> list[str]:
    """Names of the profiles whose digest and authentication algorithms an envelope uses."""
    auths = {_EQUIVALENT.get(a, a) for a in auth_algs}
    return [p.name for p in PROFILES if p.digest == digest_alg and p.auth in auths]


def require(name: str, digest_alg: int, auth_algs: Iterable[int]) -> None:
    """PolicyError unless the envelope fits the profile ``name``."""
    if name not in {p.name for p in PROFILES}:
        raise PolicyError(f"unknown SUIT profile {name!r}", reason="suit.profile.unknown")
    if name not in matching(digest_alg, auth_algs):
        raise PolicyError(f"the envelope does not use the {name} profile", reason="suit.profile.mismatch")


__all__ = ["PROFILES", "Profile", "matching", "require"]
