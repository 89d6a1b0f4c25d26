"""draft-ietf-suit-report: records from real processing, CDDL validity, COSE containers, hostile input."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from suit4_helpers import TD, MapFetcher, envelope, process, read_hex, validate_report

from iotsec.core import cbor
from iotsec.core.cose import Algorithm, CoseKey
from iotsec.core.suit import codec
from iotsec.core.suit.processor import resolve_sequences
from iotsec.core.suit.report import (
    REASON_TEXT,
    CapabilityReport,
    Reason,
    SuitReport,
    iotsec_capabilities,
    mac_report,
    sign_report,
    unwrap_report,
    verify_report,
)
from iotsec.core.suit.report_build import report_from_result
from iotsec.core.suit.store import MemoryStore
from iotsec.errors import IotSecError, ValidationError, VerifyError

DEP_URI = "http://example.com/dependent.suit"


def _process(vectors: Path, name: str, dep: bytes | None = None):  # type: ignore[no-untyped-def]
    fetcher = MapFetcher(
        {DEP_URI: dep if dep is not None else read_hex(vectors / TD / "example0_dependent.hex")}
    )
    env = envelope(vectors, TD, f"{name}.hex")
    return env, process(env, MemoryStore(), fetcher=fetcher)


@pytest.mark.parametrize("name", ["example1_process", "example2_integrated"])
def test_suit4_report_offsets_point_at_the_commands(shared_vectors: Path, name: str) -> None:
    """§3: suit-record-section-offset is the byte offset of the command in its section: at that
    offset the section's bytes hold the command's code."""
    env, r = _process(shared_vectors, name)
    r.check()
    dep_env = codec.decode(read_hex(shared_vectors / TD / "example0_dependent.hex"))
    for rec in r.ext_records:
        e = env if rec.manifest_id == () else dep_env
        seqs = resolve_sequences(e)
        seq = e.manifest.common.shared_sequence if rec.section == 3 else seqs[rec.section]
        assert seq is not None
        raw = codec.encode_sequence(seq)
        assert cbor.dumps(rec.command) == raw[rec.offset : rec.offset + len(cbor.dumps(rec.command))]


def test_suit4_report_success_and_cddl(shared_vectors: Path) -> None:
    env, r = _process(shared_vectors, "example1_process")
    caps = iotsec_capabilities([(b"00",), (b"10",)], wildcard=False)  # pycddl: see validate_report
    report = report_from_result(r, nonce=b"\x01" * 8, capabilities=caps, all_records=True)
    assert report.ok and report.manifest_digest == env.authentication.digest
    assert {rec.manifest_id for rec in report.records if not isinstance(rec, dict)} == {(), (0,)}
    validate_report(shared_vectors, report.encode())
    # the reporting policy: only commands whose policy asks for a record on success (bit 0)
    policed = report_from_result(r)
    assert 0 < len(policed.records) < len(report.records)
    validate_report(shared_vectors, policed.encode())


def test_suit4_report_failure_record_and_reason(shared_vectors: Path) -> None:
    """A substituted dependency: condition image-match fails in dependency-resolution (15); the
    record carries the offending offset and the measured digest."""
    other = read_hex(shared_vectors / TD / "example2_integrated.hex")
    _env, r = _process(shared_vectors, "example1_process", other)
    report = report_from_result(r)
    assert report.result is not None
    assert report.result.reason == Reason.CONDITION_FAILED
    rec = report.result.record
    assert (rec.section, rec.component) == (15, 1)
    assert "suit.condition.image-match" in str(rec.properties[REASON_TEXT])
    validate_report(shared_vectors, report.encode())


def test_suit4_report_containers(shared_vectors: Path) -> None:
    _env, r = _process(shared_vectors, "example1_process")
    report = report_from_result(r)
    dev = CoseKey.generate(Algorithm.ESP256)
    signed = sign_report(report, dev)
    assert verify_report(signed, [CoseKey.generate(Algorithm.ESP256).public(), dev.public()]) == report
    mac_key = CoseKey.symmetric(b"k" * 32)
    maced = mac_report(report, mac_key)
    assert verify_report(maced, [mac_key]) == report
    with pytest.raises(VerifyError):
        verify_report(maced, [CoseKey.symmetric(b"j" * 32)])
    tampered = bytearray(signed)
    tampered[-70] ^= 1
    with pytest.raises(IotSecError):
        verify_report(bytes(tampered), [dev.public()])
    assert unwrap_report(signed) == (report, "COSE_Sign1")
    assert unwrap_report(report.encode()) == (report, "SUIT_Report")
    # the container is exactly the CDDL's SUIT_Report_COSE_Sign1_Tagged: payload = the report
    obj = cbor.loads(signed)
    assert obj.tag == 18 and obj.value[2] == report.encode()


def test_suit4_capability_report_round_trip(shared_vectors: Path) -> None:
    caps = iotsec_capabilities([(b"app",), (b"cfg",)], wildcard=False)
    assert (b"app",) in [c[0] for c in caps.components]
    assert 19 in caps.parameters and 11 in caps.commands and -29 in caps.algorithms
    ext = CapabilityReport(
        caps.components, caps.commands, caps.parameters, caps.algorithms, caps.optional, {(3, 3, 1): (3,)}
    )  # §6 example: an extension key [3, 3, 1] => [3]
    report = SuitReport("u", codec.decode_digest([-16, b"d" * 32], ()), (), None, None, ext)
    assert SuitReport.decode(report.encode()) == report
    validate_report(shared_vectors, SuitReport("u", report.manifest_digest, capabilities=caps).encode())
    wild = iotsec_capabilities()  # [true]: any component id (checked by our decoder only)
    assert ((), True) in wild.components
    assert (
        SuitReport.decode(SuitReport("u", report.manifest_digest, capabilities=wild).encode()).capabilities
        == wild
    )


@pytest.mark.parametrize(
    "obj",
    [
        [],
        {3: [], 4: True},  # no reference
        {99: ["u", [-16, b"x"]], 4: True},  # no records
        {99: ["u", [-16, b"x"]], 3: [], 4: False},
        {99: ["u", [-16, b"x"]], 3: [[[], 1, 2]], 4: True},  # short record
        {99: ["u", [-16, b"x"]], 3: [[[-1], 1, 2, 0, {}]], 4: True},  # negative manifest id
        {99: ["u", [-16, b"x"]], 3: [], 4: {5: 1, 6: [[], 1, 2, 0, {}], 7: 99}},  # unknown reason
        {99: ["u", [-16, b"x"]], 3: [{1: 2}], 4: True},  # claims without component id
        {99: ["u", [-16, b"x"]], 3: [], 4: True, 8: {1: [[b"a"]], 2: [1], 3: [1]}},  # caps without algs
    ],
)
def test_suit4_report_decode_refuses(obj: object) -> None:
    with pytest.raises(ValidationError):
        SuitReport.decode(cbor.dumps(obj))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_suit4_report_random_bytes(data: bytes) -> None:
    with contextlib.suppress(IotSecError):
        SuitReport.decode(data)
    with contextlib.suppress(IotSecError):
        unwrap_report(data)


@settings(max_examples=150, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers(-300, 300) | st.binary(max_size=8) | st.text(max_size=5),
        lambda c: st.lists(c, max_size=5) | st.dictionaries(st.integers(-5, 100), c, max_size=5),
        max_leaves=20,
    )
)
def test_suit4_report_random_structures(obj: object) -> None:
    with contextlib.suppress(IotSecError):
        SuitReport.from_cbor(obj)


def test_suit4_report_encrypted_payload(shared_vectors: Path) -> None:
    """§8: SUIT_Report_Unprotected may be a COSE_Encrypt0 of the report, inside the Sign1."""
    _env, r = _process(shared_vectors, "example1_process")
    report = report_from_result(r)
    dev = CoseKey.generate(Algorithm.ESP256)
    k = CoseKey.symmetric(b"r" * 16)
    signed = sign_report(report, dev, encrypt_key=k)
    inner = cbor.loads(cbor.loads(signed).value[2])
    assert inner.tag == 16  # COSE_Encrypt0_Tagged, the report is not readable without the key
    assert report.encode() not in signed
    assert verify_report(signed, [dev.public()], decrypt_keys=[CoseKey.symmetric(b"x" * 16), k]) == report
    with pytest.raises(VerifyError):
        verify_report(signed, [dev.public()], decrypt_keys=[CoseKey.symmetric(b"x" * 16)])


def test_suit4_report_render(shared_vectors: Path) -> None:
    from iotsec.core.suit.report_render import render

    other = read_hex(shared_vectors / TD / "example2_integrated.hex")
    _env, r = _process(shared_vectors, "example1_process", other)
    lines = render(report_from_result(r, nonce=b"\x07"))
    assert lines[0].startswith("suit-reference:  sha-256:") or lines[0].startswith("suit-reference: (no URI)")
    assert "suit-report-nonce: h'07'" in lines
    assert any(line.startswith("result: condition-failed (10)") for line in lines)
    assert any("section dependency-resolution(15)" in line and "component 1" in line for line in lines)


@pytest.mark.parametrize("name", ["example1_process", "example2_integrated"])
def test_suit4_report_offsets_agree_with_core_records(shared_vectors: Path, name: str) -> None:
    """Two independent offset computations: the core processor's records (lazy, per position) and
    the companion's (one walk of each encoded section) name the same bytes."""
    _env, r = _process(shared_vectors, name)
    r.check()
    ours = [(x.section, x.offset) for x in r.ext_records]
    core = [(int(x.section), x.offset) for x in r.records]
    assert ours == core


_RECORDS = st.builds(
    lambda mid, sec, off, comp, props: __import__(
        "iotsec.core.suit.report", fromlist=["SuitRecord"]
    ).SuitRecord(tuple(mid), sec, off, comp, props),
    st.lists(st.integers(0, 5), max_size=3),
    st.sampled_from([3, 7, 8, 9, 15, 16, 18, 20]),
    st.integers(0, 5000),
    st.integers(0, 8),
    st.dictionaries(
        st.sampled_from([3, 14, 21, -257]), st.binary(max_size=8) | st.integers(0, 99), max_size=2
    ),
)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(_RECORDS, max_size=4),
    st.none() | _RECORDS,
    st.none() | st.binary(max_size=8),
    st.integers(0, 12),
    st.text(max_size=10),
)
def test_suit4_report_round_trip(
    records: list[object], failed: object, nonce: bytes | None, reason: int, uri: str
) -> None:
    """encode -> decode is the identity for any report the model can hold."""
    from iotsec.core.suit.model import Digest
    from iotsec.core.suit.report import Failure

    result = None if failed is None else Failure(7, failed, reason)  # type: ignore[arg-type]
    report = SuitReport(uri, Digest(-16, b"\x11" * 32), tuple(records), result, nonce)  # type: ignore[arg-type]
    assert SuitReport.decode(report.encode()) == report
