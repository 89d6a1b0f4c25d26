"""Schema versioning (``iotsec.adapters.db.migrate``) on SQLite and the real PostgreSQL (``db_url``).

The first test is the guard against a model change without a revision: the database that the
revisions build must equal, table for table, what the models declare.
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from iotsec.adapters.db import make_engine, upgrade_schema
from iotsec.adapters.db import migrate as m
from iotsec.adapters.db.est import SqlEnrollmentStore
from iotsec.adapters.db.rats import RatsEndorsement, RatsSession, SqlEndorsementStore, SqlSessionStore
from iotsec.adapters.http.verifier import build_service
from iotsec.core.cose import Algorithm, CoseKey
from iotsec.errors import ConfigError
from iotsec.services import verifier as v
from iotsec.services.enrollment import CertRecord, DeviceRecord, EventRecord, PendingRecord

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
DEVICE = uuid.UUID("029d2de6-59f8-4531-a0f4-d6bcdb6c51d3")


def snapshot(engine: Engine) -> dict[str, Any]:
    """Everything the database says about iotsec's tables: columns in order, keys, indexes."""
    insp = inspect(engine)
    out: dict[str, Any] = {}
    for t in sorted(set(insp.get_table_names()) & set(m.target_metadata().tables)):
        out[t] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], str(c.get("default")), c.get("autoincrement"))
                for c in insp.get_columns(t)
            ],
            "pk": insp.get_pk_constraint(t),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), i["unique"]) for i in insp.get_indexes(t)
            ),
            "unique": sorted((u["name"], tuple(u["column_names"])) for u in insp.get_unique_constraints(t)),
            "fks": insp.get_foreign_keys(t),
            "checks": insp.get_check_constraints(t),
        }
    return out


@pytest.fixture
def engine(db_url: str) -> Any:
    e = make_engine(db_url)
    yield e
    e.dispose()


def test_head_constant_is_the_newest_revision() -> None:
    script = m._script(m.MIGRATIONS)
    assert script.get_current_head() == m.HEAD
    assert script.get_base() == m.BASELINE
    assert (m.MIGRATIONS / "versions" / "v0001_baseline.py").is_file()


def test_upgrade_from_empty_builds_exactly_the_models(engine: Engine) -> None:
    md = m.target_metadata()
    md.create_all(engine)  # what the models declare, built the way iotsec 0.1 did
    declared = snapshot(engine)
    md.drop_all(engine)
    assert m.schema_state(engine).status == "empty"

    before, after = m.upgrade(engine)
    assert (before.status, before.pending) == ("empty", ("0001",))
    assert (after.status, after.revision) == ("current", m.HEAD)
    assert snapshot(engine) == declared
    assert len(declared) == 7
    # and Alembic's own comparison (types, nullability, server defaults, indexes, constraints)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": m.VERSION_TABLE, **m.compare_options()})
        assert compare_metadata(ctx, md) == []
    assert m.check(engine).differences == ()
    assert set(inspect(engine).get_table_names()) == {*declared, m.VERSION_TABLE}


def test_the_comparison_sees_a_changed_table(engine: Engine) -> None:
    """The check that guards adoption and `iotsec db check` is not blind: drop a column, an index."""
    m.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_est_certs_serial"))
        conn.execute(text("ALTER TABLE rats_sessions DROP COLUMN findings"))
    diffs = m.check(engine).differences
    assert "rats_sessions.findings: column missing" in diffs
    assert "est_certs: missing index ix_est_certs_serial(serial)" in diffs
    assert len(diffs) == 2


def fill_est(store: SqlEnrollmentStore) -> None:
    store.put_device(
        DeviceRecord(DEVICE, model="bulb", mud_url="https://mud.example/b.json", secret_hash="h")
    )
    store.put_cert(CertRecord("ab" * 32, 2**150 + 7, "idevid", "CN=d", "CN=ca", T0, b"\x30\x03der", DEVICE))
    store.add_event(EventRecord(T0, "enroll", "issued", "", DEVICE, "factory"))
    store.put_pending(PendingRecord("p1", DEVICE, "cd" * 32, "pending", T0, "factory"))
    assert store.next_crl_number("CN=ca") == 1


def check_est(store: SqlEnrollmentStore) -> None:
    dev = store.get_device(DEVICE)
    assert dev is not None and (dev.model, dev.secret_hash) == ("bulb", "h")
    cert = store.get_cert("ab" * 32)
    assert cert is not None and cert.serial == 2**150 + 7 and cert.der == b"\x30\x03der"
    assert [(e.kind, e.label) for e in store.events(DEVICE)] == [("enroll", "factory")]
    assert [p.id for p in store.list_pending()] == ["p1"]
    assert store.next_crl_number("CN=ca") == 2  # the counter survived


def fill_rats(engine: Engine) -> None:
    SqlSessionStore(engine).create(v.Session("s1", b"\x01" * 32, T0, ["application/eat+cwt"]))
    SqlEndorsementStore(engine).add("acme-1", "application/corim-unsigned+cbor", b"\xd9corim")


def check_rats(engine: Engine) -> None:
    s = SqlSessionStore(engine).get("s1")
    assert (s.nonce, s.expiry, s.accept) == (b"\x01" * 32, T0, ["application/eat+cwt"])
    assert SqlEndorsementStore(engine).load(0) == [(1, b"\xd9corim")]


def test_a_create_all_database_is_adopted_with_its_rows(db_url: str, engine: Engine) -> None:
    m.target_metadata().create_all(engine)  # a database made by iotsec before schema versioning
    fill_est(SqlEnrollmentStore(engine))
    fill_rats(engine)
    state = m.schema_state(engine)
    assert (state.status, state.revision, len(state.tables)) == ("adoptable", None, 7)

    store = SqlEnrollmentStore.open(db_url)  # what `iotsec est serve` does at start-up
    check_est(store)
    check_rats(engine)
    after = m.check(engine)
    assert (after.status, after.revision, after.differences) == ("current", m.HEAD, ())
    store.engine.dispose()


def test_a_verifier_only_database_gains_the_est_tables(db_url: str, engine: Engine) -> None:
    """The verifier alone used to create only its own tables: they are kept and the others added."""
    tables = [RatsSession.__table__, RatsEndorsement.__table__]
    m.target_metadata().create_all(engine, tables=tables)  # type: ignore[arg-type]
    fill_rats(engine)
    assert m.schema_state(engine).tables == ("rats_endorsements", "rats_sessions")

    service = build_service(db_url, CoseKey.generate(Algorithm.ES256))  # `iotsec verifier serve`
    service.sessions.engine.dispose()  # type: ignore[attr-defined]
    check_rats(engine)
    after = m.check(engine)
    assert (after.status, len(after.tables), after.differences) == ("current", 7, ())


def test_unstamped_tables_that_differ_are_refused_untouched(db_url: str, engine: Engine) -> None:
    with engine.begin() as conn:  # an est_devices of some other making: no current_ldevid, shorter model
        conn.execute(
            text(
                "CREATE TABLE est_devices (device VARCHAR(36) PRIMARY KEY, model VARCHAR(100), "
                "mud_url TEXT, status VARCHAR(16) NOT NULL, secret_hash VARCHAR(200), "
                "secret_used_at TIMESTAMP, failed_attempts INTEGER NOT NULL, locked_until TIMESTAMP)"
            )
        )
        conn.execute(text("INSERT INTO est_devices VALUES ('d', 'm', NULL, 'active', NULL, NULL, 0, NULL)"))
    state = m.schema_state(engine)
    assert state.status == "unstamped"
    assert "est_devices.current_ldevid: column missing" in state.differences
    assert "est_devices.model: VARCHAR(100) in the database, VARCHAR(200) expected" in state.differences

    for attempt in (lambda: m.upgrade(engine), lambda: SqlEnrollmentStore.open(db_url)):
        with pytest.raises(ConfigError) as err:
            attempt()
        assert err.value.reason == "db.schema.unstamped"
        assert "no schema revision" in str(err.value) and "current_ldevid" in str(err.value)
    assert inspect(engine).get_table_names() == ["est_devices"]  # nothing created, nothing stamped
    with engine.connect() as conn:
        assert conn.execute(text("SELECT device, model FROM est_devices")).all() == [("d", "m")]


def test_a_revision_from_a_newer_iotsec_is_refused(db_url: str, engine: Engine) -> None:
    store = SqlEnrollmentStore.open(db_url)
    fill_est(store)
    store.engine.dispose()
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {m.VERSION_TABLE} SET version_num = '0999'"))
    state = m.schema_state(engine)
    assert (state.status, state.revision) == ("newer", "0999")

    key = CoseKey.generate(Algorithm.ES256)
    for attempt in (
        lambda: m.upgrade(engine),
        lambda: upgrade_schema(engine),
        lambda: SqlEnrollmentStore.open(db_url),
        lambda: build_service(db_url, key),
    ):
        with pytest.raises(ConfigError) as err:
            attempt()
        assert err.value.reason == "db.schema.newer"
        assert "0999" in str(err.value) and "does not downgrade" in str(err.value)
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT version_num FROM {m.VERSION_TABLE}")).scalars().all() == ["0999"]
    check_est(SqlEnrollmentStore(engine))


REV_0002 = '''"""est_devices.note (a test revision)."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("est_devices", sa.Column("note", sa.String(100), nullable=True))
    op.create_index("ix_est_devices_note", "est_devices", ["note"])
    op.execute("UPDATE est_devices SET note = 'was ' || status")
    {fail}
'''


def scripts_with_0002(tmp_path: Path, *, fail: bool) -> Path:
    location = tmp_path / "migrations"
    shutil.copytree(m.MIGRATIONS, location, ignore=shutil.ignore_patterns("__pycache__"))
    body = "raise RuntimeError('revision 0002 fails half-way')" if fail else "pass"
    (location / "versions" / "v0002_note.py").write_text(REV_0002.replace("{fail}", body))
    return location


def test_a_pending_revision_is_applied_and_rows_are_kept(db_url: str, engine: Engine, tmp_path: Path) -> None:
    store = SqlEnrollmentStore.open(db_url)
    fill_est(store)
    store.engine.dispose()
    location = scripts_with_0002(tmp_path, fail=False)
    state = m.schema_state(engine, script_location=location)
    assert (state.status, state.revision, state.head, state.pending) == ("behind", "0001", "0002", ("0002",))

    before, after = m.upgrade(engine, script_location=location)
    assert (before.status, after.status, after.revision) == ("behind", "current", "0002")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT device, note FROM est_devices")).all() == [
            (str(DEVICE), "was active")
        ]
    check_est(SqlEnrollmentStore(engine))
    assert "ix_est_devices_note" in {i["name"] for i in inspect(engine).get_indexes("est_devices")}


def test_a_failing_revision_leaves_the_database_as_it_was(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    """One transaction: the column and index that 0002 added before failing are rolled back."""
    store = SqlEnrollmentStore.open(db_url)
    fill_est(store)
    store.engine.dispose()
    before = snapshot(engine)
    with pytest.raises(RuntimeError, match="half-way"):
        m.upgrade(engine, script_location=scripts_with_0002(tmp_path, fail=True))
    assert snapshot(engine) == before
    assert m.schema_state(engine).status == "current"  # still stamped 0001
    check_est(SqlEnrollmentStore(engine))


def test_servers_starting_together_migrate_once(db_url: str) -> None:
    results: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def start() -> None:
        e = make_engine(db_url)
        try:
            barrier.wait()
            before, after = m.upgrade(e)
            assert after.status == "current"
            results.append(before.status)
        except BaseException as exc:
            errors.append(exc)
        finally:
            e.dispose()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(results) == ["current", "current", "current", "empty"]


def test_unreachable_database_is_a_config_error(tmp_path: Path) -> None:
    e = make_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}")
    with pytest.raises(ConfigError) as err:
        upgrade_schema(e)
    assert err.value.reason == "db.unreachable" and "unable to open database file" in str(err.value)


def test_new_revision_autogenerates_from_the_models(tmp_path: Path) -> None:
    location = tmp_path / "migrations"
    shutil.copytree(m.MIGRATIONS, location, ignore=shutil.ignore_patterns("__pycache__"))
    path = m.new_revision("nothing changed", script_location=location)
    assert path == location / "versions" / "v0002_nothing_changed.py"
    body = path.read_text()
    assert 'revision = "0002"' in body and 'down_revision = "0001"' in body
    # the models equal revision 0001, so there is nothing to do in either direction
    assert body.count("    pass\n") == 2
    m._script.cache_clear()
