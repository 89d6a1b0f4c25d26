"""Helpers for the EST/PKI tests: an in-process CA, a live uvicorn HTTPS server, device factories.

Imported by name (``from est_support import ...``); the fixtures are in this folder's conftest.py."""

from __future__ import annotations

import datetime as dt
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from iotsec.adapters.db.est import SqlEnrollmentStore
from iotsec.adapters.http.est import create_app
from iotsec.adapters.http.server import free_socket, make_server
from iotsec.clock import FixedClock
from iotsec.core import pki
from iotsec.services.enrollment import (
    Argon2Hasher,
    CaBundle,
    EnrollmentPolicy,
    EnrollmentService,
)

PASS = b"test passphrase, never a default"


def fast_hasher() -> Argon2Hasher:
    # lowered argon2id cost for tests only (the default is RFC 9106's t=3, m=64 MiB)
    return Argon2Hasher(time_cost=1, memory_cost=64, parallelism=1)


def run(
    *args: str | Path, check: bool = True, input: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    r = subprocess.run([str(a) for a in args], capture_output=True, timeout=60, check=False, input=input)
    if check and r.returncode != 0:
        raise AssertionError(f"{args[0]} failed ({r.returncode}): {r.stderr.decode(errors='replace')}")
    return r


@dataclass
class Device:
    uuid: uuid.UUID
    cert: Path
    key: Path
    secret: str
    dir: Path


@dataclass
class Env:
    tmp: Path
    clock: FixedClock
    root: pki.Issuer
    issuing: pki.Issuer
    root_pem: Path
    client_ca: Path
    server_cert: Path
    server_key: Path
    store: SqlEnrollmentStore
    service: EnrollmentService
    devices: list[Device] = field(default_factory=list)

    def device(self, *, model: str = "sensor-1", mud_url: str | None = None) -> Device:
        """Manufacture one device: own key, UUID, own one-time secret; registered in the store."""
        key = pki.generate_key()
        dev_id = uuid.uuid4()
        cert = pki.device_cert(
            key.public_key(),
            self.issuing,
            device=dev_id,
            model=model,
            mud_url=mud_url,
            serial=x509.random_serial_number(),
            now=self.clock.now(),
        )
        secret = f"s3cret-{uuid.uuid4().hex}"
        self.service.register_device(cert, model=model, secret=secret, mud_url=mud_url)
        d = self.tmp / f"dev-{dev_id}"
        d.mkdir()
        (d / "idevid.pem").write_bytes(pki.certs_to_pem([cert, self.issuing.cert]))
        (d / "idevid.key").write_bytes(pki.key_to_pem(key, None))
        dev = Device(dev_id, d / "idevid.pem", d / "idevid.key", secret, d)
        self.devices.append(dev)
        return dev


def make_env(tmp: Path, *, db_url: str | None = None, policy: EnrollmentPolicy | None = None) -> Env:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    clock = FixedClock(now)
    root_key = pki.generate_key()
    root = pki.root_ca(
        root_key, pki.name("Test Root CA G1", organization="iotsec-test"), serial=1001, now=now
    )
    iss_key = pki.generate_key()
    issuing = pki.issuing_ca(
        iss_key.public_key(),
        pki.name("Test Issuing CA G1", organization="iotsec-test"),
        pki.Issuer(root, root_key),
        serial=1002,
        now=now,
    )
    root_i, iss_i = pki.Issuer(root, root_key), pki.Issuer(issuing, iss_key)
    srv_key = pki.generate_key()
    srv = pki.server_cert(
        srv_key.public_key(), iss_i, dns_names=["localhost"], ips=["127.0.0.1"], serial=1003, now=now
    )
    (tmp / "root.pem").write_bytes(pki.certs_to_pem([root]))
    (tmp / "client-ca.pem").write_bytes(pki.certs_to_pem([root, issuing]))
    (tmp / "server.pem").write_bytes(pki.certs_to_pem([srv, issuing]))
    (tmp / "server.key").write_bytes(pki.key_to_pem(srv_key, PASS))
    store = SqlEnrollmentStore.open(db_url or f"sqlite:///{tmp / 'est.db'}")
    service = EnrollmentService(
        store,
        CaBundle(iss_i, [root, issuing]),
        hasher=fast_hasher(),
        clock=clock,
        policy=policy or EnrollmentPolicy(labels=("factory",)),
    )
    return Env(
        tmp,
        clock,
        root_i,
        iss_i,
        tmp / "root.pem",
        tmp / "client-ca.pem",
        tmp / "server.pem",
        tmp / "server.key",
        store,
        service,
    )


class LiveServer:
    """uvicorn over HTTPS on 127.0.0.1 (a kernel-chosen free port), in a thread of this process."""

    def __init__(self, env: Env, *, allow_tls12: bool = False) -> None:
        self.env = env
        self.sock = free_socket()
        self.port = self.sock.getsockname()[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self.server = make_server(
            create_app(env.service),
            certfile=env.server_cert,
            keyfile=env.server_key,
            password=PASS,
            client_ca=env.client_ca,
            allow_tls12=allow_tls12,
        )
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("EST server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()
