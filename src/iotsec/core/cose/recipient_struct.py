"""The COSE_recipient structure (RFC 9052 §5.1): decode with typed errors, encode."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from iotsec.core.cose._fast import protected_map
from iotsec.core.cose.headers import HeaderLabel, check_buckets, check_crit, decode_protected
from iotsec.errors import ValidationError

H = HeaderLabel
_ALG, _KID = int(H.ALG), int(H.KID)  # plain ints: enum attribute look-ups cost more (hot path)
MAX_RECIPIENT_DEPTH = 4


@dataclass
class Recipient:
    """One decoded COSE_recipient (RFC 9052 §5.1): headers, ciphertext, nested recipients."""

    protected: dict[Any, Any]
    unprotected: dict[Any, Any]
    ciphertext: bytes | None
    protected_bytes: bytes = b""
    recipients: list[Recipient] = field(default_factory=list)

    def header(self, label: int) -> Any:
        """A header parameter from either bucket (protected first)."""
        if label in self.protected:
            return self.protected[label]
        return self.unprotected.get(label)

    @property
    def alg(self) -> Any:
        """The recipient's ``alg`` (RFC 9053 §6.2.1: key wrap carries it unprotected)."""
        return self.header(_ALG)

    @property
    def kid(self) -> bytes | None:
        """The ``kid`` header, if any."""
        kid = self.header(_KID)
        return kid if isinstance(kid, bytes) else None

    @classmethod
    def from_item(cls, item: object, *, path: tuple[str | int, ...] = (), depth: int = 0) -> Recipient:
        """Decode a COSE_recipient array already parsed from CBOR; typed errors only."""
        if depth > MAX_RECIPIENT_DEPTH:
            raise ValidationError("recipients nested too deeply", reason="cose.recipient.depth", path=path)
        if not isinstance(item, list) or len(item) not in (3, 4):
            raise ValidationError(
                "COSE_recipient must be an array of 3 or 4 items",
                reason="cose.recipient.structure",
                path=path,
            )
        prot_bytes = item[0]
        protected = protected_map(prot_bytes) if isinstance(prot_bytes, bytes) else None
        if protected is None:  # fast_protected, with the error path built only when needed
            protected = decode_protected(prot_bytes, path=(*path, 0))
        unprotected = check_buckets(protected, item[1], path=path)
        check_crit(protected, path=path)
        ct = item[2]
        if ct is not None and not isinstance(ct, bytes):
            raise ValidationError(
                "recipient ciphertext must be bstr or nil",
                reason="cose.recipient.ciphertext",
                path=(*path, 2),
            )
        nested: list[Recipient] = []
        if len(item) == 4:
            if not isinstance(item[3], list) or not item[3]:
                raise ValidationError(
                    "recipients must be a non-empty array", reason="cose.recipient.structure", path=(*path, 3)
                )
            nested = [cls.from_item(r, path=(*path, 3, i), depth=depth + 1) for i, r in enumerate(item[3])]
        return cls(protected, dict(unprotected), ct, prot_bytes, nested)

    def to_item(self) -> list[Any]:
        """The COSE_recipient array, ready for :func:`iotsec.core.cbor.dumps`."""
        out: list[Any] = [self.protected_bytes, dict(self.unprotected), self.ciphertext]
        if self.recipients:
            out.append([r.to_item() for r in self.recipients])
        return out


__all__ = ["MAX_RECIPIENT_DEPTH", "Recipient"]
