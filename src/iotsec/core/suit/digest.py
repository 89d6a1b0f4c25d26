"""SUIT_Digest computation and the keyless integrity checks.

draft-ietf-suit-manifest §10 (digest container), §8.3 (manifest digest), §8.4.12 (severed members).
"""

from __future__ import annotations

import hashlib
import hmac

from iotsec.core.suit.model import Authentication, Digest, Envelope
from iotsec.core.suit.registry import DigestAlg, ManifestKey
from iotsec.errors import UnsupportedError, VerifyError

_HASHES = {
    DigestAlg.SHA256: ("sha256", 0),
    DigestAlg.SHA384: ("sha384", 0),
    DigestAlg.SHA512: ("sha512", 0),
    DigestAlg.SHAKE128: ("shake_128", 32),
    DigestAlg.SHAKE256: ("shake_256", 64),
}


def compute_digest(alg: int, data: bytes) -> bytes:
    """Digest of ``data`` with a §10 algorithm; UnsupportedError for any other algorithm."""
    try:
        name, length = _HASHES[DigestAlg(alg)]
    except (ValueError, KeyError):
        raise UnsupportedError(f"unsupported SUIT digest algorithm {alg}", reason="suit.digest.alg") from None
    h = hashlib.new(name, data)
    if length:
        return h.digest(length)  # type: ignore[call-arg]
    return h.digest()


def digest_matches(d: Digest, data: bytes) -> bool:
    """Constant-time comparison of ``data``'s digest with ``d``."""
    if d.alg == _SHA256:  # the suit-mti digest, without the registry look-up
        return hmac.compare_digest(hashlib.sha256(data).digest(), d.value)
    if d.alg in (DigestAlg.SHAKE128, DigestAlg.SHAKE256):
        name = "shake_128" if d.alg == DigestAlg.SHAKE128 else "shake_256"
        actual = hashlib.new(name, data).digest(len(d.value))  # type: ignore[call-arg]
    else:
        actual = compute_digest(d.alg, data)
    return hmac.compare_digest(actual, d.value)


def make_digest(data: bytes, alg: int = DigestAlg.SHA256) -> Digest:
    """The SUIT_Digest of ``data`` (SHA-256 by default, the suit-mti digest)."""
    return Digest(alg, compute_digest(alg, data))


def wrapped_digest(d: Digest, content: bytes) -> bool:
    """True if ``d`` covers the bstr-wrapped ``content`` (header included, §8.3, §8.4.12)."""
    n = len(content)
    return digest_matches(d, (_BSTR_HEADS[n] if n < 0x100 else bstr_head(n)) + content)


_SHA256 = int(DigestAlg.SHA256)
_BSTR_HEADS = (*(bytes((0x40 | n,)) for n in range(24)), *(bytes((0x58, n)) for n in range(24, 0x100)))


def bstr_head(n: int) -> bytes:
    """The CBOR head of a byte string of ``n`` bytes (RFC 8949 §3, shortest form)."""
    if n < 24:
        return bytes((0x40 | n,))
    if n < 0x100:
        return bytes((0x58, n))
    if n < 0x10000:
        return b"\x59" + n.to_bytes(2, "big")
    if n < 0x100000000:
        return b"\x5a" + n.to_bytes(4, "big")
    return b"\x5b" + n.to_bytes(8, "big")


def verify_manifest_digest(env: Envelope) -> None:
    """§8.3: the wrapper's digest covers the bstr-wrapped manifest."""
    verify_wrapper_digest(env.authentication, env.manifest_bytes)


def verify_wrapper_digest(auth: Authentication | None, manifest_bytes: bytes) -> Authentication:
    """:func:`verify_manifest_digest` of an authentication wrapper and the manifest bytes it
    covers; returns the wrapper."""
    if auth is None:
        raise VerifyError("the envelope carries no authentication wrapper", reason="suit.auth.missing")
    if not wrapped_digest(auth.digest, manifest_bytes):
        raise VerifyError("manifest digest does not match", reason="suit.digest.manifest")
    return auth


def verify_severed(env: Envelope) -> None:
    """§8.4.12: each severable member in the envelope matches its digest in the manifest."""
    for key, raw in env.severed.items():
        held = env.manifest.text if key == ManifestKey.TEXT else env.manifest.sequences.get(key)
        if not isinstance(held, Digest):
            raise VerifyError(
                f"envelope member {key} has no digest in the manifest", reason="suit.severed.undeclared"
            )
        if not wrapped_digest(held, raw):
            raise VerifyError(f"severed member {key} does not match its digest", reason="suit.digest.severed")


__all__ = [
    "bstr_head",
    "compute_digest",
    "digest_matches",
    "make_digest",
    "verify_manifest_digest",
    "verify_wrapper_digest",
    "verify_severed",
    "wrapped_digest",
]
