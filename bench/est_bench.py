"""EST enrollments per second over HTTPS with concurrent clients, vs raw certificate signing.

Sets up a CA, a server certificate and N manufactured devices with the real CLI, starts
`iotsec est serve` (uvicorn, TLS 1.3, SQLite) as a separate process, and lets N client threads
(httpx, mutual TLS with each device's IDevID) POST simpleenroll for a few seconds. Two figures:
kept-alive connections (one TLS handshake per client), and a new TLS connection per enrollment.
The baseline is `cryptography` signing the same device certificate profile in this process.

    .venv/bin/python bench/est_bench.py [--clients 8] [--seconds 5] [--json]
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from harness import Result, rate, report
from iotsec.core import pki

ENV_PASS = "IOTSEC_BENCH_PASS"


def cli(home: Path, *args: str | Path) -> str:
    env = {**os.environ, "IOTSEC_HOME": str(home), ENV_PASS: "bench passphrase (throwaway CA)"}
    r = subprocess.run(
        [sys.executable, "-m", "iotsec", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return r.stdout


def raw_signing_rate() -> float:
    """cryptography alone: build and sign one P-256 device certificate (same extensions)."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "raw CA")])
    dev_pub = ec.generate_private_key(ec.SECP256R1()).public_key()
    now = dt.datetime.now(dt.UTC)

    def one() -> None:
        dev = uuid.uuid4()
        (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.SERIAL_NUMBER, str(dev))]))
            .issuer_name(ca_name)
            .public_key(dev_pub)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.SubjectAlternativeName([x509.UniformResourceIdentifier(f"urn:uuid:{dev}")]),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )

    return rate(one, seconds=3.0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        cli(home, "ca", "init", "--passphrase-env", ENV_PASS)
        cli(
            home,
            "ca",
            "server",
            "--passphrase-env",
            ENV_PASS,
            "--ip",
            "127.0.0.1",
            "--cert-out",
            home / "srv.pem",
            "--key-out",
            home / "srv.key",
        )
        devices = cli(
            home,
            "ca",
            "manufacture",
            "--passphrase-env",
            ENV_PASS,
            "--count",
            str(args.clients),
            "--model",
            "bench",
            "--out",
            home / "devices",
        ).split()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "IOTSEC_HOME": str(home), ENV_PASS: "bench passphrase (throwaway CA)"}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "iotsec",
                "est",
                "serve",
                "--passphrase-env",
                ENV_PASS,
                "--port",
                str(port),
                "--tls-cert",
                home / "srv.pem",
                "--tls-key",
                home / "srv.key",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"https://127.0.0.1:{port}"
            root = home / "ca" / "root-g1.pem"
            for _ in range(200):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)

            def context(dev: str) -> ssl.SSLContext:
                ctx = ssl.create_default_context(cafile=str(root))
                ctx.minimum_version = ssl.TLSVersion.TLSv1_3
                d = home / "devices" / dev
                ctx.load_cert_chain(str(d / "idevid.pem"), str(d / "idevid.key"))
                return ctx

            bodies = {
                d: base64.encodebytes(
                    pki.build_csr(pki.generate_key(), uuid.UUID(d)).public_bytes(Encoding.DER)
                )
                for d in devices
            }
            headers = {"Content-Type": "application/pkcs10"}

            def run_clients(keepalive: bool, seconds: float) -> float:
                counts = [0] * len(devices)
                errors: list[str] = []
                stop = time.perf_counter() + seconds

                def worker(i: int, dev: str) -> None:
                    ctx = context(dev)
                    client = httpx.Client(base_url=url, verify=ctx, timeout=30)
                    try:
                        while time.perf_counter() < stop:
                            if not keepalive:
                                client.close()
                                client = httpx.Client(base_url=url, verify=ctx, timeout=30)
                            r = client.post(
                                "/.well-known/est/simpleenroll", content=bodies[dev], headers=headers
                            )
                            if r.status_code != 200:
                                errors.append(f"{r.status_code} {r.text[:80]}")
                                return
                            counts[i] += 1
                    finally:
                        client.close()

                start = time.perf_counter()
                threads = [threading.Thread(target=worker, args=(i, d)) for i, d in enumerate(devices)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                if errors:
                    raise SystemExit(f"enrollment failed: {errors[0]}")
                return sum(counts) / (time.perf_counter() - start)

            run_clients(True, 1.0)  # warm up
            keep = run_clients(True, args.seconds)
            fresh = run_clients(False, args.seconds)
        finally:
            server.terminate()
            server.wait(timeout=15)

    raw = raw_signing_rate()
    n = args.clients
    report(
        [
            Result(
                f"EST simpleenroll over HTTPS, {n} clients, kept-alive TLS 1.3 (mTLS IDevID, SQLite)",
                keep,
                raw,
                "enrollments/s",
            ),
            Result(
                f"EST simpleenroll over HTTPS, {n} clients, new TLS 1.3 connection each",
                fresh,
                raw,
                "enrollments/s",
            ),
        ]
    )


if __name__ == "__main__":
    main()
