"""Verifier storage: challenge-response sessions and provisioned endorsements (CoRIMs).

Implements :class:`iotsec.services.verifier.SessionStore` and ``EndorsementStore`` on SQLAlchemy
(SQLite by default, PostgreSQL by URL).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import (
    DateTime,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from iotsec.adapters.db.base import Base
from iotsec.errors import ConflictError, NotFoundError
from iotsec.services import verifier as v


class RatsSession(Base):
    """A challenge-response session row."""

    __tablename__ = "rats_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    expiry: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    accept: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    evidence_type: Mapped[str | None] = mapped_column(Text, nullable=True)
    evidence: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    result: Mapped[str | None] = mapped_column(Text, nullable=True)
    failure: Mapped[str | None] = mapped_column(String(128), nullable=True)
    findings: Mapped[str | None] = mapped_column(Text, nullable=True)


class RatsEndorsement(Base):
    """A provisioned (verified, unsigned) CoRIM."""

    __tablename__ = "rats_endorsements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    corim_id: Mapped[str] = mapped_column(String(256))
    media_type: Mapped[str] = mapped_column(String(128))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    created: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


def _utc(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)  # SQLite drops the zone


def _to_session(r: Any) -> v.Session:
    return v.Session(
        id=r.id,
        nonce=bytes(r.nonce),
        expiry=_utc(r.expiry),
        accept=json.loads(r.accept),
        status=r.status,
        evidence_type=r.evidence_type,
        evidence=bytes(r.evidence) if r.evidence is not None else None,
        result=r.result,
        failure=r.failure,
        findings=json.loads(r.findings) if r.findings else None,
    )


def _values(s: v.Session) -> dict[str, Any]:
    return {
        "status": s.status,
        "evidence_type": s.evidence_type,
        "evidence": s.evidence,
        "result": s.result,
        "failure": s.failure,
        "findings": json.dumps(s.findings) if s.findings else None,
    }


_T: Table = RatsSession.__table__  # type: ignore[assignment]


class SqlSessionStore:
    """SessionStore on SQLAlchemy Core (one short transaction per call: this is the hot path)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, s: v.Session) -> None:
        with self.engine.begin() as c:
            c.execute(
                insert(_T).values(
                    id=s.id, nonce=s.nonce, expiry=s.expiry, accept=json.dumps(s.accept), **_values(s)
                )
            )

    def get(self, sid: str) -> v.Session:
        with self.engine.connect() as c:
            r = c.execute(select(_T).where(_T.c.id == sid)).first()
        if r is None:
            raise NotFoundError("no such session", reason="verifier.session.unknown")
        return _to_session(r)

    def update(self, s: v.Session) -> None:
        with self.engine.begin() as c:
            c.execute(update(_T).where(_T.c.id == s.id).values(**_values(s)))

    def claim(self, sid: str) -> v.Session:
        # one conditional UPDATE ... RETURNING: two concurrent submissions cannot both move
        # waiting -> processing
        with self.engine.begin() as c:
            r = c.execute(
                update(_T)
                .where(_T.c.id == sid, _T.c.status == "waiting")
                .values(status="processing")
                .returning(*_T.c)
            ).first()
        if r is not None:
            return _to_session(r)
        s = self.get(sid)  # NotFoundError if there is no such session
        raise ConflictError(
            f"the session is {s.status}: evidence was already submitted", reason="eat.session.used"
        )

    def delete(self, sid: str) -> None:
        with self.engine.begin() as c:
            res = c.execute(delete(_T).where(_T.c.id == sid))
        if res.rowcount != 1:
            raise NotFoundError("no such session", reason="verifier.session.unknown")

    def purge(self, before: dt.datetime) -> int:
        with self.engine.begin() as c:
            return int(c.execute(delete(_T).where(_T.c.expiry < before)).rowcount)


class SqlEndorsementStore:
    """EndorsementStore on SQLAlchemy."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, corim_id: str, media_type: str, raw: bytes) -> None:
        with Session(self.engine) as db, db.begin():
            db.add(RatsEndorsement(corim_id=corim_id, media_type=media_type, raw=raw))

    def load(self, after: int) -> list[tuple[int, bytes]]:
        with Session(self.engine) as db:
            rows = db.execute(
                select(RatsEndorsement.id, RatsEndorsement.raw)
                .where(RatsEndorsement.id > after)
                .order_by(RatsEndorsement.id)
            ).all()
            return [(int(i), bytes(r)) for i, r in rows]


__all__ = ["RatsEndorsement", "RatsSession", "SqlEndorsementStore", "SqlSessionStore"]
