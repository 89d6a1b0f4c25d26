"""The C fast path (src/iotsec/core/_cbor_c.c) against cbor2 and the exact Python walks.

What it returns must be exactly what cbor2 returns, and only for input that the exact walks accept;
everything else must come back as FALLBACK (never an exception, never a crash).
"""

from __future__ import annotations

import textwrap
import tracemalloc
from collections import namedtuple
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import Any

import cbor2
import pytest
from cbor2 import CBORTag
from hypothesis import given, settings
from hypothesis import strategies as st

from iotsec.core import _fastcbor, cbor, deterministic
from iotsec.errors import DecodeError, ValidationError
from memcheck import memcheck_reports

decode = _fastcbor.decode
FALLBACK = _fastcbor.FALLBACK


def test_the_extension_is_built() -> None:
    # `pip install` builds it (pyproject ext-modules); without it every decoder is several times slower
    assert decode is not None, "iotsec.core._cbor_c is not built: install a C compiler and reinstall"


def _c(data: bytes, det: bool, depth: int = 64) -> Any:
    assert decode is not None
    return decode(data, det, depth)


def same(a: Any, b: Any) -> bool:
    """Equal with the same types all the way down (True is not 1, a tuple is not a list)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return (
            list(a) == list(b)
            and all(same(k, k2) for k, k2 in zip(a, b, strict=True))
            and all(same(a[k], b[k]) for k in a)
        )
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, CBORTag):
        return a.tag == b.tag and same(a.value, b.value)
    return bool(a == b)


scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64 - 1)
    | st.binary(max_size=40)
    | st.text(max_size=30)
    | st.floats(allow_nan=False)
)
keys = (
    st.integers(-(2**64), 2**64 - 1) | st.text(max_size=5) | st.binary(max_size=5) | st.booleans() | st.none()
)
values = st.recursive(
    scalars,
    lambda c: (
        st.lists(c, max_size=5)
        | st.dictionaries(keys, c, max_size=5)
        | st.builds(CBORTag, st.sampled_from([6, 18, 61, 98, 107, 1070, 2**32, 2**64 - 1, 0, 2, 258]), c)
    ),
    max_leaves=25,
)


def _mutate(blob: bytes, data: st.DataObject) -> bytes:
    b = bytearray(blob)
    for _ in range(data.draw(st.integers(0, 3))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if op == "flip" and b:
            b[data.draw(st.integers(0, len(b) - 1))] = data.draw(st.integers(0, 255))
        elif op == "cut" and b:
            del b[data.draw(st.integers(0, len(b) - 1)) :]
        else:
            b.insert(data.draw(st.integers(0, len(b))), data.draw(st.integers(0, 255)))
    return bytes(b)


def _strict_exact(blob: bytes, depth: int) -> tuple[bool, Any]:
    try:
        cbor.check_well_formed(blob, max_depth=depth)
        value = cbor2.loads(blob)
    except Exception:
        return False, None
    return True, value


@given(values, st.data(), st.integers(0, 8))
@settings(max_examples=600)
def test_strict_mode_is_sound(value: Any, data: st.DataObject, depth: int) -> None:
    try:
        blob = data.draw(st.sampled_from([cbor2.dumps(value), cbor.dumps(value)]))
    except Exception:
        return
    blob = _mutate(blob, data)
    got = _c(blob, False, depth)
    if got is FALLBACK:
        return
    ok, expected = _strict_exact(blob, depth)
    assert ok, blob.hex()
    assert same(got, expected), blob.hex()
    assert cbor2.dumps(got) == blob  # preferred serialization only


@given(values, st.data(), st.integers(0, 8))
@settings(max_examples=600)
def test_deterministic_mode_is_sound(value: Any, data: st.DataObject, depth: int) -> None:
    try:
        blob = data.draw(st.sampled_from([cbor2.dumps(value), cbor.dumps(value)]))
    except Exception:
        return
    blob = _mutate(blob, data)
    got = _c(blob, True, depth)
    if got is FALLBACK:
        return
    deterministic.check(blob, max_depth=depth)  # raises if the exact walk refuses
    assert same(got, cbor2.loads(blob)), blob.hex()


@given(st.binary(max_size=64), st.booleans())
@settings(max_examples=2000)
def test_random_bytes_never_raise(blob: bytes, det: bool) -> None:
    got = _c(blob, det)
    if got is not FALLBACK:
        assert same(got, cbor2.loads(blob))


plain = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.binary(max_size=300)
    | st.text(max_size=30),
    lambda c: (
        st.lists(c, max_size=5)
        | st.dictionaries(
            st.integers(-1000, 1000) | st.text(max_size=4) | st.binary(max_size=3), c, max_size=5
        )
        | st.builds(CBORTag, st.sampled_from([6, 18, 61, 98, 1070, 2**40]), c)
    ),
    max_leaves=25,
)


@given(plain)
@settings(max_examples=400)
def test_the_common_case_does_not_fall_back(value: Any) -> None:
    blob = cbor.dumps(value)  # deterministic: taken by both modes
    for det in (True, False):
        got = _c(blob, det)
        assert got is not FALLBACK, blob.hex()
        assert same(got, cbor2.loads(blob))


@pytest.mark.parametrize(
    ("hexdata", "det", "why"),
    [
        ("1817", True, "argument not in its shortest form"),
        ("1817", False, "argument not in its shortest form"),
        ("5f41014102ff", False, "indefinite-length string"),
        ("9f01ff", True, "indefinite-length array"),
        ("a201010102", False, "duplicate key"),
        ("a201f50102", False, "keys 1 and true collide once decoded"),
        ("a202010101", True, "keys out of bytewise order"),
        ("f93c00", True, "float: left to the exact path"),
        ("f7", False, "undefined"),
        ("e0", False, "simple value 0"),
        ("c11a514b67b0", False, "tag 1: cbor2 makes a datetime"),
        ("d9010281 01", False, "tag 258: cbor2 makes a set"),
        ("62c328", False, "invalid UTF-8"),
        ("3bffffffffffffffff", False, "below -2**63"),
        ("820102ff", False, "trailing bytes"),
        ("83010203", True, ""),  # accepted: the control case
        ("5a00000010", False, "length past the end"),
        ("9b0000000100000000", False, "count past the end"),
        ("a1a10102 03", False, "a map as a map key"),
        ("a1c10103", False, "a tag as a map key"),
        ("", False, "empty input"),
        ("1c", False, "reserved additional information"),
    ],
)
def test_what_falls_back(hexdata: str, det: bool, why: str) -> None:
    blob = bytes.fromhex(hexdata.replace(" ", ""))
    got = _c(blob, det)
    if why:
        assert got is FALLBACK, why
    else:
        assert got == cbor2.loads(blob)


def _nested(levels: int, leaf: bytes = b"\x01") -> bytes:
    return b"\x81" * levels + leaf


@pytest.mark.parametrize("depth", [0, 1, 2, 5, 48])
def test_nesting_limits_match_the_exact_paths(depth: int) -> None:
    for levels in range(depth + 3):
        for leaf in (b"\x01", b"\x80", b"\xd8\x63\x01"):
            blob = _nested(levels, leaf)
            try:
                cbor.check_well_formed(blob, max_depth=depth)
                strict_ok = True
            except DecodeError:
                strict_ok = False
            assert (_c(blob, False, depth) is not FALLBACK) == strict_ok, (blob.hex(), depth)
            try:
                deterministic.check(blob, max_depth=depth)
                det_ok = True
            except deterministic.NotDeterministic:
                det_ok = False
            assert (_c(blob, True, depth) is not FALLBACK) == det_ok, (blob.hex(), depth)


def test_hostile_depth_and_limits() -> None:
    deep = _nested(100_000)
    assert _c(deep, False, 64) is FALLBACK
    assert _c(deep, True, 64) is FALLBACK
    assert _c(deep, True, 10**9) is FALLBACK  # beyond what the C recursion takes: the exact path decides
    with pytest.raises(TypeError):
        _c(bytearray(b"\x01"), True)  # type: ignore[arg-type]


def test_semantic_tags_cover_what_cbor2_interprets() -> None:
    # a tag that cbor2 turns into an object must be left to cbor2, or the value would differ
    interpreted = set()
    candidates = [*range(0, 1100), 1004, 43000, 55799, 2**32 - 1, 2**63]
    for n in candidates:
        for payload in (0, b"\x01\x02\x03\x04", "a", [1, 2], {1: 2}, [b"\x01\x02\x03\x04", 1], 1.0):
            try:
                v = cbor2.loads(cbor2.dumps(CBORTag(n, payload)))
            except Exception:
                interpreted.add(n)
                break
            if not (type(v) is CBORTag and v.tag == n and v.value == payload):
                interpreted.add(n)
                break
    assert interpreted <= _fastcbor.SEMANTIC_TAGS, sorted(interpreted - _fastcbor.SEMANTIC_TAGS)


def test_fallbacks_leak_nothing() -> None:
    # each input builds objects, then falls back deep inside: everything built must be freed
    inputs = [
        bytes.fromhex("83 41aa 6161 a2 0102 0102".replace(" ", "")),  # duplicate key at the end
        bytes.fromhex("82 d863 82 4101 62c328".replace(" ", "")),  # invalid UTF-8 inside a tag
        bytes.fromhex("a1 820102 f93c00".replace(" ", "")),  # a float value under a tuple key
        bytes.fromhex("84 01 02 03".replace(" ", "")),  # truncated
    ]
    for blob in inputs:
        assert _c(blob, False) is FALLBACK
    tracemalloc.start()
    try:
        for blob in inputs * 2000:
            _c(blob, False)
        before = tracemalloc.get_traced_memory()[0]
        for blob in inputs * 20000:
            _c(blob, False)
            _c(blob, True)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 64 * 1024, f"{grown} bytes kept after 160,000 fallbacks"


def test_the_python_paths_agree_without_the_extension(monkeypatch: pytest.MonkeyPatch) -> None:
    samples = [
        cbor.dumps({1: [1, b"x", "y", -5, 2**64 - 1], 2: CBORTag(99, [True, None])}),
        cbor.dumps([{b"k": 1}, {"a": [1, 2]}]),
        bytes.fromhex("a1820102 03"),
        bytes.fromhex("a202010101"),
        bytes.fromhex("1817"),
    ]
    with_c = [_outcome(s) for s in samples]
    monkeypatch.setattr(_fastcbor, "decode", None)
    assert [_outcome(s) for s in samples] == with_c


def _outcome(blob: bytes) -> tuple[str, str]:
    out = []
    for fn in (cbor.loads, deterministic.loads):
        try:
            out.append(repr(fn(blob)))
        except (DecodeError, deterministic.NotDeterministic) as err:
            out.append(type(err).__name__)
    return out[0], out[1]


def test_no_invalid_memory_access_under_valgrind() -> None:
    # a fuzz loop (random bytes, mutated valid items) through the C decoder under memcheck
    script = textwrap.dedent(
        """
        import random, cbor2
        from iotsec.core import _fastcbor
        rnd = random.Random(7)
        seeds = [cbor2.dumps(v) for v in ([1, b"ab", "cd", {1: [2, 3]}], {"k": [True, None, -7]},
                 cbor2.CBORTag(99, [2**40, -2**40]), [[[[]]]], {b"x": {1: 2}})]
        for i in range(3000):
            if i % 2:
                blob = bytes(rnd.randrange(256) for _ in range(rnd.randrange(24)))
            else:
                b = bytearray(rnd.choice(seeds))
                for _ in range(rnd.randrange(1, 4)):
                    b[rnd.randrange(len(b))] = rnd.randrange(256)
                blob = bytes(b[: rnd.randrange(len(b) + 1)])
            for det in (True, False):
                v = _fastcbor.decode(blob, det, rnd.randrange(0, 6))
                if v is not _fastcbor.FALLBACK:
                    assert _fastcbor.encode(v) is not None
        print("done")
        """
    )
    # only the reports with a frame in the extension count
    reports = memcheck_reports(script)
    ours = [r for r in reports if "_cbor_c" in r]
    assert not ours, ours[0][-3000:]


# ------------------------------------------------------------------------------------ encoder


class Color(IntEnum):
    RED = 1
    BIG = 70000


class Name(StrEnum):
    A = "a"


Pair = namedtuple("Pair", "x y")

encodable = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.binary(max_size=40)
    | st.text(max_size=20)
    | st.floats()
    | st.sampled_from([Color.RED, Color.BIG, Name.A]),
    lambda c: (
        st.lists(c, max_size=5)
        | st.lists(c, max_size=4).map(tuple)
        | st.builds(Pair, c, c)
        | st.dictionaries(
            st.integers(-(2**66), 2**66) | st.text(max_size=4) | st.binary(max_size=3) | st.booleans(),
            c,
            max_size=6,
        )
        | st.builds(CBORTag, st.sampled_from([0, 1, 6, 18, 98, 258, 2**32, 2**64 - 1]), c)
    ),
    max_leaves=30,
)


def _python_dumps(value: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[str, bytes | None]:
    with monkeypatch.context() as m:
        m.setattr(_fastcbor, "encode", None)
        try:
            return "ok", cbor.dumps(value)
        except Exception as err:
            return type(err).__name__, None


def _dumps(value: Any) -> tuple[str, bytes | None]:
    try:
        return "ok", cbor.dumps(value)
    except Exception as err:
        return type(err).__name__, None


@given(encodable)
@settings(max_examples=800)
def test_encoder_equals_the_python_encoder(value: Any) -> None:
    with pytest.MonkeyPatch.context() as mp:
        assert _dumps(value) == _python_dumps(value, mp)


@given(encodable)
@settings(max_examples=300)
def test_encoder_output_is_deterministic(value: Any) -> None:
    assert _fastcbor.encode is not None
    out = _fastcbor.encode(value)
    if out is FALLBACK:
        return
    deterministic.check(out, max_depth=10_000)  # the exact §4.2.1 walk accepts it


@pytest.mark.parametrize(
    "value",
    [1.5, 2**64, -(2**64) - 1, "\ud800", [1, {2: 3.0}], {1: datetime.now(UTC)}, bytearray(b"x"), object()],
)
def test_encoder_falls_back_for_the_rest(value: Any) -> None:
    assert _fastcbor.encode is not None
    assert _fastcbor.encode(value) is FALLBACK


def test_encoder_cycles_and_depth() -> None:
    loop: list[Any] = []
    loop.append(loop)
    assert _fastcbor.encode is not None
    assert _fastcbor.encode(loop) is FALLBACK  # past its depth limit: cbor2 then reports the cycle
    with pytest.raises(ValidationError):
        cbor.dumps(loop)
    deep: Any = 1
    for _ in range(5000):
        deep = [deep]
    assert _fastcbor.encode(deep) is FALLBACK


def test_encoder_map_order_is_bytewise() -> None:
    # RFC 8949 §4.2.1: 10 < 100 < -1 < "z" < "aa" by encoding (0a, 1864, 20, 617a, 626161)
    out = cbor.dumps({"aa": 0, -1: 0, "z": 0, 100: 0, 10: 0})
    assert out.hex() == "a5" + "0a00" + "186400" + "2000" + "617a00" + "62616100"


def test_encoder_leaks_nothing() -> None:
    values = [{1: [b"x" * 100, "y", {2: (3, 4)}]}, [1.5], {1: {2: object()}}, CBORTag(6, {1: 2})]
    assert _fastcbor.encode is not None
    tracemalloc.start()
    try:
        for v in values * 2000:
            _fastcbor.encode(v)
        before = tracemalloc.get_traced_memory()[0]
        for v in values * 20000:
            _fastcbor.encode(v)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 64 * 1024, f"{grown} bytes kept after 80,000 encodes"
