"""X.509 certificate header parameters (RFC 9360): x5chain (33), x5t (34), x5bag (32).

These functions read the certificates a message carries and check an ``x5t`` thumbprint; they
do not validate a chain (path building, trust anchors, revocation, time): that is the caller's
policy, with ``cryptography.x509.verification`` or the iotsec PKI part. RFC 9360 §2 also says
that ``x5chain``/``x5t`` identify the signer only when the message is otherwise trusted, so use
:func:`leaf_key` to pick the key, then verify the signature with it *and* validate the chain.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from cryptography import x509 as _x509

from iotsec.core.cose.algorithms import Algorithm
from iotsec.core.cose.headers import HeaderLabel
from iotsec.core.cose.key import CoseKey
from iotsec.errors import DecodeError, UnsupportedError, ValidationError, VerifyError

# RFC 9054 / RFC 9360 §2: hash algorithms allowed in x5t, with their output length
_X5T_HASHES: dict[int, tuple[str, int]] = {
    Algorithm.SHA_256: ("sha256", 32),
    Algorithm.SHA_256_64: ("sha256", 8),
    Algorithm.SHA_384: ("sha384", 48),
    Algorithm.SHA_512: ("sha512", 64),
    Algorithm.SHA_512_256: ("sha512_256", 32),
}


def _get(protected: Mapping[Any, Any], unprotected: Mapping[Any, Any], label: int) -> Any:
    return protected[label] if label in protected else unprotected.get(label)


def _cert_list(value: object, name: str) -> list[bytes]:
    """COSE_X509 = bstr / [2* bstr] (RFC 9360 §2)."""
    if isinstance(value, bytes):
        return [value]
    if isinstance(value, list) and len(value) >= 2 and all(isinstance(c, bytes) for c in value):
        return list(value)
    raise ValidationError(f"{name} must be a bstr or an array of 2+ bstr", reason="cose.x509.type")


def x5chain(protected: Mapping[Any, Any], unprotected: Mapping[Any, Any]) -> list[bytes]:
    """The DER certificates of ``x5chain``, leaf first (RFC 9360 §2); ``[]`` if absent."""
    value = _get(protected, unprotected, HeaderLabel.X5CHAIN)
    return [] if value is None else _cert_list(value, "x5chain")


def x5bag(protected: Mapping[Any, Any], unprotected: Mapping[Any, Any]) -> list[bytes]:
    """The DER certificates of ``x5bag`` (unordered, RFC 9360 §2); ``[]`` if absent."""
    value = _get(protected, unprotected, HeaderLabel.X5BAG)
    return [] if value is None else _cert_list(value, "x5bag")


def load_certificate(der: bytes) -> _x509.Certificate:
    """Parse one DER certificate; ``DecodeError`` if it is not one."""
    try:
        return _x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise DecodeError(f"invalid X.509 certificate: {exc}", reason="cose.x509.der") from exc


def leaf_key(protected: Mapping[Any, Any], unprotected: Mapping[Any, Any]) -> CoseKey:
    """The public key of the first ``x5chain`` certificate (chain NOT validated here)."""
    chain = x5chain(protected, unprotected)
    if not chain:
        raise ValidationError("no x5chain header parameter", reason="cose.x509.missing")
    load_certificate(chain[0])
    return CoseKey.from_der(chain[0])


def check_x5t(x5t: object, certificate_der: bytes) -> None:
    """Raise :class:`VerifyError` unless ``x5t`` (``[alg, hash]``) is the thumbprint of the certificate."""
    if (
        not isinstance(x5t, list)
        or len(x5t) != 2
        or isinstance(x5t[0], bool)
        or not isinstance(x5t[0], int)
        or not isinstance(x5t[1], bytes)
    ):
        raise ValidationError("x5t must be [alg, bstr]", reason="cose.x509.x5t")
    spec = _X5T_HASHES.get(x5t[0])
    if spec is None:
        raise UnsupportedError(f"unsupported x5t hash algorithm {x5t[0]}", reason="cose.x509.hash")
    digest = hashlib.new(spec[0], certificate_der).digest()[: spec[1]]
    if not hmac.compare_digest(digest, x5t[1]):
        raise VerifyError("x5t does not match the certificate", reason="cose.x509.x5t_mismatch")


def x5t_of(certificate_der: bytes, alg: Algorithm = Algorithm.SHA_256) -> list[Any]:
    """The ``x5t`` value ``[alg, hash]`` for a certificate (RFC 9360 §2)."""
    spec = _X5T_HASHES.get(alg)
    if spec is None:
        raise UnsupportedError(f"unsupported x5t hash algorithm {alg}", reason="cose.x509.hash")
    return [int(alg), hashlib.new(spec[0], certificate_der).digest()[: spec[1]]]


__all__ = ["check_x5t", "leaf_key", "load_certificate", "x5bag", "x5chain", "x5t_of"]
