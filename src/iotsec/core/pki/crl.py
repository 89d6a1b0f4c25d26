"""Certificate revocation lists (RFC 5280 §5). Pure: issuer key, entries and ``now`` are passed in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509

from iotsec.core.pki.keys import signature_hash
from iotsec.core.pki.profiles import Issuer
from iotsec.errors import DecodeError, VerifyError


@dataclass(frozen=True)
class Revoked:
    serial: int
    when: dt.datetime
    reason: x509.ReasonFlags | None = None


def build_crl(
    issuer: Issuer, revoked: Sequence[Revoked], *, number: int, now: dt.datetime, next_update_hours: int = 24
) -> x509.CertificateRevocationList:
    """A CRL with a CRL number (RFC 5280 §5.2.3) and AKI (§5.2.1), reason codes where known (§5.3.1)."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.cert.subject)
        .last_update(now)
        .next_update(now + dt.timedelta(hours=next_update_hours))
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    )
    for entry in revoked:
        rb = x509.RevokedCertificateBuilder().serial_number(entry.serial).revocation_date(entry.when)
        if entry.reason is not None:
            rb = rb.add_extension(x509.CRLReason(entry.reason), critical=False)
        builder = builder.add_revoked_certificate(rb.build())
    return builder.sign(issuer.key, signature_hash(issuer.key))  # type: ignore[arg-type]


def load_crl(data: bytes) -> x509.CertificateRevocationList:
    """A CRL from DER or PEM."""
    try:
        if data.lstrip().startswith(b"-----"):
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except (ValueError, TypeError) as exc:
        raise DecodeError("malformed CRL", reason="pki.crl.decode") from exc


def check_not_revoked(
    cert: x509.Certificate, crl: x509.CertificateRevocationList, issuer: x509.Certificate
) -> None:
    """Raise :class:`VerifyError` if ``crl`` is not ``issuer``'s or lists ``cert``."""
    if crl.issuer != issuer.subject or not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
        raise VerifyError("CRL not signed by the issuer", reason="pki.crl.signature")
    if crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
        raise VerifyError("certificate is revoked", reason="pki.revoked")


__all__ = ["Revoked", "build_crl", "check_not_revoked", "load_crl"]
