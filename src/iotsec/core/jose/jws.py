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
from typing import Any, cast

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
    return _b64u(data).decode("ascii")


def _b64u(data: bytes) -> bytes:
    """Unpadded base64url as ASCII bytes: ``base64.urlsafe_b64encode(data).rstrip(b"=")`` in fewer
    steps (two single-byte replacements instead of a translation table)."""
    return binascii.b2a_base64(data, newline=False).replace(b"+", b"-").replace(b"/", b"_").rstrip(b"=")


def _raw_ecdsa(der: bytes, size: int) -> bytes:
    """DER ``Ecdsa-Sig-Value`` (RFC 3279 §2.2.3), as ``cryptography`` signs, to the JWS form ``r || s``
    of ``size`` bytes each (RFC 7518 §3.4). Read directly when it has the shape OpenSSL writes
    (SEQUENCE of two positive INTEGERs, one-byte lengths); anything else goes through
    ``decode_dss_signature``."""
    n = len(der)
    if n > 8 and der[0] == 0x30:
        pos = 2 if der[1] < 0x80 else 3 if der[1] == 0x81 else 0
        if pos and der[pos - 1] == n - pos and der[pos] == 0x02:
            send = pos + 2 + der[pos + 1]  # the second INTEGER
            if (
                send + 3 <= n
                and der[send] == 0x02
                and send + 2 + der[send + 1] == n
                and pos + 2 < send
                and der[pos + 2] < 0x80
                and der[send + 2] < 0x80
            ):
                r = der[pos + 2 : send].lstrip(b"\x00")
                s = der[send + 2 :].lstrip(b"\x00")
                if len(r) <= size and len(s) <= size:
                    return r.rjust(size, b"\x00") + s.rjust(size, b"\x00")
    ri, si = decode_dss_signature(der)
    return ri.to_bytes(size, "big") + si.to_bytes(size, "big")


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
    signing_input = _encoded_header(alg, header).encode() + b"." + _b64u(payload)
    fam, h, size = ALGORITHMS[alg]
    # _check_key above (or earlier, for this very key object) established the key's type
    if fam == "EC":
        sig = _raw_ecdsa(cast(ec.EllipticCurvePrivateKey, key).sign(signing_input, _ECDSA[alg]), size)
    elif fam == "HMAC":
        sig = hmac.new(cast(bytes, key), signing_input, h).digest()
    else:
        sig = cast(ed25519.Ed25519PrivateKey, key).sign(signing_input)
    return (signing_input + b"." + _b64u(sig)).decode("ascii")


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
