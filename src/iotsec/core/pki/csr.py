"""Certificate signing request checks for enrollment (RFC 7030 §4.2.1, §4.2.2, §3.5).

``parse_csr`` turns bytes into a request or a :class:`DecodeError`; ``check_csr`` raises when the
request's proof of possession does not verify (:class:`VerifyError`), its key is refused
(:class:`PolicyError` ``pki.key.weak``), or it names another identity than the authenticated one
(:class:`PolicyError` ``est.identity.mismatch``).
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import AttributeOID, NameOID

from iotsec.core.pki.keys import PrivateKey, PublicKey, check_public_key, signature_hash
from iotsec.core.pki.profiles import parse_uuid
from iotsec.errors import DecodeError, PolicyError, ValidationError, VerifyError

MAX_CSR = 16 * 1024


@dataclass(frozen=True)
class CheckedCsr:
    """A request that passed every check; ``public_key`` is what the CA certifies."""

    csr: x509.CertificateSigningRequest
    public_key: PublicKey
    identity: uuid.UUID
    challenge_password: str | None


def parse_csr(data: bytes) -> x509.CertificateSigningRequest:
    """A PKCS#10 request from DER or PEM bytes (RFC 2986)."""
    if len(data) > MAX_CSR:
        raise DecodeError("certificate request too large", reason="est.csr.size")
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_csr(data)
        return x509.load_der_x509_csr(data)
    except (ValueError, TypeError) as exc:
        raise DecodeError("malformed PKCS#10 certificate request", reason="est.csr.decode") from exc


def challenge_password(csr: x509.CertificateSigningRequest) -> str | None:
    """The challengePassword attribute (RFC 2985 §5.4.1), or None."""
    try:
        attr = csr.attributes.get_attribute_for_oid(AttributeOID.CHALLENGE_PASSWORD)
    except x509.AttributeNotFound:
        return None
    except (ValueError, TypeError) as exc:
        raise DecodeError("malformed CSR attributes", reason="est.csr.decode") from exc
    try:
        return attr.value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError("challengePassword is not UTF-8", reason="est.csr.decode") from exc


def _named_identities(csr: x509.CertificateSigningRequest) -> tuple[list[str], list[str]]:
    """(subject CN and serialNumber values, SAN entries rendered as text)."""
    names: list[str] = []
    try:
        for attr in csr.subject:
            if attr.oid in (NameOID.SERIAL_NUMBER, NameOID.COMMON_NAME):
                names.append(str(attr.value))
        extensions = csr.extensions
    except (ValueError, TypeError) as exc:
        raise DecodeError("malformed CSR subject or extensions", reason="est.csr.decode") from exc
    sans: list[str] = []
    try:
        san = extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return names, sans
    for gn in san:
        if isinstance(gn, x509.UniformResourceIdentifier):
            sans.append(gn.value)
        else:
            sans.append(f"<{type(gn).__name__}>")
    return names, sans


def csr_identity(csr: x509.CertificateSigningRequest) -> uuid.UUID | None:
    """The UUID a request names in its subject (serialNumber or CN) or ``urn:uuid:`` SAN."""
    names, sans = _named_identities(csr)
    for text in names + [s[9:] for s in sans if s.lower().startswith("urn:uuid:")]:
        parsed = parse_uuid(text)
        if parsed is not None:
            return parsed
    return None


def check_csr(
    csr: x509.CertificateSigningRequest,
    *,
    identity: uuid.UUID,
    exact_subject: x509.Name | None = None,
    expected_challenge: str | None = None,
) -> CheckedCsr:
    """Check a request for the authenticated ``identity``.

    1. Proof of possession: the self-signature verifies (RFC 2986 §3, RFC 7030 §3.4).
    2. Key policy: EC P-256/384/521, Ed25519, RSA >= 2048.
    3. Identity: every serialNumber / CN of the subject and every SAN is the device UUID
       (``urn:uuid:`` for SAN), and at least one names it; for re-enrollment the subject is identical
       to the certificate being renewed (RFC 7030 §4.2.2).
    4. challengePassword equals ``expected_challenge`` when one is configured (compared in constant
       time).
    """
    try:
        valid = csr.is_signature_valid
        pub = csr.public_key()
    except (ValueError, TypeError) as exc:
        raise DecodeError("unusable public key or signature in CSR", reason="est.csr.decode") from exc
    except Exception as exc:  # cryptography's UnsupportedAlgorithm
        raise PolicyError("CSR key or signature algorithm unsupported", reason="pki.key.type") from exc
    if not valid:
        raise VerifyError("CSR signature does not verify", reason="est.csr.signature")
    key = check_public_key(pub)
    names, sans = _named_identities(csr)
    want = str(identity)
    if not names and not sans:
        raise ValidationError("CSR names no identity", reason="est.identity.missing")
    for text in names:
        if text.lower() != want:
            raise PolicyError("CSR subject names another identity", reason="est.identity.mismatch")
    for text in sans:
        if text.lower() != f"urn:uuid:{want}":
            raise PolicyError("CSR subjectAltName names another identity", reason="est.identity.mismatch")
    if exact_subject is not None and csr.subject != exact_subject:
        raise PolicyError(
            "re-enrollment CSR subject differs from the current certificate (RFC 7030 §4.2.2)",
            reason="est.identity.mismatch",
        )
    cp = challenge_password(csr)
    if expected_challenge is not None and (
        cp is None or not hmac.compare_digest(cp.encode(), expected_challenge.encode())
    ):
        raise PolicyError("challengePassword missing or wrong", reason="est.csr.challenge")
    return CheckedCsr(csr=csr, public_key=key, identity=identity, challenge_password=cp)


__all__ = [
    "MAX_CSR",
    "CheckedCsr",
    "build_csr",
    "challenge_password",
    "check_csr",
    "csr_identity",
    "parse_csr",
]


def build_csr(
    key: PrivateKey, device: uuid.UUID, *, challenge: str | None = None, subject: x509.Name | None = None
) -> x509.CertificateSigningRequest:
    """A device's PKCS#10 request: subject ``serialNumber=<uuid>`` (or ``subject``), optional
    challengePassword (RFC 2985 §5.4.1)."""
    subj = subject or x509.Name([x509.NameAttribute(NameOID.SERIAL_NUMBER, str(device))])
    builder = x509.CertificateSigningRequestBuilder().subject_name(subj)
    if challenge is not None:
        builder = builder.add_attribute(AttributeOID.CHALLENGE_PASSWORD, challenge.encode())
    return builder.sign(key, signature_hash(key))  # type: ignore[arg-type]
