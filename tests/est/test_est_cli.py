"""`iotsec ca` and `iotsec est` as a user runs them: real subprocesses, a real server process."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from est_support import run

FAST = ("--argon2-time-cost", "1", "--argon2-memory-kib", "64")


def cli_env(home: Path) -> dict[str, str]:
    return {**os.environ, "IOTSEC_HOME": str(home), "CA_PASS": "a long operator passphrase"}


def iotsec(home: Path, *args: str | Path, ok: bool = True) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(
        [sys.executable, "-m", "iotsec", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=cli_env(home),
    )
    if ok and r.returncode != 0:
        raise AssertionError(f"iotsec {args} -> {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def est_server(home: Path, *extra: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "iotsec",
            "est",
            "serve",
            "--passphrase-env",
            "CA_PASS",
            "--port",
            str(port),
            "--tls-cert",
            home / "srv.pem",
            "--tls-key",
            home / "srv.key",
            *FAST,
            *extra,
        ],
        env=cli_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError as exc:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        f"server did not start: {proc.stderr.read() if proc.stderr else ''}"
                    ) from exc
                time.sleep(0.1)
        yield f"https://127.0.0.1:{port}", proc
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


CA = ("--passphrase-env", "CA_PASS")
MANUFACTURE = ("ca", "manufacture", *CA)


def tls(d: Path, stem: str) -> tuple[str, Path, str, Path]:
    """`--cert D/STEM.pem --key D/STEM.key`: the client certificate and key an EST request uses."""
    return ("--cert", d / f"{stem}.pem", "--key", d / f"{stem}.key")


def out(d: Path, stem: str) -> tuple[str, Path, str, Path]:
    """`--cert-out D/STEM.pem --key-out D/STEM.key`: where a command writes a certificate and its key."""
    return ("--cert-out", d / f"{stem}.pem", "--key-out", d / f"{stem}.key")


def est(
    home: Path, command: str, url: str, trust: Path, *args: str | Path, ok: bool = True
) -> subprocess.CompletedProcess[str]:
    """`iotsec est COMMAND --url URL --trust TRUST ARGS...`."""
    return iotsec(home, "est", command, "--url", url, "--trust", trust, *args, ok=ok)


def ca_server(home: Path, *names: str) -> None:
    """`iotsec ca server` for 127.0.0.1 (and NAMES), written to HOME/srv.pem and HOME/srv.key."""
    iotsec(home, "ca", "server", *CA, "--ip", "127.0.0.1", *names, *out(home, "srv"))


def test_ca_needs_a_passphrase(tmp_path: Path) -> None:
    r = iotsec(tmp_path, "ca", "init", ok=False)
    assert r.returncode == 1 and "ca.passphrase.missing" in r.stderr
    empty = tmp_path / "empty"
    empty.write_text("")
    r = iotsec(tmp_path, "ca", "init", "--passphrase-file", empty, ok=False)
    assert r.returncode == 1 and "ca.passphrase.empty" in r.stderr


@pytest.mark.parametrize("key_type", ["p384", "ed25519"])
def test_ca_init_key_types(tmp_path: Path, key_type: str) -> None:
    iotsec(tmp_path, "ca", "init", *CA, "--key-type", key_type)
    ca = tmp_path / "ca"
    text = run("openssl", "x509", "-in", ca / "issuing-g1.pem", "-noout", "-text").stdout.decode()
    assert ("secp384r1" if key_type == "p384" else "ED25519") in text
    run("openssl", "verify", "-CAfile", ca / "root-g1.pem", ca / "issuing-g1.pem")
    r = iotsec(tmp_path, "ca", "init", *CA, ok=False)
    assert r.returncode == 1 and "ca.exists" in r.stderr


def test_cli_end_to_end(tmp_path: Path) -> None:
    h = tmp_path
    r = iotsec(h, "--json", "ca", "init", *CA)
    assert json.loads(r.stdout)["key_type"] == "p256"
    ca = h / "ca"
    for k in ("root-g1.key", "issuing-g1.key"):
        assert mode(ca / k) == 0o600
        assert b"ENCRYPTED PRIVATE KEY" in (ca / k).read_bytes()
        assert (
            run("openssl", "pkey", "-in", ca / k, "-passin", "pass:", "-noout", check=False).returncode != 0
        )
    assert "a long operator passphrase" not in r.stdout + r.stderr
    ca_server(h, "--dns", "localhost")
    bulb = ("--model", "bulb-2000", "--mud-url", "https://mud.example.com/bulb.json")
    r = iotsec(h, "--json", *MANUFACTURE, "--count", "3", *bulb, "--out", h / "devices", *FAST)
    devices = json.loads(r.stdout)["devices"]
    assert len(set(devices)) == 3
    secrets = set()
    for d in devices:
        dd = h / "devices" / d
        assert mode(dd / "idevid.key") == 0o600 and mode(dd / "bootstrap-secret") == 0o600
        secrets.add((dd / "bootstrap-secret").read_text())
        text = run("openssl", "x509", "-in", dd / "idevid.pem", "-noout", "-text").stdout.decode()
        assert f"URI:urn:uuid:{d}" in text and "https://mud.example.com/bulb.json" in text
        assert f"serialNumber = {d}" in text or f"serialNumber={d}" in text
    assert len(secrets) == 3  # never one secret for two devices
    r = iotsec(
        h,
        *MANUFACTURE,
        "--count",
        "1",
        "--model",
        "m",
        "--mud-url",
        "http://insecure/",
        "--out",
        h / "x",
        ok=False,
    )
    assert r.returncode == 1 and "pki.mud.url" in r.stderr

    root = ca / "root-g1.pem"
    d0, d1, d2 = (h / "devices" / d for d in devices)
    with est_server(h) as (url, proc):
        r = est(h, "cacerts", url, root, "--out", h / "cacerts.pem")
        assert "Issuing CA G1" in r.stdout
        # enroll with the IDevID (mutual TLS), then re-enroll with the LDevID
        est(h, "enroll", url, root, *tls(d0, "idevid"), *out(d0, "ld"))
        run("openssl", "verify", "-CAfile", root, "-untrusted", h / "cacerts.pem", d0 / "ld.pem")
        est(h, "reenroll", url, root, *tls(d0, "ld"), *out(d0, "ld2"))
        # bootstrap secret, once
        boot = ("--user", devices[1], "--secret-file", d1 / "bootstrap-secret")
        est(h, "enroll", url, root, *boot, *out(d1, "ld"))
        r = est(h, "enroll", url, root, *boot, *out(d1, "x"), ok=False)
        assert r.returncode == 1 and "est.secret.used" in r.stderr
        from iotsec.adapters.db.est import SqlEnrollmentStore

        store = SqlEnrollmentStore.open(f"sqlite:///{h / 'iotsec.db'}")
        assert store.get_device(uuid.UUID(devices[1])).failed_attempts == 1  # type: ignore[union-attr]
        assert "unlocked" in iotsec(h, "est", "unlock", devices[1]).stdout
        assert store.get_device(uuid.UUID(devices[1])).failed_attempts == 0  # type: ignore[union-attr]
        assert iotsec(h, "est", "unlock", "00000000-0000-4000-8000-000000000000", ok=False).returncode == 1
        # server keygen
        est(h, "serverkeygen", url, root, *tls(d2, "idevid"), *out(d2, "skg"))
        assert mode(d2 / "skg.key") == 0o600
        r = est(h, "new-anchor", url, root, "--out", h / "new.pem", ok=False)
        assert r.returncode == 4
        # revoke device 0; publish the CRL
        r = iotsec(h, "ca", "revoke", *CA, "--device", devices[0], "--reason", "key_compromise")
        assert r.stdout.count("revoked") == 3  # IDevID and two LDevIDs
        iotsec(h, "ca", "crl", *CA, "--out", h / "crl.pem")
        crl_text = run(
            "openssl", "crl", "-in", h / "crl.pem", "-CAfile", ca / "issuing-g1.pem", "-noout", "-text"
        )
        assert b"verify OK" in crl_text.stdout + crl_text.stderr and b"Key Compromise" in crl_text.stdout
        # rollover: a device with the old root reaches the new one, and re-enrolls under it
        r = iotsec(h, "ca", "rollover", *CA)
        assert "generation 2" in r.stdout
        proc.send_signal(signal.SIGHUP)  # the running server loads generation 2
        for _ in range(50):
            r = est(h, "new-anchor", url, root, "--out", h / "root2.pem", ok=False)
            if r.returncode == 0:
                break
            time.sleep(0.2)
        assert r.returncode == 0, r.stderr
        run("openssl", "verify", "-CAfile", h / "root2.pem", ca / "issuing-g2.pem")
        assert (h / "root2.pem").read_bytes() == (ca / "root-g2.pem").read_bytes()
        est(h, "reenroll", url, root, *tls(d1, "ld"), *out(d1, "ld2"))
        run(
            "openssl",
            "verify",
            "-CAfile",
            h / "root2.pem",
            "-untrusted",
            ca / "issuing-g2.pem",
            d1 / "ld2.pem",
        )
        # an LDevID of issuing CA G2 is accepted by the reloaded TLS context of the same process
        est(h, "reenroll", url, root, *tls(d1, "ld2"), *out(d1, "ld3"))
        # the revoked device is refused
        r = est(h, "reenroll", url, root, *tls(d0, "ld2"), *out(d0, "ld3"), ok=False)
        assert r.returncode == 1 and "est.device.revoked" in r.stderr


def test_cli_manual_approval(tmp_path: Path) -> None:
    h = tmp_path
    iotsec(h, "ca", "init", *CA)
    ca_server(h)
    [dev] = iotsec(h, *MANUFACTURE, "--count", "1", "--model", "m", "--out", h / "d", *FAST).stdout.split()
    d = h / "d" / dev
    root = h / "ca" / "root-g1.pem"
    args = (*tls(d, "idevid"), *out(d, "ld"))
    with est_server(h, "--approval", "manual", "--label", "line-3") as (url, _):
        r = est(h, "enroll", url, root, "--label", "line-3", *args, ok=False)
        assert r.returncode == 3 and "pending, retry after 60s" in r.stdout
        assert not (d / "ld.pem").exists()
        listed = iotsec(h, "--json", "est", "pending").stdout
        [pending] = json.loads(listed)["pending"]
        assert pending["device"] == dev
        assert "approved" in iotsec(h, "est", "approve", pending["id"]).stdout
        # the retry reuses the key kept in --key-out: same request, now approved
        r = est(h, "enroll", url, root, "--label", "line-3", *args)
        assert f"serialNumber={dev}" in r.stdout
        run("openssl", "verify", "-CAfile", h / "ca" / "client-ca.pem", d / "ld.pem")
        assert iotsec(h, "est", "pending").stdout.strip() == "none"
        r = est(h, "enroll", url, root, "--label", "nope", *args, ok=False)
        assert r.returncode == 1 and "est.label.unknown" in r.stderr
