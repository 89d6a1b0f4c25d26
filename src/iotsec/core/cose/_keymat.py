"""Key material access for the encryption layer: CoseKey -> raw secrets / ``cryptography`` keys."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from iotsec.core.cose import ecdh
from iotsec.core.cose.algorithms import KeyType
from iotsec.core.cose.key import CoseKey
from iotsec.errors import ValidationError


def symmetric_secret(key: CoseKey | bytes) -> bytes:
    """The secret bytes of a Symmetric key (RFC 9053 §7.3); raw bytes pass through."""
    if isinstance(key, bytes):
        return key
    if key.kty != KeyType.SYMMETRIC:
        raise ValidationError("this method needs a symmetric key", reason="cose.key.not_symmetric")
    return key.k


def key_base_iv(key: CoseKey) -> bytes | None:
    """The COSE_Key ``Base IV`` (label 5, RFC 9052 §7.1), if any."""
    return key.base_iv


def private_agreement_key(key: CoseKey) -> ecdh.PrivateAgreementKey:
    """The private ECDH key (EC2 P-256/384/521, OKP X25519/X448) of ``key``."""
    priv = key.private_key
    if not ecdh.is_agreement_private(priv):
        raise ValidationError("key cannot be used for key agreement", reason="cose.key.alg_mismatch")
    return priv  # type: ignore[return-value]


def public_agreement_key(key: CoseKey) -> ecdh.PublicAgreementKey:
    """The public ECDH key of ``key``."""
    if key.kty == KeyType.SYMMETRIC:
        raise ValidationError("key agreement needs an EC2 or OKP key", reason="cose.key.alg_mismatch")
    pub = key.public_key
    if not ecdh.is_agreement_public(pub):
        raise ValidationError("key cannot be used for key agreement", reason="cose.key.alg_mismatch")
    return pub  # type: ignore[return-value]


def cose_key_from_header(value: object) -> CoseKey:
    """Decode an ``ephemeral key`` (-1) or ``static key`` (-2) header value: a COSE_Key map."""
    if not isinstance(value, dict):
        raise ValidationError(
            "ephemeral/static key header must be a COSE_Key map", reason="cose.recipient.epk"
        )
    key = CoseKey.from_cose(value)
    if key.has_private:
        raise ValidationError("a key header must not carry private key material", reason="cose.recipient.epk")
    return key


def public_key_header(public: ecdh.PublicAgreementKey, *, compressed: bool = False) -> dict[int, Any]:
    """The COSE_Key map of an ECDH public key, for the -1 / -2 header (RFC 9053 §6.3.1).

    With ``compressed``, an EC2 key carries the sign bit of y as a bool (RFC 9053 §7.1.1).
    """
    m = CoseKey.from_cryptography(public).to_cose_map(private=False)
    if compressed and isinstance(public, ec.EllipticCurvePublicKey):
        m[-3] = bool(public.public_numbers().y & 1)
    return m


__all__ = [
    "cose_key_from_header",
    "key_base_iv",
    "private_agreement_key",
    "public_agreement_key",
    "public_key_header",
    "symmetric_secret",
]
