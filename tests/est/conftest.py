"""Fixtures for the EST/PKI tests (helpers in est_support.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from est_support import Env, LiveServer, make_env


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return make_env(tmp_path)


@pytest.fixture
def server(env: Env) -> Iterator[LiveServer]:
    with LiveServer(env) as live:
        yield live
