"""Verification of RFC 8152 (version 1) counter signatures, header label 7 (RFC 8152 §4.5).

RFC 9338 obsoletes them (version 2, labels 11/12, a different structure); they still appear in
the RFC 8152 examples (appendix C.1.3), so the reading side is kept. The to-be-signed bytes are
``["CounterSignature", body_protected, sign_protected, external_aad, payload]``: the
countersignature covers the protected bucket and payload of the layer that carries it.
"""

from __future__ import annotations

from typing import Any, Protocol

from iotsec.core.cose import _sig
from iotsec.core.cose._common import (
    check_aad,
    kids_differ,
    layer_headers,
    protected_for_structure,
    resolve_alg,
    structure,
)
from iotsec.core.cose.algorithms import AlgKind, alg_info
from iotsec.core.cose.headers import HeaderLabel, HeaderMap
from iotsec.core.cose.key import CoseKey
from iotsec.core.cose.sign import Signature
from iotsec.errors import IotSecError, ValidationError, VerifyError


class _Layer(Protocol):
    protected: HeaderMap
    protected_bytes: bytes
    unprotected: HeaderMap
    payload: bytes | None


def countersignatures(layer: _Layer) -> list[Signature]:
    """The v1 countersignatures (label 7) of a message layer; ``[]`` if none."""
    value: Any = layer.unprotected.get(
        HeaderLabel.COUNTER_SIGNATURE, layer.protected.get(HeaderLabel.COUNTER_SIGNATURE)
    )
    if value is None:
        return []
    if not isinstance(value, list) or not value:
        raise ValidationError(
            "counter signature must be a COSE_Signature or an array of them", reason="cose.countersignature"
        )
    items = [value] if not isinstance(value[0], list) else value
    out = []
    for i, s in enumerate(items):
        path = ("counter signature", i)
        if not isinstance(s, list) or len(s) != 3 or not isinstance(s[2], bytes):
            raise ValidationError(
                "COSE_Signature must be [protected, unprotected, signature]",
                reason="cose.countersignature",
                path=path,
            )
        p, pb, u = layer_headers(s[0], s[1], path)
        out.append(Signature(p, pb, u, s[2]))
    return out


def verify_countersignature(
    layer: _Layer, key: CoseKey, external_aad: bytes = b"", detached_payload: bytes | None = None
) -> Signature:
    """Verify the v1 countersignature made by ``key`` (matched by kid) on ``layer``; return it."""
    payload = layer.payload if layer.payload is not None else detached_payload
    if payload is None:
        raise ValidationError("payload is detached: pass detached_payload", reason="cose.payload.detached")
    last: IotSecError | None = None
    for cs in countersignatures(layer):
        if kids_differ(key.kid, cs.kid):
            continue
        alg = resolve_alg(cs.protected, cs.unprotected, allow_unprotected_alg=False, critical=())
        tbs = structure(
            "CounterSignature",
            protected_for_structure(layer.protected, layer.protected_bytes),
            protected_for_structure(cs.protected, cs.protected_bytes),
            check_aad(external_aad),
            payload,
        )
        try:
            _sig.verify(alg_info(alg, kind=AlgKind.SIGNATURE), key, tbs, cs.signature)
            return cs
        except (VerifyError, ValidationError) as exc:
            last = exc
    if last is not None:
        raise last
    raise VerifyError("no counter signature made by this key", reason="cose.countersignature.nomatch")


__all__ = ["countersignatures", "verify_countersignature"]
