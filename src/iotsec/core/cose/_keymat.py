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


# RFC 9053 §7.1.1 EC2 curves for the ephemeral/static key fast path: curve, coordinate size
_EC2_FAST: dict[int, tuple[ec.EllipticCurve, int]] = {
    1: (ec.SECP256R1(), 32),  # P-256
    2: (ec.SECP384R1(), 48),  # P-384
    3: (ec.SECP521R1(), 66),  # P-521
}


def peer_agreement_key(value: object) -> ecdh.PublicAgreementKey:
    """``public_agreement_key(cose_key_from_header(value))``: the ECDH public key of an
    ``ephemeral key`` (-1) or ``static key`` (-2) header value (RFC 9053 §6.3.1).

    The usual header, ``{1: 2, -1: crv, -2: x, -3: y}`` (an EC2 P-256/384/521 key with both
    coordinates and nothing else), is read directly: the uncompressed point goes to
    ``EllipticCurvePublicKey.from_encoded_point``, which refuses coordinates outside the field
    and points off the curve, as the general path does. Any other map, and any point that call
    refuses, takes the general path, so acceptance and error messages do not change.
    """
    if type(value) is dict and len(value) == 4:
        kty, crv, x, y = value.get(1), value.get(-1), value.get(-2), value.get(-3)
        if type(kty) is int and kty == 2 and type(crv) is int and type(x) is bytes and type(y) is bytes:
            fast = _EC2_FAST.get(crv)
            if fast is not None and len(x) == fast[1] and len(y) == fast[1]:
                try:
                    return ec.EllipticCurvePublicKey.from_encoded_point(fast[0], b"\x04" + x + y)
                except ValueError:
                    pass  # the general path below raises its own error for this point
    return public_agreement_key(cose_key_from_header(value))


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
    "peer_agreement_key",
    "private_agreement_key",
    "public_agreement_key",
    "public_key_header",
    "symmetric_secret",
]
