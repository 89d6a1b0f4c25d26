"""Random (authenticated) manifests through decode and the processor: only typed outcomes."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from iotsec.core import cbor
from iotsec.core.suit import codec
from iotsec.core.suit.processor import DeviceIdentity, process
from iotsec.core.suit.store import MemoryStore
from iotsec.errors import IotSecError, NotFoundError

_value = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-300, 2**33),
    st.binary(max_size=20),
    st.text(max_size=8),
)
_digest = st.sampled_from(
    [
        cbor.dumps([-16, __import__("hashlib").sha256(b"zero").digest()]),
        cbor.dumps([-16, b"\x00" * 32]),
        cbor.dumps([-44, b"\x00" * 64]),
        cbor.dumps([-99, b""]),
    ]
)
_typed = {
    1: st.just(b"\xfa" * 16),
    2: st.just(b"\xfa" * 16),
    24: st.sampled_from([b"\xfa" * 16, b"\xfb" * 16]),
    3: _digest,
    4: st.integers(0, 10),
    5: st.integers(0, 2),
    12: st.booleans(),
    13: st.booleans(),
    14: st.integers(0, 100),
    18: st.sampled_from([b"zero", b"one"]),
    21: st.sampled_from(["a", "#p", "x"]),
    22: st.integers(0, 3),
    23: st.binary(max_size=4),
    25: st.binary(max_size=4),
    -300: st.integers(0, 3),
}
_good_params = st.lists(st.sampled_from(sorted(_typed)), min_size=1, max_size=4, unique=True).flatmap(
    lambda ks: st.fixed_dictionaries({k: _typed[k] for k in ks})
)
_ill_params = st.dictionaries(st.sampled_from([*sorted(_typed), 19, 26, -1]), _value, min_size=1, max_size=3)
_params = st.integers(0, 9).flatmap(lambda n: _ill_params if n == 0 else _good_params)
_known = st.sampled_from([1, 2, 3, 5, 6, 12, 14, 15, 18, 19, 20, 21, 22, 23, 24, 31, 32, 4, 25])
_codes = st.one_of(_known, _known, _known, st.sampled_from([7, 8, 11, 28, 29, 33, 34, 35, 99, -1, -300]))


_shared_codes = st.sampled_from([1, 2, 3, 5, 6, 12, 14, 15, 20, 24, 32])


def _arg(code: int, depth: int) -> st.SearchStrategy[Any]:
    if code in (20, 19):
        return _params
    if code == 12:
        return st.one_of(
            st.integers(0, 3), st.just(True), st.lists(st.integers(0, 3), min_size=1, max_size=3)
        )
    if code == 32 and depth < 2:
        return _seq(depth + 1).map(cbor.dumps)
    if code == 15 and depth < 2:
        return st.lists(_seq(depth + 1).map(cbor.dumps), min_size=2, max_size=3).flatmap(
            lambda xs: st.sampled_from([xs, [*xs, None]])
        )
    return st.integers(0, 99).flatmap(lambda n: _value if n < 3 else st.integers(0, 15))  # ~3% ill-typed


def _seq(depth: int = 0, codes: st.SearchStrategy[int] | None = None) -> st.SearchStrategy[list[Any]]:
    pair = (_codes if codes is None else codes).flatmap(lambda c: _arg(c, depth).map(lambda a: [c, a]))
    body = st.lists(pair, min_size=1, max_size=6).map(lambda ps: [x for p in ps for x in p])
    return st.one_of(body, body.map(lambda b: [12, 0, *b]))


_IDCHECK = [12, 0, 20, {1: b"\xfa" * 16, 2: b"\xfa" * 16}, 1, 15, 2, 15]
_shared = st.one_of(
    st.just(_IDCHECK), _seq(codes=_shared_codes).map(lambda s: _IDCHECK + s), _seq(codes=_shared_codes)
)


class _Fetch:
    def fetch(self, uri: str, arguments: bytes | None) -> bytes:
        if uri.endswith("x"):
            raise NotFoundError(uri)
        return uri.encode()


@settings(max_examples=400, deadline=None)
@given(ncomp=st.integers(1, 3), shared=_shared, install=_seq(), validate=_seq())
def test_random_manifests_give_reports_or_typed_errors(
    ncomp: int, shared: list[Any], install: list[Any], validate: list[Any]
) -> None:
    from iotsec.core.suit.builder import envelope_for

    raw = {
        1: 1,
        2: 1,
        3: cbor.dumps({2: [[bytes([i])] for i in range(ncomp)], 4: cbor.dumps(shared)}),
        20: cbor.dumps(install),
        7: cbor.dumps(validate),
    }
    try:
        man = codec.decode_manifest(cbor.dumps(raw))
    except IotSecError:
        return
    env = envelope_for(man)
    ident = DeviceIdentity(frozenset({b"\xfa" * 16}), frozenset({b"\xfa" * 16}), frozenset({b"\xfa" * 16}))
    store = MemoryStore({(b"\x00",): b"zero"}, slots={(b"\x00",): 1})
    try:
        report = process(
            env,
            trust_anchors=[],
            identity=ident,
            stored_sequence=None,
            now=0,
            store=store,
            fetcher=_Fetch(),
            authenticated=True,
            max_steps=2000,
        )
    except IotSecError:
        assert store.commits == 0
        return
    if not report.ok:
        assert store.commits == 0 and store.components == {(b"\x00",): b"zero"}
        assert report.error is not None and report.reason
