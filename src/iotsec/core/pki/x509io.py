"""Certificates to and from PEM/DER bytes, with typed errors."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from iotsec.errors import DecodeError


def _pem_start(data: bytes) -> bytes:
    """PEM from its first ``-----BEGIN`` (tools like ``openssl pkcs7 -print_certs`` prefix text)."""
    if data[:1] == b"\x30":  # DER: a SEQUENCE, never text
        return data
    at = data.find(b"-----BEGIN")
    return data[at:] if at >= 0 else data


def load_cert(data: bytes) -> x509.Certificate:
    """One certificate from PEM or DER."""
    data = _pem_start(data)
    try:
        if data.startswith(b"-----"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except (ValueError, TypeError) as exc:
        raise DecodeError("malformed certificate", reason="pki.cert.decode") from exc


def load_certs(data: bytes) -> list[x509.Certificate]:
    """Every certificate of a PEM bundle (or one DER certificate)."""
    data = _pem_start(data)
    if not data.startswith(b"-----"):
        return [load_cert(data)]
    try:
        certs = x509.load_pem_x509_certificates(data)
    except (ValueError, TypeError) as exc:
        raise DecodeError("malformed PEM certificate bundle", reason="pki.cert.decode") from exc
    return list(certs)


def certs_to_pem(certs: Sequence[x509.Certificate]) -> bytes:
    """A PEM bundle."""
    return b"".join(c.public_bytes(Encoding.PEM) for c in certs)


__all__ = ["certs_to_pem", "load_cert", "load_certs"]
