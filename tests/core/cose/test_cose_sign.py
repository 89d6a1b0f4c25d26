"""COSE_Sign1 / COSE_Sign behaviour (RFC 9052 §4, RFC 9053 §2, RFC 9864) beyond the WG vectors."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from iotsec.core import cbor
from iotsec.core.cose import (
    Algorithm,
    CoseKey,
    Sign1Message,
    Signer,
    SignMessage,
    _sig,
    alg_info,
    sign,
    sign1,
)
from iotsec.errors import DecodeError, IotSecError, UnsupportedError, ValidationError, VerifyError

PAYLOAD = b"This is the content."
SIG_ALGS = ["ES256", "ES384", "ES512", "ESP256", "ESP384", "ESP512", "EdDSA", "Ed25519", "Ed448"]


@pytest.fixture(scope="module")
def keys() -> dict[str, CoseKey]:
    return {a: CoseKey.generate(a, kid=f"kid-{a}") for a in SIG_ALGS}


def test_rfc6979_known_answer_p256_sha256() -> None:
    """RFC 6979 A.2.5, P-256/SHA-256, message "sample": our r||s equals the RFC's (r, s)."""
    d = bytes.fromhex("C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721")
    key = CoseKey.from_cose({1: 2, -1: 1, -4: d})
    assert key.to_cose_map()[-2].hex().upper() == (
        "60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6"
    )
    sig = _sig.sign(alg_info(Algorithm.ES256), key, b"sample", deterministic=True)
    assert sig.hex().upper() == (
        "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716"
        "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8"
    )


@pytest.mark.parametrize("alg", SIG_ALGS)
def test_sign1_roundtrip_every_alg(alg: str, keys: dict[str, CoseKey]) -> None:
    key = keys[alg]
    data = sign1(PAYLOAD, key)
    assert data[0] == 0xD2  # tag 18
    msg = Sign1Message.decode(data)
    assert msg.alg == key.alg and msg.kid == key.kid and msg.payload == PAYLOAD
    assert msg.protected == {1: int(key.alg)}  # type: ignore[arg-type]
    msg.verify(key.public())
    msg.verify(key)  # a private key verifies too
    # every other key fails, with the right error class
    for other_alg, other in keys.items():
        if other_alg == alg:
            continue
        with pytest.raises((VerifyError, ValidationError)):
            msg.verify(other.public())


def test_ecdsa_signature_is_fixed_width_r_s(keys: dict[str, CoseKey]) -> None:
    """RFC 9053 §2.1: r||s, each the curve size (P-521: 66 bytes)."""
    for alg, size in (("ES256", 64), ("ES384", 96), ("ES512", 132)):
        sig = Sign1Message.decode(sign1(PAYLOAD, keys[alg])).signature
        assert len(sig) == size
    # verify our r||s independently with cryptography's DER verify
    key = keys["ES256"]
    msg = Sign1Message.decode(sign1(PAYLOAD, key))
    r, s = int.from_bytes(msg.signature[:32], "big"), int.from_bytes(msg.signature[32:], "big")
    pub = key.public_key
    assert isinstance(pub, ec.EllipticCurvePublicKey)
    pub.verify(encode_dss_signature(r, s), msg.to_be_signed(), ec.ECDSA(hashes.SHA256()))


def test_ecdsa_der_signature_is_refused(keys: dict[str, CoseKey]) -> None:
    key = keys["ES256"]
    msg = Sign1Message.decode(sign1(PAYLOAD, key))
    priv = key.private_key
    assert isinstance(priv, ec.EllipticCurvePrivateKey)
    msg.signature = priv.sign(msg.to_be_signed(), ec.ECDSA(hashes.SHA256()))  # DER, not r||s
    with pytest.raises(VerifyError):
        msg.verify(key)


def test_deterministic_ecdsa_is_reproducible(keys: dict[str, CoseKey]) -> None:
    key = keys["ES384"]
    a = sign1(PAYLOAD, key, deterministic=True)
    assert a == sign1(PAYLOAD, key, deterministic=True)
    assert sign1(PAYLOAD, key) != sign1(PAYLOAD, key)  # randomized by default
    Sign1Message.decode(a).verify(key.public())


def test_untagged_detached_external_aad(keys: dict[str, CoseKey]) -> None:
    key = keys["EdDSA"]
    data = sign1(PAYLOAD, key, external_aad=b"aad", detached=True, tagged=False)
    assert data[0] == 0x84  # array(4), no tag
    msg = Sign1Message.decode(data)
    assert msg.payload is None and not msg.tagged
    msg.verify(key, b"aad", detached_payload=PAYLOAD)
    with pytest.raises(VerifyError):
        msg.verify(key, b"other", detached_payload=PAYLOAD)
    with pytest.raises(VerifyError):
        msg.verify(key, b"aad", detached_payload=PAYLOAD + b"!")
    with pytest.raises(ValidationError, match="detached"):
        msg.verify(key, b"aad")
    attached = Sign1Message.decode(sign1(PAYLOAD, key))
    with pytest.raises(ValidationError):
        attached.verify(key, detached_payload=PAYLOAD)
    assert msg.encode(tagged=True)[0] == 0xD2


def test_alg_must_be_protected_and_match(keys: dict[str, CoseKey]) -> None:
    key = keys["ES256"]
    with pytest.raises(ValidationError):
        sign1(PAYLOAD, key, unprotected={1: -7})
    with pytest.raises(ValidationError):
        sign1(PAYLOAD, key, Algorithm.ES256, protected={"alg": "ES384"})
    with pytest.raises(UnsupportedError):
        sign1(PAYLOAD, key, Algorithm.HMAC_256_256)  # a MAC alg on a signature
    with pytest.raises(ValidationError):
        sign1(PAYLOAD, key, Algorithm.EDDSA)  # key type does not fit
    # move alg from protected to unprotected: refused unless explicitly allowed
    msg = Sign1Message.decode(sign1(PAYLOAD, key, protected={"content type": 0}))
    msg.unprotected[1] = msg.protected.pop(1)
    msg.protected_bytes = cbor.dumps(msg.protected)
    with pytest.raises(ValidationError, match="protected"):
        Sign1Message.decode(msg.encode()).verify(key)
    with pytest.raises(VerifyError):  # the protected bucket changed, so the signature fails
        Sign1Message.decode(msg.encode()).verify(key, allow_unprotected_alg=True)


def test_header_bucket_rules(keys: dict[str, CoseKey]) -> None:
    key = keys["ES256"]
    good = cbor.loads(sign1(PAYLOAD, key)).value
    # RFC 9052 §3: a label in both buckets
    both = [good[0], {1: -7}, good[2], good[3]]
    with pytest.raises(ValidationError, match="both"):
        Sign1Message.decode(cbor.dumps(both))
    # protected bucket not a map / not CBOR
    for prot in (cbor.dumps([1]), b"\xff", b"\xa1\x01"):
        with pytest.raises(ValidationError):
            Sign1Message.decode(cbor.dumps([prot, {}, PAYLOAD, good[3]]))
    # kid must be a bstr, IV and Partial IV not both, crit non-empty and protected
    for unprot in ({4: "text"}, {5: b"1", 6: b"2"}, {2: [1]}):
        with pytest.raises(ValidationError):
            Sign1Message.decode(cbor.dumps([good[0], unprot, PAYLOAD, good[3]]))
    with pytest.raises(ValidationError):
        sign1(PAYLOAD, key, protected={"crit": []})
    with pytest.raises(ValidationError, match="absent"):
        sign1(PAYLOAD, key, protected={"crit": [99]})


def test_crit_honoured(keys: dict[str, CoseKey]) -> None:
    key = keys["ES256"]
    data = sign1(PAYLOAD, key, protected={"crit": [99], 99: "must understand"})
    with pytest.raises(UnsupportedError):
        Sign1Message.decode(data).verify(key)
    Sign1Message.decode(data).verify(key, critical=[99])
    # a critical label this package processes itself (content type) needs no opt-in
    Sign1Message.decode(sign1(PAYLOAD, key, protected={"crit": [3], 3: 0})).verify(key)


def test_empty_protected_as_a0_uses_empty_bstr_in_structure(keys: dict[str, CoseKey]) -> None:
    """RFC 9052 §3 lets h'a0' stand for no protected headers; the structure then uses h''."""
    msg = SignMessage.decode(sign(PAYLOAD, [keys["ES256"]]))
    assert msg.protected_bytes == b""
    tbs = msg.to_be_signed(msg.signatures[0])
    msg.protected_bytes = b"\xa0"
    assert msg.to_be_signed(msg.signatures[0]) == tbs
    SignMessage.decode(msg.encode()).verify(keys["ES256"])


def test_wrong_tag_and_structure_errors(keys: dict[str, CoseKey]) -> None:
    data = sign1(PAYLOAD, keys["ES256"])
    body = cbor.loads(data).value
    with pytest.raises(ValidationError, match="COSE_Mac0"):
        Sign1Message.decode(cbor.dumps(cbor.tag(17, body)))
    with pytest.raises(ValidationError):
        Sign1Message.decode(cbor.dumps(cbor.tag(61, body)))
    with pytest.raises(ValidationError):
        Sign1Message.decode(cbor.dumps(body[:3]))
    with pytest.raises(ValidationError):
        Sign1Message.decode(cbor.dumps([*body[:3], "sig"]))
    with pytest.raises(ValidationError):
        Sign1Message.decode(cbor.dumps([body[0], body[1], 5, body[3]]))
    with pytest.raises(DecodeError):
        Sign1Message.decode(data + b"\x00")
    with pytest.raises(DecodeError):
        Sign1Message.decode(data[:-1])
    with pytest.raises(ValidationError):
        SignMessage.decode(cbor.dumps(cbor.tag(98, [b"", {}, PAYLOAD, []])))


def test_cose_sign_several_signers(keys: dict[str, CoseKey]) -> None:
    signers = [keys["ES256"], Signer(keys["Ed25519"]), Signer(keys["ESP512"], protected={"content type": 0})]
    data = sign(PAYLOAD, signers, external_aad=b"x")
    msg = SignMessage.decode(data)
    assert [s.alg for s in msg.signatures] == [Algorithm.ES256, Algorithm.ED25519, Algorithm.ESP512]
    assert [s.kid for s in msg.signatures] == [b"kid-ES256", b"kid-Ed25519", b"kid-ESP512"]
    for k in (keys["ES256"], keys["Ed25519"], keys["ESP512"]):
        assert msg.verify(k.public(), b"x").kid == k.kid
    msg.verify_all([k.public() for k in (keys["ESP512"], keys["ES256"], keys["Ed25519"])], b"x")
    with pytest.raises(VerifyError):
        msg.verify_all([keys["ES256"].public(), keys["Ed25519"].public()], b"x")
    with pytest.raises(VerifyError):
        msg.verify(keys["Ed448"], b"x")  # not among the signers
    with pytest.raises(VerifyError):
        msg.verify(keys["ES256"], b"y")
    # body crit applies to every signer
    crit = SignMessage.decode(sign(PAYLOAD, [keys["ES256"]], protected={"crit": [77], 77: 1}))
    with pytest.raises(UnsupportedError):
        crit.verify(keys["ES256"])
    crit.verify(keys["ES256"], critical=[77])
    with pytest.raises(ValidationError):
        sign(PAYLOAD, [])


def test_key_restrictions_apply_when_signing_and_verifying(keys: dict[str, CoseKey]) -> None:
    no_alg = {k: v for k, v in keys["ES256"].to_cose_map().items() if k != 3}
    key = CoseKey.from_cose({**keys["ES256"].to_cose_map(), 4: [2]})  # key_ops: verify only
    with pytest.raises(ValidationError, match="key_ops"):
        sign1(PAYLOAD, key)
    Sign1Message.decode(sign1(PAYLOAD, keys["ES256"])).verify(key)
    es512_on_p256 = sign1(PAYLOAD, CoseKey.from_cose(no_alg), Algorithm.ES512)
    Sign1Message.decode(es512_on_p256).verify(CoseKey.from_cose(no_alg).public())
    with pytest.raises(ValidationError):  # ESP512 is P-521 only (RFC 9864)
        sign1(PAYLOAD, CoseKey.from_cose(no_alg), Algorithm.ESP512)
    with pytest.raises(ValidationError):  # the key carries alg ES256
        sign1(PAYLOAD, keys["ES256"], Algorithm.ES512)


def test_verify_needs_a_cose_key_of_the_right_kind(keys: dict[str, CoseKey]) -> None:
    msg = Sign1Message.decode(sign1(PAYLOAD, keys["ES256"]))
    with pytest.raises(IotSecError):
        msg.verify(CoseKey.symmetric(bytes(32)))
    with pytest.raises(ValidationError):
        msg.verify(keys["ES256"], external_aad="text")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        sign1("text", keys["ES256"])  # type: ignore[arg-type]


def test_protected_labels_that_collide_in_python_are_refused(keys: dict[str, CoseKey]) -> None:
    """{1: -7, true: -8} or {1: -7, 1.0: -8} would merge into one Python key: refused."""
    sig = Sign1Message.decode(sign1(PAYLOAD, keys["ES256"])).signature
    for prot in ("a20126f527", "a20126f93c0027", "bf0126ff"):
        data = cbor.dumps(cbor.tag(18, [bytes.fromhex(prot), {}, PAYLOAD, sig]))
        with pytest.raises(ValidationError):
            Sign1Message.decode(data)


def test_r_s_to_der_matches_cryptography() -> None:
    """Our r||s -> DER conversion equals cryptography's encode_dss_signature, edge cases included."""
    import os

    from iotsec.core.cose._sig import _der_signature

    for n in (32, 48, 66):
        cases = [os.urandom(2 * n) for _ in range(200)]
        cases += [bytes(2 * n), b"\x80" * (2 * n), b"\x00" * (n - 1) + b"\x01" + b"\xff" * n]
        cases += [b"\x00" * (n // 2) + os.urandom(n + n // 2) for _ in range(50)]
        for sig in cases:
            r, s = int.from_bytes(sig[:n], "big"), int.from_bytes(sig[n:], "big")
            assert _der_signature(sig, n) == encode_dss_signature(r, s)
