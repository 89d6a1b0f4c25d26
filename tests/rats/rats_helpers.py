"""Helpers shared by the RATS tests: a device, its CoRIM, a TLS uvicorn server in a thread."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from iotsec.core.cose import Algorithm, CoseKey
from iotsec.core.eat import corim

REPO = Path(__file__).resolve().parents[2]
# the same location as the shared_vectors fixture (tests/conftest.py), needed at collection time
VECTORS = Path(os.environ.get("IOTSEC_SHARED_VECTORS", REPO.parent / "shared" / "vectors"))

COMPONENTS = {
    "bootloader": b"bootloader image v1",
    "kernel": b"linux kernel 6.1 image",
    "app": b"application 2.3",
}
UEID = b"\x01" + bytes(range(32))


def digests(components: dict[str, bytes] = COMPONENTS) -> list[tuple[str, bytes]]:
    return [(n, hashlib.sha256(c).digest()) for n, c in components.items()]


def device_corim(
    ueid: bytes, key: CoseKey, components: dict[str, bytes] = COMPONENTS, *, cid: str = "acme-1"
) -> bytes:
    """Reference values (SHA-256 of each component, computed with hashlib) and the device's key."""
    env = corim.Environment(vendor="ACME", model="Widget", instance_ueid=ueid)
    meas = tuple(corim.Measurement(n, ((1, hashlib.sha256(c).digest()),)) for n, c in components.items())
    tag = corim.Comid(
        f"{cid}-comid",
        [corim.ReferenceValue(env, meas)],
        [corim.AttestKey(env, (key.public().to_der(private=False),))],
    )
    return corim.encode(corim.Corim(cid, [tag]))


def new_device_key() -> CoseKey:
    return CoseKey.generate(Algorithm.ES256, kid=b"device-1")


def self_signed(tmp: Path) -> tuple[Path, Path]:
    """A P-256 certificate for 127.0.0.1 and its key (0600)."""
    k = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(k.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(k, hashes.SHA256())
    )
    cp, kp = tmp / "cert.pem", tmp / "key.pem"
    cp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    kp.write_bytes(
        k.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    kp.chmod(0o600)
    return cp, kp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(app: object, *, cert: Path | None = None, key: Path | None = None) -> Iterator[str]:
    """Run ``app`` with uvicorn in a thread on loopback; yield its base URL; stop it after."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",  # type: ignore[arg-type]
        ssl_certfile=str(cert) if cert else None,
        ssl_keyfile=str(key) if key else None,
    )
    server = uvicorn.Server(config)
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not t.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"{'https' if cert else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        t.join(10)
