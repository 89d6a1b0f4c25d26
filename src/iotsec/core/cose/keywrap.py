"""AES Key Wrap for COSE recipients (RFC 9053 §6.2.1, RFC 3394), on ``cryptography``."""

from __future__ import annotations

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from iotsec.errors import UnsupportedError, ValidationError, VerifyError

# RFC 9053 §6.2.1 Table 11: A128KW -3, A192KW -4, A256KW -5 -> KEK length in bytes
KEY_WRAP: dict[int, int] = {-3: 16, -4: 24, -5: 32}


def kek_length(alg: int) -> int:
    """KEK length in bytes of an AES key-wrap algorithm (A128KW/A192KW/A256KW)."""
    try:
        return KEY_WRAP[int(alg)]
    except (KeyError, TypeError, ValueError):
        raise UnsupportedError(
            f"unsupported key wrap algorithm {alg!r}", reason="cose.alg.unsupported"
        ) from None


def _check(alg: int, kek: bytes) -> None:
    if len(kek) != kek_length(alg):
        raise ValidationError(
            f"key wrap {alg} needs a {kek_length(alg) * 8}-bit KEK, got {len(kek) * 8} bits",
            reason="cose.key.length",
        )


def wrap(alg: int, kek: bytes, cek: bytes) -> bytes:
    """Wrap ``cek`` (a multiple of 8 bytes, at least 16) under ``kek`` (RFC 3394 §2.2.1)."""
    _check(alg, kek)
    if len(cek) < 16 or len(cek) % 8:
        raise ValidationError(
            "AES key wrap needs a key of 16+ bytes, a multiple of 8", reason="cose.key.length"
        )
    return aes_key_wrap(kek, cek)


def unwrap(alg: int, kek: bytes, wrapped: bytes) -> bytes:
    """Unwrap; a wrong KEK or altered input raises :class:`VerifyError` (RFC 3394 §2.2.3)."""
    _check(alg, kek)
    if len(wrapped) < 24 or len(wrapped) % 8:
        raise VerifyError("key unwrap failed", reason="cose.unwrap.failed")
    try:
        return aes_key_unwrap(kek, wrapped)
    except InvalidUnwrap:
        raise VerifyError("key unwrap failed", reason="cose.unwrap.failed") from None


__all__ = ["KEY_WRAP", "kek_length", "unwrap", "wrap"]
