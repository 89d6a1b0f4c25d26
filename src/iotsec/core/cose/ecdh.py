"""Elliptic-curve Diffie-Hellman for COSE recipients (RFC 9053 §6.3), on ``cryptography``.

Works on ``cryptography`` key objects: P-256/P-384/P-521 (the shared secret is the x-coordinate,
RFC 9053 §6.3.1) and X25519/X448 (RFC 7748 output).
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec, x448, x25519

from iotsec.errors import ValidationError, VerifyError

PrivateAgreementKey = ec.EllipticCurvePrivateKey | x25519.X25519PrivateKey | x448.X448PrivateKey
PublicAgreementKey = ec.EllipticCurvePublicKey | x25519.X25519PublicKey | x448.X448PublicKey


def is_agreement_private(obj: object) -> bool:
    """True for a private key usable for ECDH here."""
    return isinstance(obj, ec.EllipticCurvePrivateKey | x25519.X25519PrivateKey | x448.X448PrivateKey)


def is_agreement_public(obj: object) -> bool:
    """True for a public key usable for ECDH here."""
    return isinstance(obj, ec.EllipticCurvePublicKey | x25519.X25519PublicKey | x448.X448PublicKey)


def shared_secret(private: PrivateAgreementKey, peer: PublicAgreementKey) -> bytes:
    """Compute Z = ECDH(private, peer). Mismatched curves raise :class:`ValidationError`."""
    try:
        if isinstance(private, ec.EllipticCurvePrivateKey):
            if not isinstance(peer, ec.EllipticCurvePublicKey) or peer.curve.name != private.curve.name:
                raise ValidationError("ECDH peer key is on another curve", reason="cose.key.curve")
            return private.exchange(ec.ECDH(), peer)
        if isinstance(private, x25519.X25519PrivateKey):
            if not isinstance(peer, x25519.X25519PublicKey):
                raise ValidationError("ECDH peer key is not X25519", reason="cose.key.curve")
            return private.exchange(peer)
        if not isinstance(peer, x448.X448PublicKey):
            raise ValidationError("ECDH peer key is not X448", reason="cose.key.curve")
        return private.exchange(peer)
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
