"""Run a Python script under valgrind memcheck, for the tests of the C extensions."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys


def memcheck_reports(script: str) -> list[str]:
    """The memcheck reports of ``script`` (which must print "done" at its end).

    PYTHONMALLOC=malloc lets memcheck see every object allocation. CPython has a few reports of
    its own (uninitialised bytes in int.from_bytes...): each caller keeps the reports that concern
    its extension.
    """
    assert shutil.which("valgrind"), "valgrind is installed by `make sysdeps`"
    proc = subprocess.run(
        ["valgrind", "--quiet", "--num-callers=30", sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONMALLOC": "malloc"},
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "done" in proc.stdout
    return re.split(r"==\d+== \n", proc.stderr)
