"""Content encryption primitives for COSE on raw key bytes (RFC 9053 §4, RFC 9459).

* AEAD: AES-GCM (RFC 9053 §4.1), AES-CCM (§4.2), ChaCha20/Poly1305 (§4.3). The tag is appended
  to the ciphertext, as COSE carries it (RFC 9053 §4.1: "the authentication tag ... appended").
* Non-AEAD: AES-CTR and AES-CBC (RFC 9459). They provide confidentiality only, take no AAD
  (RFC 9459 §4, §5: the protected header MUST be a zero-length byte string) and are only safe
  where an outer structure authenticates the plaintext, e.g. a signed SUIT manifest carrying the
  image digest. Callers of the message layer must opt in with ``allow_unauthenticated=True``.

:func:`decryptor` / :func:`encryptor` stream (``update``/``finalize``) for AES-GCM, AES-CTR and
ChaCha20/Poly1305 (:mod:`~iotsec.core.cose.chacha_stream`), so a 100 MB firmware image never has
to be held twice in memory. A streaming AEAD decryptor releases plaintext *before* the tag is
checked: a caller must keep the output in a staging area
until :meth:`StreamDecryptor.finalize` returns (it raises :class:`VerifyError` on a bad tag).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

from iotsec.core.cose.algorithms import Algorithm as A
from iotsec.core.cose.chacha_stream import ChaChaPolyContext
from iotsec.errors import UnsupportedError, ValidationError, VerifyError


class Mode(Enum):
    """How a content cipher works; drives dispatch below."""

    GCM = "gcm"
    CCM = "ccm"
    CHACHA = "chacha20-poly1305"
    CTR = "ctr"
    CBC = "cbc"


@dataclass(frozen=True)
class CipherSpec:
    """One content-encryption algorithm of the IANA "COSE Algorithms" registry."""

    alg: A
    name: str
    mode: Mode
    key_len: int  # bytes
    nonce_len: int  # bytes (IV length)
    tag_len: int  # bytes; 0 for non-AEAD

    @property
    def aead(self) -> bool:
        """True when the cipher authenticates (tag and AAD); False for CTR/CBC (RFC 9459)."""
        return self.tag_len > 0


_SPECS = [
    # RFC 9053 §4.1 Table 5
    CipherSpec(A.A128GCM, "A128GCM", Mode.GCM, 16, 12, 16),
    CipherSpec(A.A192GCM, "A192GCM", Mode.GCM, 24, 12, 16),
    CipherSpec(A.A256GCM, "A256GCM", Mode.GCM, 32, 12, 16),
    # RFC 9053 §4.2 Table 6: AES-CCM-L-M-k; L=16 -> 13-byte nonce, L=64 -> 7-byte nonce
    CipherSpec(A.AES_CCM_16_64_128, "AES-CCM-16-64-128", Mode.CCM, 16, 13, 8),
    CipherSpec(A.AES_CCM_16_64_256, "AES-CCM-16-64-256", Mode.CCM, 32, 13, 8),
    CipherSpec(A.AES_CCM_64_64_128, "AES-CCM-64-64-128", Mode.CCM, 16, 7, 8),
    CipherSpec(A.AES_CCM_64_64_256, "AES-CCM-64-64-256", Mode.CCM, 32, 7, 8),
    CipherSpec(A.AES_CCM_16_128_128, "AES-CCM-16-128-128", Mode.CCM, 16, 13, 16),
    CipherSpec(A.AES_CCM_16_128_256, "AES-CCM-16-128-256", Mode.CCM, 32, 13, 16),
    CipherSpec(A.AES_CCM_64_128_128, "AES-CCM-64-128-128", Mode.CCM, 16, 7, 16),
    CipherSpec(A.AES_CCM_64_128_256, "AES-CCM-64-128-256", Mode.CCM, 32, 7, 16),
    # RFC 9053 §4.3 Table 7
    CipherSpec(A.CHACHA20_POLY1305, "ChaCha20/Poly1305", Mode.CHACHA, 32, 12, 16),
    # RFC 9459 §6.1 (IANA): AES-CTR and AES-CBC, 16-byte IV
    CipherSpec(A.A128CTR, "A128CTR", Mode.CTR, 16, 16, 0),
    CipherSpec(A.A192CTR, "A192CTR", Mode.CTR, 24, 16, 0),
    CipherSpec(A.A256CTR, "A256CTR", Mode.CTR, 32, 16, 0),
    CipherSpec(A.A128CBC, "A128CBC", Mode.CBC, 16, 16, 0),
    CipherSpec(A.A192CBC, "A192CBC", Mode.CBC, 24, 16, 0),
    CipherSpec(A.A256CBC, "A256CBC", Mode.CBC, 32, 16, 0),
]
CIPHERS: dict[int, CipherSpec] = {s.alg: s for s in _SPECS}
CIPHERS_BY_NAME: dict[str, CipherSpec] = {s.name: s for s in _SPECS}


def cipher_spec(alg: int) -> CipherSpec:
    """The :class:`CipherSpec` of a content-encryption algorithm, or :class:`UnsupportedError`."""
    try:
        return CIPHERS[int(alg)]
    except (KeyError, TypeError, ValueError):
        raise UnsupportedError(
            f"unsupported content encryption algorithm {alg!r}", reason="cose.alg.unsupported"
        ) from None


def _check(spec: CipherSpec, key: bytes, nonce: bytes, aad: bytes) -> None:
    if len(key) != spec.key_len:
        raise ValidationError(
            f"{spec.name} needs a {spec.key_len * 8}-bit key, got {len(key) * 8} bits",
            reason="cose.key.length",
        )
    if len(nonce) != spec.nonce_len:
        raise ValidationError(
            f"{spec.name} needs a {spec.nonce_len}-byte IV, got {len(nonce)}", reason="cose.iv.length"
        )
    if not spec.aead and aad:
        # RFC 9459 §4 / §5: no AAD with AES-CTR or AES-CBC
        raise ValidationError(
            f"{spec.name} takes no additional authenticated data", reason="cose.aad.forbidden"
        )


def encrypt(alg: int, key: bytes, nonce: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    """Encrypt ``plaintext``; AEAD output is ciphertext || tag (RFC 9053 §4)."""
    spec = cipher_spec(alg)
    _check(spec, key, nonce, aad)
    if spec.mode is Mode.GCM:
        return AESGCM(key).encrypt(nonce, plaintext, aad)
    if spec.mode is Mode.CCM:
        return AESCCM(key, tag_length=spec.tag_len).encrypt(nonce, plaintext, aad)
    if spec.mode is Mode.CHACHA:
        return ChaCha20Poly1305(key).encrypt(nonce, plaintext, aad)
    if spec.mode is Mode.CBC:
        # RFC 9459 §5: PKCS #7 padding (RFC 5652 §6.3)
        padder = padding.PKCS7(128).padder()
        data = padder.update(plaintext) + padder.finalize()
        enc = Cipher(algorithms.AES(key), modes.CBC(nonce)).encryptor()
        return enc.update(data) + enc.finalize()
    enc = Cipher(algorithms.AES(key), modes.CTR(nonce)).encryptor()
    return enc.update(plaintext) + enc.finalize()


def decrypt(alg: int, key: bytes, nonce: bytes, ciphertext: bytes | memoryview, aad: bytes = b"") -> bytes:
    """Decrypt ``ciphertext`` (with its tag for AEAD). A bad tag raises :class:`VerifyError`."""
    spec = cipher_spec(alg)
    _check(spec, key, nonce, aad)
    try:
        if spec.mode is Mode.GCM:
            return AESGCM(key).decrypt(nonce, ciphertext, aad)
        if spec.mode is Mode.CCM:
            return AESCCM(key, tag_length=spec.tag_len).decrypt(nonce, ciphertext, aad)
        if spec.mode is Mode.CHACHA:
            return ChaCha20Poly1305(key).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        raise VerifyError("decryption failed", reason="cose.decrypt.failed") from None
    if spec.mode is Mode.CBC:
        if not ciphertext or len(ciphertext) % 16:
            raise VerifyError("decryption failed", reason="cose.decrypt.failed")
        dec = Cipher(algorithms.AES(key), modes.CBC(nonce)).decryptor()
        data = dec.update(ciphertext) + dec.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        try:
            return unpadder.update(data) + unpadder.finalize()
        except ValueError:
            raise VerifyError("decryption failed", reason="cose.decrypt.failed") from None
    dec = Cipher(algorithms.AES(key), modes.CTR(nonce)).decryptor()
    return dec.update(ciphertext) + dec.finalize()


def _stream_context(
    alg: int, key: bytes, nonce: bytes, aad: bytes, *, encrypt: bool
) -> tuple[CipherSpec, Any]:
    """The spec and the AES-GCM, AES-CTR or ChaCha20/Poly1305 context (AAD fed in) of a stream in
    either direction."""
    spec = cipher_spec(alg)
    if spec.mode not in (Mode.GCM, Mode.CTR, Mode.CHACHA):
        raise UnsupportedError(f"{spec.name} cannot stream here", reason="cose.stream.unsupported")
    _check(spec, key, nonce, aad)
    if spec.mode is Mode.CHACHA:  # RFC 8439 §2.8 from its streamed primitives (chacha_stream)
        return spec, ChaChaPolyContext(key, nonce, aad, encrypt=encrypt)
    cipher = Cipher(algorithms.AES(key), modes.GCM(nonce) if spec.mode is Mode.GCM else modes.CTR(nonce))
    ctx: Any = cipher.encryptor() if encrypt else cipher.decryptor()
    if spec.mode is Mode.GCM and aad:
        ctx.authenticate_additional_data(aad)
    return spec, ctx


class StreamDecryptor:
    """Incremental decryption for AES-GCM, AES-CTR and ChaCha20/Poly1305 (``update`` ...
    ``finalize``).

    For the AEADs the last 16 bytes fed in are the tag: ``update`` holds back the trailing 16 bytes
    until :meth:`finalize`, which checks the tag and raises :class:`VerifyError` if it is wrong.
    Output released by ``update`` is unauthenticated until ``finalize`` returns. When the total
    length (ciphertext + tag) is known in advance, pass ``total_length``: the decryptor then
    knows where the tag starts and never copies a chunk to hold bytes back.
    """

    def __init__(
        self, alg: int, key: bytes, nonce: bytes, aad: bytes = b"", *, total_length: int | None = None
    ) -> None:
        spec, self._ctx = _stream_context(alg, key, nonce, aad, encrypt=False)
        self.spec = spec
        self._held = b""
        self._done = False
        self._left: int | None = None  # ciphertext bytes before the tag, when the length is known
        if total_length is not None and spec.tag_len:
            if total_length < spec.tag_len:
                raise VerifyError("decryption failed", reason="cose.decrypt.failed")
            self._left = total_length - spec.tag_len

    def update(self, chunk: bytes | memoryview) -> bytes:
        """Feed ciphertext (and, at the end, the tag); returns the plaintext available so far."""
        if self._done:
            raise ValidationError("decryptor already finalized", reason="cose.stream.finalized")
        tag_len = self.spec.tag_len
        if not tag_len:
            return bytes(self._ctx.update(chunk))
        if self._left is not None:
            n = min(self._left, len(chunk))
            self._left -= n
            if n < len(chunk):
                self._held += bytes(memoryview(chunk)[n:])
                if len(self._held) > tag_len:
                    raise VerifyError("decryption failed", reason="cose.decrypt.failed")  # too long
            return bytes(self._ctx.update(chunk if n == len(chunk) else memoryview(chunk)[:n]))
        if len(chunk) >= tag_len:
            # release the held bytes and all but the last tag_len bytes of this chunk, without
            # concatenating the (large) chunk first
            parts = self.update_parts(chunk)
            return parts[0] if len(parts) == 1 else b"".join(parts)
        data = self._held + bytes(chunk)
        if len(data) <= tag_len:
            self._held = data
            return b""
        self._held = data[-tag_len:]
        return bytes(self._ctx.update(data[:-tag_len]))

    def update_into(self, chunk: bytes | memoryview, out: bytearray | memoryview) -> int:
        """AES-CTR only: decrypt ``chunk`` into ``out`` (room for ``len(chunk) + 15`` bytes, as
        ``cryptography`` asks) and return the number of bytes written."""
        if self._done:
            raise ValidationError("decryptor already finalized", reason="cose.stream.finalized")
        if self.spec.tag_len:
            raise UnsupportedError("update_into is for AES-CTR", reason="cose.stream.unsupported")
        return int(self._ctx.update_into(chunk, out))

    def update_parts(self, chunk: bytes | memoryview, slice_len: int | None = None) -> list[bytes]:
        """Like :meth:`update`, but the plaintext comes as a list of pieces (the bytes held back
        from the previous call, then this chunk's, in ``slice_len`` pieces when given), so that
        nothing is copied to join them and a large chunk is fed to the cipher in slices."""
        if self._done:
            raise ValidationError("decryptor already finalized", reason="cose.stream.finalized")
        tag_len = self.spec.tag_len
        view = memoryview(chunk)
        parts: list[bytes] = []
        if tag_len and self._left is None:
            if len(view) < tag_len:
                out = self.update(view)
                return [out] if out else []
            # release the held bytes and all but the last tag_len bytes of this chunk
            if self._held:
                parts.append(self._ctx.update(self._held))
            self._held = bytes(view[-tag_len:])
            view = view[:-tag_len]
        tail = None
        if tag_len and self._left is not None:  # the tag position is known: nothing held before it
            n = min(self._left, len(view))
            if n < len(view):  # the chunk reaches into the tag: its body in slices, then the tail
                view, tail = view[:n], view[n:]
            self._left -= n
        step = slice_len or len(view) or 1
        for i in range(0, len(view), step):
            out = self._ctx.update(view[i : i + step])
            if out:
                parts.append(out)
        if tail is not None:
            self.update(tail)  # held (and its length checked) by update; no plaintext comes of it
        return parts

    def finalize(self) -> bytes:
        """Finish; for an AEAD check the tag (:class:`VerifyError` if wrong or missing)."""
        if self._done:
            raise ValidationError("decryptor already finalized", reason="cose.stream.finalized")
        self._done = True
        if not self.spec.tag_len:
            return bytes(self._ctx.finalize())
        if len(self._held) != self.spec.tag_len or self._left:
            raise VerifyError("decryption failed", reason="cose.decrypt.failed")
        try:
            return bytes(self._ctx.finalize_with_tag(self._held))
        except InvalidTag:
            raise VerifyError("decryption failed", reason="cose.decrypt.failed") from None


class StreamEncryptor:
    """Incremental encryption for AES-GCM, AES-CTR and ChaCha20/Poly1305; ``finalize`` returns
    the AEAD tag."""

    def __init__(self, alg: int, key: bytes, nonce: bytes, aad: bytes = b"") -> None:
        self.spec, self._ctx = _stream_context(alg, key, nonce, aad, encrypt=True)

    def update(self, chunk: bytes) -> bytes:
        """Encrypt a chunk of plaintext."""
        return bytes(self._ctx.update(chunk))

    def finalize(self) -> bytes:
        """Finish; returns any remaining ciphertext followed by the tag (AEAD)."""
        out = bytes(self._ctx.finalize())
        if self.spec.tag_len:
            out += bytes(self._ctx.tag)
        return out


def decryptor(
    alg: int, key: bytes, nonce: bytes, aad: bytes = b"", *, total_length: int | None = None
) -> StreamDecryptor:
    """A :class:`StreamDecryptor` for AES-GCM, AES-CTR or ChaCha20/Poly1305 (see there for
    ``total_length``)."""
    return StreamDecryptor(alg, key, nonce, aad, total_length=total_length)


def encryptor(alg: int, key: bytes, nonce: bytes, aad: bytes = b"") -> StreamEncryptor:
    """A :class:`StreamEncryptor` for AES-GCM, AES-CTR or ChaCha20/Poly1305."""
    return StreamEncryptor(alg, key, nonce, aad)


__all__ = [
    "CIPHERS",
    "CIPHERS_BY_NAME",
    "CipherSpec",
    "Mode",
    "StreamDecryptor",
    "StreamEncryptor",
    "cipher_spec",
    "decrypt",
    "decryptor",
    "encrypt",
    "encryptor",
]
