"""RATS verifier throughput, with the raw ``cryptography`` limit measured in the same run.

1. In process: verify an ES256 COSE_Sign1 EAT + appraise against a CoRIM + sign the EAR (ES256 JWT),
   vs raw ``cryptography`` ECDSA P-256 verify + sign of same-sized inputs (target ratio >= 0.6).
2. Over HTTP on loopback: challenge-response round trips per second (newSession + evidence) with
   concurrent clients against ``iotsec verifier serve --insecure-http`` in a subprocess (SQLite).
   Anchor: Veraison reported ~400 requests/s on a small cloud VM backed by PostgreSQL.

Run: ``.venv/bin/python bench/rats_bench.py [--json] [--clients N] [--seconds S] [--in-process-only]``
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from harness import Result, rate, report
from iotsec.adapters.http.verifier_client import VerifierClient
from iotsec.agent.attester import Attester, StaticPlatform
from iotsec.clock import SYSTEM
from iotsec.core.cose import Algorithm, CoseKey
from iotsec.core.eat import corim
from iotsec.core.eat.signing import EarSigner
from iotsec.services.verifier import Session, VerifierService

UEID = b"\x01" + bytes(range(32))
COMPONENTS = {f"component-{i}": f"content {i}".encode() for i in range(4)}


def make_corim(key: CoseKey) -> bytes:
    env = corim.Environment(instance_ueid=UEID)
    meas = tuple(corim.Measurement(n, ((1, hashlib.sha256(c).digest()),)) for n, c in COMPONENTS.items())
    return corim.encode(
        corim.Corim(
            "bench",
            [
                corim.Comid(
                    "bench-comid",
                    [corim.ReferenceValue(env, meas)],
                    [corim.AttestKey(env, (key.public().to_der(private=False),))],
                )
            ],
        )
    )


class MemEndorsements:
    def __init__(self) -> None:
        self.rows: list[bytes] = []

    def add(self, corim_id: str, media_type: str, raw: bytes) -> None:
        self.rows.append(raw)

    def load(self, after: int) -> list[tuple[int, bytes]]:
        return [(i + 1, r) for i, r in enumerate(self.rows) if i + 1 > after]


class NoSessions:
    def create(self, s: Session) -> None: ...
    def get(self, sid: str) -> Session:
        raise NotImplementedError

    def update(self, s: Session) -> None: ...
    def claim(self, sid: str) -> Session:
        raise NotImplementedError

    def delete(self, sid: str) -> None: ...
    def purge(self, before: object) -> int:
        return 0


def in_process(seconds: float) -> list[Result]:
    dev = CoseKey.generate(Algorithm.ES256)
    service = VerifierService(
        NoSessions(), MemEndorsements(), SYSTEM, EarSigner(CoseKey.generate(Algorithm.ES256))
    )
    service.provision("application/corim-unsigned+cbor", make_corim(dev))
    nonce = os.urandom(32)
    plat = StaticPlatform(ueid=UEID, comps=[(n, hashlib.sha256(c).digest()) for n, c in COMPONENTS.items()])
    evidence = Attester(plat, dev).evidence(nonce, now=SYSTEM.timestamp())
    mt = Attester.media_type
    out = service.appraise(mt, evidence, nonce=nonce)
    assert out.ear.overall().json_name == "affirming"
    figure = rate(lambda: service.appraise(mt, evidence, nonce=nonce), seconds=seconds)

    # raw limit: one P-256 ECDSA verify (the evidence) + one sign (the EAR), same input sizes
    k1, k2 = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    msg1, msg2 = os.urandom(len(evidence)), os.urandom(len(out.token))
    sig1 = k1.sign(msg1, ec.ECDSA(hashes.SHA256()))
    pub1 = k1.public_key()

    def raw() -> None:
        pub1.verify(sig1, msg1, ec.ECDSA(hashes.SHA256()))
        k2.sign(msg2, ec.ECDSA(hashes.SHA256()))

    baseline = rate(raw, seconds=seconds)
    return [Result("verify + appraise + sign EAR (in process)", figure, baseline, "appraisals/s", target=0.6)]


def over_http(clients: int, seconds: float, raw_limit: float, db_url: str | None = None) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        ear_key, dev = CoseKey.generate(Algorithm.ES256), CoseKey.generate(Algorithm.ES256)
        (t / "ear.pem").write_bytes(ear_key.to_pem())
        (t / "token").write_text("bench-provisioning-token")
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "IOTSEC_HOME": str(t / "home")}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "iotsec",
                "verifier",
                "serve",
                "--insecure-http",
                "--port",
                str(port),
                "--ear-key",
                str(t / "ear.pem"),
                "--provisioning-token-file",
                str(t / "token"),
                *(["--db", db_url] if db_url else []),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    httpx.get(url + "/.well-known/veraison/verification", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            with httpx.Client(timeout=30) as http:
                VerifierClient(url, http).provision(make_corim(dev), "bench-provisioning-token")
            plat = StaticPlatform(
                ueid=UEID, comps=[(n, hashlib.sha256(c).digest()) for n, c in COMPONENTS.items()]
            )
            attester = Attester(plat, dev)

            def worker(deadline: float) -> int:
                n = 0
                with httpx.Client(timeout=30) as http:
                    client = VerifierClient(url, http)
                    while time.perf_counter() < deadline:
                        s = client.new_session(nonce_size=32)
                        r = client.submit(
                            s, attester.media_type, attester.evidence(s.nonce, now=SYSTEM.timestamp())
                        )
                        assert r["status"] == "complete"
                        n += 1
                return n

            worker(time.perf_counter() + 0.3)  # warm up
            start = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(clients) as pool:
                total = sum(pool.map(worker, [start + seconds] * clients))
            figure = total / (time.perf_counter() - start)
        finally:
            proc.terminate()
            proc.wait(10)
    return Result(
        f"HTTP challenge-response round trips ({clients} clients, {'PostgreSQL' if db_url else 'SQLite'})",
        figure,
        raw_limit,
        "round trips/s",
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--db", default=None, help="Database URL for the HTTP run (default: SQLite)")
    ap.add_argument("--in-process-only", action="store_true", help="Skip the HTTP round trips")
    args = ap.parse_args()
    results = in_process(args.seconds)
    if args.in_process_only:
        report(results)
        return
    results.append(over_http(args.clients, args.seconds, results[0].baseline, args.db))
    report(results)
    if not args.json:
        print(f"(each round trip is 2 HTTP requests: {2 * results[1].figure:,.0f} requests/s)")
        print(
            f"(anchor: Veraison reported ~400 requests/s on a small cloud VM; HTTP ratio is to the raw "
            f"verify+sign limit of this machine, {results[0].baseline:,.0f}/s)"
        )


if __name__ == "__main__":
    main()
