"""EAT Attestation Results (draft-ietf-rats-ear) and the AR4SI trustworthiness vector.

Three generations of names are parsed (draft-ietf-rats-ear §2 and Veraison's earlier profiles):

* ``ietf``: ``tag:ietf.org,2026:rats/ear#03`` with ``ear_status``, ``ear_trustworthiness_vector``,
  ``ear_appraisal_policy_ids`` (a list) and CBOR labels 1000..1004;
* ``veraison-2023``: ``tag:github.com,2023:veraison/ear`` with ``ear.status``,
  ``ear.trustworthiness-vector``, ``ear.appraisal-policy-id`` (one string);
* ``veraison-2022``: ``tag:github.com,2022:veraison/ear``, the same names.

:func:`encode_json` / :func:`encode_cbor` emit ``ietf`` by default or ``veraison-2023`` on request.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from iotsec.core import cbor
from iotsec.core.eat._util import b64_decode_any, b64u_decode, b64u_encode, is_int
from iotsec.errors import DecodeError, PathItem, ValidationError

PROFILE_IETF = "tag:ietf.org,2026:rats/ear#03"
PROFILE_VERAISON_2023 = "tag:github.com,2023:veraison/ear"
PROFILE_VERAISON_2022 = "tag:github.com,2022:veraison/ear"
GENERATIONS = {
    PROFILE_IETF: "ietf",
    PROFILE_VERAISON_2023: "veraison-2023",
    PROFILE_VERAISON_2022: "veraison-2022",
}
PROFILE_OF = {v: k for k, v in GENERATIONS.items()}


class Tier(IntEnum):
    """AR4SI trustworthiness tiers (draft-ietf-rats-ar4si §2.3.2; EAR ar4si.cddl)."""

    NONE = 0
    AFFIRMING = 2
    WARNING = 32
    CONTRAINDICATED = 96

    @classmethod
    def of(cls, claim: int) -> Tier:
        """The tier of a trustworthiness claim value (draft-ietf-rats-ar4si §2.3.3 value ranges)."""
        a = abs(claim)
        if a <= 1:
            return cls.NONE
        if a <= 31:
            return cls.AFFIRMING
        if a <= 95:
            return cls.WARNING
        return cls.CONTRAINDICATED

    @property
    def json_name(self) -> str:
        return _TIER_NAMES[self]

    @property
    def trust(self) -> int:
        """Rank by trust: affirming > none (no information) > warning > contraindicated."""
        return _TRUST[self]

    def worse(self, other: Tier) -> Tier:
        """The lower-trust of two tiers."""
        return self if _TRUST[self] <= _TRUST[other] else other


_TRUST = {Tier.AFFIRMING: 3, Tier.NONE: 2, Tier.WARNING: 1, Tier.CONTRAINDICATED: 0}
_TIER_NAMES = {t: t.name.lower() for t in Tier}


def worst_tier(claims: Iterable[int]) -> Tier:
    """The lowest-trust tier among trustworthiness claim values (affirming when there are none)."""
    worst = Tier.AFFIRMING
    rank = 3
    for v in claims:
        t = _TIER_OF.get(v)
        if t is None:
            t = Tier.of(v)
        if _TRUST[t] < rank:
            worst, rank = t, _TRUST[t]
    return worst


_TIER_OF = {v: Tier.of(v) for v in range(-128, 128)}  # the range of a trustworthiness claim


class Category(IntEnum):
    """AR4SI trustworthiness vector components (draft-ietf-rats-ar4si §2.3.4; labels in ar4si.cddl)."""

    INSTANCE_IDENTITY = 0
    CONFIGURATION = 1
    EXECUTABLES = 2
    FILE_SYSTEM = 3
    HARDWARE = 4
    RUNTIME_OPAQUE = 5
    STORAGE_OPAQUE = 6
    SOURCED_DATA = 7

    @property
    def json_name(self) -> str:
        return _CATEGORY_NAMES[self]

    @classmethod
    def from_name(cls, name: str) -> Category:
        return cls[name.upper().replace("-", "_")]


_CATEGORY_NAMES = {c: c.name.lower().replace("_", "-") for c in Category}

# Common trustworthiness claim values (draft-ietf-rats-ar4si §2.3.4)
NO_CLAIM = 0
UNEXPECTED_EVIDENCE = 1
VERIFIER_MALFUNCTION = -1
CRYPTO_VALIDATION_FAILED = 99
# Selected category-specific values (draft-ietf-rats-ar4si §2.3.4)
TRUSTWORTHY_INSTANCE = 2
UNTRUSTWORTHY_INSTANCE = 96
UNRECOGNIZED_INSTANCE = 97
APPROVED_CONFIG = 2
UNSAFE_CONFIG = 32
UNSUPPORTABLE_CONFIG = 96
APPROVED_RUNTIME = 2
APPROVED_BOOT = 3
UNSAFE_RUNTIME = 32
UNRECOGNIZED_RUNTIME = 33
CONTRAINDICATED_RUNTIME = 96
GENUINE_HARDWARE = 2
UNSAFE_HARDWARE = 32
CONTRAINDICATED_HARDWARE = 96
UNRECOGNIZED_HARDWARE = 97

# CBOR labels (ear.cddl, ear-appraisal.cddl, ext-*.cddl)
L_PROFILE, L_IAT, L_EXP, L_NONCE, L_SUBMODS = 265, 6, 4, 10, 266
L_STATUS, L_VECTOR, L_RAW, L_POLICIES, L_VERIFIER = 1000, 1001, 1002, 1003, 1004
EXT_CBOR = {
    65000: "ear_teep_claims",
    -70000: "ear_veraison_annotated_evidence",
    -70001: "ear_veraison_policy_claims",
    -70002: "ear_veraison_key_attestation",
}
EXT_CBOR_BY_NAME = {v: k for k, v in EXT_CBOR.items()}

_NAMES = {
    "ietf": {
        "status": "ear_status",
        "vector": "ear_trustworthiness_vector",
        "raw": "ear_raw_evidence",
        "policies": "ear_appraisal_policy_ids",
        "verifier": "ear_verifier_id",
        "ext": "ear_",
    },
    "veraison": {
        "status": "ear.status",
        "vector": "ear.trustworthiness-vector",
        "raw": "ear.raw-evidence",
        "policies": "ear.appraisal-policy-id",
        "verifier": "ear.verifier-id",
        "ext": "ear.",
    },
}


def _err(msg: str, reason: str, *path: PathItem) -> ValidationError:
    return ValidationError(msg, reason=f"ear.{reason}", path=path)


@dataclass
class Appraisal:
    """One EAR-appraisal (draft-ietf-rats-ear §2.1): status, vector, policies, extensions."""

    status: Tier
    vector: dict[Category, int] = field(default_factory=dict)
    policy_ids: list[str] = field(default_factory=list)
    profile: str | None = None
    nonce: bytes | None = None
    extensions: dict[str, Any] = field(default_factory=dict)  # keyed by the ietf JSON name

    def tier(self, category: Category) -> Tier:
        return Tier.of(self.vector.get(category, NO_CLAIM))

    def check(self, *path: PathItem) -> None:
        """§2.1: the status MUST NOT be of higher trust than the worst claim of the vector."""
        worst = Tier.AFFIRMING
        for v in self.vector.values():
            worst = worst.worse(Tier.of(v))
        if self.status.trust > worst.trust:
            raise _err(
                "ear_status claims more trust than its trustworthiness vector", "status.inconsistent", *path
            )


@dataclass
class Ear:
    """An EAR claims-set (draft-ietf-rats-ear §2)."""

    iat: int
    developer: str
    build: str
    submods: dict[str, Appraisal]
    status: Tier | None = None
    exp: int | None = None
    raw_evidence: bytes | None = None
    nonce: bytes | None = None
    profile: str = PROFILE_IETF
    extra: dict[str | int, Any] = field(default_factory=dict)

    @property
    def generation(self) -> str:
        return GENERATIONS[self.profile]

    def overall(self) -> Tier:
        """The overall status: the claim if present, else the worst submodule status."""
        if self.status is not None:
            return self.status
        worst = Tier.AFFIRMING
        for a in self.submods.values():
            worst = worst.worse(a.status)
        return worst


# --- parsing ------------------------------------------------------------------------------------


def _tier(v: Any, *path: PathItem) -> Tier:
    if isinstance(v, str):
        for t in Tier:
            if t.json_name == v:
                return t
    elif is_int(v) and v in Tier._value2member_map_:
        return Tier(v)
    raise _err(f"unknown trustworthiness tier {v!r}", "status.value", *path)


def _vector(v: Any, *path: PathItem) -> dict[Category, int]:
    if not isinstance(v, dict) or not v:
        raise _err("the trustworthiness vector must be a non-empty map", "vector.type", *path)
    out: dict[Category, int] = {}
    for k, x in v.items():
        try:
            cat = Category.from_name(k) if isinstance(k, str) else Category(k)
        except (KeyError, ValueError):
            raise _err(f"unknown trustworthiness category {k!r}", "vector.category", *path) from None
        if not is_int(x) or not -128 <= x <= 127:
            raise _err("a trustworthiness claim is an integer in -128..127", "vector.value", *path, str(k))
        out[cat] = x
    return out


def _time(v: Any, name: str, *, lenient: bool) -> int:
    # EAR forbids floating-point iat/exp (§2); Veraison's 2023 profile emitted integral floats
    if is_int(v):
        return int(v)
    if lenient and isinstance(v, float) and v.is_integer():
        return int(v)
    raise _err(f"{name} must be an integer NumericDate", f"{name}.type", name)


def _appraisal(v: Any, gen: str, fmt: str, *path: PathItem) -> Appraisal:
    if not isinstance(v, dict):
        raise _err("an EAR-appraisal must be a map", "appraisal.type", *path)
    names = _NAMES["ietf" if gen == "ietf" else "veraison"]

    def get(jname: str, label: int) -> Any:
        return v.get(label) if fmt == "cbor" else v.get(jname)

    if get(names["status"], L_STATUS) is None:
        raise _err("ear_status is missing", "status.missing", *path)
    a = Appraisal(status=_tier(get(names["status"], L_STATUS), *path, "status"))
    vec = get(names["vector"], L_VECTOR)
    if vec is not None:
        a.vector = _vector(vec, *path, "vector")
    pol = get(names["policies"], L_POLICIES)
    if pol is not None:
        if isinstance(pol, str) and gen != "ietf":
            pol = [pol]
        if not isinstance(pol, list) or not pol or not all(isinstance(x, str) for x in pol):
            raise _err("appraisal policy ids must be a non-empty list of text", "policies.type", *path)
        a.policy_ids = list(pol)
    prof = get("eat_profile", L_PROFILE)
    if prof is not None:
        if not isinstance(prof, str):
            raise _err("eat_profile must be text", "profile.type", *path)
        a.profile = prof
    nonce = get("eat_nonce", L_NONCE)
    if nonce is not None:
        a.nonce = _nonce(nonce, fmt, *path)
    known = {names["status"], names["vector"], names["policies"], "eat_profile", "eat_nonce"}
    for k, x in v.items():
        if fmt == "cbor":
            if k in (L_STATUS, L_VECTOR, L_POLICIES, L_PROFILE, L_NONCE):
                continue
            name = EXT_CBOR.get(k, str(k)) if is_int(k) else str(k)
        else:
            if k in known:
                continue
            name = k.replace(".", "_").replace("-", "_") if gen != "ietf" and k.startswith("ear.") else k
        if not isinstance(x, dict):
            raise _err("an EAR appraisal extension must be a map (§3)", "extension.type", *path, str(k))
        a.extensions[name] = x
    a.check(*path)
    return a


def _nonce(v: Any, fmt: str, *path: PathItem) -> bytes:
    if fmt == "cbor":
        if not isinstance(v, bytes) or not 8 <= len(v) <= 64:
            raise _err("eat_nonce must be 8..64 bytes", "nonce.size", *path)
        return v
    raw = b64_decode_any(v, reason="ear.nonce.type", path=path)
    if not 8 <= len(raw) <= 64:
        raise _err("eat_nonce must decode to 8..64 bytes", "nonce.size", *path)
    return raw


def _verifier_id(v: Any, fmt: str) -> tuple[str, str]:
    if not isinstance(v, dict):
        raise _err("ear_verifier_id is missing or not a map", "verifier_id.missing", "verifier_id")
    dev, build = (v.get(0), v.get(1)) if fmt == "cbor" else (v.get("developer"), v.get("build"))
    if not isinstance(dev, str) or not isinstance(build, str):
        raise _err("ear_verifier_id needs developer and build text", "verifier_id.type", "verifier_id")
    return dev, build


def parse(claims: Mapping[Any, Any]) -> Ear:
    """Parse an EAR claims-set (a JSON object or a decoded CBOR map) of any known generation."""
    if not isinstance(claims, dict):
        raise _err("an EAR claims-set must be a map", "type")
    fmt = "cbor" if L_PROFILE in claims or any(is_int(k) for k in claims) else "json"
    profile = claims.get(L_PROFILE) if fmt == "cbor" else claims.get("eat_profile")
    if not isinstance(profile, str) or profile not in GENERATIONS:
        raise _err(f"unknown EAR profile {profile!r}", "profile.unknown", "eat_profile")
    gen = GENERATIONS[profile]
    names = _NAMES["ietf" if gen == "ietf" else "veraison"]

    def get(jname: str, label: int) -> Any:
        return claims.get(label) if fmt == "cbor" else claims.get(jname)

    lenient = gen != "ietf"
    iat = get("iat", L_IAT)
    if iat is None:
        raise _err("iat is missing", "iat.missing", "iat")
    dev, build = _verifier_id(get(names["verifier"], L_VERIFIER), fmt)
    subs = get("submods", L_SUBMODS)
    if not isinstance(subs, dict) or not subs:
        raise _err("submods must hold at least one EAR-appraisal", "submods.missing", "submods")
    ear = Ear(
        iat=_time(iat, "iat", lenient=lenient),
        developer=dev,
        build=build,
        submods={},
        profile=profile,
    )
    for name, sub in subs.items():
        if not isinstance(name, str):
            raise _err("submodule names are text", "submods.type", "submods")
        ear.submods[name] = _appraisal(sub, gen, fmt, "submods", name)
    st = get(names["status"], L_STATUS)
    if st is not None:
        ear.status = _tier(st, "status")
        worst = Tier.AFFIRMING
        for a in ear.submods.values():
            worst = worst.worse(a.status)
        if ear.status.trust > worst.trust:
            raise _err("the EAR status claims more trust than its worst submodule", "status.inconsistent")
    exp = get("exp", L_EXP)
    if exp is not None:
        ear.exp = _time(exp, "exp", lenient=False)
    raw = get(names["raw"], L_RAW)
    if raw is not None:
        ear.raw_evidence = raw if fmt == "cbor" and isinstance(raw, bytes) else _raw(raw)
    nonce = get("eat_nonce", L_NONCE)
    if nonce is not None:
        ear.nonce = _nonce(nonce, fmt, "eat_nonce")
    known_j = {
        "eat_profile",
        "iat",
        "exp",
        "submods",
        "eat_nonce",
        names["status"],
        names["raw"],
        names["verifier"],
    }
    known_c = {L_PROFILE, L_IAT, L_EXP, L_SUBMODS, L_NONCE, L_STATUS, L_RAW, L_VERIFIER}
    ear.extra = {k: x for k, x in claims.items() if k not in (known_c if fmt == "cbor" else known_j)}
    return ear


def _raw(v: Any) -> bytes:
    if not isinstance(v, str):
        raise _err("raw evidence must be base64url text", "raw_evidence.type", "raw_evidence")
    return b64u_decode(v, reason="ear.raw_evidence.type", path=("raw_evidence",))


def parse_json(data: bytes | str) -> Ear:
    """Parse a JSON EAR claims-set (e.g. a JWT payload)."""
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise DecodeError(f"invalid JSON: {exc}", reason="json.malformed") from exc
    return parse(obj)


def parse_cbor(data: bytes) -> Ear:
    """Parse a CBOR EAR claims-set (e.g. a CWT payload)."""
    return parse(cbor.loads(data))


# --- encoding -----------------------------------------------------------------------------------


def to_json(ear: Ear, *, generation: str | None = None) -> dict[str, Any]:
    """The JSON claims-set of ``ear`` in ``generation`` (default: the EAR's own)."""
    gen = generation or ear.generation
    names = _NAMES["ietf" if gen == "ietf" else "veraison"]
    out: dict[str, Any] = {
        "eat_profile": PROFILE_OF[gen],
        "iat": ear.iat,
        names["verifier"]: {"developer": ear.developer, "build": ear.build},
        "submods": {},
    }
    if ear.status is not None:
        out[names["status"]] = ear.status.json_name
    if ear.exp is not None:
        out["exp"] = ear.exp
    if ear.raw_evidence is not None:
        out[names["raw"]] = b64u_encode(ear.raw_evidence)
    if ear.nonce is not None:
        out["eat_nonce"] = b64u_encode(ear.nonce)
    for name, a in ear.submods.items():
        s: dict[str, Any] = {names["status"]: a.status.json_name}
        if a.vector:
            s[names["vector"]] = {c.json_name: v for c, v in sorted(a.vector.items())}
        if a.policy_ids:
            s[names["policies"]] = a.policy_ids if gen == "ietf" else a.policy_ids[0]
        if a.profile:
            s["eat_profile"] = a.profile
        if a.nonce is not None:
            s["eat_nonce"] = b64u_encode(a.nonce)
        for k, x in a.extensions.items():
            ext_key = (
                k
                if gen == "ietf"
                else "ear." + k[len("ear_") :].replace("_", "-").replace("veraison-", "veraison.")
            )
            s[ext_key] = x
        out["submods"][name] = s
    for ek, ex in ear.extra.items():
        out[str(ek)] = ex
    return out


_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"))
_jstr = json.encoder.encode_basestring_ascii  # what the encoder above writes for text
_AROUND_IAT: dict[tuple[str, str, str], tuple[str, str]] = {}


def encode_json(ear: Ear, *, generation: str | None = None) -> str:
    """``json.dumps(to_json(ear, generation=...), separators=(",", ":"))``, the compact JSON text of
    the claims-set, written directly for the usual shapes (text, ints, maps of ints) without building
    the intermediate dict; anything unusual goes through :func:`to_json` and ``json``."""
    gen = generation or ear.generation
    fast = _encode_json_fast(ear, gen)
    return fast if fast is not None else _COMPACT_JSON.encode(to_json(ear, generation=gen))


_CATEGORY_ONLY, _INT_ONLY, _STR_ONLY = frozenset({Category}), frozenset({int}), frozenset({str})
# the text of a submodule up to its nonce, by (generation, name, status, vector items, policy ids,
# profile) of values of exactly the types checked in _encode_json_fast
_SUBMOD_HEAD: dict[tuple[Any, ...], str] = {}


def _submod_head(name: str, a: Appraisal, gen: str, names: dict[str, str]) -> str:
    s = [_jstr(name), ':{"', names["status"], '":"', _TIER_NAMES[a.status], '"']
    if a.vector:
        vtext = ",".join(f'"{_CATEGORY_NAMES[c]}":{v}' for c, v in sorted(a.vector.items()))
        s += [',"', names["vector"], '":{', vtext, "}"]
    if a.policy_ids:
        text = ",".join(map(_jstr, a.policy_ids if gen == "ietf" else a.policy_ids[:1]))
        s += [',"', names["policies"], '":', f"[{text}]" if gen == "ietf" else text]
    if a.profile:
        s += [',"eat_profile":', _jstr(a.profile)]
    return "".join(s)


def _encode_json_fast(ear: Ear, gen: str) -> str | None:
    names = _NAMES["ietf" if gen == "ietf" else "veraison"]
    if (
        ear.extra
        or type(ear.iat) is not int
        or (ear.exp is not None and type(ear.exp) is not int)
        or type(ear.developer) is not str
        or type(ear.build) is not str
    ):
        return None
    subs: list[str] = []
    # the verifier puts the session nonce in the EAR and in its submodule: encoded once
    nonce_text = b64u_encode(ear.nonce) if ear.nonce is not None else ""
    for name, a in ear.submods.items():
        if type(name) is not str:
            return None
        vec, ids, prof = a.vector, a.policy_ids, a.profile
        # exact types only (True is 1 to a dict look-up, not in JSON); type sets checked in C loops
        if (
            (
                vec
                and not (
                    _CATEGORY_ONLY.issuperset(map(type, vec))
                    and _INT_ONLY.issuperset(map(type, vec.values()))
                )
            )
            or (ids and not _STR_ONLY.issuperset(map(type, ids)))
            or (prof and type(prof) is not str)
        ):
            return None
        # the member name, status, vector, policies and profile: the same for every EAR of a verifier
        hkey = (
            gen,
            name,
            a.status,
            tuple(vec.items()) if vec else (),
            tuple(ids) if ids else (),
            prof or None,
        )
        head = _SUBMOD_HEAD.get(hkey)
        if head is None:
            head = _submod_head(name, a, gen, names)
            if len(_SUBMOD_HEAD) < 4096:
                _SUBMOD_HEAD[hkey] = head
        s = [head]
        if a.nonce is not None:
            s += [',"eat_nonce":"', nonce_text if a.nonce is ear.nonce else b64u_encode(a.nonce), '"']
        keys: set[str] = set()  # the members written so far, when extensions follow
        if a.extensions:
            keys.add(names["status"])
            if a.vector:
                keys.add(names["vector"])
            if a.policy_ids:
                keys.add(names["policies"])
            if a.profile:
                keys.add("eat_profile")
            if a.nonce is not None:
                keys.add("eat_nonce")
        for k, x in a.extensions.items():
            ext_key = (
                k
                if gen == "ietf"
                else "ear." + k[len("ear_") :].replace("_", "-").replace("veraison-", "veraison.")
            )
            if type(ext_key) is not str or ext_key in keys:
                return None  # a colliding member would replace an earlier one in place
            keys.add(ext_key)
            s += [",", _jstr(ext_key), ":", _COMPACT_JSON.encode(x)]
        s.append("}")
        subs.append("".join(s))
    ck = (gen, ear.developer, ear.build)
    around = _AROUND_IAT.get(ck)  # the text before and after "iat": a verifier's constants
    if around is None:
        around = (
            '{"eat_profile":' + _jstr(PROFILE_OF[gen]) + ',"iat":',
            ',"'
            + names["verifier"]
            + '":{"developer":'
            + _jstr(ear.developer)
            + ',"build":'
            + _jstr(ear.build)
            + '},"submods":{',
        )
        if len(_AROUND_IAT) < 64:
            _AROUND_IAT[ck] = around
    out = [around[0], str(ear.iat), around[1], ",".join(subs), "}"]
    if ear.status is not None:
        out += [',"', names["status"], '":"', _TIER_NAMES[ear.status], '"']
    if ear.exp is not None:
        out += [',"exp":', str(ear.exp)]
    if ear.raw_evidence is not None:
        out += [',"', names["raw"], '":"', b64u_encode(ear.raw_evidence), '"']
    if ear.nonce is not None:
        out += [',"eat_nonce":"', nonce_text, '"']
    out.append("}")
    return "".join(out)


def to_cbor(ear: Ear) -> dict[int | str, Any]:
    """The CBOR claims-set of ``ear`` (labels of ear.cddl)."""
    out: dict[int | str, Any] = {
        L_PROFILE: ear.profile,
        L_IAT: ear.iat,
        L_VERIFIER: {0: ear.developer, 1: ear.build},
        L_SUBMODS: {},
    }
    if ear.status is not None:
        out[L_STATUS] = int(ear.status)
    if ear.exp is not None:
        out[L_EXP] = ear.exp
    if ear.raw_evidence is not None:
        out[L_RAW] = ear.raw_evidence
    if ear.nonce is not None:
        out[L_NONCE] = ear.nonce
    for name, a in ear.submods.items():
        s: dict[int | str, Any] = {L_STATUS: int(a.status)}
        if a.vector:
            s[L_VECTOR] = {int(c): v for c, v in a.vector.items()}
        if a.policy_ids:
            s[L_POLICIES] = a.policy_ids
        if a.profile:
            s[L_PROFILE] = a.profile
        if a.nonce is not None:
            s[L_NONCE] = a.nonce
        for k, x in a.extensions.items():
            s[EXT_CBOR_BY_NAME.get(k, k)] = x
        out[L_SUBMODS][name] = s
    out.update(ear.extra)
    return out


def encode_cbor(ear: Ear) -> bytes:
    """Deterministic CBOR of the EAR claims-set."""
    return cbor.dumps(to_cbor(ear))


__all__ = [
    "GENERATIONS",
    "PROFILE_IETF",
    "PROFILE_VERAISON_2022",
    "PROFILE_VERAISON_2023",
    "Appraisal",
    "Category",
    "Ear",
    "Tier",
    "encode_cbor",
    "encode_json",
    "worst_tier",
    "parse",
    "parse_cbor",
    "parse_json",
    "to_cbor",
    "to_json",
]
