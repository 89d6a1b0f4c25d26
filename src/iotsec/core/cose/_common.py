"""Shared pieces of the COSE message codecs (RFC 9052 §2, §4.4, §6.3).

The to-be-signed / to-be-MACed structures are arrays of text and byte strings only, so they are
built here by concatenating CBOR heads instead of going through a generic encoder: this is the
hot path of verification and the bytes are identical to the deterministic encoding.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from iotsec.core import cbor
from iotsec.core.cose._fast import encode_simple_map, four_items, head, protected_map
from iotsec.core.cose.algorithms import Algorithm, coerce_alg
from iotsec.core.cose.headers import (
    HeaderMap,
    check_buckets,
    check_crit,
    decode_protected,
    encode_protected,
    normalize_headers,
)
from iotsec.errors import DecodeError, ValidationError

# RFC 9052 §2 table 1: CBOR tags of the COSE messages
TAG_SIGN = 98
TAG_SIGN1 = 18
TAG_ENCRYPT = 96
TAG_ENCRYPT0 = 16
TAG_MAC = 97
TAG_MAC0 = 17
COSE_TAGS = {
    TAG_SIGN: "COSE_Sign",
    TAG_SIGN1: "COSE_Sign1",
    TAG_ENCRYPT: "COSE_Encrypt",
    TAG_ENCRYPT0: "COSE_Encrypt0",
    TAG_MAC: "COSE_Mac",
    TAG_MAC0: "COSE_Mac0",
}

_TSTR_CACHE: dict[str, bytes] = {}


def bstr(b: bytes) -> bytes:
    """CBOR encoding of a byte string."""
    return head(2, len(b)) + b


def tstr(s: str) -> bytes:
    """CBOR encoding of a (short, constant) text string, cached."""
    enc = _TSTR_CACHE.get(s)
    if enc is None:
        raw = s.encode()
        enc = _TSTR_CACHE[s] = head(3, len(raw)) + raw
    return enc


_PREFIX: dict[tuple[str, int], bytes] = {}


def structure(context: str, *fields: bytes) -> bytes:
    """Encode ``[context, bstr, bstr, ...]`` (Sig_structure §4.4, MAC_structure §6.3)."""
    prefix = _PREFIX.get((context, len(fields)))
    if prefix is None:
        prefix = _PREFIX[(context, len(fields))] = head(4, len(fields) + 1) + tstr(context)
    parts = [prefix]
    for f in fields:
        n = len(f)
        parts.append(_BSTR_HEADS[n] if n < 0x100 else head(2, n))
        parts.append(f)
    return b"".join(parts)


_BSTR_HEADS = tuple(head(2, n) for n in range(0x100))  # heads of the byte strings under 256 bytes

# the array head and context of the four-item structures (RFC 9052 §4.4 Sig_structure of a
# COSE_Sign1, §6.3 MAC_structure): [context, protected, external_aad, payload]
SIGNATURE1 = head(4, 4) + tstr("Signature1")
MAC0 = head(4, 4) + tstr("MAC0")
MAC = head(4, 4) + tstr("MAC")


def layer_structure(
    prefix: bytes,
    protected: bytes,
    payload: bytes | None,
    external_aad: bytes,
    detached_payload: bytes | None,
) -> bytes:
    """``[context, protected, external_aad, payload]`` (``prefix``: :data:`SIGNATURE1`, :data:`MAC0`
    or :data:`MAC`), the same bytes as :func:`structure`, unrolled: the verification hot path.

    ``protected`` is the field as :func:`protected_for_structure` gives it. The payload is the
    attached one or ``detached_payload`` (:func:`detached_or_attached`, checked before the external
    AAD, which goes through :func:`check_aad` unless it is bytes).
    """
    if detached_payload is None and payload is not None:
        body = payload  # attached (what detached_or_attached returns for it)
    elif payload is None and type(detached_payload) is bytes:
        body = detached_payload  # detached, supplied as bytes
    else:
        body = detached_or_attached(payload, detached_payload)  # the checks and their errors
    if type(external_aad) is not bytes:
        external_aad = check_aad(external_aad)
    n, a, p = len(protected), len(external_aad), len(body)
    return b"".join(
        (
            prefix,
            _BSTR_HEADS[n] if n < 0x100 else head(2, n),
            protected,
            _BSTR_HEADS[a] if a < 0x100 else head(2, a),
            external_aad,
            _BSTR_HEADS[p] if p < 0x100 else head(2, p),
            body,
        )
    )


def sig1_structure(protected: bytes, external_aad: bytes, payload: bytes) -> bytes:
    """``structure("Signature1", protected, external_aad, payload)`` (RFC 9052 §4.4), unrolled."""
    return layer_structure(SIGNATURE1, protected, payload, external_aad, None)


def protected_for_structure(protected: HeaderMap, protected_bytes: bytes) -> bytes:
    """RFC 9052 §4.4/§6.3: the bytes as transmitted, but a zero-length bstr for an empty map.

    (RFC 9052 §3 lets a sender encode "no protected headers" as ``h'a0'``; the structures use
    ``h''`` then, which is what the cose-wg "Redo protected" vectors exercise.)
    """
    return protected_bytes if protected else b""


def unwrap_tag(item: Any, tag: int, name: str) -> tuple[Any, bool]:
    """Strip the COSE tag if present; refuse another COSE message tag or any other tag."""
    if isinstance(item, cbor.CBORTag):
        if item.tag != tag:
            other = COSE_TAGS.get(item.tag)
            what = f"a {other}" if other else f"tag {item.tag}"
            raise ValidationError(f"expected {name}, got {what}", reason="cose.tag")
        return item.value, True
    return item, False


def decode_array(data: bytes, tag: int, name: str, length: int) -> tuple[list[Any], bool]:
    """Decode CBOR ``data`` as a (tagged or untagged) COSE message array of ``length`` items."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DecodeError(f"{name} must be bytes", reason="cose.type")
    item, tagged = unwrap_tag(cbor.loads(data), tag, name)
    if not isinstance(item, list) or len(item) != length:
        raise ValidationError(f"{name} must be an array of {length} items", reason="cose.structure")
    return item, tagged


def detached_or_attached(payload: bytes | None, detached_payload: bytes | None) -> bytes:
    """RFC 9052 §2: a nil payload is detached and must be supplied by the application; an attached
    one must not be supplied twice."""
    if payload is None:
        if detached_payload is None:
            raise ValidationError(
                "payload is detached: pass detached_payload", reason="cose.payload.detached"
            )
        if not isinstance(detached_payload, (bytes, bytearray, memoryview)):
            raise ValidationError("detached_payload must be bytes", reason="cose.payload")
        return bytes(detached_payload)
    if detached_payload is not None:
        raise ValidationError(
            "the message carries its payload; detached_payload must be None", reason="cose.payload.both"
        )
    return payload


def encode_message(items: list[Any], tag: int, tagged: bool) -> bytes:
    """A COSE message array, wrapped in its CBOR tag when ``tagged``."""
    return cbor.dumps(cbor.tag(tag, items) if tagged else items)


def encode_map(m: HeaderMap) -> bytes:
    """Deterministic CBOR of a header map (fast for the usual small maps)."""
    enc = encode_simple_map(m)
    return enc if enc is not None else cbor.dumps(m)


def encode_four(
    tag: int, tagged: bool, prot_bytes: bytes, unprot: HeaderMap, *, payload: bytes | None, last: bytes
) -> bytes:
    """Encode ``[bstr, map, bstr / nil, bstr]`` (COSE_Sign1, COSE_Mac0) without a generic encoder."""
    return b"".join(
        (
            head(6, tag) if tagged else b"",
            b"\x84",
            bstr(prot_bytes),
            encode_map(unprot),
            b"\xf6" if payload is None else bstr(payload),
            bstr(last),
        )
    )


def fast_four(
    data: object, tag_byte: int
) -> tuple[bool, HeaderMap, bytes, HeaderMap, bytes | None, bytes] | None:
    """Strict fast path for a 4-item COSE message (see :mod:`._fast`); None means "use the general one"."""
    if type(data) is not bytes or len(data) > cbor.DEFAULT_MAX_SIZE:
        return None
    r = four_items(data, tag_byte)
    if r is None:
        return None
    tagged, prot_bytes, unprot, payload, last = r
    protected = protected_map(prot_bytes) if prot_bytes else {}
    if protected is None:
        return None
    if unprot or len(protected) != 1 or type(protected.get(1)) is not int:
        # ({alg: int}, {}) passes every check: the fast path's keys are ints by construction
        check_buckets(protected, unprot)
    return tagged, protected, prot_bytes, unprot, payload, last


def decode_four(
    data: bytes, tag_byte: int, tag: int, name: str, last: str
) -> tuple[bool, HeaderMap, bytes, HeaderMap, bytes | None, bytes]:
    """A COSE_Sign1 or COSE_Mac0 (RFC 9052 §4.2, §6.2): ``[protected, unprotected, payload / nil,
    last]`` with ``last`` (the signature or the tag) a byte string; typed errors only. Returns
    ``(tagged, protected, protected_bytes, unprotected, payload, last)``."""
    fast = fast_four(data, tag_byte)
    if fast is not None:
        return fast
    item, tagged, protected, prot_bytes, unprotected, payload = decode_body(data, tag, name, 4)
    return tagged, protected, prot_bytes, unprotected, payload, byte_field(item[3], last)


def decode_body(
    data: bytes, tag: int, name: str, length: int
) -> tuple[list[Any], bool, HeaderMap, bytes, HeaderMap, bytes | None]:
    """The general decoding of a COSE_Sign1/Sign/Mac0/Mac (RFC 9052 §4, §6): the message array of
    ``length`` items, its header buckets and payload. Returns ``(array, tagged, protected,
    protected_bytes, unprotected, payload)``; the caller checks the items after the payload."""
    item, tagged = decode_array(data, tag, name, length)
    protected, prot_bytes, unprotected = layer_headers(item[0], item[1], ())
    return item, tagged, protected, prot_bytes, unprotected, payload_field(item[2], ("payload",))


def byte_field(value: object, name: str) -> bytes:
    """A message item that must be a byte string (the signature, the tag)."""
    if not isinstance(value, bytes):
        raise ValidationError(f"{name} must be a byte string", reason="cose.structure", path=(name,))
    return value


def nonempty_array(value: object, name: str) -> list[Any]:
    """A message item that must be a non-empty array (``[+ COSE_Signature]``, ``[+ COSE_recipient]``)."""
    if not isinstance(value, list) or not value:
        raise ValidationError(f"{name} must be a non-empty array", reason="cose.structure", path=(name,))
    return value


def four_from_item(item: object) -> tuple[HeaderMap, bytes, HeaderMap, bytes | None, bytes] | None:
    """:func:`fast_four` for a message whose CBOR is already decoded.

    ``item`` is the content of the message's tag as :func:`iotsec.core.deterministic.loads`
    returns it for bytes of at most ``cbor.DEFAULT_MAX_SIZE`` with the one-byte tag head. For the
    items whose encoding :mod:`._fast` accepts, the result is what :func:`fast_four` returns for
    those bytes; anything else returns None (then decode the bytes).
    """
    if type(item) is not list or len(item) != 4:
        return None
    prot_bytes, unprot, payload, last = item
    if (
        type(prot_bytes) is not bytes
        or type(unprot) is not dict
        or type(last) is not bytes
        or (payload is not None and type(payload) is not bytes)
    ):
        return None
    if unprot:  # the maps simple_map reads: small-int labels to 64-bit ints or byte strings
        if len(unprot) >= 24:
            return None
        for k, v in unprot.items():
            if type(k) is not int or not -24 <= k < 24:
                return None
            if type(v) is not bytes and (type(v) is not int or not -(2**64) <= v < 2**64):
                return None
    protected = protected_map(prot_bytes) if prot_bytes else {}
    if protected is None:
        return None
    if unprot or len(protected) != 1 or type(protected.get(1)) is not int:
        check_buckets(protected, unprot)
    return protected, prot_bytes, unprot, payload, last


def layer_headers(
    prot_bytes: object, unprotected: object, path: tuple[str | int, ...]
) -> tuple[HeaderMap, bytes, HeaderMap]:
    """Decode and check one layer's header buckets (RFC 9052 §3)."""
    protected = decode_protected(prot_bytes, path=(*path, "protected"))
    unprot = check_buckets(protected, unprotected, path=path)
    assert isinstance(prot_bytes, bytes)
    return protected, prot_bytes, unprot


def payload_field(value: object, path: tuple[str | int, ...] = ()) -> bytes | None:
    """A payload / ciphertext field: bstr, or nil when detached (RFC 9052 §2)."""
    if value is None or isinstance(value, bytes):
        return value
    raise ValidationError("payload must be a byte string or nil", reason="cose.payload", path=path)


def resolve_alg(
    protected: HeaderMap,
    unprotected: HeaderMap,
    *,
    allow_unprotected_alg: bool,
    critical: Collection[int | str],
) -> Algorithm | int | str:
    """The algorithm of a layer (the raw header value), from the protected bucket only (RFC 9052 §3.1).

    ``allow_unprotected_alg=True`` also accepts an unprotected ``alg`` (some cose-wg examples
    put it there); never use it for messages from a peer. Also enforces ``crit`` (§3.1).
    """
    if 2 in protected:
        check_crit(protected, critical)
    if 1 in protected:
        return protected[1]  # type: ignore[no-any-return]
    if 1 in unprotected:
        if allow_unprotected_alg:
            return unprotected[1]  # type: ignore[no-any-return]
        raise ValidationError("alg is not in the protected header bucket", reason="cose.alg.unprotected")
    raise ValidationError("no alg header parameter", reason="cose.alg.missing")


def header(protected: HeaderMap, unprotected: HeaderMap, label: int) -> Any:
    """A header parameter from either bucket (protected first)."""
    if label in protected:
        return protected[label]
    return unprotected.get(label)


def check_aad(external_aad: object) -> bytes:
    """External AAD must be bytes (RFC 9052 §4.3)."""
    if not isinstance(external_aad, (bytes, bytearray, memoryview)):
        raise ValidationError("external_aad must be bytes", reason="cose.aad")
    return bytes(external_aad)


def check_payload(payload: object) -> bytes:
    """The payload given to a signing or MACing function, as bytes."""
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise ValidationError("payload must be bytes", reason="cose.payload")
    return bytes(payload)


def alg_value(a: object) -> Algorithm | int | str | None:
    """A header's ``alg`` as the messages' ``alg`` properties show it (None unless an int or text)."""
    if a is None or isinstance(a, bool) or not isinstance(a, (int, str)):
        return None
    return coerce_alg(a)


def kid_value(protected: HeaderMap, unprotected: HeaderMap) -> bytes | None:
    """The ``kid`` header parameter from either bucket, if a byte string."""
    kid = header(protected, unprotected, 4)
    return kid if isinstance(kid, bytes) else None


def kids_differ(key_kid: bytes | None, kid: bytes | None) -> bool:
    """True when a key and a signer both name a kid and the two differ: the signer is not a
    candidate for that key (RFC 9052 §3.1 kid)."""
    return key_kid is not None and kid is not None and kid != key_kid


def headers_for(
    alg: Algorithm,
    kid: bytes | None,
    protected: Mapping[Any, Any] | None,
    unprotected: Mapping[Any, Any] | None,
    what: str,
) -> tuple[HeaderMap, bytes, HeaderMap]:
    """The header buckets of a layer made with ``alg`` (``what``: "signing", "MAC"): ``alg`` in the
    protected bucket only (RFC 9052 §3.1), ``kid`` unprotected unless given. Returns ``(protected,
    protected_bytes, unprotected)``."""
    prot = normalize_headers(protected)
    unprot = normalize_headers(unprotected)
    if 1 in unprot:  # 1: alg, 4: kid (RFC 9052 §3.1)
        raise ValidationError("alg belongs in the protected bucket", reason="cose.alg.unprotected")
    if prot.setdefault(1, int(alg)) != alg:
        raise ValidationError(f"protected alg differs from the {what} algorithm", reason="cose.alg.mismatch")
    if kid is not None and 4 not in prot and 4 not in unprot:
        unprot[4] = kid
    check_buckets(prot, unprot)
    return prot, encode_protected(prot), unprot


__all__ = [
    "MAC",
    "MAC0",
    "SIGNATURE1",
    "alg_value",
    "byte_field",
    "check_payload",
    "decode_body",
    "headers_for",
    "kid_value",
    "kids_differ",
    "layer_structure",
    "nonempty_array",
    "detached_or_attached",
    "encode_message",
    "COSE_TAGS",
    "TAG_ENCRYPT",
    "TAG_ENCRYPT0",
    "TAG_MAC",
    "TAG_MAC0",
    "TAG_SIGN",
    "TAG_SIGN1",
    "bstr",
    "check_aad",
    "decode_array",
    "encode_four",
    "encode_map",
    "fast_four",
    "four_from_item",
    "head",
    "header",
    "layer_headers",
    "payload_field",
    "protected_for_structure",
    "resolve_alg",
    "sig1_structure",
    "structure",
    "tstr",
    "unwrap_tag",
]
