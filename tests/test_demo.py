"""`iotsec demo` end to end, as `make demo` runs it: real servers over TLS, real subprocesses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    r = subprocess.run(
        [sys.executable, "-m", "iotsec", "demo", "--workdir", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert r.stdout.count("(exit 1, as expected: refused)") == 4
    summary = r.stdout.split("Summary", 1)[1]
    assert summary.count("OK") == 4
    # what the demo claims, checked on what it left behind
    assert (out / "device/ldevid.pem").read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert (out / "device/store/current/components/app.bin").read_bytes() == (
        out / "build/app.bin"
    ).read_bytes()
    assert "default deny" in (out / "mud/thermo1.nft").read_text()
