"""Test PKI made with ``cryptography``: manufacturer CAs, signing certificates, TLS server certs;
and RFC 8520 §13's openssl commands, the independent signer and verifier of MUD files."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

Key = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass
class Issued:
    key: Key
    cert: x509.Certificate

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def write(self, d: Path, stem: str) -> tuple[Path, Path]:
        k, c = d / f"{stem}.key", d / f"{stem}.pem"
        k.write_bytes(self.key_pem())
        k.chmod(0o600)
        c.write_bytes(self.cert_pem())
        return k, c


def name(cn: str, org: str = "Example Devices Inc.") -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org), x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    )


def issue(
    subject: x509.Name,
    issuer: Issued | None,
    *,
    ca: bool,
    rsa_key: bool = False,
    not_before: datetime = NOW - timedelta(days=30),
    days: int = 365,
    sans: list[str] | None = None,
    extra: list[x509.ExtensionType] | None = None,
) -> Issued:
    key: Key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if rsa_key
        else ec.generate_private_key(ec.SECP256R1())
    )
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if ca:
        b = b.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        b = b.add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        )
    if sans:
        b = b.add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.IPAddress(__import__("ipaddress").ip_address(s))
                    if s[0].isdigit()
                    else x509.DNSName(s)
                    for s in sans
                ]
            ),
            critical=False,
        )
    for e in extra or []:
        b = b.add_extension(e, critical=False)
    signer = issuer.key if issuer else key
    return Issued(key, b.sign(signer, hashes.SHA256()))


def manufacturer(org: str, *, rsa_key: bool = False) -> tuple[Issued, Issued]:
    """A manufacturer's CA and its MUD signing certificate."""
    ca = issue(name(f"{org} MUD CA", org), None, ca=True)
    signer = issue(name(f"{org} MUD signer", org), ca, ca=False, rsa_key=rsa_key)
    return ca, signer


def openssl_cms_sign(
    cwd: Path, cert: Path, key: Path, content: str, out: str, *, detached: bool = True
) -> None:
    """RFC 8520 §13.1's signing command, run in CWD (with ``-nodetach`` unless DETACHED)."""
    subprocess.run(
        [
            shutil.which("openssl") or "openssl",
            *("cms", "-sign", "-signer", str(cert), "-inkey", str(key), "-in", content, "-binary"),
            *(() if detached else ("-nodetach",)),
            *("-outform", "DER", "-out", out),
        ],
        cwd=cwd,
        check=True,
        timeout=30,
    )


def openssl_cms_verify(cwd: Path, signature: str, content: str, ca: str) -> subprocess.CompletedProcess[str]:
    """RFC 8520 §13.2's verification command (plus the trust anchor and a neutral purpose), run in
    CWD; openssl says "Verification successful" on stderr."""
    return subprocess.run(
        [
            shutil.which("openssl") or "openssl",
            *("cms", "-verify", "-in", signature, "-inform", "DER", "-binary", "-content", content),
            *("-CAfile", ca, "-purpose", "any", "-out", "/dev/null"),
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
