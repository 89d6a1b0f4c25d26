"""COSE (RFC 9052, RFC 9053, RFC 9864) on ``cryptography`` and :mod:`iotsec.core.cbor`.

The public API; private modules stay behind it:

* :class:`Algorithm`, :class:`KeyType`, :class:`Curve`, :class:`KeyOp` (IANA registries)
* :class:`HeaderLabel` and the protected-header helpers
* :class:`CoseKey` (COSE_Key, PEM/DER/JWK import and export)
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
from iotsec.core.cose.headers import (
    HeaderLabel,
    HeaderMap,
    decode_protected,
    encode_protected,
    header_name,
)
from iotsec.core.cose.key import CoseKey

__all__ = [
    "ALGORITHMS",
    "AlgInfo",
    "AlgKind",
    "Algorithm",
    "CoseKey",
    "Curve",
    "HeaderLabel",
    "HeaderMap",
    "KeyOp",
    "KeyType",
    "alg_from_name",
    "alg_info",
    "decode_protected",
    "encode_protected",
    "header_name",
]
