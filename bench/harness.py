"""A small harness shared by the benchmarks under ``bench/``.

Each benchmark measures its figure and a *raw baseline* (the same work done directly with the
C-backed library, e.g. ``cryptography``'s own ECDSA verify) in the same run, and prints both with
their ratio, so the figure says how much iotsec costs on top of the hard limit of this machine.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass


@dataclass
class Result:
    name: str
    figure: float
    baseline: float
    unit: str
    target: float | None = None

    @property
    def ratio(self) -> float:
        return self.figure / self.baseline if self.baseline else float("nan")

    def line(self) -> str:
        verdict = ""
        if self.target is not None:
            met = "met" if self.ratio >= self.target else "NOT MET"
            verdict = f"  target >= {self.target:.2f}: {met}"
        return (
            f"{self.name}: {self.figure:,.1f} {self.unit} | raw {self.baseline:,.1f} {self.unit}"
            f" | ratio {self.ratio:.3f}{verdict}"
        )


def rate(fn: Callable[[], object], *, seconds: float = 1.0, batch: int = 1) -> float:
    """Calls per second of ``fn`` (each call counting ``batch`` operations), best of 3 rounds."""
    fn()  # warm up
    best = 0.0
    for _ in range(3):
        n = 0
        start = time.perf_counter()
        deadline = start + seconds / 3
        while True:
            fn()
            n += 1
            now = time.perf_counter()
            if now >= deadline:
                break
        best = max(best, n * batch / (now - start))
    return best


def report(results: list[Result]) -> None:
    """Print results for people, or as JSON with ``--json``."""
    if "--json" in sys.argv:
        print(json.dumps([{**asdict(r), "ratio": r.ratio} for r in results], indent=2))
    else:
        for r in results:
            print(r.line())
