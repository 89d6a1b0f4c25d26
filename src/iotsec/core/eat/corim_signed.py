"""Signed CoRIMs (draft-ietf-rats-corim §4.2): a COSE_Sign1 over the tagged unsigned CoRIM.

``signed-corim = #6.18(COSE-Sign1-corim)``: protected header with ``alg`` (1), ``content-type`` (3)
``application/rim+cbor`` and ``corim-meta`` (8, a bstr-wrapped map naming the signer). Earlier drafts
wrapped the COSE_Sign1 in ``#6.502``; both are read.
"""

from __future__ import annotations

from collections.abc import Sequence

from iotsec.core import cbor
from iotsec.core.cose import CoseKey, Sign1Message, sign1
from iotsec.core.eat.corim import TAG_SIGNED_CORIM_OLD, Corim, decode_unsigned
from iotsec.errors import DecodeError, ValidationError, VerifyError

CONTENT_TYPE = "application/rim+cbor"
HDR_CONTENT_TYPE = 3
HDR_CORIM_META = 8
MEDIA_TYPE_SIGNED = "application/corim-signed+cbor"


def sign_corim(unsigned: bytes, key: CoseKey, *, signer: str) -> bytes:
    """Sign a tagged unsigned CoRIM (from :func:`iotsec.core.eat.corim.encode`)."""
    decode_unsigned(unsigned)  # only sign what we can read back
    meta = cbor.dumps({0: {0: signer}})  # corim-meta-map: signer-map {signer-name}
    return sign1(unsigned, key, protected={HDR_CONTENT_TYPE: CONTENT_TYPE, HDR_CORIM_META: meta})


def _message(data: bytes) -> Sign1Message:
    item = cbor.loads(data)
    if isinstance(item, cbor.CBORTag) and item.tag == TAG_SIGNED_CORIM_OLD:
        data = cbor.dumps(item.value)
    msg = Sign1Message.decode(data)
    if msg.protected.get(HDR_CONTENT_TYPE) != CONTENT_TYPE:
        raise ValidationError(
            "a signed CoRIM has content-type application/rim+cbor", reason="corim.signed.ctype"
        )
    if msg.payload is None:
        raise ValidationError("a signed CoRIM carries its payload", reason="corim.signed.payload")
    return msg


def signer_name(data: bytes) -> str | None:
    """The signer named in ``corim-meta`` (unverified)."""
    meta = _message(data).protected.get(HDR_CORIM_META)
    if not isinstance(meta, bytes):
        return None
    try:
        m = cbor.loads(meta)
    except DecodeError:
        return None
    name = m.get(0, {}).get(0) if isinstance(m, dict) and isinstance(m.get(0), dict) else None
    return name if isinstance(name, str) else None


def unsigned_payload(data: bytes, trusted: Sequence[CoseKey]) -> bytes:
    """Verify a signed CoRIM against any of ``trusted`` and return the unsigned CoRIM bytes."""
    msg = _message(data)
    for key in trusted:
        try:
            msg.verify(key)
        except VerifyError:
            continue
        assert msg.payload is not None
        return msg.payload
    raise VerifyError(
        "the CoRIM signature does not verify with a trusted key", reason="corim.signed.untrusted"
    )


def verify_signed_corim(data: bytes, trusted: Sequence[CoseKey]) -> Corim:
    """Verify and decode a signed CoRIM."""
    return decode_unsigned(unsigned_payload(data, trusted))


def peek_signed_corim(data: bytes) -> Corim:
    """Decode a signed CoRIM without verifying it (for display only)."""
    payload = _message(data).payload
    assert payload is not None
    return decode_unsigned(payload)


__all__ = [
    "MEDIA_TYPE_SIGNED",
    "peek_signed_corim",
    "sign_corim",
    "signer_name",
    "unsigned_payload",
    "verify_signed_corim",
]
