"""The EAT claims registry: CBOR key, JSON name and validation of every claim (RFC 9711 §4, §10).

One table (:data:`REGISTRY`) drives CBOR validation, JSON <-> CBOR conversion and the readable dump.
A decoded claims-set is a ``dict`` keyed by the CBOR label (``int``) with CBOR-typed values (bytes
for binary data); unknown claims are kept unchanged (RFC 9711 §4: receivers MUST NOT error out on
claims they do not understand). Violations raise :class:`~iotsec.errors.ValidationError` with a
reason ``eat.<claim>.<problem>`` and the path of the member.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from iotsec.core import cbor
from iotsec.core.eat._util import b64u_decode, b64u_encode, is_int
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


class DebugStatus(IntEnum):
    """RFC 9711 §4.2.9 debug status values."""

    ENABLED = 0
    DISABLED = 1
    DISABLED_SINCE_BOOT = 2
    DISABLED_PERMANENTLY = 3
    DISABLED_FULLY_AND_PERMANENTLY = 4

    @property
    def json_name(self) -> str:
        return self.name.lower().replace("_", "-")


class IntendedUse(IntEnum):
    """RFC 9711 §10.4 "EAT Intended Use" registry."""

    GENERIC = 1
    REGISTRATION = 2
    PROVISIONING = 3
    CSR = 4
    POP = 5


class MeasResult(IntEnum):
    """RFC 9711 §4.2.17 measurement result values."""

    SUCCESS = 1
    FAIL = 2
    NOT_RUN = 3
    ABSENT = 4

    @property
    def json_name(self) -> str:
        return self.name.lower().replace("_", "-")


# RFC 9711 §4.2.8 location map: CBOR key -> JSON name
LOCATION_NAMES = {
    1: "latitude",
    2: "longitude",
    3: "altitude",
    4: "accuracy",
    5: "altitude-accuracy",
    6: "heading",
    7: "speed",
    8: "timestamp",
    9: "age",
}
# COSE hash algorithms usable in a Detached-Submodule-Digest (RFC 9711 §4.2.18.2; IANA COSE Algorithms)
HASH_ALGS = {-16: "SHA-256", -43: "SHA-384", -44: "SHA-512", -18: "SHAKE256", -15: "SHA-256/64"}

MAX_NESTING = 8  # submodules in submodules: a hostile token must not recurse without limit


def _fail(name: str, problem: str, msg: str, path: P) -> ValidationError:
    return ValidationError(msg, reason=f"eat.{name}.{problem}", path=path)


# --- kinds: each returns (check_cbor, to_json, from_json) ------------------------------------

Check = Callable[[Any, P], Any]
ToJson = Callable[[Any], Any]
FromJson = Callable[[Any, P], Any]


@dataclass(frozen=True)
class ClaimSpec:
    key: int
    json_name: str
    name: str  # short id used in reason codes
    check: Check
    to_json: ToJson
    from_json: FromJson


def _text(name: str) -> tuple[Check, ToJson, FromJson]:
    def check(v: Any, p: P) -> Any:
        if not isinstance(v, str):
            raise _fail(name, "type", f"{name} must be a text string", p)
        return v

    return check, lambda v: v, check


def _uint(name: str) -> tuple[Check, ToJson, FromJson]:
    def check(v: Any, p: P) -> Any:
        if not is_int(v) or v < 0:
            raise _fail(name, "type", f"{name} must be an unsigned integer", p)
        return v

    return check, lambda v: v, check


def _bool(name: str) -> tuple[Check, ToJson, FromJson]:
    def check(v: Any, p: P) -> Any:
        if not isinstance(v, bool):
            raise _fail(name, "type", f"{name} must be true or false", p)
        return v

    return check, lambda v: v, check


def _time(name: str) -> tuple[Check, ToJson, FromJson]:
    # RFC 8392 §2 NumericDate; RFC 9711 §4.3.1: EAT forbids floating point, tag 1 is allowed in CBOR
    def check(v: Any, p: P) -> Any:
        if isinstance(v, cbor.CBORTag) and v.tag == 1:
            v = v.value
        if not is_int(v):
            raise _fail(name, "type", f"{name} must be an integer NumericDate", p)
        return v

    return check, lambda v: v, check


def _bytes(name: str, sizes: tuple[int, int] | None = None) -> tuple[Check, ToJson, FromJson]:
    def check(v: Any, p: P) -> Any:
        if not isinstance(v, bytes):
            raise _fail(name, "type", f"{name} must be a byte string", p)
        if sizes and not sizes[0] <= len(v) <= sizes[1]:
            raise _fail(name, "size", f"{name} must be {sizes[0]}..{sizes[1]} bytes, not {len(v)}", p)
        return v

    return check, b64u_encode, lambda v, p: check(b64u_decode(v, reason=f"eat.{name}.type", path=p), p)


def _ueid_check(v: Any, p: P, name: str = "ueid") -> bytes:
    # RFC 9711 §4.2.1: bstr .size (7..33); the first byte is the type (§4.2.1.1)
    if not isinstance(v, bytes):
        raise _fail(name, "type", "a UEID must be a byte string", p)
    if not 7 <= len(v) <= 33:
        raise _fail(name, "size", f"a UEID must be 7..33 bytes, not {len(v)}", p)
    return v


def _ueid() -> tuple[Check, ToJson, FromJson]:
    return (
        _ueid_check,
        b64u_encode,
        lambda v, p: _ueid_check(b64u_decode(v, reason="eat.ueid.type", path=p), p),
    )


def _nonce() -> tuple[Check, ToJson, FromJson]:
    # RFC 9711 §4.1: bstr .size (8..64) or an array of two or more; JSON: tstr .size (8..88)
    def one(v: Any, p: P) -> Any:
        if not isinstance(v, bytes):
            raise _fail("nonce", "type", "an EAT nonce must be a byte string", p)
        if not 8 <= len(v) <= 64:
            raise _fail("nonce", "size", f"an EAT nonce must be 8..64 bytes, not {len(v)}", p)
        return v

    def check(v: Any, p: P) -> Any:
        if isinstance(v, list):
            if len(v) < 2:
                raise _fail("nonce", "type", "a nonce array needs two or more nonces", p)
            return [one(x, (*p, i)) for i, x in enumerate(v)]
        return one(v, p)

    def jone(v: Any, p: P) -> Any:
        # JSON nonces are text, kept as text: converting to CBOR uses their UTF-8 bytes
        if not isinstance(v, str) or not 8 <= len(v) <= 88:
            raise _fail("nonce", "size", "a JSON EAT nonce must be text of 8..88 characters", p)
        return v

    def to_json(v: Any) -> Any:
        def conv(b: bytes | str) -> str:
            return b if isinstance(b, str) else b64u_encode(b)

        return [conv(x) for x in v] if isinstance(v, list) else conv(v)

    def from_json(v: Any, p: P) -> Any:
        if isinstance(v, list):
            if len(v) < 2:
                raise _fail("nonce", "type", "a nonce array needs two or more nonces", p)
            return [jone(x, (*p, i)) for i, x in enumerate(v)]
        return jone(v, p)

    return check, to_json, from_json


def _oemid() -> tuple[Check, ToJson, FromJson]:
    # RFC 9711 §4.2.3: PEN (int), IEEE OUI (3 bytes) or random (16 bytes)
    def check(v: Any, p: P) -> Any:
        if is_int(v):
            return v
        if isinstance(v, bytes) and len(v) in (3, 16):
            return v
        raise _fail("oemid", "type", "oemid must be a PEN, a 3-byte IEEE OUI or 16 random bytes", p)

    def from_json(v: Any, p: P) -> Any:
        return v if is_int(v) else check(b64u_decode(v, reason="eat.oemid.type", path=p), p)

    return check, lambda v: v if is_int(v) else b64u_encode(v), from_json


def _version(name: str) -> tuple[Check, ToJson, FromJson]:
    # RFC 9711 §4.2.5/§4.2.7: [version: tstr, ? scheme: $version-scheme (CoSWID, int)]
    def check(v: Any, p: P) -> Any:
        if not isinstance(v, list) or not 1 <= len(v) <= 2 or not isinstance(v[0], str):
            raise _fail(name, "type", f"{name} must be [version text, ? scheme]", p)
        if len(v) == 2 and not (is_int(v[1]) or isinstance(v[1], str)):
            raise _fail(name, "type", f"{name} version scheme must be an integer", p)
        return list(v)

    return check, list, check


def _dbgstat() -> tuple[Check, ToJson, FromJson]:
    by_name = {d.json_name: d for d in DebugStatus}

    def check(v: Any, p: P) -> Any:
        if not is_int(v) or v not in DebugStatus._value2member_map_:
            raise _fail("dbgstat", "value", "dbgstat must be 0..4 (RFC 9711 §4.2.9)", p)
        return DebugStatus(v)

    def from_json(v: Any, p: P) -> Any:
        if not isinstance(v, str) or v not in by_name:
            raise _fail("dbgstat", "value", f"unknown dbgstat {v!r}", p)
        return by_name[v]

    return check, lambda v: DebugStatus(v).json_name, from_json


def _number(v: Any) -> bool:
    return (is_int(v) or isinstance(v, float)) and not isinstance(v, bool)


def _location() -> tuple[Check, ToJson, FromJson]:
    names = {n: k for k, n in LOCATION_NAMES.items()}

    def check(v: Any, p: P) -> Any:
        if not isinstance(v, dict) or 1 not in v or 2 not in v:
            raise _fail("location", "type", "location needs latitude and longitude", p)
        out: dict[int, Any] = {}
        for k, x in v.items():
            if k not in LOCATION_NAMES:
                raise _fail("location", "key", f"unknown location member {k!r}", (*p, str(k)))
            if k == 8:
                out[k] = _time("location")[0](x, (*p, k))
            elif k == 9:
                out[k] = _uint("location")[0](x, (*p, k))
            elif not _number(x):
                raise _fail("location", "type", f"location {LOCATION_NAMES[k]} must be a number", (*p, k))
            else:
                out[k] = x
        return out

    def from_json(v: Any, p: P) -> Any:
        if not isinstance(v, dict):
            raise _fail("location", "type", "location must be an object", p)
        try:
            return check({names[k]: x for k, x in v.items()}, p)
        except KeyError as exc:
            raise _fail("location", "key", f"unknown location member {exc.args[0]!r}", p) from None

    return check, lambda v: {LOCATION_NAMES[k]: x for k, x in v.items()}, from_json


def _profile() -> tuple[Check, ToJson, FromJson]:
    # RFC 9711 §4.3.2: general-uri (text) or general-oid (CBOR tag 111 or untagged bytes)
    def check(v: Any, p: P) -> Any:
        if isinstance(v, str) and v:
            return v
        if isinstance(v, cbor.CBORTag) and v.tag == 111 and isinstance(v.value, bytes):
            return v
        if isinstance(v, bytes) and v:
            return cbor.tag(111, v)
        raise _fail("profile", "type", "eat_profile must be a URI or an OID", p)

    def to_json(v: Any) -> Any:
        if isinstance(v, cbor.CBORTag):
            return _oid_to_text(v.value)
        return v

    return check, to_json, lambda v, p: check(v, p) if isinstance(v, str) else check(None, p)


def _oid_to_text(der: bytes) -> str:
    """Dotted text of BER-encoded OID content octets (RFC 9090 / X.690 §8.19)."""
    arcs: list[int] = []
    n = 0
    for b in der:
        n = (n << 7) | (b & 0x7F)
        if not b & 0x80:
            arcs.append(n)
            n = 0
    if not arcs:
        return ""
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first, *arcs[1:]])


def _formats(name: str) -> tuple[Check, ToJson, FromJson]:
    # RFC 9711 §4.2.15/§4.2.16: [+ [content-type: uint .le 65535, content-format: bstr / JSON text]]
    def check(v: Any, p: P) -> Any:
        if not isinstance(v, list) or not v:
            raise _fail(name, "type", f"{name} must be a non-empty array", p)
        out = []
        for i, item in enumerate(v):
            if (
                not isinstance(item, list)
                or len(item) != 2
                or not is_int(item[0])
                or not 0 <= item[0] <= 65535
                or not isinstance(item[1], (bytes, str))
            ):
                raise _fail(name, "type", f"{name} entries are [content-type, body]", (*p, i))
            out.append([item[0], item[1]])
        return out

    def to_json(v: Any) -> Any:
        return [[ct, b64u_encode(b) if isinstance(b, bytes) else b] for ct, b in v]

    def from_json(v: Any, p: P) -> Any:
        checked = check(v, p)
        return [
            [ct, b64u_decode(b, reason=f"eat.{name}.type", path=(*p, i))] for i, (ct, b) in enumerate(checked)
        ]

    return check, to_json, from_json


def _measres() -> tuple[Check, ToJson, FromJson]:
    # RFC 9711 §4.2.17: [+ [measurement-system: tstr, [+ [result-id: tstr / binary-data, result]]]]
    by_name = {r.json_name: r for r in MeasResult}

    def generic(v: Any, p: P, conv: Callable[[Any, P], MeasResult], rid: Callable[[Any, P], Any]) -> Any:
        if not isinstance(v, list) or not v:
            raise _fail("measres", "type", "measres must be a non-empty array", p)
        out = []
        for i, g in enumerate(v):
            if (
                not isinstance(g, list)
                or len(g) != 2
                or not isinstance(g[0], str)
                or not isinstance(g[1], list)
            ):
                raise _fail("measres", "type", "a measres group is [system, [+ result]]", (*p, i))
            if not g[1]:
                raise _fail("measres", "type", "a measres group needs results", (*p, i))
            results = []
            for j, r in enumerate(g[1]):
                if not isinstance(r, list) or len(r) != 2:
                    raise _fail("measres", "type", "an individual result is [id, result]", (*p, i, 1, j))
                results.append([rid(r[0], (*p, i, 1, j, 0)), conv(r[1], (*p, i, 1, j, 1))])
            out.append([g[0], results])
        return out

    def cres(x: Any, p: P) -> MeasResult:
        if not is_int(x) or x not in MeasResult._value2member_map_:
            raise _fail("measres", "value", "result must be 1..4", p)
        return MeasResult(x)

    def jres(x: Any, p: P) -> MeasResult:
        if not isinstance(x, str) or x not in by_name:
            raise _fail("measres", "value", f"unknown result {x!r}", p)
        return by_name[x]

    def crid(x: Any, p: P) -> Any:
        if not isinstance(x, (str, bytes)):
            raise _fail("measres", "type", "result-id must be text or bytes", p)
        return x

    def jrid(x: Any, p: P) -> Any:
        if not isinstance(x, str):
            raise _fail("measres", "type", "result-id must be text", p)
        return x

    def to_json(v: Any) -> Any:
        return [
            [s, [[b64u_encode(r) if isinstance(r, bytes) else r, MeasResult(x).json_name] for r, x in res]]
            for s, res in v
        ]

    return (
        lambda v, p: generic(v, p, cres, crid),
        to_json,
        lambda v, p: generic(v, p, jres, jrid),
    )


def _dloas() -> tuple[Check, ToJson, FromJson]:
    # RFC 9711 §4.2.14: [+ [registrar: general-uri, platform-label: text, ? application-label: text]]
    def check(v: Any, p: P) -> Any:
        if not isinstance(v, list) or not v:
            raise _fail("dloas", "type", "dloas must be a non-empty array", p)
        for i, d in enumerate(v):
            if not isinstance(d, list) or len(d) not in (2, 3) or not all(isinstance(x, str) for x in d):
                raise _fail("dloas", "type", "a DLOA is [registrar, platform, ? application]", (*p, i))
        return [list(d) for d in v]

    return check, lambda v: [list(d) for d in v], check


def _intuse() -> tuple[Check, ToJson, FromJson]:
    names = {u.name.lower(): u for u in IntendedUse}

    def check(v: Any, p: P) -> Any:
        if not is_int(v):
            raise _fail("intuse", "type", "intuse must be an integer in CBOR", p)
        return IntendedUse(v) if v in IntendedUse._value2member_map_ else v

    def to_json(v: Any) -> Any:
        return v.name.lower() if isinstance(v, IntendedUse) else str(v)

    def from_json(v: Any, p: P) -> Any:
        if not isinstance(v, str):
            raise _fail("intuse", "type", "intuse must be text in JSON", p)
        return names.get(v, v)

    return check, to_json, from_json


def _sueids() -> tuple[Check, ToJson, FromJson]:
    def check(v: Any, p: P) -> Any:
        if not isinstance(v, dict) or not v:
            raise _fail("sueids", "type", "sueids must be a non-empty map of text to UEID", p)
        for k, x in v.items():
            if not isinstance(k, str):
                raise _fail("sueids", "type", "sueids labels must be text", p)
            _ueid_check(x, (*p, k), "sueids")
        return dict(v)

    def from_json(v: Any, p: P) -> Any:
        if not isinstance(v, dict):
            raise _fail("sueids", "type", "sueids must be an object", p)
        return check({k: b64u_decode(x, reason="eat.sueids.type", path=(*p, k)) for k, x in v.items()}, p)

    return check, lambda v: {k: b64u_encode(x) for k, x in v.items()}, from_json


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
    for k, v in claims.items():
        if not (is_int(k) or isinstance(k, str)):
            raise ValidationError("claim labels are int or text", reason="eat.claims.label", path=path)
        p = (*path, k)
        if k == Claim.SUBMODS:
            out[k] = _check_submods(v, p, _depth, from_json=False)
        elif is_int(k) and k in REGISTRY:
            out[k] = REGISTRY[k].check(v, p)
        else:
            out[k] = v  # RFC 9711 §4: unknown claims are kept, never refused
    return out


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
