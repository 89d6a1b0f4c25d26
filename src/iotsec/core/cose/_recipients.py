"""The recipients of a COSE_Encrypt or a COSE_Mac and the key they convey (RFC 9052 §8.5)."""

from __future__ import annotations

from collections.abc import Sequence

from iotsec.core.cose.recipient import Recipient, RecipientSpec, build_recipient, random_cek
from iotsec.errors import ValidationError


def make_recipients(
    specs: Sequence[RecipientSpec], content_alg: int, cek: bytes | None, only_one: tuple[str, str]
) -> tuple[list[Recipient], bytes]:
    """The recipient structures for ``specs`` and the content (or MAC) key they convey.

    RFC 9052 §8.5.1: a direct method (direct, direct+HKDF, ECDH-ES/SS + HKDF) determines the key,
    so it must be the only recipient (else ``ValidationError(*only_one)``: the message and the
    reason code) and ``cek`` must be None. Otherwise the key is ``cek`` or a random one, and each
    recipient conveys it.
    """
    direct = [s for s in specs if s.method.determines_cek]
    if direct and len(specs) > 1:
        message, reason = only_one
        raise ValidationError(message, reason=reason)
    if direct:
        if cek is not None:
            raise ValidationError(
                "a direct method determines the content key", reason="cose.recipient.direct"
            )
        r, cek = build_recipient(direct[0], content_alg)
        return [r], cek
    cek = cek if cek is not None else random_cek(content_alg)
    return [build_recipient(s, content_alg, cek)[0] for s in specs], cek


__all__ = ["make_recipients"]
