"""Shared fixtures: real databases (SQLite file, PostgreSQL on 127.0.0.1:5432) and vector paths."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# External vectors: ../shared/vectors beside the repository (read-only), see tests/vectors/SOURCES.md
SHARED_VECTORS = Path(os.environ.get("IOTSEC_SHARED_VECTORS", REPO.parent / "shared" / "vectors"))

PG_ADMIN_URL = os.environ.get("IOTSEC_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def shared_vectors() -> Path:
    if not SHARED_VECTORS.is_dir():
        pytest.fail(f"external vectors not found at {SHARED_VECTORS} (set IOTSEC_SHARED_VECTORS)")
    return SHARED_VECTORS


def _pg_database() -> Iterator[str]:
    import psycopg

    name = f"iotsec_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: a SQLite file, then a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
    else:
        yield from _pg_database()
