"""Cross-check with an independent implementation, python-cwt (test-only dependency).

Messages made by iotsec verify in python-cwt and vice versa, for every signature and MAC
algorithm both support: ES256/384/512, ESP256/384/512 and Ed25519/Ed448 (RFC 9864), EdDSA,
HMAC 256/64, 256/256, 384/384, 512/512; COSE_Sign1, COSE_Sign (two signers), COSE_Mac0 and
COSE_Mac (direct). python-cwt gets its keys from our PEM / raw bytes, not from our COSE_Key
encoder, so a shared encoding bug cannot hide.
"""

from __future__ import annotations

import cwt
import pytest
from cwt import COSE, COSEKey, Recipient

from iotsec.core import cbor
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
from iotsec.errors import VerifyError

SIG_ALGS = ["ES256", "ES384", "ES512", "ESP256", "ESP384", "ESP512", "EdDSA", "Ed25519", "Ed448"]
# python-cwt's names for the HMAC algorithms
MAC_ALGS = {
    "HMAC 256/64": "HS256/64",
    "HMAC 256/256": "HS256",
    "HMAC 384/384": "HS384",
    "HMAC 512/512": "HS512",
}
PAYLOAD = b"firmware manifest digest"


def _cwt_public(key: CoseKey) -> object:
    return COSEKey.from_pem(key.to_pem(private=False), alg=int(key.alg), kid=key.kid)  # type: ignore[arg-type]


def _cwt_private(key: CoseKey) -> object:
    return COSEKey.from_pem(key.to_pem(), alg=int(key.alg), kid=key.kid)  # type: ignore[arg-type]


@pytest.mark.parametrize("alg", SIG_ALGS)
def test_sign1_iotsec_to_cwt(alg: str) -> None:
    key = CoseKey.generate(alg, kid="dev-1")
    data = sign1(PAYLOAD, key, external_aad=b"aad", deterministic=True)
    assert COSE.new().decode(data, _cwt_public(key), external_aad=b"aad") == PAYLOAD
    tampered = bytearray(data)
    tampered[-1] ^= 1
    with pytest.raises(cwt.VerifyError):
        COSE.new().decode(bytes(tampered), _cwt_public(key), external_aad=b"aad")


@pytest.mark.parametrize("alg", SIG_ALGS)
def test_sign1_cwt_to_iotsec(alg: str) -> None:
    key = CoseKey.generate(alg, kid="dev-2")
    data = COSE.new(alg_auto_inclusion=True, kid_auto_inclusion=True).encode_and_sign(
        PAYLOAD, _cwt_private(key), external_aad=b"aad"
    )
    msg = Sign1Message.decode(data)
    assert msg.alg == key.alg and msg.kid == b"dev-2" and msg.payload == PAYLOAD
    msg.verify(key.public(), b"aad")
    with pytest.raises(VerifyError):
        msg.verify(key.public(), b"")


def test_sign1_detached_both_ways() -> None:
    key = CoseKey.generate("ES256", kid="d")
    data = sign1(PAYLOAD, key, detached=True)
    assert COSE.new().decode(data, _cwt_public(key), detached_payload=PAYLOAD) == PAYLOAD
    # python-cwt: detached payload through the API that takes it
    cwt_msg = COSE.new(alg_auto_inclusion=True).encode_and_sign(PAYLOAD, _cwt_private(key))
    body = cbor.loads(cwt_msg).value
    body[2] = None
    Sign1Message.decode(cbor.dumps(cbor.tag(18, body))).verify(key, detached_payload=PAYLOAD)


def test_cose_sign_two_signers_both_ways() -> None:
    k1, k2 = CoseKey.generate("ES384", kid="a"), CoseKey.generate("Ed25519", kid="b")
    data = sign(PAYLOAD, [k1, k2])
    assert COSE.new().decode(data, [_cwt_public(k1), _cwt_public(k2)]) == PAYLOAD
    signers = [
        cwt.Signer.new(cose_key=_cwt_private(k), protected={1: int(k.alg)}, unprotected={4: k.kid})  # type: ignore[arg-type]
        for k in (k1, k2)
    ]
    msg = SignMessage.decode(COSE.new().encode_and_sign(PAYLOAD, signers=signers))
    msg.verify_all([k1.public(), k2.public()])
    assert msg.verify(k2.public()).kid == b"b"


@pytest.mark.parametrize("alg", MAC_ALGS)
def test_mac0_both_ways(alg: str) -> None:
    key = CoseKey.generate(alg, kid="m")
    cwt_key = COSEKey.from_symmetric_key(key.k, alg=int(key.alg), kid="m")  # type: ignore[arg-type]
    data = mac0(PAYLOAD, key, external_aad=b"x")
    assert COSE.new().decode(data, cwt_key, external_aad=b"x") == PAYLOAD
    with pytest.raises(cwt.VerifyError):
        COSE.new().decode(data, cwt_key, external_aad=b"y")
    back = COSE.new(alg_auto_inclusion=True, kid_auto_inclusion=True).encode_and_mac(
        PAYLOAD, cwt_key, external_aad=b"x"
    )
    msg = Mac0Message.decode(back)
    msg.verify(key, b"x")
    with pytest.raises(VerifyError):
        msg.verify(key, b"y")


def test_mac_direct_recipient_both_ways() -> None:
    key = CoseKey.generate("HMAC 256/256", kid="shared")
    cwt_key = COSEKey.from_symmetric_key(key.k, alg="HS256", kid="shared")
    assert COSE.new().decode(mac(PAYLOAD, [key]), cwt_key) == PAYLOAD
    r = Recipient.new(unprotected={1: -6, 4: b"shared"})
    back = COSE.new().encode_and_mac(PAYLOAD, cwt_key, protected={1: 5}, recipients=[r])
    MacMessage.decode(back).verify(key)
