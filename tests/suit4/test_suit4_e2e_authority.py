"""End to end: an OEM and an operator update a device with bootloader, application and configuration.

The device trusts the OEM key for everything. The OEM delegates the application and the
configuration to the operator with a CWT in the envelope (suit-delegation), or the device is
provisioned with an ACL naming the operator's key. The operator may update app and config; its
manifest touching the bootloader is refused with a PolicyError naming the component, nothing is
written, and the device's signed SUIT_Report says why (reason component-unauthorised).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import cbor2
import pytest
from suit4_helpers import validate_report

from iotsec.agent.suit_store import FileStore
from iotsec.core.cose import Algorithm, CoseKey
from iotsec.core.suit import codec
from iotsec.core.suit.auth import sign_envelope
from iotsec.core.suit.builder_ext import build_extended
from iotsec.core.suit.companion import process_suit
from iotsec.core.suit.model import Envelope
from iotsec.core.suit.processor import DeviceIdentity
from iotsec.core.suit.report import REASON_TEXT, Reason, SuitReport, sign_report, verify_report
from iotsec.core.suit.report_build import report_from_result
from iotsec.core.suit.trust import Authority, issue_delegation, pattern
from iotsec.errors import PolicyError, VerifyError

NOW = 1_800_000_000
BOOT, APP, CFG = (b"bootloader",), (b"app",), (b"config",)
OEM = CoseKey.generate(Algorithm.ES256, kid=b"oem")
OPERATOR = CoseKey.generate(Algorithm.ES256, kid=b"operator")
DEVICE = CoseKey.generate(Algorithm.ES256, kid=b"device")
VENDOR = "example-oem.com"


def _manifest(
    seq: int, images: dict[str, bytes], signer: CoseKey, delegation: list[list[bytes]] | None
) -> Envelope:
    desc = {
        "manifest-sequence-number": seq,
        "reference-uri": f"https://updates.example/{seq}.suit",
        "components": [
            {
                "component-id": [name],
                "vendor-domain": VENDOR,
                "model-info": "gateway-1",
                "file": name,
                "integrated": True,
            }
            for name in images
        ],
    }
    env = build_extended(desc, images)
    signed = sign_envelope(env, keys=[(signer, Algorithm.ES256)])
    if delegation is not None:
        signed = replace(signed, delegation=delegation)
    return codec.decode(codec.encode(signed))  # what travels over the wire


def _identity() -> DeviceIdentity:
    from iotsec.core.suit.builder import class_id, vendor_id

    v = vendor_id(VENDOR)
    return DeviceIdentity(frozenset({v.bytes}), frozenset({class_id(v, "gateway-1").bytes}))


def _delegation(**kw: object) -> list[list[bytes]]:
    cwt = issue_delegation(
        OEM,
        OPERATOR,
        issuer="oem",
        subject="operator",
        components=[pattern(["app"]), pattern(["config"])],
        **kw,
    )  # type: ignore[arg-type]
    return [[cwt]]


def _process(env: Envelope, store: FileStore, anchors: list[object]) -> object:
    return process_suit(
        env,
        anchors=anchors,
        identity=_identity(),
        stored_sequence=store.sequence_number,  # type: ignore[arg-type]
        now=NOW,
        store=store,
    )


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    s = FileStore(tmp_path / "device")
    oem_env = _manifest(1, {"bootloader": b"boot v1", "app": b"app v1", "config": b"cfg v1"}, OEM, None)
    r = _process(oem_env, s, [Authority.anchor("oem", OEM.public())])
    r.check()  # type: ignore[attr-defined]
    return s


def _content(store: FileStore) -> dict[tuple[bytes, ...], bytes]:
    return {cid: p.read_bytes() for cid, p in store.components().items()}


ANCHORS_CWT = [Authority.anchor("oem", OEM.public())]
ANCHORS_ACL = [
    Authority.anchor("oem", OEM.public()),
    Authority.anchor("operator", OPERATOR.public(), [pattern(["app"]), pattern(["config"])]),
]


@pytest.mark.parametrize(
    ("anchors", "delegated"), [(ANCHORS_CWT, True), (ANCHORS_ACL, False)], ids=["cwt", "acl"]
)
def test_suit4_operator_updates_app_and_config(
    store: FileStore, anchors: list[object], delegated: bool
) -> None:
    env = _manifest(
        2, {"app": b"app v2", "config": b"cfg v2"}, OPERATOR, _delegation() if delegated else None
    )
    r = _process(env, store, anchors)
    r.check()  # type: ignore[attr-defined]
    assert r.signers == ["operator"]  # type: ignore[attr-defined]
    assert _content(store) == {BOOT: b"boot v1", APP: b"app v2", CFG: b"cfg v2"}
    assert store.sequence_number == 2


@pytest.mark.parametrize(
    ("anchors", "delegated"), [(ANCHORS_CWT, True), (ANCHORS_ACL, False)], ids=["cwt", "acl"]
)
def test_suit4_operator_refused_on_bootloader(
    store: FileStore, anchors: list[object], delegated: bool, shared_vectors: Path
) -> None:
    env = _manifest(
        2, {"bootloader": b"evil boot", "app": b"app v2"}, OPERATOR, _delegation() if delegated else None
    )
    r = _process(env, store, anchors)
    with pytest.raises(PolicyError, match=r"\['bootloader'\]") as ei:
        r.check()  # type: ignore[attr-defined]
    assert ei.value.reason == "suit.component.unauthorised"
    assert _content(store) == {BOOT: b"boot v1", APP: b"app v1", CFG: b"cfg v1"}  # nothing written
    assert store.sequence_number == 1

    # the device reports why, signed with its own key
    report = report_from_result(r, nonce=b"n0nce")
    signed = sign_report(report, DEVICE, Algorithm.ES256, kid=b"device")
    got = verify_report(signed, [DEVICE.public()])
    assert got == report
    assert got.result is not None
    assert got.result.reason == Reason.COMPONENT_UNAUTHORISED
    assert got.result.record.component == 0  # the bootloader's index in the operator's manifest
    assert "bootloader" in str(got.result.record.properties[REASON_TEXT])
    assert got.reference_uri == "https://updates.example/2.suit"
    assert got.manifest_digest == env.authentication.digest  # type: ignore[union-attr]
    validate_report(shared_vectors, report.encode())
    with pytest.raises(VerifyError):
        verify_report(signed, [OPERATOR.public()])


def test_suit4_oem_updates_bootloader(store: FileStore) -> None:
    env = _manifest(2, {"bootloader": b"boot v2"}, OEM, None)
    r = _process(env, store, ANCHORS_CWT)
    r.check()  # type: ignore[attr-defined]
    assert _content(store)[BOOT] == b"boot v2"
    assert report_from_result(r).ok


def test_suit4_delegation_expired_or_forged(store: FileStore) -> None:
    expired = _manifest(2, {"app": b"app v2"}, OPERATOR, _delegation(expires=NOW - 1))
    r = _process(expired, store, ANCHORS_CWT)
    assert not r.ok and r.reason == "suit.delegation.expired"  # type: ignore[attr-defined]
    forged_cwt = issue_delegation(OPERATOR, OPERATOR, issuer="oem", subject="operator")
    forged = _manifest(2, {"bootloader": b"evil"}, OPERATOR, [[forged_cwt]])
    r = _process(forged, store, ANCHORS_CWT)
    assert not r.ok and r.reason == "suit.delegation.signature"  # type: ignore[attr-defined]
    assert _content(store)[BOOT] == b"boot v1"


def test_suit4_subdelegation_cannot_widen(store: FileStore) -> None:
    """OEM -> operator (app, config) -> installer (claims everything): scopes intersect."""
    installer = CoseKey.generate(Algorithm.ES256, kid=b"installer")
    chain = [
        _delegation()[0][0],
        issue_delegation(OPERATOR, installer, issuer="operator", subject="installer"),
    ]
    ok = _manifest(2, {"config": b"cfg v3"}, installer, [chain])
    _process(ok, store, ANCHORS_CWT).check()  # type: ignore[attr-defined]
    bad = _manifest(3, {"bootloader": b"evil"}, installer, [chain])
    r = _process(bad, store, ANCHORS_CWT)
    assert not r.ok and r.reason == "suit.component.unauthorised"  # type: ignore[attr-defined]
    assert "installer" in str(r.error)  # type: ignore[attr-defined]


def test_suit4_success_report_validates(store: FileStore, shared_vectors: Path) -> None:
    from iotsec.core.suit.report import iotsec_capabilities

    env = _manifest(2, {"app": b"app v2"}, OPERATOR, _delegation())
    r = _process(env, store, ANCHORS_CWT)
    r.check()  # type: ignore[attr-defined]
    report = report_from_result(
        r, capabilities=iotsec_capabilities([BOOT, APP, CFG], wildcard=False), all_records=True
    )
    assert report.ok and len(report.records) > 3
    # image-match with policy 15 (sysinfo on success): the measured digest of the new app
    claims = [r for r in report.records if isinstance(r, dict)]
    expected = cbor2.dumps([-16, hashlib.sha256(b"app v2").digest()])
    assert {0: [b"app"], 3: expected, 14: 6} in claims
    validate_report(shared_vectors, report.encode())
    assert SuitReport.decode(report.encode()) == report
