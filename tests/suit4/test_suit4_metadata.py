"""suit-parameter-component-metadata (draft-ietf-suit-update-management §4.6): decoding against the
draft's CDDL, the file-type rules of §4.6.5 in the processor, and application by the stores (the
in-memory one records it; the filesystem one sets real POSIX mode, owner, group and mtime)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from suit4_helpers import MapFetcher, _report_cddl

from iotsec.agent.suit_store import FileStore
from iotsec.core.cose import Algorithm, CoseKey
from iotsec.core.suit import builder, codec
from iotsec.core.suit.auth import sign_envelope
from iotsec.core.suit.builder_ext import build_extended
from iotsec.core.suit.companion import process_suit
from iotsec.core.suit.metadata import (
    ComponentMetadata,
    FileType,
    Permission,
    decode_metadata,
    posix_view,
)
from iotsec.core.suit.model import Command, Common, Digest, Envelope, Manifest
from iotsec.core.suit.processor import DeviceIdentity
from iotsec.core.suit.registry import Command as Cmd
from iotsec.core.suit.registry import ManifestKey, Parameter
from iotsec.core.suit.report import Reason, iotsec_capabilities
from iotsec.core.suit.report_build import report_from_result
from iotsec.core.suit.store import MemoryStore
from iotsec.errors import IotSecError, UnsupportedError, ValidationError
from mutations import mutate

KEY = CoseKey.generate(Algorithm.ES256)
OVERRIDE, META, CONTENT = Cmd.OVERRIDE_PARAMETERS, Parameter.COMPONENT_METADATA, Parameter.CONTENT
R, W, X = 4, 2, 1  # SUIT bit positions: list_read = bit 2, create_write = bit 1, traverse_exec = bit 0
MTIME = 1_767_225_600  # 2026-01-01T00:00:00Z


def _sorted(v: Any) -> Any:
    """Maps rebuilt in RFC 8949 §4.2.1 order (bytewise order of the encoded keys), which cbor2's
    ``canonical`` (length first) does not give; cbor2 writes dicts in insertion order."""
    if isinstance(v, dict):
        return {k: _sorted(v[k]) for k in sorted(v, key=cbor2.dumps)}
    return v


def _meta(m: dict[int, Any]) -> bytes:
    return cbor2.dumps(_sorted(m))


def _envelope(install: tuple[Command, ...], comps: int = 3, seq: int = 1) -> Envelope:
    man = Manifest(
        seq,
        Common(tuple((f"c{i}".encode(),) for i in range(comps))),
        sequences={ManifestKey.INSTALL: install},
    )
    return codec.decode(codec.encode(sign_envelope(builder.envelope_for(man), keys=[(KEY, Algorithm.ES256)])))


def _process(env: Envelope, store: object, fetcher: object = None):  # type: ignore[no-untyped-def]
    return process_suit(
        env,
        anchors=[KEY.public()],
        identity=DeviceIdentity(),
        stored_sequence=None,
        now=0,
        store=store,  # type: ignore[arg-type]
        fetcher=fetcher,  # type: ignore[arg-type]
    )


# ------------------------------------------------------------------ decoding vs the draft's CDDL


def test_suit4_metadata_decodes_every_member() -> None:
    tag_uuid = uuid.UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
    m = decode_metadata(
        _meta(
            {
                1: R | X,
                2: {1000: R | W},
                3: {"staff": R},
                4: {tag_uuid: R | W | X},
                5: 1,
                6: cbor2.CBORTag(1, MTIME),
                7: cbor2.CBORTag(1, MTIME - 60),
                8: b"\x01\x02",
                -70000: "vendor",
            }
        )
    )
    assert m.default_permissions == 0b101
    assert m.user_permissions == {1000: 0b110}
    assert m.group_permissions == {"staff": 0b100}
    assert m.role_permissions == {tag_uuid: 0b111}
    assert m.file_type == 1
    assert (m.modification_time, m.creation_time) == (MTIME, MTIME - 60)
    assert m.creator == b"\x01\x02"
    assert m.extensions == {-70000: "vendor"}


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (cbor2.dumps([1]), "is a map"),
        (_meta({"x": 1}), "labels are integers"),
        (_meta({1: -1}), "unsigned integer"),
        (_meta({1: True}), "unsigned integer"),
        (_meta({2: {}}), "non-empty map"),
        (_meta({2: {None: 1}}), "actor id"),
        (_meta({2: {1: "rw"}}), "unsigned integer"),
        (_meta({5: "dir"}), "is an integer"),
        (_meta({6: MTIME}), "epoch-seconds tag"),  # §4.6.2: "The CBOR tag is REQUIRED"
        (
            cbor2.dumps({6: cbor2.CBORTag(1, float(MTIME))}, canonical=True),
            "epoch-seconds tag",
        ),  # shortest float
        (cbor2.dumps({6: cbor2.CBORTag(1, 1.5)}, canonical=True), "epoch-seconds tag"),
        (_meta({7: cbor2.CBORTag(1, -5)}), "epoch-seconds tag"),
        (_meta({8: "a\u0000b"}), "category Cc"),  # §4.6: only L, M, N, P, S, Zs
        (_meta({8: "a\u200bb"}), "category Cf"),
        (_meta({8: "line\nbreak"}), "category Cc"),
        (b"\xa2\x05\x01\x01\x00", "deterministic"),  # keys out of order
        (b"\xa1\x01\x18\x05", "deterministic"),  # 5 in two bytes
        (b"\xa1\x01", "deterministic"),  # truncated
        (_meta({1: 1}) + b"\x00", "deterministic"),  # trailing byte
        (b"\xbf\x01\x01\xff", "deterministic"),  # indefinite length
        ("text", "bstr"),
        (b"\x41" * 5000, "exceed"),
    ],
)
def test_suit4_metadata_refuses_what_breaks_the_cddl(value: Any, why: str) -> None:
    with pytest.raises(ValidationError, match=why) as exc:
        decode_metadata(value)
    assert exc.value.reason == "suit.metadata.invalid"


def test_suit4_metadata_unknown_file_type_is_unsupported() -> None:
    with pytest.raises(UnsupportedError) as exc:
        decode_metadata(_meta({5: 4}))
    assert exc.value.reason == "suit.parameter.unsupported.metadata"


_actor = st.one_of(
    st.integers(-(2**63), 2**64 - 1),
    st.binary(max_size=20),
    st.text(st.characters(categories=("L", "N", "P", "S", "Zs")), max_size=12),
    st.uuids(),
)
# 1..2**14-1: the bits the draft lists. 0 (no bit set) is valid by RFC 8610 §3.8.2 and decoded by
# iotsec (test_suit4_metadata_posix_view), but pycddl refuses it.
_perms = st.integers(1, (1 << 14) - 1)
_time = st.integers(0, 2**40).map(lambda t: cbor2.CBORTag(1, t))
_members = st.fixed_dictionaries(
    {},
    optional={
        1: _perms,
        2: st.dictionaries(_actor, _perms, min_size=1, max_size=3),
        3: st.dictionaries(_actor, _perms, min_size=1, max_size=3),
        4: st.dictionaries(_actor, _perms, min_size=1, max_size=3),
        5: st.sampled_from([1, 2, 3]),
        6: _time,
        7: _time,
        8: _actor,
    },
)


@settings(max_examples=300, deadline=None)
@given(_members)
def test_suit4_metadata_valid_per_cddl_decodes(shared_vectors: Path, m: dict[int, Any]) -> None:
    """Generated from the draft's CDDL, checked by pycddl against it, decoded by iotsec with the
    same values (actor ids as given; UUID_Tagged becomes a UUID)."""
    data = _meta(m)
    _report_cddl(shared_vectors, "SUIT_Component_Metadata").validate_cbor(data)  # type: ignore[attr-defined]
    got = decode_metadata(data)
    assert got.default_permissions == m.get(1)
    assert dict(got.user_permissions) == m.get(2, {})
    assert dict(got.group_permissions) == m.get(3, {})
    assert dict(got.role_permissions) == m.get(4, {})
    assert got.file_type == m.get(5, 1)
    assert got.modification_time == (m[6].value if 6 in m else None)
    assert got.creation_time == (m[7].value if 7 in m else None)
    assert got.creator == m.get(8)
    assert isinstance(got.describe(), str)


@settings(max_examples=400, deadline=None)
@given(_members, st.data())
def test_suit4_metadata_mutations_give_typed_errors(m: dict[int, Any], data: st.DataObject) -> None:
    with contextlib.suppress(IotSecError):  # any other exception fails the test
        decode_metadata(mutate(_meta(m), data.draw))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_suit4_metadata_random_bytes_give_typed_errors(data: bytes) -> None:
    with contextlib.suppress(IotSecError):
        decode_metadata(data)


# ------------------------------------------------------------------ POSIX representation


@pytest.mark.parametrize(
    ("members", "mode", "uid", "gid"),
    [
        ({1: R | X}, 0o555, None, None),  # defaults: every class (no explicit entry)
        ({1: R, 2: {1000: R | W}}, 0o644, 1000, None),  # the one user is the owner
        ({1: 0, 2: {0: R | W | X}, 3: {100: R | X}}, 0o750, 0, 100),
        ({2: {1000: R | W}}, 0o600, 1000, None),  # no defaults: nobody else gets anything
        ({6: cbor2.CBORTag(1, MTIME)}, None, None, None),
    ],
)
def test_suit4_metadata_posix_view(
    members: dict[int, Any], mode: int | None, uid: int | None, gid: int | None
) -> None:
    view = posix_view(decode_metadata(_meta(members)))
    assert (view.mode, view.uid, view.gid) == (mode, uid, gid)


@pytest.mark.parametrize(
    ("members", "why"),
    [
        ({1: R | int(Permission.READ_ATTR)}, "read_attr"),
        ({1: 1 << 20}, "0x100000"),
        ({2: {1000: R, 1001: R}}, "access control lists"),
        ({2: {"alice": R}}, "numeric id"),
        ({4: {1: R}}, "role"),
        ({7: cbor2.CBORTag(1, MTIME)}, "creation time"),
        ({99: 1}, "extension labels 99"),
    ],
)
def test_suit4_metadata_posix_refuses_what_it_cannot_hold(members: dict[int, Any], why: str) -> None:
    with pytest.raises(UnsupportedError, match=why):
        posix_view(decode_metadata(_meta(members)))


# ------------------------------------------------------------------ the processor (§4.6, §4.6.5)


def test_suit4_metadata_spec_example_directory_file_symlink() -> None:
    """§4.6.5's example: a directory made by write of h'', a payload fetched into it and checked,
    a symbolic link written with its target as content."""
    payload = b"example3 binary"
    install = (
        Command(Cmd.SET_COMPONENT_INDEX, 1),
        Command(OVERRIDE, {CONTENT: b"", META: _meta({5: 2})}),
        Command(Cmd.WRITE, 15),
        Command(Cmd.SET_COMPONENT_INDEX, 2),
        Command(
            Cmd.OVERRIDE_PARAMETERS,
            {
                Parameter.URI: "https://cdn.example/example3.bin",
                META: _meta({1: R | X, 6: cbor2.CBORTag(1, MTIME)}),
            },
        ),
        Command(Cmd.FETCH, 15),
        Command(OVERRIDE, {Parameter.IMAGE_DIGEST: Digest(-16, hashlib.sha256(payload).digest())}),
        Command(Cmd.IMAGE_MATCH, 15),
        Command(Cmd.SET_COMPONENT_INDEX, 0),
        Command(
            Cmd.OVERRIDE_PARAMETERS,
            {CONTENT: b"/usr/local/bin/example3", META: _meta({5: 3})},
        ),
        Command(Cmd.WRITE, 15),
    )
    store = MemoryStore()
    r = _process(_envelope(install), store, MapFetcher({"https://cdn.example/example3.bin": payload}))
    r.check()
    assert store.components == {(b"c1",): b"", (b"c2",): payload, (b"c0",): b"/usr/local/bin/example3"}
    assert store.metadata[(b"c1",)].file_type == FileType.DIRECTORY
    assert store.metadata[(b"c0",)].file_type == FileType.SYMLINK
    assert store.metadata[(b"c2",)] == ComponentMetadata(default_permissions=0b101, modification_time=MTIME)
    assert [a.kind for a in r.actions].count("metadata") == 3


@pytest.mark.parametrize(
    ("install", "why"),
    [
        (  # a directory holds no content
            (
                Command(
                    Cmd.OVERRIDE_PARAMETERS,
                    {CONTENT: b"x", META: _meta({5: 2})},
                ),
                Command(Cmd.WRITE, 15),
            ),
            "empty content",
        ),
        (  # a link needs a target
            (
                Command(
                    Cmd.OVERRIDE_PARAMETERS,
                    {CONTENT: b"", META: _meta({5: 3})},
                ),
                Command(Cmd.WRITE, 15),
            ),
            "target",
        ),
        (  # a fetch makes a regular file
            (
                Command(OVERRIDE, {Parameter.URI: "u", META: _meta({5: 2})}),
                Command(Cmd.FETCH, 15),
            ),
            "not fetch",
        ),
    ],
)
def test_suit4_metadata_file_type_rules(install: tuple[Command, ...], why: str) -> None:
    store = MemoryStore({(b"c0",): b"old"})
    r = _process(_envelope((Command(Cmd.SET_COMPONENT_INDEX, 0), *install)), store, MapFetcher({"u": b"p"}))
    assert not r.ok and r.reason == "suit.metadata.directive" and why in r.error.message  # type: ignore[union-attr]
    assert store.components == {(b"c0",): b"old"} and store.metadata == {}


def test_suit4_metadata_invalid_is_a_parse_error_in_the_report() -> None:
    install = (
        Command(Cmd.SET_COMPONENT_INDEX, 0),
        Command(OVERRIDE, {CONTENT: b"x", META: _meta({6: 5})}),
        Command(Cmd.WRITE, 15),
    )
    store = MemoryStore()
    r = _process(_envelope(install), store)
    assert not r.ok and r.reason == "suit.metadata.invalid"
    rep = report_from_result(r)
    assert rep.result is not None and rep.result.reason == Reason.CBOR_PARSE
    assert store.components == {}


class _NoMetadataStore:
    """A store without ``apply_metadata`` (a device that cannot set file metadata)."""

    def __init__(self) -> None:
        self.inner = MemoryStore()

    def __getattr__(self, name: str) -> Any:
        if name == "apply_metadata":
            raise AttributeError(name)
        return getattr(self.inner, name)


def test_suit4_metadata_not_silently_dropped_by_a_store_without_it() -> None:
    """§4.6 metadata applies at fetch/copy/write: a store that cannot apply it refuses the write
    (reason parameter-unsupported) instead of installing without it."""
    install = (
        Command(Cmd.SET_COMPONENT_INDEX, 0),
        Command(OVERRIDE, {META: _meta({1: R}), CONTENT: b"x"}),
        Command(Cmd.WRITE, 15),
    )
    store = _NoMetadataStore()
    r = _process(_envelope(install), store)
    assert not r.ok and r.reason == "suit.parameter.unsupported"
    assert store.inner.components == {}
    rep = report_from_result(r)
    assert rep.result is not None and rep.result.reason == Reason.PARAMETER_UNSUPPORTED


def test_suit4_metadata_new_content_without_metadata_resets_it() -> None:
    """Metadata belongs to the content it was applied with: a later write without the parameter
    leaves the component without metadata; a swap moves metadata with the contents."""
    with_meta = (
        Command(Cmd.SET_COMPONENT_INDEX, 0),
        Command(OVERRIDE, {META: _meta({1: R}), CONTENT: b"a"}),
        Command(Cmd.WRITE, 15),
    )
    store = MemoryStore()
    _process(_envelope(with_meta), store).check()
    assert store.metadata == {(b"c0",): ComponentMetadata(default_permissions=R)}
    swap = (
        Command(Cmd.SET_COMPONENT_INDEX, 1),
        Command(OVERRIDE, {CONTENT: b"b"}),
        Command(Cmd.WRITE, 15),
        Command(OVERRIDE, {Parameter.SOURCE_COMPONENT: 0}),
        Command(Cmd.SWAP, 15),
    )
    _process(_envelope(swap, seq=2), store).check()
    assert store.components[(b"c1",)] == b"a" and store.metadata == {
        (b"c1",): ComponentMetadata(default_permissions=R)
    }
    plain = (
        Command(Cmd.SET_COMPONENT_INDEX, 1),
        Command(OVERRIDE, {CONTENT: b"c"}),
        Command(Cmd.WRITE, 15),
    )
    _process(_envelope(plain, seq=3), store).check()
    assert store.metadata == {}


def test_suit4_capabilities_list_component_metadata() -> None:
    assert int(Parameter.COMPONENT_METADATA) in iotsec_capabilities().parameters


# ------------------------------------------------------------------ the filesystem store, for real


def _file_install(root: Path, members: dict[int, Any], content: bytes = b"#!/bin/sh\necho hi\n") -> object:
    install = (
        Command(Cmd.SET_COMPONENT_INDEX, 0),
        Command(
            Cmd.OVERRIDE_PARAMETERS,
            {CONTENT: content, META: _meta(members)},
        ),
        Command(Cmd.WRITE, 15),
    )
    return _process(_envelope(install), FileStore(root))


@pytest.mark.skipif(os.geteuid() != 0, reason="owner and group changes need root (CI runs as root)")
def test_suit4_filestore_applies_mode_owner_group_mtime(tmp_path: Path) -> None:
    members = {1: R | X, 2: {65534: R | W}, 3: {65534: R}, 6: cbor2.CBORTag(1, MTIME), 8: "builder"}
    r = _file_install(tmp_path / "store", members)
    r.check()  # type: ignore[attr-defined]
    store = FileStore(tmp_path / "store")
    st_ = os.stat(store.path_of((b"c0",)))
    assert stat.S_IMODE(st_.st_mode) == 0o645  # owner rw- (user map), group r-- (group map), other r-x
    assert (st_.st_uid, st_.st_gid, int(st_.st_mtime)) == (65534, 65534, MTIME)
    # what the file system says, read by another program
    out = subprocess.run(
        ["stat", "-c", "%a %u %g %Y", str(store.path_of((b"c0",)))],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == ["645", "65534", "65534", str(MTIME)]
    state = json.loads((store.current_generation / "state.json").read_text())
    assert state["metadata"]["c0"]["mode"] == 0o645 and state["metadata"]["c0"]["creator"] == "builder"
    assert store.metadata_of((b"c0",)) == state["metadata"]["c0"]


def test_suit4_filestore_refuses_world_writable(tmp_path: Path) -> None:
    """Local policy (least privilege): no component writable by every user, whoever signed it."""
    r = _file_install(tmp_path / "store", {1: R | W | X})
    assert not r.ok and r.reason == "suit.metadata.policy" and "777" in r.error.message  # type: ignore[attr-defined]
    assert FileStore(tmp_path / "store").components() == {}
    owner, group = {os.geteuid(): R | W | X}, {os.getegid(): R | W | X}
    _file_install(tmp_path / "store", {1: R | X, 2: owner, 3: group}).check()  # type: ignore[attr-defined]
    mode = stat.S_IMODE(os.stat(FileStore(tmp_path / "store").path_of((b"c0",))).st_mode)
    assert mode == 0o775  # group-writable is the signer's choice; other-writable is not


@pytest.mark.parametrize(
    ("members", "why"),
    [
        ({5: 2}, "regular files"),
        ({5: 3}, "regular files"),
        ({1: R | int(Permission.DELETE)}, "delete"),
        ({7: cbor2.CBORTag(1, MTIME)}, "creation time"),
    ],
)
def test_suit4_filestore_refuses_what_it_cannot_apply(
    tmp_path: Path, members: dict[int, Any], why: str
) -> None:
    store = FileStore(tmp_path / "store")
    before = store.current_generation.name
    r = _file_install(tmp_path / "store", members, b"" if members.get(5) == 2 else b"target")
    assert not r.ok and r.reason == "suit.parameter.unsupported.metadata" and why in r.error.message  # type: ignore[attr-defined]
    rep = report_from_result(r)  # type: ignore[arg-type]
    assert rep.result is not None and rep.result.reason == Reason.PARAMETER_UNSUPPORTED
    assert FileStore(tmp_path / "store").current_generation.name == before  # nothing committed


_UNPRIVILEGED = """
import sys
sys.path[:0] = {paths!r}
from cbor2 import CBORTag
from test_suit4_metadata import _file_install
r = _file_install(__import__("pathlib").Path({root!r}), {members!r})
print(r.ok, r.reason)
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to an unprivileged user needs root")
def test_suit4_filestore_unprivileged_agent_keeps_what_it_may_do() -> None:
    """An agent running as nobody (a second process, setpriv) may not give the file away or make
    it unreadable to itself; it may set a mode it keeps rw on and the mtime."""
    top = Path(tempfile.mkdtemp(prefix="iotsec-meta-"))  # outside pytest's root-only tmp tree
    try:
        os.chmod(top, 0o755)
        root = top / "store"
        root.mkdir()
        os.chown(root, 65534, 65534)
        here = str(Path(__file__).parent)
        paths = [here, *sys.path]

        def run(members: dict[int, Any]) -> str:
            code = _UNPRIVILEGED.format(paths=paths, root=str(root), members=members)
            out = subprocess.run(
                ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", code],
                capture_output=True,
                check=False,
                text=True,
                timeout=120,
                cwd=here,
                env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            )
            assert out.returncode == 0, out.stderr[-2000:]
            return out.stdout.strip().splitlines()[-1]

        assert run({2: {0: R | W}}) == "False suit.parameter.unsupported.metadata"  # give it to root
        assert run({1: R}) == "False suit.parameter.unsupported.metadata"  # r--: could not replace it
        assert run({1: R, 2: {65534: R | W}, 6: cbor2.CBORTag(1, MTIME)}) == "True"
        st_ = os.stat(FileStore(root).path_of((b"c0",)))
        assert (stat.S_IMODE(st_.st_mode), st_.st_uid, int(st_.st_mtime)) == (0o644, 65534, MTIME)
    finally:
        shutil.rmtree(top, ignore_errors=True)


# ------------------------------------------------------------------ the builder (author side)


def test_suit4_builder_writes_the_spec_example_and_it_processes(shared_vectors: Path) -> None:
    """The description form of §4.6.5's example builds a manifest whose metadata parameters pass
    the draft's CDDL (pycddl) and which processes to a directory, a file and a link."""
    payload = b"#!/bin/sh\necho example3\n"
    desc = {
        "manifest-sequence-number": 1,
        "components": [
            {"component-id": ["usr", "bin", "example"], "link-target": "/usr/local/bin/example3"},
            {"component-id": ["usr", "local", "bin"], "directory": True},
            {
                "component-id": ["usr", "local", "bin", "example3"],
                "file": "example3.bin",
                "uri": "https://cdn.example/example3.bin",
                "metadata": {
                    "default-permissions": "r-x",
                    "user-permissions": {"0": "rwx"},
                    "group-permissions": {"100": ["list_read", "traverse_exec"]},
                    "modification-time": MTIME,
                    "creator": "build-42",
                },
            },
        ],
    }
    env = sign_envelope(build_extended(desc, {"example3.bin": payload}), keys=[(KEY, Algorithm.ES256)])
    install = env.manifest.sequences[ManifestKey.INSTALL]
    assert isinstance(install, tuple)
    values = [c.arg[META] for c in install if c.code == Cmd.OVERRIDE_PARAMETERS and META in c.arg]
    schema = _report_cddl(shared_vectors, "SUIT_Component_Metadata")
    for v in values:
        schema.validate_cbor(v)  # type: ignore[attr-defined]
    assert [cbor2.loads(v) for v in values] == [
        {5: 2},  # the directory
        {1: 5, 2: {0: 7}, 3: {100: 5}, 6: datetime.fromtimestamp(MTIME, UTC), 8: "build-42"},  # r-x, rwx
        {5: 3},  # the link
    ]
    # the directory is written before the fetch into it, the link after
    codes = [c.code for c in install]
    writes = [n for n, code in enumerate(codes) if code == Cmd.WRITE]
    assert writes[0] < codes.index(Cmd.FETCH) < writes[1]
    store = MemoryStore()
    r = _process(
        codec.decode(codec.encode(env)), store, MapFetcher({"https://cdn.example/example3.bin": payload})
    )
    r.check()
    example3 = (b"usr", b"local", b"bin", b"example3")
    assert store.components[example3] == payload
    assert store.metadata[(b"usr", b"local", b"bin")].file_type == FileType.DIRECTORY
    assert store.components[(b"usr", b"bin", b"example")] == b"/usr/local/bin/example3"
    assert store.metadata[(b"usr", b"bin", b"example")].file_type == FileType.SYMLINK
    assert posix_view(store.metadata[example3]).mode == 0o755


@pytest.mark.parametrize(
    ("component", "why"),
    [
        ({"directory": True, "link-target": "/x"}, "not both"),
        ({"directory": True, "uri": "https://u"}, "no payload"),
        ({"metadata": {"default-permissions": "rwz"}}, "permissions"),
        ({"metadata": {"default-permissions": ["fly"]}}, "unknown permission bit 'fly'"),
        ({"metadata": {"modification-time": -1}}, "POSIX seconds"),
        ({"metadata": {"colour": "red"}}, "unknown metadata keys"),
        ({"metadata": {"file-type": "fifo"}}, "regular, directory or symlink"),
        ({"metadata": {"file-type": "directory"}}, "disagrees"),
    ],
)
def test_suit4_builder_refuses_bad_metadata_descriptions(component: dict[str, Any], why: str) -> None:
    desc = {"manifest-sequence-number": 1, "components": [{"component-id": ["a"], **component}]}
    with pytest.raises(ValidationError, match=why):
        build_extended(desc, {})


def test_suit4_filestore_swap_and_metadata(tmp_path: Path) -> None:
    """The file store does not move metadata in a swap: swapping a component that has some is
    refused; a swap of two others is not affected by it."""
    root = tmp_path / "store"
    _file_install(root, {1: R | X}).check()  # type: ignore[attr-defined]  # c0, with metadata

    def swap(seq: int, a: int, b: int) -> object:
        install = (
            Command(Cmd.SET_COMPONENT_INDEX, 1),
            Command(OVERRIDE, {CONTENT: b"one"}),
            Command(Cmd.WRITE, 15),
            Command(Cmd.SET_COMPONENT_INDEX, 2),
            Command(OVERRIDE, {CONTENT: b"two"}),
            Command(Cmd.WRITE, 15),
            Command(Cmd.SET_COMPONENT_INDEX, a),
            Command(OVERRIDE, {Parameter.SOURCE_COMPONENT: b}),
            Command(Cmd.SWAP, 15),
        )
        return _process(_envelope(install, seq=seq), FileStore(root))

    r = swap(2, 1, 0)
    assert not r.ok and r.reason == "suit.parameter.unsupported.metadata"  # type: ignore[attr-defined]
    assert FileStore(root).sequence_number == 1
    swap(2, 1, 2).check()  # type: ignore[attr-defined]
    store = FileStore(root)
    assert store.path_of((b"c1",)).read_bytes() == b"two" and store.path_of((b"c2",)).read_bytes() == b"one"
    assert store.metadata_of((b"c0",)) is not None and store.metadata_of((b"c1",)) is None
