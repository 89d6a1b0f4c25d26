"""deterministic.loads (C fast path) agrees with the exact RFC 8949 §4.2.1 walk."""

from __future__ import annotations

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotsec.core import cbor, deterministic

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, width=16)
    | st.floats(allow_nan=False)
    | st.binary(max_size=8)
    | st.text(max_size=4),
    lambda c: (
        st.lists(c, max_size=4)
        | st.dictionaries(st.integers(-300, 300) | st.text(max_size=3) | st.binary(max_size=2), c, max_size=5)
    ),
    max_leaves=20,
)


def _exact(blob: bytes) -> tuple[str, object]:
    try:
        deterministic.check(blob)
    except deterministic.NotDeterministic as err:
        return ("malformed" if err.malformed else "noncanonical", None)
    try:
        return ("ok", cbor2.loads(blob))
    except Exception:
        return ("malformed", None)


def _fast(blob: bytes) -> tuple[str, object]:
    try:
        return ("ok", deterministic.loads(blob))
    except deterministic.NotDeterministic as err:
        return ("malformed" if err.malformed else "noncanonical", None)


@given(values, st.data())
@settings(max_examples=500)
def test_fast_loads_agrees_with_the_exact_walk(value: object, data: st.DataObject) -> None:
    # cbor2 keeps insertion order (often not canonical); cbor.dumps sorts keys; then mutations
    blob = bytearray(data.draw(st.sampled_from([cbor2.dumps(value), cbor.dumps(value)])))
    for _ in range(data.draw(st.integers(0, 2))):
        if blob:
            blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
    fast, exact = _fast(bytes(blob)), _exact(bytes(blob))
    assert fast[0] == exact[0]
    if fast[0] == "ok":
        assert repr(fast[1]) == repr(exact[1])  # repr: NaN-free floats, -0.0 vs 0.0 told apart


@pytest.mark.parametrize(
    ("hexdata", "ok"),
    [
        ("a201010202", True),
        ("a202010101", False),  # keys out of order
        ("a2381801 1818 02".replace(" ", ""), False),  # -25 before 24: bytewise 0x18 < 0x38
        ("a21818 01 3818 02".replace(" ", ""), True),
        ("fb3ff0000000000000", False),  # 1.0 as float64: not the shortest form
        ("f93c00", True),
        ("1801", False),
        ("a2616201616101", False),  # "b" before "a"
    ],
)
def test_fast_loads_key_order_and_floats(hexdata: str, ok: bool) -> None:
    blob = bytes.fromhex(hexdata)
    if ok:
        assert deterministic.loads(blob) == cbor2.loads(blob)
    else:
        with pytest.raises(deterministic.NotDeterministic):
            deterministic.loads(blob)
