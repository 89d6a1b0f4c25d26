"""Property tests: hostile input to the COSE decoders and verifiers raises only IotSecError.

Random bytes, random CBOR structures inside COSE tags, and random mutations (bit flips,
truncations, insertions) of valid COSE_Sign1 / COSE_Sign / COSE_Mac0 / COSE_Mac messages go
through decode + verify; COSE_Key and JWK decoders and the diagnostic renderer get the same.
"""

from __future__ import annotations

import contextlib
from typing import Any

import cbor2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iotsec.core.cose import (
    CoseKey,
    Mac0Message,
    MacMessage,
    Sign1Message,
    SignMessage,
    mac,
    mac0,
    sign,
    sign1,
)
from iotsec.core.cose.diag import describe
from iotsec.errors import IotSecError

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

EC = CoseKey.generate("ES256", kid="ec")
ED = CoseKey.generate("Ed25519", kid="ed")
HK = CoseKey.generate("HMAC 256/64", kid="hk")
VALID: list[tuple[type[Any], bytes, CoseKey]] = [
    (Sign1Message, sign1(b"payload", EC, external_aad=b""), EC),
    (Sign1Message, sign1(b"payload", ED, protected={"content type": 0}), ED),
    (SignMessage, sign(b"payload", [EC, ED]), ED),
    (Mac0Message, mac0(b"payload", HK), HK),
    (MacMessage, mac(b"payload", [HK], HK.alg), HK),  # type: ignore[arg-type]
]
DECODERS = [Sign1Message, SignMessage, Mac0Message, MacMessage]


def _decode_verify(cls: type[Any], data: bytes, key: CoseKey) -> None:
    with contextlib.suppress(IotSecError):
        cls.decode(data).verify(key)


@SETTINGS
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    for cls in DECODERS:
        _decode_verify(cls, data, EC)
        _decode_verify(cls, data, HK)
    with contextlib.suppress(IotSecError):
        describe(data)


cbor_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64 - 1)
    | st.binary(max_size=40)
    | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.integers(-30, 30) | st.text(max_size=3), children, max_size=4)
    ),
    max_leaves=20,
)


@SETTINGS
@given(st.sampled_from([16, 17, 18, 96, 97, 98, None]), st.lists(cbor_values, min_size=3, max_size=5))
def test_random_structures_in_cose_tags(tag: int | None, items: list[Any]) -> None:
    # bstr-wrap some members as a protected bucket would be
    if items and isinstance(items[0], (dict, list)):
        items[0] = cbor2.dumps(items[0])
    data = cbor2.dumps(cbor2.CBORTag(tag, items) if tag is not None else items)
    for cls in DECODERS:
        _decode_verify(cls, data, EC)
        _decode_verify(cls, data, HK)
    describe(data)


@SETTINGS
@given(
    st.sampled_from(range(len(VALID))),
    st.lists(
        st.tuples(
            st.sampled_from(["flip", "cut", "insert", "delete"]), st.integers(0, 10_000), st.integers(0, 255)
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_mutated_valid_messages(which: int, edits: list[tuple[str, int, int]]) -> None:
    cls, data, key = VALID[which]
    buf = bytearray(data)
    for op, pos, val in edits:
        if not buf:
            break
        i = pos % len(buf)
        if op == "flip":
            buf[i] ^= val or 1
        elif op == "cut":
            del buf[i:]
        elif op == "insert":
            buf.insert(i, val)
        else:
            del buf[i]
    _decode_verify(cls, bytes(buf), key)
    with contextlib.suppress(IotSecError):
        describe(bytes(buf))


@SETTINGS
@given(st.dictionaries(st.integers(-5, 5), cbor_values, max_size=6))
def test_random_cose_keys(m: dict[int, Any]) -> None:
    for blob in (cbor2.dumps(m), cbor2.dumps({**m, 1: 2, -1: 1}), cbor2.dumps({**m, 1: 1, -1: 6})):
        with contextlib.suppress(IotSecError):
            CoseKey.from_cose(blob)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c, max_size=3),
    max_leaves=10,
)


@SETTINGS
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "kty": st.sampled_from(["EC", "OKP", "oct", "RSA", 5]),
            "crv": st.sampled_from(["P-256", "Ed25519", "X25519", "P-999", 1]),
            "x": st.text(max_size=60) | json_values,
            "y": st.text(max_size=60) | json_values,
            "d": st.text(max_size=60) | json_values,
            "k": st.text(max_size=60) | json_values,
            "kid": json_values,
            "alg": json_values | st.sampled_from(["ES256", "HS256"]),
            "key_ops": json_values,
        },
    )
)
def test_random_jwks(j: dict[str, Any]) -> None:
    with contextlib.suppress(IotSecError):
        CoseKey.from_jwk(j)


header_maps = st.dictionaries(
    st.integers(-30, 30)
    | st.sampled_from(["alg", "kid", "crit", "content type", "IV", "x"])
    | st.floats(0, 2),
    cbor_values,
    max_size=4,
)


@SETTINGS
@given(header_maps, header_maps, st.binary(max_size=20), st.booleans())
def test_random_headers_when_creating(
    prot: dict[Any, Any], unprot: dict[Any, Any], aad: bytes, det: bool
) -> None:
    """sign1 / mac0 / sign with arbitrary caller header maps: a message that verifies, or an IotSecError."""
    for make, cls, key in ((sign1, Sign1Message, ED), (mac0, Mac0Message, HK)):
        try:
            data = make(b"p", key, protected=prot, unprotected=unprot, external_aad=aad, detached=det)
        except IotSecError:
            continue
        cls.decode(data).verify(key, aad, b"p" if det else None, critical=list(prot))
    try:
        signed = sign(b"p", [EC], protected=prot, unprotected=unprot)
    except IotSecError:
        return
    SignMessage.decode(signed).verify(EC, critical=list(prot))
