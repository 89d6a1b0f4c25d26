"""Small helpers shared by the EAT modules: base64url (RFC 4648 §5) and type checks."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from iotsec.core.jose import jws
from iotsec.errors import PathItem, ValidationError

_B64U = re.compile(r"^[A-Za-z0-9_-]*={0,2}$")


def b64u_encode(data: bytes) -> str:
    """Unpadded base64url (RFC 4648 §5), the encoding of binary data in JSON EATs (RFC 9711 §7.2.2)."""
    return jws.b64u_encode(data)  # the same encoding as JWS (RFC 7515 §2)


def b64u_decode(text: Any, *, reason: str = "eat.b64", path: tuple[PathItem, ...] = ()) -> bytes:
    """Decode base64url text. Padding is tolerated (RFC 9711 examples carry it), other alphabets are not."""
    if not isinstance(text, str) or not _B64U.match(text):
        raise ValidationError("expected base64url text", reason=reason, path=path)
    stripped = text.rstrip("=")
    try:
        return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValidationError(f"invalid base64url: {exc}", reason=reason, path=path) from exc


def b64_decode_any(text: Any, *, reason: str, path: tuple[PathItem, ...] = ()) -> bytes:
    """Decode standard or url-safe base64 (Veraison's JSON uses the standard alphabet)."""
    if not isinstance(text, str):
        raise ValidationError("expected base64 text", reason=reason, path=path)
    t = text.replace("-", "+").replace("_", "/").rstrip("=")
    try:
        return base64.b64decode(t + "=" * (-len(t) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationError(f"invalid base64: {exc}", reason=reason, path=path) from exc


def is_int(v: Any) -> bool:
    """True for an int that is not a bool."""
    return type(v) is int or (isinstance(v, int) and type(v) is not bool)
