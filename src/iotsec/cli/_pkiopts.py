"""Options shared by ``iotsec ca`` and ``iotsec est``: CA directory, passphrase, database, argon2."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from iotsec.adapters.ca_files import CaDir, read_passphrase

if TYPE_CHECKING:  # imported lazily: client commands need no database stack
    from iotsec.adapters.db.est import SqlEnrollmentStore
    from iotsec.services.enrollment import Argon2Hasher

F = TypeVar("F", bound=Callable[..., Any])


def home() -> Path:
    return Path(os.environ.get("IOTSEC_HOME", Path.home() / ".iotsec"))


def ca_options(fn: F) -> F:
    """--ca-dir, --passphrase-file, --passphrase-env."""
    fn = click.option(
        "--passphrase-env", metavar="NAME", help="Environment variable holding the CA passphrase."
    )(fn)
    fn = click.option(
        "--passphrase-file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="File whose first line is the CA passphrase.",
    )(fn)
    fn = click.option(
        "--ca-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=lambda: home() / "ca",
        show_default="$IOTSEC_HOME/ca",
        help="CA directory.",
    )(fn)
    return fn


def db_option(fn: F) -> F:
    return click.option(
        "--db", "db_url", metavar="URL", help="Database URL (default SQLite in $IOTSEC_HOME)."
    )(fn)


def argon2_options(fn: F) -> F:
    """argon2id cost; the defaults are RFC 9106's (t=3, m=64 MiB, p=4). Lower only for tests."""
    fn = click.option("--argon2-time-cost", type=click.IntRange(1, 20), default=3, hidden=True)(fn)
    fn = click.option(
        "--argon2-memory-kib", type=click.IntRange(8, 4 * 1024 * 1024), default=64 * 1024, hidden=True
    )(fn)
    return fn


def open_ca(ca_dir: Path, passphrase_file: Path | None, passphrase_env: str | None) -> CaDir:
    return CaDir(ca_dir, read_passphrase(file=passphrase_file, env=passphrase_env))


def open_store(db_url: str | None) -> SqlEnrollmentStore:
    from iotsec.adapters.db.est import SqlEnrollmentStore

    return SqlEnrollmentStore.open(db_url)


def hasher(time_cost: int, memory_kib: int) -> Argon2Hasher:
    from iotsec.services.enrollment import Argon2Hasher

    lanes = min(4, os.cpu_count() or 1)
    return Argon2Hasher(time_cost=time_cost, memory_cost=max(memory_kib, 8 * lanes), parallelism=lanes)


def emit(ctx: click.Context, data: dict[str, Any], text: str) -> None:
    """JSON with the global --json, else the human text."""
    if ctx.obj and ctx.obj.get("json"):
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        click.echo(text)
