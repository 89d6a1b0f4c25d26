"""Encrypted payloads in SUIT manifests (draft-ietf-suit-firmware-encryption-24).

* :class:`EncryptionInfo` -- SUIT_Encryption_Info (§4: ``#6.96(COSE_Encrypt)`` carried in
  suit-parameter-encryption-info = 19), decoded strictly and policed against the draft's CDDL:
  AES-KW recipients (§5.1) and ECDH-ES + AES-KW recipients (§5.2), content algorithms A128GCM,
  A256GCM, A128CTR, A256CTR and ChaCha20/Poly1305 (§6, draft-ietf-suit-mti).
* The SUIT conventions of the COSE_KDF_Context (§5.2.4: PartyU/PartyV nil, ``SuppPubInfo.other``
  = "SUIT Payload Encryption") are fixed here in :data:`SUIT_KDF`; the primitives themselves
  (ECDH, HKDF, AES-KW, ciphers) are all in :mod:`iotsec.core.cose`.
* Decryption streams (:meth:`EncryptionInfo.decryptor`, :func:`decrypt_chunks`): a 100 MB payload
  passes through in chunks and is never held twice. AES-GCM plaintext released before
  ``finalize`` is unauthenticated: callers stage it and drop it if ``finalize`` raises.
* Author side: :func:`encrypt_payload` / :func:`encrypt_chunks` make a detached ciphertext and
  its SUIT_Encryption_Info for one or many recipients (one CEK, one recipient structure each,
  §5.1.2 / §5.2.2 "multiple recipients" options).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from iotsec.core import cbor
from iotsec.core.cbor import CBORTag
from iotsec.core.cose import Algorithm, CoseKey, EncryptMessage, KeyType
from iotsec.core.cose import ciphers as cose_ciphers
from iotsec.core.cose.enc_common import ENCRYPT, TAG_ENCRYPT, aad_for, encode_layer
from iotsec.core.cose.encrypt0 import build_headers
from iotsec.core.cose.headers import HeaderLabel, encode_protected
from iotsec.core.cose.kdf import SUIT_PAYLOAD_ENCRYPTION
from iotsec.core.cose.recipient import KdfParams, RecipientSpec, build_recipient, random_cek
from iotsec.errors import DecodeError, IotSecError, UnsupportedError, ValidationError, VerifyError

ENCRYPTION_INFO = 19  # §4 suit-parameter-encryption-info (TBD19, proposed value 19)
# §5.2.4: the SUIT profile of the COSE_KDF_Context
SUIT_KDF = KdfParams(supp_pub_other=SUIT_PAYLOAD_ENCRYPTION)

A = Algorithm
# §6 and draft-ietf-suit-mti: content encryption algorithms accepted in SUIT_Encryption_Info
CONTENT_ALGS = frozenset({A.A128GCM, A.A256GCM, A.A128CTR, A.A256CTR, A.CHACHA20_POLY1305})
# §5.1 AES-KW and §5.2 ECDH-ES + AES-KW (ECDH-ES + HKDF "is not covered in this document")
KW_ALGS = frozenset({A.A128KW, A.A192KW, A.A256KW})
ESDH_ALGS = frozenset({A.ECDH_ES_A128KW, A.ECDH_ES_A192KW, A.ECDH_ES_A256KW})
# wrap algorithm that matches a content key length (the draft's examples pair A128GCM with A128KW)
_KW_FOR_KEYLEN = {16: (A.A128KW, A.ECDH_ES_A128KW), 32: (A.A256KW, A.ECDH_ES_A256KW)}
CHUNK = 1 << 20
# cryptography's streaming update is much slower per byte on very large inputs (it allocates the
# whole output per call) than on slices of tens of KiB: feed the stream ciphers in slices
SLICE = 64 * 1024

H = HeaderLabel
_new = object.__new__
# plain ints on the decryption path (enum attribute look-ups cost more)
_ALG, _IV, _EPK = int(H.ALG), int(H.IV), int(H.EPHEMERAL_KEY)


def _fail(msg: str, path: tuple[str | int, ...], reason: str = "suit.encryption.invalid") -> ValidationError:
    return ValidationError(msg, reason=reason, path=("encryption-info", *path))


def _int(v: object) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


@dataclass(frozen=True)
class EncryptionInfo:
    """A decoded, policed SUIT_Encryption_Info (§4, §5)."""

    message: EncryptMessage
    encoded: bytes

    @classmethod
    def decode(cls, data: bytes) -> EncryptionInfo:
        """Decode ``bstr .cbor SUIT_Encryption_Info``; typed errors with a path on bad input."""
        if not isinstance(data, (bytes, bytearray)):
            raise _fail("SUIT_Encryption_Info is carried as a byte string", ())
        obj = cbor.loads(bytes(data))  # DecodeError on malformed CBOR
        if not isinstance(obj, CBORTag) or obj.tag != TAG_ENCRYPT:  # CDDL: #6.96(COSE_Encrypt)
            raise _fail("SUIT_Encryption_Info must be a tagged COSE_Encrypt (96)", (), "suit.encryption.tag")
        msg = EncryptMessage.decode(obj)
        if cls is EncryptionInfo:  # the frozen dataclass, without one __setattr__ per field
            info = _new(cls)
            info.__dict__.update(message=msg, encoded=bytes(data))
        else:
            info = cls(msg, bytes(data))
        info._police()
        return info

    # -- policy (§5.1.3, §5.2.3 CDDL; §6 "Content Encryption")
    def _police(self) -> None:
        alg = self.content_alg
        if alg not in CONTENT_ALGS:
            raise UnsupportedError(
                f"content encryption algorithm {alg!r} is not a SUIT one", reason="suit.encryption.alg"
            )
        spec = self._spec()
        if not spec.aead and self.message.protected_bytes != b"":
            # §6: with AES-CTR "the protected header ... MUST be a zero-length byte string"
            raise _fail("a non-AEAD cipher needs a zero-length protected header", ("protected",))
        for i, r in enumerate(self.message.recipients):
            ralg = _int(r.alg)
            if ralg in KW_ALGS:
                if r.protected:  # §5.1.3: "bstr .size 0 / bstr .cbor empty_map"
                    raise _fail("AES-KW recipients have an empty protected header", ("recipients", i))
            elif ralg in ESDH_ALGS:
                if _int(r.protected.get(_ALG)) != ralg:  # §5.2.3 alg in recipient_header_map_esdh
                    raise _fail("ES-DH recipients carry alg in the protected header", ("recipients", i))
                if r.unprotected.get(_EPK) is None:
                    raise _fail("ES-DH recipients carry the ephemeral key (-1)", ("recipients", i))
            else:
                raise UnsupportedError(
                    f"content key distribution {r.alg!r} is neither AES-KW nor ECDH-ES + AES-KW",
                    reason="suit.encryption.keydist",
                )
            if not isinstance(r.ciphertext, bytes) or not r.ciphertext:
                raise _fail("the recipient carries the wrapped CEK", ("recipients", i, "ciphertext"))
            if r.recipients:
                raise _fail("SUIT recipients are not nested", ("recipients", i))

    @property
    def content_alg(self) -> int:
        """The content encryption algorithm (protected for AEAD, unprotected for CTR)."""
        raw = self.message.protected.get(_ALG, self.message.unprotected.get(_ALG))
        alg = _int(raw)
        if alg is None:
            raise _fail("no content algorithm", ("alg",), "suit.encryption.alg")
        return alg

    def _spec(self) -> cose_ciphers.CipherSpec:
        """``cipher_spec(content_alg)``, looked up once (the info is read-only once decoded)."""
        spec: cose_ciphers.CipherSpec | None = self.__dict__.get("_spec_cache")
        if spec is None:
            spec = cose_ciphers.cipher_spec(self.content_alg)
            self.__dict__["_spec_cache"] = spec  # beside the fields: not compared, not in repr
        return spec

    @property
    def aead(self) -> bool:
        """True for AES-GCM and ChaCha20/Poly1305; False for AES-CTR (no integrity, RFC 9459)."""
        return self._spec().aead

    @property
    def detached(self) -> bool:
        return self.message.ciphertext is None

    @property
    def kids(self) -> list[bytes | None]:
        """The key ids named by the recipients (hints only)."""
        return [r.kid for r in self.message.recipients]

    def content_key(self, keys: Sequence[CoseKey]) -> bytes:
        """The CEK through the first recipient that one of ``keys`` opens (KEK or device private key).

        Raises :class:`VerifyError` (``suit.encryption.key``) when no key opens any recipient.
        """
        last: IotSecError | None = None
        for key in keys:
            try:
                return self.message.content_key(key, kdf=SUIT_KDF, allow_unauthenticated=True)
            except (VerifyError, ValidationError, UnsupportedError) as err:
                last = err
        raise VerifyError(
            "no decryption key opens the SUIT_Encryption_Info"
            + (f" ({last.reason})" if last is not None else ""),
            reason="suit.encryption.key",
        )

    def decryptor(self, cek: bytes) -> Decryptor:
        """A streaming decryptor for this payload (every SUIT content algorithm streams)."""
        alg, iv, aad = self._cipher_params()
        return Decryptor(cose_ciphers.decryptor(alg, cek, iv, aad))

    def decrypt(self, keys: Sequence[CoseKey], ciphertext: bytes | None = None) -> bytes:
        """Decrypt a payload held in memory (detached ``ciphertext`` or the attached one).

        AEAD ciphers run in one call (a bad tag raises :class:`VerifyError` and releases nothing);
        AES-CTR runs in one ``update_into`` into the image (see :func:`_ctr_decrypt`).
        """
        cek = self.content_key(keys)
        alg, iv, aad = self._cipher_params()
        data = self._ciphertext(ciphertext)
        if self._spec().mode is cose_ciphers.Mode.CTR:
            # RFC 9459 CTR: decrypted into the image itself, same bytes as the one-shot call
            return _ctr_decrypt(cose_ciphers.decryptor(alg, cek, iv, aad), data)
        return cose_ciphers.decrypt(alg, cek, iv, data, aad)

    def _cipher_params(self) -> tuple[int, bytes, bytes]:
        spec = self._spec()
        layer = self.message.layer  # the message's fields, without a property call each
        iv = layer.unprotected.get(_IV, layer.protected.get(_IV))
        if not isinstance(iv, bytes):
            raise _fail("the IV header (5) is required", ("IV",), "suit.encryption.iv")
        aad = aad_for(spec, ENCRYPT, layer.protected_bytes if layer.protected else b"", b"")
        return spec.alg, iv, aad

    def _ciphertext(self, detached: bytes | None) -> bytes:
        if self.message.ciphertext is not None:
            if detached is not None:
                raise _fail("ciphertext is both attached and detached", ("ciphertext",))
            return self.message.ciphertext
        if detached is None:
            raise _fail("the ciphertext is detached and was not supplied", ("ciphertext",))
        return detached


class Decryptor:
    """``update(chunk) -> bytes`` ... ``finalize() -> bytes`` over a COSE content cipher.

    AES-GCM, AES-CTR (RFC 9459: the counter starts at the IV, §6.2.1) and ChaCha20/Poly1305
    (RFC 8439 §2.8 from its streamed primitives, :mod:`iotsec.core.cose.chacha_stream`) all
    stream: a payload is never held whole. AEAD output is provisional until :meth:`finalize`
    has checked the tag.
    """

    def __init__(self, stream: cose_ciphers.StreamDecryptor) -> None:
        self._stream = stream

    def update(self, chunk: bytes) -> bytes:
        if len(chunk) <= SLICE:
            return self._stream.update(chunk)
        return b"".join(self.update_iter(chunk))

    def update_iter(self, chunk: bytes) -> Iterator[bytes]:
        """Like :meth:`update`, yielding the plaintext slice by slice (no joining copy)."""
        # memoryview slices (no copy of the ciphertext); an AEAD decryptor hands its held-back
        # bytes and the new plaintext as separate pieces (no joining copy)
        yield from self._stream.update_parts(chunk, SLICE)

    def finalize(self) -> bytes:
        """Remaining plaintext; raises :class:`VerifyError` if the tag does not verify."""
        return self._stream.finalize()


def _ctr_decrypt(dec: cose_ciphers.StreamDecryptor, data: bytes | memoryview) -> bytes:
    """AES-CTR over ``data`` in one ``update_into`` straight into the image: a ``BytesIO`` sized
    once (with the 15 bytes of room ``cryptography`` asks for), then cut to the plaintext length;
    BytesIO hands its buffer over as the ``bytes`` result without copying. The image is the only
    new allocation of its size (no scratch buffer, no per-slice objects, no copy of the image)."""
    image = io.BytesIO()
    image.seek(len(data) + 14)  # update_into wants len(input) + block size - 1 of room
    image.write(b"\0")
    out = image.getbuffer()
    try:
        n = dec.update_into(data, out)
    finally:
        out.release()
    image.truncate(n)
    image.seek(n)
    image.write(dec.finalize())  # AES-CTR: nothing held back, b""
    return image.getvalue()


def decrypt_chunks(info: EncryptionInfo, keys: Sequence[CoseKey], chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Yield plaintext for a stream of ciphertext chunks; the last step checks the AEAD tag.

    A consumer must treat what it received as provisional until the iterator is exhausted
    without raising (:class:`VerifyError` ``cose.decrypt.failed`` on a bad tag).
    """
    dec = info.decryptor(info.content_key(keys))
    for chunk in chunks:
        yield from dec.update_iter(chunk)
    tail = dec.finalize()
    if tail:
        yield tail


def decrypt_into(
    info: EncryptionInfo,
    keys: Sequence[CoseKey],
    chunks: Iterable[bytes],
    sink: Callable[[bytes], object],
) -> int:
    """Stream-decrypt ``chunks`` into ``sink``; return the plaintext length."""
    n = 0
    for out in decrypt_chunks(info, keys, chunks):
        sink(out)
        n += len(out)
    return n


# ------------------------------------------------------------------------------ author side


def recipient_spec(key: CoseKey, *, key_len: int) -> RecipientSpec:
    """AES-KW for a symmetric KEK (§5.1), ECDH-ES + AES-KW for a device public key (§5.2).

    A key that names its algorithm (COSE_Key ``alg``) gets that algorithm; otherwise the wrap
    strength follows the KEK length, or the content key length for ES-DH.
    """
    named = _int(key.alg) if key.alg is not None else None
    if key.kty == KeyType.SYMMETRIC:
        if named in KW_ALGS:
            return RecipientSpec(named, key)
        wrap = {16: A.A128KW, 24: A.A192KW, 32: A.A256KW}.get(len(key.k))
        if wrap is None:
            raise ValidationError("a KEK is 128, 192 or 256 bits", reason="suit.encryption.kek")
        return RecipientSpec(int(wrap), key)
    if key.kty in (KeyType.EC2, KeyType.OKP):
        alg = (
            named if named in ESDH_ALGS else int(_KW_FOR_KEYLEN.get(key_len, (A.A256KW, A.ECDH_ES_A256KW))[1])
        )
        return RecipientSpec(alg, key.public(), kdf=SUIT_KDF)
    raise ValidationError(f"cannot encrypt to a {key.kty!r} key", reason="suit.encryption.recipient")


@dataclass(frozen=True)
class EncryptedPayload:
    """The author's output: the encoded SUIT_Encryption_Info and the detached ciphertext."""

    info: bytes
    ciphertext: bytes


class PayloadEncryptor:
    """Streaming encryption of a payload for ``recipients`` (KEKs or device public keys).

    ``info`` (the SUIT_Encryption_Info) is ready at construction; feed the plaintext with
    :meth:`update` and end with :meth:`finalize` (which returns the AEAD tag, appended to the
    ciphertext as COSE does).
    """

    def __init__(
        self,
        recipients: Sequence[CoseKey],
        alg: int = A.A128GCM,
        *,
        cek: bytes | None = None,
        iv: bytes | None = None,
    ) -> None:
        alg = int(alg)
        if alg not in CONTENT_ALGS:
            raise UnsupportedError(f"{alg} is not a SUIT content algorithm", reason="suit.encryption.alg")
        if not recipients:
            raise ValidationError("at least one recipient is needed", reason="suit.encryption.recipient")
        spec = cose_ciphers.cipher_spec(alg)
        cek = cek if cek is not None else random_cek(alg)
        built = [build_recipient(recipient_spec(k, key_len=spec.key_len), alg, cek)[0] for k in recipients]
        prot, unprot, nonce = build_headers(spec, None, None, iv, None, None)
        prot_bytes = encode_protected(prot)
        self.info = encode_layer(TAG_ENCRYPT, [prot_bytes, unprot, None, [r.to_item() for r in built]], True)
        aad = aad_for(spec, ENCRYPT, prot_bytes, b"")
        self._stream = cose_ciphers.encryptor(alg, cek, nonce, aad)  # every SUIT algorithm streams

    def update(self, chunk: bytes) -> bytes:
        return self._stream.update(chunk)

    def finalize(self) -> bytes:
        return self._stream.finalize()


def encrypt_payload(
    plaintext: bytes,
    recipients: Sequence[CoseKey],
    alg: int = A.A128GCM,
    *,
    cek: bytes | None = None,
    iv: bytes | None = None,
) -> EncryptedPayload:
    """Encrypt ``plaintext`` once with a fresh CEK, wrapped for every recipient (§5.1.2, §5.2.2)."""
    enc = PayloadEncryptor(recipients, alg, cek=cek, iv=iv)
    return EncryptedPayload(enc.info, enc.update(plaintext) + enc.finalize())


def encrypt_chunks(
    chunks: Iterable[bytes],
    recipients: Sequence[CoseKey],
    sink: Callable[[bytes], object],
    alg: int = A.A128GCM,
) -> bytes:
    """Stream-encrypt ``chunks`` into ``sink``; return the SUIT_Encryption_Info."""
    enc = PayloadEncryptor(recipients, alg)
    for c in chunks:
        out = enc.update(c)
        if out:
            sink(out)
    sink(enc.finalize())
    return enc.info


def parameter_value(params: dict[int, Any]) -> EncryptionInfo | None:
    """The decoded suit-parameter-encryption-info of a parameter table, if set."""
    raw = params.get(ENCRYPTION_INFO)
    if raw is None:
        return None
    try:
        return EncryptionInfo.decode(raw)
    except DecodeError as err:
        raise _fail(f"SUIT_Encryption_Info is malformed: {err}", (), "suit.encryption.cbor") from err


def random_iv(alg: int) -> bytes:
    """A fresh IV of the right length for ``alg``."""
    return os.urandom(cose_ciphers.cipher_spec(alg).nonce_len)


__all__ = [
    "CHUNK",
    "CONTENT_ALGS",
    "ENCRYPTION_INFO",
    "ESDH_ALGS",
    "KW_ALGS",
    "SUIT_KDF",
    "Decryptor",
    "EncryptedPayload",
    "EncryptionInfo",
    "PayloadEncryptor",
    "decrypt_chunks",
    "decrypt_into",
    "encrypt_chunks",
    "encrypt_payload",
    "parameter_value",
    "random_iv",
    "recipient_spec",
]
