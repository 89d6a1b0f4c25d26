"""Authentication (draft-ietf-suit-manifest §8.3) with iotsec.core.cose, and signed processing."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from suit_helpers import realize
from suit_vectors import EXAMPLES, IMAGE_A, load_example, private_key_pem

from iotsec.core import cbor
from iotsec.core.cose import CoseKey
from iotsec.core.suit import codec
from iotsec.core.suit.auth import sign_envelope, verify_authentication
from iotsec.core.suit.processor import DeviceIdentity, process
from iotsec.core.suit.store import MemoryStore
from iotsec.errors import IotSecError, VerifyError

VENDOR = bytes.fromhex("fa6b4a53d5ad5fdfbe9de663e4d41ffe")
CLASS = bytes.fromhex("1492af1425695e48bf429b2d51f2ab45")
ID = DeviceIdentity(frozenset({VENDOR}), frozenset({CLASS}))
ES256 = -7


@pytest.fixture(scope="module")
def key(shared_vectors: Path) -> CoseKey:
    return CoseKey.load(private_key_pem(shared_vectors))


class Files:
    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    def fetch(self, uri: str, arguments: bytes | None) -> bytes:
        from iotsec.errors import NotFoundError

        try:
            return self.files[uri.rsplit("/", 1)[-1]]
        except KeyError:
            raise NotFoundError(uri) from None


@pytest.mark.parametrize("name", EXAMPLES)
def test_examples_verify_with_the_spec_key(shared_vectors: Path, key: CoseKey, name: str) -> None:
    env = codec.decode(load_example(shared_vectors, name).signed)
    result = verify_authentication(env, [key.public()])
    assert result.verified == ((1, "COSE_Sign1", ES256),)
    # a flipped signature bit, or another key, does not verify
    assert env.authentication is not None
    block = bytearray(env.authentication.blocks[0])
    block[-1] ^= 1
    bad = replace(env, authentication=replace(env.authentication, blocks=(bytes(block),)))
    with pytest.raises(VerifyError):
        verify_authentication(bad, [key.public()])
    with pytest.raises(VerifyError):
        verify_authentication(env, [CoseKey.generate(ES256).public()])


def test_other_suit_vectors_verify_and_the_bad_one_is_refused(shared_vectors: Path, key: CoseKey) -> None:
    base = shared_vectors / "suit"
    anchors = [key.public(), CoseKey.symmetric(b"a" * 32)]  # SOURCES.md: MAC key "a"*32
    paths = sorted(
        [*base.glob("trust-domains/*.hex"), *base.glob("firmware-encryption/suit-manifest-*.hex.signed")]
    )
    verified = 0
    for p in paths:
        env = codec.decode(bytes.fromhex("".join(p.read_text().split())))
        if p.name == "suit-manifest-es-ecdh-dependency.hex.signed":
            with pytest.raises(VerifyError):
                verify_authentication(env, anchors)
        else:
            verify_authentication(env, anchors)
            verified += 1
    assert verified == 7


@pytest.mark.parametrize("deterministic", [False, True])
def test_sign_unsigned_example_then_verify(shared_vectors: Path, key: CoseKey, deterministic: bool) -> None:
    ex = load_example(shared_vectors, "example1")
    unsigned = codec.decode(ex.unsigned, allow_unsigned=True)
    signed = sign_envelope(unsigned, keys=[(key, ES256)], deterministic=deterministic)
    blob = codec.encode(signed)
    env = codec.decode(blob)
    verify_authentication(env, [key.public()])
    assert env.manifest_bytes == unsigned.manifest_bytes
    if deterministic:  # RFC 6979: the same signature twice
        again = codec.encode(sign_envelope(unsigned, keys=[(key, ES256)], deterministic=True))
        assert again == blob


def test_signer_checks_the_digest_first(shared_vectors: Path, key: CoseKey) -> None:
    # §8.3: a signer verifies the SUIT_Digest before signing (no time-of-check to time-of-use)
    a = codec.decode(load_example(shared_vectors, "example0").unsigned, allow_unsigned=True)
    b = codec.decode(load_example(shared_vectors, "example1").unsigned, allow_unsigned=True)
    mixed = replace(a, authentication=b.authentication)
    with pytest.raises(VerifyError):
        sign_envelope(mixed, keys=[(key, ES256)])


def test_mac0_and_two_blocks(shared_vectors: Path, key: CoseKey) -> None:
    unsigned = codec.decode(load_example(shared_vectors, "example0").unsigned, allow_unsigned=True)
    mac_key = CoseKey.symmetric(b"k" * 32)
    env = codec.decode(codec.encode(sign_envelope(unsigned, keys=[(key, ES256)], mac_keys=[(mac_key, 5)])))
    assert env.authentication is not None and len(env.authentication.blocks) == 2
    r = verify_authentication(env, [mac_key])
    assert [v[1] for v in r.verified] == ["COSE_Mac0"]
    r = verify_authentication(env, [key.public(), mac_key])
    assert [v[1] for v in r.verified] == ["COSE_Sign1", "COSE_Mac0"]
    with pytest.raises(VerifyError):
        verify_authentication(env, [CoseKey.symmetric(b"x" * 32)])


def signed_example(shared_vectors: Path, key: CoseKey, name: str) -> bytes:
    env = realize(codec.decode(load_example(shared_vectors, name).signed))
    return codec.encode(sign_envelope(env, keys=[(key, ES256)]))


@pytest.mark.parametrize("name", ["example0", "example1", "example2", "example3", "example5"])
def test_each_signed_example_processes(shared_vectors: Path, key: CoseKey, name: str) -> None:
    from suit_vectors import IMAGE_B

    blob = signed_example(shared_vectors, key, name)
    files = Files({"file.bin": IMAGE_A, "file1.bin": IMAGE_A, "file2.bin": IMAGE_B})
    store = MemoryStore({(b"\x00",): IMAGE_A}, slots={(b"\x00",): 0})
    r = process(
        codec.decode(blob),
        trust_anchors=[key.public()],
        identity=ID,
        stored_sequence=None,
        now=0,
        store=store,
        fetcher=files,
    )
    assert r.ok, r.reason
    assert store.components[(b"\x00",)] == IMAGE_A
    # the same manifest against a device of another class
    other = DeviceIdentity(ID.vendor_ids, frozenset({b"\x01" * 16}))
    r = process(
        codec.decode(blob),
        trust_anchors=[key.public()],
        identity=other,
        stored_sequence=None,
        now=0,
        store=MemoryStore({(b"\x00",): IMAGE_A}, slots={(b"\x00",): 0}),
        fetcher=files,
    )
    assert r.reason == "suit.condition.class-identifier"


def test_signed_processing_and_wrong_key(shared_vectors: Path, key: CoseKey) -> None:
    blob = signed_example(shared_vectors, key, "example1")
    store = MemoryStore(sequence_number=0)
    r = process(
        codec.decode(blob),
        trust_anchors=[key.public()],
        identity=ID,
        stored_sequence=0,
        now=0,
        store=store,
        fetcher=Files({"file.bin": IMAGE_A}),
    )
    assert r.ok and store.components[(b"\x00",)] == IMAGE_A
    store = MemoryStore(sequence_number=0)
    with pytest.raises(VerifyError):
        process(
            codec.decode(blob),
            trust_anchors=[CoseKey.generate(ES256).public()],
            identity=ID,
            stored_sequence=0,
            now=0,
            store=store,
            fetcher=Files({"file.bin": IMAGE_A}),
        )
    assert store.components == {} and store.commits == 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_signed_envelopes_never_install(
    shared_vectors: Path, key: CoseKey, data: st.DataObject
) -> None:
    blob = _SIGNED.get("b") or signed_example(shared_vectors, key, "example1")
    _SIGNED["b"] = blob
    mutated = bytearray(blob)
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(mutated) - 1))
        mutated[pos] = data.draw(st.integers(0, 255))
    if bytes(mutated) == blob:
        return
    store = MemoryStore({(b"\x00",): b"old"}, sequence_number=0)
    try:
        env = codec.decode(bytes(mutated))
        r = process(
            env,
            trust_anchors=[key.public()],
            identity=ID,
            stored_sequence=0,
            now=0,
            store=store,
            fetcher=Files({"file.bin": IMAGE_A}),
        )
    except IotSecError:
        assert store.components == {(b"\x00",): b"old"} and store.commits == 0
        return
    # only a mutation of unauthenticated bytes that changes nothing that matters can succeed
    assert store.components[(b"\x00",)] in (b"old", IMAGE_A)
    assert r.ok or store.components[(b"\x00",)] == b"old"


_SIGNED: dict[str, bytes] = {}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_give_typed_errors(blob: bytes) -> None:
    with contextlib.suppress(IotSecError):  # any other exception fails the test
        codec.decode(blob)


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers(-300, 300) | st.binary(max_size=20) | st.text(max_size=5),
        lambda c: st.lists(c, max_size=5) | st.dictionaries(st.integers(-3, 30), c, max_size=5),
        max_leaves=20,
    )
)
def test_random_structures_in_the_manifest_give_typed_errors(obj: object) -> None:
    for wrapped in (
        cbor.dumps(cbor.tag(107, {2: cbor.dumps([cbor.dumps([-16, b"0" * 32])]), 3: cbor.dumps(obj)})),
        cbor.dumps(
            cbor.tag(107, {3: cbor.dumps({1: 1, 2: 0, 3: cbor.dumps({2: [[b""]], 4: cbor.dumps(obj)})})})
        ),
        cbor.dumps(cbor.tag(1070, {1: 1, 2: 0, 3: cbor.dumps({2: [[b""]]}), 20: cbor.dumps(obj)})),
    ):
        with contextlib.suppress(IotSecError):
            codec.decode(wrapped, allow_unsigned=True)


def test_authenticate_checks_signatures_before_parsing(shared_vectors: Path, key: CoseKey) -> None:
    from iotsec.core.suit.auth import authenticate
    from iotsec.errors import ValidationError

    good = load_example(shared_vectors, "example1").signed
    env, result = authenticate(good, [key.public()])
    assert env.manifest.sequence_number == 1 and result.verified
    # a manifest that is not a SUIT manifest at all, under a signature that does not cover it:
    # authenticate answers VerifyError (it never parsed it); decode answers ValidationError
    obj = cbor.loads(good)
    junk = cbor.dumps({1: 1, 99: [1, 2, 3]})
    digest = cbor.dumps([-16, __import__("hashlib").sha256(cbor.dumps(junk)).digest()])
    auth = cbor.loads(obj.value[2])
    obj.value[2] = cbor.dumps([digest, *auth[1:]])
    obj.value[3] = junk
    forged = cbor.dumps(obj)
    with pytest.raises(VerifyError):
        authenticate(forged, [key.public()])
    with pytest.raises(ValidationError):
        codec.decode(forged)
    # severed members: the digest is checked before the member is parsed
    ex2 = load_example(shared_vectors, "example2").signed
    env2, _ = authenticate(ex2, [key.public()])
    assert sorted(env2.severed_values) == [20, 23]
    obj = cbor.loads(ex2)
    obj.value[20] = cbor.dumps([99])  # not a command sequence and not what the digest covers
    with pytest.raises(VerifyError) as e:
        authenticate(cbor.dumps(obj), [key.public()])
    assert e.value.reason == "suit.digest.severed"
