"""Property tests: mutated envelopes and random inputs to the companion processor give typed
errors only and never install anything."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from suit4_helpers import ENC, TD, MapFetcher, device_key, kek, mac_key, read_hex, signer

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
    r = process_suit(
        env,
        anchors=[signer(), mac_key()],
        identity=DeviceIdentity(),
        stored_sequence=None,
        now=0,
        store=store,
        fetcher=fetcher,
        decryption_keys=[kek(), device_key()],
    )
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
    r = process_suit(
        env,
        anchors=[signer()],
        identity=DeviceIdentity(),
        stored_sequence=None,
        now=0,
        store=store,
        fetcher=MapFetcher({"http://example.com/dependent.suit": bytes(data)}),
    )
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
