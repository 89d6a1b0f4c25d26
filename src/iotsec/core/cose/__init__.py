"""COSE (RFC 9052, RFC 9053, RFC 9864) on ``cryptography`` and :mod:`iotsec.core.cbor`.

The public API; private modules stay behind it:

* :class:`Algorithm`, :class:`KeyType`, :class:`Curve`, :class:`KeyOp` (IANA registries)
* :class:`HeaderLabel` and the protected-header helpers
* :class:`CoseKey` (COSE_Key, PEM/DER/JWK import and export)
* :func:`sign1` / :class:`Sign1Message`, :func:`sign` / :class:`SignMessage` (RFC 9052 §4)
* :func:`mac0` / :class:`Mac0Message`, :func:`mac` / :class:`MacMessage` (RFC 9052 §6)
* :func:`encrypt0` / :class:`Encrypt0Message`, :func:`encrypt` / :class:`EncryptMessage` (§5)
"""

from __future__ import annotations

from iotsec.core.cose.algorithms import (
    ALGORITHMS,
    AlgInfo,
    AlgKind,
    Algorithm,
    Curve,
    KeyOp,
    KeyType,
    alg_from_name,
    alg_info,
)
from iotsec.core.cose.encrypt import EncryptMessage, encrypt
from iotsec.core.cose.encrypt0 import Encrypt0Message, encrypt0
from iotsec.core.cose.headers import (
    HeaderLabel,
    HeaderMap,
    decode_protected,
    encode_protected,
    header_name,
)
from iotsec.core.cose.key import CoseKey
from iotsec.core.cose.mac import Mac0Message, MacMessage, mac, mac0
from iotsec.core.cose.sign import Sign1Message, Signature, Signer, SignMessage, sign, sign1

__all__ = [
    "ALGORITHMS",
    "AlgInfo",
    "AlgKind",
    "Algorithm",
    "CoseKey",
    "Curve",
    "Encrypt0Message",
    "EncryptMessage",
    "HeaderLabel",
    "HeaderMap",
    "KeyOp",
    "KeyType",
    "Mac0Message",
    "MacMessage",
    "Sign1Message",
    "SignMessage",
    "Signature",
    "Signer",
    "alg_from_name",
    "alg_info",
    "decode_protected",
    "encode_protected",
    "encrypt",
    "encrypt0",
    "header_name",
    "mac",
    "mac0",
    "sign",
    "sign1",
]

# -- COSE encryption extras: recipients, COSE_KDF_Context inputs, detached ciphertexts (RFC 9052 §5,
#    RFC 9053 §5-§6); see docs/cose-encryption.md
from iotsec.core.cose.encrypt import encrypt_detached
from iotsec.core.cose.encrypt0 import encrypt0_detached
from iotsec.core.cose.kdf import SUIT_PAYLOAD_ENCRYPTION, PartyInfo
from iotsec.core.cose.recipient import KdfParams, Recipient, RecipientSpec, derive_cek

__all__ += [
    "SUIT_PAYLOAD_ENCRYPTION",
    "KdfParams",
    "PartyInfo",
    "Recipient",
    "RecipientSpec",
    "derive_cek",
    "encrypt0_detached",
    "encrypt_detached",
]
