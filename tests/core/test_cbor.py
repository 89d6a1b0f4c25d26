"""Strict decoding and deterministic encoding, against RFC 8949 Appendix A examples and hypothesis."""

from __future__ import annotations

import contextlib

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotsec.core import cbor
from iotsec.errors import DecodeError

# RFC 8949 Appendix A: (diagnostic value, encoding)
APPENDIX_A = [
    (0, "00"),
    (23, "17"),
    (24, "1818"),
    (1000000, "1a000f4240"),
    (18446744073709551615, "1bffffffffffffffff"),
    (-1, "20"),
    (-1000, "3903e7"),
    (b"\x01\x02\x03\x04", "4401020304"),
    ("\u00fc", "62c3bc"),
    ([1, [2, 3], [4, 5]], "8301820203820405"),
    ({1: 2, 3: 4}, "a201020304"),
    ({"a": 1, "b": [2, 3]}, "a26161016162820203"),
]


@pytest.mark.parametrize(("value", "encoded"), APPENDIX_A)
def test_appendix_a_round_trip(value: object, encoded: str) -> None:
    assert cbor.dumps(value).hex() == encoded
    assert cbor.loads(bytes.fromhex(encoded)) == value


def test_rfc8949_4_2_1_key_order_is_bytewise() -> None:
    # RFC 8949 §4.2.1 example order: 10, 100, -1, "z", "aa", [100], [-1], false
    m = {False: 0, 100: 0, "aa": 0, 10: 0, -1: 0, "z": 0}
    keys = list(cbor2.loads(cbor.dumps(m)).keys())
    assert keys == [10, 100, -1, "z", "aa", False]


# RFC 8949 Appendix F.1: examples of CBOR data items that are not well-formed
NOT_WELL_FORMED = [
    "18",
    "19",
    "1a",
    "1b",
    "1901",
    "1a0102",
    "1b01020304050607",  # end of input in a head
    "38",
    "58",
    "78",
    "98",
    "9a01ff00",
    "b8",
    "d8",
    "f8",
    "f900",
    "fa0000",
    "fb000000",
    "41",
    "61",
    "5affffffff00",
    "5bffffffffffffffff010203",
    "7affffffff00",
    "81",
    "818181818181818181",
    "8200",
    "a1",
    "a20102",
    "a100",
    "a2000000",
    "5f4100",
    "7f6100",
    "9f",
    "9f0102",
    "bf",
    "bf01020102",
    "819f",
    "8a000000000000000000",
    "1c",
    "1d",
    "1e",
    "3c",
    "5c",
    "7c",
    "9c",
    "bc",
    "dc",
    "fc",  # reserved info values
    "f800",
    "f801",
    "f818",
    "f81f",  # two-byte simple values < 32
    "5f00ff",
    "5f21ff",
    "5f6100ff",
    "5f80ff",
    "5fa0ff",
    "5fc000ff",
    "5fe0ff",
    "7f4100ff",  # bad chunks
    "5f5f4100ffff",
    "7f7f6100ffff",
    "ff",
    "81ff",
    "8200ff",
    "a1ff",
    "a1ff00",
    "a100ff",
    "a20000ff",
    "9f81ff",
    "9f829f819f9fffffffff",
    "1f",
    "3f",
    "df",  # indefinite length for majors 0, 1, 6
]


@pytest.mark.parametrize("hexdata", NOT_WELL_FORMED)
def test_appendix_f_not_well_formed(hexdata: str) -> None:
    with pytest.raises(DecodeError):
        cbor.loads(bytes.fromhex(hexdata))


def test_trailing_duplicate_depth_size() -> None:
    with pytest.raises(DecodeError) as e1:
        cbor.loads(b"\x01\x02")
    assert e1.value.reason == "cbor.trailing"
    with pytest.raises(DecodeError) as e2:
        cbor.loads(bytes.fromhex("a2010101 02".replace(" ", "")))
    assert e2.value.reason == "cbor.duplicate_key"
    assert cbor.loads(bytes.fromhex("a201010102"), allow_duplicate_keys=True) == {1: 2}
    with pytest.raises(DecodeError) as e3:
        cbor.loads(b"\x81" * 100 + b"\x00")
    assert e3.value.reason == "cbor.depth"
    with pytest.raises(DecodeError) as e4:
        cbor.loads(b"\x00" * 10, max_size=5)
    assert e4.value.reason == "cbor.size"
    with pytest.raises(DecodeError):
        cbor.loads(bytes.fromhex("62c328"))  # invalid UTF-8 in a text string


def test_read_any_accepts_cbor_hex_and_diag() -> None:
    raw = bytes.fromhex("a26161016162820203")
    assert cbor.read_any(raw) == raw
    assert cbor.read_any(b"a2616101 6162820203\n") == raw
    assert cbor.read_any(b'{"a": 1, "b": [2, 3]}') == raw


json_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**64) + 1, 2**64 - 1)
    | st.binary(max_size=20)
    | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.integers(-30, 30) | st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_like)
@settings(max_examples=300)
def test_round_trip_and_determinism(value: object) -> None:
    enc = cbor.dumps(value)
    assert cbor.loads(enc) == value
    assert cbor.dumps(cbor.loads(enc)) == enc


@given(st.binary(max_size=64))
@settings(max_examples=2000)
def test_random_bytes_only_raise_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):  # anything else fails the test
        cbor.loads(data)


@given(json_like, st.data())
@settings(max_examples=500)
def test_truncation_is_always_detected(value: object, data: st.DataObject) -> None:
    enc = cbor.dumps(value)
    if len(enc) > 1:
        cut = data.draw(st.integers(1, len(enc) - 1))
        with pytest.raises(DecodeError):
            cbor.loads(enc[:cut])


@pytest.mark.parametrize(
    "hexdata",
    [
        "a201000100",  # {1: 0, 1: 0}
        "a20100f500",  # {1: 0, true: 0}: distinct in CBOR, one key once decoded
        "a20100f93c0000",  # {1: 0, 1.0: 0}
        "a20100180100",  # {1: 0, 1: 0} with the second 1 in a non-preferred encoding
        "a2616100780161 00".replace(" ", ""),  # {"a": 0, "a": 0}, second with a 1-byte length
    ],
)
def test_keys_that_collide_once_decoded_are_duplicates(hexdata: str) -> None:
    with pytest.raises(DecodeError) as err:
        cbor.loads(bytes.fromhex(hexdata))
    assert err.value.reason == "cbor.duplicate_key"


def test_distinct_keys_are_kept() -> None:
    assert cbor.loads(bytes.fromhex("a20100181800")) == {1: 0, 24: 0}
    assert cbor.loads(bytes.fromhex("a220002100")) == {-1: 0, -2: 0}


@pytest.mark.parametrize(
    ("hexdata", "expected"),
    [
        ("5f ff", "h''"),  # empty indefinite-length byte string
        ("5f 4101 4102 ff", "h'0102'"),
        ("82 7f 6161 6162 ff 01", '["ab", 1]'),
    ],
)
def test_diag_of_indefinite_length_strings(hexdata: str, expected: str) -> None:
    assert cbor.to_diag(bytes.fromhex(hexdata.replace(" ", ""))) == expected


def test_diag_matches_rfc8949_notation() -> None:
    assert cbor.to_diag(bytes.fromhex("a26161016162820203"), pretty=False) == '{"a":1,"b":[2,3]}'
    with pytest.raises(DecodeError):
        cbor.to_diag(b"\x82\x01")
    with pytest.raises(DecodeError):
        cbor.from_diag("{1: ")


def _slow_loads(data: bytes) -> object:
    """The reference path: the exact well-formedness walk, then cbor2."""
    cbor.check_well_formed(data)
    return cbor2.loads(data)


def _outcome(fn: object, data: bytes) -> tuple[str, object]:
    try:
        return ("ok", fn(data))  # type: ignore[operator]
    except DecodeError as err:
        return ("error", err.reason if err.reason != "cbor.invalid" else "cbor.invalid")
    except Exception:  # cbor2's own error in the reference path
        return ("error", "cbor.invalid")


@given(json_like, st.data())
@settings(max_examples=400)
def test_fast_path_agrees_with_the_walk(value: object, data: st.DataObject) -> None:
    enc = bytearray(cbor.dumps(value))
    for _ in range(data.draw(st.integers(0, 3))):  # mutate a few bytes (or none)
        if enc:
            i = data.draw(st.integers(0, len(enc) - 1))
            enc[i] = data.draw(st.integers(0, 255))
    blob = bytes(enc)
    fast, slow = _outcome(cbor.loads, blob), _outcome(_slow_loads, blob)
    assert fast[0] == slow[0]
    if fast[0] == "ok":
        assert fast[1] == slow[1]


def test_fast_path_keeps_the_depth_limit() -> None:
    at_limit = b"\x81" * cbor.DEFAULT_MAX_DEPTH + b"\x00"  # 64 nested arrays: allowed
    assert cbor.loads(at_limit) is not None
    with pytest.raises(DecodeError) as err:
        cbor.loads(b"\x81" + at_limit)
    assert err.value.reason == "cbor.depth"
