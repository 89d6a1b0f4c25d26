"""draft-ietf-suit-report from both processors through the one engine (iotsec.core.suit.report).

``suit process --report`` (core processor: :func:`report_from_processing`, :func:`failure_report`)
and ``suit apply --report`` (companion processor: :func:`report_from_result`) give the same
report for the same failure; every report here is checked against the report CDDL with pycddl.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from suit4_helpers import validate_report
from suit_helpers import realize
from suit_vectors import IMAGE_A, load_example, private_key_pem

from iotsec.cli.main import cli
from iotsec.core import cbor
from iotsec.core.cose import Algorithm, CoseKey, Sign1Message
from iotsec.core.suit import codec
from iotsec.core.suit.companion import process_suit
from iotsec.core.suit.processor import DeviceIdentity, Procedure, process
from iotsec.core.suit.report import (
    REASON_TEXT,
    Reason,
    SuitRecord,
    SuitReport,
    reason_for,
    sign_report,
    verify_report,
)
from iotsec.core.suit.report_build import failure_report, report_from_processing, report_from_result
from iotsec.core.suit.store import MemoryStore
from iotsec.errors import (
    DecodeError,
    IotSecError,
    NotFoundError,
    PolicyError,
    UnsupportedError,
    ValidationError,
    VerifyError,
)

ID = DeviceIdentity(
    frozenset({bytes.fromhex("fa6b4a53d5ad5fdfbe9de663e4d41ffe")}),
    frozenset({bytes.fromhex("1492af1425695e48bf429b2d51f2ab45")}),
)


class Files:
    def fetch(self, uri: str, arguments: bytes | None) -> bytes:
        return IMAGE_A


def test_records_point_at_their_commands(shared_vectors: Path) -> None:
    env = realize(codec.decode(load_example(shared_vectors, "example1").signed))
    r = process(
        env,
        trust_anchors=[],
        identity=ID,
        stored_sequence=None,
        now=0,
        store=MemoryStore(),
        fetcher=Files(),
        authenticated=True,
    )
    assert r.ok
    encoded = {
        7: codec.encode_sequence(env.manifest.sequences[7]),  # type: ignore[arg-type]
        20: codec.encode_sequence(env.manifest.sequences[20]),  # type: ignore[arg-type]
        3: codec.encode_sequence(env.manifest.common.shared_sequence or ()),
    }
    codes = {
        "vendor-identifier": 1,
        "class-identifier": 2,
        "image-match": 3,
        "fetch": 21,
        "override-parameters": 20,
    }
    for rec in r.records:
        assert encoded[rec.section][rec.offset] == codes[rec.command], rec
    report = report_from_processing(r, env, nonce=b"n1")
    m = report.to_cbor()
    assert report.ok and m[4] is True and m[2] == b"n1"
    assert m[99] == ["", [-16, env.authentication.digest.value]]  # type: ignore[union-attr]
    # policy 15 records every condition; fetch has policy 2 (failure only) and is not recorded
    sections = [(rec[1], rec[2]) for rec in m[3]]
    assert (20, encoded[20].index(bytes([21, 2]))) not in sections
    # the core processor hands the parameters a command consumed (manifest §8.4.7)
    image_match = [rec for rec in m[3] if rec[1] == 20 and encoded[20][rec[2]] == 3]
    assert image_match and image_match[0][4][3] == codec.encode_digest(
        env.manifest.common.shared_sequence[0].arg[3]  # type: ignore[index]
    )
    validate_report(shared_vectors, report.encode())
    assert SuitReport.decode(report.encode()) == report
    everything = report_from_processing(r, env, all_records=True)
    assert len(everything.records) == len(r.records) > len(report.records)
    validate_report(shared_vectors, everything.encode())


def test_failure_result_and_signing(shared_vectors: Path) -> None:
    env = realize(codec.decode(load_example(shared_vectors, "example0").signed))
    r = process(
        env,
        trust_anchors=[],
        identity=ID,
        stored_sequence=None,
        now=0,
        store=MemoryStore({(b"\x00",): IMAGE_A[:-1]}),
        procedure=Procedure.INVOKE,
        authenticated=True,
    )
    report = report_from_processing(r, env)
    assert report.result is not None
    assert report.result.reason == Reason.CONDITION_FAILED
    assert report.result.record.section == 7  # image-match in suit-validate
    assert str(report.result.text).startswith("suit.condition.image-match: ")
    validate_report(shared_vectors, report.encode())
    # signed with the device key (COSE_Sign1, §8), verified with its public half
    key = CoseKey.generate(Algorithm.ESP256)
    signed = sign_report(report, key)
    msg = Sign1Message.decode(signed)
    msg.verify(key.public())
    assert msg.payload == report.encode()
    assert verify_report(signed, [CoseKey.generate(Algorithm.ESP256).public(), key.public()]) == report
    with pytest.raises(VerifyError):
        verify_report(signed, [CoseKey.generate(Algorithm.ESP256).public()])
    # refused before any command ran: anti-rollback is condition-failed (see report.reason_for)
    with pytest.raises(PolicyError) as e:
        process(
            env,
            trust_anchors=[],
            identity=ID,
            stored_sequence=9,
            now=0,
            store=MemoryStore(),
            authenticated=True,
        )
    refused = failure_report(e.value, env)
    assert refused.result is not None and refused.result.reason == Reason.CONDITION_FAILED
    assert refused.records == () and refused.manifest_digest == env.authentication.digest  # type: ignore[union-attr]
    validate_report(shared_vectors, refused.encode())
    unauthorised = failure_report(VerifyError("x", reason="suit.auth.failed"), None)
    assert unauthorised.result is not None and unauthorised.result.reason == Reason.UNAUTHORISED
    validate_report(shared_vectors, unauthorised.encode())


def test_sign_report_with_an_ed25519_key_without_alg() -> None:
    """No ``alg`` on the key: ESP256 for P-256 only, otherwise the curve's algorithm (EdDSA)."""
    report = SuitReport("", codec.decode_digest([-16, b"d" * 32], ()))
    key = CoseKey.generate(Algorithm.EDDSA)
    key.alg = None
    assert verify_report(sign_report(report, key), [key.public()]) == report


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        # where the two former tables disagreed, and why this one answers as it does
        (PolicyError("x", reason="suit.rollback"), Reason.CONDITION_FAILED),  # manifest §6.1, §8.4.2
        (UnsupportedError("x", reason="suit.digest.alg"), Reason.ALG_UNSUPPORTED),  # not a bad digest
        (UnsupportedError("x", reason="suit.auth.unsupported"), Reason.COSE_UNSUPPORTED),
        (VerifyError("x", reason="suit.severed.undeclared"), Reason.UNAUTHORISED),
        (ValidationError("x", reason="suit.unsigned"), Reason.UNAUTHORISED),
        (ValidationError("x", reason="suit.missing"), Reason.CBOR_PARSE),
        (ValidationError("x", reason="suit.uuid"), Reason.CBOR_PARSE),
        (ValidationError("x", reason="suit.index"), Reason.COMPONENT_UNSUPPORTED),
        (VerifyError("x", reason="suit.store.readback"), Reason.OPERATION_FAILED),  # a write failed
        # unchanged
        (PolicyError("x", reason="suit.condition.image-match"), Reason.CONDITION_FAILED),
        (UnsupportedError("x", reason="suit.command.unsupported.wait"), Reason.COMMAND_UNSUPPORTED),
        (PolicyError("x", reason="suit.severed.absent"), Reason.SEVERING_UNSUPPORTED),
        (PolicyError("x", reason="suit.component.unauthorised"), Reason.COMPONENT_UNAUTHORISED),
        (DecodeError("x", reason="cbor.format"), Reason.CBOR_PARSE),
        (NotFoundError("x", reason="suit.fetch.notfound"), Reason.OPERATION_FAILED),
    ],
)
def test_one_reason_table(error: IotSecError, reason: Reason) -> None:
    assert reason_for(error) == reason


def test_both_processors_refuse_a_rollback_with_the_same_report(shared_vectors: Path) -> None:
    """The core processor raises, the companion returns a failed result: same report bytes."""
    example = load_example(shared_vectors, "example0")
    env = codec.decode(example.signed)
    pub = CoseKey.from_pem(private_key_pem(shared_vectors)).public()
    with pytest.raises(PolicyError) as e:
        process(env, trust_anchors=[pub], identity=ID, stored_sequence=9, now=0, store=MemoryStore())
    result = process_suit(env, anchors=[pub], identity=ID, stored_sequence=9, now=0, store=MemoryStore())
    assert result.reason == e.value.reason == "suit.rollback"
    core = failure_report(e.value, env, nonce=b"\x01")
    assert core.encode() == report_from_result(result, nonce=b"\x01").encode()
    assert core.result is not None and core.result.reason == Reason.CONDITION_FAILED


@pytest.mark.parametrize("all_records", [False, True])
def test_both_processors_place_records_alike(shared_vectors: Path, all_records: bool) -> None:
    """Example 3 (A/B slots: try-each in the shared sequence) on a device without slots: both
    component-slot conditions fail softly, so try-each is exhausted. Both processors' reports hold
    the same records at the same places, offsets counted from the start of the top-level section
    also inside try-each (report §3), and the same result."""
    env = codec.decode(load_example(shared_vectors, "example3").signed)
    pub = CoseKey.from_pem(private_key_pem(shared_vectors)).public()
    args = {"identity": ID, "stored_sequence": None, "now": 0}
    core = report_from_processing(
        process(env, trust_anchors=[pub], store=MemoryStore(), procedure=Procedure.INVOKE, **args),  # type: ignore[arg-type]
        env,
        all_records=all_records,
    )
    companion = report_from_result(
        process_suit(env, anchors=[pub], store=MemoryStore(), procedure="invoke", **args),  # type: ignore[arg-type]
        all_records=all_records,
    )

    def place(r: SuitRecord) -> tuple[object, ...]:
        return (r.manifest_id, r.section, r.offset, r.component)

    def places(report: SuitReport) -> list[tuple[object, ...]]:
        return [place(r) for r in report.records if isinstance(r, SuitRecord)]

    assert places(core) == places(companion) and len(places(core)) >= (5 if all_records else 1)
    shared = codec.encode_sequence(env.manifest.common.shared_sequence or ())
    assert {shared[offset] for _, _, offset, _ in places(core)} <= {5, 15, 20}  # the commands' codes
    assert core.result is not None and companion.result is not None
    assert core.result.reason == companion.result.reason == Reason.CONDITION_FAILED
    assert (core.result.code, core.result.text) == (companion.result.code, companion.result.text)
    assert place(core.result.record) == place(companion.result.record)
    validate_report(shared_vectors, core.encode())
    validate_report(shared_vectors, companion.encode())


# ------------------------------------------------------------------ the two CLI paths

DESC = """\
manifest-sequence-number: {seq}
components:
  - component-id: [app.bin]
    vendor-domain: example.com
    model-info: sensor-v2
    file: app.bin
    uri: https://updates.example.com/app.bin
"""


class Device:
    """A signing key, a payload directory and a store that has installed sequence number 3."""

    def __init__(self, tmp: Path, vectors: Path) -> None:
        self.tmp = tmp
        self.runner = CliRunner()
        self.priv = tmp / "key.pem"
        self.priv.write_bytes(private_key_pem(vectors))
        self.pub = tmp / "pub.pem"
        self.pub.write_bytes(CoseKey.from_pem(self.priv.read_bytes()).public().to_pem())
        (tmp / "payloads").mkdir()
        self.store = tmp / "store"
        self.store.mkdir()
        (self.store / "identity.json").write_text(
            json.dumps({"vendor-domain": "example.com", "model-info": ["sensor-v2"]})
        )
        env, pay = str(self.envelope(3)), str(tmp / "payloads")
        r = self.run("process", env, "--key", str(self.pub), "--store", str(self.store), "--payloads", pay)
        assert r.exit_code == 0, r.output

    def run(self, *args: str) -> Result:
        return self.runner.invoke(cli, ["suit", *args], catch_exceptions=False)

    def envelope(self, seq: int) -> Path:
        image = os.urandom(3000)
        (self.tmp / "app.bin").write_bytes(image)
        (self.tmp / "payloads" / "app.bin").write_bytes(image)
        desc = self.tmp / f"u{seq}.yaml"
        desc.write_text(DESC.format(seq=seq))
        out = self.tmp / f"u{seq}.suit"
        assert self.run("create", str(desc), "-o", str(out) + ".unsigned").exit_code == 0
        r = self.run("sign", str(out) + ".unsigned", "--key", str(self.priv), "-o", str(out))
        assert r.exit_code == 0, r.output
        return out

    def reports(self, envelope: Path, key: Path, *extra: str) -> dict[str, bytes]:
        """``suit process`` and ``suit apply`` on two copies of the same store."""
        out = {}
        for command in ("process", "apply"):
            store = self.tmp / f"store-{command}"
            shutil.rmtree(store, ignore_errors=True)
            shutil.copytree(self.store, store, symlinks=True)
            report = self.tmp / f"{command}.report"
            report.unlink(missing_ok=True)
            r = self.run(
                command,
                str(envelope),
                "--key",
                str(key),
                "--store",
                str(store),
                "--payloads",
                str(self.tmp / "payloads"),
                "--report",
                str(report),
                *extra,
            )
            assert r.exit_code == 1, r.output
            out[command] = report.read_bytes()
        return out


@pytest.mark.parametrize("failure", ["rollback", "untrusted-signer", "not-cbor"])
def test_cli_process_and_apply_write_the_same_refusal(
    tmp_path: Path, shared_vectors: Path, failure: str
) -> None:
    """Same envelope, same store state: byte-identical SUIT_Reports from both CLI paths."""
    dev = Device(tmp_path, shared_vectors)
    env, key, reason = dev.tmp / "u3.suit", dev.pub, Reason.CONDITION_FAILED  # sequence 3 again
    if failure == "untrusted-signer":
        env, reason = dev.envelope(4), Reason.UNAUTHORISED
        key = tmp_path / "other.pem"
        key.write_bytes(CoseKey.generate(Algorithm.ESP256).public().to_pem())
    elif failure == "not-cbor":
        env, reason = tmp_path / "cut.suit", Reason.CBOR_PARSE
        env.write_bytes((tmp_path / "u3.suit").read_bytes()[:-7])
    got = dev.reports(env, key)
    assert got["process"] == got["apply"]
    report = SuitReport.decode(got["process"])
    assert report.result is not None and report.result.reason == reason
    validate_report(shared_vectors, got["process"])
    # signed with the device key: different signatures, the same verified report
    signed = dev.reports(env, key, "--report-key", str(dev.priv))
    device = CoseKey.from_pem(dev.pub.read_bytes())
    assert verify_report(signed["process"], [device]) == verify_report(signed["apply"], [device]) == report


def test_cli_process_and_apply_report_a_failed_condition_alike(tmp_path: Path, shared_vectors: Path) -> None:
    """A payload replaced on the server: image-match fails in install. Both reports give the same
    reason, result code and failure point; the record's properties are what each processor hands
    the reporting engine (core: the expected digest it consumed; companion: the one it measured)."""
    dev = Device(tmp_path, shared_vectors)
    env = dev.envelope(4)
    (tmp_path / "payloads" / "app.bin").write_bytes(b"evil" * 100)
    got = {k: SuitReport.decode(v) for k, v in dev.reports(env, dev.pub).items()}
    core, companion = got["process"].result, got["apply"].result
    assert core is not None and companion is not None
    assert core.reason == companion.reason == Reason.CONDITION_FAILED
    assert core.code == companion.code
    where = [(r.manifest_id, r.section, r.offset, r.component) for r in (core.record, companion.record)]
    assert where[0] == where[1] and where[0][1] == 20  # suit-install
    for r in (core.record, companion.record):
        assert str(r.properties[REASON_TEXT]).startswith("suit.condition.image-match: ")
    measured = cbor.loads(companion.record.properties[3])[1]
    assert measured == hashlib.sha256(b"evil" * 100).digest()
    for data in dev.reports(env, dev.pub).values():
        validate_report(shared_vectors, data)
