"""Enrollment use cases (RFC 7030): enroll, re-enroll, server keygen, approval, revocation, CRL.

Works over small Protocols (:class:`EnrollmentStore`, :class:`SecretHasher`) so the HTTP adapter,
the CLI and tests share one implementation. Authentication of a request:

* a TLS client certificate that this CA issued and recorded (an IDevID for ``simpleenroll``, the
  device's *current* LDevID for ``simplereenroll``, RFC 7030 §3.3.2, §4.2.2), or
* HTTP Basic with the device UUID and its one-time bootstrap secret (RFC 7030 §3.2.3), checked
  against an argon2id hash; failures count, back off exponentially and lock the device out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from iotsec.clock import Clock
from iotsec.core import pki
from iotsec.core.est import CsrAttr, oid_der
from iotsec.errors import AuthenticationError, ConflictError, NotFoundError, PolicyError, ValidationError
from iotsec.services.enrollment_model import (
    Argon2Hasher,
    Backoff,
    CaBundle,
    CertKind,
    CertRecord,
    DeviceRecord,
    EnrollmentPolicy,
    EnrollmentStore,
    EventRecord,
    Issued,
    Peer,
    Pending,
    PendingRecord,
    SecretHasher,
)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


@dataclass(frozen=True)
class _Auth:
    device: DeviceRecord
    via: Literal["idevid", "ldevid", "secret"]
    cert: CertRecord | None = None


class EnrollmentService:
    """The EST use cases over a store, a CA bundle, a secret hasher and a clock."""

    def __init__(
        self,
        store: EnrollmentStore,
        ca: CaBundle,
        *,
        hasher: SecretHasher,
        clock: Clock,
        policy: EnrollmentPolicy | None = None,
        serials: Callable[[], int] = x509.random_serial_number,
    ) -> None:
        self.store = store
        self.ca = ca
        self.hasher = hasher
        self.clock = clock
        self.policy = policy or EnrollmentPolicy()
        self.serials = serials

    # ---- registration (manufacturing) ---------------------------------------------------------

    def register_device(
        self, idevid: x509.Certificate, *, model: str | None, secret: str | None, mud_url: str | None = None
    ) -> DeviceRecord:
        """Record a manufactured device, its IDevID and the argon2id hash of its one-time secret."""
        device = pki.device_uuid(idevid)
        if device is None:
            raise ValidationError("IDevID names no UUID", reason="est.identity.missing")
        if self.store.get_device(device) is not None:
            raise ConflictError(f"device {device} already registered", reason="est.device.exists")
        rec = DeviceRecord(
            device=device,
            model=model,
            mud_url=mud_url,
            secret_hash=self.hasher.hash(secret) if secret else None,
        )
        self.store.put_device(rec)
        self.record_cert(idevid, "idevid", device)
        return rec

    def record_cert(self, cert: x509.Certificate, kind: CertKind, device: uuid.UUID | None) -> CertRecord:
        """Store a certificate this CA issued (IDevID at manufacture, LDevID, server, operator)."""
        rec = self._cert_record(cert, kind, device)
        self.store.put_cert(rec)
        return rec

    @staticmethod
    def _cert_record(cert: x509.Certificate, kind: CertKind, device: uuid.UUID | None) -> CertRecord:
        return CertRecord(
            fingerprint=pki.fingerprint(cert),
            serial=cert.serial_number,
            kind=kind,
            subject=pki.name_text(cert.subject),
            issuer=pki.name_text(cert.issuer),
            not_after=cert.not_valid_after_utc,
            der=cert.public_bytes(Encoding.DER),
            device=device,
        )

    # ---- RFC 7030 operations ------------------------------------------------------------------

    def check_label(self, label: str | None) -> None:
        if label is not None and label not in self.policy.labels:
            raise NotFoundError(f"unknown EST label {label!r}", reason="est.label.unknown")

    def cacerts(self, label: str | None = None) -> list[x509.Certificate]:
        """RFC 7030 §4.1: the current CA certificates, rollover links included."""
        self.check_label(label)
        return list(self.ca.cacerts) or [self.ca.issuer.cert]

    def csrattrs(self, label: str | None = None) -> list[CsrAttr]:
        """RFC 7030 §4.5: what the CA wants in a CSR (P-256 key, ECDSA with SHA-256, serialNumber)."""
        self.check_label(label)
        attrs = [
            CsrAttr("1.2.840.10045.2.1", (oid_der("1.2.840.10045.3.1.7"),)),  # id-ecPublicKey {P-256}
            CsrAttr("1.2.840.10045.4.3.2"),  # ecdsa-with-SHA256
            CsrAttr("2.5.4.5"),  # serialNumber: the device UUID
        ]
        if self.policy.challenge_password is not None:
            attrs.insert(0, CsrAttr("1.2.840.113549.1.9.7"))  # challengePassword
        return attrs

    def enroll(self, peer: Peer, csr_der: bytes, *, label: str | None = None) -> Issued | Pending:
        """RFC 7030 §4.2.1 simpleenroll."""
        self.check_label(label)
        auth = self._authenticate(peer, "enroll", label)
        checked = self._check(auth, csr_der, exact_subject=None, op="enroll", label=label)
        if self.policy.approval == "manual":
            pending = self._pending(auth, checked, label)
            if pending is not None:
                return pending
        return self._issue(auth, checked, "enroll", label)

    def reenroll(self, peer: Peer, csr_der: bytes, *, label: str | None = None) -> Issued:
        """RFC 7030 §4.2.2 simplereenroll: only with the device's current LDevID, same subject."""
        self.check_label(label)
        auth = self._authenticate(peer, "reenroll", label)
        if auth.via != "ldevid" or auth.cert is None or peer.cert is None:
            self._fail(auth.device.device, "reenroll", "est.reenroll.cert", label)
            raise PolicyError("re-enrollment needs the current LDevID", reason="est.reenroll.cert")
        checked = self._check(auth, csr_der, exact_subject=peer.cert.subject, op="reenroll", label=label)
        return self._issue(auth, checked, "reenroll", label)

    def serverkeygen(
        self, peer: Peer, csr_der: bytes, *, label: str | None = None
    ) -> tuple[pki.PrivateKey, Issued] | Pending:
        """RFC 7030 §4.4: the server makes the key; the CSR carries the subject (its key is not used)."""
        self.check_label(label)
        auth = self._authenticate(peer, "serverkeygen", label)
        checked = self._check(auth, csr_der, exact_subject=None, op="serverkeygen", label=label)
        if self.policy.approval == "manual":
            pending = self._pending(auth, checked, label)
            if pending is not None:
                return pending
        key = pki.generate_key(self.policy.serverkeygen_key)
        issued = self._issue(auth, replace(checked, public_key=key.public_key()), "serverkeygen", label)
        return key, issued

    # ---- operator actions ---------------------------------------------------------------------

    def approve(self, pending_id: str, *, accept: bool = True) -> PendingRecord:
        rec = self.store.get_pending(pending_id)
        if rec is None:
            raise NotFoundError(f"no pending request {pending_id}", reason="est.pending.unknown")
        rec.status = "approved" if accept else "rejected"
        self.store.put_pending(rec)
        self._event("approve" if accept else "reject", "ok", "", rec.device, rec.label)
        return rec

    def revoke_device(self, device: uuid.UUID, *, reason: str = "unspecified") -> list[CertRecord]:
        """Revoke a device: it can no longer enroll or re-enroll, and its certificates go on the CRL."""
        rec = self.store.get_device(device)
        if rec is None:
            raise NotFoundError(f"unknown device {device}", reason="est.device.unknown")
        rec.status = "revoked"
        self.store.put_device(rec)
        now = self.clock.now()
        revoked = []
        for cert in self.store.certs_of(device):
            if cert.revoked_at is None:
                cert.revoked_at, cert.revocation_reason = now, reason
                self.store.put_cert(cert)
                revoked.append(cert)
        self._event("revoke", "ok", reason, device, None)
        return revoked

    def revoke_serial(self, serial: int, *, reason: str = "unspecified") -> list[CertRecord]:
        """Revoke the certificate(s) with ``serial``; a device's current LDevID stops re-enrolling."""
        found = self.store.certs_by_serial(serial)
        if not found:
            raise NotFoundError(f"no certificate with serial {serial:x}", reason="est.cert.unknown")
        now = self.clock.now()
        for cert in found:
            if cert.revoked_at is None:
                cert.revoked_at, cert.revocation_reason = now, reason
                self.store.put_cert(cert)
            self._event("revoke", "ok", f"serial={serial:x}", cert.device, None)
        return found

    def reset_lockout(self, device: uuid.UUID) -> None:
        self._device(device)
        self.store.reset_failures(device)

    def crl(self, issuer: pki.Issuer | None = None, *, hours: int = 24) -> x509.CertificateRevocationList:
        """A fresh CRL of ``issuer`` (default: the issuing CA) from the stored revocations."""
        signer = issuer or self.ca.issuer
        name = pki.name_text(signer.cert.subject)
        reasons = {**{r.name: r for r in x509.ReasonFlags}, **{r.value: r for r in x509.ReasonFlags}}
        entries = [
            pki.Revoked(
                c.serial, _utc(c.revoked_at) or self.clock.now(), reasons.get(c.revocation_reason or "")
            )
            for c in self.store.revoked_by(name)
        ]
        return pki.build_crl(
            signer,
            entries,
            number=self.store.next_crl_number(name),
            now=self.clock.now(),
            next_update_hours=hours,
        )

    # ---- internals ----------------------------------------------------------------------------

    def _device(self, device: uuid.UUID) -> DeviceRecord:
        rec = self.store.get_device(device)
        if rec is None:
            raise NotFoundError(f"unknown device {device}", reason="est.device.unknown")
        return rec

    def _event(
        self, kind: str, outcome: str, reason: str, device: uuid.UUID | None, label: str | None
    ) -> None:
        self.store.add_event(EventRecord(self.clock.now(), kind, outcome, reason, device, label))

    def _fail(self, device: uuid.UUID | None, op: str, reason: str, label: str | None) -> None:
        self._event(op, "refused", reason, device, label)

    def _authenticate(self, peer: Peer, op: str, label: str | None) -> _Auth:
        now = self.clock.now()
        if peer.cert is not None:
            rec = self.store.get_cert(pki.fingerprint(peer.cert))
            if rec is not None and rec.device is not None and rec.kind in ("idevid", "ldevid"):
                device = self._device(rec.device)
                if device.status == "revoked" or rec.revoked_at is not None:
                    self._fail(device.device, op, "est.device.revoked", label)
                    raise PolicyError("device or certificate revoked", reason="est.device.revoked")
                if not (peer.cert.not_valid_before_utc <= now <= peer.cert.not_valid_after_utc):
                    self._fail(device.device, op, "est.cert.expired", label)
                    raise AuthenticationError("client certificate not valid now", reason="est.cert.expired")
                if rec.kind == "ldevid" and device.current_ldevid != rec.fingerprint:
                    self._fail(device.device, op, "est.reenroll.notcurrent", label)
                    raise PolicyError("not the device's current LDevID", reason="est.reenroll.notcurrent")
                return _Auth(device, rec.kind, rec)
            if peer.basic is None:
                self._fail(None, op, "est.cert.unknown", label)
                raise AuthenticationError(
                    "client certificate not issued to a device here", reason="est.cert.unknown"
                )
        if peer.basic is not None and op != "reenroll":
            return self._authenticate_secret(peer.basic, op, label, now)
        self._fail(None, op, "est.auth.missing", label)
        raise AuthenticationError("authentication required (RFC 7030 §3.2.3)", reason="est.auth.missing")

    def _authenticate_secret(
        self, basic: tuple[str, str], op: str, label: str | None, now: dt.datetime
    ) -> _Auth:
        user, secret = basic
        parsed = pki.parse_uuid(user)
        device = self.store.get_device(parsed) if parsed is not None else None
        if device is None or device.secret_hash is None:
            burn = getattr(self.hasher, "burn", None)
            if callable(burn):
                burn(secret)
            self._fail(parsed, op, "est.auth.failed", label)
            raise AuthenticationError("bad credentials", reason="est.auth.failed")
        if device.failed_attempts >= self.policy.max_failures:
            self._fail(device.device, op, "est.auth.locked", label)
            raise Backoff("device locked after repeated failures", reason="est.auth.locked", retry_after=None)
        locked_until = _utc(device.locked_until)
        if locked_until is not None and now < locked_until:
            wait = max(1, int((locked_until - now).total_seconds() + 0.999))
            self._fail(device.device, op, "est.auth.backoff", label)
            raise Backoff("too many failed attempts, back off", reason="est.auth.backoff", retry_after=wait)
        ok = self.hasher.verify(device.secret_hash, secret)
        if ok and device.secret_used_at is not None:
            ok, why = False, "est.secret.used"
        else:
            why = "est.auth.failed"
        if device.status == "revoked" and ok:
            self._fail(device.device, op, "est.device.revoked", label)
            raise PolicyError("device revoked", reason="est.device.revoked")
        if not ok:

            def until(count: int) -> dt.datetime:
                delay = min(self.policy.backoff_max, self.policy.backoff_base * 2 ** (count - 1))
                return now + dt.timedelta(seconds=delay)

            self.store.add_failure(device.device, locked_until=until)
            self._fail(device.device, op, why, label)
            raise AuthenticationError("bad or already used bootstrap secret", reason=why)
        if device.failed_attempts or device.locked_until:
            self.store.reset_failures(device.device)
        return _Auth(device, "secret")

    def _check(
        self, auth: _Auth, csr_der: bytes, *, exact_subject: x509.Name | None, op: str, label: str | None
    ) -> pki.CheckedCsr:
        try:
            csr = pki.parse_csr(csr_der)
            return pki.check_csr(
                csr,
                identity=auth.device.device,
                exact_subject=exact_subject,
                expected_challenge=self.policy.challenge_password,
            )
        except Exception as exc:
            self._fail(auth.device.device, op, getattr(exc, "reason", "est.csr"), label)
            raise

    def _pending(self, auth: _Auth, checked: pki.CheckedCsr, label: str | None) -> Pending | None:
        # a request is identified by device and requested public key, so a retry (RFC 7030 §4.2.3)
        # may re-sign its CSR (ECDSA signatures differ each time) and still match
        spki = checked.public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        digest = hashlib.sha256(spki).hexdigest()
        rec = self.store.find_pending(auth.device.device, digest)
        if rec is None:
            rec = PendingRecord(
                id=uuid.uuid4().hex,
                device=auth.device.device,
                key_sha256=digest,
                status="pending",
                created_at=self.clock.now(),
                label=label,
            )
            self.store.put_pending(rec)
            self._event("enroll", "pending", "", auth.device.device, label)
        if rec.status == "rejected":
            raise PolicyError("enrollment request rejected by an operator", reason="est.rejected")
        if rec.status == "approved":
            rec.status = "done"
            self.store.put_pending(rec)
            return None
        if rec.status == "done":
            raise ConflictError("this request was already served", reason="est.pending.done")
        return Pending(rec.id, self.policy.retry_after)

    def _issue(self, auth: _Auth, checked: pki.CheckedCsr, op: str, label: str | None) -> Issued:
        device = auth.device
        now = self.clock.now()
        cert = pki.device_cert(
            checked.public_key,
            self.ca.issuer,
            device=device.device,
            serial=self.serials(),
            now=now,
            days=self.policy.ldevid_days,
            mud_url=device.mud_url,
        )
        rec = self._cert_record(cert, "ldevid", device.device)
        event = EventRecord(now, op, "issued", f"serial={cert.serial_number:x}", device.device, label)
        stored = self.store.record_issue(
            rec,
            event,
            secret_used_at=now if auth.via == "secret" else None,  # one-time: consumed atomically
            expect_current=auth.cert.fingerprint if auth.via == "ldevid" and auth.cert else None,
        )
        if not stored:  # a concurrent request used the secret / replaced the LDevID first
            if auth.via == "secret":
                self._fail(device.device, op, "est.secret.used", label)
                raise AuthenticationError("bootstrap secret already used", reason="est.secret.used")
            self._fail(device.device, op, "est.reenroll.notcurrent", label)
            raise PolicyError("not the device's current LDevID", reason="est.reenroll.notcurrent")
        device.current_ldevid = rec.fingerprint
        return Issued(cert, [self.ca.issuer.cert], device.device)


__all__ = [
    "Argon2Hasher",
    "Backoff",
    "CaBundle",
    "CertRecord",
    "DeviceRecord",
    "EnrollmentPolicy",
    "EnrollmentService",
    "EnrollmentStore",
    "EventRecord",
    "Issued",
    "Peer",
    "Pending",
    "PendingRecord",
    "SecretHasher",
]
