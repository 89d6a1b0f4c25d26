"""The fast paths of the SUIT decoder change speed, never what is accepted or what comes out.

* ``deterministic.loads`` (one-pass pure-Python decoder) against the exact walk + cbor2, on every
  bstr-wrapped level of the spec's examples, their mutations and truncations, and edge cases.
* ``decode_sequence`` / ``decode_parameters`` inline checks against the per-item reference
  decoders (``_decode_command``, ``_decode_param``) they defer to.
* ``check_manifest`` (one walk, lazy paths) against an independent copy of the §6.2 rules written
  as a plain pre-order walk.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from suit_vectors import EXAMPLES, load_example

from iotsec.core import cbor, deterministic
from iotsec.core.suit import codec
from iotsec.core.suit.commands import _decode_command, _decode_param, _param_name
from iotsec.core.suit.model import Command, Common, Digest, Manifest, make_command
from iotsec.core.suit.validate import check_manifest
from iotsec.errors import IotSecError, ValidationError

# ------------------------------------------------------------------ deterministic.loads


def _show(value: object) -> str:
    """repr, without the addresses of objects cbor2 builds for some tags (MIME messages)."""
    return re.sub(r" at 0x[0-9a-f]+", "", repr(value))


def _exact(blob: bytes, max_depth: int = 48) -> tuple[str, str]:
    try:
        deterministic.check(blob, max_depth=max_depth)
    except deterministic.NotDeterministic as err:
        return ("malformed" if err.malformed else "noncanonical", str(err))
    try:
        return ("ok", _show(cbor2.loads(blob)))
    except Exception as err:
        return ("malformed", f"invalid CBOR: {err}")


def _fast(blob: bytes, max_depth: int = 48) -> tuple[str, str]:
    try:
        return ("ok", _show(deterministic.loads(blob, max_depth=max_depth)))
    except deterministic.NotDeterministic as err:
        return ("malformed" if err.malformed else "noncanonical", str(err))


def _levels(obj: Any) -> Iterator[bytes]:
    """Every byte string inside a decoded item that is itself CBOR (the bstr .cbor levels)."""
    if isinstance(obj, bytes):
        if len(obj) < 2 or not deterministic.is_deterministic(obj):  # the exact walk decides
            return
        try:
            inner = cbor2.loads(obj)
        except Exception:
            return
        yield obj
        yield from _levels(inner)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _levels(v)
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _levels(v)
    elif isinstance(obj, cbor2.CBORTag):
        yield from _levels(obj.value)


def _suit_items(vectors: Path) -> list[bytes]:
    out = []
    for name in EXAMPLES:
        ex = load_example(vectors, name)
        for blob in (ex.unsigned, ex.signed):
            out.append(blob)
            out.extend(_levels(cbor2.loads(blob)))
    return out


@pytest.fixture(scope="module")
def suit_items(shared_vectors: Path) -> list[bytes]:
    items = _suit_items(shared_vectors)
    assert len(items) > 60  # envelopes, wrappers, COSE blocks, manifests, commons, sequences, digests
    return items


def test_suit_levels_decode_the_same(suit_items: list[bytes]) -> None:
    for blob in suit_items:
        assert _fast(blob) == _exact(blob) == ("ok", _show(cbor2.loads(blob)))


def test_every_truncation_and_extension_agrees(suit_items: list[bytes]) -> None:
    for blob in suit_items[:40]:
        for cut in range(len(blob)):
            assert _fast(blob[:cut]) == _exact(blob[:cut])
        for extra in (b"\x00", b"\xff", b"\x40"):
            assert _fast(blob + extra) == _exact(blob + extra)


@given(st.data())
@settings(max_examples=300, deadline=None)
def test_mutated_suit_items_agree(suit_items: list[bytes], data: st.DataObject) -> None:
    blob = bytearray(data.draw(st.sampled_from(suit_items)))
    for _ in range(data.draw(st.integers(1, 3))):
        pos = data.draw(st.integers(0, len(blob) - 1))
        op = data.draw(st.sampled_from(["set", "insert", "delete"]))
        if op == "set":
            blob[pos] = data.draw(st.integers(0, 255))
        elif op == "insert":
            blob.insert(pos, data.draw(st.integers(0, 255)))
        elif len(blob) > 1:
            del blob[pos]
    depth = data.draw(st.sampled_from([48, 3, 2, 1, 0]))
    assert _fast(bytes(blob), depth) == _exact(bytes(blob), depth)


@pytest.mark.parametrize(
    "diag",
    [
        "{1: 0, true: 1}",  # distinct encodings that Python merges into one key
        "{0: 1, false: 2}",
        "{[h'00']: 1, [h'01']: 2}",  # arrays as keys: tuples, as cbor2 makes them
        "{[[h'00', 1], true]: 1}",
        "{[{}]: 1}",  # a map inside a key: cbor2's FrozenDict, left to cbor2
        "{1: 1, 24: 2, -1: 3}",
        '{"a": 1, "b": 2, 1: 3}',  # out of order: 0x01 sorts before 0x61
        "{-1: 1, -24: 2, -25: 3}",
        "[1, -1, -24, -25, 23, 24, 255, 256, 65535, 65536, 4294967295, 4294967296]",
        "[h'', h'00', '', 'a', null, true, false, undefined, simple(16)]",
        "[1.5, 0.0, -0.0]",
        "107({2: h'00', 3: h'a0'})",
        "18([h'a10126', {}, null, h'00'])",
        "112(h'0102')",
        "1070({})",
    ],
)
def test_edge_cases_agree(diag: str) -> None:
    blob = cbor.from_diag(diag)
    for depth in (48, 2, 1, 0):
        assert _fast(blob, depth) == _exact(blob, depth)


def test_tags_agree() -> None:
    # cbor2 turns some tags into Python objects (dates, bignums, UUIDs, sets...): same outcome
    for tag in [*range(0, 300), 1004, 1070, 43000, 55799, 2**16, 2**32]:
        for content in (b"\x00", b"\x40", b"\x50" + bytes(16), b"\x61\x61", b"\x80", b"\x82\x01\x02"):
            blob = cbor2.dumps(cbor2.CBORTag(tag, None))[:-1] + content
            assert _fast(blob) == _exact(blob), (tag, content)


def test_invalid_utf8_and_lengths_past_the_end() -> None:
    bad = (b"\x62\xc3\x28", b"\x81\x62\xed\xa0", b"\x45\x00", b"\x58\x30" + bytes(5), b"\x9b" + bytes(8))
    for blob in bad:
        assert _fast(blob) == _exact(blob)
        assert _fast(blob)[0] != "ok"


# ------------------------------------------------------------------ commands and parameters

_args = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**65), 2**65),
    st.sampled_from([0, 1, 15, 16, 0xF, -1, 2**64 - 1]),
    st.binary(max_size=20),
    st.sampled_from([bytes(16), bytes(15), b"\x82\x2f\x40", cbor.dumps([-16, bytes(32)]), b"\x80"]),
    st.text(max_size=6),
    st.lists(st.integers(-2, 4), max_size=3),
    st.dictionaries(st.integers(-300, 30), st.integers(0, 3) | st.binary(max_size=17), max_size=3),
    st.just(cbor2.CBORTag(112, b"\x01")),
)
_codes = st.one_of(st.integers(-300, 40), st.sampled_from([True, False, "1", 12, 15, 19, 20, 32]))


def _outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    try:
        return ("ok", fn(*args))
    except IotSecError as err:
        return (type(err).__name__, (err.reason, getattr(err, "path", None), str(err)))


@given(_codes, _args)
@settings(max_examples=400, deadline=None)
def test_command_fast_path_is_the_reference(code: Any, arg: Any) -> None:
    path = ("manifest", "install")
    fast = _outcome(codec.decode_sequence, [code, arg], path)
    ref = _outcome(_decode_command, code, arg, (*path, 0))
    if fast[0] == "ok":
        assert ref[0] == "ok"
        assert fast[1] == (ref[1],)
    else:
        assert fast == ref


@given(st.integers(-300, 40) | st.sampled_from([True, "x"]), _args)
@settings(max_examples=400, deadline=None)
def test_parameter_fast_path_is_the_reference(key: Any, value: Any) -> None:
    path = ("manifest", "install", 0, "override-parameters")
    fast = _outcome(codec.decode_parameters, {key: value}, path)
    if isinstance(key, int) and not isinstance(key, bool):
        ref = _outcome(_decode_param, key, value, (*path, _param_name(key)))
        if ref[0] == "ok":
            assert fast == ("ok", {key: ref[1]})
        else:
            assert fast == ref
    else:
        assert fast[0] == "ValidationError"


def test_assembled_objects_are_the_constructed_ones() -> None:
    c = make_command(20, {1: b"x"})
    assert c == Command(20, {1: b"x"}) and repr(c) == repr(Command(20, {1: b"x"}))
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.code = 1  # type: ignore[misc]
    m = codec.decode_manifest(cbor.dumps({1: 1, 2: 5, 3: cbor.dumps({2: [[b"\x00"]]})}))
    for obj in (m, m.common, c):
        names = {f.name for f in dataclasses.fields(obj)}
        assert set(vars(obj)) == names
    assert m == Manifest(5, Common(((b"\x00",),)))
    d = codec.decode_digest([-16, b"\x01"], ())
    assert d == Digest(-16, b"\x01") and set(vars(d)) == {"alg", "value", "extra"}


def _bare_envelope() -> dict[int, Any]:
    seq = cbor.dumps([1, 15, 2, 15])
    common = cbor.dumps({2: [[b"\x00"]], 4: seq})
    return {3: cbor.dumps({1: 1, 2: 7, 3: common, 7: cbor.dumps([3, 15])})}


def test_envelope_objects_are_the_constructed_ones() -> None:
    """Envelope, OuterEnvelope, Authentication and AuthResult are built without __init__ too."""
    from iotsec.core.cose import CoseKey
    from iotsec.core.suit.auth import AuthResult, authenticate, sign_envelope

    key = CoseKey.generate("ES256")
    pub = key.public()
    blob = codec.encode(
        sign_envelope(codec.decode(cbor.dumps(_bare_envelope()), allow_unsigned=True), keys=[(key, -7)])
    )
    outer = codec.decode_outer(blob)
    env, result = authenticate(blob, [pub])
    assert isinstance(outer, codec.OuterEnvelope) and outer.authentication is not None
    for obj in (outer, outer.authentication, env, result, env.manifest, env.manifest.common):
        assert set(vars(obj)) == {f.name for f in dataclasses.fields(obj)}
        assert obj == dataclasses.replace(obj)  # the same fields as one built by __init__
        with pytest.raises(dataclasses.FrozenInstanceError):
            obj.tagged = False  # type: ignore[misc, union-attr]
    assert result == AuthResult(((1, "COSE_Sign1", -7),), ())
    assert env == codec.decode(blob)


# ------------------------------------------------------------------ §6.2 checks


def _ref_walk(seq: Any, path: tuple[Any, ...]) -> Iterator[tuple[Command, tuple[Any, ...]]]:
    for n, cmd in enumerate(seq):
        p = (*path, n)
        yield cmd, p
        if cmd.code == 32 and isinstance(cmd.arg, tuple):
            yield from _ref_walk(cmd.arg, (*p, "run-sequence"))
        elif cmd.code == 15 and isinstance(cmd.arg, tuple):
            for k, sub in enumerate(cmd.arg):
                if sub is not None:
                    yield from _ref_walk(sub, (*p, "try-each", k))


_SHARED_OK = {12, 32, 15, 20, 1, 2, 3, 4, 5, 6, 7, 8, 14, 24, 25, 26, 27, 28}


def _ref_check(man: Manifest) -> tuple[str, Any]:
    """§6.2 as a plain walk: first violation (reason, path) or the warnings."""
    n = len(man.components)
    warnings = []

    def seq_check(seq: Any, path: tuple[Any, ...], shared: bool) -> tuple[str, Any] | None:
        if n > 1 and seq and seq[0].code != 12:
            return ("suit.index.first", path)
        for cmd, p in _ref_walk(seq, path):
            if cmd.code == 12:
                idx = cmd.arg
                for i in range(n) if idx is True else (idx if isinstance(idx, tuple) else (idx,)):
                    if i >= n:
                        return ("suit.index", p)
            elif cmd.code in (19, 20):
                src = cmd.arg.get(22)
                if src is not None and src >= n:
                    return ("suit.index", (*p, "source-component"))
                if shared and any(k < 0 for k in cmd.arg):
                    return ("suit.shared.custom", p)
            if shared and cmd.code not in _SHARED_OK:
                return ("suit.shared.command", p)
        return None

    shared = man.common.shared_sequence
    if shared is not None:
        bad = seq_check(shared, ("manifest", "common", "shared-sequence"), True)
        if bad:
            return bad
        codes = {c.code for c, _ in _ref_walk(shared, ())}
        if 1 not in codes or 2 not in codes:
            warnings.append("vendor/class")
    else:
        warnings.append("none")
    names = {7: "validate", 8: "load", 9: "invoke", 16: "payload-fetch", 20: "install"}
    for key, seq in man.sequences.items():
        bad = seq_check(seq, ("manifest", names[key]), False)
        if bad:
            return bad
    return ("ok", len(warnings))


_cmd = st.deferred(
    lambda: st.one_of(
        st.builds(make_command, st.sampled_from([1, 2, 3, 5, 14, 18, 21, 23, 24, 31, -300]), st.just(15)),
        st.builds(
            make_command,
            st.just(12),
            st.integers(0, 3)
            | st.just(True)
            | st.lists(st.integers(0, 3), min_size=1, max_size=3).map(tuple),
        ),
        st.builds(
            make_command,
            st.sampled_from([19, 20]),
            st.dictionaries(
                st.sampled_from([1, 2, 3, 14, 21, 22, -1]), st.integers(0, 3), min_size=1, max_size=3
            ),
        ),
        st.builds(make_command, st.just(32), _seq),
        st.builds(make_command, st.just(15), st.lists(_seq, min_size=2, max_size=2).map(tuple)),
    )
)
_seq = st.lists(_cmd, min_size=1, max_size=4).map(tuple)


@given(
    st.integers(1, 3),
    st.none() | _seq,
    st.dictionaries(st.sampled_from([7, 8, 9, 16, 20]), _seq, max_size=3),
)
@settings(max_examples=300, deadline=None)
def test_check_manifest_matches_the_plain_walk(ncomp: int, shared: Any, seqs: dict[int, Any]) -> None:
    man = Manifest(1, Common(tuple((bytes([i]),) for i in range(ncomp)), shared), sequences=seqs)
    expected = _ref_check(man)
    try:
        got: tuple[str, Any] = ("ok", len(check_manifest(man)))
    except ValidationError as err:
        got = (err.reason, err.path)
    assert got == expected


# ------------------------------------------------------------------ authentication reuse


@given(
    st.integers(-30, 30) | st.integers(-(2**64), 2**64),
    st.binary(max_size=300),
    st.lists(st.integers(0, 5), max_size=2),
)
@settings(max_examples=300, deadline=None)
def test_decoded_digest_bytes_are_the_encoded_digest(alg: int, value: bytes, extra: list[int]) -> None:
    """authenticate() signs over the wrapper's own digest bytes only when they are encode_digest's."""
    raw = cbor.dumps([alg, value, *extra])
    wrapper = cbor.dumps([raw])
    try:
        auth, (digest_bytes, blocks) = codec._decode_authentication(wrapper, ("authentication-wrapper",))
    except IotSecError:
        return
    assert blocks == ()
    if digest_bytes is not None:
        assert digest_bytes == codec.encode_digest(auth.digest) == raw


def test_authenticate_is_decode_then_verify() -> None:
    """The verification of authenticate() (decoded blocks reused) and of verify_blocks agree."""
    from iotsec.core.cose import CoseKey, mac0, sign1
    from iotsec.core.suit.auth import authenticate, verify_blocks

    key = CoseKey.generate("ES256")
    other = CoseKey.generate("ES256")
    env = codec.decode(cbor.dumps(_bare_envelope()), allow_unsigned=True)
    from iotsec.core.suit.auth import sign_envelope

    signed = sign_envelope(env, keys=[(key, -7)])
    assert signed.authentication is not None
    digest_bytes = codec.encode_digest(signed.authentication.digest)
    good = sign1(digest_bytes, key, alg=-7, detached=True)
    variants = [
        [good],
        [sign1(digest_bytes, other, alg=-7, detached=True), good],
        [sign1(digest_bytes, key, alg=-7)],  # attached payload
        [sign1(b"other", key, alg=-7, detached=True)],
        [good[1:]],  # untagged: refused by the codec
        [mac0(digest_bytes, CoseKey.generate("HMAC 256/256"), detached=True)],
        [bytes.fromhex("d28443a10126a1014126f640"), good],  # alg in both buckets
        [bytes.fromhex("d28444a1014100a0f640")],  # alg as bytes
        [bytes.fromhex("d2845803a10126a0f640"), good],  # non-preferred head: not deterministic
    ]
    for blocks in variants:
        auth = dataclasses.replace(signed.authentication, blocks=tuple(blocks))
        blob = codec.encode(dataclasses.replace(signed, authentication=auth))
        for anchors in ([key.public()], [other.public()], [other.public(), key]):
            try:
                outer = codec.decode_outer(blob)
                assert isinstance(outer, codec.OuterEnvelope)
                ref: Any = verify_blocks(outer.authentication, outer.manifest_bytes, anchors)
            except IotSecError as err:
                ref = (type(err).__name__, err.reason, getattr(err, "path", None))
            try:
                got: Any = authenticate(blob, anchors)[1]
            except IotSecError as err:
                got = (type(err).__name__, err.reason, getattr(err, "path", None))
            assert got == ref, (blocks, anchors)
