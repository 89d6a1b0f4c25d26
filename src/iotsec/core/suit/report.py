"""SUIT_Report and SUIT_Capability_Report (draft-ietf-suit-report): iotsec's one reporting engine.

* :class:`SuitReport` / :class:`SuitRecord` / :class:`Failure` -- the model, strict
  :meth:`SuitReport.decode` and deterministic :meth:`SuitReport.encode` (§4, Appendix CDDL).
* One engine builds every report, whichever processor ran (:mod:`.report_build`:
  ``report_from_result``, ``report_from_processing``, ``failure_report``); :mod:`.report_render`
  renders one for people.

  The reference is the manifest URI and the digest of the authentication wrapper (§4); one
  SUIT_Record per command whose reporting policy asks for it (§8.4.7 of the manifest draft: bit 0
  on success, bit 1 on failure) plus the records of soft failures; the result is ``true``, or
  code, record and reason (§4.2). The failure record carries the human reason under the custom
  parameter :data:`REASON_TEXT` (SUIT_Parameters allows ``nint => tstr``); the reason comes from
  one table, :func:`reason_for`.
* :func:`sign_report` / :func:`mac_report` / :func:`verify_report` -- the COSE_Sign1 / COSE_Mac0
  container of §8 ("SUIT_Report MUST be the sole payload"), through :mod:`iotsec.core.cose`.
* :class:`CapabilityReport`, :func:`iotsec_capabilities` and :func:`wants_capabilities` -- §6.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from iotsec.core import cbor
from iotsec.core.cbor import CBORTag
from iotsec.core.cose import (
    Algorithm,
    CoseKey,
    Curve,
    Encrypt0Message,
    Mac0Message,
    Sign1Message,
    encrypt0,
    mac0,
    sign1,
)
from iotsec.core.suit.encoding import digest_to_cbor
from iotsec.core.suit.model import ComponentId, Digest
from iotsec.core.suit.registry import Parameter
from iotsec.errors import DecodeError, IotSecError, ValidationError, VerifyError

REFERENCE, NONCE, RECORDS, RESULT, RESULT_CODE, RESULT_RECORD, RESULT_REASON, CAPABILITIES = (
    99,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
)  # §9 SUIT_Report Elements
SYSTEM_COMPONENT_ID = 0  # system-property-claims key
SHARED_SECTION = 3  # the shared sequence is reported as suit-common (3), as the processors record it
REASON_TEXT = -257  # custom SUIT parameter (nint => tstr): iotsec's reason code and message
SEND_RECORD_ON_SUCCESS, SEND_RECORD_ON_FAILURE, SEND_SYSINFO_SUCCESS, SEND_SYSINFO_FAILURE = 1, 2, 4, 8


class Reason(IntEnum):
    """§9 SUIT_Report Reasons."""

    OK = 0
    CBOR_PARSE = 1
    COSE_UNSUPPORTED = 2
    ALG_UNSUPPORTED = 3
    UNAUTHORISED = 4
    COMMAND_UNSUPPORTED = 5
    COMPONENT_UNSUPPORTED = 6
    COMPONENT_UNAUTHORISED = 7
    PARAMETER_UNSUPPORTED = 8
    SEVERING_UNSUPPORTED = 9
    CONDITION_FAILED = 10
    OPERATION_FAILED = 11
    INVOKE_PENDING = 12


class CapKey(IntEnum):
    """§9 SUIT Capability Report Elements."""

    COMPONENTS = 1
    COMMANDS = 2
    PARAMETERS = 3
    CRYPT_ALGS = 4
    ENVELOPE = 5
    MANIFEST = 6
    COMMON = 7
    TEXT = 8
    TEXT_COMPONENT = 9
    DEPENDENCY = 10


# iotsec reason code (exactly, or as a dotted prefix) -> §4.2 reason; the first match wins.
_REASONS: tuple[tuple[str, Reason], ...] = (
    ("suit.component.unauthorised", Reason.COMPONENT_UNAUTHORISED),
    ("suit.auth.unsupported", Reason.COSE_UNSUPPORTED),
    # before "suit.digest" and "suit.auth": an unsupported algorithm is not a failed verification
    ("suit.digest.alg", Reason.ALG_UNSUPPORTED),
    ("suit.encryption.alg", Reason.ALG_UNSUPPORTED),
    ("cose.alg", Reason.ALG_UNSUPPORTED),
    ("suit.auth", Reason.UNAUTHORISED),
    ("suit.unsigned", Reason.UNAUTHORISED),  # a bare manifest: no authentication at all
    ("suit.delegation", Reason.UNAUTHORISED),
    ("suit.digest", Reason.UNAUTHORISED),
    ("suit.severed.undeclared", Reason.UNAUTHORISED),  # a member no manifest digest authenticates
    ("suit.command.unsupported", Reason.COMMAND_UNSUPPORTED),
    ("suit.dependency.unsupported", Reason.COMMAND_UNSUPPORTED),
    ("suit.severed", Reason.SEVERING_UNSUPPORTED),
    ("suit.parameter.unsupported", Reason.PARAMETER_UNSUPPORTED),
    ("suit.condition", Reason.CONDITION_FAILED),
    ("suit.try-each", Reason.CONDITION_FAILED),
    # Anti-rollback. draft-ietf-suit-manifest §6.1 makes it a check of the manifest before any
    # command sequence runs ("extract the manifest sequence number and perform a rollback check")
    # and §8.4.2 says the recipient "MUST reject any manifest that has a sequence number lower than
    # its current sequence number". draft-ietf-suit-report §4.2 (suit-report-result) keeps
    # operation-failed for "A command failed (e.g., download/copy/swap/write)": no command ran
    # here. The refusal is a failed test comparing a manifest value with the device's value (§3:
    # "Most conditions compare a parameter to an actual value"), i.e. condition-failed ("A
    # condition failed with soft-failure off"; there is no soft failure for this check).
    ("suit.rollback", Reason.CONDITION_FAILED),
    ("suit.index", Reason.COMPONENT_UNSUPPORTED),
    ("suit.components", Reason.COMPONENT_UNSUPPORTED),
    # the decoder's CDDL violations: the manifest did not parse as SUIT
    ("cbor", Reason.CBOR_PARSE),
    ("suit.cbor", Reason.CBOR_PARSE),
    ("suit.type", Reason.CBOR_PARSE),
    ("suit.missing", Reason.CBOR_PARSE),
    ("suit.uuid", Reason.CBOR_PARSE),
    ("suit.reporting-policy", Reason.CBOR_PARSE),
    ("suit.nesting", Reason.CBOR_PARSE),
    ("suit.metadata.invalid", Reason.CBOR_PARSE),  # SUIT_Component_Metadata breaks its CDDL
)


def reason_for(err: IotSecError) -> Reason:
    """Map an iotsec error to the interoperable §4.2 reason (one table for every report)."""
    r = err.reason
    for prefix, reason in _REASONS:
        if r == prefix or r.startswith(prefix + "."):
            return reason
    if isinstance(err, DecodeError):
        return Reason.CBOR_PARSE
    return Reason.OPERATION_FAILED


def wants_capabilities(err: IotSecError | None) -> bool:
    """§4.2: a capability report is worth its bytes when the manifest used something unsupported."""
    return err is not None and reason_for(err) in _UNSUPPORTED


_UNSUPPORTED = frozenset(
    {
        Reason.COMMAND_UNSUPPORTED,
        Reason.PARAMETER_UNSUPPORTED,
        Reason.COMPONENT_UNSUPPORTED,
        Reason.ALG_UNSUPPORTED,
        Reason.COSE_UNSUPPORTED,
    }
)


def result_code(reason: str) -> int:
    """The implementation-specific ``suit-report-result-code`` (§4.2: for debugging only)."""
    return zlib.crc32(reason.encode()) & 0x7FFFFFFF


@dataclass(frozen=True)
class SuitRecord:
    """§3 SUIT_Record."""

    manifest_id: tuple[int, ...]
    section: int
    offset: int
    component: int
    properties: dict[int, Any] = field(default_factory=dict)

    def to_cbor(self) -> list[Any]:
        return [list(self.manifest_id), self.section, self.offset, self.component, dict(self.properties)]


@dataclass(frozen=True)
class Failure:
    """§4.2 the failed result: internal code, the record of the failure point, the reason."""

    code: int
    record: SuitRecord
    reason: int

    @property
    def text(self) -> str | None:
        t = self.record.properties.get(REASON_TEXT)
        return t if isinstance(t, str) else None


@dataclass(frozen=True)
class CapabilityReport:
    """§6 SUIT_Capability_Report."""

    components: tuple[tuple[tuple[bytes, ...], bool], ...]
    commands: tuple[int, ...]
    parameters: tuple[int, ...]
    algorithms: tuple[int, ...]
    optional: dict[int, tuple[int, ...]] = field(default_factory=dict)  # keys 5..10
    paths: dict[tuple[int, ...], tuple[int, ...]] = field(default_factory=dict)  # [+int] => [+int]

    def to_cbor(self) -> dict[Any, Any]:
        m: dict[Any, Any] = {
            CapKey.COMPONENTS: [[*segs, True] if wild else list(segs) for segs, wild in self.components],
            CapKey.COMMANDS: list(self.commands),
            CapKey.PARAMETERS: list(self.parameters),
            CapKey.CRYPT_ALGS: list(self.algorithms),
        }
        for k, v in self.optional.items():
            m[int(k)] = list(v)
        for path, v in self.paths.items():
            m[tuple(path)] = list(v)  # [+int] key: a tuple encodes as a CBOR array
        return m


@dataclass(frozen=True)
class SuitReport:
    """§4 SUIT_Report."""

    reference_uri: str
    manifest_digest: Digest
    records: tuple[SuitRecord | dict[int, Any], ...] = ()
    result: Failure | None = None  # None: ``true`` (success)
    nonce: bytes | None = None
    capabilities: CapabilityReport | None = None

    @property
    def ok(self) -> bool:
        return self.result is None

    def to_cbor(self) -> dict[int, Any]:
        m: dict[int, Any] = {
            REFERENCE: [self.reference_uri, digest_to_cbor(self.manifest_digest)],
            RECORDS: [r.to_cbor() if isinstance(r, SuitRecord) else dict(r) for r in self.records],
            RESULT: True
            if self.result is None
            else {
                RESULT_CODE: self.result.code,
                RESULT_RECORD: self.result.record.to_cbor(),
                RESULT_REASON: self.result.reason,
            },
        }
        if self.nonce is not None:
            m[NONCE] = self.nonce
        if self.capabilities is not None:
            m[CAPABILITIES] = self.capabilities.to_cbor()
        return m

    def encode(self) -> bytes:
        """Deterministic CBOR (RFC 8949 §4.2.1)."""
        return cbor.dumps(_tuples_to_lists(self.to_cbor()))

    @classmethod
    def decode(cls, data: bytes) -> SuitReport:
        """Strict decoding; ValidationError with a path on anything the CDDL does not allow."""
        obj = cbor.loads(data)
        return cls.from_cbor(obj)

    @classmethod
    def from_cbor(cls, obj: Any) -> SuitReport:
        if not isinstance(obj, dict):
            raise _err("SUIT_Report is a map", ())
        for req, name in ((REFERENCE, "suit-reference"), (RECORDS, "records"), (RESULT, "result")):
            if req not in obj:
                raise _err(f"{name} is required", (name,))
        ref = obj[REFERENCE]
        if not (isinstance(ref, list) and len(ref) == 2 and isinstance(ref[0], str)):
            raise _err("SUIT_Reference is [tstr, SUIT_Digest]", ("suit-reference",))
        digest = _digest(ref[1], ("suit-reference", 1))
        nonce = obj.get(NONCE)
        if nonce is not None and not isinstance(nonce, bytes):
            raise _err("the nonce is a byte string", ("nonce",))
        recs = obj[RECORDS]
        if not isinstance(recs, list):
            raise _err("records is an array", ("records",))
        records: list[SuitRecord | dict[int, Any]] = []
        for n, r in enumerate(recs):
            if isinstance(r, dict):
                cid = r.get(SYSTEM_COMPONENT_ID)
                if not isinstance(cid, list) or not all(isinstance(s, bytes) for s in cid) or len(r) < 2:
                    raise _err("system-property-claims need a component id and parameters", ("records", n))
                records.append(dict(r))
            else:
                records.append(_record(r, ("records", n)))
        res = obj[RESULT]
        result: Failure | None = None
        if res is not True:
            if not isinstance(res, dict) or set(res) != {RESULT_CODE, RESULT_RECORD, RESULT_REASON}:
                raise _err("result is true or {code, record, reason}", ("result",))
            code, reason = res[RESULT_CODE], res[RESULT_REASON]
            if not _is_int(code) or not _is_int(reason):
                raise _err("result code and reason are integers", ("result",))
            if reason not in set(Reason):
                raise _err(f"unknown report reason {reason}", ("result", "reason"))
            result = Failure(code, _record(res[RESULT_RECORD], ("result", "record")), reason)
        caps = _capabilities(obj[CAPABILITIES]) if CAPABILITIES in obj else None
        return cls(ref[0], digest, tuple(records), result, nonce, caps)


def _err(msg: str, path: tuple[str | int, ...]) -> ValidationError:
    return ValidationError(msg, reason="suit.report.invalid", path=("report", *path))


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_uint(v: Any) -> bool:
    return _is_int(v) and v >= 0


def _digest(v: Any, path: tuple[str | int, ...]) -> Digest:
    if not (isinstance(v, list) and len(v) >= 2 and _is_int(v[0]) and isinstance(v[1], bytes)):
        raise _err("SUIT_Digest is [alg, bstr]", path)
    return Digest(v[0], v[1], tuple(v[2:]))


def _record(v: Any, path: tuple[str | int, ...]) -> SuitRecord:
    if not isinstance(v, list) or len(v) != 5:
        raise _err("SUIT_Record is [manifest-id, section, offset, component, properties]", path)
    mid, section, offset, comp, props = v
    if not isinstance(mid, list) or not all(_is_uint(x) for x in mid):
        raise _err("manifest id is [* uint]", (*path, 0))
    if not _is_int(section) or not _is_uint(offset) or not _is_uint(comp):
        raise _err("section is int; offset and component index are uint", path)
    if not isinstance(props, dict) or not all(_is_int(k) for k in props):
        raise _err("record properties are SUIT_Parameters", (*path, 4))
    return SuitRecord(tuple(mid), section, offset, comp, dict(props))


def _ints(v: Any, path: tuple[str | int, ...]) -> tuple[int, ...]:
    if not isinstance(v, list) or not v or not all(_is_int(x) for x in v):
        raise _err("a capability list is [+ int]", path)
    return tuple(v)


def _capabilities(v: Any) -> CapabilityReport:
    path: tuple[str | int, ...] = ("capability-report",)
    if not isinstance(v, dict):
        raise _err("SUIT_Capability_Report is a map", path)
    for k in (CapKey.COMPONENTS, CapKey.COMMANDS, CapKey.PARAMETERS, CapKey.CRYPT_ALGS):
        if k not in v:
            raise _err(f"capability {k.name.lower()} is required", (*path, int(k)))
    comps = []
    raw = v[CapKey.COMPONENTS]
    if not isinstance(raw, list) or not raw:
        raise _err("component capabilities are [+ SUIT_Component_Capability]", (*path, 1))
    for c in raw:
        if not isinstance(c, list):
            raise _err("a component capability is [*bstr, ?true]", (*path, 1))
        wild = bool(c) and c[-1] is True
        segs = c[:-1] if wild else c
        if not all(isinstance(s, bytes) for s in segs):
            raise _err("a component capability is [*bstr, ?true]", (*path, 1))
        comps.append((tuple(segs), wild))
    optional: dict[int, tuple[int, ...]] = {}
    paths: dict[tuple[int, ...], tuple[int, ...]] = {}
    for k, val in v.items():
        if _is_int(k) and k > CapKey.CRYPT_ALGS:
            optional[k] = _ints(val, (*path, k))
        elif isinstance(k, tuple):
            if not k or not all(_is_int(x) for x in k):
                raise _err("an extension key is [+int]", path)
            paths[tuple(k)] = _ints(val, path)
        elif not (_is_int(k) and 1 <= k <= 4):
            raise _err("unknown capability key", (*path, repr(k)))
    return CapabilityReport(
        tuple(comps),
        _ints(v[CapKey.COMMANDS], (*path, 2)),
        _ints(v[CapKey.PARAMETERS], (*path, 3)),
        _ints(v[CapKey.CRYPT_ALGS], (*path, 4)),
        optional,
        paths,
    )


def _tuples_to_lists(obj: Any) -> Any:
    if isinstance(obj, dict):  # keys stay (tuples are array keys); values become lists
        return {k: _tuples_to_lists(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_tuples_to_lists(x) for x in obj]
    return obj


# --------------------------------------------------------------- the COSE container (§8)


def _payload(report: SuitReport, encrypt_key: CoseKey | None) -> bytes:
    """The container payload: the report, or a COSE_Encrypt0 of it (§8 SUIT_Report_Unprotected)."""
    if encrypt_key is None:
        return report.encode()
    return encrypt0(
        report.encode(), encrypt_key, Algorithm.A128GCM if len(encrypt_key.k) == 16 else Algorithm.A256GCM
    )


def sign_report(
    report: SuitReport,
    key: CoseKey,
    alg: int | None = None,
    *,
    kid: bytes | None = None,
    encrypt_key: CoseKey | None = None,
) -> bytes:
    """COSE_Sign1_Tagged with the SUIT_Report (or, with ``encrypt_key``, its COSE_Encrypt0) as the
    sole attached payload (§8). ``alg`` defaults to the key's ``alg``, else ESP256 for a P-256
    key, else the usual algorithm of the key's curve (EdDSA for Ed25519...)."""
    if alg is None and not isinstance(key.alg, int) and key.crv == Curve.P_256:
        alg = Algorithm.ESP256
    unprotected = {4: kid} if kid is not None else None
    return sign1(_payload(report, encrypt_key), key, alg=alg, unprotected=unprotected, tagged=True)


def mac_report(
    report: SuitReport, key: CoseKey, alg: int = Algorithm.HMAC_256_256, *, encrypt_key: CoseKey | None = None
) -> bytes:
    """COSE_Mac0_Tagged with the SUIT_Report (or its COSE_Encrypt0) as the sole payload."""
    return mac0(_payload(report, encrypt_key), key, alg=alg, tagged=True)


def _open(payload: bytes, decrypt_keys: Sequence[CoseKey]) -> SuitReport:
    obj = cbor.loads(payload)
    if isinstance(obj, dict):
        return SuitReport.from_cbor(obj)
    if (isinstance(obj, CBORTag) and obj.tag == 16) or (isinstance(obj, list) and len(obj) == 3):
        msg = Encrypt0Message.decode(payload)
        for k in decrypt_keys:
            try:
                return SuitReport.decode(msg.decrypt(k))
            except VerifyError:
                continue
        raise VerifyError("the report is encrypted and no key opens it", reason="suit.report.decrypt")
    raise ValidationError(
        "the payload is neither a SUIT_Report nor a COSE_Encrypt0", reason="suit.report.container"
    )


def verify_report(
    data: bytes, keys: Sequence[CoseKey], *, decrypt_keys: Sequence[CoseKey] = ()
) -> SuitReport:
    """Verify a signed/MACed report with one of ``keys`` and decode it (raises VerifyError);
    an encrypted report (COSE_Encrypt0 payload) is opened with ``decrypt_keys``."""
    obj = cbor.loads(data)
    tag = obj.tag if isinstance(obj, CBORTag) else None
    msg: Sign1Message | Mac0Message
    if tag == 17:
        msg = Mac0Message.decode(data)
    elif tag in (18, None):
        msg = Sign1Message.decode(data)
    else:
        raise ValidationError("a protected report is COSE_Sign1 or COSE_Mac0", reason="suit.report.container")
    if msg.payload is None:
        raise ValidationError("the report must be the attached payload", reason="suit.report.container")
    for key in keys:
        try:
            msg.verify(key)
        except IotSecError:
            continue
        return _open(msg.payload, decrypt_keys)
    raise VerifyError("the report does not verify with the device key", reason="suit.report.signature")


def unwrap_report(data: bytes, decrypt_keys: Sequence[CoseKey] = ()) -> tuple[SuitReport, str]:
    """Decode a report without verifying: plain SUIT_Report, or the payload of a COSE container
    (an encrypted payload is opened with ``decrypt_keys``)."""
    obj = cbor.loads(data)
    if isinstance(obj, dict):
        return SuitReport.from_cbor(obj), "SUIT_Report"
    if isinstance(obj, CBORTag) and obj.tag in (17, 18):
        msg: Sign1Message | Mac0Message = (Mac0Message if obj.tag == 17 else Sign1Message).decode(data)
        if msg.payload is None:
            raise ValidationError("the report must be the attached payload", reason="suit.report.container")
        inner = cbor.loads(msg.payload)
        name = "COSE_Mac0" if obj.tag == 17 else "COSE_Sign1"
        if isinstance(inner, dict):
            return SuitReport.from_cbor(inner), name
        return _open(msg.payload, decrypt_keys), name + "(COSE_Encrypt0)"
    raise ValidationError("not a SUIT_Report or a COSE_Sign1/Mac0 around one", reason="suit.report.container")


def iotsec_capabilities(components: Sequence[ComponentId] = (), *, wildcard: bool = True) -> CapabilityReport:
    """What this manifest processor supports (§6); extension capabilities MUST be listed."""
    from iotsec.core.suit.registry import Command, CommonKey, EnvelopeKey, ManifestKey, TextKey

    comps = [(tuple(c), False) for c in components]
    if wildcard or not comps:
        comps.append(((), True))  # [true]: any component id (a filesystem store)
    return CapabilityReport(
        tuple(comps),
        tuple(sorted(int(c) for c in Command)),
        tuple(sorted(int(p) for p in Parameter)),  # component metadata: as far as the store can (§4.6)
        (-16, -9, -7, -8, -19, 5, -3, -5, -29, -31, 1, 3, 24, -65534, -65532),
        {
            CapKey.ENVELOPE: tuple(sorted(int(k) for k in EnvelopeKey)),
            CapKey.MANIFEST: tuple(sorted(int(k) for k in ManifestKey)),
            CapKey.COMMON: tuple(sorted(int(k) for k in CommonKey)),
            CapKey.TEXT: tuple(sorted(int(k) for k in TextKey)),
            CapKey.DEPENDENCY: (1,),
        },
    )


__all__ = [
    "REASON_TEXT",
    "CapKey",
    "CapabilityReport",
    "Failure",
    "Reason",
    "SuitRecord",
    "SuitReport",
    "iotsec_capabilities",
    "mac_report",
    "reason_for",
    "result_code",
    "sign_report",
    "unwrap_report",
    "verify_report",
    "wants_capabilities",
]
