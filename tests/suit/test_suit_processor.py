"""The processor's command semantics (draft-ietf-suit-manifest §6, §8.4.9, §8.4.10).

Envelopes here are unsigned and processed with ``authenticated=True`` (the manifest digest is
still checked); signed processing is in test_suit_signed.py.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from suit_helpers import manifest, realize, wrap
from suit_vectors import IMAGE_A, IMAGE_B, load_example

from iotsec.core.suit import codec
from iotsec.core.suit.model import Command, Digest
from iotsec.core.suit.processor import DeviceIdentity, Procedure, process
from iotsec.core.suit.registry import Command as C
from iotsec.core.suit.registry import Parameter as P
from iotsec.core.suit.store import MemoryStore
from iotsec.errors import NotFoundError, PolicyError, UnsupportedError, ValidationError, VerifyError

VENDOR = bytes.fromhex("fa6b4a53d5ad5fdfbe9de663e4d41ffe")
CLASS = bytes.fromhex("1492af1425695e48bf429b2d51f2ab45")
ID = DeviceIdentity(frozenset({VENDOR}), frozenset({CLASS}))
C0, C1, C2 = (b"\x00",), (b"\x01",), (b"\x02",)


class Payloads:
    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    def fetch(self, uri: str, arguments: bytes | None) -> bytes:
        name = uri.rsplit("/", 1)[-1]
        if name not in self.files:
            raise NotFoundError(uri, reason="suit.fetch.notfound")
        return self.files[name]


def run(env, store, identity=ID, **kw):  # type: ignore[no-untyped-def]
    kw.setdefault("stored_sequence", store.sequence_number)
    return process(
        env, trust_anchors=[], identity=identity, now=1_700_000_000, store=store, authenticated=True, **kw
    )


def sha(data: bytes) -> Digest:
    return Digest(-16, hashlib.sha256(data).digest())


def example(shared_vectors: Path, name: str):  # type: ignore[no-untyped-def]
    return realize(codec.decode(load_example(shared_vectors, name).signed))


# ------------------------------------------------------------------ the spec examples


def test_example0_secure_boot(shared_vectors: Path) -> None:
    env = example(shared_vectors, "example0")
    store = MemoryStore({C0: IMAGE_A})
    r = run(env, store, procedure=Procedure.INVOKE)
    assert r.ok and [a.kind for a in r.actions] == ["invoke"]
    # a modified image fails image-match in validate
    bad = MemoryStore({C0: IMAGE_A[:-1] + b"\x00"})
    r = run(env, bad, procedure=Procedure.INVOKE)
    assert not r.ok and r.reason == "suit.condition.image-match" and r.invocations == []
    with pytest.raises(PolicyError):
        r.check()
    # another vendor's device fails the vendor condition of the shared sequence
    other = DeviceIdentity(frozenset({b"\x11" * 16}), frozenset({CLASS}))
    r = run(env, MemoryStore({C0: IMAGE_A}), identity=other, procedure=Procedure.INVOKE)
    assert r.reason == "suit.condition.vendor-identifier"


def test_example1_download_and_install(shared_vectors: Path) -> None:
    env = example(shared_vectors, "example1")
    store = MemoryStore(sequence_number=0)
    r = run(env, store, fetcher=Payloads({"file.bin": IMAGE_A}))
    assert r.ok and r.committed
    assert store.components[C0] == IMAGE_A and store.sequence_number == 1
    # the wrong payload is fetched, fails image-match, and nothing is committed
    store = MemoryStore({C0: b"old"}, sequence_number=0)
    r = run(env, store, fetcher=Payloads({"file.bin": IMAGE_B}))
    assert r.reason == "suit.condition.image-match" and not r.committed
    assert store.components[C0] == b"old" and store.sequence_number == 0
    # no payload source at all
    r = run(env, MemoryStore(), fetcher=Payloads({}))
    assert r.reason == "suit.fetch.notfound" and isinstance(r.error, NotFoundError)


def test_example1_rollback_is_refused(shared_vectors: Path) -> None:
    env = example(shared_vectors, "example1")
    for stored in (1, 2):
        with pytest.raises(PolicyError) as e:
            run(env, MemoryStore(sequence_number=stored), fetcher=Payloads({"file.bin": IMAGE_A}))
        assert e.value.reason == "suit.rollback"


def test_example2_severed_install(shared_vectors: Path) -> None:
    env = example(shared_vectors, "example2")
    assert env.severed  # install and text are in the envelope
    store = MemoryStore()
    r = run(env, store, fetcher=Payloads({"file.bin": IMAGE_A}))
    assert r.ok and store.components[C0] == IMAGE_A and [a.kind for a in r.actions] == ["fetch", "invoke"]
    # without the severed install the update cannot run
    from dataclasses import replace

    cut = replace(env, severed={}, severed_values={})
    with pytest.raises(PolicyError) as e:
        run(cut, MemoryStore(), fetcher=Payloads({"file.bin": IMAGE_A}))
    assert e.value.reason == "suit.severed.absent"
    # a severed member that does not match its digest
    tampered = replace(env, severed={**env.severed, 20: env.severed[20][:-1] + b"\x0e"})
    with pytest.raises(VerifyError):
        run(tampered, MemoryStore(), fetcher=Payloads({"file.bin": IMAGE_A}))


@pytest.mark.parametrize(("slot", "image", "uri"), [(0, IMAGE_A, "file1.bin"), (1, IMAGE_B, "file2.bin")])
def test_example3_ab_slots(shared_vectors: Path, slot: int, image: bytes, uri: str) -> None:
    env = example(shared_vectors, "example3")
    store = MemoryStore(slots={C0: slot})
    r = run(env, store, fetcher=Payloads({"file1.bin": IMAGE_A, "file2.bin": IMAGE_B}))
    assert r.ok, r.reason
    assert store.components[C0] == image
    assert [a.detail for a in r.actions if a.kind == "fetch"] == [f"http://example.com/{uri}"]
    # a device without that slot: neither try-each branch succeeds
    r = run(env, MemoryStore(slots={C0: 7}), fetcher=Payloads({"file1.bin": IMAGE_A}))
    assert r.reason == "suit.try-each.exhausted"


def test_example4_load_from_external_storage(shared_vectors: Path) -> None:
    # Example 4 copies [h'00'] to [h'01'] in suit-load and expects the second digest: the
    # decompression step of older drafts is gone, so with a plain copy the load image equals
    # the installed one; the example is satisfied by giving both digests to the same image.
    raw = codec.decode(load_example(shared_vectors, "example4").signed)
    from suit_vectors import SAMPLE_A, SAMPLE_B

    env = realize(raw, {SAMPLE_A: IMAGE_A, SAMPLE_B: IMAGE_A})
    store = MemoryStore()
    r = run(env, store, fetcher=Payloads({"file.bin": IMAGE_A}))
    assert r.ok, r.reason
    assert store.components == {C0: IMAGE_A, C1: IMAGE_A, C2: IMAGE_A}
    assert [a.kind for a in r.actions] == ["fetch", "copy", "copy", "invoke"]
    assert r.invocations[0].component == C1
    # with the two distinct sample digests the load step cannot be satisfied by a copy
    r = run(realize(raw), MemoryStore(), fetcher=Payloads({"file.bin": IMAGE_A}))
    assert r.reason == "suit.condition.image-match"


def test_example5_two_images(shared_vectors: Path) -> None:
    env = example(shared_vectors, "example5")
    store = MemoryStore()
    r = run(env, store, fetcher=Payloads({"file1.bin": IMAGE_A, "file2.bin": IMAGE_B}))
    assert r.ok
    assert store.components == {C0: IMAGE_A, C1: IMAGE_B}
    r = run(env, MemoryStore(), fetcher=Payloads({"file1.bin": IMAGE_A, "file2.bin": IMAGE_A}))
    assert r.reason == "suit.condition.image-match"
    assert r.records[-1].component == 1


# ------------------------------------------------------------------ command semantics


def idcheck() -> tuple[Command, ...]:
    return (
        Command(C.OVERRIDE_PARAMETERS, {P.VENDOR_IDENTIFIER: VENDOR, P.CLASS_IDENTIFIER: CLASS}),
        Command(C.VENDOR_IDENTIFIER, 15),
        Command(C.CLASS_IDENTIFIER, 15),
    )


def seq(*cmds: tuple[int, object]) -> tuple[Command, ...]:
    return tuple(Command(c, a) for c, a in cmds)


def test_try_each_soft_failure_defaults_and_override() -> None:
    first = seq((C.ABORT, 0))
    second = seq((C.OVERRIDE_PARAMETERS, {P.CONTENT: b"two"}), (C.WRITE, 0))
    m = manifest([C0], shared=idcheck(), install=seq((C.TRY_EACH, (first, second))))
    store = MemoryStore()
    assert run(wrap(m), store).ok and store.components[C0] == b"two"
    # soft-failure set to False inside the first sequence: try-each fails at once (§8.4.8.15)
    hard_first = seq((C.OVERRIDE_PARAMETERS, {P.SOFT_FAILURE: False}), (C.ABORT, 0))
    m = manifest([C0], shared=idcheck(), install=seq((C.TRY_EACH, (hard_first, second))))
    r = run(wrap(m), MemoryStore())
    assert r.reason == "suit.condition.abort"
    # all fail -> error; a trailing nil makes it succeed (§8.4.10.2)
    m = manifest([C0], shared=idcheck(), install=seq((C.TRY_EACH, (first, first))))
    assert run(wrap(m), MemoryStore()).reason == "suit.try-each.exhausted"
    m = manifest([C0], shared=idcheck(), install=seq((C.TRY_EACH, (first, first, None))))
    assert run(wrap(m), MemoryStore()).ok


def test_try_each_failed_branch_leaves_no_parameters() -> None:
    first = seq((C.OVERRIDE_PARAMETERS, {P.CONTENT: b"leak"}), (C.ABORT, 0))
    second = seq(
        (C.OVERRIDE_PARAMETERS, {P.COMPONENT_SLOT: 0}),
    )
    m = manifest([C0], shared=idcheck(), install=seq((C.TRY_EACH, (first, second)), (C.WRITE, 0)))
    r = run(wrap(m), MemoryStore())
    assert r.reason == "suit.parameter.missing"  # content was rolled back with the failed branch


def test_run_sequence_soft_and_hard() -> None:
    soft = seq((C.OVERRIDE_PARAMETERS, {P.SOFT_FAILURE: True, P.CONTENT: b"x"}), (C.ABORT, 0))
    after = seq((C.OVERRIDE_PARAMETERS, {P.CONTENT: b"after"}), (C.WRITE, 0))
    m = manifest([C0], shared=idcheck(), install=(Command(C.RUN_SEQUENCE, soft), *after))
    store = MemoryStore()
    assert run(wrap(m), store).ok and store.components[C0] == b"after"
    hard = seq(
        (C.ABORT, 0),
    )  # soft-failure defaults to False in run-sequence (§8.4.10.8)
    m = manifest([C0], shared=idcheck(), install=(Command(C.RUN_SEQUENCE, hard), *after))
    assert run(wrap(m), MemoryStore()).reason == "suit.condition.abort"


def test_soft_failure_outside_try_each_aborts() -> None:
    m = manifest([C0], shared=idcheck(), install=seq((C.OVERRIDE_PARAMETERS, {P.SOFT_FAILURE: True})))
    assert run(wrap(m), MemoryStore()).reason == "suit.soft-failure.misplaced"


def test_component_index_true_and_array() -> None:
    three = [C0, C1, C2]
    shared = (Command(C.SET_COMPONENT_INDEX, 0), *idcheck())
    install = seq(
        (C.SET_COMPONENT_INDEX, True),
        (C.OVERRIDE_PARAMETERS, {P.CONTENT: b"all"}),
        (C.WRITE, 0),
        (C.SET_COMPONENT_INDEX, (0, 2)),
        (C.OVERRIDE_PARAMETERS, {P.CONTENT: b"two"}),
        (C.WRITE, 0),
    )
    store = MemoryStore()
    r = run(wrap(manifest(three, shared=shared, install=install)), store)
    assert r.ok
    assert store.components == {C0: b"two", C1: b"all", C2: b"two"}
    writes = [rec.component for rec in r.records if rec.command == "write"]
    assert writes == [0, 1, 2, 0, 2]  # §8.4.7: one record per component, in order


def test_run_sequence_iterates_components() -> None:
    body = seq((C.OVERRIDE_PARAMETERS, {P.CONTENT: b"it"}), (C.WRITE, 0))
    shared = (Command(C.SET_COMPONENT_INDEX, 0), *idcheck())
    install = seq((C.SET_COMPONENT_INDEX, True), (C.RUN_SEQUENCE, body))
    store = MemoryStore()
    assert run(wrap(manifest([C0, C1], shared=shared, install=install)), store).ok
    assert store.components == {C0: b"it", C1: b"it"}


def test_copy_swap_check_content_and_slot() -> None:
    shared = (Command(C.SET_COMPONENT_INDEX, 0), *idcheck())
    install = seq(
        (C.SET_COMPONENT_INDEX, 1),
        (C.OVERRIDE_PARAMETERS, {P.SOURCE_COMPONENT: 0}),
        (C.COPY, 0),
        (C.OVERRIDE_PARAMETERS, {P.CONTENT: b"A"}),
        (C.CHECK_CONTENT, 0),
        (C.SET_COMPONENT_INDEX, 2),
        (C.OVERRIDE_PARAMETERS, {P.SOURCE_COMPONENT: 0}),
        (C.SWAP, 0),
        (C.OVERRIDE_PARAMETERS, {P.COMPONENT_SLOT: 3}),
        (C.COMPONENT_SLOT, 0),
    )
    store = MemoryStore({C0: b"A", C2: b"C"}, slots={C2: 3})
    r = run(wrap(manifest([C0, C1, C2], shared=shared, install=install)), store)
    assert r.ok, r.reason
    assert store.components == {C0: b"C", C1: b"A", C2: b"A"}
    # copy from an absent source fails as a directive
    store = MemoryStore({C2: b"C"}, slots={C2: 3})
    r = run(wrap(manifest([C0, C1, C2], shared=shared, install=install)), store)
    assert r.reason == "suit.copy.source"
    # check-content compares bytes
    install2 = seq(
        (C.SET_COMPONENT_INDEX, 0), (C.OVERRIDE_PARAMETERS, {P.CONTENT: b"B"}), (C.CHECK_CONTENT, 0)
    )
    r = run(wrap(manifest([C0, C1, C2], shared=shared, install=install2)), MemoryStore({C0: b"A"}))
    assert r.reason == "suit.condition.check-content"


def test_set_parameters_does_not_override() -> None:
    install = seq(
        (C.OVERRIDE_PARAMETERS, {P.CONTENT: b"first"}),
        (C.SET_PARAMETERS, {P.CONTENT: b"second"}),
        (C.WRITE, 0),
    )
    store = MemoryStore()
    assert run(wrap(manifest([C0], shared=idcheck(), install=install)), store).ok
    assert store.components[C0] == b"first"


def test_device_identifier_and_use_before() -> None:
    dev = b"\x42" * 16
    shared = (
        *idcheck(),
        Command(C.OVERRIDE_PARAMETERS, {P.DEVICE_IDENTIFIER: dev}),
        Command(C.DEVICE_IDENTIFIER, 0),
    )
    m = manifest(
        [C0],
        shared=shared,
        validate=seq((C.OVERRIDE_PARAMETERS, {P.USE_BEFORE: 1_800_000_000}), (C.USE_BEFORE, 0)),
    )
    ident = DeviceIdentity(ID.vendor_ids, ID.class_ids, frozenset({dev}))
    assert run(wrap(m), MemoryStore(), identity=ident).ok
    assert run(wrap(m), MemoryStore()).reason == "suit.condition.device-identifier"
    late = process(
        wrap(m),
        trust_anchors=[],
        identity=ident,
        now=1_900_000_000,
        store=MemoryStore(),
        stored_sequence=None,
        authenticated=True,
    )
    assert late.reason == "suit.condition.use-before"


def test_unset_parameters_fail_conditions() -> None:
    m = manifest(
        [C0],
        shared=seq(
            (C.VENDOR_IDENTIFIER, 0),
        ),
    )
    assert run(wrap(m), MemoryStore()).reason == "suit.condition.vendor-identifier"
    m = manifest(
        [C0],
        shared=idcheck(),
        validate=seq(
            (C.IMAGE_MATCH, 0),
        ),
    )
    assert run(wrap(m), MemoryStore({C0: b"x"})).reason == "suit.condition.image-match"


def test_custom_and_unknown_commands() -> None:
    m = manifest(
        [C0],
        shared=idcheck(),
        install=seq(
            (-300, b"arg"),
        ),
    )
    assert run(wrap(m), MemoryStore()).reason == "suit.command.unsupported.custom"
    seen = []

    def handler(code, arg, cid, params):  # type: ignore[no-untyped-def]
        seen.append((code, arg, cid))
        return True

    assert run(wrap(m), MemoryStore(), custom=handler).ok and seen == [(-300, b"arg", C0)]
    # an unknown condition inside try-each is a soft failure like any condition (§8.4.9)
    alt = seq((C.OVERRIDE_PARAMETERS, {P.CONTENT: b"y"}), (C.WRITE, 0))
    m = manifest([C0], shared=idcheck(), install=seq((C.TRY_EACH, (seq((-300, None)), alt))))
    store = MemoryStore()
    assert run(wrap(m), store).ok and store.components[C0] == b"y"


def test_dependencies_are_refused_for_now(shared_vectors: Path) -> None:
    p = shared_vectors / "suit" / "trust-domains" / "example1_process.hex"
    env = codec.decode(bytes.fromhex("".join(p.read_text().split())))
    with pytest.raises(UnsupportedError) as e:
        run(env, MemoryStore())
    assert e.value.reason == "suit.dependency.unsupported"


def test_static_checks() -> None:
    # §6.2: several components -> each sequence starts with set-component-index
    m = manifest([C0, C1], shared=idcheck())
    with pytest.raises(ValidationError) as e:
        run(wrap(m), MemoryStore())
    assert e.value.reason == "suit.index.first"
    m = manifest([C0], shared=(*idcheck(), Command(-300, None)))
    with pytest.raises(ValidationError) as e:
        run(wrap(m), MemoryStore())
    assert e.value.reason == "suit.shared.command"
    m = manifest(
        [C0],
        shared=idcheck(),
        install=seq(
            (C.SET_COMPONENT_INDEX, 3),
        ),
    )
    with pytest.raises(ValidationError) as e:
        run(wrap(m), MemoryStore())
    assert e.value.reason == "suit.index" and e.value.path == ("manifest", "install", 0)


def test_integrated_payload_is_used_for_fetch() -> None:
    install = seq(
        (C.OVERRIDE_PARAMETERS, {P.URI: "#app", P.IMAGE_DIGEST: sha(IMAGE_B)}),
        (C.FETCH, 0),
        (C.IMAGE_MATCH, 0),
    )
    store = MemoryStore()
    assert run(wrap(manifest([C0], shared=idcheck(), install=install), {"#app": IMAGE_B}), store).ok
    assert store.components[C0] == IMAGE_B


def test_tampered_manifest_digest_is_refused(shared_vectors: Path) -> None:
    from dataclasses import replace

    env = example(shared_vectors, "example1")
    other = example(shared_vectors, "example0")
    forged = replace(env, manifest_bytes=other.manifest_bytes, manifest=other.manifest)
    store = MemoryStore({C0: b"old"})
    with pytest.raises(VerifyError):
        run(forged, store)
    assert store.components == {C0: b"old"} and store.commits == 0


def test_hostile_nesting_and_loops_are_bounded() -> None:
    from iotsec.core import cbor

    # run-sequence inside run-sequence, each level in its own bstr: the CBOR depth limit does not
    # see it, the codec's sequence nesting limit does (no RecursionError escapes)
    inner = cbor.dumps([3, 15])
    for _ in range(3000):
        inner = cbor.dumps([32, inner])
    with pytest.raises(ValidationError) as e:
        codec.decode_sequence(cbor.loads(inner), ("install",))
    assert e.value.reason == "suit.nesting"
    # 3 components, every level iterating over all of them: 3**12 executions are cut off
    body: tuple[Command, ...] = seq(
        (C.OVERRIDE_PARAMETERS, {P.CONTENT: b"x"}),
    )
    for _ in range(12):
        body = seq((C.SET_COMPONENT_INDEX, True), (C.RUN_SEQUENCE, body))
    shared = (Command(C.SET_COMPONENT_INDEX, 0), *idcheck())
    m = manifest([C0, C1, C2], shared=shared, install=body)
    r = run(wrap(m), MemoryStore(), max_steps=10_000)
    assert r.reason == "suit.limit.steps"


def test_built_download_load_manifest_runs() -> None:
    from iotsec.core.suit import builder

    desc = {
        "manifest-sequence-number": 1,
        "components": [
            {
                "install-id": ["00"],
                "file": "a.bin",
                "uri": "https://example.com/a.bin",
                "bootable": True,
                "vendor-id": "fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe",
                "class-id": "1492af14-2569-5e48-bf42-9b2d51f2ab45",
                "loadable": True,
                "load-id": ["01"],
                "load-digest": {
                    "algorithm-id": "sha256",
                    "digest-bytes": hashlib.sha256(IMAGE_A).hexdigest(),
                },
            }
        ],
    }
    env = builder.build(desc, {"a.bin": IMAGE_A})
    store = MemoryStore()
    r = run(env, store, fetcher=Payloads({"a.bin": IMAGE_A}))
    assert r.ok, r.reason
    assert store.components == {C0: IMAGE_A, C1: IMAGE_A}
    assert [a.kind for a in r.actions] == ["fetch", "copy", "invoke"] and r.invocations[0].component == C1


def test_strict_order_rules() -> None:
    # §6.7: with strict order False, a run-sequence argument may not set the index again ...
    body = seq(
        (C.SET_COMPONENT_INDEX, 0), (C.OVERRIDE_PARAMETERS, {P.CONTENT: b"a"}), (C.SET_COMPONENT_INDEX, 1)
    )
    shared = (Command(C.SET_COMPONENT_INDEX, 0), *idcheck())
    install = seq(
        (C.SET_COMPONENT_INDEX, 0), (C.OVERRIDE_PARAMETERS, {P.STRICT_ORDER: False}), (C.RUN_SEQUENCE, body)
    )
    assert (
        run(wrap(manifest([C0, C1], shared=shared, install=install)), MemoryStore()).reason
        == "suit.strict-order"
    )
    # ... and a component may not be its own source
    install = seq(
        (C.SET_COMPONENT_INDEX, 0),
        (C.OVERRIDE_PARAMETERS, {P.STRICT_ORDER: False, P.SOURCE_COMPONENT: 0}),
        (C.COPY, 0),
    )
    r = run(wrap(manifest([C0, C1], shared=shared, install=install)), MemoryStore({C0: b"x"}))
    assert r.reason == "suit.strict-order"
    # in strict order (the default) the same run-sequence is fine
    install = seq((C.SET_COMPONENT_INDEX, 0), (C.RUN_SEQUENCE, body))
    assert run(wrap(manifest([C0, C1], shared=shared, install=install)), MemoryStore()).ok


def test_extension_commands_for_trust_domains() -> None:
    from dataclasses import replace

    from iotsec.core.suit.processor import Extension

    calls: list[tuple[int, int]] = []

    def is_dependency(proc, i, cmd):  # type: ignore[no-untyped-def]
        calls.append((cmd.code, i))
        return i == 1

    def process_dependency(proc, i, cmd):  # type: ignore[no-untyped-def]
        calls.append((cmd.code, i))
        proc.store.write(proc.components[i], b"processed")
        return True

    install = seq(
        (C.SET_COMPONENT_INDEX, True),
        (
            C.TRY_EACH,
            (
                seq((8, 15), (11, 0)),
                seq(
                    (C.ABORT, 0),
                ),
                None,
            ),
        ),
    )
    m = manifest([C0, C1], shared=(Command(C.SET_COMPONENT_INDEX, 0), *idcheck()), install=install)
    m = replace(m, common=replace(m.common, dependencies={1: {1: [b"dep.suit"]}}))
    with pytest.raises(UnsupportedError):  # without an extension: refused before anything runs
        run(wrap(m), MemoryStore())
    ext = Extension(commands={8: is_dependency, 11: process_dependency}, handles_dependencies=True)
    store = MemoryStore()
    r = run(wrap(m), store, extension=ext)
    assert r.ok, r.reason
    assert calls == [(8, 0), (8, 1), (11, 1)]  # component 0 is not a dependency: soft failure
    assert store.components == {C1: b"processed"}
