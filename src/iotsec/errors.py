"""The one error tree of iotsec (DESIGN.md, "Errors").

Every error carries a dotted *reason code* (``cbor.trailing``, ``cose.alg.mismatch``) that is
stable and machine-readable, and a human message. Adapters map the classes to HTTP/CoAP status
codes in one table (``iotsec.adapters.http.problem``); the CLI maps them to exit codes.

Input from a peer never escapes as a bare ``KeyError``, ``IndexError`` or ``ValueError``:
decoders catch those and raise one of the classes below.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

PathItem = str | int
Path = tuple[PathItem, ...]


def format_path(path: Sequence[PathItem]) -> str:
    """Render a path inside a decoded structure, e.g. ``/manifest/3/components/0``."""
    return "/" + "/".join(str(p) for p in path) if path else "/"


class IotSecError(Exception):
    """Base of every error that iotsec raises on purpose."""

    default_reason = "iotsec.error"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason

    def __str__(self) -> str:
        return self.message

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly view, used by ``--json`` output and problem details."""
        return {"error": type(self).__name__, "reason": self.reason, "message": self.message}


class DecodeError(IotSecError):
    """The bytes are malformed: not CBOR/JSON/DER, truncated, trailing data, too deep or large."""

    default_reason = "decode.malformed"


class ValidationError(IotSecError):
    """Well-formed, but violates the spec. ``path`` locates the offending member."""

    default_reason = "validation.invalid"

    def __init__(self, message: str, *, reason: str | None = None, path: Sequence[PathItem] = ()) -> None:
        self.path: Path = tuple(path)
        super().__init__(message, reason=reason)

    def __str__(self) -> str:
        return f"{self.message} (at {format_path(self.path)})" if self.path else self.message

    def at(self, *prefix: PathItem) -> ValidationError:
        """Return a copy whose path is prefixed, to re-raise from an enclosing decoder."""
        err = type(self)(self.message, reason=self.reason, path=(*prefix, *self.path))
        err.__cause__ = self.__cause__
        return err

    def as_dict(self) -> dict[str, Any]:
        d = super().as_dict()
        d["path"] = format_path(self.path)
        return d


class VerifyError(IotSecError):
    """A signature, MAC, AEAD tag or digest did not verify. The message stays opaque on purpose."""

    default_reason = "verify.failed"


class PolicyError(IotSecError):
    """Valid, but refused here: rollback, untrusted signer, MUD deny, lockout, wrong identity."""

    default_reason = "policy.refused"


class AuthenticationError(PolicyError):
    """The peer did not prove who it is (missing or wrong credentials)."""

    default_reason = "auth.failed"


class NotFoundError(IotSecError):
    """A named object (device, session, endorsement, file) does not exist."""

    default_reason = "notfound"


class ConflictError(IotSecError):
    """The request conflicts with stored state (duplicate, already used, already exists)."""

    default_reason = "conflict"


class UnsupportedError(IotSecError):
    """Recognised but not implemented or not enabled: an algorithm, a command, a media type."""

    default_reason = "unsupported"


class ConfigError(IotSecError):
    """The local configuration or a command-line argument is unusable (bad key file, bad URL)."""

    default_reason = "config.invalid"


__all__ = [
    "AuthenticationError",
    "ConfigError",
    "ConflictError",
    "DecodeError",
    "IotSecError",
    "NotFoundError",
    "Path",
    "PathItem",
    "PolicyError",
    "UnsupportedError",
    "ValidationError",
    "VerifyError",
    "format_path",
]
