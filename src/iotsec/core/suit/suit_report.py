"""SUIT reports (draft-ietf-suit-report) from a processing :class:`~.interfaces.Report`.

``SUIT_Report = {suit-reference: [manifest URI, manifest digest], ? nonce, records, result}``.
Records are the commands whose reporting policy asks for them (§8.4.7 of the manifest draft:
bit 0 on success, bit 1 on failure), each as ``[manifest-id, section, offset, component index,
consumed parameters]``; the result is ``true`` or ``{code, record, reason}``. The report can be
signed as a COSE_Sign1 with an attached payload (``SUIT_Report_COSE_Sign1_Tagged``) through
:mod:`iotsec.core.cose`.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from iotsec.core import cbor
from iotsec.core.cose import CoseKey, sign1
from iotsec.core.suit.encoding import digest_to_cbor, encode_digest
from iotsec.core.suit.interfaces import Record, Report
from iotsec.core.suit.model import Digest, Envelope
from iotsec.core.suit.registry import Parameter, ReportingPolicy
from iotsec.errors import DecodeError, IotSecError, UnsupportedError, ValidationError, VerifyError

# draft-ietf-suit-report map keys
NONCE, RECORDS, RESULT, RESULT_CODE, RESULT_RECORD, RESULT_REASON, CAPABILITIES, REFERENCE = (
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    99,
)


class Reason(IntEnum):
    """SUIT_Report_Reasons."""

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


def reason_for(reason: str, error: IotSecError | None = None) -> Reason:
    """Map an iotsec reason code (and error class) to a SUIT_Report_Reasons value."""
    if reason.startswith(("suit.condition.", "suit.try-each.")):
        return Reason.CONDITION_FAILED
    if reason.startswith(("suit.command.unsupported", "suit.dependency.")):
        return Reason.COMMAND_UNSUPPORTED
    if reason.startswith("suit.digest.alg") or reason.startswith("cose.alg"):
        return Reason.ALG_UNSUPPORTED
    if reason == "suit.severed.absent":
        return Reason.SEVERING_UNSUPPORTED
    if reason == "suit.components":
        return Reason.COMPONENT_UNSUPPORTED
    if isinstance(error, VerifyError) or reason.startswith("suit.auth"):
        return Reason.UNAUTHORISED
    if isinstance(error, (DecodeError, ValidationError)):
        return Reason.CBOR_PARSE
    if isinstance(error, UnsupportedError):
        return Reason.COMMAND_UNSUPPORTED
    return Reason.OPERATION_FAILED


def _property(key: int, value: Any) -> Any:
    if key == Parameter.IMAGE_DIGEST and isinstance(value, Digest):
        return encode_digest(value)  # as in the manifest: bstr .cbor SUIT_Digest
    return value


def suit_record(r: Record) -> list[Any]:
    """SUIT_Record: [manifest-id (root: []), section, offset, component index, properties]."""
    props = {k: _property(k, v) for k, v in r.properties.items()}
    return [[], r.section, r.offset, r.component or 0, props]


def _wanted(r: Record) -> bool:
    bit = ReportingPolicy.SEND_RECORD_ON_SUCCESS if r.ok else ReportingPolicy.SEND_RECORD_ON_FAILURE
    return bool(r.policy & bit)


def to_suit_report(
    report: Report, env: Envelope, *, nonce: bytes | None = None, every_record: bool = False
) -> dict[int, Any]:
    """The SUIT_Report map for a processing report of ``env``."""
    if env.authentication is None:
        raise ValidationError("a SUIT report refers to the manifest digest", reason="suit.report.unsigned")
    out: dict[int, Any] = {
        REFERENCE: [env.manifest.reference_uri or "", digest_to_cbor(env.authentication.digest)],
        RECORDS: [suit_record(r) for r in report.records if every_record or _wanted(r)],
    }
    if nonce is not None:
        out[NONCE] = nonce
    if report.ok:
        out[RESULT] = True
    else:
        failed = next((r for r in reversed(report.records) if not r.ok), None)
        out[RESULT] = {
            RESULT_CODE: 1,
            RESULT_RECORD: suit_record(failed) if failed else [[], 0, 0, 0, {}],
            RESULT_REASON: int(reason_for(report.reason, report.error)),
        }
    return out


def failure_report(error: IotSecError, env: Envelope | None, *, nonce: bytes | None = None) -> dict[int, Any]:
    """A SUIT_Report for a manifest refused before any command ran (authentication, rollback...)."""
    digest = env.authentication.digest if env is not None and env.authentication is not None else None
    out: dict[int, Any] = {
        REFERENCE: [
            (env.manifest.reference_uri or "") if env is not None else "",
            digest_to_cbor(digest) if digest is not None else [-16, b""],
        ],
        RECORDS: [],
        RESULT: {
            RESULT_CODE: 1,
            RESULT_RECORD: [[], 0, 0, 0, {}],
            RESULT_REASON: int(reason_for(error.reason, error)),
        },
    }
    if nonce is not None:
        out[NONCE] = nonce
    return out


def encode_report(report: dict[int, Any]) -> bytes:
    """Deterministic CBOR of a SUIT_Report."""
    return cbor.dumps(report)


def sign_report(report: dict[int, Any], key: CoseKey, alg: int | None = None) -> bytes:
    """SUIT_Report_COSE_Sign1_Tagged: the report as the attached payload of a COSE_Sign1."""
    return sign1(encode_report(report), key, alg=alg, tagged=True)


__all__ = [
    "Reason",
    "encode_report",
    "failure_report",
    "reason_for",
    "sign_report",
    "suit_record",
    "to_suit_report",
]
