"""Engine factory and the declarative base shared by every part's tables."""

from __future__ import annotations

import os
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


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


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
