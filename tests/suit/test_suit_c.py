"""The C walker of SUIT command sequences (src/iotsec/core/suit/_suit_c.c) against the Python loop.

The walker must give exactly what ``decode_sequence`` gives without it: the same Command and
Digest objects for what it accepts, the same error (type, reason, path, message) otherwise. Each
test compares the two on the same input; the Python loop is run with the walker switched off.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import textwrap
import tracemalloc
from pathlib import Path
from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from suit_vectors import EXAMPLES, load_example

from iotsec.core import cbor
from iotsec.core.suit import codec, commands
from iotsec.core.suit.model import Command, Digest
from iotsec.errors import IotSecError
from memcheck import memcheck_reports

PATH = ("manifest", "install")


def test_the_walker_is_built() -> None:
    assert commands._c_sequence is not None, "iotsec.core.suit._suit_c is not built: reinstall with gcc"


def _outcome(fn: Any, *args: Any, **kw: Any) -> tuple[str, Any]:
    try:
        return ("ok", fn(*args, **kw))
    except IotSecError as err:
        return (type(err).__name__, (err.reason, getattr(err, "path", None), str(err)))


def _python(items: Any, monkeypatch: pytest.MonkeyPatch, depth: int = 0) -> tuple[str, Any]:
    with monkeypatch.context() as m:
        m.setattr(commands, "_c_sequence", None)
        return _outcome(commands.decode_sequence, items, PATH, _depth=depth)


def _types(value: Any) -> Any:
    """The value with the type of every object spelt out (1 == True and Digest == Digest are not
    enough: the walker must build the same types)."""
    if isinstance(value, (Command, Digest)):
        return (type(value).__name__, [(k, _types(v)) for k, v in sorted(vars(value).items())])
    if isinstance(value, dict):
        return [(_types(k), _types(v)) for k, v in value.items()]
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_types(v) for v in value])
    return (type(value).__name__, value)


def _same(items: Any, monkeypatch: pytest.MonkeyPatch, depth: int = 0) -> tuple[str, Any]:
    fast = _outcome(commands.decode_sequence, items, PATH, _depth=depth)
    ref = _python(items, monkeypatch, depth)
    assert fast[0] == ref[0], (fast, ref)
    if fast[0] == "ok":
        assert fast[1] == ref[1]
        assert _types(fast[1]) == _types(ref[1])
    else:
        assert fast[1] == ref[1]
    return fast


_digests = st.sampled_from(
    [
        cbor.dumps([-16, bytes(32)]),
        cbor.dumps([-16, bytes(32), 7]),  # an extension member: the general decode_digest
        cbor.dumps([-16]),
        cbor.dumps([True, b"x"]),
        b"\x82\x2f\x40",
        b"\x82\x38\x0f\x40",  # -16 in a longer head than needed: not deterministic (§8.1)
        b"\x80",
        b"\xff",
        bytes(32),
    ]
)
_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**65), 2**65),
    st.sampled_from([0, 1, 15, 16, -1, 2**63 - 1, 2**63, 2**64 - 1, 2**64]),
    st.binary(max_size=20),
    st.sampled_from([bytes(16), bytes(15), bytes(17)]),
    _digests,
    st.text(max_size=6),
    st.lists(st.integers(-2, 4), max_size=3),
    st.just(cbor2.CBORTag(112, b"\x01")),
    st.just(cbor2.CBORTag(112, "x")),
    st.just(1.5),
)
_labels = st.one_of(
    st.integers(-300, 30),
    st.sampled_from([1, 2, 3, 5, 13, 14, 19, 21, 22, 23, 24, -1, -257, 2**64]),
    st.sampled_from([True, False, "1", b"\x01", 1.0]),
)
_params = st.dictionaries(_labels, _values, max_size=4)
_args = st.one_of(_values, _params, st.lists(st.integers(0, 3), max_size=2))
_codes = st.one_of(
    st.sampled_from([1, 2, 3, 5, 12, 14, 15, 16, 18, 19, 20, 21, 22, 23, 24, 31, 32]),
    st.integers(-300, 40),
    st.sampled_from([True, False, "1", 2**64, -(2**64), 1.0]),
)
_pairs = st.lists(st.tuples(_codes, _args), min_size=1, max_size=6).map(lambda ps: [x for p in ps for x in p])


@given(_pairs)
@settings(max_examples=1500, deadline=None)
def test_generated_sequences_agree(items: list[Any]) -> None:
    with pytest.MonkeyPatch.context() as mp:
        _same(items, mp)


_defined = st.sampled_from([1, 2, 3, 12, 13, 14, 16, 17, 18, 19, 21, 23, 24, 28, -1, 40])


@given(st.sampled_from([19, 20]), st.dictionaries(_defined | _labels, _values, max_size=5))
@settings(max_examples=1500, deadline=None)
def test_generated_parameter_maps_agree(code: int, params: dict[Any, Any]) -> None:
    with pytest.MonkeyPatch.context() as mp:
        _same([code, params], mp)
        _same([1, 15, code, params, 12, 0], mp)


@given(st.lists(_values | _params, max_size=5), st.sampled_from([0, 1, 16, 17]))
@settings(max_examples=300, deadline=None)
def test_odd_empty_and_other_shapes_agree(items: list[Any], depth: int) -> None:
    with pytest.MonkeyPatch.context() as mp:
        _same(items, mp, depth)
        _same(tuple(items), mp, depth)
        _same(items[:1], mp, depth)


def test_shapes_that_are_not_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    for v in (None, 1, b"\x82\x01\x0f", {1: 15}, "ab", (1, 15), cbor2.CBORTag(24, [1, 15])):
        _same(v, monkeypatch)


def test_nested_sequences_go_through_the_python_pair(monkeypatch: pytest.MonkeyPatch) -> None:
    inner = cbor.dumps([1, 15, 2, 15])
    run = cbor.dumps([20, {2: bytes(16)}, 19, {21: "http://x"}])
    items = [12, 0, 32, run, 15, [inner, inner, None], 3, 15]
    kind, value = _same(items, monkeypatch)
    assert kind == "ok"
    assert [c.code for c in value] == [12, 32, 15, 3]
    assert value[1].arg == (Command(20, {2: bytes(16)}), Command(19, {21: "http://x"}))
    assert value[2].arg == ((Command(1, 15), Command(2, 15)), (Command(1, 15), Command(2, 15)), None)
    # nesting beyond the limit is refused the same way
    deep: Any = [1, 15]
    for _ in range(20):
        deep = [32, cbor.dumps(deep)]
    kind, err = _same(deep, monkeypatch)
    assert kind == "ValidationError" and err[0] == "suit.nesting"


def test_the_image_digest_is_built_as_the_python_path_builds_it(monkeypatch: pytest.MonkeyPatch) -> None:
    dig = cbor.dumps([-16, bytes(range(32))])
    kind, value = _same([20, {3: dig, 14: 34768, 1: bytes(16)}, 3, 15], monkeypatch)
    assert kind == "ok"
    params = value[0].arg
    assert params[3] == Digest(-16, bytes(range(32)))
    assert list(params) == [3, 14, 1]  # the map's order is kept
    # a digest whose inner encoding is not deterministic is refused, with the path of the member
    kind, err = _same([20, {3: b"\x82\x38\x0f\x40"}], monkeypatch)
    assert kind == "ValidationError" and err[0] == "suit.noncanonical"
    assert err[1] == (*PATH, 0, "override-parameters", "image-digest")


def test_built_objects_behave_as_constructed_ones() -> None:
    seq = codec.decode_sequence([12, 0, 1, 15, 20, {3: cbor.dumps([-16, b"\x01"]), 2: bytes(16)}], PATH)
    assert seq == (
        Command(12, 0),
        Command(1, 15),
        Command(20, {3: Digest(-16, b"\x01"), 2: bytes(16)}),
    )
    for obj in (*seq, seq[2].arg[3]):
        assert set(vars(obj)) == {f.name for f in dataclasses.fields(obj)}
        with pytest.raises(dataclasses.FrozenInstanceError):
            obj.alg = 1  # type: ignore[union-attr]
    assert hash(seq[0]) == hash(Command(12, 0))
    assert repr(seq[0]) == "Command(code=12, arg=0)"


@pytest.mark.parametrize("name", EXAMPLES)
def test_spec_examples_decode_the_same_with_and_without_the_walker(
    name: str, shared_vectors: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blob = load_example(shared_vectors, name).signed
    fast = codec.decode(blob)
    with monkeypatch.context() as m:
        m.setattr(commands, "_c_sequence", None)
        m.setattr(codec, "_c_manifest", None)
        ref = codec.decode(blob)
    assert fast == ref
    assert _types(fast.manifest.common.components) == _types(ref.manifest.common.components)
    assert _types(list(fast.manifest.sequences.values())) == _types(list(ref.manifest.sequences.values()))
    assert _types(fast.manifest.common.shared_sequence) == _types(ref.manifest.common.shared_sequence)


def test_no_references_are_lost_or_kept() -> None:
    inputs: list[list[Any]] = [
        [12, 0, 1, 15, 20, {3: cbor.dumps([-16, b"\x01"]), 2: bytes(16), 5: "u"}],
        [20, {3: b"\x80"}],  # digest refused: the error path
        [20, {1: bytes(15)}],  # a bad UUID: the Python pair raises
        [1, 99, 3, 15],  # a reporting policy out of range
        [20, {3: cbor.dumps([-16, b"\x01", 1])}],  # the general digest path
    ]
    samples = [cbor.dumps(i) for i in inputs]

    common = cbor.dumps({2: [[b"\x00"]], 4: samples[0], 1: 5, 9: "x"})
    manifests = [
        cbor.dumps({1: 1, 2: 3, 3: common, 4: "u", 7: samples[0], 20: samples[4], 9: 1}),
        cbor.dumps({1: 1, 2: 3, 3: common, 7: samples[1]}),  # refused in the walk
        cbor.dumps({1: 1, 2: 3, 3: common, 7: [-16, b"\x01"]}),  # severed: the Python path
    ]

    def run() -> None:
        for blob in samples:
            with contextlib.suppress(IotSecError):
                codec.decode_sequence(cbor.loads(blob), PATH)
        for blob in manifests:
            with contextlib.suppress(IotSecError):
                codec.decode_manifest_map(cbor.loads(blob))

    for _ in range(2000):
        run()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(20000):
            run()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 64 * 1024, f"{grown} bytes kept after 100,000 sequences"
    # the reference counts of the shared inputs stay where they were
    items = [1, 15, 20, {2: bytes(16)}]
    counts = [sys.getrefcount(x) for x in (items, items[3], items[3][2])]
    for _ in range(1000):
        codec.decode_sequence(items, PATH)
    assert [sys.getrefcount(x) for x in (items, items[3], items[3][2])] == counts


def test_no_invalid_memory_access_under_valgrind() -> None:
    script = textwrap.dedent(
        """
        import random, cbor2
        from iotsec.core.suit import codec
        from iotsec.errors import IotSecError
        rnd = random.Random(11)
        dig = cbor2.dumps([-16, bytes(32)])
        seeds = [[12, 0, 1, 15, 2, 15, 20, {3: dig, 14: 80, 1: bytes(16), 5: "u", 13: True}],
                 [32, cbor2.dumps([1, 15, 3, 15]), 15, [cbor2.dumps([1, 15]), None]], [20, {-1: 5, 99: [1]}]]
        common = cbor2.dumps({2: [[b"\\x00"], [b"a"]], 4: cbor2.dumps(seeds[0]), 1: 5, 7: "x"})
        seqs = [cbor2.dumps(x) for x in seeds]
        manifests = [{1: 1, 2: 3, 3: common, 4: "u", 7: seqs[1], 20: seqs[0], 9: 1}]

        def fuzz(samples, decode, rounds):
            for i in range(rounds):
                b = bytearray(cbor2.dumps(rnd.choice(samples)))
                for _ in range(rnd.randrange(1, 4)):
                    b[rnd.randrange(len(b))] = rnd.randrange(256)
                try:
                    item = cbor2.loads(bytes(b))
                except Exception:
                    continue
                try:
                    decode(item)
                except IotSecError:
                    pass

        fuzz(manifests, codec.decode_manifest_map, 1500)
        fuzz(seeds, lambda items: codec.decode_sequence(items, ("x",)), 3000)
        print("done")
        """
    )
    # CPython has a few reports of its own (the same ones with the walker switched off); a report
    # is ours when a frame of the walker comes before the first interpreter frame, i.e. when the
    # access is made by the walker or by a C function it called, not by Python code it called back
    reports = memcheck_reports(script)
    ours = [r for r in reports if "_suit_c" in r.split("_PyEval_EvalFrameDefault")[0]]
    assert not ours, ours[0][-3000:]


# ------------------------------------------------------------------ whole manifests (§8.4)


def _manifest_outcome(v: Any, c: bool, tagged: bool = False) -> tuple[str, Any]:
    with pytest.MonkeyPatch.context() as m:
        if not c:
            m.setattr(commands, "_c_sequence", None)
            m.setattr(codec, "_c_manifest", None)
        out = _outcome(codec.decode_manifest_map, v, ("manifest",), tagged=tagged)
    if out[0] == "ok":
        man = out[1]
        return ("ok", (man, _types(vars(man)), _types(vars(man.common))))
    return out


def _manifests_agree(v: Any, tagged: bool = False) -> tuple[str, Any]:
    fast = _manifest_outcome(v, True, tagged)
    ref = _manifest_outcome(v, False, tagged)
    assert fast == ref
    return fast


_seq_bytes = st.sampled_from(
    [
        cbor.dumps([1, 15, 2, 15]),
        cbor.dumps([12, 0, 20, {3: cbor.dumps([-16, bytes(32)]), 14: 8}, 3, 15]),
        cbor.dumps([]),
        cbor.dumps([1]),
        cbor.dumps({1: 15}),
        b"\x82\x01\x18\x0f",  # 15 in a longer head than needed (§8.1)
        b"\xff",
    ]
)
_components = st.sampled_from(
    [[[b"\x00"]], [[b"\x00"], [b"a", b"b"]], [[]], [], [[1]], [b"\x00"], [[b"\x00"], "x"], "x", [(b"\x00",)]]
)
_good_components = st.sampled_from([[[b"\x00"]], [[b"\x00"], [b"a", b"b"]], [[]]])
_common_maps = st.dictionaries(
    st.sampled_from([1, 2, 4, 3, 5, -1, 2**64, True, "x"]),
    st.one_of(_components, _seq_bytes, st.integers(-2, 2), st.binary(max_size=3), st.just([1, 2])),
    max_size=4,
)
_good_commons = st.fixed_dictionaries(
    {2: _good_components}, optional={4: _seq_bytes, 1: st.just([1]), 9: st.integers(0, 3)}
)
_commons = st.one_of(
    _good_commons.map(cbor.dumps),
    _common_maps.map(cbor.dumps),
    st.sampled_from([b"\xa0", b"\xff", b"\x80", b"\xa1\x02"]),
    _common_maps,
)
_members = st.one_of(
    _seq_bytes,
    st.just([-16, bytes(32)]),  # a severed member's digest
    st.text(max_size=5),
    st.integers(-3, 3),
    st.binary(max_size=4),
    st.just(cbor.dumps({"en": {1: "x"}})),
)
_member_labels = st.sampled_from([4, 5, 6, 7, 8, 9, 14, 15, 16, 18, 20, 23, 24, 30, -5, 2**64, "x", True])


@given(
    st.sampled_from([1, 1, 1, 1, 2, True, "1", -1, 2**64]),
    st.sampled_from([0, 7, 2**64 - 1, 2**64, -1, True, 1.5, "1"]),
    _commons,
    st.dictionaries(_member_labels, _members, max_size=4),
    st.sets(st.sampled_from([1, 2, 3]), max_size=1),
    st.booleans(),
)
@settings(max_examples=1500, deadline=None)
def test_generated_manifests_agree(
    version: Any, seqno: Any, common: Any, members: dict[Any, Any], drop: set[int], tagged: bool
) -> None:
    m: dict[Any, Any] = {1: version, 2: seqno, 3: common}
    m.update(members)
    for k in drop:
        m.pop(k, None)
    _manifests_agree(m, tagged)


@given(_good_commons, st.dictionaries(_member_labels, _members, max_size=3), st.integers(0, 2**64))
@settings(max_examples=1500, deadline=None)
def test_generated_manifests_with_a_valid_core_agree(
    common: dict[int, Any], members: dict[Any, Any], seqno: int
) -> None:
    """Version, sequence number and common valid: the members decide (each label alone, then all)."""
    base: dict[Any, Any] = {1: 1, 2: seqno, 3: cbor.dumps(common)}
    for k, v in members.items():
        _manifests_agree({**base, k: v})
    _manifests_agree({**base, **members})


def test_manifests_that_are_not_maps_and_odd_paths() -> None:
    for v in (None, [1, 2], b"\xa0", cbor2.CBORTag(1070, {})):
        _manifests_agree(v)
    common = cbor.dumps({2: [[b"\x00"]], 4: cbor.dumps([1, 15, 3, 99])})  # image-match policy 99
    kind, err = _manifests_agree({1: 1, 2: 1, 3: common})
    assert kind == "ValidationError"
    assert err[1] == ("manifest", "common", "shared-sequence", 1, "image-match")


def test_the_walker_builds_the_usual_manifest() -> None:
    common = cbor.dumps({2: [[b"\x00"], [b"a", b"b"]], 4: cbor.dumps([12, 0, 1, 15]), 1: {9: 9}, 9: "x"})
    m = {1: 1, 2: 7, 3: common, 4: "coap://x", 7: cbor.dumps([12, 1, 3, 15]), 99: b"\x01"}
    kind, (man, _, _) = _manifests_agree(m, tagged=True)
    assert kind == "ok"
    assert man.common.components == ((b"\x00",), (b"a", b"b"))
    assert man.common.dependencies == {9: 9} and man.common.extensions == {9: "x"}
    assert man.sequences == {7: (Command(12, 1), Command(3, 15))}
    assert man.reference_uri == "coap://x" and man.extensions == {99: b"\x01"} and man.tagged is True
    for obj in (man, man.common):
        assert set(vars(obj)) == {f.name for f in dataclasses.fields(obj)}


@given(st.data())
@settings(max_examples=400, deadline=None)
def test_mutated_spec_manifests_agree(shared_vectors: Path, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(EXAMPLES))
    blob = bytearray(codec.decode(load_example(shared_vectors, name).signed).manifest_bytes)
    for _ in range(data.draw(st.integers(1, 3))):
        blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
    try:
        v = cbor2.loads(bytes(blob))
    except Exception:
        return
    _manifests_agree(v)
