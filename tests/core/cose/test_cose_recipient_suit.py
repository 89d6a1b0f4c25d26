"""draft-ietf-suit-firmware-encryption examples (suit-wg/suit-firmware-encryption @ 2947c35).

These exercise what SUIT reuses from the COSE encryption layer: the KDF context with the SUIT
conventions (PartyU/PartyV nil, ``SuppPubInfo.other = 'SUIT Payload Encryption'``), AES-KW and
ECDH-ES + A128KW recipients, detached ciphertexts, A128GCM and the RFC 9459 A128CTR cipher
(alg unprotected, empty protected bucket, no AAD), and streaming decryption.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from iotsec.core import cbor
from iotsec.core.cose import CoseKey
from iotsec.core.cose.algorithms import Algorithm
from iotsec.core.cose.encrypt import EncryptMessage, encrypt_detached
from iotsec.core.cose.kdf import SUIT_PAYLOAD_ENCRYPTION, kdf_context
from iotsec.core.cose.recipient import KdfParams, RecipientSpec
from iotsec.errors import UnsupportedError, VerifyError

DIR = "suit/firmware-encryption"
PLAINTEXT = b"This is a real firmware image."
# draft-ietf-suit-firmware-encryption, "ECDH-ES+AES-KW + AES-GCM Example": receiver's key
RECEIVER = {
    1: 2,
    -1: 1,
    -2: bytes.fromhex("5886CD61DD875862E5AAA820E7A15274C968A9BC96048DDCACE32F50C3651BA3"),
    -3: bytes.fromhex("9EED8125E932CD60C0EAD3650D0A485CF726D378D1B016ED4298B2961E258F1B"),
    -4: bytes.fromhex("60FE6DD6D85D5740A5349B6F91267EEAC5BA81B8CB53EE249E4B4EB102C476B3"),
    2: b"kid-2",
}
KEK = CoseKey.symmetric(b"a" * 16, kid="kid-1")  # "KEK COSE_Key: k: 'aaaaaaaaaaaaaaaa'"
SUIT_KDF = KdfParams(supp_pub_other=SUIT_PAYLOAD_ENCRYPTION)


def _hex(p: Path) -> bytes:
    return bytes.fromhex("".join(p.read_text().split()))


CASES = [
    ("suit-encryption-info-aes-kw-aes-gcm.hex", "encrypted-payload-aes-kw-aes-gcm.hex", "kw", False),
    ("suit-encryption-info-aes-kw-aes-ctr.hex", "encrypted-payload-aes-kw-aes-ctr.hex", "kw", True),
    ("suit-encryption-info-es-ecdh-aes-gcm.hex", "encrypted-payload-es-ecdh-aes-gcm.hex", "ecdh", False),
    ("suit-encryption-info-es-ecdh-aes-ctr.hex", "encrypted-payload-es-ecdh-aes-ctr.hex", "ecdh", True),
]


def _key(kind: str) -> CoseKey:
    return KEK if kind == "kw" else CoseKey.from_cose(RECEIVER)


@pytest.mark.parametrize(("info", "payload", "kind", "ctr"), CASES)
def test_suit_example_decrypts(shared_vectors: Path, info: str, payload: str, kind: str, ctr: bool) -> None:
    msg = EncryptMessage.decode(_hex(shared_vectors / DIR / info))
    ct = _hex(shared_vectors / DIR / payload)
    assert msg.ciphertext is None  # detached
    key = _key(kind)
    got = msg.decrypt(key, detached_ciphertext=ct, kdf=SUIT_KDF, allow_unauthenticated=ctr)
    assert got == PLAINTEXT
    # streaming gives the same bytes, fed in odd-sized chunks
    cek = msg.content_key(key, kdf=SUIT_KDF, allow_unauthenticated=ctr)
    dec = msg.decryptor(cek, allow_unauthenticated=ctr)
    out = b"".join(dec.update(ct[i : i + 7]) for i in range(0, len(ct), 7)) + dec.finalize()
    assert out == PLAINTEXT


@pytest.mark.parametrize(("info", "payload", "kind", "ctr"), [c for c in CASES if c[3]])
def test_suit_ctr_needs_opt_in(shared_vectors: Path, info: str, payload: str, kind: str, ctr: bool) -> None:
    """RFC 9459 ciphers have no integrity: refused unless the caller vouches for an outer check."""
    msg = EncryptMessage.decode(_hex(shared_vectors / DIR / info))
    with pytest.raises(UnsupportedError) as ei:
        msg.decrypt(_key(kind), detached_ciphertext=_hex(shared_vectors / DIR / payload), kdf=SUIT_KDF)
    assert ei.value.reason == "cose.alg.unauthenticated"


def test_suit_ecdh_needs_suit_context(shared_vectors: Path) -> None:
    """Without 'SUIT Payload Encryption' in SuppPubInfo the KEK differs and the unwrap fails."""
    msg = EncryptMessage.decode(_hex(shared_vectors / DIR / "suit-encryption-info-es-ecdh-aes-gcm.hex"))
    ct = _hex(shared_vectors / DIR / "encrypted-payload-es-ecdh-aes-gcm.hex")
    with pytest.raises(VerifyError):
        msg.decrypt(CoseKey.from_cose(RECEIVER), detached_ciphertext=ct)


def test_suit_kdf_context_matches_example(shared_vectors: Path) -> None:
    """The context builder produces the draft's a128kw_kdf_context.diag."""
    expected = cbor.from_diag((shared_vectors / DIR / "a128kw_kdf_context.diag").read_text())
    got = kdf_context(
        Algorithm.A128KW,
        cbor.dumps({1: int(Algorithm.ECDH_ES_A128KW)}),
        supp_pub_other=SUIT_PAYLOAD_ENCRYPTION,
    )
    assert got == expected


def test_suit_style_round_trip_ecdh_ctr() -> None:
    """Make a SUIT-style COSE_Encrypt (ECDH-ES + A128KW, A128CTR, detached) and read it back."""
    receiver = CoseKey.from_cose(RECEIVER)
    spec = RecipientSpec(Algorithm.ECDH_ES_A128KW, receiver.public(), kdf=SUIT_KDF)
    image = bytes(range(256)) * 1000
    data, ct = encrypt_detached(image, [spec], Algorithm.A128CTR)
    msg = EncryptMessage.decode(data)
    assert msg.protected_bytes == b""
    assert msg.decrypt(receiver, detached_ciphertext=ct, kdf=SUIT_KDF, allow_unauthenticated=True) == image
