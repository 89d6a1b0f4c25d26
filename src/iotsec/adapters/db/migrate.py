"""Versioned schema (Alembic): bring a database to the schema this iotsec knows, or refuse.

The revisions live in the package (``adapters/db/migrations/versions``); Alembic is driven through
its ``Config``/``command`` API on a connection opened here, so no ``alembic.ini`` is needed. The
revision stamp is kept in the table ``iotsec_alembic_version`` (not Alembic's default name, so that
a database shared with another Alembic-managed application keeps the two apart).

What a database can be (:class:`SchemaState.status`) and what :func:`upgrade` does with it:

==============  ====================================================  ============================
status          the database                                          upgrade
==============  ====================================================  ============================
``empty``       no iotsec table, no stamp                             creates every table, stamps
``current``     stamped with the newest revision (:data:`HEAD`)       nothing
``behind``      stamped with an older revision                        applies the newer revisions
``adoptable``   iotsec tables, no stamp, equal to the baseline        adds missing tables, stamps;
                (a database that ``create_all`` made before           rows are kept
                migrations existed)
``unstamped``   iotsec tables, no stamp, *not* equal to the baseline  refuses (``db.schema.unstamped``)
``newer``       stamped with a revision this iotsec does not know     refuses (``db.schema.newer``)
==============  ====================================================  ============================

An upgrade runs in one transaction (SQLite and PostgreSQL both have transactional DDL) under a lock
(PostgreSQL: an advisory transaction lock; SQLite: ``BEGIN IMMEDIATE``), so servers started together
on one database migrate it once, and a failed migration leaves the database as it was.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import DateTime, DefaultClause, Engine, MetaData, TextClause, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from iotsec.adapters.db.base import Base
from iotsec.errors import ConfigError

if TYPE_CHECKING:  # alembic is imported only when the schema is not current (server start-up fast path)
    from alembic.config import Config
    from alembic.script import ScriptDirectory

VERSION_TABLE = "iotsec_alembic_version"
#: The newest revision in ``migrations/versions`` (a test checks it): lets a server that starts on a
#: current database skip loading Alembic.
HEAD = "0001"
#: The revision whose tables ``create_all`` made before schema versioning existed.
BASELINE = "0001"
MIGRATIONS = Path(__file__).with_name("migrations")
# pg_advisory_xact_lock key of schema changes: the first 8 bytes of "iotsec.s" as a signed int64
_PG_LOCK = int.from_bytes(b"iotsec.s", "big", signed=True)

Status = Literal["empty", "current", "behind", "adoptable", "unstamped", "newer"]


@dataclass(frozen=True)
class SchemaState:
    """Where a database's schema stands relative to this iotsec's revisions."""

    url: str  # password hidden
    status: Status
    revision: str | None  # the stamp (None: unstamped)
    head: str
    tables: tuple[str, ...]  # iotsec tables present
    pending: tuple[str, ...] = ()  # revisions an upgrade applies, oldest first
    differences: tuple[str, ...] = ()  # what differs from the expected schema

    @property
    def message(self) -> str:
        r = self.revision
        if self.status == "empty":
            return "no iotsec tables yet: `iotsec db upgrade` (or a server start) creates them"
        if self.status == "current":
            return f"the schema is at revision {r}, the newest this iotsec knows"
        if self.status == "behind":
            pending = ", ".join(self.pending)
            return f"the schema is at revision {r}: `iotsec db upgrade` (or a server start) applies {pending}"
        if self.status == "adoptable":
            return (
                f"the iotsec tables ({', '.join(self.tables)}) predate schema versioning and equal "
                f"revision {BASELINE}: `iotsec db upgrade` (or a server start) stamps them, keeping every row"
            )
        if self.status == "unstamped":
            return (
                "the database has iotsec tables but no schema revision, and they differ from iotsec's "
                f"schema ({'; '.join(self.differences)}): refusing to touch them"
            )
        return (
            f"the database schema is at revision {r}, which this iotsec does not know (its newest is "
            f"{self.head}): a newer iotsec wrote it. Run that version, or restore a backup taken "
            "before it ran; iotsec does not downgrade"
        )

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["message"] = self.message
        return d


# -- Alembic plumbing --------------------------------------------------------------------------


def target_metadata() -> MetaData:
    """Every table iotsec declares (all parts' models loaded): what the newest revision must build."""
    import iotsec.adapters.db.est
    import iotsec.adapters.db.rats  # noqa: F401

    return Base.metadata


def compare_options() -> dict[str, Any]:
    """Options of Alembic's comparison (``env.py``, :func:`check`, the adoption check)."""
    # server defaults too: no false difference on SQLite or PostgreSQL for iotsec's tables (tested)
    return {"compare_type": True, "compare_server_default": True}


def alembic_config(connection: Connection | None = None, *, script_location: Path | None = None) -> Config:
    """An Alembic ``Config`` on the packaged migrations (no ini file), sharing ``connection``."""
    from argparse import Namespace

    from alembic.config import Config

    cfg = Config(cmd_opts=Namespace(quiet=True))  # no "Generating ..." lines on stdout
    cfg.set_main_option("script_location", str(script_location or MIGRATIONS).replace("%", "%%"))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("file_template", "v%%(rev)s_%%(slug)s")
    cfg.attributes["connection"] = connection
    return cfg


@functools.cache
def _script(location: Path) -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(script_location=location))


def _stamps(conn: Connection) -> tuple[str, ...]:
    if not inspect(conn).has_table(VERSION_TABLE):
        return ()
    rows = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()  # noqa: S608
    return tuple(sorted(str(r) for r in rows))


def _baseline(script: ScriptDirectory) -> MetaData:
    rev = script.get_revision(BASELINE)
    assert rev is not None
    schema: Callable[[], MetaData] = rev.module.schema
    return schema()


def _differences(conn: Connection, metadata: MetaData, tables: Sequence[str]) -> list[str]:
    """How ``tables`` in the database differ from their declaration in ``metadata``.

    Alembic's comparison (columns, types, nullability, indexes, unique constraints, foreign keys)
    plus the primary keys, which Alembic does not compare. Other tables are ignored.
    """
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    wanted = set(tables)
    md = MetaData()
    for t in metadata.sorted_tables:
        if t.name in wanted:
            t.to_metadata(md)

    def include_name(name: str | None, type_: str, _parent: Any) -> bool:
        return type_ != "table" or name in wanted

    ctx = MigrationContext.configure(
        conn, opts={"version_table": VERSION_TABLE, "include_name": include_name, **compare_options()}
    )
    out = [_describe(d) for d in compare_metadata(ctx, md)]
    insp = inspect(conn)
    for t in md.sorted_tables:
        if not insp.has_table(t.name):
            continue
        have = insp.get_pk_constraint(t.name)["constrained_columns"] or []
        want = [c.name for c in t.primary_key.columns]
        if have != want:
            out.append(f"{t.name}: primary key ({', '.join(have)}) instead of ({', '.join(want)})")
    return out


def _describe(diff: Any) -> str:
    """One line for an entry of ``alembic.autogenerate.compare_metadata``."""
    if isinstance(diff, list):  # column modifications come grouped
        return "; ".join(_describe(d) for d in diff)
    op = diff[0]
    if op == "add_table":
        return f"table {diff[1].name} missing"
    if op == "remove_table":
        return f"unexpected table {diff[1].name}"
    if op == "add_column":
        return f"{diff[2]}.{diff[3].name}: column missing"
    if op == "remove_column":
        return f"{diff[2]}.{diff[3].name}: unexpected column"
    if op in {"add_index", "remove_index", "add_constraint", "remove_constraint", "add_fk", "remove_fk"}:
        what = "missing" if op.startswith("add") else "unexpected"
        obj = diff[1]
        table = getattr(getattr(obj, "table", None), "name", "?")
        cols = ", ".join(c.name for c in getattr(obj, "columns", ()))
        return f"{table}: {what} {op.split('_', 1)[1]} {obj.name or ''}({cols})"
    if op.startswith("modify_"):
        _, _schema, table, column, _info, have, want = diff
        if op == "modify_nullable":
            have, want = ("NULL" if v else "NOT NULL" for v in (have, want))
        return f"{table}.{column}: {_show(have)} in the database, {_show(want)} expected"
    return repr(diff)


def _show(value: Any) -> str:
    """A column attribute as DDL would say it (types, server defaults, nullability)."""
    if isinstance(value, DateTime) and value.timezone:
        return f"{value} WITH TIME ZONE"
    if isinstance(value, DefaultClause):
        arg = value.arg
        return f"DEFAULT {arg.text if isinstance(arg, TextClause) else arg}"
    if value is None:
        return "no default"
    return str(value)


# -- reading and changing the schema ------------------------------------------------------------


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


@contextmanager
def _connect(engine: Engine) -> Iterator[Connection]:
    """A connection; a database that cannot be opened is a configuration error, not a bug."""
    try:
        conn = engine.connect()
    except DBAPIError as exc:
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        msg = f"cannot open the database {_url(engine)}: {first}"
        raise ConfigError(msg, reason="db.unreachable") from exc
    with conn:
        yield conn


def _lock(conn: Connection) -> None:
    """Serialise schema changes: held until the transaction ends."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock now, not at the first write


def _state(conn: Connection, url: str, script: ScriptDirectory) -> SchemaState:
    head = script.get_current_head()
    assert head is not None
    stamps = _stamps(conn)
    baseline = _baseline(script)
    ours = set(baseline.tables) | set(target_metadata().tables)
    present = tuple(sorted(ours & set(inspect(conn).get_table_names())))
    known = {r.revision for r in script.walk_revisions()}
    if len(stamps) > 1 or (stamps and stamps[0] not in known):
        return SchemaState(url, "newer", ", ".join(stamps), head, present)
    revision = stamps[0] if stamps else None
    pending = tuple(r.revision for r in reversed(list(script.iterate_revisions(head, revision))))
    if revision == head:
        return SchemaState(url, "current", revision, head, present)
    if revision is not None:
        return SchemaState(url, "behind", revision, head, present, pending)
    if not present:
        return SchemaState(url, "empty", None, head, present, pending)
    diffs = tuple(_differences(conn, baseline, present))
    status: Status = "unstamped" if diffs else "adoptable"
    return SchemaState(url, status, None, head, present, pending, diffs)


def schema_state(engine: Engine, *, script_location: Path | None = None) -> SchemaState:
    """Where the database stands (reads only)."""
    with _connect(engine) as conn:
        return _state(conn, _url(engine), _script(script_location or MIGRATIONS))


def upgrade(engine: Engine, *, script_location: Path | None = None) -> tuple[SchemaState, SchemaState]:
    """Bring the database to the newest revision; return the states before and after.

    Raises :class:`ConfigError` ``db.schema.newer`` or ``db.schema.unstamped`` (nothing is changed
    then), ``db.unreachable`` when the database cannot be opened.
    """
    from alembic import command

    location = script_location or MIGRATIONS
    script = _script(location)
    with _connect(engine) as conn:
        _lock(conn)
        # read under the lock: a server starting at the same time may have upgraded it meanwhile
        before = _state(conn, _url(engine), script)
        if before.status in {"newer", "unstamped"}:
            raise ConfigError(before.message, reason=f"db.schema.{before.status}")
        if before.status == "current":
            return before, before
        command.upgrade(alembic_config(conn, script_location=location), "head")
        after = _state(conn, _url(engine), script)
        conn.commit()
    return before, after


def upgrade_schema(engine: Engine) -> None:
    """Server start-up: a current database costs two small queries and no Alembic import; anything
    else goes through :func:`upgrade` (which raises the same errors)."""
    with _connect(engine) as conn:
        if _stamps(conn) == (HEAD,):
            return
    upgrade(engine)


def check(engine: Engine, *, script_location: Path | None = None) -> SchemaState:
    """The state, and for a current database the differences between its tables and the models.

    A non-empty ``differences`` on a current database means drift: the tables were changed by hand,
    or a model was changed without a revision.
    """
    script = _script(script_location or MIGRATIONS)
    with _connect(engine) as conn:
        state = _state(conn, _url(engine), script)
        if state.status != "current":
            return state
        md = target_metadata()
        diffs = tuple(_differences(conn, md, list(md.tables)))
    return SchemaState(state.url, state.status, state.revision, state.head, state.tables, (), diffs)


def new_revision(message: str, *, script_location: Path | None = None) -> Path:
    """Developers: write the next revision file, autogenerated from the models.

    Alembic compares the models with a scratch SQLite database brought to the current head and
    writes ``v<NNNN>_<slug>.py`` from ``script.py.mako``. Review it (autogenerate cannot see
    everything, e.g. renames or SQLite's missing time zones), then move :data:`HEAD`.
    """
    import tempfile

    from alembic import command

    from iotsec.adapters.db.base import make_engine

    location = script_location or MIGRATIONS
    head = _script(location).get_current_head()
    assert head is not None
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'scratch.db'}")
        try:
            upgrade(engine, script_location=location)
            with engine.connect() as conn:
                cfg = alembic_config(conn, script_location=location)
                made = command.revision(cfg, message, autogenerate=True, rev_id=f"{int(head) + 1:04d}")
        finally:
            engine.dispose()
    _script.cache_clear()  # the directory has one revision more
    assert made is not None and not isinstance(made, list)
    return Path(made.path)


__all__ = [
    "BASELINE",
    "HEAD",
    "MIGRATIONS",
    "VERSION_TABLE",
    "SchemaState",
    "alembic_config",
    "check",
    "new_revision",
    "schema_state",
    "target_metadata",
    "upgrade",
    "upgrade_schema",
]
