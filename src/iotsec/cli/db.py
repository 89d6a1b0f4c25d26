"""``iotsec db``: the versioned database schema (Alembic) of the EST and verifier stores.

Servers upgrade their database when they start; these commands let an operator do it (and look
before) explicitly, e.g. after a backup and before restarting the services on a new iotsec.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from iotsec.cli._pkiopts import db_option, emit, home
from iotsec.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from iotsec.adapters.db.migrate import SchemaState


@click.group("db")
def group() -> None:
    """Database schema: versioned migrations of the EST and verifier stores (SQLite, PostgreSQL)."""


def _engine(db_url: str | None, *, must_exist: bool) -> Engine:
    from sqlalchemy.engine import make_url

    from iotsec.adapters.db import make_engine

    if must_exist:  # reading commands never create a database (SQLite creates the file on connect)
        url = db_url or f"sqlite:///{home() / 'iotsec.db'}"
        try:
            parsed = make_url(url)
        except Exception as exc:
            raise ConfigError(f"unusable database URL: {exc}", reason="db.url") from exc
        name = parsed.database
        if parsed.get_backend_name() == "sqlite" and name and name != ":memory:" and not Path(name).exists():
            raise ConfigError(f"no database at {name}", reason="db.missing")
        db_url = url
    return make_engine(db_url)


def _text(state: SchemaState) -> str:
    lines = [
        f"database  {state.url}",
        f"revision  {state.revision or '(none)'} (newest known: {state.head})",
        f"status    {state.status}: {state.message}",
        f"tables    {', '.join(state.tables) or '(none)'}",
    ]
    if state.status != "unstamped":  # unstamped: the message already lists them
        lines += [f"differs   {d}" for d in state.differences]
    return "\n".join(lines)


@group.command("current")
@db_option
@click.pass_context
def current(ctx: click.Context, db_url: str | None) -> None:
    """Show the database's schema revision and what an upgrade would do (changes nothing).

    Exit 0 whatever the status; `iotsec db check` is the one that judges.
    """
    from iotsec.adapters.db.migrate import schema_state

    engine = _engine(db_url, must_exist=True)
    try:
        state = schema_state(engine)
    finally:
        engine.dispose()
    emit(ctx, state.as_dict(), _text(state))


@group.command("check")
@db_option
@click.pass_context
def check(ctx: click.Context, db_url: str | None) -> None:
    """Exit 0 only if the schema is at the newest revision and its tables equal iotsec's models.

    Otherwise exit 1 with the reason: db.schema.empty, .behind, .adoptable (all three fixed by
    `iotsec db upgrade`), .unstamped, .newer (refused by upgrade) or .drift (tables changed by hand).
    Changes nothing.
    """
    from iotsec.adapters.db.migrate import check as check_schema

    engine = _engine(db_url, must_exist=True)
    try:
        state = check_schema(engine)
    finally:
        engine.dispose()
    emit(ctx, state.as_dict(), _text(state))
    if state.status != "current":
        raise ConfigError(state.message, reason=f"db.schema.{state.status}")
    if state.differences:
        raise ConfigError(
            f"the tables differ from iotsec's models at revision {state.revision}: "
            + "; ".join(state.differences),
            reason="db.schema.drift",
        )


@group.command("upgrade")
@db_option
@click.pass_context
def upgrade(ctx: click.Context, db_url: str | None) -> None:
    """Bring the database to the newest schema revision, keeping every row.

    Creates the tables of an empty database, applies pending revisions, and adopts tables made before
    schema versioning (after checking they equal the baseline). Refuses, changing nothing, a database
    stamped by a newer iotsec (db.schema.newer) and unstamped tables that differ (db.schema.unstamped).
    All in one transaction; servers do the same when they start.
    """
    from iotsec.adapters.db.migrate import upgrade as upgrade_db

    engine = _engine(db_url, must_exist=False)
    try:
        before, after = upgrade_db(engine)
    finally:
        engine.dispose()
    created = sorted(set(after.tables) - set(before.tables))
    if before.status == "current":
        text = f"{after.url}: already at revision {after.revision}, the newest; nothing to do"
    elif before.status == "adoptable":
        text = (
            f"{after.url}: adopted the tables made before schema versioning "
            f"({', '.join(before.tables)}), rows kept; stamped revision {after.revision}"
        )
        if created:
            text += f"; created {', '.join(created)}"
    else:
        text = (
            f"{after.url}: upgraded from {before.revision or '(no schema)'} to {after.revision} "
            f"(applied {', '.join(before.pending)})"
        )
        if created:
            text += f"; created {', '.join(created)}"
    data = {"before": before.as_dict(), "after": after.as_dict(), "applied": list(before.pending)}
    emit(ctx, {**data, "created": created}, text)


@group.command("revision", hidden=True)
@click.argument("message")
@click.pass_context
def revision(ctx: click.Context, message: str) -> None:
    """Developers: autogenerate the next revision from the models into the package's migrations.

    Review the file, then set HEAD in iotsec/adapters/db/migrate.py to its revision id.
    """
    from iotsec.adapters.db.migrate import new_revision

    path = new_revision(message)
    emit(ctx, {"path": str(path)}, f"wrote {path}; review it, then move HEAD in iotsec.adapters.db.migrate")
