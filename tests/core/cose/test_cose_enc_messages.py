"""COSE_Encrypt0 / COSE_Encrypt behaviour: policies, IVs, detached content, failures."""

from __future__ import annotations

import pytest

from iotsec.core import cbor
from iotsec.core.cose import CoseKey
from iotsec.core.cose.algorithms import Algorithm
from iotsec.core.cose.ciphers import CIPHERS
from iotsec.core.cose.ecdh import generate_like
from iotsec.core.cose.enc_common import enc_structure, partial_iv_to_iv
from iotsec.core.cose.encrypt import EncryptMessage, encrypt
from iotsec.core.cose.encrypt0 import Encrypt0Message, encrypt0, encrypt0_detached
from iotsec.core.cose.recipient import RecipientSpec
from iotsec.errors import DecodeError, IotSecError, UnsupportedError, ValidationError, VerifyError

AEAD = sorted(a for a, s in CIPHERS.items() if s.aead)
NON_AEAD = sorted(a for a, s in CIPHERS.items() if not s.aead)


def _key(alg: int, **kw: object) -> CoseKey:
    return CoseKey.symmetric(bytes(range(CIPHERS[alg].key_len)), **kw)  # type: ignore[arg-type]


def test_enc_structure_rfc9052_53() -> None:
    # ["Encrypt0", h'a10101', h'0011'] encoded by hand
    expected = bytes.fromhex("8368456E6372797074 3043A10101420011".replace(" ", ""))
    assert enc_structure("Encrypt0", b"\xa1\x01\x01", b"\x00\x11") == expected


def test_partial_iv_rfc9052_31() -> None:
    base = bytes.fromhex("89F52F65A1C5809300000000")
    assert partial_iv_to_iv(bytes.fromhex("61A7"), base) == bytes.fromhex("89F52F65A1C58093000061A7")
    with pytest.raises(ValidationError):
        partial_iv_to_iv(bytes(13), base)


@pytest.mark.parametrize("alg", AEAD)
@pytest.mark.parametrize("tagged", [True, False])
def test_encrypt0_round_trip_every_aead(alg: int, tagged: bool) -> None:
    key = _key(alg)
    data = encrypt0(b"hello", key, alg, external_aad=b"ext", tagged=tagged, unprotected={"kid": b"k1"})
    obj = cbor.loads(data)
    assert isinstance(obj, cbor.CBORTag) == tagged
    msg = Encrypt0Message.decode(data)
    assert msg.alg == alg and msg.kid == b"k1" and msg.tagged == tagged
    assert msg.protected == {1: alg}
    assert msg.decrypt(key, external_aad=b"ext") == b"hello"
    with pytest.raises(VerifyError):
        msg.decrypt(key, external_aad=b"other")
    with pytest.raises(VerifyError):
        msg.decrypt(CoseKey.symmetric(bytes(CIPHERS[alg].key_len)), external_aad=b"ext")


def test_encrypt0_detached_and_partial_iv_from_key_base_iv() -> None:
    key = CoseKey.from_cose({1: 4, -1: bytes(16), 5: bytes.fromhex("0102030405060708090a0b0c")})
    data, ct = encrypt0_detached(b"firmware", key, Algorithm.A128GCM, partial_iv=b"\x00\x07")
    msg = Encrypt0Message.decode(data)
    assert msg.ciphertext is None and msg.unprotected[6] == b"\x00\x07" and 5 not in msg.unprotected
    assert msg.decrypt(key, detached_ciphertext=ct) == b"firmware"
    with pytest.raises(ValidationError) as ei:
        msg.decrypt(key)
    assert ei.value.reason == "cose.ciphertext.detached"
    with pytest.raises(ValidationError):  # Partial IV and no base IV anywhere
        msg.decrypt(CoseKey.symmetric(bytes(16)), detached_ciphertext=ct)


def test_alg_must_be_protected_for_aead() -> None:
    key = _key(Algorithm.A128GCM)
    good = cbor.loads(encrypt0(b"x", key, Algorithm.A128GCM, tagged=False))
    moved = cbor.dumps([b"", {1: 1, **good[1]}, good[2]])
    with pytest.raises(ValidationError) as ei:
        Encrypt0Message.decode(moved).decrypt(key)
    assert ei.value.reason == "cose.alg.unprotected"
    # AAD covered an A10101 protected bucket; with it gone the tag fails even when allowed
    with pytest.raises(VerifyError):
        Encrypt0Message.decode(moved).decrypt(key, allow_unprotected_alg=True)


@pytest.mark.parametrize("alg", NON_AEAD)
def test_rfc9459_ciphers_need_opt_in_and_empty_protected(alg: int) -> None:
    key = _key(alg)
    data = encrypt0(b"image" * 10, key, alg)
    msg = Encrypt0Message.decode(data)
    assert msg.protected_bytes == b"" and msg.unprotected[1] == alg
    with pytest.raises(UnsupportedError):
        msg.decrypt(key)
    assert msg.decrypt(key, allow_unauthenticated=True) == b"image" * 10
    with pytest.raises(ValidationError):  # no AAD with CTR/CBC
        msg.decrypt(key, external_aad=b"x", allow_unauthenticated=True)
    with pytest.raises(ValidationError):
        encrypt0(b"x", key, alg, protected={"kid": b"a"})
    obj = cbor.loads(data)
    bad = cbor.dumps(cbor.tag(16, [cbor.dumps({1: alg}), {5: obj.value[1][5]}, obj.value[2]]))
    with pytest.raises(ValidationError) as ei:
        Encrypt0Message.decode(bad).decrypt(key, allow_unauthenticated=True)
    assert ei.value.reason == "cose.alg.protected"


def test_key_alg_mismatch() -> None:
    key = CoseKey.symmetric(bytes(16), alg=Algorithm.A128GCM)
    data = encrypt0(b"x", bytes(16), Algorithm.AES_CCM_16_64_128)
    with pytest.raises(ValidationError) as ei:
        Encrypt0Message.decode(data).decrypt(key)
    assert ei.value.reason == "cose.key.alg_mismatch"
    text_alg = CoseKey.from_cose({1: 4, -1: bytes(16), 3: "private-alg"})  # RFC 9052: alg may be text
    with pytest.raises(ValidationError):
        Encrypt0Message.decode(data).decrypt(text_alg)


def test_structure_errors() -> None:
    with pytest.raises(DecodeError):
        Encrypt0Message.decode(b"\x83\x40")
    with pytest.raises(ValidationError):
        Encrypt0Message.decode(cbor.dumps(cbor.tag(96, [b"", {}, b""])))  # wrong tag
    with pytest.raises(ValidationError):
        Encrypt0Message.decode(cbor.dumps([b"", {}, b"", []]))
    with pytest.raises(ValidationError):
        EncryptMessage.decode(cbor.dumps([b"", {}, b"", []]))  # no recipients
    with pytest.raises(ValidationError):
        Encrypt0Message.decode(cbor.dumps([b"\xa1\x01\x01", {1: 1}, b""]))  # alg in both buckets
    with pytest.raises(UnsupportedError):
        Encrypt0Message.decode(cbor.dumps([cbor.dumps({1: 1, 2: [99], 99: 0}), {}, b""]))  # crit


def _ecdh_keys() -> list[CoseKey]:
    from cryptography.hazmat.primitives.asymmetric import ec, x448, x25519

    return [
        CoseKey.from_cryptography(ec.generate_private_key(ec.SECP256R1()), kid="p256"),
        CoseKey.from_cryptography(ec.generate_private_key(ec.SECP384R1()), kid="p384"),
        CoseKey.from_cryptography(ec.generate_private_key(ec.SECP521R1()), kid="p521"),
        CoseKey.from_cryptography(x25519.X25519PrivateKey.generate(), kid="x25519"),
        CoseKey.from_cryptography(x448.X448PrivateKey.generate(), kid="x448"),
    ]


ECDH_ALGS = [
    Algorithm.ECDH_ES_HKDF_256,
    Algorithm.ECDH_ES_HKDF_512,
    Algorithm.ECDH_ES_A128KW,
    Algorithm.ECDH_ES_A192KW,
    Algorithm.ECDH_ES_A256KW,
    Algorithm.ECDH_SS_HKDF_256,
    Algorithm.ECDH_SS_HKDF_512,
    Algorithm.ECDH_SS_A128KW,
    Algorithm.ECDH_SS_A256KW,
]


@pytest.mark.parametrize("ra", ECDH_ALGS, ids=lambda a: a.name)
def test_ecdh_every_curve(ra: Algorithm) -> None:
    for key in _ecdh_keys():
        sender = CoseKey.from_cryptography(generate_like(key.public_key), kid="sender")  # type: ignore[arg-type]
        spec = RecipientSpec(ra, key.public(), sender_key=sender, salt=b"salt")
        data = encrypt(b"secret", [spec], Algorithm.A256GCM)
        msg = EncryptMessage.decode(data)
        assert msg.recipients[0].kid == key.kid
        assert msg.decrypt(key) == b"secret"
        other = CoseKey.from_cryptography(generate_like(key.public_key), kid=key.kid)  # type: ignore[arg-type]
        with pytest.raises(IotSecError):  # same curve, another private key
            msg.decrypt(other)


def test_several_recipients_share_one_cek() -> None:
    kek = CoseKey.symmetric(bytes(range(32)), kid="kek")
    bob = _ecdh_keys()[0]
    data = encrypt(
        b"to both",
        [RecipientSpec(Algorithm.A256KW, kek), RecipientSpec(Algorithm.ECDH_ES_A128KW, bob.public())],
        Algorithm.CHACHA20_POLY1305,
    )
    msg = EncryptMessage.decode(data)
    assert len(msg.recipients) == 2
    assert msg.decrypt(kek) == b"to both"
    assert msg.decrypt(bob) == b"to both"
    assert msg.content_key(kek) == msg.content_key(bob)


def test_direct_recipient_must_be_alone() -> None:
    k = CoseKey.symmetric(bytes(16), kid="a")
    with pytest.raises(ValidationError):
        encrypt(b"x", [RecipientSpec(Algorithm.DIRECT, k), RecipientSpec(Algorithm.A128KW, k)])
    with pytest.raises(ValidationError):
        encrypt(b"x", [RecipientSpec(Algorithm.DIRECT, k)], cek=bytes(16))
    with pytest.raises(ValidationError):  # direct key of the wrong size for A256GCM
        encrypt(b"x", [RecipientSpec(Algorithm.DIRECT, k)], Algorithm.A256GCM)


def test_direct_hkdf_round_trip_with_party_info() -> None:
    from iotsec.core.cose.kdf import PartyInfo

    secret = CoseKey.symmetric(b"s" * 32, kid="shared")
    spec = RecipientSpec(
        Algorithm.DIRECT_HKDF_SHA_512,
        secret,
        salt=b"NaCl",
        party_u=PartyInfo(b"dev", b"n1"),
        party_v=PartyInfo(b"srv"),
    )
    data = encrypt(b"payload", [spec], Algorithm.AES_CCM_16_64_128)
    msg = EncryptMessage.decode(data)
    assert msg.recipients[0].unprotected[-21] == b"dev"
    assert msg.decrypt(secret) == b"payload"
    # the salt enters the key: strip it and the key differs
    obj = cbor.loads(data)
    del obj.value[3][0][1][-20]
    with pytest.raises(VerifyError):
        EncryptMessage.decode(cbor.dumps(obj)).decrypt(secret)


@pytest.mark.parametrize("n", [0, 1, 23, 24, 255, 256, 65535, 65536, 70000])
def test_enc_structure_equals_generic_deterministic_encoder(n: int) -> None:
    """The hand-rolled Enc_structure encoder gives the bytes of the generic CBOR encoder."""
    for ctx in ("Encrypt0", "Encrypt", "Enc_Recipient", "Rec_Recipient"):
        prot, aad = bytes(n % 40), bytes(range(256)) * (n // 256) + bytes(n % 256)
        assert enc_structure(ctx, prot, aad) == cbor.dumps([ctx, prot, aad])
