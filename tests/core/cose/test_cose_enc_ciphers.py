"""Content ciphers, key wrap and KDF primitives against published known answers."""

from __future__ import annotations

import contextlib
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotsec.core.cose import ciphers, keywrap
from iotsec.core.cose.algorithms import Algorithm
from iotsec.core.cose.kdf import PartyInfo, hkdf, kdf_context, key_data_length
from iotsec.errors import IotSecError, UnsupportedError, ValidationError, VerifyError

# NIST SP 800-38A
SP_KEY = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
SP_P = bytes.fromhex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51")


def test_ctr_sp800_38a_f51() -> None:
    # F.5.1 CTR-AES128.Encrypt, blocks 1-2
    ctr0 = bytes.fromhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
    expected = bytes.fromhex("874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff")
    assert ciphers.encrypt(Algorithm.A128CTR, SP_KEY, ctr0, SP_P) == expected
    assert ciphers.decrypt(Algorithm.A128CTR, SP_KEY, ctr0, expected) == SP_P


def test_cbc_sp800_38a_f21_with_pkcs7() -> None:
    # F.2.1 CBC-AES128.Encrypt; RFC 9459 §5 adds PKCS #7 padding: a full extra block here
    iv = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
    ct = ciphers.encrypt(Algorithm.A128CBC, SP_KEY, iv, SP_P)
    assert ct[:32] == bytes.fromhex("7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2")
    assert len(ct) == 48
    assert ciphers.decrypt(Algorithm.A128CBC, SP_KEY, iv, ct) == SP_P


def test_cbc_bad_padding_is_verify_error() -> None:
    iv = bytes(16)
    ct = ciphers.encrypt(Algorithm.A128CBC, SP_KEY, iv, b"abc")
    with pytest.raises(VerifyError):
        ciphers.decrypt(Algorithm.A128CBC, SP_KEY, iv, ct[:-1] + bytes([ct[-1] ^ 1]))
    with pytest.raises(VerifyError):
        ciphers.decrypt(Algorithm.A128CBC, SP_KEY, iv, ct[:-3])


def test_key_wrap_rfc3394_41() -> None:
    # RFC 3394 §4.1: wrap 128 bits of key data with a 128-bit KEK
    kek = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
    data = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
    wrapped = bytes.fromhex("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5")
    assert keywrap.wrap(Algorithm.A128KW, kek, data) == wrapped
    assert keywrap.unwrap(Algorithm.A128KW, kek, wrapped) == data
    with pytest.raises(VerifyError):
        keywrap.unwrap(Algorithm.A128KW, kek, wrapped[:-1] + b"\x00")
    with pytest.raises(ValidationError):
        keywrap.unwrap(Algorithm.A256KW, kek, wrapped)  # KEK length does not fit A256KW


def test_hkdf_rfc5869_case1() -> None:
    ikm = bytes.fromhex("0b" * 22)
    salt = bytes.fromhex("000102030405060708090a0b0c")
    info = bytes.fromhex("f0f1f2f3f4f5f6f7f8f9")
    okm = bytes.fromhex(
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )
    assert hkdf(ikm, 42, info, salt=salt) == okm
    with pytest.raises(UnsupportedError):
        hkdf(ikm, 16, info, hash_name="MD5")


def test_kdf_context_layout() -> None:
    # RFC 9053 §5.2 structure, checked item by item (not against our own encoder)
    from iotsec.core import cbor

    ctx = cbor.loads(
        kdf_context(
            Algorithm.A128GCM,
            b"\xa1\x01\x38\x18",
            party_u=PartyInfo(b"u", b"n", None),
            party_v=PartyInfo(None, 7, b"o"),
            supp_pub_other=b"x",
            supp_priv_info=b"p",
        )
    )
    assert ctx == [1, [b"u", b"n", None], [None, 7, b"o"], [128, b"\xa1\x01\x38\x18", b"x"], b"p"]
    assert key_data_length(Algorithm.HMAC_512_512) == 512
    assert key_data_length(Algorithm.A192KW) == 192
    with pytest.raises(UnsupportedError):
        key_data_length(Algorithm.ES256)


@pytest.mark.parametrize("alg", sorted(ciphers.CIPHERS))
def test_every_cipher_round_trips_and_checks_lengths(alg: int) -> None:
    spec = ciphers.cipher_spec(alg)
    key, nonce = bytes(range(spec.key_len)), bytes(spec.nonce_len)
    aad = b"aad" if spec.aead else b""
    ct = ciphers.encrypt(alg, key, nonce, b"payload", aad)
    assert ciphers.decrypt(alg, key, nonce, ct, aad) == b"payload"
    with pytest.raises(ValidationError):
        ciphers.encrypt(alg, key + b"\x00", nonce, b"payload", aad)
    with pytest.raises(ValidationError):
        ciphers.encrypt(alg, key, nonce + b"\x00", b"payload", aad)
    if spec.aead:
        assert len(ct) == 7 + spec.tag_len
        with pytest.raises(VerifyError):
            ciphers.decrypt(alg, key, nonce, ct, b"other aad")
        with pytest.raises(VerifyError):
            ciphers.decrypt(alg, key, nonce, ct[:-1] + bytes([ct[-1] ^ 0x80]), aad)
    else:
        with pytest.raises(ValidationError):  # RFC 9459: no AAD
            ciphers.encrypt(alg, key, nonce, b"payload", b"aad")


def test_unknown_cipher() -> None:
    with pytest.raises(UnsupportedError):
        ciphers.cipher_spec(-999)


@settings(max_examples=40, deadline=None)
@given(
    data=st.binary(max_size=600),
    cuts=st.lists(st.integers(min_value=0, max_value=600), max_size=8),
    alg=st.sampled_from(
        [
            Algorithm.A128GCM,
            Algorithm.A256GCM,
            Algorithm.A128CTR,
            Algorithm.A256CTR,
            Algorithm.CHACHA20_POLY1305,
        ]
    ),
)
def test_streaming_equals_one_shot(data: bytes, cuts: list[int], alg: Algorithm) -> None:
    spec = ciphers.cipher_spec(alg)
    key, nonce = bytes(range(spec.key_len)), bytes(range(spec.nonce_len))
    aad = b"hdr" if spec.aead else b""
    one_shot = ciphers.encrypt(alg, key, nonce, data, aad)
    enc = ciphers.encryptor(alg, key, nonce, aad)
    points = sorted({0, len(data), *[c for c in cuts if c <= len(data)]})
    streamed = b"".join(enc.update(data[a:b]) for a, b in itertools.pairwise(points)) + enc.finalize()
    assert streamed == one_shot
    points = sorted({0, len(one_shot), *[c for c in cuts if c <= len(one_shot)]})
    for total in (None, len(one_shot)):
        dec = ciphers.decryptor(alg, key, nonce, aad, total_length=total)
        out = b"".join(dec.update(one_shot[a:b]) for a, b in itertools.pairwise(points)) + dec.finalize()
        assert out == data


def test_streaming_gcm_tamper_and_truncation() -> None:
    key, nonce = bytes(16), bytes(12)
    ct = ciphers.encrypt(Algorithm.A128GCM, key, nonce, b"x" * 100)
    dec = ciphers.decryptor(Algorithm.A128GCM, key, nonce)
    dec.update(ct[:50])
    dec.update(bytes([ct[50] ^ 1]) + ct[51:])
    with pytest.raises(VerifyError):
        dec.finalize()
    dec = ciphers.decryptor(Algorithm.A128GCM, key, nonce)
    dec.update(ct[:10])
    with pytest.raises(VerifyError):  # shorter than a tag
        dec.finalize()
    with pytest.raises(ValidationError):
        dec.finalize()  # finalized twice
    with pytest.raises(UnsupportedError):  # cryptography has AES-CCM in one shot only
        ciphers.decryptor(Algorithm.AES_CCM_16_64_128, bytes(16), bytes(13))
    # a declared total length that does not match what is fed fails the tag check
    for total, feed in ((len(ct) + 1, ct), (len(ct) - 1, ct), (len(ct), ct[:-1])):
        dec = ciphers.decryptor(Algorithm.A128GCM, key, nonce, total_length=total)
        with pytest.raises(VerifyError):
            dec.update(feed)
            dec.finalize()
    with pytest.raises(VerifyError):
        ciphers.decryptor(Algorithm.A128GCM, key, nonce, total_length=5)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=64))
def test_unwrap_random_bytes_only_typed_errors(blob: bytes) -> None:
    with contextlib.suppress(IotSecError):
        keywrap.unwrap(Algorithm.A128KW, bytes(16), blob)
