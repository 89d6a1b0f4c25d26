"""draft-ietf-suit-trust-domains: the WG's examples on a store, and the failure cases."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from suit4_helpers import TD, MapFetcher, envelope, process, read_hex

from iotsec.core.cose import Algorithm, CoseKey
from iotsec.core.suit import builder, codec
from iotsec.core.suit.auth import sign_envelope
from iotsec.core.suit.companion import SuitResult
from iotsec.core.suit.digest import make_digest
from iotsec.core.suit.model import Command, Common, Digest, Manifest
from iotsec.core.suit.registry import Command as Cmd
from iotsec.core.suit.registry import ManifestKey, Parameter
from iotsec.core.suit.store import MemoryStore

DEP_URI = "http://example.com/dependent.suit"


def test_suit4_td_example0_dependent(shared_vectors: Path) -> None:
    """The dependency alone: writes 'hello world' to ['00'], invokes 'cat 00', and is stored at its
    manifest-component-id ['dependent.suit']."""
    raw = read_hex(shared_vectors / TD / "example0_dependent.hex")
    store = MemoryStore()
    r = process(codec.decode(raw), store)
    r.check()
    assert store.components[(b"00",)] == b"hello world"
    assert store.components[(b"dependent.suit",)] == raw
    assert [(a.kind, a.arguments) for a in r.invocations] == [("invoke", b"cat 00")]


@pytest.mark.parametrize("name", ["example1_process", "example2_integrated"])
def test_suit4_td_dependent_processes_dependency(shared_vectors: Path, name: str) -> None:
    """Example 0 of Appendix B (fetched dependency) and Example 1 (integrated dependency): the
    dependency is fetched and checked in dependency-resolution, processed in install; the
    invocation is 'cat 00 10' over both components."""
    dep = read_hex(shared_vectors / TD / "example0_dependent.hex")
    fetcher = MapFetcher({DEP_URI: dep})
    store = MemoryStore()
    r = process(envelope(shared_vectors, TD, f"{name}.hex"), store, fetcher)
    r.check()
    assert store.components[(b"00",)] == b"hello world"
    assert store.components[(b"10",)] == b" in multiple trust domains"
    assert store.components[(b"dependent.suit",)] == dep
    assert (b"depending.suit",) in store.components
    assert fetcher.asked == ([DEP_URI] if name == "example1_process" else [])
    assert [a.arguments for a in r.invocations] == [b"cat 00 10"]
    # lockstep: the dependency's records (manifest id [0]) come from its install section (20)
    dep_records = [rec for rec in r.ext_records if rec.manifest_id == (0,)]
    assert dep_records and {rec.section for rec in dep_records} == {int(ManifestKey.INSTALL)}
    # dependency-resolution ran before install
    sections = [rec.section for rec in r.ext_records if rec.manifest_id == ()]
    assert sections.index(int(ManifestKey.DEPENDENCY_RESOLUTION)) < sections.index(int(ManifestKey.INSTALL))


def test_suit4_td_missing_dependency_aborts(shared_vectors: Path) -> None:
    store = MemoryStore()
    r = process(envelope(shared_vectors, TD, "example1_process.hex"), store, MapFetcher({}))
    assert not r.ok and r.reason == "suit.fetch.notfound"
    assert store.components == {} and store.commits == 0


def test_suit4_td_substituted_dependency_refused(shared_vectors: Path) -> None:
    """Another validly signed manifest served at the dependency's URI fails image-match on the
    manifest digest (trust-domains §5.2.2)."""
    other = read_hex(shared_vectors / TD / "example2_integrated.hex")
    store = MemoryStore()
    r = process(envelope(shared_vectors, TD, "example1_process.hex"), store, MapFetcher({DEP_URI: other}))
    assert not r.ok and r.reason == "suit.condition.image-match"
    assert store.components == {}


def test_suit4_td_untrusted_dependency_refused(shared_vectors: Path) -> None:
    """The dependency must verify too: a device that trusts only a key that signs the dependent
    (re-signed here) refuses the dependency signed by the example key."""
    root = CoseKey.generate(Algorithm.ES256)
    env = envelope(shared_vectors, TD, "example1_process.hex")
    resigned = sign_envelope(env, keys=[(root, Algorithm.ES256)], replace=True)
    dep = read_hex(shared_vectors / TD / "example0_dependent.hex")
    store = MemoryStore()
    r = process(resigned, store, MapFetcher({DEP_URI: dep}), anchors=[root])
    assert not r.ok and r.reason == "suit.auth.failed"
    assert store.components == {}


def _dependent(dep_env_bytes: bytes, install: tuple[Command, ...], uri: str = "#dep") -> bytes:
    """A dependent with components ['10'], ['00'] and one dependency (index 2, prefix ['dep'])
    integrated under ``uri``."""
    dep_env = codec.decode(dep_env_bytes)
    assert dep_env.authentication is not None
    digest: Digest = dep_env.authentication.digest
    resolution = (
        Command(Cmd.SET_COMPONENT_INDEX, 2),
        Command(Cmd.OVERRIDE_PARAMETERS, {Parameter.IMAGE_DIGEST: digest, Parameter.URI: uri}),
        Command(Cmd.FETCH, 2),
    )
    man = Manifest(
        1,
        Common(((b"10",), (b"00",)), None, {2: {1: [b"dep"]}}),
        sequences={ManifestKey.DEPENDENCY_RESOLUTION: resolution, ManifestKey.INSTALL: install},
    )
    env = builder.envelope_for(man, integrated={uri: dep_env_bytes})
    return codec.encode(sign_envelope(env, keys=[(_KEY, Algorithm.ES256)]))


_KEY = CoseKey.generate(Algorithm.ES256)


def _leaf(code: int = Cmd.OVERRIDE_PARAMETERS) -> bytes:
    man = Manifest(
        1,
        Common(((b"00",),)),
        sequences={
            ManifestKey.INSTALL: (
                Command(code, {Parameter.CONTENT: b"leaf"}),
                Command(Cmd.WRITE, 15),
            )
        },
    )
    return codec.encode(sign_envelope(builder.envelope_for(man), keys=[(_KEY, Algorithm.ES256)]))


def test_suit4_td_process_without_integrity_check_aborts() -> None:
    """§5.6.2: process-dependency on a dependency never integrity-checked aborts."""
    data = _dependent(_leaf(), (Command(Cmd.SET_COMPONENT_INDEX, 2), Command(Cmd.PROCESS_DEPENDENCY, 0)))
    store = MemoryStore()
    r = process(codec.decode(data), store, anchors=[_KEY.public()])
    assert not r.ok and r.reason == "suit.dependency.unchecked"
    assert store.components == {}


@pytest.mark.parametrize(
    ("leaf_code", "expected"), [(Cmd.OVERRIDE_PARAMETERS, b"leaf"), (Cmd.SET_PARAMETERS, b"dependent")]
)
def test_suit4_td_set_parameters_reach_the_dependency(leaf_code: int, expected: bytes) -> None:
    """§5.6.1: a dependent's set-parameters before process-dependency replaces a dependency's
    set-parameters default, but not its override-parameters."""
    leaf = _leaf(leaf_code)
    d = codec.decode(leaf).authentication.digest  # type: ignore[union-attr]
    install = (
        Command(Cmd.SET_COMPONENT_INDEX, 1),
        Command(Cmd.SET_PARAMETERS, {Parameter.CONTENT: b"dependent"}),
        Command(Cmd.SET_COMPONENT_INDEX, 2),
        Command(Cmd.OVERRIDE_PARAMETERS, {Parameter.IMAGE_DIGEST: d}),
        Command(Cmd.DEPENDENCY_INTEGRITY, 15),
        Command(Cmd.PROCESS_DEPENDENCY, 15),
    )
    store = MemoryStore()
    r = process(codec.decode(_dependent(leaf, install)), store, anchors=[_KEY.public()])
    r.check()
    assert store.components[(b"00",)] == expected
    assert store.components[(b"dep",)] == leaf


def test_suit4_td_dependency_integrity_digest_mismatch() -> None:
    leaf = _leaf()
    install = (
        Command(Cmd.SET_COMPONENT_INDEX, 2),
        Command(Cmd.OVERRIDE_PARAMETERS, {Parameter.IMAGE_DIGEST: make_digest(b"something else")}),
        Command(Cmd.DEPENDENCY_INTEGRITY, 15),
        Command(Cmd.PROCESS_DEPENDENCY, 15),
    )
    store = MemoryStore()
    r = process(codec.decode(_dependent(leaf, install)), store, anchors=[_KEY.public()])
    assert not r.ok and r.reason == "suit.dependency.digest"
    assert store.components == {}


def test_suit4_td_is_dependency_and_try_each() -> None:
    """§7.4 "Operating on Multiple Components": is-dependency selects dependencies under index True."""
    leaf = _leaf()
    d = codec.decode(leaf).authentication.digest  # type: ignore[union-attr]
    seq_dep = (
        Command(Cmd.IS_DEPENDENCY, 15),
        Command(Cmd.DEPENDENCY_INTEGRITY, 15),
        Command(Cmd.PROCESS_DEPENDENCY, 15),
    )
    seq_img = (Command(Cmd.OVERRIDE_PARAMETERS, {Parameter.CONTENT: b"img"}), Command(Cmd.WRITE, 15))
    install = (
        Command(Cmd.SET_COMPONENT_INDEX, 2),
        Command(Cmd.OVERRIDE_PARAMETERS, {Parameter.IMAGE_DIGEST: d}),
        Command(Cmd.SET_COMPONENT_INDEX, (0, 2)),
        Command(Cmd.TRY_EACH, (seq_dep, seq_img)),
    )
    store = MemoryStore()
    r = process(codec.decode(_dependent(leaf, install)), store, anchors=[_KEY.public()])
    r.check()
    assert store.components[(b"10",)] == b"img"  # not a dependency: the second sequence
    assert store.components[(b"00",)] == b"leaf"  # written by the dependency


def test_suit4_td_uninstall_procedure_needs_refcounting_store() -> None:
    man = Manifest(1, Common(((b"00",),)), sequences={ManifestKey.UNINSTALL: (Command(Cmd.UNLINK, 15),)})
    env = sign_envelope(builder.envelope_for(man), keys=[(_KEY, Algorithm.ES256)])
    r = process(replace(env), MemoryStore(), anchors=[_KEY.public()], procedure="uninstall")
    assert not r.ok and r.reason == "suit.unlink.unsupported"


def test_suit4_td_try_each_restores_shared_parameters() -> None:
    """§8.4.10.2: a failed try-each alternative leaves no parameter behind, also with the
    parameter tables that the manifest tree shares by component id."""
    install = (
        Command(Cmd.SET_COMPONENT_INDEX, 0),
        Command(Cmd.OVERRIDE_PARAMETERS, {Parameter.CONTENT: b"good"}),
        Command(
            Cmd.TRY_EACH,
            (
                (Command(Cmd.OVERRIDE_PARAMETERS, {Parameter.CONTENT: b"bad"}), Command(Cmd.ABORT, 15)),
                (Command(Cmd.WRITE, 15),),
            ),
        ),
    )
    man = Manifest(1, Common(((b"00",),)), sequences={ManifestKey.INSTALL: install})
    env = codec.decode(codec.encode(sign_envelope(builder.envelope_for(man), keys=[(_KEY, Algorithm.ES256)])))
    store = MemoryStore()
    process(env, store, anchors=[_KEY.public()]).check()
    assert store.components[(b"00",)] == b"good"


def test_suit4_td_uninstall_unlinks_once() -> None:
    """Install links the manifest's components; uninstall (§6) unlinks them and the last unlink
    removes the component; a manifest cannot unlink twice (§5.6.5)."""
    from iotsec.core.suit.dependencies import RefCountingMemoryStore

    man = Manifest(
        1,
        Common(((b"00",),)),
        sequences={
            ManifestKey.INSTALL: (
                Command(Cmd.OVERRIDE_PARAMETERS, {Parameter.CONTENT: b"x"}),
                Command(Cmd.WRITE, 15),
            ),
            ManifestKey.UNINSTALL: (Command(Cmd.UNLINK, 15),),
        },
    )
    env = codec.decode(codec.encode(sign_envelope(builder.envelope_for(man), keys=[(_KEY, Algorithm.ES256)])))
    store = RefCountingMemoryStore()
    process(env, store, anchors=[_KEY.public()], procedure="update").check()  # type: ignore[arg-type]
    assert store.inner.components == {(b"00",): b"x"}
    process(env, store, anchors=[_KEY.public()], procedure="uninstall").check()  # type: ignore[arg-type]
    assert store.inner.components == {}
    again = process(env, store, anchors=[_KEY.public()], procedure="uninstall")  # type: ignore[arg-type]
    assert not again.ok and again.reason == "suit.unlink.twice"


def test_suit4_td_candidate_verification_runs_between_fetch_and_install() -> None:
    """trust-domains §6: staging (dependency-resolution, payload-fetch), then installation
    (candidate-verification, install)."""
    seqs = {
        ManifestKey.PAYLOAD_FETCH: (
            Command(Cmd.OVERRIDE_PARAMETERS, {Parameter.CONTENT: b"1"}),
            Command(Cmd.WRITE, 15),
        ),
        ManifestKey.CANDIDATE_VERIFICATION: (
            Command(Cmd.OVERRIDE_PARAMETERS, {Parameter.CONTENT: b"1"}),
            Command(Cmd.CHECK_CONTENT, 15),
        ),
        ManifestKey.INSTALL: (
            Command(Cmd.OVERRIDE_PARAMETERS, {Parameter.CONTENT: b"2"}),
            Command(Cmd.WRITE, 15),
        ),
    }
    man = Manifest(1, Common(((b"00",),)), sequences=seqs)
    env = codec.decode(codec.encode(sign_envelope(builder.envelope_for(man), keys=[(_KEY, Algorithm.ES256)])))
    store = MemoryStore()
    r = process(env, store, anchors=[_KEY.public()], procedure="update")
    r.check()
    sections = [rec.section for rec in r.ext_records if rec.command != Cmd.OVERRIDE_PARAMETERS]
    assert sections == [16, 18, 20]
    assert store.components[(b"00",)] == b"2"


@pytest.mark.parametrize("name", ["example0_dependent", "example1_process", "example2_integrated"])
def test_suit4_td_examples_on_a_filesystem_store(shared_vectors: Path, tmp_path: Path, name: str) -> None:
    """The same examples on the device's filesystem store (atomic generations); processing the
    same manifest again is refused as a rollback (sequence number not greater)."""
    from iotsec.agent.suit_stream import SpoolingFileStore

    dep = read_hex(shared_vectors / TD / "example0_dependent.hex")
    store = SpoolingFileStore(tmp_path / "store")
    env = envelope(shared_vectors, TD, f"{name}.hex")
    r = process(env, store, MapFetcher({DEP_URI: dep}))
    r.check()
    files = {cid: p.read_bytes() for cid, p in store.components().items()}
    assert files[(b"00",)] == b"hello world"
    if name != "example0_dependent":
        assert files[(b"10",)] == b" in multiple trust domains"
    assert store.sequence_number == 0
    again = process(env, store, fetcher=MapFetcher({DEP_URI: dep}), stored_sequence=store.sequence_number)
    assert not again.ok and again.reason == "suit.rollback"
    # the invocation procedure later (a reboot): same manifest, nothing fetched, the invoke action
    boot = process(
        env, store, fetcher=MapFetcher({}), procedure="invoke", stored_sequence=store.sequence_number
    )
    boot.check()
    assert [a.arguments for a in boot.invocations] == [
        b"cat 00" if name == "example0_dependent" else b"cat 00 10"
    ]


def test_suit4_td_staging_then_installation() -> None:
    """trust-domains §6: the Staging Procedure fetches into a staging component (its writes are
    kept, the sequence number is not advanced); the Installation Procedure verifies the candidate
    and installs, and only then is the sequence number committed."""
    image = b"new image"
    d = make_digest(image)
    seqs = {
        ManifestKey.PAYLOAD_FETCH: (
            Command(Cmd.SET_COMPONENT_INDEX, 1),
            Command(Cmd.OVERRIDE_PARAMETERS, {Parameter.URI: "https://cdn/x", Parameter.IMAGE_DIGEST: d}),
            Command(Cmd.FETCH, 15),
        ),
        ManifestKey.CANDIDATE_VERIFICATION: (
            Command(Cmd.SET_COMPONENT_INDEX, 1),
            Command(Cmd.OVERRIDE_PARAMETERS, {Parameter.IMAGE_DIGEST: d}),
            Command(Cmd.IMAGE_MATCH, 15),
        ),
        ManifestKey.INSTALL: (
            Command(Cmd.SET_COMPONENT_INDEX, 0),
            Command(Cmd.OVERRIDE_PARAMETERS, {Parameter.SOURCE_COMPONENT: 1}),
            Command(Cmd.COPY, 15),
        ),
    }
    man = Manifest(5, Common(((b"app",), (b"staging",))), sequences=seqs)
    env = codec.decode(codec.encode(sign_envelope(builder.envelope_for(man), keys=[(_KEY, Algorithm.ES256)])))
    store = MemoryStore(sequence_number=4)
    fetcher = MapFetcher({"https://cdn/x": image})

    def run(store: MemoryStore, fetcher: MapFetcher, procedure: str) -> SuitResult:
        """One procedure on a device whose stored sequence number is 4."""
        return process(
            env, store, anchors=[_KEY.public()], fetcher=fetcher, procedure=procedure, stored_sequence=4
        )

    run(store, fetcher, "stage").check()
    assert store.components == {(b"staging",): image} and store.sequence_number == 4
    run(store, MapFetcher({}), "install").check()
    assert store.components[(b"app",)] == image and store.sequence_number == 5
    # a tampered staging area fails candidate verification and installs nothing
    store2 = MemoryStore({(b"staging",): b"tampered"}, sequence_number=4)
    bad = run(store2, MapFetcher({}), "install")
    assert not bad.ok and bad.reason == "suit.condition.image-match"
    assert (b"app",) not in store2.components and store2.sequence_number == 4


def test_suit4_td_process_dependency_with_index_true() -> None:
    """§5.6.2: with component index True, process-dependency applies to the dependencies only."""
    leaf = _leaf()
    d = codec.decode(leaf).authentication.digest  # type: ignore[union-attr]
    install = (
        Command(Cmd.SET_COMPONENT_INDEX, 2),
        Command(Cmd.OVERRIDE_PARAMETERS, {Parameter.IMAGE_DIGEST: d}),
        Command(Cmd.DEPENDENCY_INTEGRITY, 15),
        Command(Cmd.SET_COMPONENT_INDEX, True),
        Command(Cmd.PROCESS_DEPENDENCY, 15),
    )
    store = MemoryStore()
    process(codec.decode(_dependent(leaf, install)), store, anchors=[_KEY.public()]).check()
    assert store.components[(b"00",)] == b"leaf"


def test_suit4_td_refcounts_persist_on_the_filesystem(tmp_path: Path) -> None:
    """Reference counts on the filesystem store survive a restart (a new store object) and are
    committed atomically with the components; two manifests share a component until both unlink."""
    from iotsec.agent.suit_stream import RefCountingFileStore

    def manifest(seq: int, content: bytes) -> object:
        man = Manifest(
            seq,
            Common(((b"lib",),)),
            sequences={
                ManifestKey.INSTALL: (
                    Command(Cmd.OVERRIDE_PARAMETERS, {Parameter.CONTENT: content}),
                    Command(Cmd.WRITE, 15),
                ),
                ManifestKey.UNINSTALL: (Command(Cmd.UNLINK, 15),),
            },
        )
        return codec.decode(
            codec.encode(sign_envelope(builder.envelope_for(man), keys=[(_KEY, Algorithm.ES256)]))
        )

    a, b = manifest(1, b"lib"), manifest(2, b"lib")
    process(a, RefCountingFileStore(tmp_path / "s"), anchors=[_KEY.public()], procedure="update").check()  # type: ignore[arg-type]
    process(b, RefCountingFileStore(tmp_path / "s"), anchors=[_KEY.public()], procedure="update").check()  # type: ignore[arg-type]
    assert RefCountingFileStore(tmp_path / "s").references((b"lib",)) == 2
    # uninstalling an older manifest is not a rollback (it installs nothing)
    s1 = RefCountingFileStore(tmp_path / "s")
    process(a, s1, anchors=[_KEY.public()], procedure="uninstall", stored_sequence=s1.sequence_number).check()  # type: ignore[arg-type]
    store = RefCountingFileStore(tmp_path / "s")
    assert store.references((b"lib",)) == 1 and (b"lib",) in store.components()
    process(b, store, anchors=[_KEY.public()], procedure="uninstall").check()  # type: ignore[arg-type]
    store = RefCountingFileStore(tmp_path / "s")
    assert store.references((b"lib",)) == 0 and (b"lib",) not in store.components()


def test_suit4_td_untyped_fetcher_failure_aborts_the_transaction(shared_vectors: Path) -> None:
    """A fetcher that fails with an OS error (not a typed error): it propagates, and the staged
    writes are dropped."""

    class Broken:
        def fetch(self, uri: str, arguments: bytes | None) -> bytes:
            raise ConnectionResetError("peer went away")

    store = MemoryStore()
    with pytest.raises(ConnectionResetError):
        process(envelope(shared_vectors, TD, "example1_process.hex"), store, Broken())
    assert store._staged is None and store.components == {}
