"""COSE_Mac0 and COSE_Mac (RFC 9052 §6, RFC 9053 §3) beyond the WG vectors."""

from __future__ import annotations

import hashlib
import hmac

import cbor2
import pytest

from iotsec.core import cbor
from iotsec.core.cose import Algorithm, CoseKey, Mac0Message, MacMessage, mac, mac0
from iotsec.core.cose.recipient import RecipientSpec
from iotsec.errors import IotSecError, UnsupportedError, ValidationError, VerifyError

PAYLOAD = b"This is the content."
HMACS = [
    (Algorithm.HMAC_256_64, 32, "sha256", 8),
    (Algorithm.HMAC_256_256, 32, "sha256", 32),
    (Algorithm.HMAC_384_384, 48, "sha384", 48),
    (Algorithm.HMAC_512_512, 64, "sha512", 64),
]


@pytest.mark.parametrize(("alg", "klen", "hname", "tlen"), HMACS)
def test_mac0_hmac_matches_an_independent_computation(
    alg: Algorithm, klen: int, hname: str, tlen: int
) -> None:
    k = bytes(range(klen))
    key = CoseKey.symmetric(k, kid="k")
    data = mac0(PAYLOAD, key, alg, external_aad=b"ext")
    msg = Mac0Message.decode(data)
    assert msg.alg == alg and msg.kid == b"k" and len(msg.tag) == tlen
    # RFC 9052 §6.3 MAC_structure built with cbor2 directly, HMAC with the standard library
    structure = cbor2.dumps(["MAC0", cbor2.dumps({1: int(alg)}), b"ext", PAYLOAD])
    assert msg.tag == hmac.new(k, structure, getattr(hashlib, hname)).digest()[:tlen]
    msg.verify(key, b"ext")
    with pytest.raises(VerifyError):
        msg.verify(key, b"")
    with pytest.raises(VerifyError):
        msg.verify(CoseKey.symmetric(bytes(klen)), b"ext")


@pytest.mark.parametrize(
    "alg",
    [
        Algorithm.AES_MAC_128_64,
        Algorithm.AES_MAC_256_64,
        Algorithm.AES_MAC_128_128,
        Algorithm.AES_MAC_256_128,
    ],
)
def test_mac0_aes_mac_roundtrip(alg: Algorithm) -> None:
    key = CoseKey.generate(alg)
    msg = Mac0Message.decode(mac0(PAYLOAD, key))
    assert msg.alg == alg
    msg.verify(key)
    with pytest.raises(VerifyError):
        msg.verify(CoseKey.generate(alg))


def test_mac0_detached_untagged_and_errors() -> None:
    key = CoseKey.generate(Algorithm.HMAC_256_256)
    data = mac0(PAYLOAD, key, detached=True, tagged=False)
    msg = Mac0Message.decode(data)
    assert msg.payload is None and not msg.tagged and data[0] == 0x84
    msg.verify(key, detached_payload=PAYLOAD)
    with pytest.raises(VerifyError):
        msg.verify(key, detached_payload=PAYLOAD[:-1])
    with pytest.raises(ValidationError):
        msg.verify(key)
    with pytest.raises(ValidationError):  # key length below the hash size (RFC 9053 §3.1)
        mac0(PAYLOAD, CoseKey.symmetric(bytes(16)), Algorithm.HMAC_256_256)
    with pytest.raises(IotSecError):
        mac0(PAYLOAD, CoseKey.generate("ES256"))
    with pytest.raises(UnsupportedError):
        mac0(PAYLOAD, key, Algorithm.ES256)
    with pytest.raises(ValidationError):
        mac0(PAYLOAD, key, unprotected={"alg": 5})
    sign1_tag = cbor.dumps(cbor.tag(18, cbor.loads(data)))
    with pytest.raises(ValidationError):
        Mac0Message.decode(sign1_tag)


def test_mac0_with_asymmetric_key_is_refused() -> None:
    key = CoseKey.generate(Algorithm.HMAC_256_256)
    msg = Mac0Message.decode(mac0(PAYLOAD, key))
    with pytest.raises(ValidationError):
        msg.verify(CoseKey.generate("ES256"))


def test_mac_direct_recipient() -> None:
    key = CoseKey.generate(Algorithm.HMAC_384_384, kid="shared")
    data = mac(PAYLOAD, [key], Algorithm.HMAC_384_384, external_aad=b"a")
    msg = MacMessage.decode(data)
    assert msg.alg == Algorithm.HMAC_384_384
    assert len(msg.recipients) == 1 and msg.recipients[0].alg == -6 and msg.recipients[0].kid == b"shared"
    assert msg.recipients[0].ciphertext == b""
    msg.verify(key, b"a")
    with pytest.raises(VerifyError):
        msg.verify(key, b"b")
    with pytest.raises(IotSecError):
        msg.verify(CoseKey.generate(Algorithm.HMAC_384_384, kid="shared"), b"a")


def test_mac_several_key_wrap_recipients() -> None:
    kek1 = CoseKey.generate(Algorithm.A128KW, kid="r1")
    kek2 = CoseKey.generate(Algorithm.A256KW, kid="r2")
    ecdh = CoseKey.generate(Algorithm.ECDH_ES_A128KW, kid="r3")
    specs = [
        RecipientSpec(int(Algorithm.A128KW), kek1),
        RecipientSpec(int(Algorithm.A256KW), kek2),
        RecipientSpec(int(Algorithm.ECDH_ES_A128KW), ecdh.public()),
    ]
    msg = MacMessage.decode(mac(PAYLOAD, specs, Algorithm.HMAC_256_256, detached=True))
    assert msg.payload is None and len(msg.recipients) == 3
    keys = [kek1, kek2, ecdh]
    ceks = {msg.mac_key(k) for k in keys}
    assert len(ceks) == 1 and len(ceks.pop()) == 32  # every recipient opens the same MAC key
    for k in keys:
        msg.verify(k, detached_payload=PAYLOAD)
    with pytest.raises(IotSecError):
        msg.verify(CoseKey.generate(Algorithm.A128KW, kid="r1"), detached_payload=PAYLOAD)


def test_mac_direct_must_be_alone() -> None:
    key = CoseKey.generate(Algorithm.HMAC_256_256)
    with pytest.raises(ValidationError):
        mac(PAYLOAD, [key, RecipientSpec(int(Algorithm.A128KW), CoseKey.generate(Algorithm.A128KW))])
    with pytest.raises(ValidationError):
        mac(PAYLOAD, [])


def test_mac_structure_errors() -> None:
    key = CoseKey.generate(Algorithm.HMAC_256_256)
    body = cbor.loads(mac(PAYLOAD, [key])).value
    for bad in (
        [*body[:4], []],
        [*body[:4], "r"],
        body[:4],
        [*body[:3], 5, body[4]],
        [*body[:4], [[b"", {}]]],
    ):
        with pytest.raises(ValidationError):
            MacMessage.decode(cbor.dumps(cbor.tag(97, bad)))
