"""Path checks and the trust-anchor rollover walk (RFC 5280 §6 simplified; RFC 4210 §4.4).

``verify_chain`` checks a leaf up to one of the trust anchors by issuer name, signature, validity at
``now`` and basic constraints; it raises :class:`VerifyError` and never returns a bool.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from iotsec.core.pki.profiles import is_ca, is_self_signed
from iotsec.errors import VerifyError

MAX_DEPTH = 6


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _valid_at(cert: x509.Certificate, now: dt.datetime) -> bool:
    return cert.not_valid_before_utc <= now <= cert.not_valid_after_utc


def verify_chain(
    leaf: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    *,
    now: dt.datetime,
) -> list[x509.Certificate]:
    """Return the path from ``leaf`` to an anchor, or raise :class:`VerifyError`."""
    if not _valid_at(leaf, now):
        raise VerifyError("certificate is not valid now", reason="pki.chain.expired")
    path = [leaf]
    current = leaf
    for _ in range(MAX_DEPTH):
        for anchor in anchors:
            if _issued_by(current, anchor):
                return [*path, anchor]
        nxt = next(
            (
                c
                for c in intermediates
                if c not in path and is_ca(c) and _valid_at(c, now) and _issued_by(current, c)
            ),
            None,
        )
        if nxt is None:
            break
        path.append(nxt)
        current = nxt
    raise VerifyError("no path to a trust anchor", reason="pki.chain.untrusted")


def rollover_anchor(
    current: x509.Certificate, offered: Sequence[x509.Certificate], *, now: dt.datetime
) -> x509.Certificate | None:
    """The new root a client may adopt, reached only through a NewWithOld link (RFC 7030 §4.1.3).

    A NewWithOld certificate is a CA certificate signed by the ``current`` anchor's key whose subject
    key differs from it; the new anchor is the self-signed certificate (NewWithNew) in ``offered``
    with that same public key. Returns None when ``offered`` holds no rollover for ``current``.
    """
    for link in offered:
        if link is current or not is_ca(link) or not _valid_at(link, now):
            continue
        if link.public_key() == current.public_key() or not _issued_by(link, current):
            continue
        for candidate in offered:
            if (
                candidate.public_key() == link.public_key()
                and candidate.subject == link.subject
                and is_self_signed(candidate)
                and is_ca(candidate)
                and _valid_at(candidate, now)
            ):
                return candidate
    return None


__all__ = ["MAX_DEPTH", "rollover_anchor", "verify_chain"]
