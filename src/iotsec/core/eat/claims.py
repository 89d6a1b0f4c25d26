"""The EAT claims registry: CBOR key, JSON name and validation of every claim (RFC 9711 §4, §10).

One table (:data:`REGISTRY`) drives CBOR validation, JSON <-> CBOR conversion and the readable dump.
A decoded claims-set is a ``dict`` keyed by the CBOR label (``int``) with CBOR-typed values (bytes
for binary data); unknown claims are kept unchanged (RFC 9711 §4: receivers MUST NOT error out on
claims they do not understand). Violations raise :class:`~iotsec.errors.ValidationError` with a
reason ``eat.<claim>.<problem>`` and the path of the member.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from iotsec.core import cbor
from iotsec.core.eat._util import b64u_decode, b64u_encode, is_int
from iotsec.core.eat.claim_types import (
    HASH_ALGS,
    MAX_NESTING,
    Check,
    ClaimSpec,
    DebugStatus,
    FromJson,
    IntendedUse,
    MeasResult,
    ToJson,
    _bool,
    _bytes,
    _dbgstat,
    _dloas,
    _fail,
    _formats,
    _intuse,
    _location,
    _measres,
    _nonce,
    _oemid,
    _profile,
    _sueids,
    _text,
    _time,
    _ueid,
    _uint,
    _version,
)
from iotsec.errors import DecodeError, PathItem, ValidationError

P = tuple[PathItem, ...]


class Claim(IntEnum):
    """IANA "CBOR Web Token (CWT) Claims" registry: RFC 8392 §9.1 and RFC 9711 §10.2."""

    ISS = 1
    SUB = 2
    AUD = 3
    EXP = 4
    NBF = 5
    IAT = 6
    CTI = 7
    CNF = 8
    NONCE = 10
    UEID = 256
    SUEIDS = 257
    OEMID = 258
    HWMODEL = 259
    HWVERSION = 260
    UPTIME = 261
    OEMBOOT = 262
    DBGSTAT = 263
    LOCATION = 264
    PROFILE = 265
    SUBMODS = 266
    BOOTCOUNT = 267
    BOOTSEED = 268
    DLOAS = 269
    SWNAME = 270
    SWVERSION = 271
    MANIFESTS = 272
    MEASUREMENTS = 273
    MEASRES = 274
    INTUSE = 275


def _kind(key: Claim, json_name: str, name: str, kind: tuple[Check, ToJson, FromJson]) -> ClaimSpec:
    return ClaimSpec(int(key), json_name, name, *kind)


def _submods_placeholder() -> tuple[Check, ToJson, FromJson]:
    # replaced below: submodules recurse into the registry (see submods.py for token handling)
    return (lambda v, p: v), (lambda v: v), (lambda v, p: v)


REGISTRY: dict[int, ClaimSpec] = {
    s.key: s
    for s in [
        _kind(Claim.ISS, "iss", "iss", _text("iss")),
        _kind(Claim.SUB, "sub", "sub", _text("sub")),
        _kind(Claim.EXP, "exp", "exp", _time("exp")),
        _kind(Claim.NBF, "nbf", "nbf", _time("nbf")),
        _kind(Claim.IAT, "iat", "iat", _time("iat")),
        _kind(Claim.CTI, "jti", "cti", _bytes("cti")),
        _kind(Claim.NONCE, "eat_nonce", "nonce", _nonce()),
        _kind(Claim.UEID, "ueid", "ueid", _ueid()),
        _kind(Claim.SUEIDS, "sueids", "sueids", _sueids()),
        _kind(Claim.OEMID, "oemid", "oemid", _oemid()),
        _kind(Claim.HWMODEL, "hwmodel", "hwmodel", _bytes("hwmodel", (1, 32))),
        _kind(Claim.HWVERSION, "hwversion", "hwversion", _version("hwversion")),
        _kind(Claim.UPTIME, "uptime", "uptime", _uint("uptime")),
        _kind(Claim.OEMBOOT, "oemboot", "oemboot", _bool("oemboot")),
        _kind(Claim.DBGSTAT, "dbgstat", "dbgstat", _dbgstat()),
        _kind(Claim.LOCATION, "location", "location", _location()),
        _kind(Claim.PROFILE, "eat_profile", "profile", _profile()),
        _kind(Claim.SUBMODS, "submods", "submods", _submods_placeholder()),
        _kind(Claim.BOOTCOUNT, "bootcount", "bootcount", _uint("bootcount")),
        _kind(Claim.BOOTSEED, "bootseed", "bootseed", _bytes("bootseed")),
        _kind(Claim.DLOAS, "dloas", "dloas", _dloas()),
        _kind(Claim.SWNAME, "swname", "swname", _text("swname")),
        _kind(Claim.SWVERSION, "swversion", "swversion", _version("swversion")),
        _kind(Claim.MANIFESTS, "manifests", "manifests", _formats("manifests")),
        _kind(Claim.MEASUREMENTS, "measurements", "measurements", _formats("measurements")),
        _kind(Claim.MEASRES, "measres", "measres", _measres()),
        _kind(Claim.INTUSE, "intuse", "intuse", _intuse()),
    ]
}
BY_JSON_NAME: dict[str, ClaimSpec] = {s.json_name: s for s in REGISTRY.values()}


# --- aud is text or an array of text (RFC 8392 §3.1.3 / RFC 7519 §4.1.3) ---
def _aud_check(v: Any, p: P) -> Any:
    if isinstance(v, str) or (isinstance(v, list) and v and all(isinstance(x, str) for x in v)):
        return v
    raise _fail("aud", "type", "aud must be text or an array of text", p)


REGISTRY[int(Claim.AUD)] = ClaimSpec(int(Claim.AUD), "aud", "aud", _aud_check, lambda v: v, _aud_check)
BY_JSON_NAME["aud"] = REGISTRY[int(Claim.AUD)]


# --- submodules (RFC 9711 §4.2.18) ------------------------------------------------------------


@dataclass(frozen=True)
class NestedToken:
    """A nested token in a submodule (§4.2.18.3): kept as bytes/text; its key is not ours to know."""

    kind: str  # "CBOR" (bstr-wrapped tagged CBOR token), "JWT", "BUNDLE", or another JSON selector
    value: bytes | str


@dataclass(frozen=True)
class DetachedDigest:
    """A Detached-Submodule-Digest (§4.2.18.2): COSE hash algorithm and digest of a detached claims-set."""

    alg: int | str
    digest: bytes

    @property
    def alg_name(self) -> str:
        return HASH_ALGS.get(self.alg, str(self.alg)) if isinstance(self.alg, int) else self.alg


def _submod_cbor(v: Any, p: P, depth: int) -> Any:
    if isinstance(v, dict):
        return validate_claims(v, path=p, _depth=depth + 1)
    if isinstance(v, bytes):
        return NestedToken("CBOR", v)
    if isinstance(v, str):  # JSON-Selector inside a CBOR token: '["JWT", "..."]'
        try:
            sel = json.loads(v)
        except ValueError as exc:
            raise _fail("submods", "type", f"a text submodule must be a JSON selector: {exc}", p) from exc
        if not isinstance(sel, list) or len(sel) != 2 or not isinstance(sel[0], str) or sel[0] == "DIGEST":
            raise _fail("submods", "type", "a JSON selector in CBOR is [type, token] and not DIGEST", p)
        if not isinstance(sel[1], str):
            raise _fail("submods", "type", "a nested JSON token must be text", p)
        return NestedToken(sel[0], sel[1])
    if isinstance(v, list):
        if len(v) != 2 or not (is_int(v[0]) or isinstance(v[0], str)) or not isinstance(v[1], bytes):
            raise _fail("submods", "digest", "a detached digest is [hash-alg, digest]", p)
        return DetachedDigest(v[0], v[1])
    raise _fail("submods", "type", "a submodule is a claims-set, nested token or detached digest", p)


def _submod_json(v: Any, p: P, depth: int) -> Any:
    if isinstance(v, dict):
        return claims_from_json(v, path=p, _depth=depth + 1)
    if not isinstance(v, list) or len(v) != 2 or not isinstance(v[0], str):
        raise _fail("submods", "type", "a JSON submodule is an object or a [type, value] selector", p)
    kind, val = v
    if kind == "DIGEST":
        if not isinstance(val, list) or len(val) != 2 or not (is_int(val[0]) or isinstance(val[0], str)):
            raise _fail("submods", "digest", "a DIGEST selector holds [hash-alg, digest]", p)
        alg = {n: k for k, n in HASH_ALGS.items()}.get(val[0], val[0]) if isinstance(val[0], str) else val[0]
        return DetachedDigest(alg, b64u_decode(val[1], reason="eat.submods.digest", path=(*p, 1, 1)))
    if kind == "CBOR":
        return NestedToken("CBOR", b64u_decode(val, reason="eat.submods.type", path=(*p, 1)))
    if not isinstance(val, str):
        raise _fail("submods", "type", f"a {kind} nested token must be text", p)
    return NestedToken(kind, val)


def _check_submods(v: Any, p: P, depth: int, *, from_json: bool) -> dict[str, Any]:
    if depth > MAX_NESTING:
        raise _fail("submods", "depth", f"submodules nest deeper than {MAX_NESTING}", p)
    if not isinstance(v, dict) or not v:
        raise _fail("submods", "type", "submods must be a non-empty map", p)
    out: dict[str, Any] = {}
    for name, sub in v.items():
        if not isinstance(name, str):
            raise _fail("submods", "type", "submodule names must be text", p)
        sp = (*p, name)
        out[name] = _submod_json(sub, sp, depth) if from_json else _submod_cbor(sub, sp, depth)
    return out


def _submods_to_json(v: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, sub in v.items():
        if isinstance(sub, dict):
            out[name] = claims_to_json(sub)
        elif isinstance(sub, DetachedDigest):
            out[name] = ["DIGEST", [sub.alg_name, b64u_encode(sub.digest)]]
        elif isinstance(sub, NestedToken):
            out[name] = [sub.kind, b64u_encode(sub.value) if isinstance(sub.value, bytes) else sub.value]
    return out


def _submods_to_cbor(v: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, sub in v.items():
        if isinstance(sub, dict):
            out[name] = claims_to_cbor(sub)
        elif isinstance(sub, DetachedDigest):
            out[name] = [sub.alg, sub.digest]
        elif isinstance(sub, NestedToken):
            out[name] = sub.value if sub.kind == "CBOR" else json.dumps([sub.kind, sub.value])
    return out


# --- claims-set entry points -------------------------------------------------------------------


def validate_claims(claims: Any, *, path: P = (), _depth: int = 0) -> dict[int | str, Any]:
    """Validate a CBOR claims-set (a decoded map) and return it normalised (enums, nested objects)."""
    if not isinstance(claims, dict):
        raise ValidationError("a claims-set must be a map", reason="eat.claims.type", path=path)
    out: dict[int | str, Any] = {}
    checks, unchanged = _CHECKS, _UNCHANGED
    for k, v in claims.items():
        kind = type(k)
        if kind is int:  # the usual label: one dict look-up finds the claim's check
            fast = unchanged.get(k)
            if fast is not None:
                t, lo, hi = fast
                if type(v) is t and lo <= (v if t is int else len(v)) <= hi:
                    out[k] = v  # what the check returns for such a value
                    continue
            check = checks.get(k)
            if check is None:
                out[k] = v  # RFC 9711 §4: unknown claims are kept, never refused
            elif k == _SUBMODS:
                out[k] = _check_submods(v, (*path, k), _depth, from_json=False)
            else:
                out[k] = check(v, (*path, k))
        elif kind is str:
            out[k] = v
        elif not (is_int(k) or isinstance(k, str)):
            raise ValidationError("claim labels are int or text", reason="eat.claims.label", path=path)
        else:  # int and str subclasses (Claim members)
            p = (*path, k)
            if k == Claim.SUBMODS:
                out[k] = _check_submods(v, p, _depth, from_json=False)
            elif is_int(k) and k in REGISTRY:
                out[k] = REGISTRY[k].check(v, p)
            else:
                out[k] = v
    return out


_SUBMODS = int(Claim.SUBMODS)
_ANY = (-(2**63), 2**63)  # no bound (on a length; on an int value, bounds beyond these take the check)
# label -> (exact type, low, high): a value of that type whose length (text, bytes) or value (int)
# value) lies within the bounds passes the label's check unchanged; others go through the check
_UNCHANGED: dict[int, tuple[Any, int, int]] = {
    Claim.ISS: (str, *_ANY),
    Claim.SUB: (str, *_ANY),
    Claim.EXP: (int, *_ANY),
    Claim.NBF: (int, *_ANY),
    Claim.IAT: (int, *_ANY),
    Claim.CTI: (bytes, *_ANY),
    Claim.NONCE: (bytes, 8, 64),
    Claim.UEID: (bytes, 7, 33),
    Claim.OEMID: (int, *_ANY),
    Claim.HWMODEL: (bytes, 1, 32),
    Claim.UPTIME: (int, 0, _ANY[1]),
    Claim.PROFILE: (str, 1, _ANY[1]),
    Claim.BOOTCOUNT: (int, 0, _ANY[1]),
    Claim.BOOTSEED: (bytes, *_ANY),
    Claim.SWNAME: (str, *_ANY),
}
_UNCHANGED = {int(k): v for k, v in _UNCHANGED.items()}
# label -> check, for plain int labels (the registry's checks, looked up once)
_CHECKS: dict[int, Any] = {k: spec.check for k, spec in REGISTRY.items()}


def claims_from_json(obj: Any, *, path: P = (), _depth: int = 0) -> dict[int | str, Any]:
    """Convert and validate a JSON claims-set (RFC 9711 §7.2.2) into the CBOR model."""
    if not isinstance(obj, dict):
        raise ValidationError("a JSON claims-set must be an object", reason="eat.claims.type", path=path)
    out: dict[int | str, Any] = {}
    for name, v in obj.items():
        p = (*path, name)
        spec = BY_JSON_NAME.get(name)
        if spec is None:
            out[name] = v
        elif spec.key == Claim.SUBMODS:
            out[spec.key] = _check_submods(v, p, _depth, from_json=True)
        else:
            out[spec.key] = spec.from_json(v, p)
    return out


def claims_to_json(claims: Mapping[int | str, Any]) -> dict[str, Any]:
    """The JSON form of a validated claims-set (unknown integer labels become their decimal text)."""
    out: dict[str, Any] = {}
    for k, v in claims.items():
        spec = REGISTRY.get(k) if isinstance(k, int) else None
        if spec is None:
            out[str(k)] = _jsonable(v)
        elif spec.key == Claim.SUBMODS:
            out[spec.json_name] = _submods_to_json(v)
        else:
            out[spec.json_name] = spec.to_json(v)
    return out


def _jsonable(v: Any) -> Any:
    if isinstance(v, bytes):
        return b64u_encode(v)
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    if isinstance(v, cbor.CBORTag):
        return {"tag": v.tag, "value": _jsonable(v.value)}
    return v


def claims_to_cbor(claims: Mapping[int | str, Any]) -> dict[int | str, Any]:
    """Plain CBOR-ready values (enums as ints, submodules re-wrapped)."""
    out: dict[int | str, Any] = {}
    for k, v in claims.items():
        if k == Claim.SUBMODS:
            out[k] = _submods_to_cbor(v)
        elif isinstance(v, IntEnum):
            out[k] = int(v)
        elif k == Claim.NONCE:
            out[k] = [_nb(x) for x in v] if isinstance(v, list) else _nb(v)
        elif k == Claim.MEASRES:
            out[k] = [[s, [[r, int(x)] for r, x in res]] for s, res in v]
        else:
            out[k] = v
    return out


def _nb(v: bytes | str) -> bytes:
    return v.encode("utf-8") if isinstance(v, str) else v


def decode_claims(data: bytes) -> dict[int | str, Any]:
    """Decode and validate CBOR claims-set bytes (e.g. a CWT payload or a UCCS)."""
    return validate_claims(cbor.loads(data))


def encode_claims(claims: Mapping[int | str, Any]) -> bytes:
    """Deterministic CBOR of a claims-set (RFC 8949 §4.2.1)."""
    plain = claims_to_cbor(claims)
    validate_claims(plain)
    return cbor.dumps(plain)


def decode_json_claims(text: bytes | str) -> dict[int | str, Any]:
    """Parse and validate a JSON claims-set."""
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise DecodeError(f"invalid JSON: {exc}", reason="json.malformed") from exc
    return claims_from_json(obj)


def claim_name(key: int | str) -> str:
    """The readable name of a label (JSON name for registered claims)."""
    spec = REGISTRY.get(key) if isinstance(key, int) else None
    return spec.json_name if spec else str(key)


__all__ = [
    "BY_JSON_NAME",
    "HASH_ALGS",
    "REGISTRY",
    "Claim",
    "ClaimSpec",
    "DebugStatus",
    "DetachedDigest",
    "IntendedUse",
    "MeasResult",
    "NestedToken",
    "claim_name",
    "claims_from_json",
    "claims_to_cbor",
    "claims_to_json",
    "decode_claims",
    "decode_json_claims",
    "encode_claims",
    "validate_claims",
]
