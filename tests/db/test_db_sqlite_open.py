"""Opening a SQLite database while another process writes to it.

Switching a file to WAL needs an exclusive lock, and SQLite refuses it at once (no busy wait) when
another connection holds a pending write lock: servers opening a new database together used to
fail with "database is locked" (seen in CI).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from iotsec.adapters.db import make_engine


def _writer_holding_the_lock(path: Path, held: threading.Event, hold_s: float) -> None:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("BEGIN IMMEDIATE")
    con.execute("CREATE TABLE t (x INTEGER)")
    held.set()
    time.sleep(hold_s)
    con.execute("COMMIT")
    con.close()


def test_opening_waits_for_a_writer_then_switches_to_wal(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    sqlite3.connect(path).close()  # a new file, rollback-journal mode
    held = threading.Event()
    writer = threading.Thread(target=_writer_holding_the_lock, args=(path, held, 0.3))
    writer.start()
    assert held.wait(5)
    # the plain sqlite3 module gives up at once in this situation: the state the test needs
    probe = sqlite3.connect(path, timeout=5)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        probe.execute("SELECT count(*) FROM sqlite_master").fetchone()
        probe.execute("PRAGMA journal_mode=WAL")
    probe.close()
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            mode = conn.execute(text("PRAGMA journal_mode")).scalar_one()
            tables = conn.execute(text("SELECT name FROM sqlite_master")).scalars().all()
    finally:
        engine.dispose()
        writer.join()
    assert mode == "wal"
    assert tables == ["t"]  # opened after the writer committed


def test_a_writer_that_never_finishes_gives_a_locked_error_not_a_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from iotsec.adapters.db import base

    monkeypatch.setattr(base, "_BUSY_MS", 300)
    path = tmp_path / "new.db"
    sqlite3.connect(path).close()
    held = threading.Event()
    writer = threading.Thread(target=_writer_holding_the_lock, args=(path, held, 2.0))
    writer.start()
    assert held.wait(5)
    engine = make_engine(f"sqlite:///{path}")
    started = time.monotonic()
    try:
        with pytest.raises(Exception, match="locked"):
            engine.connect()
        elapsed = time.monotonic() - started
    finally:
        engine.dispose()
        writer.join()
    assert 0.3 <= elapsed < 1.5  # the whole busy timeout (300 ms here), then the error
