"""Certificate profiles: root and issuing CA, EST server, operator, device (IDevID / LDevID), links.

Pure: the keys, serial numbers and ``now`` are arguments. Profiles follow RFC 5280 (§4.2.1.9 basic
constraints, §4.2.1.3 key usage, §4.2.1.12 EKU) and, for devices, IEEE 802.1AR's IDevID/LDevID with
the identity an RFC 9562 UUID in the subject ``serialNumber`` and a ``urn:uuid:`` SAN (RFC 4122 §3
URN namespace, kept by RFC 9562 §4), and optionally the MUD URL extension (RFC 8520 §10).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import core as asn1core
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from iotsec.core.pki.keys import PrivateKey, PublicKey, check_public_key, signature_hash
from iotsec.errors import DecodeError, ValidationError

# RFC 8520 §10: id-pe-mud-url OBJECT IDENTIFIER ::= { id-pe 25 }; MUDURLSyntax ::= IA5String
MUD_URL_OID = ObjectIdentifier("1.3.6.1.5.5.7.1.25")
MAX_MUD_URL = 2048

Ext = tuple[x509.ExtensionType, bool]


@dataclass(frozen=True)
class Issuer:
    """A CA certificate and its private key, as a signer of other certificates."""

    cert: x509.Certificate
    key: PrivateKey


def name(common_name: str, *, organization: str | None = None, serial_number: str | None = None) -> x509.Name:
    """An X.509 Name with CN, and O / serialNumber when given."""
    attrs = []
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    if serial_number:
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial_number))
    return x509.Name(attrs)


def encode_mud_url(url: str) -> bytes:
    """DER of ``MUDURLSyntax ::= IA5String`` (RFC 8520 §10); the URL must be https (RFC 8520 §3)."""
    if not url.startswith("https://") or len(url) > MAX_MUD_URL:
        raise ValidationError("a MUD URL must be an https URL (RFC 8520 §3)", reason="pki.mud.url")
    try:
        return bytes(asn1core.IA5String(url).dump())
    except (ValueError, UnicodeError) as exc:
        raise ValidationError("a MUD URL must be IA5 (ASCII)", reason="pki.mud.url") from exc


def decode_mud_url(der: bytes) -> str:
    """The URL from the DER value of the MUD URL extension (RFC 8520 §10)."""
    try:
        parsed = asn1core.IA5String.load(der, strict=True)
        url = parsed.native
    except (ValueError, TypeError, UnicodeError) as exc:
        raise DecodeError("malformed MUD URL extension", reason="pki.mud.decode") from exc
    if not isinstance(url, str) or not url.startswith("https://"):
        raise ValidationError("MUD URL extension is not an https URL", reason="pki.mud.url")
    return url


def mud_url_of(cert: x509.Certificate) -> str | None:
    """The MUD URL a certificate carries (RFC 8520 §10), or None."""
    try:
        ext = cert.extensions.get_extension_for_oid(MUD_URL_OID)
    except x509.ExtensionNotFound:
        return None
    value = ext.value
    if not isinstance(value, x509.UnrecognizedExtension):
        raise DecodeError("unexpected MUD URL extension type", reason="pki.mud.decode")
    return decode_mud_url(value.value)


def name_text(value: x509.Name) -> str:
    """RFC 4514 text with ``serialNumber`` spelled out (the default prints ``2.5.4.5``)."""
    return value.rfc4514_string({NameOID.SERIAL_NUMBER: "serialNumber"})


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 over the DER certificate, lower-case hex."""
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


def device_uuid(cert_or_name: x509.Certificate | x509.Name) -> uuid.UUID | None:
    """The RFC 9562 UUID that names a device: subject serialNumber or a ``urn:uuid:`` SAN."""
    subject = cert_or_name.subject if isinstance(cert_or_name, x509.Certificate) else cert_or_name
    for attr in subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER):
        parsed = parse_uuid(str(attr.value))
        if parsed is not None:
            return parsed
    if isinstance(cert_or_name, x509.Certificate):
        for uri in san_uris(cert_or_name.extensions):
            if uri.lower().startswith("urn:uuid:"):
                return parse_uuid(uri[9:])
    return None


def parse_uuid(text: str) -> uuid.UUID | None:
    """A UUID in its canonical 8-4-4-4-12 form (RFC 9562 §4), else None."""
    if len(text) != 36:
        return None
    try:
        value = uuid.UUID(text)
    except ValueError:
        return None
    return value if str(value) == text.lower() else None


def san_uris(extensions: x509.Extensions) -> list[str]:
    """URIs of the subjectAltName extension (empty when absent)."""
    try:
        san = extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(v) for v in san.get_values_for_type(x509.UniformResourceIdentifier)]


def _ski(pub: PublicKey) -> x509.SubjectKeyIdentifier:
    return x509.SubjectKeyIdentifier.from_public_key(pub)


def _build(
    *,
    subject: x509.Name,
    pub: PublicKey,
    issuer_name: x509.Name,
    signer: PrivateKey,
    serial: int,
    not_before: dt.datetime,
    not_after: dt.datetime,
    extensions: Sequence[Ext],
) -> x509.Certificate:
    if serial <= 0 or serial.bit_length() > 159:
        raise ValidationError(
            "serial must be positive and at most 20 octets (RFC 5280 §4.1.2.2)", reason="pki.serial"
        )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(pub)
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(_ski(pub), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False
        )
    )
    for ext, critical in extensions:
        builder = builder.add_extension(ext, critical=critical)
    return builder.sign(signer, signature_hash(signer))  # type: ignore[arg-type]


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    """digitalSignature for every certificate; keyCertSign and cRLSign for a CA's only."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _days(now: dt.datetime, days: int) -> tuple[dt.datetime, dt.datetime]:
    if now.tzinfo is None:
        raise ValidationError("now must be timezone-aware", reason="pki.time")
    start = now - dt.timedelta(minutes=5)  # small clock skew allowance for devices
    return start, now + dt.timedelta(days=days)


def _end_entity(
    subject: x509.Name,
    pub: PublicKey,
    issuer: Issuer,
    *,
    serial: int,
    now: dt.datetime,
    days: int,
    usage: x509.ObjectIdentifier,
    more: Sequence[Ext] = (),
) -> x509.Certificate:
    """An end-entity certificate of ``issuer``: cA FALSE, the end-entity key usage, the extended key
    usage ``usage``, then ``more``; valid ``days`` from ``now`` but never beyond the issuer."""
    nb, na = _days(now, days)
    return _build(
        subject=subject,
        pub=pub,
        issuer_name=issuer.cert.subject,
        signer=issuer.key,
        serial=serial,
        not_before=nb,
        not_after=min(na, issuer.cert.not_valid_after_utc),
        extensions=[
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (_key_usage(ca=False), True),
            (x509.ExtendedKeyUsage([usage]), False),
            *more,
        ],
    )


def root_ca(
    key: PrivateKey, subject: x509.Name, *, serial: int, now: dt.datetime, days: int = 3650
) -> x509.Certificate:
    """A self-signed root CA (RFC 5280 §4.2.1.9: cA TRUE, critical)."""
    nb, na = _days(now, days)
    return _build(
        subject=subject,
        pub=key.public_key(),
        issuer_name=subject,
        signer=key,
        serial=serial,
        not_before=nb,
        not_after=na,
        extensions=[(x509.BasicConstraints(ca=True, path_length=None), True), (_key_usage(ca=True), True)],
    )


def issuing_ca(
    pub: PublicKey, subject: x509.Name, issuer: Issuer, *, serial: int, now: dt.datetime, days: int = 1825
) -> x509.Certificate:
    """An issuing CA under ``issuer`` (path length 0: it issues end entities only)."""
    nb, na = _days(now, days)
    na = min(na, issuer.cert.not_valid_after_utc)
    return _build(
        subject=subject,
        pub=pub,
        issuer_name=issuer.cert.subject,
        signer=issuer.key,
        serial=serial,
        not_before=nb,
        not_after=na,
        extensions=[(x509.BasicConstraints(ca=True, path_length=0), True), (_key_usage(ca=True), True)],
    )


def link_certificate(
    subject_cert: x509.Certificate, signer: Issuer, *, serial: int, now: dt.datetime
) -> x509.Certificate:
    """A root key update link (RFC 4210 §4.4, used by RFC 7030 §4.1.3).

    ``link_certificate(new_root, Issuer(old_root, old_key))`` is NewWithOld: the new public key signed
    by the old key; ``link_certificate(old_root, Issuer(new_root, new_key))`` is OldWithNew. The link
    ends with the earlier of the two roots.
    """
    na = min(subject_cert.not_valid_after_utc, signer.cert.not_valid_after_utc)
    pub = check_public_key(subject_cert.public_key())
    return _build(
        subject=subject_cert.subject,
        pub=pub,
        issuer_name=signer.cert.subject,
        signer=signer.key,
        serial=serial,
        not_before=now - dt.timedelta(minutes=5),
        not_after=na,
        extensions=[(x509.BasicConstraints(ca=True, path_length=None), True), (_key_usage(ca=True), True)],
    )


def server_cert(
    pub: PublicKey,
    issuer: Issuer,
    *,
    dns_names: Sequence[str] = (),
    ips: Sequence[str] = (),
    serial: int,
    now: dt.datetime,
    days: int = 397,
) -> x509.Certificate:
    """A TLS server certificate (EKU serverAuth; names in the SAN, RFC 6125 §6.4.4)."""
    if not dns_names and not ips:
        raise ValidationError(
            "a server certificate needs a DNS name or an IP address", reason="pki.server.names"
        )
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns_names]
    try:
        names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    except ValueError as exc:
        raise ValidationError(f"bad IP address: {exc}", reason="pki.server.ip") from exc
    cn = dns_names[0] if dns_names else ips[0]
    return _end_entity(
        name(cn),
        pub,
        issuer,
        serial=serial,
        now=now,
        days=days,
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
        more=[(x509.SubjectAlternativeName(names), False)],
    )


def operator_cert(
    pub: PublicKey, issuer: Issuer, *, operator: str, serial: int, now: dt.datetime, days: int = 365
) -> x509.Certificate:
    """A certificate for a human operator or an operations service (EKU clientAuth)."""
    subject = name(operator, organization="operators")
    return _end_entity(
        subject, pub, issuer, serial=serial, now=now, days=days, usage=ExtendedKeyUsageOID.CLIENT_AUTH
    )


def device_subject(device: uuid.UUID, model: str | None = None) -> x509.Name:
    """Subject of a device identity: ``CN=<model>, serialNumber=<uuid>`` (IDevID) or the UUID only."""
    attrs = []
    if model:
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, model))
    attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, str(device)))
    return x509.Name(attrs)


def device_cert(
    pub: PublicKey,
    issuer: Issuer,
    *,
    device: uuid.UUID,
    serial: int,
    now: dt.datetime,
    subject: x509.Name | None = None,
    model: str | None = None,
    mud_url: str | None = None,
    days: int = 365,
) -> x509.Certificate:
    """A device identity certificate (IDevID when ``model`` is given, LDevID otherwise).

    The UUID is both the subject serialNumber and a ``urn:uuid:`` URI SAN; a MUD URL goes in the
    non-critical extension of RFC 8520 §10.
    """
    subj = subject if subject is not None else device_subject(device, model)
    exts: list[Ext] = [
        (x509.SubjectAlternativeName([x509.UniformResourceIdentifier(f"urn:uuid:{device}")]), False),
    ]
    if mud_url:
        exts.append((x509.UnrecognizedExtension(MUD_URL_OID, encode_mud_url(mud_url)), False))
    return _end_entity(
        subj, pub, issuer, serial=serial, now=now, days=days, usage=ExtendedKeyUsageOID.CLIENT_AUTH, more=exts
    )


def is_ca(cert: x509.Certificate) -> bool:
    """True when the certificate asserts cA in its basic constraints."""
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def is_self_signed(cert: x509.Certificate) -> bool:
    """Subject equals issuer and the signature verifies with the certificate's own key."""
    if cert.subject != cert.issuer:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


__all__ = [
    "MUD_URL_OID",
    "Issuer",
    "decode_mud_url",
    "device_cert",
    "device_subject",
    "device_uuid",
    "encode_mud_url",
    "fingerprint",
    "is_ca",
    "is_self_signed",
    "issuing_ca",
    "link_certificate",
    "mud_url_of",
    "name",
    "name_text",
    "operator_cert",
    "parse_uuid",
    "root_ca",
    "san_uris",
    "server_cert",
]
