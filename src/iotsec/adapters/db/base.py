"""Engine factory and the declarative base shared by every part's tables."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase

from iotsec.errors import ConfigError


class Base(DeclarativeBase):
    pass


def default_url(home: Path | None = None) -> str:
    """``sqlite:///$IOTSEC_HOME/iotsec.db`` (``IOTSEC_HOME`` defaults to ``~/.iotsec``)."""
    root = home or Path(os.environ.get("IOTSEC_HOME", Path.home() / ".iotsec"))
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    return f"sqlite:///{root / 'iotsec.db'}"


_BUSY_MS = 5000


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    try:
        cur.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        _wal(cur)
    finally:
        cur.close()


def _wal(cur: Any) -> None:
    """Switch the file to WAL (a persistent property of the file, so usually a no-op read).

    The switch needs an exclusive lock. SQLite answers "database is locked" at once, without its
    busy handler, when this connection's read lock meets another connection's pending write (the
    handler would deadlock), which happens when several processes open a new database together: retry
    for as long as the busy timeout would have waited.
    """
    deadline = time.monotonic() + _BUSY_MS / 1000
    delay = 0.005
    while True:
        try:
            if str(cur.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                return
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            left = deadline - time.monotonic()
            if "locked" not in str(exc) or left <= 0:
                raise
        time.sleep(min(delay, left))
        delay = min(delay * 2, 0.1)


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` (SQLite by default). ``postgresql://`` URLs use psycopg 3."""
    url = url or default_url()
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    try:
        engine = create_engine(url, **kwargs)
    except Exception as exc:
        raise ConfigError(f"unusable database URL: {exc}", reason="db.url") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine
