"""Enrollment use cases on real storage: SQLite, then PostgreSQL on 127.0.0.1:5432 (db_url fixture)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from est_support import make_env

from iotsec.adapters.db.est import SqlEnrollmentStore
from iotsec.core import pki
from iotsec.errors import AuthenticationError, ConflictError, PolicyError
from iotsec.services.enrollment import Backoff, EnrollmentPolicy, Issued, Peer, Pending


def test_enrollment_lifecycle_on_db(tmp_path: Path, db_url: str) -> None:
    env = make_env(tmp_path, db_url=db_url)
    dev = env.device(mud_url="https://mud.example.com/m.json")
    idevid = pki.load_certs(dev.cert.read_bytes())[0]
    with pytest.raises(ConflictError):
        env.service.register_device(idevid, model="x", secret="y")
    key = pki.generate_key()
    csr = pki.build_csr(key, dev.uuid).public_bytes(Encoding.DER)
    issued = env.service.enroll(Peer(cert=idevid), csr)
    assert isinstance(issued, Issued)
    assert (
        pki.mud_url_of(issued.cert) == "https://mud.example.com/m.json"
    )  # the device's MUD URL carries over

    # a second store on the same database sees the same state (no process-local caching)
    other = SqlEnrollmentStore.open(db_url)
    rec = other.get_device(dev.uuid)
    assert rec is not None and rec.current_ldevid == pki.fingerprint(issued.cert)
    assert rec.secret_hash is not None and rec.secret_hash.startswith("$argon2id$")
    assert dev.secret not in rec.secret_hash
    got = other.get_cert(pki.fingerprint(issued.cert))
    assert got is not None and got.serial == issued.cert.serial_number and got.kind == "ldevid"
    assert got.serial.bit_length() > 64  # 20-octet serials survive the round trip

    re = env.service.reenroll(Peer(cert=issued.cert), pki.build_csr(key, dev.uuid).public_bytes(Encoding.DER))
    env.service.revoke_device(dev.uuid, reason="key_compromise")
    crl1 = env.service.crl()
    crl2 = env.service.crl()
    assert {r.serial_number for r in crl1} == {
        idevid.serial_number,
        issued.cert.serial_number,
        re.cert.serial_number,
    }
    numbers = [c.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number for c in (crl1, crl2)]
    assert numbers[1] == numbers[0] + 1
    with pytest.raises(PolicyError):
        env.service.reenroll(Peer(cert=re.cert), csr)
    kinds = [(e.kind, e.outcome) for e in other.events(dev.uuid)]
    assert kinds == [("enroll", "issued"), ("reenroll", "issued"), ("revoke", "ok"), ("reenroll", "refused")]


def test_secret_lockout_persists_on_db(tmp_path: Path, db_url: str) -> None:
    env = make_env(tmp_path, db_url=db_url, policy=EnrollmentPolicy(max_failures=3))
    dev = env.device()
    csr = pki.build_csr(pki.generate_key(), dev.uuid).public_bytes(Encoding.DER)
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            env.service.enroll(Peer(basic=(str(dev.uuid), "nope")), csr)
        env.clock.advance(1000)
    with pytest.raises(Backoff) as err:
        env.service.enroll(Peer(basic=(str(dev.uuid), dev.secret)), csr)
    assert err.value.reason == "est.auth.locked"
    rec = SqlEnrollmentStore.open(db_url).get_device(dev.uuid)
    assert rec is not None and rec.failed_attempts == 3


def test_manual_approval_on_db(tmp_path: Path, db_url: str) -> None:
    env = make_env(tmp_path, db_url=db_url, policy=EnrollmentPolicy(approval="manual"))
    dev = env.device()
    csr = pki.build_csr(pki.generate_key(), dev.uuid).public_bytes(Encoding.DER)
    first = env.service.enroll(Peer(basic=(str(dev.uuid), dev.secret)), csr)
    assert isinstance(first, Pending)
    [pending] = env.store.list_pending()
    env.service.approve(pending.id, accept=False)
    with pytest.raises(PolicyError):
        env.service.enroll(Peer(basic=(str(dev.uuid), dev.secret)), csr)
    csr2 = pki.build_csr(pki.generate_key(), dev.uuid).public_bytes(Encoding.DER)
    assert isinstance(env.service.enroll(Peer(basic=(str(dev.uuid), dev.secret)), csr2), Pending)
    [p2] = env.store.list_pending()
    env.service.approve(p2.id)
    assert isinstance(env.service.enroll(Peer(basic=(str(dev.uuid), dev.secret)), csr2), Issued)
    with pytest.raises(AuthenticationError):  # the one-time secret is now spent
        env.service.enroll(Peer(basic=(str(dev.uuid), dev.secret)), csr2)


def test_challenge_password_policy(tmp_path: Path) -> None:
    env = make_env(tmp_path, policy=EnrollmentPolicy(challenge_password="factory-2026"))
    dev = env.device()
    idevid = pki.load_certs(dev.cert.read_bytes())[0]
    key = pki.generate_key()
    assert env.service.csrattrs()[0].oid == "1.2.840.113549.1.9.7"  # asks for challengePassword
    for challenge in (None, "factory-2025"):
        csr = pki.build_csr(key, dev.uuid, challenge=challenge).public_bytes(Encoding.DER)
        with pytest.raises(PolicyError) as err:
            env.service.enroll(Peer(cert=idevid), csr)
        assert err.value.reason == "est.csr.challenge"
    csr = pki.build_csr(key, dev.uuid, challenge="factory-2026").public_bytes(Encoding.DER)
    assert isinstance(env.service.enroll(Peer(cert=idevid), csr), Issued)


def _race(n: int, fn: object) -> list[object]:
    import threading

    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn()  # type: ignore[operator]
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_one_time_secret_under_concurrency(tmp_path: Path, db_url: str) -> None:
    """Eight simultaneous bootstrap enrollments with one secret: exactly one certificate."""
    env = make_env(tmp_path, db_url=db_url)
    dev = env.device()
    csr = pki.build_csr(pki.generate_key(), dev.uuid).public_bytes(Encoding.DER)
    results = _race(8, lambda: env.service.enroll(Peer(basic=(str(dev.uuid), dev.secret)), csr))
    issued = [r for r in results if isinstance(r, Issued)]
    refused = [r for r in results if isinstance(r, AuthenticationError | Backoff)]
    assert len(issued) == 1 and len(refused) == 7, results
    # a late thread may already meet the back-off that a reuse attempt (a failure) started
    assert {r.reason for r in refused} <= {"est.secret.used", "est.auth.backoff"}
    assert "est.secret.used" in {r.reason for r in refused}
    assert [c.kind for c in env.store.certs_of(dev.uuid)].count("ldevid") == 1


def test_reenroll_race_leaves_one_current(tmp_path: Path, db_url: str) -> None:
    env = make_env(tmp_path, db_url=db_url)
    dev = env.device()
    key = pki.generate_key()
    csr = pki.build_csr(key, dev.uuid).public_bytes(Encoding.DER)
    first = env.service.enroll(Peer(cert=pki.load_certs(dev.cert.read_bytes())[0]), csr)
    assert isinstance(first, Issued)
    results = _race(6, lambda: env.service.reenroll(Peer(cert=first.cert), csr))
    issued = [r for r in results if isinstance(r, Issued)]
    assert len(issued) == 1, results
    assert all(isinstance(r, PolicyError) for r in results if not isinstance(r, Issued))
    rec = env.store.get_device(dev.uuid)
    assert rec is not None and rec.current_ldevid == pki.fingerprint(issued[0].cert)  # type: ignore[union-attr]


def test_failures_counted_under_concurrency(tmp_path: Path, db_url: str) -> None:
    env = make_env(tmp_path, db_url=db_url, policy=EnrollmentPolicy(max_failures=100))
    dev = env.device()
    csr = pki.build_csr(pki.generate_key(), dev.uuid).public_bytes(Encoding.DER)
    results = _race(6, lambda: env.service.enroll(Peer(basic=(str(dev.uuid), "wrong")), csr))
    failed = [r for r in results if isinstance(r, AuthenticationError)]
    rec = env.store.get_device(dev.uuid)
    assert rec is not None and rec.failed_attempts == len(failed) >= 1  # no lost increments
