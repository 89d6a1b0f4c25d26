"""EAT envelopes: CWT (COSE_Sign1 / COSE_Mac0, RFC 8392), JWT (RFC 7519), UCCS (RFC 9781) and
detached EAT bundles (RFC 9711 §5).

``peek`` reads a token without verifying it (to find which key to use); ``verify`` checks the
signature/MAC with a key and returns the validated claims-set. Signing and MAC go through
:mod:`iotsec.core.cose` and :mod:`iotsec.core.jose`; nothing here implements cryptography.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cbor2

from iotsec.core import cbor, jose
from iotsec.core.cose import Algorithm, CoseKey, KeyType, Mac0Message, Sign1Message, mac0, sign1
from iotsec.core.eat._util import b64u_decode, b64u_encode
from iotsec.core.eat.claim_types import MAX_NESTING
from iotsec.core.eat.claims import (
    Claim,
    DetachedDigest,
    NestedToken,
    claims_from_json,
    claims_to_cbor,
    claims_to_json,
    validate_claims,
)
from iotsec.errors import DecodeError, IotSecError, UnsupportedError, ValidationError, VerifyError

TAG_CWT = 61  # RFC 8392 §6
TAG_SIGN1 = 18
TAG_MAC0 = 17
TAG_UCCS = 601  # RFC 9781 §2
TAG_DEB = 602  # RFC 9711 §10.3
JWS_ALGS = ("ES256", "ES384", "ES512", "EdDSA")
JWS_MAC_ALGS = ("HS256", "HS384", "HS512")
_DIGESTS = {-16: "sha256", -43: "sha384", -44: "sha512"}  # COSE hash algorithms (RFC 9054 §2)
_ALG_BY_LABEL: dict[int, Algorithm] = {int(a): a for a in Algorithm}


@dataclass
class Token:
    """A decoded (maybe verified) EAT."""

    kind: str  # "sign1", "mac0", "uccs", "jwt", "deb"
    claims: dict[int | str, Any]
    kid: bytes | None = None
    alg: Any = None
    message: Sign1Message | Mac0Message | None = None
    detached: dict[str, dict[int | str, Any]] = field(default_factory=dict)
    verified: bool = False
    raw_claims: Any = None  # the claims-set as decoded, before normalisation
    detached_raw: dict[str, bytes] = field(default_factory=dict)  # a bundle's encoded claims-sets
    # True when the CWT payload is exactly what cbor2 writes for ``raw_claims`` (preferred
    # serialization, definite lengths): proven while decoding, used by the RFC 9711 §6.3 check
    payload_reencodes: bool = field(default=False, repr=False, compare=False)


def _unwrap_cwt(item: Any) -> Any:
    if isinstance(item, cbor.CBORTag) and item.tag == TAG_CWT:
        return item.value
    return item


def _payload_claims(payload: bytes | None) -> tuple[dict[int | str, Any], Any, bool]:
    if payload is None:
        raise ValidationError("a CWT EAT must carry its claims-set", reason="eat.payload.detached")
    raw, same = cbor.loads_reencodes(payload)
    return validate_claims(raw), raw, same


def _cose_token(kind: str, data: bytes) -> Token:
    msg: Sign1Message | Mac0Message = (
        Sign1Message.decode(data) if kind == "sign1" else Mac0Message.decode(data)
    )
    return _cose_message_token(kind, msg)


def _cose_message_token(kind: str, msg: Sign1Message | Mac0Message) -> Token:
    claims, raw_claims, same = _payload_claims(msg.payload)
    raw_alg = msg.protected.get(1)
    # msg.alg, from a table for the registered integer labels (the usual case)
    alg = _ALG_BY_LABEL.get(raw_alg) if type(raw_alg) is int else None
    tok = Token(kind, claims, msg.kid, msg.alg if alg is None else alg, msg, raw_claims=raw_claims)
    tok.payload_reencodes = same
    return tok


def _is_jwt(data: bytes) -> bool:
    s = data.strip()
    return s.count(b".") == 2 and all(c < 0x80 for c in s[:16]) and s[:2] == b"ey"


def peek(data: bytes) -> Token:
    """Decode a CWT/UCCS/DEB/JWT EAT without verifying it."""
    if type(data) is bytes and data[:1] in (b"\xd2", b"\xd1"):
        # tags 18 / 17 (one-byte heads; a JWT never starts so): decode the COSE message from the
        # bytes as received, once; the COSE decoder is as strict as the general path below, which
        # reports any refusal
        kind = "sign1" if data[0] == 0xD2 else "mac0"
        try:
            msg: Sign1Message | Mac0Message | None = (
                Sign1Message.decode(data) if kind == "sign1" else Mac0Message.decode(data)
            )
        except IotSecError:
            msg = None  # let the general path below name the problem
        if msg is not None:
            return _cose_message_token(kind, msg)
    if _is_jwt(data):
        header, payload, _, _ = jose.decode_unverified(data)
        try:
            obj = json.loads(payload)
        except (ValueError, RecursionError) as exc:
            raise DecodeError(f"JWT claims are not JSON: {exc}", reason="eat.jwt.payload") from exc
        kid = header.get("kid")
        return Token(
            "jwt", claims_from_json(obj), kid.encode() if isinstance(kid, str) else None, header.get("alg")
        )
    item = _unwrap_cwt(cbor.loads(data))
    if isinstance(item, cbor.CBORTag) and item.tag == TAG_UCCS:
        return Token("uccs", validate_claims(item.value))
    if isinstance(item, cbor.CBORTag) and item.tag == TAG_DEB:
        return _peek_deb(item.value)
    if isinstance(item, cbor.CBORTag) and item.tag in (TAG_SIGN1, TAG_MAC0):
        return _cose_token("sign1" if item.tag == TAG_SIGN1 else "mac0", cbor.dumps(item))
    if isinstance(item, list) and len(item) == 2:  # untagged DEB (RFC 9711 §5)
        return _peek_deb(item)
    raise UnsupportedError("not a tagged CWT, UCCS, detached EAT bundle or JWT", reason="eat.format")


def _peek_deb(v: Any) -> Token:
    if not isinstance(v, list) or len(v) != 2 or not isinstance(v[1], dict) or not v[1]:
        raise ValidationError(
            "a detached EAT bundle is [main-token, {+ name => claims}]", reason="eat.deb.format"
        )
    main, sets = v
    if isinstance(main, bytes):
        inner = peek(main)
    elif isinstance(main, str):  # JSON-encoded main token inside a CBOR bundle
        inner = peek(main.encode())
    else:
        raise ValidationError("the main token of a bundle is bytes or text", reason="eat.deb.format")
    if inner.kind == "deb":
        raise ValidationError("a bundle must not contain a bundle (RFC 9711 §5)", reason="eat.deb.nested")
    detached: dict[str, dict[int | str, Any]] = {}
    for name, wrapped in sets.items():
        if not isinstance(name, str) or not isinstance(wrapped, bytes):
            raise ValidationError("detached claims-sets are byte-string wrapped", reason="eat.deb.format")
        detached[name] = validate_claims(cbor.loads(wrapped))
    tok = Token("deb", inner.claims, inner.kid, inner.alg, inner.message, detached)
    tok.detached_raw = dict(sets)
    return tok


def _check_digests(claims: dict[int | str, Any], raw_sets: dict[str, bytes]) -> None:
    """RFC 9711 §4.2.18.2: each detached claims-set hashes to the digest in the main token."""
    subs = claims.get(Claim.SUBMODS, {})
    for name, raw in raw_sets.items():
        d = subs.get(name)
        if not isinstance(d, DetachedDigest):
            raise VerifyError(f"no detached digest for {name!r} in the main token", reason="eat.deb.digest")
        alg = d.alg if isinstance(d.alg, int) else {"SHA-256": -16, "SHA-384": -43, "SHA-512": -44}.get(d.alg)
        if alg not in _DIGESTS:
            raise UnsupportedError(f"unsupported digest algorithm {d.alg!r}", reason="eat.deb.alg")
        if hashlib.new(_DIGESTS[alg], raw).digest() != d.digest:
            raise VerifyError(
                f"detached claims-set {name!r} does not match its digest", reason="eat.deb.digest"
            )


def verify(
    data: bytes, key: CoseKey, *, jws_algs: tuple[str, ...] | None = None, peeked: Token | None = None
) -> Token:
    """Verify a CWT (Sign1/Mac0), JWT or detached bundle with ``key``; raise VerifyError on failure.

    UCCS carries no signature: it is refused here (accept it only over a secured channel, RFC 9781 §3).
    ``peeked``: the result of :func:`peek` on the same ``data``, to avoid decoding twice.
    """
    tok = peeked if peeked is not None else peek(data)
    if tok.kind == "uccs":
        raise VerifyError("an unprotected CWT claims-set has no signature to verify", reason="eat.uccs")
    if tok.kind == "jwt":
        _verify_jwt(data, key, jws_algs)
    elif tok.kind == "deb":
        item = _unwrap_cwt(cbor.loads(data))
        main = (item.value if isinstance(item, cbor.CBORTag) else item)[0]
        if isinstance(main, str):
            _verify_jwt(main.encode(), key, jws_algs)
        else:
            verify(main, key, jws_algs=jws_algs)
        _check_digests(tok.claims, tok.detached_raw)
    else:
        assert tok.message is not None
        tok.message.verify(key)
    tok.verified = True
    return tok


def _verify_jwt(data: bytes, key: CoseKey, algs: tuple[str, ...] | None) -> None:
    jkey: jose.Key = key.k if key.kty == KeyType.SYMMETRIC else key.public_key
    jose.verify_compact(data, jkey, algs=algs or (JWS_MAC_ALGS if isinstance(jkey, bytes) else JWS_ALGS))


def verify_json_deb(data: bytes, key: CoseKey) -> Token:
    """A JSON-encoded detached EAT bundle (RFC 9711 §5): [["JWT", token], {name: b64url(JSON claims)}]."""
    try:
        v = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise DecodeError(f"invalid JSON: {exc}", reason="json.malformed") from exc
    if not isinstance(v, list) or len(v) != 2 or not isinstance(v[1], dict):
        raise ValidationError("a JSON bundle is [main-token, {+ name: claims}]", reason="eat.deb.format")
    main, sets = v
    if not isinstance(main, list) or len(main) != 2 or main[0] != "JWT" or not isinstance(main[1], str):
        raise UnsupportedError("only JWT main tokens are supported in JSON bundles", reason="eat.deb.format")
    tok = verify(main[1].encode(), key)
    raw_sets = {n: b64u_decode(s, reason="eat.deb.format", path=(n,)) for n, s in sets.items()}
    _check_digests(tok.claims, raw_sets)
    for n, raw in raw_sets.items():
        try:
            tok.detached[n] = claims_from_json(json.loads(raw))
        except (ValueError, RecursionError) as exc:
            raise DecodeError(f"detached claims-set {n!r} is not JSON", reason="eat.deb.format") from exc
    tok.kind = "deb"
    return tok


def create_cwt(
    claims: dict[int | str, Any],
    key: CoseKey,
    *,
    alg: Algorithm | None = None,
    kid: bytes | None = None,
    cwt_tag: bool = False,
) -> bytes:
    """Sign (or MAC, for a symmetric key) a claims-set as a tagged COSE_Sign1/COSE_Mac0 CWT."""
    payload = cbor.dumps(claims_to_cbor(claims))
    validate_claims(cbor.loads(payload))
    unprot = {4: kid} if kid else None
    if key.kty == KeyType.SYMMETRIC:
        out = mac0(payload, key, alg=alg or Algorithm.HMAC_256_256, unprotected=unprot)
    else:
        out = sign1(payload, key, alg=alg, unprotected=unprot)
    return cbor.dumps(cbor.tag(TAG_CWT, cbor.loads(out))) if cwt_tag else out


def create_jwt(
    claims: dict[int | str, Any], key: CoseKey, *, alg: str = "ES256", kid: str | None = None
) -> str:
    """Sign a claims-set as a JWT (JSON claims, RFC 9711 §7.2.2)."""
    payload = json.dumps(claims_to_json(claims), separators=(",", ":")).encode()
    jkey: jose.Key = key.k if key.kty == KeyType.SYMMETRIC else key.private_key
    header: dict[str, Any] = {"typ": "JWT"}
    if kid:
        header["kid"] = kid
    return jose.sign_compact(payload, jkey, alg, header=header)


def create_uccs(claims: dict[int | str, Any]) -> bytes:
    """An unprotected CWT claims-set ``#6.601(claims)`` (RFC 9781)."""
    plain = claims_to_cbor(claims)
    validate_claims(plain)
    return cbor.dumps(cbor.tag(TAG_UCCS, plain))


def detached_digest(claims: dict[int | str, Any], alg: int = -16) -> tuple[bytes, DetachedDigest]:
    """Encode a detached claims-set and its digest submodule (RFC 9711 §4.2.18.2)."""
    if alg not in _DIGESTS:
        raise UnsupportedError(f"unsupported digest algorithm {alg}", reason="eat.deb.alg")
    raw = cbor.dumps(claims_to_cbor(claims))
    return raw, DetachedDigest(alg, hashlib.new(_DIGESTS[alg], raw).digest())


def create_deb(main_token: bytes, detached: dict[str, bytes]) -> bytes:
    """A CBOR detached EAT bundle ``#6.602([main, {name: bstr claims}])`` (RFC 9711 §5)."""
    return cbor.dumps(cbor.tag(TAG_DEB, [main_token, dict(detached)]))


__all__ = [
    "CONSTRAINED_ALGS",
    "TAG_CWT",
    "TAG_DEB",
    "TAG_UCCS",
    "Token",
    "b64u_encode",
    "check_constrained_profile",
    "create_cwt",
    "create_deb",
    "create_jwt",
    "create_uccs",
    "detached_digest",
    "peek",
    "verify",
    "verify_json_deb",
    "verify_submodules",
]


def verify_submodules(
    tok: Token, key_for: Callable[[str, Token], CoseKey | None], *, _depth: int = 0
) -> dict[str, Token]:
    """Verify the nested tokens among ``tok``'s submodules (RFC 9711 §4.2.18.3), recursively.

    ``key_for(name, peeked_nested_token)`` returns the key of that submodule's attester, or None to
    refuse it (VerifyError ``eat.submod.key``). Claims-set submodules are covered by the enclosing
    token's signature; detached digests by :func:`verify` of a bundle.
    """
    if _depth > MAX_NESTING:
        raise ValidationError("nested tokens nest too deeply", reason="eat.submods.depth")
    out: dict[str, Token] = {}
    for name, sub in tok.claims.get(Claim.SUBMODS, {}).items():
        if not isinstance(sub, NestedToken):
            continue
        data = sub.value if isinstance(sub.value, bytes) else sub.value.encode()
        inner = peek(data)
        key = key_for(name, inner)
        if key is None:
            raise VerifyError(f"no key for the nested token {name!r}", reason="eat.submod.key")
        out[name] = verify(data, key, peeked=inner)
        for sub_name, t in verify_submodules(out[name], key_for, _depth=_depth + 1).items():
            out[f"{name}/{sub_name}"] = t
    return out


CONSTRAINED_ALGS = (Algorithm.ES256, Algorithm.ES384, Algorithm.ES512)
_CONSTRAINED_ALG_IDS = frozenset(int(a) for a in CONSTRAINED_ALGS)


def check_constrained_profile(tok: Token) -> None:
    """RFC 9711 §6.3 constrained device profile: COSE_Sign1 with ES256/ES384/ES512, and a CBOR
    claims-set with definite lengths and preferred serialization (re-encoding it cannot change its
    size: key order is free, encodings are not)."""
    if tok.kind != "sign1" or not isinstance(tok.message, Sign1Message):
        raise ValidationError("the constrained profile requires COSE_Sign1", reason="eat.profile.envelope")
    raw_alg = tok.message.protected.get(1)
    if (
        not (type(raw_alg) is int and raw_alg in _CONSTRAINED_ALG_IDS)
        and tok.message.alg not in CONSTRAINED_ALGS
    ):
        raise ValidationError(
            "the constrained profile requires ES256, ES384 or ES512", reason="eat.profile.alg"
        )
    if tok.payload_reencodes and tok.raw_claims is not None:
        return  # decoding proved that cbor2 writes these very bytes back
    payload = tok.message.payload or b""
    raw = tok.raw_claims if tok.raw_claims is not None else cbor.loads(payload)
    # cbor2 encodes with preferred serialization and definite lengths, keeping the map order
    if len(cbor2.dumps(raw)) != len(payload):
        raise ValidationError(
            "the claims-set is not in preferred serialization with definite lengths",
            reason="eat.profile.encoding",
        )
