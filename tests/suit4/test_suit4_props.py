"""Property tests: mutated envelopes and random inputs to the companion processor give typed
errors only and never install anything."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from suit4_helpers import ENC, TD, MapFetcher, example_anchors, example_keys, process, read_hex, signer

from iotsec.core.suit import codec
from iotsec.core.suit.companion import process_suit
from iotsec.core.suit.processor import DeviceIdentity
from iotsec.core.suit.store import MemoryStore
from iotsec.errors import IotSecError

# same location as the shared_vectors fixture (tests/conftest.py); hypothesis needs it at import
VECTORS = Path(
    os.environ.get("IOTSEC_SHARED_VECTORS", Path(__file__).resolve().parents[2].parent / "shared" / "vectors")
)
BLOBS = [
    read_hex(VECTORS / TD / "example1_process.hex"),
    read_hex(VECTORS / TD / "example2_integrated.hex"),
    read_hex(VECTORS / ENC / "suit-manifest-aes-kw.hex.signed"),
    read_hex(VECTORS / ENC / "suit-manifest-es-ecdh-content.hex.signed"),
]
DEP = read_hex(VECTORS / TD / "example0_dependent.hex")
CT = read_hex(VECTORS / ENC / "encrypted-payload-aes-kw-aes-gcm.hex")


def _process(data: bytes, dep: bytes = DEP) -> None:
    try:
        env = codec.decode(data)
    except IotSecError:
        return
    store = MemoryStore()
    fetcher = MapFetcher(
        {"http://example.com/dependent.suit": dep, "coaps://example.com/encrypted-firmware": CT}
    )
    r = process(env, store, anchors=example_anchors(), fetcher=fetcher, decryption_keys=example_keys())
    if not r.ok:
        assert isinstance(r.error, IotSecError)
        assert store.components == {} and store.commits == 0


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(BLOBS))), st.integers(min_value=0), st.integers(min_value=0, max_value=255))
def test_suit4_mutated_envelopes(which: int, pos: int, value: int) -> None:
    data = bytearray(BLOBS[which])
    data[pos % len(data)] = value
    _process(bytes(data))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0), st.integers(min_value=0, max_value=255))
def test_suit4_mutated_dependency(pos: int, value: int) -> None:
    """A fetched dependency with one byte changed: refused (digest, signature or decoding)."""
    data = bytearray(DEP)
    data[pos % len(data)] = value
    if bytes(data) == DEP:
        return
    env = codec.decode(BLOBS[0])
    store = MemoryStore()
    r = process(env, store, fetcher=MapFetcher({"http://example.com/dependent.suit": bytes(data)}))
    assert not r.ok and isinstance(r.error, IotSecError)
    assert store.components == {}


_CBOR = st.recursive(
    st.none() | st.booleans() | st.integers(-70000, 70000) | st.binary(max_size=6) | st.text(max_size=4),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.integers(-3, 12), c, max_size=4),
    max_leaves=16,
)


@settings(max_examples=200, deadline=None)
@given(_CBOR)
def test_suit4_update_mgmt_decoders_typed_errors(obj: object) -> None:
    from iotsec.core import cbor
    from iotsec.core.suit.update_mgmt import decode_version_match, decode_wait_events

    for decoder in (decode_version_match, decode_wait_events):
        for raw in (obj, cbor.dumps(obj)):
            with contextlib.suppress(IotSecError):
                decoder(raw)


@settings(max_examples=200, deadline=None)
@given(_CBOR)
def test_suit4_delegation_structures_typed_errors(obj: object) -> None:
    from iotsec.core.suit.trust import Authority, delegated_authorities

    with contextlib.suppress(IotSecError):
        delegated_authorities(obj, [Authority.anchor("a", signer())], 0)


_CODES = [
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    11,
    12,
    14,
    18,
    19,
    20,
    21,
    22,
    23,
    24,
    25,
    26,
    27,
    28,
    29,
    31,
    33,
    34,
    35,
    -300,
]


def _cb(obj: object) -> bytes:
    from iotsec.core import cbor

    return cbor.dumps(obj)


_PARAM = {
    3: st.builds(lambda d: _cb([-16, d]), st.binary(min_size=32, max_size=32)),
    4: st.integers(0, 2000),
    14: st.integers(0, 100),
    18: st.binary(max_size=16),
    19: st.binary(max_size=16)
    | st.just(_cb(__import__("iotsec.core.cbor", fromlist=["tag"]).tag(96, [b"", {}, None, []]))),
    21: st.sampled_from(["#x", "http://nowhere/x"]),
    22: st.integers(0, 3),
    23: st.binary(max_size=4),
    26: st.integers(0, 10),
    27: st.integers(-3, 3),
    28: st.builds(lambda a, v: _cb([a, v]), st.integers(0, 6), st.lists(st.integers(-3, 3), max_size=3)),
    29: st.builds(_cb, st.dictionaries(st.integers(0, 10), st.integers(-1, 5000), max_size=2)),
    30: st.builds(_cb, st.dictionaries(st.integers(1, 8), st.integers(0, 9), max_size=2)),
}
_PARAMS = st.lists(st.sampled_from(sorted(_PARAM)), min_size=1, max_size=3, unique=True).flatmap(
    lambda keys: st.fixed_dictionaries({k: _PARAM[k] for k in keys})
)


@st.composite
def _sequence(draw: st.DrawFn) -> list[object]:
    out: list[object] = [12, draw(st.integers(0, 2))]  # §6.2: begin with set-component-index
    for _ in range(draw(st.integers(1, 6))):
        code = draw(st.sampled_from(_CODES))
        if code == 12:
            arg: object = draw(
                st.one_of(
                    st.integers(0, 3), st.just(True), st.lists(st.integers(0, 3), min_size=1, max_size=2)
                )
            )
        elif code in (19, 20):
            arg = draw(_PARAMS)
        elif code == 34:
            arg = draw(st.dictionaries(st.integers(0, 3), _PARAMS, max_size=2))
        elif code == 35:
            arg = draw(
                st.dictionaries(st.integers(0, 3), st.lists(st.integers(-3, 30), max_size=3), max_size=2)
            )
        else:
            arg = draw(st.integers(0, 15))
        out += [code, arg]
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_sequence(), st.booleans())
def test_suit4_random_manifests_typed_errors_only(seq: list[object], with_dep: bool) -> None:
    """Random command sequences (all companion commands, odd arguments), correctly signed: the
    processor returns a result, never raises, and a failed run leaves the store untouched."""
    from iotsec.core import cbor
    from iotsec.core.cose import Algorithm, CoseKey
    from iotsec.core.suit.update_mgmt import StaticInputs

    key = _KEY
    common: dict[int, object] = {2: [[b"00"], [b"01"]]}
    if with_dep:
        common[1] = {2: {1: [b"dep"]}}
    manifest = {1: 1, 2: 1, 3: cbor.dumps(common), 20: cbor.dumps(seq)}
    try:
        env = codec.decode(_sign(cbor.dumps(manifest), key), allow_unsigned=False)
    except IotSecError:
        return
    store = MemoryStore({(b"00",): b"old"})
    r = process_suit(
        env,
        anchors=[key.public()],
        identity=DeviceIdentity(),
        stored_sequence=None,
        now=1000,
        store=store,
        inputs=StaticInputs(battery=5, consent=True, versions={(b"00",): [1]}),
        decryption_keys=[CoseKey.symmetric(b"k" * 16)],
    )
    if not r.ok:
        assert isinstance(r.error, IotSecError), r.error
        assert store.components == {(b"00",): b"old"}
    _ = Algorithm


def _sign(manifest_bytes: bytes, key: object) -> bytes:
    from iotsec.core import cbor
    from iotsec.core.cose import Algorithm
    from iotsec.core.suit.auth import sign_envelope
    from iotsec.core.suit.digest import make_digest
    from iotsec.core.suit.model import Authentication, Envelope

    env = codec.decode(
        cbor.dumps(
            cbor.tag(
                107,
                {
                    2: cbor.dumps([cbor.dumps([-16, make_digest(cbor.dumps(manifest_bytes)).value])]),
                    3: manifest_bytes,
                },
            )
        ),
        allow_unsigned=True,
    )
    signed = sign_envelope(env, keys=[(key, Algorithm.ES256)])  # type: ignore[list-item]
    _ = (Authentication, Envelope)
    return codec.encode(signed)


_KEY = __import__("iotsec.core.cose", fromlist=["CoseKey"]).CoseKey.generate(-7)
