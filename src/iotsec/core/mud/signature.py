"""MUD file signatures: detached CMS SignedData in DER (RFC 8520 §13, CMS per RFC 5652).

Made and verified here with ``asn1crypto`` (the CMS structures) and ``cryptography`` (the
signature primitives and X.509), because ``cryptography`` can make but not verify CMS. Pure:
bytes, certificates and ``now`` in; a signer certificate out, or a typed error.

Verification (RFC 8520 §13.2, RFC 5652 §5.4/§5.6):
1. the signature is a ContentInfo/SignedData with *no* encapsulated content (detached);
2. one SignerInfo with signed attributes: content-type ``id-data`` and a message digest equal to
   the digest of the MUD file bytes;
3. the signature over the DER SET OF signed attributes verifies with the signer certificate's key;
4. the signer certificate chains (through the certificates in the message) to one of the given
   manufacturer trust anchors, every certificate valid at ``now``;
5. optionally, the signer's subject equals the expected signer (the ``id-pe-mudsigner`` extension
   of the device certificate, RFC 8520 §11, or the signer of the previous MUD file, §13.2).

Errors: malformed DER -> DecodeError; structure against the rules -> ValidationError; a digest or
signature that does not verify -> VerifyError; a chain that does not reach the manufacturer's
anchor, an expired certificate or an unexpected signer -> PolicyError.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime

from asn1crypto import algos, cms
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from iotsec.errors import (
    DecodeError,
    IotSecError,
    PolicyError,
    UnsupportedError,
    ValidationError,
    VerifyError,
)

SigningKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
# what cryptography raises on certificates that parse as DER but carry bad content
_CERT_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    UnsupportedAlgorithm,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
    x509.InvalidVersion,
)
_EXT_ERRORS: tuple[type[Exception], ...] = (x509.ExtensionNotFound, *_CERT_ERRORS)
_ISSUE_ERRORS: tuple[type[Exception], ...] = (TypeError, InvalidSignature, *_CERT_ERRORS)
_ANY_ERRORS: tuple[type[Exception], ...] = (KeyError, IndexError, TypeError, *_CERT_ERRORS)
MAX_SIGNATURE_BYTES = 256 * 1024
MAX_CHAIN = 8
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def _digest(name: str, data: bytes) -> bytes:
    return hashlib.new(name, data).digest()


def sign_mud(
    content: bytes,
    key: SigningKey,
    cert: x509.Certificate,
    *,
    now: datetime,
    chain: Sequence[x509.Certificate] = (),
    digest: str = "sha256",
) -> bytes:
    """Detached CMS SignedData (DER) over ``content`` (RFC 8520 §13.1), with the signer certificate
    and ``chain`` (intermediates) included, signing time ``now``."""
    if digest not in _HASHES:
        raise UnsupportedError(f"digest {digest} not supported", reason="mud.signature.digest")
    if now.tzinfo is None:
        raise ValidationError("now must be timezone-aware", reason="mud.signature.time")
    attrs = cms.CMSAttributes(
        [
            cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
            cms.CMSAttribute({"type": "signing_time", "values": [cms.Time({"utc_time": now})]}),
            cms.CMSAttribute({"type": "message_digest", "values": [_digest(digest, content)]}),
        ]
    )
    to_sign = attrs.dump()  # RFC 5652 §5.4: the DER of the SET OF attributes is what gets signed
    h = _HASHES[digest]()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        sig, alg = key.sign(to_sign, ec.ECDSA(h)), f"{digest}_ecdsa"
    elif isinstance(key, rsa.RSAPrivateKey):
        sig, alg = key.sign(to_sign, padding.PKCS1v15(), h), "rsassa_pkcs1v15"
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        sig, alg = key.sign(to_sign), "ed25519"  # RFC 8419
    else:
        raise UnsupportedError("unsupported signing key type", reason="mud.signature.key")
    a_cert = ax509.Certificate.load(cert.public_bytes(Encoding.DER))
    signer = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                        {"issuer": a_cert.issuer, "serial_number": a_cert.serial_number}
                    )
                }
            ),
            "digest_algorithm": algos.DigestAlgorithm({"algorithm": digest}),
            "signed_attrs": attrs,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": alg}),
            "signature": sig,
        }
    )
    certs = [a_cert] + [ax509.Certificate.load(c.public_bytes(Encoding.DER)) for c in chain]
    signed = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [algos.DigestAlgorithm({"algorithm": digest})],
            "encap_content_info": {"content_type": "data"},  # detached: eContent absent
            "certificates": [cms.CertificateChoices({"certificate": c}) for c in certs],
            "signer_infos": [signer],
        }
    )
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump())


def _load(signature: bytes) -> tuple[cms.SignedData, list[x509.Certificate]]:
    if not isinstance(signature, bytes | bytearray) or not signature:
        raise DecodeError("signature is empty", reason="mud.signature.der")
    if len(signature) > MAX_SIGNATURE_BYTES:
        raise DecodeError("signature too large", reason="mud.signature.size")
    try:
        ci = cms.ContentInfo.load(bytes(signature), strict=True)
        if ci["content_type"].native != "signed_data":
            raise ValidationError("not a CMS SignedData", reason="mud.signature.type")
        sd = ci["content"]
        certs: list[x509.Certificate] = []
        for choice in sd["certificates"] or []:
            if choice.name == "certificate":
                certs.append(x509.load_der_x509_certificate(choice.chosen.dump()))
    except (ValidationError, DecodeError):
        raise
    except Exception as err:  # asn1crypto raises ValueError/TypeError/KeyError... on hostile DER
        raise DecodeError(
            f"signature is not valid DER CMS: {type(err).__name__}", reason="mud.signature.der"
        ) from err
    return sd, certs


def _find_signer(si: cms.SignerInfo, certs: list[x509.Certificate]) -> x509.Certificate:
    try:
        return _find_signer_unchecked(si, certs)
    except (ValidationError, DecodeError):
        raise
    except Exception as err:  # hostile DER inside the SignerIdentifier
        raise DecodeError(
            f"malformed signer identifier: {type(err).__name__}", reason="mud.signature.der"
        ) from err


def _find_signer_unchecked(si: cms.SignerInfo, certs: list[x509.Certificate]) -> x509.Certificate:
    sid = si["sid"]
    for c in certs:
        if sid.name == "issuer_and_serial_number":
            ias = sid.chosen
            if ias["serial_number"].native != c.serial_number:
                continue
            issuer = ias["issuer"]
            # signers copy the issuer Name bytes from the certificate; compare semantically otherwise
            if issuer.dump() == c.issuer.public_bytes() or (
                ax509.Certificate.load(c.public_bytes(Encoding.DER)).issuer == issuer
            ):
                return c
        elif sid.name == "subject_key_identifier":
            try:
                ski = c.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
            except _EXT_ERRORS:
                continue
            if ski == sid.chosen.native:
                return c
    raise ValidationError(
        "signer certificate not included in the signature", reason="mud.signature.no-signer-cert"
    )


def _check_sig(cert: x509.Certificate, alg: str, digest: str, sig: bytes, data: bytes) -> None:
    try:
        pub = cert.public_key()
    except _CERT_ERRORS as err:
        raise DecodeError("signer certificate has an unusable key", reason="mud.signature.cert") from err
    h = _HASHES[digest]()
    try:
        if isinstance(pub, ec.EllipticCurvePublicKey) and alg in ("ecdsa", f"{digest}_ecdsa"):
            pub.verify(sig, data, ec.ECDSA(h))
        elif isinstance(pub, rsa.RSAPublicKey) and alg in ("rsassa_pkcs1v15", f"{digest}_rsa"):
            pub.verify(sig, data, padding.PKCS1v15(), h)
        elif isinstance(pub, ed25519.Ed25519PublicKey) and alg == "ed25519":
            pub.verify(sig, data)
        else:
            raise UnsupportedError(
                f"signature algorithm {alg} with this key is not supported", reason="mud.signature.alg"
            )
    except InvalidSignature as err:
        raise VerifyError("MUD signature does not verify", reason="mud.signature.invalid") from err


def _valid_at(c: x509.Certificate, now: datetime) -> None:
    if not c.not_valid_before_utc <= now <= c.not_valid_after_utc:
        raise PolicyError(
            f"certificate {c.subject.rfc4514_string()} is not valid at {now.isoformat()}",
            reason="mud.signature.cert-time",
        )


def _issued_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    if child.issuer != issuer.subject:
        return False
    try:
        child.verify_directly_issued_by(issuer)
    except _ISSUE_ERRORS:
        return False
    return True


def _is_ca(c: x509.Certificate) -> bool:
    try:
        return bool(c.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except _EXT_ERRORS:
        return False


def _chain(
    signer: x509.Certificate, pool: list[x509.Certificate], anchors: Sequence[x509.Certificate], now: datetime
) -> list[x509.Certificate]:
    path = [signer]
    current = signer
    for _ in range(MAX_CHAIN):
        _valid_at(current, now)
        for a in anchors:
            if a == current or _issued_by(current, a):
                if a != current:
                    _valid_at(a, now)
                return path if a == current else [*path, a]
        nxt = next((c for c in pool if c not in path and _is_ca(c) and _issued_by(current, c)), None)
        if nxt is None:
            break
        path.append(nxt)
        current = nxt
    raise PolicyError(
        "MUD file signer does not chain to the manufacturer's trust anchor", reason="mud.signature.untrusted"
    )


def verify_mud_signature(
    content: bytes,
    signature: bytes,
    *,
    trust_anchors: Sequence[x509.Certificate],
    now: datetime,
    intermediates: Sequence[x509.Certificate] = (),
    expected_signer: x509.Name | bytes | None = None,
) -> x509.Certificate:
    """Verify a detached MUD signature (see the module doc); return the signer certificate or raise."""
    try:
        return _verify(
            content,
            signature,
            trust_anchors=trust_anchors,
            now=now,
            intermediates=intermediates,
            expected_signer=expected_signer,
        )
    except IotSecError:
        raise
    except _ANY_ERRORS as err:  # hostile content in the certificates
        raise DecodeError(
            f"malformed signature content: {type(err).__name__}", reason="mud.signature.der"
        ) from err


def _verify(
    content: bytes,
    signature: bytes,
    *,
    trust_anchors: Sequence[x509.Certificate],
    now: datetime,
    intermediates: Sequence[x509.Certificate] = (),
    expected_signer: x509.Name | bytes | None = None,
) -> x509.Certificate:
    if not trust_anchors:
        raise PolicyError(
            "no trust anchor configured for this manufacturer", reason="mud.signature.no-anchor"
        )
    sd, certs = _load(signature)
    try:
        eci = sd["encap_content_info"]
        if eci["content_type"].native != "data":
            raise ValidationError("signed content type must be id-data", reason="mud.signature.content-type")
        if eci["content"].native is not None:  # RFC 8520 §13: the signature is detached
            raise ValidationError("signature must be detached", reason="mud.signature.not-detached")
        infos = list(sd["signer_infos"])
        if len(infos) != 1:
            raise ValidationError("exactly one SignerInfo expected", reason="mud.signature.signers")
        si = infos[0]
        digest = si["digest_algorithm"]["algorithm"].native
        alg_name = si["signature_algorithm"]["algorithm"].native
        attrs = si["signed_attrs"]
        if not attrs or attrs.native is None:
            raise ValidationError("signed attributes are required", reason="mud.signature.no-attrs")
        values = {a["type"].native: a["values"] for a in attrs}
        sig = si["signature"].native
    except (ValidationError, DecodeError):
        raise
    except Exception as err:
        raise DecodeError(f"malformed SignerInfo: {type(err).__name__}", reason="mud.signature.der") from err
    if digest not in _HASHES:
        raise UnsupportedError(f"digest {digest} not supported", reason="mud.signature.digest")
    ct = values.get("content_type")
    md = values.get("message_digest")
    if ct is None or md is None or len(ct) != 1 or len(md) != 1 or ct[0].native != "data":
        raise ValidationError(
            "content-type and message-digest attributes are required", reason="mud.signature.attrs"
        )
    if not hmac.compare_digest(md[0].native, _digest(digest, content)):
        raise VerifyError("MUD file does not match the signed digest", reason="mud.signature.digest-mismatch")
    signer = _find_signer(si, certs)
    signed_bytes = b"\x31" + attrs.dump()[1:]  # [0] IMPLICIT -> SET OF, exact bytes received (RFC 5652 §5.4)
    _check_sig(signer, alg_name, digest, sig, signed_bytes)
    try:
        ku = signer.extensions.get_extension_for_class(x509.KeyUsage).value
        if not ku.digital_signature:
            raise PolicyError("signer certificate may not sign", reason="mud.signature.key-usage")
    except x509.ExtensionNotFound:
        pass
    except _CERT_ERRORS as err:
        raise DecodeError("signer certificate has malformed extensions", reason="mud.signature.cert") from err
    _chain(signer, [*certs, *intermediates], trust_anchors, now)
    if expected_signer is not None:
        # a Name, or its DER as carried by the id-pe-mudsigner extension (RFC 8520 §11)
        want = expected_signer if isinstance(expected_signer, bytes) else expected_signer.public_bytes()
        if signer.subject.public_bytes() != want:
            raise PolicyError(
                f"MUD file signed by {signer.subject.rfc4514_string()}, not by the expected signer",
                reason="mud.signature.signer-mismatch",
            )
    return signer
