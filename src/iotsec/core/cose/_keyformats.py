"""Key file formats around COSE_Key: PEM/DER (PKCS#8, SEC1, SPKI, X.509) and JWK (RFC 7517).

JWK members map to COSE_Key labels as RFC 9053 §7 and RFC 8037 §2 line them up: ``kty``
EC/OKP/oct -> EC2/OKP/Symmetric, ``crv``, ``x``, ``y``, ``d``, ``k`` (base64url, RFC 7515 §2).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, x448, x25519

from iotsec.core.cose.algorithms import CURVE_BY_JWK_NAME, Algorithm, Curve, KeyOp, KeyType, alg_from_name
from iotsec.errors import DecodeError, UnsupportedError, ValidationError

PrivateKey = (
    ec.EllipticCurvePrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
    | x25519.X25519PrivateKey
    | x448.X448PrivateKey
)
PublicKey = (
    ec.EllipticCurvePublicKey
    | ed25519.Ed25519PublicKey
    | ed448.Ed448PublicKey
    | x25519.X25519PublicKey
    | x448.X448PublicKey
)

# COSE_Key labels: RFC 9052 §7.1 table 4 (common), RFC 9053 §7.1.1 (EC2), §7.2 (OKP), §7.3 (Symmetric)
KTY, KID, ALG, KEY_OPS, BASE_IV = 1, 2, 3, 4, 5
CRV, X, Y, D, K = -1, -2, -3, -4, -1

JWK_OPS = {
    "sign": KeyOp.SIGN,
    "verify": KeyOp.VERIFY,
    "encrypt": KeyOp.ENCRYPT,
    "decrypt": KeyOp.DECRYPT,
    "wrapKey": KeyOp.WRAP_KEY,
    "unwrapKey": KeyOp.UNWRAP_KEY,
    "deriveKey": KeyOp.DERIVE_KEY,
    "deriveBits": KeyOp.DERIVE_BITS,
}
# JOSE "alg" names (RFC 7518) of the COSE algorithms that have one
JOSE_NAMES = {
    Algorithm.HMAC_256_256: "HS256",
    Algorithm.HMAC_384_384: "HS384",
    Algorithm.HMAC_512_512: "HS512",
    Algorithm.EDDSA: "EdDSA",
}
OKP_TYPE_CURVE: tuple[tuple[type, Curve], ...] = (
    (ed25519.Ed25519PrivateKey, Curve.ED25519),
    (ed25519.Ed25519PublicKey, Curve.ED25519),
    (ed448.Ed448PrivateKey, Curve.ED448),
    (ed448.Ed448PublicKey, Curve.ED448),
    (x25519.X25519PrivateKey, Curve.X25519),
    (x25519.X25519PublicKey, Curve.X25519),
    (x448.X448PrivateKey, Curve.X448),
    (x448.X448PublicKey, Curve.X448),
)
_OKP_TYPES = (
    ed25519.Ed25519PrivateKey,
    ed25519.Ed25519PublicKey,
    ed448.Ed448PrivateKey,
    ed448.Ed448PublicKey,
    x25519.X25519PrivateKey,
    x25519.X25519PublicKey,
    x448.X448PrivateKey,
    x448.X448PublicKey,
)


def _jwk_op(o: str) -> KeyOp | str:
    return JWK_OPS.get(o, o)


def b64u_decode(text: object, *, what: str = "value") -> bytes:
    """base64url without padding (RFC 7515 §2), strictly: bad input is a ``ValidationError``."""
    if not isinstance(text, str):
        raise ValidationError(f"JWK {what} must be a base64url string", reason="cose.key.jwk")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValidationError(f"JWK {what} is not base64url", reason="cose.key.jwk") from exc


def b64u_encode(data: bytes) -> str:
    """base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def as_supported(key: object) -> PrivateKey | PublicKey:
    """The key object if it is an EC or OKP key, else ``UnsupportedError`` (RSA, DSA...)."""
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey, *_OKP_TYPES)):
        return key
    raise UnsupportedError(
        f"unsupported key type {type(key).__name__} (EC and OKP keys only)", reason="cose.key.type"
    )


def load_pem(data: bytes | str, password: bytes | None) -> PrivateKey | PublicKey:
    """A PEM private key (PKCS#8/SEC1, maybe encrypted), public key (SPKI) or certificate's key."""
    raw = data.encode() if isinstance(data, str) else data
    if b"-----BEGIN CERTIFICATE-----" in raw:
        try:
            cert = x509.load_pem_x509_certificate(raw)
        except ValueError as exc:
            raise DecodeError(f"invalid PEM certificate: {exc}", reason="cose.key.pem") from exc
        return as_supported(cert.public_key())
    if b"PRIVATE KEY-----" in raw:
        try:
            priv = serialization.load_pem_private_key(raw, password=password)
        except TypeError as exc:  # password missing or given for an unencrypted key
            raise DecodeError(f"PEM private key: {exc}", reason="cose.key.password") from exc
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise DecodeError(f"invalid PEM private key: {exc}", reason="cose.key.pem") from exc
        return as_supported(priv)
    try:
        pub = serialization.load_pem_public_key(raw)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise DecodeError(f"invalid PEM key: {exc}", reason="cose.key.pem") from exc
    return as_supported(pub)


def load_der(data: bytes, password: bytes | None) -> PrivateKey | PublicKey:
    """A DER private key (PKCS#8), public key (SPKI) or X.509 certificate's key."""
    try:
        return as_supported(serialization.load_der_private_key(data, password=password))
    except (ValueError, TypeError, UnsupportedAlgorithm):
        pass
    try:
        return as_supported(serialization.load_der_public_key(data))
    except (ValueError, UnsupportedAlgorithm):
        pass
    try:
        return as_supported(x509.load_der_x509_certificate(data).public_key())
    except ValueError:
        pass
    raise DecodeError("DER is neither a private key, a public key nor a certificate", reason="cose.key.der")


def jwk_to_cose(
    jwk: Mapping[str, Any] | str | bytes,
) -> tuple[dict[int, Any], bytes | None, Algorithm | None, list[KeyOp | int | str] | None]:
    """Parse a JWK into (COSE_Key key-material map, kid, alg, key_ops)."""
    if isinstance(jwk, (str, bytes)):
        try:
            jwk = json.loads(jwk)
        except (ValueError, UnicodeDecodeError) as exc:
            raise DecodeError(f"JWK is not JSON: {exc}", reason="cose.key.jwk") from exc
    if not isinstance(jwk, Mapping):
        raise ValidationError("JWK must be a JSON object", reason="cose.key.jwk")
    kid_v = jwk.get("kid")
    if kid_v is not None and not isinstance(kid_v, str):
        raise ValidationError("JWK kid must be a string", reason="cose.key.jwk")
    kid = kid_v.encode() if kid_v is not None else None
    alg: Algorithm | None = None
    if jwk.get("alg") is not None:
        if not isinstance(jwk["alg"], str):
            raise ValidationError("JWK alg must be a string", reason="cose.key.jwk")
        alg = alg_from_name(jwk["alg"])
    ops_v = jwk.get("key_ops")
    ops: list[KeyOp | int | str] | None = None
    if ops_v is not None:
        if not isinstance(ops_v, list) or not all(isinstance(o, str) for o in ops_v):
            raise ValidationError("JWK key_ops must be an array of strings", reason="cose.key.jwk")
        ops = [_jwk_op(o) for o in ops_v]
    kty = jwk.get("kty")
    m: dict[int, Any]
    if kty == "oct":
        m = {KTY: KeyType.SYMMETRIC, K: b64u_decode(jwk.get("k"), what="k")}
    elif kty in ("EC", "OKP"):
        crv_name = jwk.get("crv")
        crv = CURVE_BY_JWK_NAME.get(crv_name) if isinstance(crv_name, str) else None
        if crv is None:
            raise UnsupportedError(f"unsupported JWK curve {crv_name!r}", reason="cose.key.curve")
        m = {
            KTY: KeyType.EC2 if kty == "EC" else KeyType.OKP,
            CRV: crv,
            X: b64u_decode(jwk.get("x"), what="x"),
        }
        if kty == "EC":
            m[Y] = b64u_decode(jwk.get("y"), what="y")
        if "d" in jwk:
            m[D] = b64u_decode(jwk["d"], what="d")
    else:
        raise UnsupportedError(f"unsupported JWK kty {kty!r}", reason="cose.key.kty")
    return m, kid, alg, ops


def cose_to_jwk(
    m: Mapping[int, Any], kid: bytes | None, alg: object, key_ops: Sequence[object]
) -> dict[str, Any]:
    """A JWK from a COSE_Key map; ``kid`` as UTF-8 text (base64url if it is not UTF-8)."""
    jwk: dict[str, Any]
    if m[KTY] == KeyType.SYMMETRIC:
        jwk = {"kty": "oct", "k": b64u_encode(m[K])}
    else:
        jwk = {
            "kty": "EC" if m[KTY] == KeyType.EC2 else "OKP",
            "crv": Curve(m[CRV]).jwk_name,
            "x": b64u_encode(m[X]),
        }
        if Y in m:
            jwk["y"] = b64u_encode(m[Y])
        if D in m:
            jwk["d"] = b64u_encode(m[D])
    if kid is not None:
        try:
            jwk["kid"] = kid.decode("utf-8")
        except UnicodeDecodeError:
            jwk["kid"] = b64u_encode(kid)
    if isinstance(alg, Algorithm):
        jwk["alg"] = JOSE_NAMES.get(alg, alg.iana_name)
    if key_ops:
        names: dict[object, str] = {v: k for k, v in JWK_OPS.items()}
        jwk["key_ops"] = [names.get(o, str(o)) for o in key_ops]
    return jwk


__all__ = [
    "OKP_TYPE_CURVE",
    "PrivateKey",
    "PublicKey",
    "as_supported",
    "b64u_decode",
    "b64u_encode",
    "cose_to_jwk",
    "jwk_to_cose",
    "load_der",
    "load_pem",
]
