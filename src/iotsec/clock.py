"""The only module that reads wall time (DESIGN.md). Everything in ``core`` takes ``now``.

Services receive a :class:`Clock` so tests can pass a :class:`FixedClock`.
"""

from __future__ import annotations

import datetime as _dt
import time as _time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> _dt.datetime:
        """Current time, timezone-aware UTC."""
        ...

    def timestamp(self) -> int:
        """Current time as integer seconds since the epoch (CWT/EAT NumericDate)."""
        ...


class SystemClock:
    def now(self) -> _dt.datetime:
        return _dt.datetime.now(_dt.UTC)

    def timestamp(self) -> int:
        return int(_time.time())


class FixedClock:
    """A clock that says what it is told; ``advance`` moves it forward."""

    def __init__(self, at: _dt.datetime | int) -> None:
        if isinstance(at, int):
            at = _dt.datetime.fromtimestamp(at, _dt.UTC)
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._at = at

    def now(self) -> _dt.datetime:
        return self._at

    def timestamp(self) -> int:
        return int(self._at.timestamp())

    def advance(self, seconds: float) -> None:
        self._at += _dt.timedelta(seconds=seconds)


SYSTEM = SystemClock()

__all__ = ["SYSTEM", "Clock", "FixedClock", "SystemClock"]
