"""The fast decode path of COSE_Sign1/COSE_Mac0 accepts and rejects exactly what the strict path does.

Differential test: the same inputs (hand-made edge cases and hypothesis mutations of valid
messages) are decoded with the fast path on and off; results (fields or error class) agree.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotsec.core.cose import CoseKey, Mac0Message, Sign1Message, mac0, sign1
from iotsec.errors import DecodeError, IotSecError

# the package exports functions named like some submodules: reach the module itself
common_mod = sys.modules["iotsec.core.cose._common"]

KEY = CoseKey.generate("ES256", kid="k")
HKEY = CoseKey.generate("HMAC 256/256", kid="h")
SIGN1 = sign1(b"payload", KEY)
MAC0 = mac0(b"payload", HKEY)
DETACHED = sign1(b"payload", KEY, detached=True)  # the SUIT shape: [h'a10126', {4: kid}, nil, sig]
BARE = bytes.fromhex("d28443a10126a0f65840") + bytes(range(64))  # ... with an empty unprotected map


@contextmanager
def strict_only() -> Iterator[None]:
    # COSE_Sign1 and COSE_Mac0 both decode through _common.decode_four, which tries fast_four first
    saved = common_mod.fast_four
    common_mod.fast_four = lambda *a, **k: None  # type: ignore[assignment]
    try:
        yield
    finally:
        common_mod.fast_four = saved


def outcome(decode: Callable[[bytes], Any], data: bytes) -> Any:
    try:
        m = decode(data)
    except IotSecError as e:
        return type(e).__name__, e.reason
    return m.protected, m.protected_bytes, m.unprotected, m.payload, m.encode(), m.tagged


def both(decode: Callable[[bytes], Any], data: bytes) -> Any:
    fast = outcome(decode, data)
    with strict_only():
        strict = outcome(decode, data)
    assert fast == strict, data.hex()
    return fast


EDGE_CASES = [
    SIGN1,
    SIGN1[1:],  # untagged
    SIGN1 + b"\x00",  # trailing byte
    SIGN1[:-1],  # truncated
    bytes.fromhex("d284")
    + bytes.fromhex("43a10126")
    + bytes.fromhex("a2044131044132")
    + b"\xf6\x40",  # dup kid
    bytes.fromhex("d284") + bytes.fromhex("5803a10126") + b"\xa0\xf6\x40",  # non-preferred bstr length
    bytes.fromhex("d81284") + bytes.fromhex("43a10126") + b"\xa0\xf6\x40",  # non-preferred tag head
    bytes.fromhex("d284") + bytes.fromhex("43a10126") + b"\xa1\x04\x61\x78" + b"\xf6\x40",  # kid as text
    bytes.fromhex("d284") + bytes.fromhex("43a10126") + b"\xa1\x01\x26" + b"\xf6\x40",  # alg in both
    bytes.fromhex("d284") + bytes.fromhex("41a0") + b"\xa0\xf6\x40",  # h'a0' protected
    bytes.fromhex("d284") + bytes.fromhex("43a10126") + b"\xbf\xff" + b"\xf6\x40",  # indefinite map
    bytes.fromhex("d284") + bytes.fromhex("43a10126") + b"\xa1\x1c\x00" + b"\xf6\x40",  # reserved info 28
    bytes.fromhex("d284") + bytes.fromhex("43a10126") + b"\xa1\x1b" + b"\x00" * 4 + b"\xf6\x40",  # short
    bytes.fromhex("d284") + bytes.fromhex("42a101") + b"\xa0\xf6\x40",  # truncated protected map
    bytes.fromhex("d284") + bytes.fromhex("43a10126") + b"\xa0\x5f\x41\x61\xff\x40",  # indefinite payload
    DETACHED,
    BARE,
    BARE[:-1],  # signature one byte short
    BARE + b"\x00",  # trailing byte after the signature
    BARE[:10] + b"\x00" * 65,  # signature head announces 64 bytes, 65 follow
    bytes.fromhex("d28443a10126a0f65818") + bytes(24),  # 24-byte last item, the smallest 0x58 one
    bytes.fromhex("d28443a10126a0f65817") + bytes(23),  # 0x58 with a length under 24 (non-preferred)
    bytes.fromhex("d28457a10126a0f640"),  # protected bucket longer than the message
    bytes.fromhex("d28444a1014100a0f640"),  # alg as a byte string, nothing unprotected
    bytes.fromhex("d28443a10120a0f640"),  # alg -1, nothing unprotected
    bytes.fromhex("d28446a2012602a101a0f640"),  # crit present with alg
    bytes.fromhex("d28440a0f640"),  # empty protected bytes
    bytes.fromhex("d284"),  # too short for four items
]


@pytest.mark.parametrize("data", EDGE_CASES, ids=range(len(EDGE_CASES)))
def test_edge_cases_agree(data: bytes) -> None:
    both(Sign1Message.decode, data)
    both(Mac0Message.decode, bytes([0xD1]) + data[1:] if data[:1] == b"\xd2" else data)


def test_edge_case_verdicts() -> None:
    assert both(Sign1Message.decode, EDGE_CASES[2])[0] == "DecodeError"
    assert both(Sign1Message.decode, EDGE_CASES[4]) == (DecodeError.__name__, "cbor.duplicate_key")
    assert both(Sign1Message.decode, EDGE_CASES[5])[0] == {1: -7}  # accepted: well-formed CBOR
    assert both(Sign1Message.decode, EDGE_CASES[9])[0] == {}


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([SIGN1, MAC0, DETACHED, BARE]), st.integers(0, 200), st.integers(0, 255), st.booleans()
)
def test_mutations_agree(base: bytes, pos: int, val: int, cut: bool) -> None:
    buf = bytearray(base)
    i = pos % len(buf)
    if cut:
        del buf[i:]
    else:
        buf[i] = val
    decode = Mac0Message.decode if base is MAC0 else Sign1Message.decode
    both(decode, bytes(buf))


@settings(max_examples=100, deadline=None)
@given(st.integers(-(2**70), 2**70) | st.binary(max_size=3), st.booleans())
def test_protected_alg_forms_agree(alg: Any, tagged: bool) -> None:
    """{1: alg} protected buckets (the shortcut's shape and its neighbours) decode the same."""
    import cbor2

    prot = cbor2.dumps({1: alg})
    item = [prot, {}, b"p", b"s"]
    both(Sign1Message.decode, cbor2.dumps(cbor2.CBORTag(18, item) if tagged else item))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.binary(max_size=300), st.binary(max_size=70000) | st.binary(max_size=30))
def test_unrolled_sig_structure_is_the_general_one(protected: bytes, aad: bytes, payload: bytes) -> None:
    from iotsec.core.cose._common import sig1_structure, structure

    assert sig1_structure(protected, aad, payload) == structure("Signature1", protected, aad, payload)


def test_verify_with_detached_payload_and_the_cached_key_class() -> None:
    """The verification shortcuts (signature algorithm look-up, EC key class) keep every outcome."""
    from iotsec.errors import UnsupportedError, ValidationError, VerifyError

    msg = Sign1Message.decode(DETACHED)
    for _ in range(2):  # the second time through the remembered key class
        msg.verify(KEY.public(), detached_payload=b"payload")
        msg.verify(KEY, detached_payload=bytearray(b"payload"))
        with pytest.raises(VerifyError):
            msg.verify(KEY, detached_payload=b"other")
        with pytest.raises(ValidationError):
            msg.verify(KEY)  # detached: the payload must be supplied
        with pytest.raises(VerifyError):
            msg.verify(KEY, external_aad=bytearray(b"x"), detached_payload=b"payload")
    with pytest.raises(UnsupportedError):  # a MAC algorithm on a COSE_Sign1
        Sign1Message({1: 5}, b"\xa1\x01\x05", {}, None, b"", True).verify(KEY, detached_payload=b"p")
    with pytest.raises(UnsupportedError):
        Sign1Message({1: 99999}, b"\xa1\x01\x1a\x00\x01\x86\x9f", {}, None, b"", True).verify(
            KEY, detached_payload=b"p"
        )
    with pytest.raises(ValidationError):  # a P-256 key restricted to ES256, asked for ES384
        Sign1Message({1: -35}, b"\xa1\x01\x38\x22", {}, None, b"", True).verify(
            CoseKey.generate("ES256"), detached_payload=b"p"
        )
    with pytest.raises(ValidationError):  # an HMAC key cannot verify a signature
        msg.verify(HKEY, detached_payload=b"payload")


def from_decoded_outcome(data: bytes) -> Any:
    """Sign1Message.from_decoded on what deterministic.loads makes of ``data`` (None: not used)."""
    from iotsec.core import cbor, deterministic

    if data[:1] != b"\xd2" or len(data) > cbor.DEFAULT_MAX_SIZE:
        return None
    try:
        obj = deterministic.loads(data)
    except deterministic.NotDeterministic:
        return None
    assert isinstance(obj, cbor.CBORTag) and obj.tag == 18
    try:
        m = Sign1Message.from_decoded(obj.value)
    except IotSecError as e:
        return type(e).__name__, e.reason
    if m is None:
        return None
    return m.protected, m.protected_bytes, m.unprotected, m.payload, m.encode(), m.tagged


def check_from_decoded(data: bytes) -> None:
    got = from_decoded_outcome(data)
    if got is not None:
        assert got == outcome(Sign1Message.decode, data), data.hex()


@pytest.mark.parametrize("data", EDGE_CASES, ids=range(len(EDGE_CASES)))
def test_from_decoded_is_decode(data: bytes) -> None:
    check_from_decoded(data)


def test_from_decoded_takes_the_usual_shapes() -> None:
    for data in (SIGN1, DETACHED, BARE):
        assert from_decoded_outcome(data) is not None
    assert Sign1Message.from_decoded([b"", {}, None]) is None
    assert Sign1Message.from_decoded([b"\xa1\x01\x26", {"x": 1}, None, b""]) is None
    assert Sign1Message.from_decoded([b"\xa1\x01\x26", {4: 2**64}, None, b""]) is None
    assert Sign1Message.from_decoded([b"\xa1\x01\x26", {4: True}, None, b""]) is None
    assert Sign1Message.from_decoded([b"\xa1\x01\x26", {i: 0 for i in range(24)}, None, b""]) is None


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([SIGN1, DETACHED, BARE]), st.integers(0, 200), st.integers(0, 255), st.booleans())
def test_from_decoded_mutations(base: bytes, pos: int, val: int, cut: bool) -> None:
    buf = bytearray(base)
    i = pos % len(buf)
    if cut:
        del buf[i:]
    else:
        buf[i] = val
    check_from_decoded(bytes(buf))


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.integers(-30, 30),
        st.integers(-(2**65), 2**65) | st.binary(max_size=30) | st.booleans() | st.text(max_size=3),
        max_size=4,
    ),
    st.dictionaries(st.integers(-30, 30), st.integers(-(2**65), 2**65) | st.binary(max_size=3), max_size=3),
    st.none() | st.binary(max_size=30),
)
def test_from_decoded_header_forms(
    unprot: dict[int, Any], prot: dict[int, Any], payload: bytes | None
) -> None:
    import cbor2

    prot_bytes = cbor2.dumps(prot, canonical=True) if prot else b""
    data = cbor2.dumps(cbor2.CBORTag(18, [prot_bytes, unprot, payload, b"s" * 64]), canonical=True)
    check_from_decoded(data)
