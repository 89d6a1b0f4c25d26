"""EST storage: devices, issued certificates, enrollment events, pending approvals, CRL numbers.

Implements :class:`iotsec.services.enrollment.EnrollmentStore` on SQLAlchemy 2 (SQLite by default,
PostgreSQL by URL). Only argon2id hashes of bootstrap secrets are stored, never the secrets.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import DateTime, Engine, Integer, LargeBinary, String, Text, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from iotsec.adapters.db.base import Base, make_engine
from iotsec.adapters.db.migrate import upgrade_schema
from iotsec.services.enrollment import CertRecord, DeviceRecord, EventRecord, PendingRecord


class EstDevice(Base):
    __tablename__ = "est_devices"
    device: Mapped[str] = mapped_column(String(36), primary_key=True)
    model: Mapped[str | None] = mapped_column(String(200))
    mud_url: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="active")
    secret_hash: Mapped[str | None] = mapped_column(String(200))
    secret_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    current_ldevid: Mapped[str | None] = mapped_column(String(64))


class EstCert(Base):
    __tablename__ = "est_certs"
    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    serial: Mapped[str] = mapped_column(String(42), index=True)  # hex: up to 20 octets
    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(Text)
    issuer: Mapped[str] = mapped_column(Text)
    not_after: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    der: Mapped[bytes] = mapped_column(LargeBinary)
    device: Mapped[str | None] = mapped_column(String(36), index=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revocation_reason: Mapped[str | None] = mapped_column(String(40))


class EstEvent(Base):
    __tablename__ = "est_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(200))
    device: Mapped[str | None] = mapped_column(String(36), index=True)
    label: Mapped[str | None] = mapped_column(String(64))


class EstPending(Base):
    __tablename__ = "est_pending"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    device: Mapped[str] = mapped_column(String(36), index=True)
    key_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    label: Mapped[str | None] = mapped_column(String(64))


class EstCrlNumber(Base):
    __tablename__ = "est_crl_numbers"
    issuer: Mapped[str] = mapped_column(String(1000), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, default=0)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _columns(row: Base) -> dict[str, Any]:
    """Column values of an ORM row (for Core inserts); unset autoincrement keys left out."""
    table = row.__table__
    return {c.key: getattr(row, c.key) for c in table.columns if getattr(row, c.key) is not None}


def _uuid(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


class SqlEnrollmentStore:
    """The enrollment store on a SQLAlchemy engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str | None = None, **kwargs: Any) -> SqlEnrollmentStore:
        """Connect to ``url`` (default SQLite under ``IOTSEC_HOME``) and bring its schema to the newest
        revision (``iotsec.adapters.db.migrate``; refuses a database it cannot safely upgrade)."""
        engine = make_engine(url, **kwargs)
        upgrade_schema(engine)
        return cls(engine)

    # devices
    def get_device(self, device: uuid.UUID) -> DeviceRecord | None:
        with Session(self.engine) as s:
            row = s.get(EstDevice, str(device))
            if row is None:
                return None
            return DeviceRecord(
                device=uuid.UUID(row.device),
                model=row.model,
                mud_url=row.mud_url,
                status="revoked" if row.status == "revoked" else "active",
                secret_hash=row.secret_hash,
                secret_used_at=_utc(row.secret_used_at),
                failed_attempts=row.failed_attempts,
                locked_until=_utc(row.locked_until),
                current_ldevid=row.current_ldevid,
            )

    def put_device(self, record: DeviceRecord) -> None:
        with Session(self.engine) as s, s.begin():
            s.merge(self._device_row(record))

    @staticmethod
    def _device_row(record: DeviceRecord) -> EstDevice:
        return EstDevice(
            device=str(record.device),
            model=record.model,
            mud_url=record.mud_url,
            status=record.status,
            secret_hash=record.secret_hash,
            secret_used_at=record.secret_used_at,
            failed_attempts=record.failed_attempts,
            locked_until=record.locked_until,
            current_ldevid=record.current_ldevid,
        )

    def devices(self) -> list[DeviceRecord]:
        with Session(self.engine) as s:
            ids = s.scalars(select(EstDevice.device).order_by(EstDevice.device)).all()
        return [d for d in (self.get_device(uuid.UUID(i)) for i in ids) if d is not None]

    # certificates
    @staticmethod
    def _cert(row: EstCert) -> CertRecord:
        return CertRecord(
            fingerprint=row.fingerprint,
            serial=int(row.serial, 16),
            kind=row.kind,  # type: ignore[arg-type]
            subject=row.subject,
            issuer=row.issuer,
            not_after=_utc(row.not_after) or row.not_after,
            der=bytes(row.der),
            device=_uuid(row.device),
            revoked_at=_utc(row.revoked_at),
            revocation_reason=row.revocation_reason,
        )

    def get_cert(self, fingerprint: str) -> CertRecord | None:
        with Session(self.engine) as s:
            row = s.get(EstCert, fingerprint)
            return self._cert(row) if row is not None else None

    def put_cert(self, record: CertRecord) -> None:
        with Session(self.engine) as s, s.begin():
            s.merge(self._cert_row(record))

    @staticmethod
    def _cert_row(record: CertRecord) -> EstCert:
        return EstCert(
            fingerprint=record.fingerprint,
            serial=f"{record.serial:x}",
            kind=record.kind,
            subject=record.subject,
            issuer=record.issuer,
            not_after=record.not_after,
            der=record.der,
            device=str(record.device) if record.device else None,
            revoked_at=record.revoked_at,
            revocation_reason=record.revocation_reason,
        )

    def certs_of(self, device: uuid.UUID) -> list[CertRecord]:
        with Session(self.engine) as s:
            rows = s.scalars(select(EstCert).where(EstCert.device == str(device))).all()
            return [self._cert(r) for r in rows]

    def certs_by_serial(self, serial: int) -> list[CertRecord]:
        with Session(self.engine) as s:
            rows = s.scalars(select(EstCert).where(EstCert.serial == f"{serial:x}")).all()
            return [self._cert(r) for r in rows]

    def revoked_by(self, issuer: str) -> list[CertRecord]:
        with Session(self.engine) as s:
            rows = s.scalars(
                select(EstCert).where(EstCert.issuer == issuer, EstCert.revoked_at.is_not(None))
            ).all()
            return [self._cert(r) for r in rows]

    def record_issue(
        self,
        cert: CertRecord,
        event: EventRecord,
        *,
        secret_used_at: dt.datetime | None = None,
        expect_current: str | None = None,
    ) -> bool:
        """See :meth:`EnrollmentStore.record_issue`: one transaction, a conditional UPDATE."""
        cond = [EstDevice.device == str(cert.device)]
        values: dict[str, Any] = {"current_ldevid": cert.fingerprint}
        if secret_used_at is not None:
            cond.append(EstDevice.secret_used_at.is_(None))
            values["secret_used_at"] = secret_used_at
        if expect_current is not None:
            cond.append(EstDevice.current_ldevid == expect_current)
        with self.engine.begin() as conn:
            done = conn.execute(update(EstDevice).where(*cond).values(**values))
            if done.rowcount != 1:
                return False  # nothing written: the condition no longer holds
            conn.execute(insert(EstCert).values(**_columns(self._cert_row(cert))))
            conn.execute(insert(EstEvent).values(**_columns(self._event_row(event))))
        return True

    def add_failure(self, device: uuid.UUID, *, locked_until: Callable[[int], dt.datetime]) -> int:
        """Atomic ``failed_attempts + 1`` (UPDATE ... RETURNING), then the back-off end."""
        with self.engine.begin() as conn:
            count = conn.execute(
                update(EstDevice)
                .where(EstDevice.device == str(device))
                .values(failed_attempts=EstDevice.failed_attempts + 1)
                .returning(EstDevice.failed_attempts)
            ).scalar_one()
            conn.execute(
                update(EstDevice)
                .where(EstDevice.device == str(device))
                .values(locked_until=locked_until(count))
            )
        return int(count)

    def reset_failures(self, device: uuid.UUID) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(EstDevice)
                .where(EstDevice.device == str(device))
                .values(failed_attempts=0, locked_until=None)
            )

    # events
    def add_event(self, event: EventRecord) -> None:
        with Session(self.engine) as s, s.begin():
            s.add(self._event_row(event))

    @staticmethod
    def _event_row(event: EventRecord) -> EstEvent:
        return EstEvent(
            at=event.at,
            kind=event.kind,
            outcome=event.outcome,
            reason=event.reason[:200],
            device=str(event.device) if event.device else None,
            label=event.label,
        )

    def events(self, device: uuid.UUID | None = None) -> list[EventRecord]:
        with Session(self.engine) as s:
            q = select(EstEvent).order_by(EstEvent.id)
            if device is not None:
                q = q.where(EstEvent.device == str(device))
            return [
                EventRecord(_utc(r.at) or r.at, r.kind, r.outcome, r.reason, _uuid(r.device), r.label)
                for r in s.scalars(q).all()
            ]

    # pending approvals
    @staticmethod
    def _pending(row: EstPending) -> PendingRecord:
        return PendingRecord(
            id=row.id,
            device=uuid.UUID(row.device),
            key_sha256=row.key_sha256,
            status=row.status,  # type: ignore[arg-type]
            created_at=_utc(row.created_at) or row.created_at,
            label=row.label,
        )

    def get_pending(self, pending_id: str) -> PendingRecord | None:
        with Session(self.engine) as s:
            row = s.get(EstPending, pending_id)
            return self._pending(row) if row is not None else None

    def find_pending(self, device: uuid.UUID, key_sha256: str) -> PendingRecord | None:
        with Session(self.engine) as s:
            row = s.scalars(
                select(EstPending).where(
                    EstPending.device == str(device), EstPending.key_sha256 == key_sha256
                )
            ).first()
            return self._pending(row) if row is not None else None

    def list_pending(self) -> list[PendingRecord]:
        with Session(self.engine) as s:
            rows = s.scalars(select(EstPending).where(EstPending.status == "pending")).all()
            return [self._pending(r) for r in rows]

    def put_pending(self, record: PendingRecord) -> None:
        with Session(self.engine) as s, s.begin():
            s.merge(
                EstPending(
                    id=record.id,
                    device=str(record.device),
                    key_sha256=record.key_sha256,
                    status=record.status,
                    created_at=record.created_at,
                    label=record.label,
                )
            )

    def next_crl_number(self, issuer: str) -> int:
        with Session(self.engine) as s, s.begin():
            row = s.get(EstCrlNumber, issuer, with_for_update=True)
            if row is None:
                row = EstCrlNumber(issuer=issuer, number=0)
                s.add(row)
            row.number += 1
            return row.number


__all__ = ["EstCert", "EstCrlNumber", "EstDevice", "EstEvent", "EstPending", "SqlEnrollmentStore"]
