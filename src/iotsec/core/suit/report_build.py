"""Building SUIT_Reports (draft-ietf-suit-report §4) from what a processor did.

One engine for both processors, so that the same refusal gives the same report:

* :func:`report_from_result` -- from :func:`iotsec.core.suit.companion.process_suit`
  (``iotsec suit apply``);
* :func:`report_from_processing` -- from the core :func:`iotsec.core.suit.processor.process`
  (``iotsec suit process``);
* :func:`failure_report` -- for a manifest refused before any command ran (decoding,
  authentication, anti-rollback...), by either processor.

The model, its codec, the reason table and the COSE container are in :mod:`.report`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from iotsec.core.suit.encoding import encode_digest
from iotsec.core.suit.model import ComponentId, Digest, Envelope
from iotsec.core.suit.registry import Parameter
from iotsec.core.suit.report import (
    REASON_TEXT,
    SEND_RECORD_ON_FAILURE,
    SEND_RECORD_ON_SUCCESS,
    SEND_SYSINFO_FAILURE,
    SEND_SYSINFO_SUCCESS,
    SHARED_SECTION,
    SYSTEM_COMPONENT_ID,
    CapabilityReport,
    Failure,
    SuitRecord,
    SuitReport,
    reason_for,
    result_code,
)
from iotsec.errors import IotSecError


@dataclass(frozen=True)
class _Entry:
    """What a processor hands the reporting engine for one executed command (manifest §8.4.7)."""

    manifest_id: tuple[int, ...]
    section: int
    offset: int
    component: int
    ok: bool
    policy: int
    shown: dict[int, Any]  # the SUIT_Record's properties
    measured: dict[int, Any]  # for system-property-claims (§4.1), when the sysinfo bits ask
    component_id: ComponentId | None = None

    def record(self, extra: dict[int, Any] | None = None) -> SuitRecord:
        props = {**self.shown, **(extra or {})}
        return SuitRecord(self.manifest_id, self.section, self.offset, self.component, props)


def _build(
    entries: Sequence[_Entry],
    failed: _Entry | None,
    error: IotSecError | None,
    *,
    reference: tuple[str | None, Digest | None],
    nonce: bytes | None,
    capabilities: CapabilityReport | None,
    all_records: bool,
) -> SuitReport:
    """The one reporting engine: records, system-property-claims and the result."""
    records: list[SuitRecord | dict[int, Any]] = []
    for e in entries:
        wanted = SEND_RECORD_ON_SUCCESS if e.ok else SEND_RECORD_ON_FAILURE
        # a failure other than the final one was soft (try-each): always recorded (§3)
        if all_records or e.policy & wanted or (not e.ok and e is not failed):
            records.append(e.record())
        sysinfo = SEND_SYSINFO_SUCCESS if e.ok else SEND_SYSINFO_FAILURE
        if e.policy & sysinfo and e.measured and e.component_id is not None:
            # §4.1 system-property-claims: what the processor measured on the component
            records.append({SYSTEM_COMPONENT_ID: list(e.component_id), **e.measured})
    failure = None
    if error is not None:
        text = {REASON_TEXT: f"{error.reason}: {error.message}"}
        rec = failed.record(text) if failed is not None else SuitRecord((), 0, 0, 0, text)
        failure = Failure(result_code(error.reason), rec, int(reason_for(error)))
    uri, digest = reference
    return SuitReport(uri or "", digest or Digest(-16, b""), tuple(records), failure, nonce, capabilities)


def report_from_result(
    result: Any,
    *,
    nonce: bytes | None = None,
    capabilities: CapabilityReport | None = None,
    all_records: bool = False,
) -> SuitReport:
    """Build a SUIT_Report from a :class:`~iotsec.core.suit.companion.SuitResult`.

    The companion processor measures (image-match: the digest and size it found): a failed
    record shows what it measured, a successful one goes to system-property-claims when its
    policy asks. ``all_records`` emits a record for every executed command regardless of policy.
    """
    from iotsec.core.suit.companion import ExtRecord

    entries: list[_Entry] = []
    failed: _Entry | None = None
    for r in result.ext_records:
        assert isinstance(r, ExtRecord)
        measured = dict(r.properties)
        shown = measured if not r.ok else {}
        e = _Entry(
            r.manifest_id, r.section, r.offset, r.component, r.ok, r.policy, shown, measured, r.component_id
        )
        entries.append(e)
        if r is result.failed_record:
            failed = e
    return _build(
        entries,
        failed,
        None if result.ok else result.error,
        reference=(result.reference_uri, result.manifest_digest),
        nonce=nonce,
        capabilities=capabilities,
        all_records=all_records,
    )


def _consumed(key: int, value: Any) -> Any:
    if key == Parameter.IMAGE_DIGEST and isinstance(value, Digest):
        return encode_digest(value)  # as in the manifest: bstr .cbor SUIT_Digest
    return value


def report_from_processing(
    report: Any,
    env: Envelope,
    *,
    nonce: bytes | None = None,
    capabilities: CapabilityReport | None = None,
    all_records: bool = False,
) -> SuitReport:
    """Build a SUIT_Report from the core processor's :class:`~iotsec.core.suit.interfaces.Report`.

    The core processor hands "the values of parameters consumed by the command" (manifest
    §8.4.7), so every record shows them (image-match: the expected digest and size); it measures
    nothing, so there are no system-property-claims.
    """
    from iotsec.core.suit.interfaces import Record

    where = _section_offsets(env)
    entries: list[_Entry] = []
    failed: _Entry | None = None
    for r in report.records:
        assert isinstance(r, Record)
        shown = {k: _consumed(k, v) for k, v in r.properties.items()}
        cmd = r.position[0][r.position[1]] if r.position is not None else None
        section, offset = where.get(id(cmd), (int(r.section), r.offset))
        e = _Entry((), section, offset, r.component or 0, r.ok, r.policy, shown, {})
        entries.append(e)
        if not r.ok:
            failed = e  # the last failure is the one that stopped processing
    return _build(
        entries,
        failed,
        None if report.ok else report.error,
        reference=_reference(env),
        nonce=nonce,
        capabilities=capabilities,
        all_records=all_records,
    )


def _section_offsets(env: Envelope) -> dict[int, tuple[int, int]]:
    """(section, offset) of each command of ``env`` by identity, the offset counted from the start
    of its top-level section also inside try-each/run-sequence (as the companion processor's
    records are): §3 names only top-level sections, "so that the developer can index into
    severable Command Sequences in a predictable way"."""
    from iotsec.core.suit.offsets import command_offsets
    from iotsec.core.suit.processor import resolve_sequences

    where: dict[int, tuple[int, int]] = {}
    if env.manifest.common.shared_sequence is not None:
        command_offsets(env.manifest.common.shared_sequence, SHARED_SECTION, where)
    for key, seq in resolve_sequences(env).items():
        command_offsets(seq, key, where)
    return where


def failure_report(
    error: IotSecError,
    env: Envelope | None,
    *,
    nonce: bytes | None = None,
    capabilities: CapabilityReport | None = None,
) -> SuitReport:
    """A SUIT_Report for a manifest refused before any command ran (decoding, authentication,
    anti-rollback...): no records; the result record points at no command. ``env`` (when the
    envelope decoded) gives the reference. The same bytes as :func:`report_from_result` for the
    same refusal."""
    return _build(
        (), None, error, reference=_reference(env), nonce=nonce, capabilities=capabilities, all_records=False
    )


def _reference(env: Envelope | None) -> tuple[str | None, Digest | None]:
    """§4 suit-reference: the manifest's reference URI and the digest in its authentication wrapper."""
    if env is None:
        return None, None
    return env.manifest.reference_uri, env.authentication.digest if env.authentication is not None else None


__all__ = ["failure_report", "report_from_processing", "report_from_result"]
