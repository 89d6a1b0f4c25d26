"""Fixtures of the MUD tests: the namespace lab (root), a local HTTPS server and the RFC 8520 vectors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mud_https import HttpsServer
from mud_lab import Lab, available

VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "rfc8520"


@pytest.fixture
def lab() -> Iterator[Lab]:
    why = available()
    if why:
        pytest.skip(f"network namespace lab {why}")
    lab = Lab()
    try:
        lab.up()
        yield lab
    finally:
        lab.down()  # also after a failure: namespaces and servers never outlive the test


@pytest.fixture
def server(tmp_path: Path) -> Iterator[HttpsServer]:
    s = HttpsServer(tmp_path)
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def rfc8520_example() -> bytes:
    return (VECTORS / "rfc8520-section9.json").read_bytes()
