"""Shared helpers of the SUIT decoder: typed accessors that raise ValidationError with a path."""

from __future__ import annotations

import re
from typing import Any

from iotsec.core import _fastcbor, deterministic
from iotsec.errors import PathItem, ValidationError

Path = tuple[PathItem, ...]

MAX_ENVELOPE = 64 * 1024 * 1024
MAX_DEPTH = 48
MAX_SEQUENCE_NESTING = 16  # run-sequence / try-each levels
_LTAG = re.compile(r"[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*")  # §8.4.4 tag38-ltag


def _fail(msg: str, path: Path, reason: str = "suit.invalid") -> ValidationError:
    return ValidationError(msg, reason=reason, path=path)


def _is_uint(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _uint(v: Any, path: Path) -> int:
    if not _is_uint(v):
        raise _fail("expected an unsigned integer", path, "suit.type")
    assert isinstance(v, int)
    return v


def _bytes(v: Any, path: Path) -> bytes:
    if type(v) is not bytes and not isinstance(v, bytes):
        raise _fail("expected a byte string", path, "suit.type")
    return v


def _text(v: Any, path: Path) -> str:
    if type(v) is not str and not isinstance(v, str):
        raise _fail("expected a text string", path, "suit.type")
    return v


def _map(v: Any, path: Path) -> dict[Any, Any]:
    if type(v) is not dict and not isinstance(v, dict):
        raise _fail("expected a map", path, "suit.type")
    return v


def _list(v: Any, path: Path) -> list[Any]:
    if not isinstance(v, (list, tuple)):
        raise _fail("expected an array", path, "suit.type")
    return list(v)


_fast = _fastcbor.decode
_FALLBACK = _fastcbor.FALLBACK


def unwrap(v: Any, path: Path) -> Any:
    """Decode a ``bstr .cbor`` member strictly and require its deterministic encoding (§8.1).

    :func:`iotsec.core.deterministic.loads` proves the bytes are a single well-formed, canonical
    item (checked and decoded in one pass for the usual input, with the exact walk to name what
    is wrong).
    """
    raw = v if type(v) is bytes else _bytes(v, path)
    if _fast is not None:  # the C decoder straight away (one call less per member: many per manifest)
        value = _fast(raw, True, MAX_DEPTH)
        if value is not _FALLBACK:
            return value
    try:
        return deterministic.loads(raw, max_depth=MAX_DEPTH)
    except deterministic.NotDeterministic as err:
        if err.malformed:
            raise _fail(f"embedded CBOR is malformed: {err}", path, "suit.cbor") from None
        raise _fail(
            f"embedded CBOR is not deterministically encoded (§8.1): {err}", path, "suit.noncanonical"
        ) from None


__all__ = ["MAX_DEPTH", "MAX_ENVELOPE", "MAX_SEQUENCE_NESTING", "Path", "unwrap"]
