"""The ``iotsec`` entry point as a user runs it: a real subprocess."""

from __future__ import annotations

import subprocess
import sys

from iotsec import __version__


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "iotsec", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_help_and_version() -> None:
    r = run("--help")
    assert r.returncode == 0
    assert "Usage:" in r.stdout
    v = run("--version")
    assert v.returncode == 0
    assert __version__ in v.stdout


def test_unknown_command_is_a_usage_error() -> None:
    r = run("no-such-command")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
