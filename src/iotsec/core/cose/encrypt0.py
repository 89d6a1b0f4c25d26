"""COSE_Encrypt0: one layer, the key is implied (RFC 9052 §5.2).

```python
data = encrypt0(b"hello", key, alg=Algorithm.A128GCM)             # tagged, random IV
msg = Encrypt0Message.decode(data)
plaintext = msg.decrypt(key, external_aad=b"")                      # VerifyError if tampered
```
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from iotsec.core.cose import ciphers
from iotsec.core.cose.algorithms import Algorithm
from iotsec.core.cose.ciphers import CipherSpec, StreamDecryptor, cipher_spec
from iotsec.core.cose.enc_common import (
    ENCRYPT0,
    TAG_ENCRYPT0,
    ContentLayer,
    LayerView,
    aad_for,
    as_alg,
    content_key,
    content_spec,
    decode_layer,
    encode_layer,
    layer_iv,
    partial_iv_to_iv,
    pick_ciphertext,
)
from iotsec.core.cose.headers import HeaderLabel, encode_protected, normalize_headers
from iotsec.core.cose.key import CoseKey
from iotsec.errors import ValidationError

H = HeaderLabel


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


def _encrypt0_parts(  # noqa: PLR0917 - private, mirrors encrypt0()'s parameters
    plaintext: bytes,
    key: CoseKey | bytes,
    alg: Algorithm | int | str,
    protected: Mapping[Any, Any] | None,
    unprotected: Mapping[Any, Any] | None,
    external_aad: bytes,
    iv: bytes | None,
    partial_iv: bytes | None,
    base_iv: bytes | None,
) -> tuple[bytes, dict[Any, Any], bytes]:
    spec = cipher_spec(as_alg(alg))
    if base_iv is None and isinstance(key, CoseKey):
        base_iv = key.base_iv
    prot, unprot, nonce = build_headers(spec, protected, unprotected, iv, partial_iv, base_iv)
    prot_bytes = encode_protected(prot)
    ct = ciphers.encrypt(
        spec.alg, content_key(key, spec), nonce, plaintext, aad_for(spec, ENCRYPT0, prot_bytes, external_aad)
    )
    return prot_bytes, unprot, ct


def encrypt0(
    plaintext: bytes,
    key: CoseKey | bytes,
    alg: Algorithm | int | str = Algorithm.A128GCM,
    *,
    protected: Mapping[Any, Any] | None = None,
    unprotected: Mapping[Any, Any] | None = None,
    external_aad: bytes = b"",
    tagged: bool = True,
    iv: bytes | None = None,
    partial_iv: bytes | None = None,
    base_iv: bytes | None = None,
) -> bytes:
    """Encrypt ``plaintext`` into a COSE_Encrypt0 (RFC 9052 §5.2, §5.3).

    The IV is random unless ``iv`` is given; with ``partial_iv`` the IV is derived from the base
    IV (``base_iv`` or the key's Base IV, RFC 9052 §3.1). Use :func:`encrypt0_detached` to carry
    the ciphertext separately.
    """
    prot_bytes, unprot, ct = _encrypt0_parts(
        plaintext, key, alg, protected, unprotected, external_aad, iv, partial_iv, base_iv
    )
    return encode_layer(TAG_ENCRYPT0, [prot_bytes, unprot, ct], tagged)


def encrypt0_detached(
    plaintext: bytes,
    key: CoseKey | bytes,
    alg: Algorithm | int | str = Algorithm.A128GCM,
    *,
    protected: Mapping[Any, Any] | None = None,
    unprotected: Mapping[Any, Any] | None = None,
    external_aad: bytes = b"",
    tagged: bool = True,
    iv: bytes | None = None,
    partial_iv: bytes | None = None,
    base_iv: bytes | None = None,
) -> tuple[bytes, bytes]:
    """Like :func:`encrypt0` with a detached (nil) ciphertext: returns ``(message, ciphertext)``."""
    prot_bytes, unprot, ct = _encrypt0_parts(
        plaintext, key, alg, protected, unprotected, external_aad, iv, partial_iv, base_iv
    )
    return encode_layer(TAG_ENCRYPT0, [prot_bytes, unprot, None], tagged), ct


@dataclass
class Encrypt0Message(LayerView):
    """A decoded COSE_Encrypt0. Nothing is decrypted until :meth:`decrypt`."""

    layer: ContentLayer

    @classmethod
    def decode(cls, data: bytes | object) -> Encrypt0Message:
        """Decode tagged (16) or untagged COSE_Encrypt0; ``DecodeError``/``ValidationError`` on bad input."""
        return cls(decode_layer(data, tag=TAG_ENCRYPT0, name="COSE_Encrypt0", size=3))

    @property
    def kid(self) -> bytes | None:
        kid = self.layer.header(H.KID)
        return kid if isinstance(kid, bytes) else None

    def _prepare(
        self,
        key: CoseKey | bytes,
        external_aad: bytes,
        base_iv: bytes | None,
        allow_unprotected_alg: bool,
        allow_unauthenticated: bool,
    ) -> tuple[CipherSpec, bytes, bytes, bytes]:
        spec = content_spec(
            self.layer,
            allow_unprotected_alg=allow_unprotected_alg,
            allow_unauthenticated=allow_unauthenticated,
        )
        nonce = layer_iv(self.layer, spec, base_iv=base_iv, key=key)
        aad = aad_for(spec, ENCRYPT0, self.layer.aad_protected, external_aad)
        return spec, content_key(key, spec), nonce, aad

    def decrypt(
        self,
        key: CoseKey | bytes,
        *,
        external_aad: bytes = b"",
        detached_ciphertext: bytes | None = None,
        base_iv: bytes | None = None,
        allow_unprotected_alg: bool = False,
        allow_unauthenticated: bool = False,
    ) -> bytes:
        """Decrypt with ``key`` (a Symmetric CoseKey or raw bytes); raise ``VerifyError`` if it fails."""
        spec, k, nonce, aad = self._prepare(
            key, external_aad, base_iv, allow_unprotected_alg, allow_unauthenticated
        )
        ct = pick_ciphertext(self.layer, detached_ciphertext)
        return ciphers.decrypt(spec.alg, k, nonce, ct, aad)

    def decryptor(
        self,
        key: CoseKey | bytes,
        *,
        external_aad: bytes = b"",
        base_iv: bytes | None = None,
        allow_unprotected_alg: bool = False,
        allow_unauthenticated: bool = False,
        total_length: int | None = None,
    ) -> StreamDecryptor:
        """A streaming decryptor (AES-GCM/AES-CTR) for a detached ciphertext; ``total_length`` (the
        ciphertext length with its tag, if known) avoids copying chunks. See :mod:`ciphers`."""
        spec, k, nonce, aad = self._prepare(
            key, external_aad, base_iv, allow_unprotected_alg, allow_unauthenticated
        )
        return ciphers.decryptor(spec.alg, k, nonce, aad, total_length=total_length)


__all__ = ["Encrypt0Message", "build_headers", "encrypt0", "encrypt0_detached"]
