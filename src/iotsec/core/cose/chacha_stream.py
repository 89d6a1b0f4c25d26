"""ChaCha20/Poly1305 (RFC 8439 §2.8, COSE alg 24 per RFC 9053 §4.3) in pieces, for streaming.

``cryptography`` offers the AEAD only in one shot (the whole ciphertext and tag at once), which
holds a large payload twice in memory (ciphertext and plaintext). The AEAD is defined from its two
primitives, which ``cryptography`` does stream, so it is built here from them exactly as RFC 8439
§2.8 gives it:

* the one-time Poly1305 key is the first 32 bytes of the ChaCha20 block with counter 0 (§2.6);
* the payload is ChaCha20 from counter 1 (§2.8: "the ChaCha20 encryption function is called ...
  with the counter set to 1");
* the tag is Poly1305 over ``aad || pad16(aad) || ciphertext || pad16(ciphertext) ||
  le64(len(aad)) || le64(len(ciphertext))`` (§2.8), compared in constant time
  (``Poly1305.verify``).

:class:`ChaChaPolyContext` has the shape of ``cryptography``'s AES-GCM contexts that
:class:`~iotsec.core.cose.ciphers.StreamDecryptor` drives (``update``, ``finalize``,
``finalize_with_tag``, ``tag``): the streaming code, with its held-back tag, is shared. As for
AES-GCM, plaintext released by ``update`` is unauthenticated until the tag has been checked.
Tests compare it with the one-shot ``ChaCha20Poly1305`` and the RFC 8439 §2.8.2 vector.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.poly1305 import Poly1305

_PAD = bytes(16)


def _chacha(key: bytes, nonce: bytes, counter: int) -> Cipher[None]:
    # cryptography's ChaCha20 takes a 16-byte "nonce": the 32-bit block counter (little-endian)
    # then the 96-bit RFC 8439 nonce (§2.3: "a 32-bit block count ... a 96-bit nonce")
    return Cipher(algorithms.ChaCha20(key, counter.to_bytes(4, "little") + nonce), mode=None)


class ChaChaPolyContext:
    """One direction of RFC 8439 §2.8 over a stream (see the module docstring)."""

    def __init__(self, key: bytes, nonce: bytes, aad: bytes, *, encrypt: bool) -> None:
        otk = _chacha(key, nonce, 0).encryptor().update(bytes(32))  # §2.6: the first 32 bytes
        self._mac = Poly1305(otk)
        self._mac.update(aad)
        self._mac.update(_PAD[: -len(aad) % 16])
        cipher = _chacha(key, nonce, 1)
        self._ctx = cipher.encryptor() if encrypt else cipher.decryptor()
        self._encrypt = encrypt
        self._aad_len = len(aad)
        self._ct_len = 0
        self.tag = b""

    def update(self, data: bytes | memoryview) -> bytes:
        """Encrypt or decrypt a piece; the ciphertext enters the MAC."""
        out = self._ctx.update(data)
        self._mac.update(out if self._encrypt else data)
        self._ct_len += len(data)
        return out

    def _close(self) -> None:
        self._ctx.finalize()
        self._mac.update(_PAD[: -self._ct_len % 16])
        self._mac.update(self._aad_len.to_bytes(8, "little") + self._ct_len.to_bytes(8, "little"))

    def finalize(self) -> bytes:
        """Encryption: close the stream; the tag is then in :attr:`tag`."""
        if not self._encrypt:
            raise TypeError("a decryption context ends with finalize_with_tag")
        self._close()
        self.tag = self._mac.finalize()
        return b""

    def finalize_with_tag(self, tag: bytes) -> bytes:
        """Decryption: check ``tag`` (constant time); :class:`InvalidTag` when it is wrong."""
        if self._encrypt:
            raise TypeError("an encryption context ends with finalize")
        self._close()
        try:
            self._mac.verify(tag)
        except InvalidSignature:
            raise InvalidTag from None
        return b""


__all__ = ["ChaChaPolyContext"]
