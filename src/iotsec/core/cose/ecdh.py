"""Elliptic-curve Diffie-Hellman for COSE recipients (RFC 9053 §6.3), on ``cryptography``.

Works on ``cryptography`` key objects: P-256/P-384/P-521 (the shared secret is the x-coordinate,
RFC 9053 §6.3.1) and X25519/X448 (RFC 7748 output).
"""

from __future__ import annotations

from typing import cast

from cryptography.hazmat.primitives.asymmetric import ec, x448, x25519

from iotsec.core.cose._keyclass import is_a
from iotsec.errors import ValidationError, VerifyError

PrivateAgreementKey = ec.EllipticCurvePrivateKey | x25519.X25519PrivateKey | x448.X448PrivateKey
PublicAgreementKey = ec.EllipticCurvePublicKey | x25519.X25519PublicKey | x448.X448PublicKey


_ECDH = ec.ECDH()  # the algorithm object holds no state
_EC_PRIVATE_TYPES: set[type] = set()  # concrete classes seen to be EllipticCurvePrivateKey
_EC_PUBLIC_TYPES: set[type] = set()
_AGREEMENT_PRIVATE_TYPES: set[type] = set()
_AGREEMENT_PUBLIC_TYPES: set[type] = set()
_PRIVATE_CLASSES = (ec.EllipticCurvePrivateKey, x25519.X25519PrivateKey, x448.X448PrivateKey)
_PUBLIC_CLASSES = (ec.EllipticCurvePublicKey, x25519.X25519PublicKey, x448.X448PublicKey)


def is_agreement_private(obj: object) -> bool:
    """True for a private key usable for ECDH here."""
    return is_a(obj, _PRIVATE_CLASSES, _AGREEMENT_PRIVATE_TYPES)


def is_agreement_public(obj: object) -> bool:
    """True for a public key usable for ECDH here."""
    return is_a(obj, _PUBLIC_CLASSES, _AGREEMENT_PUBLIC_TYPES)


def shared_secret(private: PrivateAgreementKey, peer: PublicAgreementKey) -> bytes:
    """Compute Z = ECDH(private, peer). Mismatched curves raise :class:`ValidationError`."""
    try:
        if is_a(private, ec.EllipticCurvePrivateKey, _EC_PRIVATE_TYPES):
            if not is_a(peer, ec.EllipticCurvePublicKey, _EC_PUBLIC_TYPES):
                raise ValidationError("ECDH peer key is on another curve", reason="cose.key.curve")
            ec_private = cast(ec.EllipticCurvePrivateKey, private)  # checked just above
            ec_peer = cast(ec.EllipticCurvePublicKey, peer)
            if ec_peer.curve.name != ec_private.curve.name:
                raise ValidationError("ECDH peer key is on another curve", reason="cose.key.curve")
            return ec_private.exchange(_ECDH, ec_peer)
        if isinstance(private, x25519.X25519PrivateKey):
            if not isinstance(peer, x25519.X25519PublicKey):
                raise ValidationError("ECDH peer key is not X25519", reason="cose.key.curve")
            return private.exchange(peer)
        if not isinstance(peer, x448.X448PublicKey):
            raise ValidationError("ECDH peer key is not X448", reason="cose.key.curve")
        return cast(x448.X448PrivateKey, private).exchange(peer)  # the EC case returned above
    except ValueError:
        # RFC 7748 §6.1: an all-zero output (small-order point) must be refused
        raise VerifyError("key agreement failed", reason="cose.ecdh.failed") from None


def generate_like(public: PublicAgreementKey) -> PrivateAgreementKey:
    """A fresh ephemeral private key on the curve of ``public`` (RFC 9053 §6.3.1 ECDH-ES)."""
    if isinstance(public, ec.EllipticCurvePublicKey):
        return ec.generate_private_key(public.curve)
    if isinstance(public, x25519.X25519PublicKey):
        return x25519.X25519PrivateKey.generate()
    return x448.X448PrivateKey.generate()


__all__ = [
    "PrivateAgreementKey",
    "PublicAgreementKey",
    "generate_like",
    "is_agreement_private",
    "is_agreement_public",
    "shared_secret",
]
