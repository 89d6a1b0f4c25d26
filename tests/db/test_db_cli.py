"""``iotsec db upgrade|current|check`` on SQLite and PostgreSQL: output, --json, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy import text

from iotsec.adapters.db import make_engine
from iotsec.adapters.db import migrate as m
from iotsec.cli.main import cli

TABLES = [
    "est_certs",
    "est_crl_numbers",
    "est_devices",
    "est_events",
    "est_pending",
    "rats_endorsements",
    "rats_sessions",
]


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_db_commands_from_empty_to_current(db_url: str) -> None:
    e = make_engine(db_url)
    e.connect().close()  # an empty database (SQLite: the file exists)
    e.dispose()
    r = run("db", "check", "--db", db_url)
    assert r.exit_code == 1
    assert r.stderr.strip().endswith("[db.schema.empty]")
    assert "status    empty" in r.stdout

    r = run("--json", "db", "current", "--db", db_url)
    assert r.exit_code == 0, r.output
    state = json.loads(r.stdout)
    assert (state["status"], state["revision"], state["head"], state["pending"]) == (
        "empty",
        None,
        "0001",
        ["0001"],
    )

    r = run("db", "upgrade", "--db", db_url)
    assert r.exit_code == 0, r.output
    assert "upgraded from (no schema) to 0001 (applied 0001); created " + ", ".join(TABLES) in r.stdout

    r = run("--json", "db", "upgrade", "--db", db_url)
    assert r.exit_code == 0
    out = json.loads(r.stdout)
    assert (out["before"]["status"], out["after"]["revision"], out["applied"], out["created"]) == (
        "current",
        "0001",
        [],
        [],
    )

    r = run("db", "current", "--db", db_url)
    assert r.exit_code == 0
    assert "revision  0001 (newest known: 0001)" in r.stdout and "status    current" in r.stdout
    assert "tables    " + ", ".join(TABLES) in r.stdout

    r = run("--json", "db", "check", "--db", db_url)
    assert r.exit_code == 0 and r.stderr == ""
    assert json.loads(r.stdout)["differences"] == []


def test_db_check_reports_drift(db_url: str) -> None:
    assert run("db", "upgrade", "--db", db_url).exit_code == 0
    e = make_engine(db_url)
    with e.begin() as conn:
        conn.execute(text("DROP INDEX ix_est_events_device"))
    e.dispose()
    r = run("--json", "db", "check", "--db", db_url)
    assert r.exit_code == 1
    err = json.loads(r.stderr)
    assert err["error"] == "ConfigError" and err["reason"] == "db.schema.drift"
    assert "est_events: missing index ix_est_events_device(device)" in err["message"]
    assert json.loads(r.stdout)["differences"] == ["est_events: missing index ix_est_events_device(device)"]


def test_db_commands_on_a_create_all_database(db_url: str) -> None:
    e = make_engine(db_url)
    m.target_metadata().create_all(e)
    with e.begin() as conn:
        conn.execute(text("INSERT INTO est_crl_numbers (issuer, number) VALUES ('CN=ca', 41)"))
    r = run("db", "check", "--db", db_url)
    assert r.exit_code == 1 and "[db.schema.adoptable]" in r.stderr
    r = run("db", "upgrade", "--db", db_url)
    assert r.exit_code == 0, r.output
    assert (
        "adopted the tables made before schema versioning (" + ", ".join(TABLES) + "), rows kept" in r.stdout
    )
    assert run("db", "check", "--db", db_url).exit_code == 0
    with e.connect() as conn:
        assert conn.execute(text("SELECT number FROM est_crl_numbers")).scalar_one() == 41
    e.dispose()


def iotsec(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed command as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "iotsec", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"IOTSEC_HOME": str(home), "PATH": "/usr/bin:/bin"},
    )


def test_db_refusals_in_a_subprocess(tmp_path: Path) -> None:
    """Default database ($IOTSEC_HOME/iotsec.db), exit codes, one-line errors and no traceback."""
    r = iotsec(tmp_path, "db", "current")
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == f"error: no database at {tmp_path / 'iotsec.db'} [db.missing]\n"
    assert not (tmp_path / "iotsec.db").exists()  # reading commands create nothing

    r = iotsec(tmp_path, "db", "upgrade")
    assert r.returncode == 0, r.stderr
    db = make_engine(f"sqlite:///{tmp_path / 'iotsec.db'}")
    with db.begin() as conn:
        conn.execute(text(f"UPDATE {m.VERSION_TABLE} SET version_num = '0042'"))
    db.dispose()
    r = iotsec(tmp_path, "db", "upgrade")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith(
        "error: the database schema is at revision 0042, which this iotsec does not know"
    )
    assert r.stderr.rstrip().endswith("[db.schema.newer]")
    r = iotsec(tmp_path, "db", "current")
    assert r.returncode == 0 and "status    newer" in r.stdout

    r = iotsec(tmp_path, "db", "upgrade", "--db", "nosuchdialect://x")
    assert r.returncode == 1 and "[db.url]" in r.stderr
    r = iotsec(tmp_path, "db", "upgrade", "--db", f"sqlite:///{tmp_path}/missing/dir/x.db")
    assert r.returncode == 1 and "[db.unreachable]" in r.stderr
    r = iotsec(tmp_path, "db", "check", "--db", "postgresql://iotsec:s3cret@127.0.0.1:1/iotsec")
    assert r.returncode == 1 and "[db.unreachable]" in r.stderr
    assert "postgresql+psycopg://iotsec:***@127.0.0.1:1/iotsec" in r.stderr and "s3cret" not in r.stderr
    r = iotsec(tmp_path, "db", "upgrade", "--no-such-option")
    assert r.returncode == 2


def test_db_help_lists_the_commands() -> None:
    r = run("db", "--help")
    assert r.exit_code == 0
    for cmd in ("upgrade", "current", "check"):
        assert cmd in r.stdout
    commands = [line.split()[0] for line in r.stdout.split("Commands:")[1].splitlines() if line.strip()]
    assert commands == ["check", "current", "upgrade"]  # `revision` (for developers) stays hidden
    assert "db" in run("--help").stdout


def test_servers_refuse_a_newer_database_at_start_up(tmp_path: Path) -> None:
    """`iotsec verifier serve` exits 1 with the reason instead of serving on a database it does not know."""
    from iotsec.core.cose import Algorithm, CoseKey

    (tmp_path / "ear.pem").write_bytes(CoseKey.generate(Algorithm.ES256).to_pem())
    assert iotsec(tmp_path, "db", "upgrade").returncode == 0
    db = make_engine(f"sqlite:///{tmp_path / 'iotsec.db'}")
    with db.begin() as conn:
        conn.execute(text(f"UPDATE {m.VERSION_TABLE} SET version_num = '0002'"))
    db.dispose()
    ear = str(tmp_path / "ear.pem")
    r = iotsec(tmp_path, "verifier", "serve", "--ear-key", ear, "--insecure-http", "--port", "0")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.rstrip().endswith("[db.schema.newer]")
