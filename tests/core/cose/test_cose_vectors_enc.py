"""COSE WG examples (cose-wg/Examples @ 53c9d63) for COSE_Encrypt0, COSE_Encrypt and recipients.

For every file: decrypt with the given keys (or, for COSE_Mac files, obtain the MAC key through
the recipient and compare with ``intermediates.CEK_hex``); expected failures must fail; and where
the file gives its randomness (``rng_stream``, ``unsent``), re-create the message and compare with
``output.cbor``. The example generator does not sort the unprotected map, while iotsec encodes
deterministically (RFC 8949 §4.2.1), so the comparison is against the expected message
re-encoded deterministically; the protected bytes and ciphertexts are compared as they are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _cose_enc_vectors import ENC_DIRS, alg, headers, jwk_key, load, party_infos

from iotsec.core import cbor
from iotsec.core.cose import CoseKey
from iotsec.core.cose.encrypt import EncryptMessage, encrypt
from iotsec.core.cose.encrypt0 import Encrypt0Message, encrypt0
from iotsec.core.cose.kdf import PartyInfo
from iotsec.core.cose.recipient import (
    KdfParams,
    Method,
    Recipient,
    RecipientSpec,
    build_recipient,
    derive_cek,
    recipient_alg,
)
from iotsec.errors import IotSecError, UnsupportedError, ValidationError, VerifyError

ROOT = "cose/cose-wg-examples"

# Files in the encryption folders that this test does not apply to, with the reason.
NOT_APPLICABLE = {
    "RFC8152/Appendix_C_1_1.json": "COSE_Sign (signature tests)",
    "RFC8152/Appendix_C_1_2.json": "COSE_Sign (signature tests)",
    "RFC8152/Appendix_C_1_3.json": "COSE_Sign (signature tests)",
    "RFC8152/Appendix_C_1_4.json": "COSE_Sign (signature tests)",
    "RFC8152/Appendix_C_2_1.json": "COSE_Sign1 (signature tests)",
    "RFC8152/Appendix_C_5_1.json": "COSE_Mac with direct key: no key distribution to test (MAC tests)",
    "RFC8152/Appendix_C_6_1.json": "COSE_Mac0: no recipient (MAC tests)",
}
# Parts of applicable files that cannot be re-created, with the reason.
NO_REPRODUCTION = {
    "RFC8152/Appendix_C_3_3.json": "carries a COSE_Countersignature (RFC 8152 §4.5), not produced here",
    "encrypted-tests/enc-pass-01.json": "modified after generation (protected h'a0', alg unprotected)",
    "encrypted-tests/enc-pass-03.json": "alg unprotected, which iotsec never produces for AEAD",
    "enveloped-tests/env-pass-01.json": "modified after generation (protected h'a0', alg unprotected)",
    "enveloped-tests/env-pass-03.json": "alg unprotected, which iotsec never produces for AEAD",
}


# The generator compresses the ephemeral point here (y = false), though the input does not say so.
COMPRESSED = {"RFC8152/Appendix_B.json"}
# The generator sends the sender's kid (static key id, -3) here, though the input does not ask for it.
STATIC_KEY_ID = {"X25519-tests/x25519-ss-hkdf-256-direct.json"}


# What each kind of failure example must raise, with the reason code.
EXPECTED_FAILURE: dict[str, tuple[type[IotSecError], str]] = {
    "ChangeTag": (VerifyError, "cose.decrypt.failed"),  # altered authentication tag
    "ChangeCBORTag": (ValidationError, "cose.tag"),  # tag 995 instead of 16/96
    "ChangeAttr": (UnsupportedError, "cose.alg.unsupported"),  # alg -999 / "Unknown"
    "AddProtected": (VerifyError, "cose.decrypt.failed"),  # protected bucket not what was encrypted
    "RemoveProtected": (VerifyError, "cose.decrypt.failed"),
}


def _files() -> list[str]:
    from conftest import SHARED_VECTORS

    base = SHARED_VECTORS / ROOT
    return [f"{d}/{p.name}" for d in ENC_DIRS for p in sorted((base / d).glob("*.json"))]


FILES = _files()


def _is_failure_vector(name: str) -> bool:
    from conftest import SHARED_VECTORS

    return bool(load(SHARED_VECTORS / ROOT / name).get("fail"))


# failure vectors only apply to decryption (they must fail)
REPRODUCIBLE = [
    f for f in FILES if f not in NOT_APPLICABLE and f not in NO_REPRODUCTION and not _is_failure_vector(f)
]


def _vec(shared_vectors: Path, name: str) -> dict[str, Any]:
    return load(shared_vectors / ROOT / name)


def _kind(v: dict[str, Any]) -> str:
    inp = v["input"]
    for k in ("encrypted", "enveloped", "mac", "mac0", "sign", "sign0"):
        if k in inp:
            return k
    raise AssertionError("unknown vector kind")


def _body(v: dict[str, Any]) -> dict[str, Any]:
    return v["input"][_kind(v)]  # type: ignore[no-any-return]


def _content_alg(body: dict[str, Any]) -> int:
    h = {**(body.get("unprotected") or {}), **(body.get("protected") or {})}
    return int(alg(h["alg"]))


def _kdf(r: dict[str, Any]) -> KdfParams:
    """Context inputs the example does not transmit (``unsent``: apu_id, pub_other, ...)."""
    u = r.get("unsent") or {}

    def b(name: str) -> bytes | None:
        return u[name].encode() if name in u else None

    pu = PartyInfo(b("apu_id"), b("apu_nonce"), b("apu_other"))
    pv = PartyInfo(b("apv_id"), b("apv_nonce"), b("apv_other"))
    return KdfParams(
        party_u=pu if pu != PartyInfo() else None,
        party_v=pv if pv != PartyInfo() else None,
        supp_pub_other=b("pub_other"),
        supp_priv_info=b("priv_other"),
    )


def _sender_key(r: dict[str, Any]) -> CoseKey | None:
    return jwk_key(r["sender_key"]) if "sender_key" in r else None


def _external(body: dict[str, Any]) -> bytes:
    return bytes.fromhex(body.get("external", ""))


def _alg_unprotected(body: dict[str, Any]) -> bool:
    return "alg" not in (body.get("protected") or {})


@pytest.mark.parametrize("name", [f for f in FILES if f not in NOT_APPLICABLE])
def test_vector_decrypt(shared_vectors: Path, name: str) -> None:
    v = _vec(shared_vectors, name)
    body, kind = _body(v), _kind(v)
    data = bytes.fromhex(v["output"]["cbor"])
    plaintext = v["input"]["plaintext"].encode()
    ext = _external(body)
    allow = _alg_unprotected(body)
    if kind in ("mac", "mac0"):
        return _check_mac_recipients(v, data)
    r0 = body["recipients"][0]
    while "key" not in r0:  # RFC 8152 Appendix B: the key is in a nested recipient
        r0 = r0["recipients"][0]
    key = jwk_key(r0["key"])
    unsent = body.get("unsent") or {}
    base_iv = None
    if "IV_hex" in unsent:  # RFC 9052 §3.1: the context IV the Partial IV is combined with
        iv = bytes.fromhex(unsent["IV_hex"])
        piv = bytes.fromhex(body["unprotected"]["partialIV_hex"])
        base_iv = iv[: len(iv) - len(piv)] + bytes(a ^ b for a, b in zip(iv[-len(piv) :], piv, strict=True))

    def run() -> bytes:
        if kind == "encrypted":
            msg0 = Encrypt0Message.decode(data)
            return msg0.decrypt(key, external_aad=ext, base_iv=base_iv, allow_unprotected_alg=allow)
        msg = EncryptMessage.decode(data)
        return msg.decrypt(
            key,
            external_aad=ext,
            base_iv=base_iv,
            sender_key=_sender_key(r0),
            kdf=_kdf(r0),
            allow_unprotected_alg=allow,
        )

    if v.get("fail"):
        failure = next(iter(v["input"]["failures"]))
        expected, reason = EXPECTED_FAILURE[failure]
        with pytest.raises(expected) as ei:
            run()
        assert ei.value.reason == reason
        return
    assert run() == plaintext
    if allow:  # RFC 9052 permits an unprotected alg; iotsec refuses it unless asked (docs)
        with pytest.raises(ValidationError) as ei:
            if kind == "encrypted":
                Encrypt0Message.decode(data).decrypt(key, external_aad=ext)
            else:
                EncryptMessage.decode(data).decrypt(key, external_aad=ext)
        assert ei.value.reason == "cose.alg.unprotected"


def _check_mac_recipients(v: dict[str, Any], data: bytes) -> None:
    """COSE_Mac: the recipient layer must yield the MAC key given in the intermediates."""
    body = _body(v)
    mac_alg = _content_alg(body)
    obj = cbor.loads(data)
    assert isinstance(obj, cbor.CBORTag) and obj.tag == 97
    items = obj.value[4]
    cek = bytes.fromhex(v["intermediates"]["CEK_hex"])
    found = 0
    for rj, item in zip(body["recipients"], items, strict=True):
        r = Recipient.from_item(item)
        got = derive_cek(r, jwk_key(rj["key"]), mac_alg, sender_key=_sender_key(rj), kdf=_kdf(rj))
        assert got == cek
        found += 1
    assert found


@pytest.mark.parametrize("name", REPRODUCIBLE)
def test_vector_reproduce(shared_vectors: Path, name: str) -> None:
    """Re-create the message (or, for COSE_Mac, the recipients) from the file's randomness."""
    v = _vec(shared_vectors, name)
    body, kind = _body(v), _kind(v)
    expected = cbor.loads(bytes.fromhex(v["output"]["cbor"]))
    rng = [bytes.fromhex(x) for x in v["input"].get("rng_stream", [])]
    content_alg = _content_alg(body)
    prot = headers(body.get("protected"))
    unprot = headers(body.get("unprotected"))
    unsent = body.get("unsent") or {}
    ext = _external(body)
    specs: list[RecipientSpec] = []
    cek: bytes | None = None
    iv: bytes | None = None
    for rj in body.get("recipients", []):
        spec, cek_r, iv_r = _recipient_spec(
            rj,
            rng,
            with_iv=kind not in ("mac", "mac0") and iv is None,
            static_key_id=name in STATIC_KEY_ID,
            draw_cek=cek is None,
            compressed=name in COMPRESSED,
        )
        specs.append(spec)
        cek = cek or cek_r
        iv = iv or iv_r
    if kind in ("mac", "mac0"):
        # compare the recipient structures; the MAC itself is the MAC tests' business
        assert isinstance(expected, cbor.CBORTag)
        cek_mac = cek or bytes.fromhex(v["intermediates"]["CEK_hex"])
        for spec, item in zip(specs, expected.value[4], strict=True):
            r, got_cek = build_recipient(spec, content_alg, None if spec.method.determines_cek else cek_mac)
            assert cbor.dumps(r.to_item()) == cbor.dumps(item)
            assert got_cek == cek_mac
        return
    if iv is None and rng:
        iv = rng.pop(0)
    piv = unprot.pop(6, None)
    base_iv = None
    if piv is not None:
        full = bytes.fromhex(unsent["IV_hex"])
        base_iv = full[: len(full) - len(piv)] + bytes(
            a ^ b for a, b in zip(full[-len(piv) :], piv, strict=True)
        )
    prot.pop(1, None)
    unprot.pop(1, None)
    if kind == "encrypted":
        key = jwk_key(body["recipients"][0]["key"])
        got = encrypt0(
            v["input"]["plaintext"].encode(),
            key,
            content_alg,
            protected=prot,
            unprotected=unprot,
            external_aad=ext,
            iv=None if piv else iv,
            partial_iv=piv,
            base_iv=base_iv,
        )
    else:
        got = encrypt(
            v["input"]["plaintext"].encode(),
            specs,
            content_alg,
            protected=prot,
            unprotected=unprot,
            external_aad=ext,
            cek=cek,
            iv=None if piv else iv,
            partial_iv=piv,
            base_iv=base_iv,
        )
    assert got == cbor.dumps(expected)
    _exact(name, got == bytes.fromhex(v["output"]["cbor"]))


EXACT: dict[str, bool] = {}


def _exact(name: str, same: bool) -> None:
    """Record whether the re-created bytes are identical without re-encoding the expected ones."""
    EXACT[name] = same


def _ephemeral(jwk: dict[str, Any], d: bytes) -> CoseKey:
    """The ECDH-ES ephemeral private key drawn from rng_stream, on the recipient's curve."""
    from cryptography.hazmat.primitives.asymmetric import ec, x448, x25519

    pub = jwk_key(jwk).public_key
    if isinstance(pub, ec.EllipticCurvePublicKey):
        # the generator keeps the low bits of its random bytes (P-521: 66 bytes -> 521 bits)
        scalar = int.from_bytes(d, "big") & ((1 << pub.curve.key_size) - 1)
        return CoseKey.from_cryptography(ec.derive_private_key(scalar, pub.curve))
    if isinstance(pub, x25519.X25519PublicKey):
        return CoseKey.from_cryptography(x25519.X25519PrivateKey.from_private_bytes(d))
    return CoseKey.from_cryptography(x448.X448PrivateKey.from_private_bytes(d))


def _recipient_spec(
    rj: dict[str, Any],
    rng: list[bytes],
    *,
    with_iv: bool,
    static_key_id: bool,
    draw_cek: bool,
    compressed: bool = False,
) -> tuple[RecipientSpec, bytes | None, bytes | None]:
    """Build the RecipientSpec of one example recipient, consuming rng_stream in the order the
    example generator drew it: key-wrap methods [CEK, IV, ...]; ECDH-SS direct [PartyU nonce, IV];
    ECDH-ES [..., ephemeral key]."""
    h = {**headers(rj.get("protected")), **headers(rj.get("unprotected"))}
    ra = recipient_alg(h[1])
    cek = iv = None
    if ra.method in (Method.KEY_WRAP, Method.ECDH_WRAP) and draw_cek:  # one CEK for all recipients
        cek = rng.pop(0)
        iv = rng.pop(0) if with_iv else None
    if "recipients" in rj:  # two layers (RFC 8152 Appendix B): the KEK comes from the inner ones
        inner = tuple(
            _recipient_spec(
                r, rng, with_iv=False, static_key_id=static_key_id, draw_cek=False, compressed=compressed
            )[0]
            for r in rj["recipients"]
        )
        return RecipientSpec(alg=ra.alg, key=None, kid=h.get(4), inner=inner), cek, iv
    key = jwk_key(rj["key"])
    party_u, party_v = party_infos(h)
    if ra.method is Method.ECDH_DIRECT and ra.static and party_u is None:
        party_u = party_infos({-22: rng.pop(0)})[0]
        if with_iv:
            iv = rng.pop(0)
    ephemeral = None
    if ra.method in (Method.ECDH_DIRECT, Method.ECDH_WRAP) and not ra.static:
        ephemeral = _ephemeral(rj["key"], rng.pop(-1) if ra.method is Method.ECDH_WRAP else rng.pop(0))
    extra = {k: v for k, v in h.items() if k in (-3,)}
    sender = _sender_key(rj)
    spec = RecipientSpec(
        alg=ra.alg,
        key=key if ra.method in (Method.DIRECT, Method.DIRECT_HKDF, Method.KEY_WRAP) else key.public(),
        kid=h.get(4),
        sender_key=sender,
        ephemeral_key=ephemeral,
        salt=h.get(-20),
        party_u=party_u,
        party_v=party_v,
        static_key_id=bool(extra) or static_key_id,
        compressed_point=compressed or (rj.get("unsent") or {}).get("compressed") == 1,
        kdf=_kdf(rj),
    )
    return spec, cek, iv


def test_not_applicable_table_is_current(shared_vectors: Path) -> None:
    """Every excluded file exists, and only non-encryption structures are excluded."""
    for name in NOT_APPLICABLE:
        v = _vec(shared_vectors, name)
        assert _kind(v) in ("sign", "sign0", "mac", "mac0")
    assert len(FILES) >= 140
