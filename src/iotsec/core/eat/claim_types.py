"""Value types of the EAT claims (RFC 9711 §4): enums and the (check, to_json, from_json) kinds that
:mod:`iotsec.core.eat.claims` assembles into its registry. Private to the ``eat`` package."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from iotsec.core import cbor
from iotsec.core.eat._util import b64u_decode, b64u_encode, is_int
from iotsec.errors import PathItem, ValidationError

P = tuple[PathItem, ...]


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
        if type(v) is int and v >= 0:
            return v
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
        if type(v) is int:
            return v
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
        if type(v) is list and len(v) == 1 and type(v[0]) is str:
            return [v[0]]
        if not isinstance(v, list) or not 1 <= len(v) <= 2 or not isinstance(v[0], str):
            raise _fail(name, "type", f"{name} must be [version text, ? scheme]", p)
        if len(v) == 2 and not (is_int(v[1]) or isinstance(v[1], str)):
            raise _fail(name, "type", f"{name} version scheme must be an integer", p)
        return list(v)

    return check, list, check


def _dbgstat() -> tuple[Check, ToJson, FromJson]:
    by_name = {d.json_name: d for d in DebugStatus}

    by_value = {int(d): d for d in DebugStatus}

    def check(v: Any, p: P) -> Any:
        d = by_value.get(v) if is_int(v) else None
        if d is None:
            raise _fail("dbgstat", "value", "dbgstat must be 0..4 (RFC 9711 §4.2.9)", p)
        return d

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
                type(item) is list
                and len(item) == 2
                and type(item[0]) is int
                and 0 <= item[0] <= 65535
                and type(item[1]) in (bytes, str)
            ):
                out.append([item[0], item[1]])
                continue
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
