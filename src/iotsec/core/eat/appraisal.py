"""Appraisal of verified evidence against reference values -> AR4SI vector -> EAR-appraisal.

"Verification raises, appraisal returns" (DESIGN.md): signature, key binding and nonce are checked
before (they raise); :func:`appraise` returns an :class:`AppraisalResult` whose findings each carry an
id (``eat.component.mismatch``), a severity and the baseline requirement they serve.
"""

from __future__ import annotations

import contextlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from iotsec.core.eat import coswid, ear
from iotsec.core.eat._util import b64u_decode
from iotsec.core.eat.claims import Claim, DebugStatus
from iotsec.core.eat.corim import Measurement, ReferenceValue
from iotsec.core.eat.psa import Lifecycle, PsaToken
from iotsec.errors import IotSecError, PolicyError, ValidationError

# Baseline requirements served by the findings (ENISA Baseline Security Recommendations for IoT)
REQ_BOOT = "ENISA GP-TM-03"  # trust in the boot environment / software integrity
REQ_VERIFY = "ENISA GP-TM-42"  # verify devices before trusting them
REQ_DEBUG = "ENISA GP-TM-33"  # test/debug modes secured (draft-ietf-iotops-security-summary)


class Severity(StrEnum):
    """How much a finding matters: info (passed check), warning, error."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Finding:
    """One appraisal result: id (``eat.component.mismatch``), severity, message, baseline requirement."""

    id: str
    severity: Severity
    message: str
    requirement: str
    path: str = ""

    def as_dict(self) -> dict[str, str]:
        """JSON-friendly view."""
        return {
            "id": self.id,
            "severity": self.severity.value,
            "message": self.message,
            "requirement": self.requirement,
            "path": self.path,
        }


@dataclass(frozen=True)
class Component:
    """One measured component of the attester, normalised from PSA or EAT evidence."""

    name: str
    alg: int  # IANA Named Information hash id (1 = sha-256)
    digest: bytes
    version: str | None = None
    signer_id: bytes | None = None


@dataclass(frozen=True)
class Evidence:
    """Evidence claims the appraisal needs, whatever the token format."""

    profile: str
    nonce: bytes | str | list[bytes | str] | None
    instance_id: bytes | None
    implementation_id: bytes | None
    components: tuple[Component, ...]
    debug: bool | None
    lifecycle: int | None = None
    claims: dict[Any, Any] = field(default_factory=dict)


@dataclass
class Policy:
    """Appraisal policy. ``debug`` and ``unknown_component``: "allow", "warn" or "contraindicate"."""

    id: str = "https://iotsec.dev/policy/rats/default/1"
    debug: str = "warn"
    unknown_component: str = "warn"
    require_reference_values: bool = True


@dataclass
class AppraisalResult:
    """The EAR-appraisal of one attester and the findings that led to it."""

    appraisal: ear.Appraisal
    findings: list[Finding]

    @property
    def status(self) -> ear.Tier:
        return self.appraisal.status


_HASH_BY_LEN = {32: coswid.HASH_SHA256, 48: coswid.HASH_SHA384, 64: coswid.HASH_SHA512}


def evidence_from_psa(tok: PsaToken) -> Evidence:
    """Normalise a validated PSA token (RFC 9783 §4.4: measurement type is the component name)."""
    comps = tuple(
        Component(
            sc.measurement_type or "",
            _HASH_BY_LEN[len(sc.measurement_value)],
            sc.measurement_value,
            sc.version,
            sc.signer_id,
        )
        for sc in tok.software_components
    )
    return Evidence(
        tok.profile,
        tok.nonce,
        tok.instance_id,
        tok.implementation_id,
        comps,
        tok.debug_enabled,
        tok.lifecycle,
        dict(tok.claims),
    )


def evidence_from_eat(claims: dict[Any, Any]) -> Evidence:
    """Normalise a validated RFC 9711 claims-set: files of evidence CoSWIDs in ``measurements`` are the
    components (RFC 9711 §4.2.16), ``dbgstat`` gives the debug state (§4.2.9)."""
    comps: list[Component] = []
    get = claims.get
    for i, (ct, body) in enumerate(get(_MEASUREMENTS, [])):
        if ct != coswid.SWID_CBOR_CONTENT_FORMAT or not isinstance(body, bytes):
            continue
        try:
            files, version = coswid.file_digests(body)
        except ValidationError as e:
            raise e.at(_MEASUREMENTS, i, 1) from None
        for name, alg, digest in files:
            comps.append(_component(name, alg, digest, version))
    dbg = get(_DBGSTAT)
    profile = get(_PROFILE)
    return _evidence(
        profile if isinstance(profile, str) else "",
        get(_NONCE),
        get(_UEID),
        get(_HWMODEL),
        tuple(comps),
        None if dbg is None else dbg == _DEBUG_ENABLED,
        claims,
    )


# claim labels and values looked up once (an enum member costs a class attribute look-up)
_MEASUREMENTS, _DBGSTAT, _PROFILE = int(Claim.MEASUREMENTS), int(Claim.DBGSTAT), int(Claim.PROFILE)
_NONCE, _UEID, _HWMODEL = int(Claim.NONCE), int(Claim.UEID), int(Claim.HWMODEL)
_DEBUG_ENABLED = DebugStatus.ENABLED
_new = object.__new__


def _component(name: str, alg: int, digest: bytes, version: str | None) -> Component:
    """``Component(name, alg, digest, version)`` without the frozen-dataclass ``__init__`` (which
    sets each field through ``object.__setattr__``): the same fields in the same object layout."""
    c = _new(Component)
    d = c.__dict__
    d["name"] = name
    d["alg"] = alg
    d["digest"] = digest
    d["version"] = version
    d["signer_id"] = None
    return c


def _evidence(  # noqa: PLR0917 (positional: this replaces a constructor call)
    profile: str,
    nonce: Any,
    instance_id: Any,
    implementation_id: Any,
    components: tuple[Component, ...],
    debug: bool | None,
    claims: dict[Any, Any],
) -> Evidence:
    """``Evidence(...)`` (no lifecycle) without the frozen-dataclass ``__init__``, as :func:`_component`."""
    e = _new(Evidence)
    d = e.__dict__
    d["profile"] = profile
    d["nonce"] = nonce
    d["instance_id"] = instance_id
    d["implementation_id"] = implementation_id
    d["components"] = components
    d["debug"] = debug
    d["lifecycle"] = None
    d["claims"] = claims
    return e


def check_nonce(evidence: Evidence, expected: bytes) -> None:
    """Freshness (RFC 9711 §4.1, RFC 9334 §10): the evidence must carry the verifier's nonce."""
    got = evidence.nonce
    if type(got) is bytes:  # the usual single CBOR nonce
        if hmac.compare_digest(got, expected):
            return
        raise PolicyError("the evidence does not carry the session nonce", reason="eat.nonce.mismatch")
    candidates: list[bytes] = []
    for g in got if isinstance(got, list) else [got]:
        if isinstance(g, bytes):
            candidates.append(g)
        elif isinstance(g, str):  # a JSON nonce is text: its UTF-8, or the base64url of the bytes
            candidates.append(g.encode("utf-8"))
            with contextlib.suppress(IotSecError):
                candidates.append(b64u_decode(g))
    if not any(hmac.compare_digest(c, expected) for c in candidates):
        raise PolicyError("the evidence does not carry the session nonce", reason="eat.nonce.mismatch")


def _ref_matches(ref: Measurement, c: Component) -> bool:
    if ref.name != c.name:
        return False
    if ref.psa and ref.signer_id is not None and ref.signer_id != c.signer_id:
        return False
    return not (ref.psa and ref.version is not None and ref.version != c.version)


class PreparedReferences(tuple[ReferenceValue, ...]):
    """The reference values that apply to one attester (implementation ID, instance UEID), with what
    :func:`appraise` derives from them alone: the measurements, grouped by component name, and the
    (immutable) "matches" findings. A verifier builds it once per provisioned attester and reuses it;
    :func:`appraise` still selects per evidence when the evidence names another attester."""

    implementation_id: bytes | None
    instance_id: bytes | None
    known: tuple[Measurement, ...]
    by_name: dict[str, tuple[Measurement, ...]]
    plain: frozenset[str]  # names whose references are all non-PSA: the name alone selects them
    # for each plain name, the (alg, digest) pairs of all its references (one set look-up per component)
    plain_digests: dict[str, frozenset[tuple[int, bytes]]]
    with_digests: tuple[Measurement, ...]  # the measurements with digests, reported when not measured
    _matched: dict[tuple[int, str], Finding]

    def __new__(
        cls,
        refs: Sequence[ReferenceValue],
        *,
        implementation_id: bytes | None,
        instance_id: bytes | None,
    ) -> PreparedReferences:
        mine = tuple(
            r
            for r in refs
            if r.environment.matches(implementation_id=implementation_id, instance_ueid=instance_id)
        )
        self = super().__new__(cls, mine)
        self.implementation_id, self.instance_id = implementation_id, instance_id
        self.known = tuple(m for r in mine for m in r.measurements)
        by_name: dict[str, list[Measurement]] = {}  # a reference matches only its own name
        for m in self.known:
            by_name.setdefault(m.name, []).append(m)
        self.by_name = {k: tuple(v) for k, v in by_name.items()}
        self.plain = frozenset(k for k, v in by_name.items() if not any(m.psa for m in v))
        self.plain_digests = {}
        for k in self.plain:
            # an unhashable digest entry: such a name takes the general path
            with contextlib.suppress(TypeError):
                self.plain_digests[k] = frozenset(d for m in by_name[k] for d in m.digests)
        self.with_digests = tuple(m for m in self.known if m.digests)
        self._matched = {}
        return self

    def match_finding(self, i: int, name: str) -> Finding:
        """The finding of component ``i`` named ``name`` matching its reference value."""
        ck = (i, name)
        f = self._matched.get(ck)
        if f is None:
            f = _match_finding(i, name)
            if len(self._matched) < 1024:
                self._matched[ck] = f
        return f


def _match_finding(i: int, name: str) -> Finding:
    return Finding(
        "eat.component.match",
        Severity.INFO,
        f"component {name!r} matches its reference value",
        REQ_BOOT,
        f"/{i}",
    )


def appraise(ev: Evidence, refs: Sequence[ReferenceValue], policy: Policy) -> AppraisalResult:
    """Compare measured components with the reference values for this environment (draft-ietf-rats-
    corim §8) and grade the AR4SI categories (draft-ietf-rats-ar4si §2.3.4). The key has verified.

    ``refs`` may be a :class:`PreparedReferences` (the same result, less work per call)."""
    findings: list[Finding] = []
    vec: dict[ear.Category, int] = {_INSTANCE_IDENTITY: ear.TRUSTWORTHY_INSTANCE}
    if (
        type(refs) is not PreparedReferences
        or refs.implementation_id != ev.implementation_id
        or refs.instance_id != ev.instance_id
    ):
        refs = PreparedReferences(refs, implementation_id=ev.implementation_id, instance_id=ev.instance_id)
    known = refs.known
    # hardware: the implementation (class) has endorsed reference values
    vec[_HARDWARE] = ear.GENUINE_HARDWARE if refs else ear.UNRECOGNIZED_HARDWARE
    if not known:
        sev = Severity.ERROR if policy.require_reference_values else Severity.WARNING
        findings.append(Finding("eat.refval.missing", sev, "no reference values for this attester", REQ_BOOT))
        vec[_EXECUTABLES] = (
            ear.CONTRAINDICATED_RUNTIME if policy.require_reference_values else ear.UNRECOGNIZED_RUNTIME
        )
    else:
        execs = ear.APPROVED_RUNTIME
        seen: set[int] = set()  # the measurements of PSA-keyed names that were candidates
        seen_plain: set[str] = set()  # the plain names measured: all their measurements were candidates
        by_name, plain_digests = refs.by_name, refs.plain_digests
        for i, c in enumerate(ev.components):
            name = c.name
            digests = plain_digests.get(name)
            measured = (c.alg, c.digest)
            if digests is not None:  # non-PSA references only: the name alone selects them all
                seen_plain.add(name)
                try:
                    matched = measured in digests
                except TypeError:  # an unhashable alg: compare as the references' tuples do
                    matched = any(measured in m.digests for m in by_name[name])
            else:
                named = by_name.get(name)
                cands = [m for m in named if _ref_matches(m, c)] if named else []
                if not cands:
                    msg = f"component {name!r} has no reference value"
                    if policy.unknown_component == "contraindicate":
                        findings.append(
                            Finding("eat.component.unrecognized", Severity.ERROR, msg, REQ_BOOT, f"/{i}")
                        )
                        execs = max(execs, ear.CONTRAINDICATED_RUNTIME)
                    elif policy.unknown_component == "warn":
                        findings.append(
                            Finding("eat.component.unrecognized", Severity.WARNING, msg, REQ_BOOT, f"/{i}")
                        )
                        execs = max(execs, ear.UNRECOGNIZED_RUNTIME)
                    continue
                matched = False
                for m in cands:
                    seen.add(id(m))
                    matched = matched or measured in m.digests
            if matched:
                findings.append(refs.match_finding(i, name))
            else:
                findings.append(
                    Finding(
                        "eat.component.mismatch",
                        Severity.ERROR,
                        f"component {name!r} differs from its reference value",
                        REQ_BOOT,
                        f"/{i}",
                    )
                )
                execs = ear.CONTRAINDICATED_RUNTIME
        for m in refs.with_digests:
            if m.name in seen_plain if m.name in plain_digests else id(m) in seen:
                continue
            findings.append(
                Finding(
                    "eat.component.absent",
                    Severity.WARNING,
                    f"reference component {m.name!r} was not measured",
                    REQ_BOOT,
                )
            )
            execs = max(execs, ear.UNRECOGNIZED_RUNTIME)
        vec[_EXECUTABLES] = execs
    # configuration: lifecycle (RFC 9783 §4.3.1) and debug state (RFC 9711 §4.2.9)
    config = ear.APPROVED_CONFIG
    if ev.lifecycle is not None and Lifecycle.of(ev.lifecycle) not in (
        Lifecycle.SECURED,
        Lifecycle.NON_PSA_ROT_DEBUG,
        Lifecycle.RECOVERABLE_PSA_ROT_DEBUG,
    ):
        findings.append(
            Finding(
                "eat.lifecycle.invalid",
                Severity.ERROR,
                f"lifecycle {Lifecycle.of(ev.lifecycle).name} is not a secured state",
                REQ_VERIFY,
            )
        )
        config = ear.UNSUPPORTABLE_CONFIG
    if ev.debug:
        if policy.debug == "contraindicate":
            findings.append(Finding("eat.debug.enabled", Severity.ERROR, "debug is enabled", REQ_DEBUG))
            config = ear.UNSUPPORTABLE_CONFIG
        elif policy.debug == "warn":
            findings.append(Finding("eat.debug.enabled", Severity.WARNING, "debug is enabled", REQ_DEBUG))
            config = max(config, ear.UNSAFE_CONFIG)
    vec[_CONFIGURATION] = config
    worst = ear.worst_tier(vec.values())
    nonce = ev.nonce if isinstance(ev.nonce, bytes) else None
    appraisal = ear.Appraisal(worst, vec, [policy.id], ev.profile or None, nonce)
    return AppraisalResult(appraisal, findings)


_INSTANCE_IDENTITY, _HARDWARE = ear.Category.INSTANCE_IDENTITY, ear.Category.HARDWARE
_EXECUTABLES, _CONFIGURATION = ear.Category.EXECUTABLES, ear.Category.CONFIGURATION


__all__ = [
    "REQ_BOOT",
    "REQ_DEBUG",
    "REQ_VERIFY",
    "AppraisalResult",
    "Component",
    "Evidence",
    "Finding",
    "Policy",
    "PreparedReferences",
    "Severity",
    "appraise",
    "check_nonce",
    "evidence_from_eat",
    "evidence_from_psa",
]
