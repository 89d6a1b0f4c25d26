"""Key types, generation and the key policy of iotsec's PKI.

Pure: randomness comes from the OS through ``cryptography`` only when a caller asks for a new key;
nothing here reads files or the clock.
"""

from __future__ import annotations

import enum

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from iotsec.errors import ConfigError, DecodeError, PolicyError, UnsupportedError

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey

MIN_RSA_BITS = 2048  # NIST SP 800-131A: RSA below 2048 bits is disallowed for signatures
MAX_RSA_BITS = 8192  # larger keys only cost verification time (a cheap denial of service)
ALLOWED_CURVES = {"secp256r1", "secp384r1", "secp521r1"}


class KeyType(enum.StrEnum):
    """Key types iotsec generates. P-256 is the default everywhere."""

    P256 = "p256"
    P384 = "p384"
    ED25519 = "ed25519"
    RSA2048 = "rsa2048"
    RSA3072 = "rsa3072"


def generate_key(kind: KeyType | str = KeyType.P256) -> PrivateKey:
    """A fresh private key of ``kind``."""
    try:
        kind = KeyType(kind)
    except ValueError as exc:
        raise UnsupportedError(f"unknown key type {kind!r}", reason="pki.key.type") from exc
    if kind is KeyType.P256:
        return ec.generate_private_key(ec.SECP256R1())
    if kind is KeyType.P384:
        return ec.generate_private_key(ec.SECP384R1())
    if kind is KeyType.ED25519:
        return ed25519.Ed25519PrivateKey.generate()
    bits = 2048 if kind is KeyType.RSA2048 else 3072
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def check_public_key(pub: object) -> PublicKey:
    """Key policy for certificate requests: EC P-256/384/521, Ed25519, RSA 2048..8192 bits.

    Raises :class:`PolicyError` (``pki.key.weak`` / ``pki.key.type``) otherwise.
    """
    if isinstance(pub, rsa.RSAPublicKey):
        if pub.key_size < MIN_RSA_BITS:
            raise PolicyError(
                f"RSA key of {pub.key_size} bits refused (< {MIN_RSA_BITS})", reason="pki.key.weak"
            )
        if pub.key_size > MAX_RSA_BITS:
            raise PolicyError(
                f"RSA key of {pub.key_size} bits refused (> {MAX_RSA_BITS})", reason="pki.key.size"
            )
        if pub.public_numbers().e < 65537:
            raise PolicyError("RSA public exponent below 65537 refused", reason="pki.key.weak")
        return pub
    if isinstance(pub, ec.EllipticCurvePublicKey):
        if pub.curve.name not in ALLOWED_CURVES:
            raise PolicyError(f"elliptic curve {pub.curve.name} refused", reason="pki.key.weak")
        return pub
    if isinstance(pub, ed25519.Ed25519PublicKey):
        return pub
    raise PolicyError(f"key type {type(pub).__name__} refused", reason="pki.key.type")


def signature_hash(key: PrivateKey | PublicKey) -> hashes.HashAlgorithm | None:
    """The hash to sign with ``key`` (None for Ed25519, which hashes internally)."""
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return hashes.SHA384() if key.curve.key_size >= 384 else hashes.SHA256()
    return hashes.SHA256()


def key_to_pem(key: PrivateKey, passphrase: bytes | None) -> bytes:
    """PKCS#8 PEM, encrypted with ``passphrase`` (PBES2) unless it is None."""
    enc: serialization.KeySerializationEncryption
    if passphrase is None:
        enc = serialization.NoEncryption()
    else:
        if not passphrase:
            raise ConfigError("an empty passphrase is not allowed", reason="pki.passphrase.empty")
        enc = serialization.BestAvailableEncryption(passphrase)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


def key_to_pkcs8_der(key: PrivateKey) -> bytes:
    """Unencrypted PKCS#8 DER (RFC 5958), as EST serverkeygen returns it inside TLS."""
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_private_key(data: bytes, passphrase: bytes | None = None) -> PrivateKey:
    """A private key from PEM or DER (encrypted when ``passphrase`` is given)."""
    try:
        if data.lstrip().startswith(b"-----"):
            key = serialization.load_pem_private_key(data, passphrase)
        else:
            key = serialization.load_der_private_key(data, passphrase)
    except (ValueError, TypeError) as exc:
        raise DecodeError(f"unreadable private key: {exc}", reason="pki.key.decode") from exc
    except Exception as exc:  # cryptography raises its own errors for bad passwords
        raise DecodeError("unreadable private key (wrong passphrase?)", reason="pki.key.decode") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey):
        raise UnsupportedError(f"key type {type(key).__name__} unsupported", reason="pki.key.type")
    return key


__all__ = [
    "ALLOWED_CURVES",
    "MAX_RSA_BITS",
    "MIN_RSA_BITS",
    "KeyType",
    "PrivateKey",
    "PublicKey",
    "check_public_key",
    "generate_key",
    "key_to_pem",
    "key_to_pkcs8_der",
    "load_private_key",
    "signature_hash",
]
