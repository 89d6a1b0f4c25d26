"""JWS compact serialization (RFC 7515 §7.1): sign and verify.

Verification raises :class:`~iotsec.errors.VerifyError`; the caller names the algorithms it
accepts (RFC 8725 §3.1), so a token can never choose ``none`` or switch HMAC for ECDSA.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from iotsec.core.jose.jwk import Key
from iotsec.errors import DecodeError, UnsupportedError, ValidationError, VerifyError

# RFC 7518 §3.1 "alg" values implemented here: (family, hash, EC curve / size)
ALGORITHMS: dict[str, tuple[str, Any, int]] = {
    "ES256": ("EC", hashes.SHA256, 32),
    "ES384": ("EC", hashes.SHA384, 48),
    "ES512": ("EC", hashes.SHA512, 66),
    "EdDSA": ("OKP", None, 0),
    "HS256": ("HMAC", hashlib.sha256, 32),
    "HS384": ("HMAC", hashlib.sha384, 48),
    "HS512": ("HMAC", hashlib.sha512, 64),
}
_EC_CURVE = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}
_ECDSA = {alg: ec.ECDSA(h()) for alg, (fam, h, _) in ALGORITHMS.items() if fam == "EC"}  # stateless
MAX_TOKEN = 1 << 20


def b64u_encode(data: bytes) -> str:
    """Unpadded base64url (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str) -> bytes:
    """Strict unpadded base64url; DecodeError otherwise."""
    if "=" in text or "+" in text or "/" in text:
        raise DecodeError("JWS segments are unpadded base64url", reason="jws.b64")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise DecodeError(f"invalid base64url: {exc}", reason="jws.b64") from exc


def _check_key(alg: str, key: Key, *, signing: bool) -> None:
    fam = ALGORITHMS[alg][0]
    ok = (
        (fam == "HMAC" and isinstance(key, bytes))
        or (
            fam == "EC"
            and isinstance(key, (ec.EllipticCurvePrivateKey if signing else ec.EllipticCurvePublicKey))
            and key.curve.name == _EC_CURVE[alg]
        )
        or (
            fam == "OKP"
            and isinstance(key, (ed25519.Ed25519PrivateKey if signing else ed25519.Ed25519PublicKey))
        )
    )
    if not ok:
        raise ValidationError(f"the key does not fit algorithm {alg}", reason="jws.key")


_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"))
_HEADER_CACHE: dict[tuple[str, tuple[tuple[str, Any], ...]], str] = {}


def _encoded_header(alg: str, header: dict[str, Any] | None) -> str:
    """base64url of the compact JSON header ``{"alg": alg, **header}`` (alg first, as given)."""
    ck = (alg, tuple(header.items()) if header else ())
    try:
        # only text-valued headers are cached, so a hit never mixes up 1 and True or "1"
        enc = _HEADER_CACHE.get(ck)
    except TypeError:  # an unhashable header value
        enc = None
    if enc is not None:
        return enc
    hdr = {"alg": alg, **(header or {})}
    hdr["alg"] = alg
    enc = b64u_encode(_COMPACT_JSON.encode(hdr).encode())
    if len(_HEADER_CACHE) < 256 and all(type(k) is str and type(v) is str for k, v in hdr.items()):
        _HEADER_CACHE[ck] = enc
    return enc


# keys that passed _check_key for signing with an algorithm; keys are immutable objects
_SIGNING_CHECKED: dict[tuple[int, str], Key] = {}


def sign_compact(payload: bytes, key: Key, alg: str, *, header: dict[str, Any] | None = None) -> str:
    """Sign ``payload`` and return ``header.payload.signature`` (RFC 7515 §5.1)."""
    if alg not in ALGORITHMS:
        raise UnsupportedError(f"unsupported JWS algorithm {alg!r}", reason="jws.alg")
    ck = (id(key), alg)
    if _SIGNING_CHECKED.get(ck) is not key:  # the same key object, already checked for this alg
        _check_key(alg, key, signing=True)
        if len(_SIGNING_CHECKED) < 64:
            _SIGNING_CHECKED[ck] = key  # held, so its id cannot be reused while it is in here
    signing_input = (_encoded_header(alg, header) + "." + b64u_encode(payload)).encode()
    fam, h, size = ALGORITHMS[alg]
    if fam == "HMAC":
        assert isinstance(key, bytes)
        sig = hmac.new(key, signing_input, h).digest()
    elif fam == "EC":
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        r, s = decode_dss_signature(key.sign(signing_input, _ECDSA[alg]))
        sig = r.to_bytes(size, "big") + s.to_bytes(size, "big")  # RFC 7518 §3.4
    else:
        assert isinstance(key, ed25519.Ed25519PrivateKey)
        sig = key.sign(signing_input)
    return signing_input.decode() + "." + b64u_encode(sig)


def decode_unverified(token: str | bytes) -> tuple[dict[str, Any], bytes, bytes, bytes]:
    """Split a compact JWS: (header, payload, signing input, signature). Nothing is verified."""
    if isinstance(token, bytes):
        try:
            token = token.decode("ascii")
        except UnicodeDecodeError as exc:
            raise DecodeError("a compact JWS is ASCII text", reason="jws.format") from exc
    token = token.strip()
    if len(token) > MAX_TOKEN:
        raise DecodeError("JWS too large", reason="jws.size")
    parts = token.split(".")
    if len(parts) != 3:
        raise DecodeError("a compact JWS has three dot-separated parts", reason="jws.format")
    try:
        header = json.loads(b64u_decode(parts[0]))
    except (ValueError, RecursionError) as exc:
        raise DecodeError(f"the JWS header is not JSON: {exc}", reason="jws.header") from exc
    if not isinstance(header, dict):
        raise DecodeError("the JWS header must be a JSON object", reason="jws.header")
    return header, b64u_decode(parts[1]), (parts[0] + "." + parts[1]).encode(), b64u_decode(parts[2])


def verify_compact(
    token: str | bytes, key: Key, *, algs: tuple[str, ...] = ("ES256",)
) -> tuple[dict[str, Any], bytes]:
    """Verify a compact JWS with ``key``; return (protected header, payload). Raises VerifyError."""
    header, payload, signing_input, sig = decode_unverified(token)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in algs or alg not in ALGORITHMS:
        raise VerifyError(f"JWS algorithm {alg!r} is not accepted here", reason="jws.alg")
    if header.get("crit"):
        raise VerifyError("critical JWS header parameters are not understood", reason="jws.crit")
    try:
        _check_key(alg, key, signing=False)
    except ValidationError as exc:
        raise VerifyError(str(exc), reason="jws.key") from exc
    fam, h, size = ALGORITHMS[alg]
    try:
        if fam == "HMAC":
            assert isinstance(key, bytes)
            if not hmac.compare_digest(hmac.new(key, signing_input, h).digest(), sig):
                raise InvalidSignature
        elif fam == "EC":
            assert isinstance(key, ec.EllipticCurvePublicKey)
            if len(sig) != 2 * size:
                raise InvalidSignature
            r, s = int.from_bytes(sig[:size], "big"), int.from_bytes(sig[size:], "big")
            key.verify(encode_dss_signature(r, s), signing_input, _ECDSA[alg])
        else:
            assert isinstance(key, ed25519.Ed25519PublicKey)
            key.verify(sig, signing_input)
    except InvalidSignature:
        raise VerifyError("JWS signature did not verify", reason="jws.signature") from None
    return header, payload


__all__ = ["ALGORITHMS", "b64u_decode", "b64u_encode", "decode_unverified", "sign_compact", "verify_compact"]
