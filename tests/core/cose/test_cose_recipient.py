"""Recipient layer: malformed recipients, key restrictions, ECDH header rules (RFC 9053 §6)."""

from __future__ import annotations

import pytest

from iotsec.core import cbor
from iotsec.core.cose import CoseKey
from iotsec.core.cose.algorithms import Algorithm, Curve
from iotsec.core.cose.encrypt import EncryptMessage, encrypt
from iotsec.core.cose.recipient import (
    KdfParams,
    Recipient,
    RecipientSpec,
    build_recipient,
    derive_cek,
    try_recipients,
)
from iotsec.errors import IotSecError, UnsupportedError, ValidationError, VerifyError

A = Algorithm


def _p256(kid: str = "bob") -> CoseKey:
    return CoseKey.generate(A.ECDH_ES_A128KW, kid=kid, curve=Curve.P_256)


def test_key_alg_restriction() -> None:
    kek = CoseKey.symmetric(bytes(16), kid="k", alg=A.A128KW)
    data = encrypt(b"x", [RecipientSpec(A.A128KW, kek)])
    assert EncryptMessage.decode(data).decrypt(kek) == b"x"
    other = CoseKey.symmetric(bytes(16), kid="k", alg=A.A128GCM)  # restricted to another alg
    with pytest.raises(ValidationError) as ei:
        EncryptMessage.decode(data).decrypt(other)
    assert ei.value.reason == "cose.key.alg_mismatch"
    # a direct key may name the content algorithm
    direct = CoseKey.symmetric(bytes(16), kid="d", alg=A.A128GCM)
    assert EncryptMessage.decode(encrypt(b"y", [RecipientSpec(A.DIRECT, direct)])).decrypt(direct) == b"y"
    bob = _p256()  # alg ECDH-ES + A128KW
    with pytest.raises(ValidationError):  # sender side
        build_recipient(RecipientSpec(A.ECDH_ES_HKDF_256, bob.public()), A.A128GCM)
    unrestricted = CoseKey.from_cryptography(bob.private_key, kid="bob")
    data = encrypt(b"z", [RecipientSpec(A.ECDH_ES_HKDF_256, unrestricted.public())])
    assert EncryptMessage.decode(data).decrypt(unrestricted) == b"z"
    with pytest.raises(ValidationError):  # receiving side
        EncryptMessage.decode(data).decrypt(bob)


def test_recipient_structure_errors() -> None:
    for bad in ([], [b"", {}], [b"", {}, 5], [b"", [], b""], [b"\x01", {}, b""], [b"", {}, b"", []]):
        with pytest.raises(ValidationError):
            Recipient.from_item(bad)
    deep: list[object] = [b"", {1: -3}, b"x" * 24]
    for _ in range(8):
        deep = [b"", {1: -3}, b"x" * 24, [deep]]
    with pytest.raises(ValidationError) as ei:
        Recipient.from_item(deep)
    assert ei.value.reason == "cose.recipient.depth"


def test_key_wrap_rules() -> None:
    kek = CoseKey.symmetric(bytes(16), kid="k")
    r, cek = build_recipient(RecipientSpec(A.A128KW, kek), A.A128GCM, bytes(range(16)))
    assert r.protected_bytes == b"" and derive_cek(r, kek, A.A128GCM) == cek
    protected = Recipient({1: -3}, {}, r.ciphertext, cbor.dumps({1: -3}))
    with pytest.raises(ValidationError):  # RFC 9053 §6.2.1: protected must be empty
        derive_cek(protected, kek, A.A128GCM)
    with pytest.raises(ValidationError):  # unwrapped key is 128 bits, A256GCM needs 256
        derive_cek(r, kek, A.A256GCM)
    with pytest.raises(VerifyError):
        derive_cek(r, CoseKey.symmetric(b"\x01" * 16), A.A128GCM)
    with pytest.raises(ValidationError):
        derive_cek(Recipient({}, {1: -3}, b""), kek, A.A128GCM)
    with pytest.raises(ValidationError):  # nor are they built
        build_recipient(RecipientSpec(A.A128KW, kek, protected={"kid": b"k"}), A.A128GCM, bytes(16))


def test_ecdh_header_rules() -> None:
    bob = CoseKey.generate(A.ECDH_ES_HKDF_256, kid="bob", curve=Curve.P_256)
    r, cek = build_recipient(RecipientSpec(A.ECDH_ES_HKDF_256, bob.public()), A.A128GCM)
    assert derive_cek(r, bob, A.A128GCM) == cek
    epk = r.unprotected[-1]
    with pytest.raises(ValidationError):  # no ephemeral key
        derive_cek(Recipient(r.protected, {4: b"bob"}, b"", r.protected_bytes), bob, A.A128GCM)
    with pytest.raises(ValidationError):  # ephemeral key carrying a private part
        leaked = {**epk, -4: bytes(32)}
        derive_cek(Recipient(r.protected, {-1: leaked}, b"", r.protected_bytes), bob, A.A128GCM)
    x25519 = CoseKey.generate(A.ECDH_ES_HKDF_256, curve=Curve.X25519).public().to_cose_map(private=False)
    with pytest.raises(ValidationError):  # ephemeral key on another curve
        derive_cek(Recipient(r.protected, {-1: x25519}, b"", r.protected_bytes), bob, A.A128GCM)
    with pytest.raises(ValidationError):  # direct ECDH carries no ciphertext
        derive_cek(Recipient(r.protected, r.unprotected, b"junk", r.protected_bytes), bob, A.A128GCM)
    with pytest.raises(ValidationError):  # a symmetric key cannot do ECDH
        derive_cek(r, CoseKey.symmetric(bytes(16)), A.A128GCM)


def test_ecdh_ss_by_static_key_id() -> None:
    bob = CoseKey.generate(A.ECDH_SS_HKDF_256, kid="bob", curve=Curve.X25519)
    alice = CoseKey.generate(A.ECDH_SS_HKDF_256, kid="alice", curve=Curve.X25519)
    spec = RecipientSpec(A.ECDH_SS_HKDF_256, bob.public(), sender_key=alice, static_key_id=True)
    r, cek = build_recipient(spec, A.A128GCM)
    assert r.unprotected[-3] == b"alice" and -2 not in r.unprotected
    with pytest.raises(ValidationError) as ei:
        derive_cek(r, bob, A.A128GCM)
    assert ei.value.reason == "cose.recipient.static_key"
    assert derive_cek(r, bob, A.A128GCM, sender_key=alice.public()) == cek


def test_kdf_params_change_the_key() -> None:
    bob = CoseKey.generate(A.ECDH_ES_A128KW, kid="bob", curve=Curve.P_256)
    spec = RecipientSpec(A.ECDH_ES_A128KW, bob.public(), kdf=KdfParams(supp_pub_other=b"profile"))
    r, cek = build_recipient(spec, A.A128GCM, bytes(16))
    assert derive_cek(r, bob, A.A128GCM, kdf=KdfParams(supp_pub_other=b"profile")) == cek
    with pytest.raises(VerifyError):
        derive_cek(r, bob, A.A128GCM)


def test_try_recipients_prefers_matching_kid_and_reports_failure() -> None:
    k1 = CoseKey.symmetric(b"\x01" * 16, kid="one")
    k2 = CoseKey.symmetric(b"\x02" * 16, kid="two")
    cek = bytes(range(16))
    r1 = build_recipient(RecipientSpec(A.A128KW, k1), A.A128GCM, cek)[0]
    r2 = build_recipient(RecipientSpec(A.A128KW, k2), A.A128GCM, cek)[0]
    assert try_recipients([r1, r2], k2, A.A128GCM) == cek
    with pytest.raises(VerifyError):
        try_recipients([r1, r2], CoseKey.symmetric(b"\x03" * 16, kid="three"), A.A128GCM)
    with pytest.raises(UnsupportedError):
        try_recipients([Recipient({}, {1: -999}, b"")], k1, A.A128GCM)


def test_unknown_or_unsupported_recipient_algs() -> None:
    k = CoseKey.symmetric(bytes(16))
    for alg in (-999, "direct", A.DIRECT_HKDF_AES_128, None):
        with pytest.raises(IotSecError):
            derive_cek(Recipient({}, {1: alg}, b""), k, A.A128GCM)


@pytest.mark.parametrize("curve", [Curve.P_256, Curve.P_384, Curve.P_521])
def test_compressed_ephemeral_point_round_trip(curve: Curve) -> None:
    bob = CoseKey.generate(A.ECDH_ES_A256KW, kid="bob", curve=curve)
    spec = RecipientSpec(A.ECDH_ES_A256KW, bob.public(), compressed_point=True)
    data = encrypt(b"short header", [spec], A.A256GCM)
    msg = EncryptMessage.decode(data)
    assert isinstance(msg.recipients[0].unprotected[-1][-3], bool)  # RFC 9053 §7.1.1 sign bit
    assert msg.decrypt(bob) == b"short header"


def test_ecdh_ss_direct_gets_a_fresh_nonce() -> None:
    """Static-static agreement alone would give every message the same CEK."""
    bob = CoseKey.generate(A.ECDH_SS_HKDF_256, kid="bob", curve=Curve.P_256)
    alice = CoseKey.generate(A.ECDH_SS_HKDF_256, kid="alice", curve=Curve.P_256)
    spec = RecipientSpec(A.ECDH_SS_HKDF_256, bob.public(), sender_key=alice)
    (r1, cek1), (r2, cek2) = build_recipient(spec, A.A128GCM), build_recipient(spec, A.A128GCM)
    assert r1.unprotected[-22] != r2.unprotected[-22] and cek1 != cek2
    assert derive_cek(r1, bob, A.A128GCM) == cek1
    salted = RecipientSpec(A.ECDH_SS_HKDF_256, bob.public(), sender_key=alice, salt=b"s" * 16)
    assert -22 not in build_recipient(salted, A.A128GCM)[0].unprotected


def test_two_layer_recipients() -> None:
    """RFC 9052 §8.5.5: an AES-KW recipient whose KEK is distributed by nested recipients."""
    bob = CoseKey.generate(A.ECDH_ES_HKDF_256, kid="bob", curve=Curve.X25519)
    inner = RecipientSpec(A.ECDH_ES_HKDF_256, bob.public())
    outer = RecipientSpec(A.A128KW, None, inner=(inner,))
    msg = EncryptMessage.decode(encrypt(b"layered", [outer], A.A256GCM))
    r = msg.recipients[0]
    assert r.protected == {} and r.unprotected[1] == -3 and len(r.recipients) == 1
    assert msg.decrypt(bob) == b"layered"
    # several key-wrap recipients in the inner layer share a random KEK
    k1, k2 = CoseKey.symmetric(b"\x01" * 16, kid="k1"), CoseKey.symmetric(b"\x02" * 32, kid="k2")
    outer2 = RecipientSpec(A.A128KW, None, inner=(RecipientSpec(A.A128KW, k1), RecipientSpec(A.A256KW, k2)))
    msg2 = EncryptMessage.decode(encrypt(b"layered", [outer2]))
    assert msg2.decrypt(k1) == msg2.decrypt(k2) == b"layered"
    with pytest.raises(ValidationError):  # only key wrap can sit above nested recipients
        encrypt(b"x", [RecipientSpec(A.DIRECT, None, inner=(inner,))])
    with pytest.raises(ValidationError):  # a key-less recipient without inner ones
        encrypt(b"x", [RecipientSpec(A.A128KW, None)])
