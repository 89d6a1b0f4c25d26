"""COSE header parameters (RFC 9052 §3).

* :class:`HeaderLabel`: IANA "COSE Header Parameters" registry (labels stay ints when unknown).
* :func:`encode_protected` / :func:`decode_protected`: the protected bucket, a bstr holding a
  CBOR map; an empty map is a zero-length bstr (RFC 9052 §3), and ``h'a0'`` is accepted too.
* :func:`check_buckets`: the structural rules of §3 and §3.1 (label types, no label in both
  buckets, value types of the common parameters, ``crit`` well-formed and protected).
* :func:`check_crit`: refuse a message whose ``crit`` lists a label that the caller does not
  process (§3.1: "the recipient MUST fail processing").
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import IntEnum
from typing import Any

from iotsec.core import cbor
from iotsec.errors import DecodeError, UnsupportedError, ValidationError

HeaderMap = dict[Any, Any]


class HeaderLabel(IntEnum):
    """IANA "COSE Header Parameters" registry (RFC 9052 §3.1, RFC 9053 §6, RFC 9338, RFC 9360)."""

    ALG = 1
    CRIT = 2
    CONTENT_TYPE = 3
    KID = 4
    IV = 5
    PARTIAL_IV = 6
    COUNTER_SIGNATURE = 7  # RFC 8152 (v1), obsoleted by RFC 9338
    COUNTER_SIGNATURE0 = 9
    KID_CONTEXT = 10  # RFC 8613
    COUNTER_SIGNATURE_V2 = 11  # RFC 9338
    COUNTER_SIGNATURE0_V2 = 12
    KCWT = 13  # RFC 9528
    KCCS = 14
    CWT_CLAIMS = 15  # RFC 9597
    TYP = 16  # RFC 9596
    X5BAG = 32  # RFC 9360
    X5CHAIN = 33
    X5T = 34
    X5U = 35
    # RFC 9053 §6.3.1 / §6.4 (ECDH) and §5.1 (COSE_KDF_Context party info)
    EPHEMERAL_KEY = -1
    STATIC_KEY = -2
    STATIC_KEY_ID = -3
    SALT = -20
    PARTY_U_IDENTITY = -21
    PARTY_U_NONCE = -22
    PARTY_U_OTHER = -23
    PARTY_V_IDENTITY = -24
    PARTY_V_NONCE = -25
    PARTY_V_OTHER = -26


_NAMES: dict[int, str] = {
    HeaderLabel.ALG: "alg",
    HeaderLabel.CRIT: "crit",
    HeaderLabel.CONTENT_TYPE: "content type",
    HeaderLabel.KID: "kid",
    HeaderLabel.IV: "IV",
    HeaderLabel.PARTIAL_IV: "Partial IV",
    HeaderLabel.COUNTER_SIGNATURE: "counter signature",
    HeaderLabel.COUNTER_SIGNATURE0: "CounterSignature0",
    HeaderLabel.KID_CONTEXT: "kid context",
    HeaderLabel.COUNTER_SIGNATURE_V2: "Countersignature version 2",
    HeaderLabel.COUNTER_SIGNATURE0_V2: "Countersignature0 version 2",
    HeaderLabel.KCWT: "kcwt",
    HeaderLabel.KCCS: "kccs",
    HeaderLabel.CWT_CLAIMS: "CWT Claims",
    HeaderLabel.TYP: "typ",
    HeaderLabel.X5BAG: "x5bag",
    HeaderLabel.X5CHAIN: "x5chain",
    HeaderLabel.X5T: "x5t",
    HeaderLabel.X5U: "x5u",
    HeaderLabel.EPHEMERAL_KEY: "ephemeral key",
    HeaderLabel.STATIC_KEY: "static key",
    HeaderLabel.STATIC_KEY_ID: "static key id",
    HeaderLabel.SALT: "salt",
    HeaderLabel.PARTY_U_IDENTITY: "PartyU identity",
    HeaderLabel.PARTY_U_NONCE: "PartyU nonce",
    HeaderLabel.PARTY_U_OTHER: "PartyU other",
    HeaderLabel.PARTY_V_IDENTITY: "PartyV identity",
    HeaderLabel.PARTY_V_NONCE: "PartyV nonce",
    HeaderLabel.PARTY_V_OTHER: "PartyV other",
}

# Text spellings used by the COSE WG examples and by callers (``{"alg": ..., "kid": ...}``).
_BY_TEXT: dict[str, int] = {v.lower(): k for k, v in _NAMES.items()}
_BY_TEXT.update(
    {
        "ctyp": HeaderLabel.CONTENT_TYPE,
        "content_type": HeaderLabel.CONTENT_TYPE,
        "partial_iv": HeaderLabel.PARTIAL_IV,
        "epk": HeaderLabel.EPHEMERAL_KEY,
        "spk": HeaderLabel.STATIC_KEY,
        "spk_kid": HeaderLabel.STATIC_KEY_ID,
        "apu_id": HeaderLabel.PARTY_U_IDENTITY,
        "apu_nonce": HeaderLabel.PARTY_U_NONCE,
        "apu_other": HeaderLabel.PARTY_U_OTHER,
        "apv_id": HeaderLabel.PARTY_V_IDENTITY,
        "apv_nonce": HeaderLabel.PARTY_V_NONCE,
        "apv_other": HeaderLabel.PARTY_V_OTHER,
    }
)

#: Labels whose semantics this package itself processes, so ``crit`` may list them (RFC 9052
#: §3.1). Others (x5chain, CWT Claims, typ, countersignatures...) are the application's business:
#: it names the ones it processes in the ``critical=`` argument of ``verify``/``decrypt``.
UNDERSTOOD: frozenset[int] = frozenset(
    int(h)
    for h in (
        HeaderLabel.ALG,
        HeaderLabel.CRIT,
        HeaderLabel.CONTENT_TYPE,
        HeaderLabel.KID,
        HeaderLabel.IV,
        HeaderLabel.PARTIAL_IV,
        HeaderLabel.EPHEMERAL_KEY,
        HeaderLabel.STATIC_KEY,
        HeaderLabel.STATIC_KEY_ID,
        HeaderLabel.SALT,
        HeaderLabel.PARTY_U_IDENTITY,
        HeaderLabel.PARTY_U_NONCE,
        HeaderLabel.PARTY_U_OTHER,
        HeaderLabel.PARTY_V_IDENTITY,
        HeaderLabel.PARTY_V_NONCE,
        HeaderLabel.PARTY_V_OTHER,
    )
)


def header_name(label: object) -> str:
    """Registry name of a header label (``alg``, ``Partial IV``); other labels as themselves."""
    if isinstance(label, int) and not isinstance(label, bool) and label in _NAMES:
        return _NAMES[label]
    return str(label)


def label_from_name(name: str) -> int | str:
    """Map ``"alg"``, ``"kid"``, ``"content type"``... to the integer label; other text stays text."""
    return _BY_TEXT.get(name.strip().lower(), name)


def encode_protected(headers: Mapping[Any, Any] | None) -> bytes:
    """Serialize the protected bucket: ``b""`` for no parameters (RFC 9052 §3), else a CBOR map."""
    if not headers:
        return b""
    from iotsec.core.cose._fast import encode_simple_map

    m = dict(headers)
    enc = encode_simple_map(m)
    return enc if enc is not None else cbor.dumps(m)


def decode_protected(data: object, *, path: tuple[str | int, ...] = ()) -> HeaderMap:
    """Parse the protected bucket (``empty_or_serialized_map``, RFC 9052 §3).

    Recipients accept both a zero-length bstr and a bstr holding an empty map (``h'a0'``).
    """
    if not isinstance(data, bytes):
        raise ValidationError(
            "protected header bucket must be a byte string", reason="cose.header.protected_type", path=path
        )
    if not data:
        return {}
    try:
        value = cbor.loads(data, max_depth=32)
    except DecodeError as exc:
        raise ValidationError(
            f"protected header bucket is not CBOR: {exc}", reason="cose.header.protected_cbor", path=path
        ) from exc
    if not isinstance(value, dict):
        raise ValidationError(
            "protected header bucket must hold a CBOR map", reason="cose.header.protected_type", path=path
        )
    if len(value) != _map_count(data):
        # labels that differ in CBOR but are equal in Python (1, true, 1.0) would silently merge:
        # refuse, so that no two verifiers can read different protected headers from one message
        raise ValidationError(
            "protected header bucket has colliding labels", reason="cose.header.duplicate", path=path
        )
    return value


def _map_count(data: bytes) -> int:
    """Number of entries announced by a definite-length map head; -1 for indefinite length."""
    info = data[0] & 0x1F
    if info < 24:
        return info
    if info <= 27:
        return int.from_bytes(data[1 : 1 + (1 << (info - 24))], "big")
    return -1  # indefinite length: refused by the caller (its entries cannot be counted here)


def _is_label(x: object) -> bool:
    return type(x) is int or isinstance(x, str) or (isinstance(x, int) and not isinstance(x, bool))


def _is_uint_or_tstr(v: object) -> bool:
    return isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool) and v >= 0)


def _is_bstr(v: object) -> bool:
    return isinstance(v, bytes)


def _is_crit(v: object) -> bool:
    return isinstance(v, list) and bool(v) and all(_is_label(x) for x in v)


# RFC 9052 §3.1 table 3: value types of the common header parameters
_VALUE_CHECKS: dict[int, tuple[Any, str, str]] = {
    1: (_is_label, "alg must be int or tstr", "cose.header.alg"),
    2: (_is_crit, "crit must be a non-empty array of labels", "cose.header.crit"),
    3: (_is_uint_or_tstr, "content type must be uint or tstr", "cose.header.content_type"),
    4: (_is_bstr, "kid must be a bstr", "cose.header.bstr"),
    5: (_is_bstr, "IV must be a bstr", "cose.header.bstr"),
    6: (_is_bstr, "Partial IV must be a bstr", "cose.header.bstr"),
}


def _check_values(headers: Mapping[Any, Any], path: tuple[str | int, ...], bucket: str) -> None:
    """Labels are int/tstr; the common parameters have the right value types (RFC 9052 §3.1).

    Errors carry ``(*path, bucket)`` (built only then: this runs for every decoded layer).
    """
    for label, value in headers.items():
        if type(label) is not int and not _is_label(label):
            raise ValidationError(
                f"header label {label!r} is neither int nor tstr",
                reason="cose.header.label",
                path=(*path, bucket),
            )
        check = _VALUE_CHECKS.get(label)
        if check is not None and not check[0](value):
            raise ValidationError(check[1], reason=check[2], path=(*path, bucket, header_name(label)))


def check_buckets(
    protected: Mapping[Any, Any], unprotected: object, *, path: tuple[str | int, ...] = ()
) -> HeaderMap:
    """Check one layer's two buckets (RFC 9052 §3, §3.1); return ``unprotected`` as a dict."""
    if not isinstance(unprotected, dict):
        raise ValidationError(
            "unprotected header bucket must be a map", reason="cose.header.unprotected_type", path=path
        )
    if protected:
        _check_values(protected, path, "protected")
    if unprotected:
        _check_values(unprotected, path, "unprotected")
        # §3: "Labels in each of the maps MUST be unique ... MUST NOT occur in both"
        both = [k for k in protected if k in unprotected]
        if both:
            raise ValidationError(
                f"header label(s) {sorted(map(str, both))} in both buckets",
                reason="cose.header.duplicate",
                path=path,
            )
    if 2 in unprotected:  # §3.1 crit: "MUST be placed in the protected bucket"
        raise ValidationError(
            "crit must be a protected header parameter", reason="cose.header.crit_unprotected", path=path
        )
    crit = protected.get(2)
    if crit is not None:
        missing = [x for x in crit if x not in protected]
        if missing:  # §3.1: the listed labels are present in the protected bucket
            raise ValidationError(
                f"crit lists label(s) {missing} absent from the protected bucket",
                reason="cose.header.crit_absent",
                path=path,
            )
    # §3.1 "IV" / "Partial IV": not both
    if (5 in protected or 5 in unprotected) and (6 in protected or 6 in unprotected):
        raise ValidationError(
            "IV and Partial IV must not both be present", reason="cose.header.iv_both", path=path
        )
    return unprotected


def check_crit(
    protected: Mapping[Any, Any], understood: Collection[int | str] = (), *, path: tuple[str | int, ...] = ()
) -> None:
    """Fail on a critical label outside :data:`UNDERSTOOD` and ``understood`` (RFC 9052 §3.1)."""
    crit = protected.get(HeaderLabel.CRIT)
    if not crit:
        return
    unknown = [x for x in crit if x not in UNDERSTOOD and x not in understood]
    if unknown:
        raise UnsupportedError(
            f"critical header parameter(s) not understood: {unknown}", reason="cose.header.crit_unknown"
        )


def normalize_headers(headers: Mapping[Any, Any] | None) -> HeaderMap:
    """Accept caller-friendly header maps: text names (``"kid"``) become labels, enums become ints.

    ``alg`` given as an :class:`~iotsec.core.cose.algorithms.Algorithm` or a text name is encoded
    as its integer; bytes-like ``kid`` given as ``str`` is UTF-8 encoded.
    """
    from iotsec.core.cose.algorithms import alg_from_name

    out: HeaderMap = {}
    for k, value in (headers or {}).items():
        v = value
        label = label_from_name(k) if isinstance(k, str) else k
        if isinstance(label, IntEnum):
            label = int(label)
        if label == HeaderLabel.ALG and isinstance(v, str):
            v = int(alg_from_name(v))
        elif isinstance(v, IntEnum):
            v = int(v)
        if label in (HeaderLabel.KID, HeaderLabel.PARTIAL_IV, HeaderLabel.IV) and isinstance(v, str):
            v = v.encode()
        out[label] = v
    return out


__all__ = [
    "UNDERSTOOD",
    "HeaderLabel",
    "HeaderMap",
    "check_buckets",
    "check_crit",
    "decode_protected",
    "encode_protected",
    "header_name",
    "label_from_name",
    "normalize_headers",
]
