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

# the package exports the functions sign/mac, which shadow the submodules as attributes
sign_mod = sys.modules["iotsec.core.cose.sign"]
mac_mod = sys.modules["iotsec.core.cose.mac"]

KEY = CoseKey.generate("ES256", kid="k")
HKEY = CoseKey.generate("HMAC 256/256", kid="h")
SIGN1 = sign1(b"payload", KEY)
MAC0 = mac0(b"payload", HKEY)


@contextmanager
def strict_only() -> Iterator[None]:
    saved = sign_mod.fast_four, mac_mod.fast_four
    sign_mod.fast_four = mac_mod.fast_four = lambda *a, **k: None  # type: ignore[assignment]
    try:
        yield
    finally:
        sign_mod.fast_four, mac_mod.fast_four = saved


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
@given(st.sampled_from([SIGN1, MAC0]), st.integers(0, 200), st.integers(0, 255), st.booleans())
def test_mutations_agree(base: bytes, pos: int, val: int, cut: bool) -> None:
    buf = bytearray(base)
    i = pos % len(buf)
    if cut:
        del buf[i:]
    else:
        buf[i] = val
    decode = Sign1Message.decode if base is SIGN1 else Mac0Message.decode
    both(decode, bytes(buf))


@settings(max_examples=100, deadline=None)
@given(st.integers(-(2**70), 2**70) | st.binary(max_size=3), st.booleans())
def test_protected_alg_forms_agree(alg: Any, tagged: bool) -> None:
    """{1: alg} protected buckets (the shortcut's shape and its neighbours) decode the same."""
    import cbor2

    prot = cbor2.dumps({1: alg})
    item = [prot, {}, b"p", b"s"]
    both(Sign1Message.decode, cbor2.dumps(cbor2.CBORTag(18, item) if tagged else item))
