"""What COSE_Encrypt0 and COSE_Encrypt share (RFC 9052 §5): Enc_structure, IVs, the content layer.

Rules applied on decryption (the reasons are in docs/cose-encryption.md):

* The content algorithm is read from the protected bucket. An AEAD algorithm found only in the
  unprotected bucket is refused (``cose.alg.unprotected``) unless the caller passes
  ``allow_unprotected_alg=True`` (RFC 9052 allows it; the COSE WG examples use it).
* RFC 9459 AES-CTR/AES-CBC provide no integrity: they are refused unless the caller passes
  ``allow_unauthenticated=True``, which it may only do when an outer structure (a signed SUIT
  manifest with the image digest) authenticates the result. Their ``alg`` is necessarily
  unprotected: the protected bucket must be empty and there is no AAD (RFC 9459 §4, §5).
* IV (5) or Partial IV (6), never both (RFC 9052 §3.1); a Partial IV is left-padded with zeros
  and XORed into the base IV (from the argument or the COSE_Key's Base IV).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from iotsec.core import cbor
from iotsec.core.cose import ciphers
from iotsec.core.cose._common import encode_message, structure
from iotsec.core.cose._enc_fast import encrypt0_parts
from iotsec.core.cose._fast import protected_map
from iotsec.core.cose._keymat import key_base_iv, symmetric_secret
from iotsec.core.cose.algorithms import Algorithm, alg_label
from iotsec.core.cose.ciphers import CipherSpec, cipher_spec
from iotsec.core.cose.headers import (
    HeaderLabel,
    check_buckets,
    check_crit,
    decode_protected,
    encode_protected,
    normalize_headers,
)
from iotsec.core.cose.key import CoseKey
from iotsec.errors import DecodeError, UnsupportedError, ValidationError

H = HeaderLabel
_ALG = int(H.ALG)  # a plain int: enum attribute look-ups cost more (decryption path)
TAG_ENCRYPT0 = 16  # RFC 9052 §2 Table 1
TAG_ENCRYPT = 96

ENCRYPT0 = "Encrypt0"
ENCRYPT = "Encrypt"
ENC_RECIPIENT = "Enc_Recipient"
MAC_RECIPIENT = "Mac_Recipient"
REC_RECIPIENT = "Rec_Recipient"


def enc_structure(context: str, protected: bytes, external_aad: bytes = b"") -> bytes:
    """Encode the Enc_structure, the AAD of an AEAD layer (RFC 9052 §5.3).

    ``[context: tstr, protected: bstr, external_aad: bstr]``, encoded directly by
    :func:`iotsec.core.cose._common.structure` (the same bytes as :func:`iotsec.core.cbor.dumps`)
    because it sits on the hot path.
    """
    return structure(context, protected, external_aad)


def partial_iv_to_iv(partial_iv: bytes, base_iv: bytes) -> bytes:
    """RFC 9052 §3.1 Partial IV: left-pad with zeros to the base IV length and XOR with it."""
    if len(partial_iv) > len(base_iv):
        raise ValidationError("Partial IV is longer than the base IV", reason="cose.iv.partial")
    padded = bytes(len(base_iv) - len(partial_iv)) + partial_iv
    return bytes(a ^ b for a, b in zip(padded, base_iv, strict=True))


@dataclass
class ContentLayer:
    """The outer layer of a COSE_Encrypt0/COSE_Encrypt after structural checks."""

    protected: dict[Any, Any]
    protected_bytes: bytes
    unprotected: dict[Any, Any]
    ciphertext: bytes | memoryview | None  # a view into the input on the Encrypt0 fast path
    tagged: bool
    rest: list[Any]

    def header(self, label: int) -> Any:
        """A header parameter from either bucket (protected first)."""
        if label in self.protected:
            return self.protected[label]
        return self.unprotected.get(label)

    @property
    def aad_protected(self) -> bytes:
        """The protected field of the Enc_structure (RFC 9052 §5.3): "if there are no protected
        attributes, a zero-length byte string is used" -- also when the sender wrote ``h'a0'``."""
        return self.protected_bytes if self.protected else b""


class LayerView:
    """The content layer's fields as read-only properties, shared by the message classes."""

    layer: ContentLayer

    @property
    def protected(self) -> dict[Any, Any]:
        return self.layer.protected

    @property
    def protected_bytes(self) -> bytes:
        return self.layer.protected_bytes

    @property
    def unprotected(self) -> dict[Any, Any]:
        return self.layer.unprotected

    @property
    def ciphertext(self) -> bytes | None:
        """The ciphertext (with the tag for AEAD), None when detached."""
        ct = self.layer.ciphertext
        return bytes(ct) if ct is not None else None

    @property
    def tagged(self) -> bool:
        return self.layer.tagged

    @property
    def alg(self) -> Any:
        """``alg`` as found (protected first); not yet policed -- ``decrypt`` does that."""
        return self.layer.header(HeaderLabel.ALG)


def fast_protected(data: object, *, path: tuple[str | int, ...] = ()) -> dict[Any, Any]:
    """:func:`decode_protected`, with a shortcut for the usual small maps of int -> int/bstr."""
    if isinstance(data, bytes):
        m = protected_map(data)
        if m is not None:
            return m
    return decode_protected(data, path=path)


def decode_layer(data: bytes | object, *, tag: int, name: str, size: int) -> ContentLayer:
    """Decode ``data`` (bytes or an already-parsed item) as a tagged or untagged ``name``."""
    if tag == TAG_ENCRYPT0 and isinstance(data, bytes) and len(data) <= cbor.DEFAULT_MAX_SIZE:
        fast = encrypt0_parts(data)
        if fast is not None:
            tagged, prot_bytes, unprot, view = fast
            protected = fast_protected(prot_bytes, path=(0,))
            unprotected = check_buckets(protected, unprot)
            check_crit(protected)
            return ContentLayer(protected, prot_bytes, dict(unprotected), view, tagged, [])
    obj = cbor.loads(data) if isinstance(data, bytes) else data
    tagged = False
    if isinstance(obj, cbor.CBORTag):
        if obj.tag != tag:
            raise ValidationError(f"CBOR tag {obj.tag} is not the {name} tag {tag}", reason="cose.tag")
        obj, tagged = obj.value, True
    if not isinstance(obj, list) or len(obj) != size:
        raise ValidationError(f"{name} must be an array of {size} items", reason="cose.structure")
    protected = fast_protected(obj[0], path=(0,))
    unprotected = check_buckets(protected, obj[1])
    check_crit(protected)
    ct = obj[2]
    if ct is not None and not isinstance(ct, bytes):
        raise ValidationError("ciphertext must be bstr or nil", reason="cose.ciphertext", path=(2,))
    return ContentLayer(protected, obj[0], dict(unprotected), ct, tagged, obj[3:])


def content_spec(
    layer: ContentLayer, *, allow_unprotected_alg: bool, allow_unauthenticated: bool
) -> CipherSpec:
    """Resolve and police the content algorithm of a layer (see the module docstring)."""
    if _ALG in layer.protected:
        spec = cipher_spec(_int_alg(layer.protected[_ALG]))
        if not spec.aead:  # RFC 9459 §4/§5: protected must be empty with CTR/CBC
            raise ValidationError(
                f"{spec.name} requires an empty protected header", reason="cose.alg.protected"
            )
    elif _ALG in layer.unprotected:
        spec = cipher_spec(_int_alg(layer.unprotected[_ALG]))
        if spec.aead and not allow_unprotected_alg:
            raise ValidationError(
                "the content algorithm is not integrity protected", reason="cose.alg.unprotected"
            )
        if not spec.aead and layer.protected_bytes:
            raise ValidationError(
                f"{spec.name} requires an empty protected header", reason="cose.alg.protected"
            )
    else:
        raise ValidationError("no content algorithm (alg) header", reason="cose.alg.missing")
    if not spec.aead and not allow_unauthenticated:
        raise UnsupportedError(
            f"{spec.name} has no integrity protection; allowed only inside an authenticated structure",
            reason="cose.alg.unauthenticated",
        )
    return spec


def _int_alg(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise UnsupportedError(f"unsupported content algorithm {value!r}", reason="cose.alg.unsupported")


def layer_iv(
    layer: ContentLayer, spec: CipherSpec, *, base_iv: bytes | None, key: CoseKey | bytes | None
) -> bytes:
    """The IV of a layer: the IV header, or Partial IV combined with the base IV (RFC 9052 §3.1)."""
    iv = layer.header(H.IV)
    piv = layer.header(H.PARTIAL_IV)
    if iv is not None:
        return bytes(iv)
    if piv is not None:
        base = base_iv if base_iv is not None else (key_base_iv(key) if isinstance(key, CoseKey) else None)
        if base is None:
            raise ValidationError("Partial IV without a base IV", reason="cose.iv.base")
        if len(base) != spec.nonce_len:
            raise ValidationError("base IV has the wrong length", reason="cose.iv.length")
        return partial_iv_to_iv(bytes(piv), base)
    if base_iv is not None:
        return base_iv
    raise ValidationError("no IV header", reason="cose.iv.missing")


def content_key(key: CoseKey | bytes, spec: CipherSpec) -> bytes:
    """Raw key bytes for the content layer; the COSE_Key's alg (if any) must match."""
    if isinstance(key, bytes):
        return key
    if key.alg is not None and key.alg != spec.alg:  # int, Algorithm or (unregistered) text
        raise ValidationError(
            f"key is for {alg_label(key.alg)}, message uses {spec.name}", reason="cose.key.alg_mismatch"
        )
    return symmetric_secret(key)


def aad_for(spec: CipherSpec, context: str, protected: bytes, external_aad: bytes) -> bytes:
    """Enc_structure for AEAD; nothing for RFC 9459 ciphers (which refuse external AAD)."""
    if spec.aead:
        return enc_structure(context, protected, external_aad)
    if external_aad:
        raise ValidationError(f"{spec.name} cannot authenticate external AAD", reason="cose.aad.forbidden")
    return b""


def build_headers(  # noqa: PLR0917
    spec: CipherSpec,
    protected: Mapping[Any, Any] | None,
    unprotected: Mapping[Any, Any] | None,
    iv: bytes | None,
    partial_iv: bytes | None,
    base_iv: bytes | None,
) -> tuple[dict[Any, Any], dict[Any, Any], bytes]:
    """Headers of a content layer and the IV to use. AEAD ``alg`` goes protected; RFC 9459
    ciphers put it unprotected with an empty protected bucket (RFC 9459 §4, §5)."""
    prot = normalize_headers(protected)
    unprot = normalize_headers(unprotected)
    if spec.aead:
        prot[int(H.ALG)] = int(spec.alg)
    else:
        if prot:
            raise ValidationError(
                f"{spec.name} requires an empty protected header", reason="cose.alg.protected"
            )
        unprot[int(H.ALG)] = int(spec.alg)
    if partial_iv is not None:
        if base_iv is None:
            raise ValidationError("Partial IV without a base IV", reason="cose.iv.base")
        if len(base_iv) != spec.nonce_len:
            raise ValidationError("base IV has the wrong length", reason="cose.iv.length")
        unprot[int(H.PARTIAL_IV)] = partial_iv
        return prot, unprot, partial_iv_to_iv(partial_iv, base_iv)
    iv = iv if iv is not None else os.urandom(spec.nonce_len)
    unprot[int(H.IV)] = iv
    return prot, unprot, iv


def seal_layer(  # noqa: PLR0917 - private, mirrors encrypt0()'s and encrypt()'s parameters
    spec: CipherSpec,
    key: CoseKey | bytes,
    context: str,
    plaintext: bytes,
    protected: Mapping[Any, Any] | None,
    unprotected: Mapping[Any, Any] | None,
    external_aad: bytes,
    iv: bytes | None,
    partial_iv: bytes | None,
    base_iv: bytes | None,
) -> tuple[bytes, dict[Any, Any], bytes]:
    """Encrypt the content layer of a COSE_Encrypt0 or COSE_Encrypt (``context``, RFC 9052 §5.3)
    with ``key`` (:func:`content_key`): returns ``(protected bytes, unprotected map, ciphertext)``."""
    prot, unprot, nonce = build_headers(spec, protected, unprotected, iv, partial_iv, base_iv)
    prot_bytes = encode_protected(prot)
    k = content_key(key, spec)  # the key is checked before the AAD
    ct = ciphers.encrypt(spec.alg, k, nonce, plaintext, aad_for(spec, context, prot_bytes, external_aad))
    return prot_bytes, unprot, ct


def open_layer(  # noqa: PLR0917
    layer: ContentLayer,
    context: str,
    key: CoseKey | bytes | None,
    external_aad: bytes,
    base_iv: bytes | None,
    allow_unprotected_alg: bool,
    allow_unauthenticated: bool,
) -> tuple[CipherSpec, bytes, bytes]:
    """The policed content algorithm, the IV and the AAD (Enc_structure with ``context``) to decrypt
    ``layer``; ``key`` (the COSE_Key's Base IV) only serves a Partial IV without ``base_iv``."""
    spec = content_spec(
        layer, allow_unprotected_alg=allow_unprotected_alg, allow_unauthenticated=allow_unauthenticated
    )
    nonce = layer_iv(layer, spec, base_iv=base_iv, key=key)
    return spec, nonce, aad_for(spec, context, layer.aad_protected, external_aad)


def encode_layer(tag: int, items: list[Any], tagged: bool) -> bytes:
    """Encode a message array, tagged or not (:func:`iotsec.core.cose._common.encode_message`)."""
    return encode_message(items, tag, tagged)


def as_alg(alg: Algorithm | int | str) -> int:
    """Accept an :class:`Algorithm`, an int, or a name such as ``"A128GCM"``."""
    if isinstance(alg, str):
        from iotsec.core.cose.algorithms import alg_from_name

        return int(alg_from_name(alg))
    return int(alg)


def safe_decode(data: bytes) -> object:
    """``cbor.loads`` wrapped so that only :class:`DecodeError` leaves it."""
    try:
        return cbor.loads(data)
    except DecodeError:
        raise
    except (ValueError, TypeError, IndexError, KeyError) as exc:  # pragma: no cover - cbor.loads is strict
        raise DecodeError(f"malformed CBOR: {exc}", reason="cbor.malformed") from exc


def pick_ciphertext(layer: ContentLayer, detached: bytes | None) -> bytes | memoryview:
    """The attached ciphertext, or the detached one given by the caller (exactly one of them)."""
    if layer.ciphertext is not None:
        if detached is not None:
            raise ValidationError("ciphertext is both attached and detached", reason="cose.ciphertext.both")
        return layer.ciphertext
    if detached is None:
        raise ValidationError("ciphertext is detached and none was given", reason="cose.ciphertext.detached")
    return detached


__all__ = [
    "LayerView",
    "ENCRYPT",
    "ENCRYPT0",
    "ENC_RECIPIENT",
    "MAC_RECIPIENT",
    "REC_RECIPIENT",
    "TAG_ENCRYPT",
    "TAG_ENCRYPT0",
    "ContentLayer",
    "aad_for",
    "as_alg",
    "build_headers",
    "content_key",
    "content_spec",
    "decode_layer",
    "enc_structure",
    "fast_protected",
    "encode_layer",
    "layer_iv",
    "open_layer",
    "partial_iv_to_iv",
    "pick_ciphertext",
    "seal_layer",
]
