"""COSE_Encrypt0: one layer, the key is implied (RFC 9052 §5.2).

```python
data = encrypt0(b"hello", key, alg=Algorithm.A128GCM)             # tagged, random IV
msg = Encrypt0Message.decode(data)
plaintext = msg.decrypt(key, external_aad=b"")                      # VerifyError if tampered
```
"""

from __future__ import annotations

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
    as_alg,
    build_headers,
    content_key,
    decode_layer,
    encode_layer,
    open_layer,
    pick_ciphertext,
    seal_layer,
)
from iotsec.core.cose.headers import HeaderLabel
from iotsec.core.cose.key import CoseKey

H = HeaderLabel


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
    return seal_layer(
        spec, key, ENCRYPT0, plaintext, protected, unprotected, external_aad, iv, partial_iv, base_iv
    )


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
        spec, nonce, aad = open_layer(
            self.layer, ENCRYPT0, key, external_aad, base_iv, allow_unprotected_alg, allow_unauthenticated
        )
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
