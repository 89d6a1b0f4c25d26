"""`iotsec verifier serve` as deployed: an encrypted TLS key, TLS 1.3 only by default (openssl as peer)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from rats_helpers import free_port, self_signed

from iotsec.core.cose import Algorithm, CoseKey


def _s_client(port: int, cafile: Path, version: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", str(cafile), version, "-brief"],
        input="",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_rats_verifier_serve_encrypted_key_tls13_only(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    encrypted = tmp_path / "tls-enc.key"
    subprocess.run(
        [
            "openssl",
            "pkcs8",
            "-topk8",
            "-in",
            str(key),
            "-out",
            str(encrypted),
            "-passout",
            "pass:tls-passphrase",
        ],
        check=True,
        capture_output=True,
    )
    (tmp_path / "pass").write_text("tls-passphrase\n")
    (tmp_path / "ear.pem").write_bytes(CoseKey.generate(Algorithm.ES256).to_pem())
    port = free_port()
    cmd = [sys.executable, "-m", "iotsec", "verifier", "serve", "--ear-key", str(tmp_path / "ear.pem")]
    cmd += ["--cert", str(cert), "--key", str(encrypted), "--passphrase-file", str(tmp_path / "pass")]
    cmd += ["--port", str(port), "--db", f"sqlite:///{tmp_path / 'v.db'}"]
    env = {**os.environ, "IOTSEC_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.1)
        r13 = _s_client(port, cert, "-tls1_3")
        assert "Protocol version: TLSv1.3" in r13.stdout + r13.stderr, r13.stderr
        r12 = _s_client(port, cert, "-tls1_2")
        assert r12.returncode != 0  # TLS 1.2 is refused by default
    finally:
        proc.terminate()
        proc.wait(timeout=10)
