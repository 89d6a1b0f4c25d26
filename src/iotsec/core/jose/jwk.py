"""JSON Web Keys (RFC 7517) for the algorithms of :mod:`iotsec.core.jose.jws`.

EC (RFC 7518 §6.2: P-256/P-384/P-521), OKP (RFC 8037 §2: Ed25519) and oct (RFC 7518 §6.4).
A *key* is a ``cryptography`` private or public key object, or ``bytes`` for HMAC.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from iotsec.errors import ValidationError

PublicKey = PublicKeyTypes
Key = PrivateKeyTypes | PublicKeyTypes | bytes  # checked against the algorithm at use

_CURVES: dict[str, tuple[ec.EllipticCurve, int]] = {
    "P-256": (ec.SECP256R1(), 32),
    "P-384": (ec.SECP384R1(), 48),
    "P-521": (ec.SECP521R1(), 66),
}
_CURVE_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}


def _b64(s: Any, name: str) -> bytes:
    if not isinstance(s, str):
        raise ValidationError(
            f"JWK member {name!r} must be base64url text", reason="jwk.member", path=(name,)
        )
    try:
        return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValidationError(
            f"JWK member {name!r} is not base64url", reason="jwk.member", path=(name,)
        ) from exc


def _e(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def key_from_jwk(jwk: dict[str, Any] | str | bytes) -> Key:
    """Load a JWK (a dict or its JSON text). Private members are used when present."""
    if isinstance(jwk, (str, bytes)):
        try:
            jwk = json.loads(jwk)
        except ValueError as exc:
            raise ValidationError(f"JWK is not JSON: {exc}", reason="jwk.json") from exc
    if not isinstance(jwk, dict):
        raise ValidationError("a JWK must be a JSON object", reason="jwk.type")
    kty = jwk.get("kty")
    try:
        if kty == "EC":
            crv = jwk.get("crv")
            if crv not in _CURVES:
                raise ValidationError(f"unsupported EC curve {crv!r}", reason="jwk.crv", path=("crv",))
            curve, size = _CURVES[crv]
            x, y = _b64(jwk.get("x"), "x"), _b64(jwk.get("y"), "y")
            if len(x) != size or len(y) != size:
                raise ValidationError("EC coordinates have the wrong length", reason="jwk.member")
            pub = ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"), curve)
            if "d" in jwk:
                d = int.from_bytes(_b64(jwk["d"], "d"), "big")
                return ec.EllipticCurvePrivateNumbers(d, pub).private_key()
            return pub.public_key()
        if kty == "OKP":
            if jwk.get("crv") != "Ed25519":
                raise ValidationError(f"unsupported OKP curve {jwk.get('crv')!r}", reason="jwk.crv")
            if "d" in jwk:
                return ed25519.Ed25519PrivateKey.from_private_bytes(_b64(jwk["d"], "d"))
            return ed25519.Ed25519PublicKey.from_public_bytes(_b64(jwk.get("x"), "x"))
        if kty == "oct":
            k = _b64(jwk.get("k"), "k")
            if not k:
                raise ValidationError("empty symmetric key", reason="jwk.member", path=("k",))
            return k
    except ValueError as exc:  # invalid point, wrong key length
        raise ValidationError(f"invalid JWK: {exc}", reason="jwk.invalid") from exc
    raise ValidationError(f"unsupported JWK kty {kty!r}", reason="jwk.kty", path=("kty",))


def public_of(key: Key) -> Key:
    """The public half of ``key`` (HMAC keys are returned as they are)."""
    if isinstance(key, (ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)):
        return key.public_key()
    return key


def jwk_from_key(
    key: Key, *, private: bool = False, alg: str | None = None, kid: str | None = None
) -> dict[str, Any]:
    """The JWK of ``key``; private members only with ``private=True``."""
    out: dict[str, Any]
    if isinstance(key, bytes):
        if not private:
            raise ValidationError("a symmetric key has no public JWK", reason="jwk.symmetric")
        out = {"kty": "oct", "k": _e(key)}
    elif isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        pub = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
        crv = _CURVE_NAMES[pub.curve.name]
        size = _CURVES[crv][1]
        n = pub.public_numbers()
        out = {
            "kty": "EC",
            "crv": crv,
            "x": _e(n.x.to_bytes(size, "big")),
            "y": _e(n.y.to_bytes(size, "big")),
        }
        if private and isinstance(key, ec.EllipticCurvePrivateKey):
            out["d"] = _e(key.private_numbers().private_value.to_bytes(size, "big"))
    elif isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        from cryptography.hazmat.primitives import serialization as s

        pub_ed = key.public_key() if isinstance(key, ed25519.Ed25519PrivateKey) else key
        out = {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": _e(pub_ed.public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)),
        }
        if private and isinstance(key, ed25519.Ed25519PrivateKey):
            out["d"] = _e(key.private_bytes(s.Encoding.Raw, s.PrivateFormat.Raw, s.NoEncryption()))
    else:
        raise ValidationError(f"no JWK form for {type(key).__name__}", reason="jwk.kty")
    if alg:
        out["alg"] = alg
    if kid:
        out["kid"] = kid
    return out


__all__ = ["Key", "PublicKey", "jwk_from_key", "key_from_jwk", "public_of"]
