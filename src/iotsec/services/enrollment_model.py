"""Enrollment data: stored records, the store and hasher Protocols, policy, request and result types."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography import x509

from iotsec.core import pki
from iotsec.errors import PolicyError

CertKind = Literal["idevid", "ldevid", "server", "operator", "ca"]


@dataclass
class DeviceRecord:
    device: uuid.UUID
    model: str | None = None
    mud_url: str | None = None
    status: Literal["active", "revoked"] = "active"
    secret_hash: str | None = None
    secret_used_at: dt.datetime | None = None
    failed_attempts: int = 0
    locked_until: dt.datetime | None = None
    current_ldevid: str | None = None  # fingerprint


@dataclass
class CertRecord:
    fingerprint: str
    serial: int
    kind: CertKind
    subject: str
    issuer: str
    not_after: dt.datetime
    der: bytes
    device: uuid.UUID | None = None
    revoked_at: dt.datetime | None = None
    revocation_reason: str | None = None


@dataclass
class PendingRecord:
    id: str
    device: uuid.UUID
    key_sha256: str
    status: Literal["pending", "approved", "rejected", "done"]
    created_at: dt.datetime
    label: str | None = None


@dataclass
class EventRecord:
    at: dt.datetime
    kind: str
    outcome: str
    reason: str
    device: uuid.UUID | None = None
    label: str | None = None


class EnrollmentStore(Protocol):
    """What enrollment needs from storage (``iotsec.adapters.db.est.SqlEnrollmentStore``)."""

    def get_device(self, device: uuid.UUID) -> DeviceRecord | None: ...
    def put_device(self, record: DeviceRecord) -> None: ...
    def get_cert(self, fingerprint: str) -> CertRecord | None: ...
    def put_cert(self, record: CertRecord) -> None: ...
    def certs_of(self, device: uuid.UUID) -> list[CertRecord]: ...
    def certs_by_serial(self, serial: int) -> list[CertRecord]: ...
    def revoked_by(self, issuer: str) -> list[CertRecord]: ...
    def add_event(self, event: EventRecord) -> None: ...
    def record_issue(
        self,
        cert: CertRecord,
        event: EventRecord,
        *,
        secret_used_at: dt.datetime | None = None,
        expect_current: str | None = None,
    ) -> bool:
        """In one transaction: store ``cert``, make it the device's current LDevID and add ``event``.

        Atomically conditional: with ``secret_used_at`` only if the secret is still unused (and mark
        it used); with ``expect_current`` only if that is still the current LDevID. False (nothing
        stored) when the condition no longer holds: a concurrent request won.
        """
        ...

    def add_failure(self, device: uuid.UUID, *, locked_until: Callable[[int], dt.datetime]) -> int:
        """Atomically count one failed attempt, set the back-off end; return the new count."""
        ...

    def reset_failures(self, device: uuid.UUID) -> None: ...

    def events(self, device: uuid.UUID | None = None) -> list[EventRecord]: ...
    def get_pending(self, pending_id: str) -> PendingRecord | None: ...
    def find_pending(self, device: uuid.UUID, key_sha256: str) -> PendingRecord | None: ...
    def list_pending(self) -> list[PendingRecord]: ...
    def put_pending(self, record: PendingRecord) -> None: ...
    def next_crl_number(self, issuer: str) -> int: ...


class SecretHasher(Protocol):
    def hash(self, secret: str) -> str: ...
    def verify(self, hashed: str, secret: str) -> bool: ...


class Argon2Hasher:
    """argon2id (RFC 9106). Defaults are RFC 9106 §4's second recommended option (t=3, m=64 MiB);
    lower them only in tests."""

    def __init__(
        self,
        *,
        time_cost: int = 3,
        memory_cost: int = 64 * 1024,
        parallelism: int = 4,
        max_concurrent: int | None = None,
    ) -> None:
        # at most ``max_concurrent`` (default: CPU count) hashes at once, so a burst of Basic
        # requests cannot make the server allocate memory_cost KiB per worker thread
        self._slots = threading.BoundedSemaphore(max_concurrent or os.cpu_count() or 1)
        self._ph = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, type=Type.ID
        )
        self._dummy: str | None = None

    def hash(self, secret: str) -> str:
        with self._slots:
            return self._ph.hash(secret)

    def verify(self, hashed: str, secret: str) -> bool:
        try:
            with self._slots:
                return bool(self._ph.verify(hashed, secret))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def burn(self, secret: str) -> None:
        """Spend the time of one verification (unknown user: no timing oracle)."""
        if self._dummy is None:
            self._dummy = self.hash(secrets.token_urlsafe(16))
        self.verify(self._dummy, secret)


@dataclass
class EnrollmentPolicy:
    approval: Literal["auto", "manual"] = "auto"
    max_failures: int = 5  # then the device is locked until an operator resets it
    backoff_base: float = 2.0  # seconds; doubles with each failure
    backoff_max: float = 300.0
    retry_after: int = 60  # RFC 7030 §4.2.3 202 Retry-After
    ldevid_days: int = 365
    challenge_password: str | None = None  # when set, every CSR must carry it (RFC 2985 §5.4.1)
    serverkeygen_key: pki.KeyType = pki.KeyType.P256
    labels: Sequence[str] = ()  # accepted /.well-known/est/<label>/ labels (RFC 7030 §3.2.2)


@dataclass
class CaBundle:
    """The issuing CA and what ``/cacerts`` returns (roots, links, issuing CAs: RFC 7030 §4.1.3)."""

    issuer: pki.Issuer
    cacerts: list[x509.Certificate] = field(default_factory=list)


@dataclass(frozen=True)
class Peer:
    """What the transport authenticated: a TLS client certificate and/or HTTP Basic credentials."""

    cert: x509.Certificate | None = None
    basic: tuple[str, str] | None = None


@dataclass(frozen=True)
class Issued:
    cert: x509.Certificate
    chain: list[x509.Certificate]
    device: uuid.UUID


@dataclass(frozen=True)
class Pending:
    pending_id: str
    retry_after: int


class Backoff(PolicyError):
    """Too many failed attempts: retry after ``retry_after`` seconds (or never, when locked)."""

    def __init__(self, message: str, *, reason: str, retry_after: int | None) -> None:
        super().__init__(message, reason=reason)
        self.retry_after = retry_after


__all__ = [
    "Argon2Hasher",
    "Backoff",
    "CaBundle",
    "CertKind",
    "CertRecord",
    "DeviceRecord",
    "EnrollmentPolicy",
    "EnrollmentStore",
    "EventRecord",
    "Issued",
    "Peer",
    "Pending",
    "PendingRecord",
    "SecretHasher",
]
