"""The pieces COSE_Sign1/Sign, COSE_Mac0/Mac and COSE_Encrypt0/Encrypt share (cose._common,
cose._recipients, cose.enc_common) give each message its own error messages and reason codes,
in the order each message checks its arguments, and the structures of RFC 9052 §4.4, §5.3, §6.3.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotsec.core.cose import (
    Algorithm,
    CoseKey,
    EncryptMessage,
    Mac0Message,
    MacMessage,
    Sign1Message,
    Signer,
    SignMessage,
    encrypt,
    encrypt0,
    mac,
    mac0,
    sign,
    sign1,
)
from iotsec.core.cose._common import MAC, MAC0, SIGNATURE1, layer_structure
from iotsec.core.cose.recipient import RecipientSpec
from iotsec.errors import IotSecError, ValidationError

ES256 = CoseKey.generate("ES256", kid="s")
HMAC = CoseKey.generate("HMAC 256/256", kid="h")
KEK = CoseKey.generate("A128KW", kid="w")


def _error(f: Callable[[], object]) -> tuple[str, str, Any]:
    with pytest.raises(IotSecError) as ei:
        f()
    return ei.value.message, ei.value.reason, getattr(ei.value, "path", None)


@pytest.mark.parametrize(
    ("make", "what"),
    [
        (lambda **kw: sign1(b"p", ES256, Algorithm.ES256, **kw), "signing"),
        (lambda **kw: sign(b"p", [Signer(ES256, Algorithm.ES256, **kw)]), "signing"),
        (lambda **kw: mac0(b"p", HMAC, Algorithm.HMAC_256_256, **kw), "MAC"),
        (lambda **kw: mac(b"p", [RecipientSpec(Algorithm.A128KW, KEK)], Algorithm.HMAC_256_256, **kw), "MAC"),
    ],
)
def test_alg_header_rules(make: Callable[..., bytes], what: str) -> None:
    # RFC 9052 §3.1: alg is protected; a given protected alg must be the algorithm used
    assert _error(lambda: make(unprotected={1: -7})) == (
        "alg belongs in the protected bucket",
        "cose.alg.unprotected",
        (),
    )
    assert _error(lambda: make(protected={1: -35})) == (  # ES384 / not a MAC algorithm
        f"protected alg differs from the {what} algorithm",
        "cose.alg.mismatch",
        (),
    )


def test_kid_goes_unprotected_unless_given() -> None:
    s1 = Sign1Message.decode(sign1(b"p", ES256))
    m0 = Mac0Message.decode(mac0(b"p", HMAC))
    assert (s1.unprotected, s1.kid, s1.alg) == ({4: b"s"}, b"s", Algorithm.ES256)
    assert (m0.unprotected, m0.kid, m0.alg) == ({4: b"h"}, b"h", Algorithm.HMAC_256_256)
    mine = Sign1Message.decode(sign1(b"p", ES256, protected={4: b"mine"}))
    assert (mine.unprotected, mine.kid) == ({}, b"mine")
    signer = SignMessage.decode(sign(b"p", [ES256])).signatures[0]
    assert (signer.unprotected, signer.kid, signer.alg) == ({4: b"s"}, b"s", Algorithm.ES256)


@pytest.mark.parametrize(
    "make",
    [
        lambda: sign1("text", ES256),  # type: ignore[arg-type]
        lambda: sign("text", [ES256]),  # type: ignore[arg-type]
        lambda: mac0("text", HMAC),  # type: ignore[arg-type]
        lambda: mac("text", [RecipientSpec(Algorithm.A128KW, KEK)]),  # type: ignore[arg-type]
    ],
)
def test_payload_must_be_bytes(make: Callable[[], bytes]) -> None:
    assert _error(make) == ("payload must be bytes", "cose.payload", ())


def test_array_items_of_sign_and_mac() -> None:
    prot = cbor2.dumps({1: -7})
    assert _error(lambda: SignMessage.decode(cbor2.dumps([prot, {}, b"p", []]))) == (
        "signatures must be a non-empty array",
        "cose.structure",
        ("signatures",),
    )
    mprot = cbor2.dumps({1: 5})
    assert _error(lambda: MacMessage.decode(cbor2.dumps([mprot, {}, b"p", b"t", []]))) == (
        "recipients must be a non-empty array",
        "cose.structure",
        ("recipients",),
    )
    assert _error(lambda: MacMessage.decode(cbor2.dumps([mprot, {}, b"p", "t", [[b"", {}, None]]]))) == (
        "tag must be a byte string",
        "cose.structure",
        ("tag",),
    )
    # the same general decoding for the four-item messages (a text label: not the fast path)
    sig1 = cbor2.dumps([prot, {"x": 1}, None, "s"])
    assert _error(lambda: Sign1Message.decode(sig1)) == (
        "signature must be a byte string",
        "cose.structure",
        ("signature",),
    )


def test_direct_recipient_rules_of_encrypt_and_mac() -> None:
    # RFC 9052 §8.5.1: a direct method determines the key, so it is the only recipient
    sym = CoseKey.generate("A128GCM", kid="d")
    assert _error(
        lambda: encrypt(b"x", [RecipientSpec(Algorithm.DIRECT, sym), RecipientSpec(Algorithm.A128KW, KEK)])
    ) == ("a direct key recipient must be the only recipient", "cose.recipient.direct", ())
    assert _error(lambda: encrypt(b"x", [RecipientSpec(Algorithm.DIRECT, sym)], cek=bytes(16))) == (
        "a direct method determines the content key",
        "cose.recipient.direct",
        (),
    )
    assert _error(lambda: mac(b"x", [HMAC, RecipientSpec(Algorithm.A128KW, KEK)])) == (
        "a direct key agreement recipient must be the only one",
        "cose.mac.direct",
        (),
    )
    # key wrap recipients share one key: each of them opens the message
    other = CoseKey.generate("A128KW", kid="v")
    two = [RecipientSpec(Algorithm.A128KW, KEK), RecipientSpec(Algorithm.A128KW, other)]
    enc = EncryptMessage.decode(encrypt(b"x", two, cek=bytes(range(16))))
    assert enc.content_key(KEK) == enc.content_key(other) == bytes(range(16))
    assert enc.decrypt(other) == b"x"
    m = MacMessage.decode(mac(b"x", two))
    assert m.mac_key(KEK) == m.mac_key(other)
    m.verify(other)


def test_check_order_of_the_structures() -> None:
    # a wrong external AAD and a payload given twice: Signature1 reports the payload first (as
    # before the structures were shared), MAC0 and MAC the external AAD
    s1 = Sign1Message.decode(sign1(b"p", ES256))
    assert _error(lambda: s1.to_be_signed("aad", b"p"))[1] == "cose.payload.both"  # type: ignore[arg-type]
    m0 = Mac0Message.decode(mac0(b"p", HMAC))
    assert _error(lambda: m0.to_be_maced("aad", b"p"))[1] == "cose.aad"  # type: ignore[arg-type]
    m = MacMessage.decode(mac(b"p", [RecipientSpec(Algorithm.A128KW, KEK)]))
    assert _error(lambda: m.to_be_maced("aad", b"p"))[1] == "cose.aad"  # type: ignore[arg-type]


def test_encrypt0_checks_the_key_before_the_aad() -> None:
    # AES-CTR (RFC 9459) takes no external AAD; a key for another algorithm is reported first
    wrong = CoseKey.generate("A256GCM")
    assert _error(lambda: encrypt0(b"x", wrong, Algorithm.A128CTR, external_aad=b"a"))[1] == (
        "cose.key.alg_mismatch"
    )
    right = CoseKey.symmetric(bytes(16), alg=Algorithm.A128CTR)
    assert _error(lambda: encrypt0(b"x", right, Algorithm.A128CTR, external_aad=b"a"))[1] == (
        "cose.aad.forbidden"
    )


@settings(max_examples=200, deadline=None)
@given(
    prefix=st.sampled_from([(SIGNATURE1, "Signature1"), (MAC0, "MAC0"), (MAC, "MAC")]),
    protected=st.binary(max_size=300),
    aad=st.one_of(st.binary(max_size=300), st.binary(max_size=300).map(bytearray)),
    payload=st.one_of(st.none(), st.binary(max_size=70000)),
    detached=st.one_of(st.none(), st.binary(max_size=300), st.binary(max_size=30).map(bytearray)),
)
def test_layer_structure_is_the_cbor_encoding(
    prefix: tuple[bytes, str], protected: bytes, aad: bytes, payload: bytes | None, detached: bytes | None
) -> None:
    # RFC 9052 §4.4 / §6.3: [context, protected, external_aad, payload] with the payload the
    # attached one or the detached one, exactly one of them
    head, context = prefix
    body = payload if payload is not None else detached
    if (payload is None) == (detached is None):
        with pytest.raises(ValidationError):
            layer_structure(head, protected, payload, aad, detached)
        return
    expected = cbor2.dumps([context, protected, bytes(aad), bytes(body)])  # type: ignore[arg-type]
    assert layer_structure(head, protected, payload, aad, detached) == expected
