"""COSE_Encrypt: content layer plus one or more recipients (RFC 9052 §5.1).

```python
data = encrypt(b"hello", [RecipientSpec(Algorithm.ECDH_ES_A128KW, bob_public)], alg=Algorithm.A128GCM)
msg = EncryptMessage.decode(data)
plaintext = msg.decrypt(bob_private)
```
A direct method (direct, direct+HKDF, ECDH-ES/SS + HKDF) must be the only recipient (RFC 9052
§8.5.1); key-wrap and ECDH + key-wrap recipients can be mixed and share a random CEK.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from iotsec.core.cbor import CBORTag
from iotsec.core.cose import ciphers
from iotsec.core.cose._fast import protected_map
from iotsec.core.cose._recipients import make_recipients
from iotsec.core.cose.algorithms import Algorithm
from iotsec.core.cose.ciphers import CipherSpec, StreamDecryptor, cipher_spec
from iotsec.core.cose.enc_common import (
    ENCRYPT,
    TAG_ENCRYPT,
    ContentLayer,
    LayerView,
    as_alg,
    content_spec,
    decode_layer,
    encode_layer,
    open_layer,
    pick_ciphertext,
    seal_layer,
)
from iotsec.core.cose.headers import HeaderLabel
from iotsec.core.cose.key import CoseKey
from iotsec.core.cose.recipient import (
    KdfParams,
    Recipient,
    RecipientSpec,
    try_recipients,
)
from iotsec.errors import ValidationError

H = HeaderLabel


def _encrypt_parts(  # noqa: PLR0917 - private, mirrors encrypt()'s parameters
    plaintext: bytes,
    recipients: Sequence[RecipientSpec],
    alg: Algorithm | int | str,
    protected: Mapping[Any, Any] | None,
    unprotected: Mapping[Any, Any] | None,
    external_aad: bytes,
    cek: bytes | None,
    iv: bytes | None,
    partial_iv: bytes | None,
    base_iv: bytes | None,
) -> tuple[bytes, dict[Any, Any], bytes, list[Recipient]]:
    spec = cipher_spec(as_alg(alg))
    if not recipients:
        raise ValidationError("COSE_Encrypt needs at least one recipient", reason="cose.recipient.none")
    built, cek = make_recipients(
        recipients,
        spec.alg,
        cek,
        ("a direct key recipient must be the only recipient", "cose.recipient.direct"),  # RFC 9052 §8.5.1
    )
    prot_bytes, unprot, ct = seal_layer(
        spec, cek, ENCRYPT, plaintext, protected, unprotected, external_aad, iv, partial_iv, base_iv
    )
    return prot_bytes, unprot, ct, built


def encrypt(
    plaintext: bytes,
    recipients: Sequence[RecipientSpec],
    alg: Algorithm | int | str = Algorithm.A128GCM,
    *,
    protected: Mapping[Any, Any] | None = None,
    unprotected: Mapping[Any, Any] | None = None,
    external_aad: bytes = b"",
    tagged: bool = True,
    cek: bytes | None = None,
    iv: bytes | None = None,
    partial_iv: bytes | None = None,
    base_iv: bytes | None = None,
) -> bytes:
    """Encrypt ``plaintext`` for ``recipients`` into a COSE_Encrypt (RFC 9052 §5.1, §5.3).

    ``cek`` fixes the content key for key-wrap recipients (random otherwise); ``iv`` fixes the IV.
    """
    prot_bytes, unprot, ct, built = _encrypt_parts(
        plaintext, recipients, alg, protected, unprotected, external_aad, cek, iv, partial_iv, base_iv
    )
    return encode_layer(TAG_ENCRYPT, [prot_bytes, unprot, ct, [r.to_item() for r in built]], tagged)


def encrypt_detached(
    plaintext: bytes,
    recipients: Sequence[RecipientSpec],
    alg: Algorithm | int | str = Algorithm.A128GCM,
    *,
    protected: Mapping[Any, Any] | None = None,
    unprotected: Mapping[Any, Any] | None = None,
    external_aad: bytes = b"",
    tagged: bool = True,
    cek: bytes | None = None,
    iv: bytes | None = None,
    partial_iv: bytes | None = None,
    base_iv: bytes | None = None,
) -> tuple[bytes, bytes]:
    """Like :func:`encrypt` with a detached (nil) ciphertext: returns ``(message, ciphertext)``."""
    prot_bytes, unprot, ct, built = _encrypt_parts(
        plaintext, recipients, alg, protected, unprotected, external_aad, cek, iv, partial_iv, base_iv
    )
    return encode_layer(TAG_ENCRYPT, [prot_bytes, unprot, None, [r.to_item() for r in built]], tagged), ct


@dataclass
class EncryptMessage(LayerView):
    """A decoded COSE_Encrypt with its recipients. Nothing is decrypted until :meth:`decrypt`."""

    layer: ContentLayer
    recipients: list[Recipient]

    @classmethod
    def decode(cls, data: bytes | object) -> EncryptMessage:
        """Decode tagged (96) or untagged COSE_Encrypt; ``DecodeError``/``ValidationError`` on bad input."""
        if cls is EncryptMessage and type(data) is CBORTag:
            usual = _decode_usual(data)
            if usual is not None:
                return usual
        layer = decode_layer(data, tag=TAG_ENCRYPT, name="COSE_Encrypt", size=4)
        items = layer.rest[0]
        if not isinstance(items, list) or not items:
            raise ValidationError(
                "recipients must be a non-empty array", reason="cose.recipient.structure", path=(3,)
            )
        recipients = [Recipient.from_item(r, path=(3, i)) for i, r in enumerate(items)]
        return cls(layer, recipients)

    def content_spec(
        self, *, allow_unprotected_alg: bool = False, allow_unauthenticated: bool = False
    ) -> CipherSpec:
        """The policed content algorithm (see :mod:`iotsec.core.cose.enc_common`)."""
        return content_spec(
            self.layer,
            allow_unprotected_alg=allow_unprotected_alg,
            allow_unauthenticated=allow_unauthenticated,
        )

    def content_key(
        self,
        key: CoseKey,
        *,
        sender_key: CoseKey | None = None,
        kdf: KdfParams | None = None,
        allow_unprotected_alg: bool = False,
        allow_unauthenticated: bool = False,
    ) -> bytes:
        """The CEK, obtained through the first recipient that works with ``key``."""
        spec = self.content_spec(
            allow_unprotected_alg=allow_unprotected_alg, allow_unauthenticated=allow_unauthenticated
        )
        return try_recipients(self.recipients, key, spec.alg, sender_key=sender_key, kdf=kdf)

    def decrypt(
        self,
        key: CoseKey,
        *,
        external_aad: bytes = b"",
        detached_ciphertext: bytes | None = None,
        sender_key: CoseKey | None = None,
        kdf: KdfParams | None = None,
        base_iv: bytes | None = None,
        allow_unprotected_alg: bool = False,
        allow_unauthenticated: bool = False,
    ) -> bytes:
        """Find the CEK through the recipients with ``key``, then decrypt (``VerifyError`` on failure)."""
        spec = self.content_spec(
            allow_unprotected_alg=allow_unprotected_alg, allow_unauthenticated=allow_unauthenticated
        )
        cek = try_recipients(self.recipients, key, spec.alg, sender_key=sender_key, kdf=kdf)
        return self.decrypt_with_cek(
            cek,
            external_aad=external_aad,
            detached_ciphertext=detached_ciphertext,
            base_iv=base_iv,
            allow_unprotected_alg=allow_unprotected_alg,
            allow_unauthenticated=allow_unauthenticated,
        )

    def decrypt_with_cek(
        self,
        cek: bytes,
        *,
        external_aad: bytes = b"",
        detached_ciphertext: bytes | None = None,
        base_iv: bytes | None = None,
        allow_unprotected_alg: bool = False,
        allow_unauthenticated: bool = False,
    ) -> bytes:
        """Decrypt the content layer with a CEK already obtained (e.g. by :meth:`content_key`)."""
        spec, nonce, aad = open_layer(
            self.layer, ENCRYPT, None, external_aad, base_iv, allow_unprotected_alg, allow_unauthenticated
        )
        return ciphers.decrypt(spec.alg, cek, nonce, pick_ciphertext(self.layer, detached_ciphertext), aad)

    def decryptor(
        self,
        cek: bytes,
        *,
        external_aad: bytes = b"",
        base_iv: bytes | None = None,
        allow_unprotected_alg: bool = False,
        allow_unauthenticated: bool = False,
        total_length: int | None = None,
    ) -> StreamDecryptor:
        """A streaming decryptor (AES-GCM/AES-CTR) for a detached ciphertext, given the CEK;
        ``total_length`` (ciphertext with tag, if known) avoids copying chunks."""
        spec, nonce, aad = open_layer(
            self.layer, ENCRYPT, None, external_aad, base_iv, allow_unprotected_alg, allow_unauthenticated
        )
        return ciphers.decryptor(spec.alg, cek, nonce, aad, total_length=total_length)


def _plain_buckets(protected: dict[Any, Any], unprotected: dict[Any, Any]) -> bool:
    """True when ``check_buckets`` and ``check_crit`` certainly accept the two buckets: int labels
    only, in one bucket each, no ``crit`` (2) or content type (3), alg (1) an int or a text,
    kid/IV/Partial IV (4-6) byte strings, not both IV and Partial IV (RFC 9052 §3, §3.1).
    Anything else is left to those checks (False)."""
    for bucket in (protected, unprotected):
        for label, value in bucket.items():
            if type(label) is not int:
                return False
            if 0 < label < 7:
                t = type(value)
                if label == 1:
                    if t is not int and t is not str:
                        return False
                elif label < 4 or t is not bytes:
                    return False
    if not protected.keys().isdisjoint(unprotected.keys()):
        return False
    return not ((5 in protected or 5 in unprotected) and (6 in protected or 6 in unprotected))


def _decode_usual(obj: CBORTag) -> EncryptMessage | None:
    """:meth:`EncryptMessage.decode` of an already parsed COSE_Encrypt of the usual shape (a
    SUIT_Encryption_Info): tag 96, protected buckets that ``protected_map`` reads, headers that
    :func:`_plain_buckets` accepts, flat recipients of three items. It only ever accepts what the
    general path accepts, and builds the same objects; for anything else it returns None and the
    caller takes the general path, which also raises the errors."""
    v = obj.value
    if obj.tag != TAG_ENCRYPT or type(v) is not list or len(v) != 4:
        return None
    prot_bytes, unprot, ct, items = v
    if type(prot_bytes) is not bytes or type(unprot) is not dict or type(items) is not list or not items:
        return None
    if ct is not None and type(ct) is not bytes:
        return None
    protected = protected_map(prot_bytes)
    if protected is None or not _plain_buckets(protected, unprot):
        return None
    recipients = []
    for item in items:
        if type(item) is not list or len(item) != 3:
            return None
        r_prot, r_unprot, r_ct = item
        if type(r_prot) is not bytes or type(r_unprot) is not dict:
            return None
        if r_ct is not None and type(r_ct) is not bytes:
            return None
        r_protected = protected_map(r_prot)
        if r_protected is None or not _plain_buckets(r_protected, r_unprot):
            return None
        recipients.append(Recipient(r_protected, dict(r_unprot), r_ct, r_prot, []))
    return EncryptMessage(ContentLayer(protected, prot_bytes, dict(unprot), ct, True, v[3:]), recipients)


__all__ = ["EncryptMessage", "encrypt", "encrypt_detached"]
