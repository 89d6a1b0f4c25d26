"""Key derivation for COSE recipients: HKDF and the COSE_KDF_Context (RFC 9053 §5).

The context builder is parameterised rather than hard-coded, so profiles that reuse it with
their own conventions can do so: draft-ietf-suit-firmware-encryption ("Context Information
Structure") leaves PartyU/PartyV empty and sets ``SuppPubInfo.other`` to the constant
``'SUIT Payload Encryption'`` -- pass ``supp_pub_other=SUIT_PAYLOAD_ENCRYPTION``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from iotsec.core import cbor
from iotsec.core.cose.ciphers import CIPHERS
from iotsec.core.cose.keywrap import KEY_WRAP
from iotsec.errors import UnsupportedError, ValidationError

# draft-ietf-suit-firmware-encryption, "Context Information Structure"
SUIT_PAYLOAD_ENCRYPTION = b"SUIT Payload Encryption"

# RFC 9053 §5.1 Table 8: algorithm header parameters for key derivation (IANA "COSE Header Parameters")
SALT = -20
PARTY_U_IDENTITY = -21
PARTY_U_NONCE = -22
PARTY_U_OTHER = -23
PARTY_V_IDENTITY = -24
PARTY_V_NONCE = -25
PARTY_V_OTHER = -26

# MAC algorithms (RFC 9053 §3): key length in bits, for SuppPubInfo.keyDataLength when a
# recipient derives the key of a COSE_Mac.
_MAC_KEY_BITS = {4: 256, 5: 256, 6: 384, 7: 512, 14: 128, 15: 256, 25: 128, 26: 256}


def key_data_length(alg: int) -> int:
    """Length in bits of the key used by ``alg`` (content, MAC or key-wrap algorithm).

    This is ``SuppPubInfo.keyDataLength`` of the COSE_KDF_Context (RFC 9053 §5.2) and the length
    of the derived key.
    """
    a = int(alg)
    if a in CIPHERS:
        return CIPHERS[a].key_len * 8
    if a in KEY_WRAP:
        return KEY_WRAP[a] * 8
    if a in _MAC_KEY_BITS:
        return _MAC_KEY_BITS[a]
    raise UnsupportedError(f"no key length known for algorithm {alg!r}", reason="cose.alg.unsupported")


@dataclass(frozen=True)
class PartyInfo:
    """PartyUInfo / PartyVInfo of the COSE_KDF_Context (RFC 9053 §5.2): identity, nonce, other."""

    identity: bytes | None = None
    nonce: bytes | int | None = None
    other: bytes | None = None

    def encode_items(self) -> list[Any]:
        return [self.identity, self.nonce, self.other]

    @classmethod
    def from_headers(cls, headers: Mapping[Any, Any], *, party: str) -> PartyInfo:
        """Read PartyU (``party="u"``) or PartyV (``"v"``) header parameters (RFC 9053 §5.1)."""
        labels = (
            (PARTY_U_IDENTITY, PARTY_U_NONCE, PARTY_U_OTHER)
            if party == "u"
            else (PARTY_V_IDENTITY, PARTY_V_NONCE, PARTY_V_OTHER)
        )
        ident, nonce, other = (headers.get(lbl) for lbl in labels)
        for name, value in (("identity", ident), ("other", other)):
            if value is not None and not isinstance(value, bytes):
                raise ValidationError(
                    f"Party{party.upper()} {name} must be a byte string", reason="cose.kdf.party"
                )
        if nonce is not None and (isinstance(nonce, bool) or not isinstance(nonce, bytes | int)):
            raise ValidationError(f"Party{party.upper()} nonce must be bstr or int", reason="cose.kdf.party")
        return cls(ident, nonce, other)


def kdf_context(
    alg: int | str,
    protected: bytes,
    *,
    key_bits: int | None = None,
    party_u: PartyInfo | None = None,
    party_v: PartyInfo | None = None,
    supp_pub_other: bytes | None = None,
    supp_priv_info: bytes | None = None,
) -> bytes:
    """Encode a COSE_KDF_Context (RFC 9053 §5.2).

    ``alg`` is the AlgorithmID: the algorithm the derived key is for (the key-wrap algorithm for
    ECDH-ES+AxxxKW, the content/MAC algorithm for direct key agreement). ``protected`` is the
    serialized protected header of the recipient (``b""`` when empty). ``key_bits`` defaults to
    the algorithm's key length.
    """
    if key_bits is None:
        if isinstance(alg, str):
            raise ValidationError("key_bits is required for a text AlgorithmID", reason="cose.kdf.keylen")
        key_bits = key_data_length(alg)
    supp_pub: list[Any] = [key_bits, protected]
    if supp_pub_other is not None:
        supp_pub.append(supp_pub_other)
    ctx: list[Any] = [
        alg if isinstance(alg, str) else int(alg),
        party_u.encode_items() if party_u is not None else [None, None, None],  # PartyInfo()
        party_v.encode_items() if party_v is not None else [None, None, None],
        supp_pub,
    ]
    if supp_priv_info is not None:
        ctx.append(supp_priv_info)
    return cbor.dumps(ctx)


_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"SHA-256": hashes.SHA256, "SHA-512": hashes.SHA512}


def hkdf(
    secret: bytes, length: int, info: bytes, *, salt: bytes | None = None, hash_name: str = "SHA-256"
) -> bytes:
    """HKDF (RFC 5869) with SHA-256 or SHA-512, as RFC 9053 §5.1 uses it (info = KDF context)."""
    try:
        algo = _HASHES[hash_name]()
    except KeyError:
        raise UnsupportedError(f"unsupported HKDF hash {hash_name}", reason="cose.alg.unsupported") from None
    return HKDF(algorithm=algo, length=length, salt=salt, info=info).derive(secret)


__all__ = [
    "PARTY_U_IDENTITY",
    "PARTY_U_NONCE",
    "PARTY_U_OTHER",
    "PARTY_V_IDENTITY",
    "PARTY_V_NONCE",
    "PARTY_V_OTHER",
    "SALT",
    "SUIT_PAYLOAD_ENCRYPTION",
    "PartyInfo",
    "hkdf",
    "kdf_context",
    "key_data_length",
]
