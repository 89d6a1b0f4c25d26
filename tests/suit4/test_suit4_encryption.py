"""draft-ietf-suit-firmware-encryption: the WG's examples, processing, authoring, python-cwt interop."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from cwt import COSE, COSEKey, Recipient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from suit4_helpers import (
    ENC,
    PLAINTEXT,
    MapFetcher,
    dependent_signer,
    device_key,
    envelope,
    example_anchors,
    example_keys,
    kek,
    process,
    read_hex,
    signer,
)

from iotsec.core import cbor
from iotsec.core.cose import Algorithm, CoseKey
from iotsec.core.suit.encryption import (
    EncryptionInfo,
    PayloadEncryptor,
    decrypt_chunks,
    encrypt_chunks,
    encrypt_payload,
)
from iotsec.core.suit.model import Envelope
from iotsec.core.suit.store import MemoryStore
from iotsec.errors import DecodeError, IotSecError, UnsupportedError, ValidationError, VerifyError

INFO_CASES = [
    ("aes-kw-aes-gcm", "kw"),
    ("aes-kw-aes-ctr", "kw"),
    ("es-ecdh-aes-gcm", "ecdh"),
    ("es-ecdh-aes-ctr", "ecdh"),
]


def _key(kind: str) -> CoseKey:
    return kek() if kind == "kw" else device_key()


@pytest.mark.parametrize(("name", "kind"), INFO_CASES)
def test_suit4_encryption_info_examples_decrypt(shared_vectors: Path, name: str, kind: str) -> None:
    """§6: each SUIT_Encryption_Info example opens with its key and yields the plaintext."""
    info = EncryptionInfo.decode(read_hex(shared_vectors / ENC / f"suit-encryption-info-{name}.hex"))
    ct = read_hex(shared_vectors / ENC / f"encrypted-payload-{name}.hex")
    assert info.detached
    assert info.aead == name.endswith("gcm")
    assert info.decrypt([_key(kind)], ct) == PLAINTEXT
    # streamed in 7-byte chunks, with the wrong key tried first (kid is only a hint)
    other = CoseKey.symmetric(os.urandom(16), kid=b"kid-1")
    chunks = [ct[i : i + 7] for i in range(0, len(ct), 7)]
    assert b"".join(decrypt_chunks(info, [other, _key(kind)], chunks)) == PLAINTEXT


@pytest.mark.parametrize(("name", "kind"), INFO_CASES)
def test_suit4_encryption_wrong_key_refused(shared_vectors: Path, name: str, kind: str) -> None:
    info = EncryptionInfo.decode(read_hex(shared_vectors / ENC / f"suit-encryption-info-{name}.hex"))
    wrong = CoseKey.symmetric(b"b" * 16, kid=b"kid-1") if kind == "kw" else CoseKey.generate(Algorithm.ES256)
    with pytest.raises(VerifyError) as ei:
        info.decrypt([wrong], read_hex(shared_vectors / ENC / f"encrypted-payload-{name}.hex"))
    assert ei.value.reason == "suit.encryption.key"


def test_suit4_encryption_gcm_tag_checked(shared_vectors: Path) -> None:
    info = EncryptionInfo.decode(read_hex(shared_vectors / ENC / "suit-encryption-info-aes-kw-aes-gcm.hex"))
    ct = bytearray(read_hex(shared_vectors / ENC / "encrypted-payload-aes-kw-aes-gcm.hex"))
    ct[3] ^= 1
    with pytest.raises(VerifyError):
        info.decrypt([kek()], bytes(ct))


MANIFESTS = {
    "suit-manifest-aes-kw-content.hex.signed": ((b"plaintext-firmware",),),
    "suit-manifest-aes-kw.hex.signed": ((b"plaintext-firmware",),),
    "suit-manifest-aes-kw-slot.hex.signed": ((b"\x00",),),
    "suit-manifest-es-ecdh-content.hex.signed": ((b"decrypted-firmware",),),
}


@pytest.mark.parametrize("name", sorted(MANIFESTS))
def test_suit4_encryption_manifests_process(shared_vectors: Path, name: str) -> None:
    """§9: each complete example authenticates (HMAC-256 key 'a'*32 or the ES256 key) and installs
    the decrypted image; the aes-kw fetch+copy examples fetch the ciphertext first."""
    env = envelope(shared_vectors, ENC, name)
    ct = read_hex(shared_vectors / ENC / "encrypted-payload-aes-kw-aes-gcm.hex")
    fetcher = MapFetcher({"coaps://example.com/encrypted-firmware": ct})
    store = MemoryStore()
    process(env, store, anchors=example_anchors(), fetcher=fetcher, decryption_keys=example_keys()).check()
    (target,) = MANIFESTS[name]
    assert store.components[target] == PLAINTEXT
    assert store.sequence_number == 1


@pytest.mark.parametrize(
    ("name", "keys", "reason"),
    [
        # the device holds no key the encryption info names
        (
            "suit-manifest-es-ecdh-content.hex.signed",
            lambda: [CoseKey.generate(Algorithm.ES256)],
            "suit.encryption.key",
        ),
        # SOURCES.md: suit-manifest-es-ecdh-dependency does not verify with the examples' key
        ("suit-manifest-es-ecdh-dependency.hex.signed", lambda: [device_key()], "suit.auth.failed"),
    ],
    ids=["manifest-without-key", "bad-signature"],
)
def test_suit4_encryption_refused_installs_nothing(
    shared_vectors: Path, name: str, keys: Callable[[], list[CoseKey]], reason: str
) -> None:
    store = MemoryStore()
    r = process(envelope(shared_vectors, ENC, name), store, decryption_keys=keys())
    assert not r.ok and r.reason == reason
    assert store.components == {} and store.sequence_number is None and store.commits == 0


def test_suit4_encryption_dependency_example_with_the_dependent_key(shared_vectors: Path) -> None:
    """Finding: the dependent of §9.3 is signed with the "another key" the draft prints there, the
    integrated dependency with the examples' key. Trusting both, the two-layer example processes:
    the dependent sets content and encryption info, the dependency writes and checks the image."""
    env = envelope(shared_vectors, ENC, "suit-manifest-es-ecdh-dependency.hex.signed")
    store = MemoryStore()
    r = process(env, store, anchors=[dependent_signer(), signer()], decryption_keys=[device_key()])
    r.check()
    assert store.components[(b"decrypted-firmware",)] == PLAINTEXT
    # the image-match of the dependency ran on the decrypted payload (records of manifest [0])
    assert any(rec.manifest_id == (0,) and rec.command == 3 and rec.ok for rec in r.ext_records)


# ------------------------------------------------------------------------- author side

ALGS = [
    Algorithm.A128GCM,
    Algorithm.A256GCM,
    Algorithm.A128CTR,
    Algorithm.A256CTR,
    Algorithm.CHACHA20_POLY1305,
]


@pytest.mark.parametrize("alg", ALGS, ids=lambda a: a.name)
def test_suit4_encrypt_many_recipients(alg: Algorithm) -> None:
    """One CEK, one recipient per device: two KEKs and two ES-DH device keys (§5.1.2, §5.2.2)."""
    keks = [CoseKey.symmetric(os.urandom(n), kid=f"kek{n}".encode()) for n in (16, 32)]
    devs = [
        CoseKey.generate(Algorithm.ECDH_ES_A128KW, kid=b"d1"),
        CoseKey.generate(Algorithm.ECDH_ES_A256KW, kid=b"d2"),
    ]
    image = os.urandom(70_001)
    ep = encrypt_payload(image, [*keks, *(d.public() for d in devs)], alg)
    info = EncryptionInfo.decode(ep.info)
    assert len(info.message.recipients) == 4 and info.detached
    assert len(ep.ciphertext) == len(image) + (16 if info.aead else 0)
    for k in (*keks, *devs):
        assert info.decrypt([k], ep.ciphertext) == image


def test_suit4_encrypt_streaming_equals_oneshot() -> None:
    key = CoseKey.symmetric(os.urandom(16), kid=b"k")
    image = os.urandom(3 * 1024 * 1024 + 5)
    out = bytearray()
    info_bytes = encrypt_chunks(
        (image[i : i + 65536] for i in range(0, len(image), 65536)), [key], out.extend
    )
    info = EncryptionInfo.decode(info_bytes)
    got = bytearray()
    for chunk in decrypt_chunks(
        info, [key], (bytes(out[i : i + 100_000]) for i in range(0, len(out), 100_000))
    ):
        got += chunk
    assert bytes(got) == image


@pytest.mark.parametrize("alg", ALGS, ids=lambda a: a.name)
def test_suit4_encrypt_to_python_cwt_kw(alg: Algorithm) -> None:
    """iotsec -> python-cwt: AES-KW recipient, detached ciphertext."""
    k = os.urandom(16)
    ep = encrypt_payload(PLAINTEXT * 100, [CoseKey.symmetric(k, kid=b"kid-1")], alg)
    theirs = COSEKey.from_symmetric_key(k, alg="A128KW", kid="kid-1")
    got = COSE.new().decode(ep.info, theirs, detached_payload=ep.ciphertext, enable_non_aead=alg < 0)
    assert got == PLAINTEXT * 100


SUIT_CONTEXT = [
    -3,
    [None, None, None],
    [None, None, None],
    [128, cbor.dumps({1: -29}), b"SUIT Payload Encryption"],
]


@pytest.mark.parametrize("alg", [Algorithm.A128GCM, Algorithm.A128CTR], ids=lambda a: a.name)
def test_suit4_encrypt_to_python_cwt_ecdh(alg: Algorithm) -> None:
    """iotsec -> python-cwt: ECDH-ES + A128KW with the SUIT COSE_KDF_Context (§5.2.4)."""
    dev = CoseKey.generate(Algorithm.ECDH_ES_A128KW, kid=b"kid-2")
    ep = encrypt_payload(PLAINTEXT, [dev.public()], alg)
    got = COSE.new().decode(
        ep.info,
        COSEKey.new(dev.to_cose_map()),
        context=SUIT_CONTEXT,
        detached_payload=ep.ciphertext,
        enable_non_aead=alg < 0,
    )
    assert got == PLAINTEXT


def test_suit4_python_cwt_to_iotsec_kw_and_ecdh() -> None:
    """python-cwt -> iotsec: a COSE_Encrypt made by cwt, read as SUIT_Encryption_Info."""
    k = os.urandom(16)
    kek_cwt = COSEKey.from_symmetric_key(k, alg="A128KW", kid="kid-1")
    cek = COSEKey.from_symmetric_key(os.urandom(16), alg="A128GCM", kid="cek")
    r = Recipient.new(unprotected={"alg": "A128KW", "kid": "kid-1"}, sender_key=kek_cwt)
    data = COSE.new().encode(PLAINTEXT, cek, protected={"alg": "A128GCM"}, recipients=[r])
    info = EncryptionInfo.decode(data)
    assert info.decrypt([CoseKey.symmetric(k, kid=b"kid-1")]) == PLAINTEXT

    dev = CoseKey.generate(Algorithm.ECDH_ES_A128KW, kid=b"kid-2")
    r2 = Recipient.new(
        protected={"alg": "ECDH-ES+A128KW"},
        unprotected={"kid": "kid-2"},
        recipient_key=COSEKey.new(dev.public().to_cose_map(private=False)),
        context=SUIT_CONTEXT,
    )
    cek2 = COSEKey.from_symmetric_key(os.urandom(16), alg="A128GCM", kid="cek")
    data2 = COSE.new().encode(PLAINTEXT, cek2, protected={"alg": "A128GCM"}, recipients=[r2])
    assert EncryptionInfo.decode(data2).decrypt([dev]) == PLAINTEXT


# ------------------------------------------------------------------------- policing and hostile input


def test_suit4_encryption_info_policy() -> None:
    key = CoseKey.symmetric(os.urandom(16), kid=b"k")
    ep = encrypt_payload(b"x", [key], Algorithm.A128GCM)
    obj = cbor.loads(ep.info)
    with pytest.raises(ValidationError) as ei:  # untagged COSE_Encrypt
        EncryptionInfo.decode(cbor.dumps(obj.value))
    assert ei.value.reason == "suit.encryption.tag"
    obj.value[3][0][0] = cbor.dumps({1: -3})  # AES-KW recipient with protected alg
    with pytest.raises(ValidationError):
        EncryptionInfo.decode(cbor.dumps(obj))
    ccm = cbor.loads(ep.info)
    ccm.value[0] = cbor.dumps({1: 10})  # AES-CCM: COSE knows it, SUIT does not list it
    with pytest.raises(UnsupportedError):
        EncryptionInfo.decode(cbor.dumps(ccm))
    with pytest.raises(DecodeError):
        EncryptionInfo.decode(ep.info[:-3])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_suit4_encryption_info_random_bytes(data: bytes) -> None:
    """Random bytes give a typed error (or, rarely, a valid structure), never anything else."""
    with contextlib.suppress(IotSecError):
        EncryptionInfo.decode(data)


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=0, max_value=255))
def test_suit4_encryption_info_mutations(pos: int, value: int) -> None:
    key = CoseKey.symmetric(b"k" * 16, kid=b"k")
    ep = encrypt_payload(b"payload", [key], Algorithm.A128GCM, cek=b"c" * 16, iv=b"i" * 12)
    data = bytearray(ep.info)
    data[pos % len(data)] = value
    try:
        info = EncryptionInfo.decode(bytes(data))
        info.decrypt([key], ep.ciphertext)
    except IotSecError:
        pass


def test_suit4_payload_encryptor_rejects_non_suit_alg() -> None:
    with pytest.raises(UnsupportedError):
        PayloadEncryptor([CoseKey.symmetric(b"k" * 16)], Algorithm.AES_CCM_16_64_128)


def _ctr_manifest(install: tuple[object, ...], signer_key: CoseKey) -> Envelope:
    from iotsec.core.suit import builder, codec
    from iotsec.core.suit.auth import sign_envelope
    from iotsec.core.suit.model import Common, Manifest
    from iotsec.core.suit.registry import ManifestKey

    man = Manifest(1, Common(((b"app",), (b"staging",))), sequences={ManifestKey.INSTALL: install})
    return codec.decode(
        codec.encode(sign_envelope(builder.envelope_for(man), keys=[(signer_key, Algorithm.ES256)]))
    )


@pytest.mark.parametrize("case", ["plaintext-digest", "tampered", "ciphertext-matched", "nothing"])
def test_suit4_ctr_policy(case: str) -> None:
    """RFC 9459 §8 / firmware-encryption §6.2: AES-CTR output is only kept when authenticated --
    by the target's image digest (checked right after decryption), or because the ciphertext
    passed image-match in the staging component."""
    import hashlib

    from iotsec.core.suit.model import Command, Digest
    from iotsec.core.suit.registry import Command as Cmd
    from iotsec.core.suit.registry import Parameter

    signer_key = CoseKey.generate(Algorithm.ES256)
    dev = CoseKey.symmetric(os.urandom(16), kid=b"kek")
    image = os.urandom(5000)
    ep = encrypt_payload(image, [dev], Algorithm.A128CTR)
    ct = bytearray(ep.ciphertext)
    if case == "tampered":
        ct[100] ^= 1
    fetch = [
        Command(Cmd.SET_COMPONENT_INDEX, 1),
        Command(Cmd.OVERRIDE_PARAMETERS, {Parameter.URI: "https://x/ct"}),
        Command(Cmd.FETCH, 15),
    ]
    if case == "ciphertext-matched":
        fetch += [
            Command(
                Cmd.OVERRIDE_PARAMETERS, {Parameter.IMAGE_DIGEST: Digest(-16, hashlib.sha256(ct).digest())}
            ),
            Command(Cmd.IMAGE_MATCH, 15),
        ]
    target: dict[int, object] = {Parameter.ENCRYPTION_INFO: ep.info, Parameter.SOURCE_COMPONENT: 1}
    if case in ("plaintext-digest", "tampered"):
        target[Parameter.IMAGE_DIGEST] = Digest(-16, hashlib.sha256(image).digest())
    install = (
        *fetch,
        Command(Cmd.SET_COMPONENT_INDEX, 0),
        Command(Cmd.OVERRIDE_PARAMETERS, target),
        Command(Cmd.COPY, 15),
    )
    store = MemoryStore()
    r = process(
        _ctr_manifest(install, signer_key),
        store,
        anchors=[signer_key.public()],
        fetcher=MapFetcher({"https://x/ct": bytes(ct)}),
        decryption_keys=[dev],
    )
    if case in ("plaintext-digest", "ciphertext-matched"):
        r.check()
        assert store.components[(b"app",)] == image
    else:
        assert not r.ok
        assert r.reason == (
            "suit.encryption.digest" if case == "tampered" else "suit.encryption.unauthenticated"
        )
        assert store.components == {}


def test_suit4_python_cwt_payload_installed_by_the_processor() -> None:
    """python-cwt encrypts (ECDH-ES + A128KW, SUIT context); its COSE_Encrypt, with the ciphertext
    detached, is the encryption info of a signed manifest that iotsec processes."""
    from iotsec.core.suit import builder, codec
    from iotsec.core.suit.auth import sign_envelope
    from iotsec.core.suit.model import Command, Common, Manifest
    from iotsec.core.suit.registry import Command as Cmd
    from iotsec.core.suit.registry import ManifestKey, Parameter

    dev = CoseKey.generate(Algorithm.ECDH_ES_A128KW, kid=b"kid-2")
    r = Recipient.new(
        protected={"alg": "ECDH-ES+A128KW"},
        unprotected={"kid": "kid-2"},
        recipient_key=COSEKey.new(dev.public().to_cose_map(private=False)),
        context=SUIT_CONTEXT,
    )
    cek = COSEKey.from_symmetric_key(os.urandom(16), alg="A128GCM", kid="cek")
    made = cbor.loads(COSE.new().encode(PLAINTEXT, cek, protected={"alg": "A128GCM"}, recipients=[r]))
    ciphertext, made.value[2] = made.value[2], None  # detach (the AAD does not cover it)
    install = (
        Command(
            Cmd.OVERRIDE_PARAMETERS,
            {Parameter.CONTENT: ciphertext, Parameter.ENCRYPTION_INFO: cbor.dumps(made)},
        ),
        Command(Cmd.WRITE, 15),
    )
    signer_key = CoseKey.generate(Algorithm.ES256)
    man = Manifest(1, Common(((b"fw",),)), sequences={ManifestKey.INSTALL: install})
    env = codec.decode(
        codec.encode(sign_envelope(builder.envelope_for(man), keys=[(signer_key, Algorithm.ES256)]))
    )
    store = MemoryStore()
    process(env, store, anchors=[signer_key.public()], decryption_keys=[dev]).check()
    assert store.components[(b"fw",)] == PLAINTEXT


def test_suit4_two_layer_distributor_cannot_sign_code(shared_vectors: Path) -> None:
    """firmware-encryption §3 "two-layer manifest": the distributor's dependent may only carry the
    encryption info (parameters) and fetch the author's manifest; writing the firmware is the
    author's (the dependency's). With an ACL that gives the distributor no authority over
    ['decrypted-firmware'], the example still installs; a distributor without authority over the
    dependency's location is refused, naming it (manifest §9: setting parameters needs no ACL
    entry, fetching into a component does)."""
    from iotsec.core.suit.trust import Authority, pattern
    from iotsec.errors import PolicyError

    env = envelope(shared_vectors, ENC, "suit-manifest-es-ecdh-dependency.hex.signed")
    author = Authority.anchor("author", signer())
    distributor = Authority.anchor(
        "distributor",
        dependent_signer(),
        [pattern(["dependency-manifest.suit"]), pattern(["dependent-manifest.suit"])],
    )
    store = MemoryStore()
    r = process(env, store, anchors=[author, distributor], decryption_keys=[device_key()])
    r.check()
    assert r.signers == ["distributor"]
    assert store.components[(b"decrypted-firmware",)] == PLAINTEXT
    narrow = Authority.anchor("distributor", dependent_signer(), [pattern(["dependent-manifest.suit"])])
    r2 = process(env, MemoryStore(), anchors=[author, narrow], decryption_keys=[device_key()])
    with pytest.raises(PolicyError, match=r"dependency-manifest\.suit"):
        r2.check()
