"""RFC 7030 message formats: base64 bodies, PKCS#7 certs-only, CSR attributes, server keygen.

Pure: bytes in, objects or typed errors out. RFC 8951 (EST clarifications) fixes the body encoding
as base64 of DER regardless of any Content-Transfer-Encoding header; line breaks are allowed.
"""

from __future__ import annotations

import base64
import binascii
import email.message
import email.parser
import email.policy
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from asn1crypto import cms
from asn1crypto import core as asn1core
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

from iotsec.errors import DecodeError, ValidationError

# RFC 7030 §3.2.2 operation path segments (fullcmc is not offered by iotsec)
OPERATIONS = ("cacerts", "simpleenroll", "simplereenroll", "fullcmc", "serverkeygen", "csrattrs")
WELL_KNOWN = "/.well-known/est"
# RFC 7030 §3.2.2: a label is one path segment; iotsec restricts it to a safe, short alphabet
LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

PKCS7_CERTS_ONLY = "application/pkcs7-mime; smime-type=certs-only"  # RFC 7030 §4.1.3, RFC 5751 §3.2.2
PKCS10 = "application/pkcs10"  # RFC 7030 §4.2.1
PKCS8 = "application/pkcs8"  # RFC 7030 §4.4.2, RFC 5958 §7
CSRATTRS = "application/csrattrs"  # RFC 7030 §4.5.2

MAX_BODY = 64 * 1024
_WS = re.compile(rb"[ \t\r\n]+")


def check_label(label: str) -> str:
    """A label usable as ``/.well-known/est/<label>/...`` (RFC 7030 §3.2.2)."""
    if not LABEL_RE.match(label) or label in OPERATIONS:
        raise ValidationError(f"bad EST label {label!r}", reason="est.label")
    return label


def est_path(operation: str, label: str | None = None) -> str:
    """``/.well-known/est[/<label>]/<operation>``."""
    if operation not in OPERATIONS:
        raise ValidationError(f"unknown EST operation {operation!r}", reason="est.operation")
    return f"{WELL_KNOWN}/{check_label(label)}/{operation}" if label else f"{WELL_KNOWN}/{operation}"


def b64_encode(der: bytes) -> bytes:
    """base64 with 64-character lines (RFC 7030 §4.1.3, RFC 8951 §3.1)."""
    text = base64.b64encode(der)
    return b"".join(text[i : i + 64] + b"\n" for i in range(0, len(text), 64))


def b64_decode(body: bytes, *, max_size: int = MAX_BODY) -> bytes:
    """Strict base64 (whitespace and line breaks ignored), bounded in size."""
    if len(body) > max_size:
        raise DecodeError("EST body too large", reason="est.body.size")
    compact = _WS.sub(b"", body)
    if not compact:
        raise DecodeError("empty EST body", reason="est.body.empty")
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecodeError("EST body is not base64 (RFC 8951 §3.1)", reason="est.body.base64") from exc


def encode_certs_only(certs: Sequence[x509.Certificate]) -> bytes:
    """DER of a degenerate CMS SignedData carrying ``certs`` (RFC 5652 §5, "certs-only")."""
    if not certs:
        raise ValidationError("certs-only needs at least one certificate", reason="est.pkcs7.empty")
    return pkcs7.serialize_certificates(list(certs), Encoding.DER)


def decode_certs_only(der: bytes) -> list[x509.Certificate]:
    """Certificates of a certs-only CMS SignedData: no signers, no content (RFC 7030 §4.1.3)."""
    if len(der) > MAX_BODY * 4:
        raise DecodeError("PKCS#7 too large", reason="est.pkcs7.size")
    try:
        info = cms.ContentInfo.load(der, strict=True)
        if info["content_type"].native != "signed_data":
            raise DecodeError("PKCS#7 is not SignedData", reason="est.pkcs7.type")
        signed = info["content"]
        if len(signed["signer_infos"]) != 0:
            raise DecodeError("certs-only PKCS#7 must carry no signers", reason="est.pkcs7.signers")
        choices = signed["certificates"]
        raw = [c.chosen.dump() for c in choices] if choices.native is not None else []
    except DecodeError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError) as exc:
        raise DecodeError("malformed PKCS#7 certs-only", reason="est.pkcs7.decode") from exc
    if not raw:
        raise DecodeError("PKCS#7 certs-only holds no certificate", reason="est.pkcs7.empty")
    try:
        return [x509.load_der_x509_certificate(r) for r in raw]
    except (ValueError, TypeError) as exc:
        raise DecodeError("malformed certificate in PKCS#7", reason="est.pkcs7.cert") from exc


# RFC 7030 §4.5.2: CsrAttrs ::= SEQUENCE SIZE (0..MAX) OF AttrOrOID
class _SetOfAny(asn1core.SetOf):  # type: ignore[misc]
    _child_spec = asn1core.Any


class _Attribute(asn1core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[list[tuple[str, Any]]] = [("type", asn1core.ObjectIdentifier), ("values", _SetOfAny)]


class _AttrOrOID(asn1core.Choice):  # type: ignore[misc]
    _alternatives: ClassVar[list[tuple[str, Any]]] = [
        ("oid", asn1core.ObjectIdentifier),
        ("attribute", _Attribute),
    ]


class _CsrAttrs(asn1core.SequenceOf):  # type: ignore[misc]
    _child_spec = _AttrOrOID


@dataclass(frozen=True)
class CsrAttr:
    """One CsrAttrs entry: a bare OID, or an attribute with DER-encoded values."""

    oid: str
    values: tuple[bytes, ...] | None = None


def encode_csrattrs(items: Sequence[CsrAttr]) -> bytes:
    """DER of CsrAttrs (RFC 7030 §4.5.2)."""
    out = []
    for item in items:
        if item.values is None:
            out.append(_AttrOrOID(name="oid", value=asn1core.ObjectIdentifier(item.oid)))
        else:
            vals = _SetOfAny([asn1core.Any.load(v) for v in item.values])
            out.append(_AttrOrOID(name="attribute", value=_Attribute({"type": item.oid, "values": vals})))
    return bytes(_CsrAttrs(out).dump())


def decode_csrattrs(der: bytes) -> list[CsrAttr]:
    """Parse CsrAttrs DER."""
    try:
        parsed = _CsrAttrs.load(der, strict=True)
        result = []
        for entry in parsed:
            if entry.name == "oid":
                result.append(CsrAttr(entry.chosen.dotted))
            else:
                attr = entry.chosen
                result.append(CsrAttr(attr["type"].dotted, tuple(v.dump() for v in attr["values"])))
        return result
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError) as exc:
        raise DecodeError("malformed CsrAttrs", reason="est.csrattrs.decode") from exc


def oid_der(oid: str) -> bytes:
    """DER of an OBJECT IDENTIFIER, e.g. for an ecPublicKey curve parameter in CsrAttrs."""
    return bytes(asn1core.ObjectIdentifier(oid).dump())


def encode_serverkeygen(
    pkcs8_der: bytes, certs: Sequence[x509.Certificate], *, boundary: str
) -> tuple[str, bytes]:
    """``multipart/mixed`` with the PKCS#8 key then the certs-only PKCS#7 (RFC 7030 §4.4.2)."""
    if not re.fullmatch(r"[A-Za-z0-9'()+_,./:=?-]{1,70}", boundary):
        raise ValidationError("bad MIME boundary (RFC 2046 §5.1.1)", reason="est.multipart.boundary")
    parts = [
        (PKCS8, pkcs8_der),
        (PKCS7_CERTS_ONLY, encode_certs_only(certs)),
    ]
    body = b""
    for ctype, der in parts:
        body += f"--{boundary}\r\nContent-Type: {ctype}\r\n".encode()
        body += b"Content-Transfer-Encoding: base64\r\n\r\n"
        body += b64_encode(der).replace(b"\n", b"\r\n")
    body += f"--{boundary}--\r\n".encode()
    return f"multipart/mixed; boundary={boundary}", body


def decode_serverkeygen(content_type: str, body: bytes) -> tuple[bytes, list[x509.Certificate]]:
    """(PKCS#8 DER, certificates) from a serverkeygen response (RFC 7030 §4.4.2)."""
    if len(body) > MAX_BODY * 4:
        raise DecodeError("serverkeygen response too large", reason="est.multipart.size")
    if not content_type.lower().startswith("multipart/mixed"):
        raise DecodeError("serverkeygen response is not multipart/mixed", reason="est.multipart.type")
    try:
        head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
        msg = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(head + body)
        payload = msg.get_payload()
    except (ValueError, TypeError, UnicodeError, LookupError) as exc:
        raise DecodeError("malformed multipart body", reason="est.multipart.decode") from exc
    if not isinstance(payload, list):
        raise DecodeError("multipart body has no parts", reason="est.multipart.decode")
    key: bytes | None = None
    certs: list[x509.Certificate] | None = None
    for part in payload:
        if not isinstance(part, email.message.Message):
            raise DecodeError("malformed multipart part", reason="est.multipart.decode")
        ctype = part.get_content_type()
        raw = part.get_payload(decode=False)
        if not isinstance(raw, str):
            raise DecodeError("nested multipart not allowed", reason="est.multipart.decode")
        data = b64_decode(raw.encode("latin-1", "replace"), max_size=MAX_BODY * 4)
        if ctype == PKCS8 and key is None:
            key = data
        elif ctype == "application/pkcs7-mime" and certs is None:
            certs = decode_certs_only(data)
    if key is None or certs is None:
        raise DecodeError(
            "serverkeygen response lacks the key or the certificate part", reason="est.multipart.parts"
        )
    return key, certs


__all__ = [
    "CSRATTRS",
    "MAX_BODY",
    "OPERATIONS",
    "PKCS7_CERTS_ONLY",
    "PKCS8",
    "PKCS10",
    "WELL_KNOWN",
    "CsrAttr",
    "b64_decode",
    "b64_encode",
    "check_label",
    "decode_certs_only",
    "decode_csrattrs",
    "decode_serverkeygen",
    "encode_certs_only",
    "encode_csrattrs",
    "encode_serverkeygen",
    "est_path",
    "oid_der",
]
