"""draft-ietf-suit-update-management: versions, battery, consent, wait, override-multiple, copy-params."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from suit4_helpers import MapFetcher

from iotsec.core import cbor
from iotsec.core.cose import Algorithm, CoseKey
from iotsec.core.suit import builder, codec
from iotsec.core.suit.auth import sign_envelope
from iotsec.core.suit.builder_ext import build_extended
from iotsec.core.suit.companion import process_suit
from iotsec.core.suit.model import Command, Common, Envelope, Manifest
from iotsec.core.suit.processor import DeviceIdentity
from iotsec.core.suit.registry import Command as Cmd
from iotsec.core.suit.registry import ManifestKey, Parameter
from iotsec.core.suit.store import MemoryStore
from iotsec.core.suit.update_mgmt import (
    Comparison,
    StaticInputs,
    decode_version_match,
    decode_wait_events,
    parse_semver,
    version_matches,
)
from iotsec.errors import UnsupportedError, ValidationError

KEY = CoseKey.generate(Algorithm.ES256)
G, GE, EQ, LE, L = (
    Comparison.GREATER,
    Comparison.GREATER_EQUAL,
    Comparison.EQUAL,
    Comparison.LESSER_EQUAL,
    Comparison.LESSER,
)


@pytest.mark.parametrize(
    ("actual", "cmp", "wanted", "expected"),
    [
        ([1, 4, 2], EQ, [1], True),  # §4.4 "Equal [1]" matches all versions starting with 1
        ([2, 0], EQ, [1], False),
        ([1, 0, 7], GE, [1, 0], True),  # ">= [1,0]" and "< [1,10]": 1.0.x up to 1.10
        ([1, 9, 99], L, [1, 10], True),
        ([1, 10, 0], L, [1, 10], False),
        ([2, 0, -1, 1], L, [2, 0, 0], True),  # §4.4.1: 2.0-rc1 is lower than 2.0.0
        ([2, 0, -1, 1], G, [1, 99], True),  # ... and higher than any 1.x
        ([1, 2, -2], L, [1, 2, -1], True),  # beta < rc
        ([1, 2, -3], L, [1, 2, -2], True),  # alpha < beta
        ([1, 2, 3], LE, [1, 2, 3], True),
        ([1, 2, 3], G, [1, 2, 3], False),
    ],
)
def test_suit4_version_comparison(
    actual: list[int], cmp: Comparison, wanted: list[int], expected: bool
) -> None:
    assert version_matches(actual, (cmp, wanted)) is expected


@pytest.mark.parametrize(
    ("text", "encoded"),
    [
        ("1.2.3", [1, 2, 3]),
        ("1.2-rc.3", [1, 2, -1, 3]),
        ("1.2-beta", [1, 2, -2]),
        ("1.2-alpha", [1, 2, -3]),
        ("1.2.3-alpha.4", [1, 2, 3, -3, 4]),
    ],  # §4.4.1 examples
)
def test_suit4_semver_encoding(text: str, encoded: list[int]) -> None:
    assert parse_semver(text) == encoded


@pytest.mark.parametrize("bad", ["1.2.3+build", "x", "1.2.3.4", "1.2-gamma", ""])
def test_suit4_semver_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        parse_semver(bad)


@pytest.mark.parametrize(
    "raw", [b"\xff", cbor.dumps([9, [1]]), cbor.dumps([1, []]), cbor.dumps([1, [True]]), cbor.dumps({1: 2})]
)
def test_suit4_version_match_hostile(raw: bytes) -> None:
    with pytest.raises(ValidationError):
        decode_version_match(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"\x00\x00",
        cbor.dumps({}),
        cbor.dumps({5: -1}),
        cbor.dumps({4: [b"x", []]}),
        cbor.dumps({"t": 1}),
        cbor.dumps([1]),
    ],
)
def test_suit4_wait_info_hostile(raw: bytes) -> None:
    with pytest.raises(ValidationError):
        decode_wait_events(raw)


def _example_manifest_bytes(vectors: Path) -> bytes:
    """The manifest (bstr content) of draft-ietf-suit-manifest example 1, from its signed hex."""
    text = (vectors / "suit" / "manifest-spec" / "example1.txt").read_text()
    blocks = [bytes.fromhex("".join(b.split())) for b in re.findall(r"~~~\n([0-9a-f\n]+)~~~", text)]
    return codec.decode(blocks[-1]).manifest_bytes


def test_suit4_update_management_example_builds(shared_vectors: Path) -> None:
    """update-management/example0.json builds to exactly the manifest of the manifest draft's
    example 1 (same description), with the core builder and with the extended builder."""
    desc = json.loads((shared_vectors / "suit" / "update-management" / "example0.json").read_text())
    expected = _example_manifest_bytes(shared_vectors)
    assert builder.build(desc).manifest_bytes == expected
    assert build_extended(desc).manifest_bytes == expected


def _identity(desc: dict[str, object]) -> DeviceIdentity:
    import uuid

    comp = desc["components"][0]  # type: ignore[index]
    return DeviceIdentity(
        frozenset({uuid.UUID(comp["vendor-id"]).bytes}), frozenset({uuid.UUID(comp["class-id"]).bytes})
    )


def test_suit4_update_management_example_processes(shared_vectors: Path) -> None:
    """Processing the example on a device of its vendor/class: the fetch happens, and the
    placeholder digest (00112233...) of the example refuses the image; nothing is committed."""
    desc = json.loads((shared_vectors / "suit" / "update-management" / "example0.json").read_text())
    env = sign_envelope(build_extended(desc), keys=[(KEY, Algorithm.ES256)])
    fetcher = MapFetcher({"http://example.com/file.bin": b"\x00" * 34768})
    store = MemoryStore()
    r = process_suit(
        env,
        anchors=[KEY.public()],
        identity=_identity(desc),
        stored_sequence=None,
        now=0,
        store=store,
        fetcher=fetcher,
        procedure="update",
    )
    assert fetcher.asked == ["http://example.com/file.bin"]
    assert not r.ok and r.reason == "suit.condition.image-match"
    assert r.failed_record is not None and r.failed_record.section == ManifestKey.INSTALL
    assert store.components == {} and store.sequence_number is None
    # a device of another class stops at the shared sequence, before fetching anything
    other = process_suit(
        env,
        anchors=[KEY.public()],
        identity=DeviceIdentity(frozenset({b"v" * 16})),
        stored_sequence=None,
        now=0,
        store=MemoryStore(),
        fetcher=MapFetcher({}),
        procedure="update",
    )
    assert other.reason == "suit.condition.vendor-identifier"


IMAGE = b"firmware 1.3.0 " * 100
NOW = 1_800_000_000


def _managed(**extra: object) -> Envelope:
    desc = {
        "manifest-sequence-number": 3,
        "components": [
            {
                "component-id": ["app"],
                "file": "app.bin",
                "uri": "https://u.example/app.bin",
                "version-required": [">=", "1.2.0"],
            }
        ],
        **extra,
    }
    return sign_envelope(build_extended(desc, {"app.bin": IMAGE}), keys=[(KEY, Algorithm.ES256)])


def _run(env: Envelope, inputs: StaticInputs, now: int = NOW):  # type: ignore[no-untyped-def]
    store = MemoryStore()
    r = process_suit(
        env,
        anchors=[KEY.public()],
        identity=DeviceIdentity(),
        stored_sequence=2,
        now=now,
        store=store,
        fetcher=MapFetcher({"https://u.example/app.bin": IMAGE}),
        inputs=inputs,
        procedure="update",
    )
    return r, store


GOOD = StaticInputs(battery=900, consent=True, versions={(b"app",): [1, 2, 5]})


def test_suit4_update_management_all_conditions_hold() -> None:
    env = _managed(
        **{"use-before": NOW + 60, "minimum-battery": 500, "update-priority": -1, "require-consent": True}
    )
    inputs = StaticInputs(battery=900, consent=True, versions={(b"app",): [1, 2, 5]})
    r, store = _run(env, inputs)
    r.check()
    assert store.components[(b"app",)] == IMAGE
    assert inputs.asked == [-1]  # the application was asked, with the manifest's priority


@pytest.mark.parametrize(
    ("extra", "inputs", "now", "reason"),
    [
        ({"use-before": NOW - 1}, GOOD, NOW, "suit.condition.use-before"),
        ({"minimum-battery": 1000}, GOOD, NOW, "suit.condition.minimum-battery"),
        (
            {"minimum-battery": 10},
            StaticInputs(versions={(b"app",): [1, 2, 5]}),
            NOW,
            "suit.condition.minimum-battery",
        ),
        (
            {"require-consent": True},
            StaticInputs(consent=False, versions={(b"app",): [1, 2, 5]}),
            NOW,
            "suit.condition.update-authorized",
        ),
        ({}, StaticInputs(versions={(b"app",): [1, 1, 9]}), NOW, "suit.condition.version"),
        (
            {},
            StaticInputs(versions={(b"app",): [1, 2, -1, 1]}),
            NOW,
            "suit.condition.version",
        ),  # 1.2-rc1 < 1.2.0
        ({}, StaticInputs(), NOW, "suit.condition.version"),  # the component asserts no version
        ({"wait": {"time": NOW + 3600}}, GOOD, NOW, "suit.wait.pending"),
        ({"wait": {"time-of-day-utc": 7200}}, GOOD, NOW - NOW % 86400 + 3600, "suit.wait.pending"),
    ],
)
def test_suit4_update_management_refusals(
    extra: dict[str, object], inputs: StaticInputs, now: int, reason: str
) -> None:
    r, store = _run(_managed(**extra), inputs, now)
    assert not r.ok and r.reason == reason
    assert store.components == {} and store.commits == 0


def test_suit4_wait_reports_pending_events_then_proceeds() -> None:
    env = _managed(wait={"time": NOW + 3600, "power": 1, "network": 2})
    r, _ = _run(env, StaticInputs(versions={(b"app",): [1, 3]}, power=1, network=0))
    assert r.reason == "suit.wait.pending" and sorted(r.waiting) == ["network", "time"]
    r2, store = _run(env, StaticInputs(versions={(b"app",): [1, 3]}, power=1, network=2), NOW + 3600)
    r2.check()
    assert store.components[(b"app",)] == IMAGE


def test_suit4_wait_day_of_week_and_local_time() -> None:
    # 1_800_000_000 s = 2027-01-15 08:00 UTC, a Friday (5 days after Sunday)
    assert _run(_managed(wait={"day-of-week-utc": 5}), GOOD)[0].ok
    assert _run(_managed(wait={"day-of-week-utc": 6}), GOOD)[0].reason == "suit.wait.pending"
    local = _run(_managed(wait={"time-of-day": 0}), GOOD)[0]
    assert isinstance(local.error, UnsupportedError)  # §4.5: no configured time zone
    tz = StaticInputs(versions={(b"app",): [1, 3]}, offset=-9 * 3600)  # 23:00 local the day before
    assert _run(_managed(wait={"time-of-day": 22 * 3600}), tz)[0].ok


def _raw(install: tuple[Command, ...], comps: int = 2) -> Envelope:
    man = Manifest(
        1, Common(tuple((bytes([i]),) for i in range(comps))), sequences={ManifestKey.INSTALL: install}
    )
    return codec.decode(codec.encode(sign_envelope(builder.envelope_for(man), keys=[(KEY, Algorithm.ES256)])))


def test_suit4_override_multiple_and_copy_params() -> None:
    """§5.7 override-multiple (index ends on the last key) and §5.8 copy-params."""
    install = (
        Command(Cmd.SET_COMPONENT_INDEX, 0),
        Command(
            Cmd.OVERRIDE_MULTIPLE,
            {0: {Parameter.CONTENT: b"zero"}, 1: {Parameter.URI: "x", Parameter.CONTENT: b"one"}},
        ),
        Command(Cmd.WRITE, 15),  # index is now 1
        Command(Cmd.SET_COMPONENT_INDEX, 0),
        Command(Cmd.WRITE, 15),
        Command(Cmd.SET_COMPONENT_INDEX, 2),
        Command(Cmd.COPY_PARAMS, {1: [Parameter.CONTENT, Parameter.IMAGE_SIZE]}),
        Command(Cmd.WRITE, 15),
    )
    store = MemoryStore()
    r = process_suit(
        _raw(install, 3),
        anchors=[KEY.public()],
        identity=DeviceIdentity(),
        stored_sequence=None,
        now=0,
        store=store,
    )
    r.check()
    assert store.components == {(b"\x00",): b"zero", (b"\x01",): b"one", (b"\x02",): b"one"}


def test_suit4_override_multiple_bad_index() -> None:
    install = (
        Command(Cmd.SET_COMPONENT_INDEX, 0),
        Command(Cmd.OVERRIDE_MULTIPLE, {7: {Parameter.CONTENT: b"x"}}),
    )
    r = process_suit(
        _raw(install),
        anchors=[KEY.public()],
        identity=DeviceIdentity(),
        stored_sequence=None,
        now=0,
        store=MemoryStore(),
    )
    assert not r.ok and r.reason == "suit.index"


def test_suit4_set_version_round_trip() -> None:
    """§3.1 suit-set-version: built from the description, carried in the manifest (key 6), and
    reported by the processor."""
    env = _managed(**{"set-version": "1.3.0-rc.2"})
    raw = cbor.loads(env.manifest_bytes)
    assert cbor.loads(raw[6]) == [1, 3, 0, -1, 2]
    r, _ = _run(codec.decode(codec.encode(env)), GOOD)
    r.check()
    assert r.set_version == [1, 3, 0, -1, 2]
