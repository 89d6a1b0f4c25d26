"""SUIT reports (draft-ietf-suit-report) from processing the spec's examples."""

from __future__ import annotations

from pathlib import Path

import pytest
from suit_helpers import realize
from suit_vectors import IMAGE_A, load_example

from iotsec.core import cbor
from iotsec.core.cose import CoseKey, Sign1Message
from iotsec.core.suit import codec
from iotsec.core.suit.processor import DeviceIdentity, Procedure, process
from iotsec.core.suit.store import MemoryStore
from iotsec.core.suit.suit_report import Reason, failure_report, sign_report, to_suit_report
from iotsec.errors import PolicyError

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
    report = to_suit_report(r, env, nonce=b"n1")
    assert report[4] is True and report[2] == b"n1"
    assert report[99] == ["", [-16, env.authentication.digest.value]]  # type: ignore[union-attr]
    # policy 15 records every condition; fetch has policy 2 (failure only) and is not recorded
    sections = [(rec[1], rec[2]) for rec in report[3]]
    assert (20, encoded[20].index(bytes([21, 2]))) not in sections
    image_match = [rec for rec in report[3] if rec[1] == 20 and encoded[20][rec[2]] == 3]
    assert image_match and image_match[0][4][3] == codec.encode_digest(
        env.manifest.common.shared_sequence[0].arg[3]
    )  # type: ignore[index]


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
    report = to_suit_report(r, env)
    result = report[4]
    assert result[7] == Reason.CONDITION_FAILED and result[6][1] == 7  # image-match in suit-validate
    key = CoseKey.generate(-9)
    signed = sign_report(report, key)
    msg = Sign1Message.decode(signed)
    msg.verify(key.public())
    assert cbor.loads(msg.payload) == report  # type: ignore[arg-type]
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
    assert failure_report(e.value, env)[4][7] == Reason.OPERATION_FAILED
    from iotsec.errors import VerifyError

    assert failure_report(VerifyError("x", reason="suit.auth.failed"), None)[4][7] == Reason.UNAUTHORISED
