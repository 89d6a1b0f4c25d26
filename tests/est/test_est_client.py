"""The iotsec EST client against the iotsec EST server with mutual TLS, and trust-anchor rollover."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from est_support import Env, LiveServer, run

from iotsec.adapters.http.est_client import EstClient
from iotsec.core import pki
from iotsec.errors import AuthenticationError, PolicyError, ValidationError
from iotsec.services.enrollment import CaBundle


def csr_for(key: pki.PrivateKey, dev: object, subject: x509.Name | None = None) -> bytes:
    return pki.build_csr(key, dev.uuid, subject=subject).public_bytes(Encoding.DER)  # type: ignore[attr-defined]


def write(path: Path, certs: list[x509.Certificate], key: pki.PrivateKey | None = None) -> Path:
    path.write_bytes(pki.certs_to_pem(certs))
    if key is not None:
        path.with_suffix(".key").write_bytes(pki.key_to_pem(key, None))
    return path


def test_client_mutual_tls_enroll_reenroll_serverkeygen(env: Env, server: LiveServer) -> None:
    dev = env.device()
    with EstClient(server.url, trust=env.root_pem, cert=dev.cert, key=dev.key) as c:
        cacerts = c.cacerts()
        assert {x.subject for x in cacerts} == {env.root.cert.subject, env.issuing.cert.subject}
        attrs = c.csrattrs()
        assert [a.oid for a in attrs] == ["1.2.840.10045.2.1", "1.2.840.10045.4.3.2", "2.5.4.5"]
        key = pki.generate_key()
        res = c.simpleenroll(csr_for(key, dev))
        assert not res.pending
        [ldevid] = res.certs
        assert pki.device_uuid(ldevid) == dev.uuid
        assert ldevid.public_key() == key.public_key()
        pki.verify_chain(ldevid, cacerts, [env.root.cert], now=env.clock.now())
    ld_path = write(env.tmp / "ld1.pem", [ldevid], key)
    with EstClient(server.url, trust=env.root_pem, cert=ld_path, key=ld_path.with_suffix(".key")) as c:
        key2 = pki.generate_key(pki.KeyType.P384)
        [ld2] = c.simplereenroll(csr_for(key2, dev, ldevid.subject)).certs
        assert ld2.subject == ldevid.subject and ld2.public_key() == key2.public_key()
    ld2_path = write(env.tmp / "ld2.pem", [ld2], key2)
    with EstClient(
        server.url, trust=env.root_pem, cert=ld2_path, key=ld2_path.with_suffix(".key"), label="factory"
    ) as c:
        got = c.serverkeygen(csr_for(pki.generate_key(), dev))
        assert isinstance(got, tuple)
        skey, [scert] = got
        assert scert.public_key() == skey.public_key()
    events = [(e.kind, e.outcome) for e in env.store.events(dev.uuid)]
    assert events == [("enroll", "issued"), ("reenroll", "issued"), ("serverkeygen", "issued")]


def test_client_bootstrap_secret_and_typed_errors(env: Env, server: LiveServer) -> None:
    dev = env.device()
    key = pki.generate_key()
    with EstClient(server.url, trust=env.root_pem, basic=(str(dev.uuid), "wrong")) as c:
        with pytest.raises(AuthenticationError) as err:
            c.simpleenroll(csr_for(key, dev))
        assert err.value.reason == "est.auth.failed"
    env.clock.advance(600)
    with EstClient(server.url, trust=env.root_pem, basic=(str(dev.uuid), dev.secret)) as c:
        [cert] = c.simpleenroll(csr_for(key, dev)).certs
        assert pki.device_uuid(cert) == dev.uuid
        with pytest.raises(AuthenticationError) as err:
            c.simpleenroll(csr_for(key, dev))
        assert err.value.reason == "est.secret.used"
    env.service.revoke_device(dev.uuid)
    with EstClient(server.url, trust=env.root_pem, cert=dev.cert, key=dev.key) as c:
        with pytest.raises(PolicyError) as perr:
            c.simpleenroll(csr_for(key, dev))
        assert perr.value.reason == "est.device.revoked"
        rsa = pki.generate_key(pki.KeyType.RSA2048)
        with pytest.raises(PolicyError):
            c.simpleenroll(csr_for(rsa, dev))  # revoked, whatever the key


def test_client_refuses_untrusted_server(env: Env, server: LiveServer, tmp_path: Path) -> None:
    other = pki.generate_key()
    fake_root = pki.root_ca(other, pki.name("Someone Else"), serial=7, now=env.clock.now())
    trust = write(tmp_path / "other-root.pem", [fake_root])
    with EstClient(server.url, trust=trust) as c, pytest.raises(AuthenticationError) as err:
        c.cacerts()
    assert err.value.reason == "est.transport"
    with pytest.raises(ValidationError):
        EstClient(server.url, trust=trust, label="../x")


def test_client_certificate_from_another_ca_is_refused_by_tls(env: Env, server: LiveServer) -> None:
    rogue_key = pki.generate_key()
    rogue_root = pki.root_ca(rogue_key, pki.name("Rogue"), serial=9, now=env.clock.now())
    dev_key = pki.generate_key()
    import uuid

    cert = pki.device_cert(
        dev_key.public_key(),
        pki.Issuer(rogue_root, rogue_key),
        device=uuid.uuid4(),
        model="m",
        serial=10,
        now=env.clock.now(),
    )
    path = write(env.tmp / "rogue.pem", [cert], dev_key)
    with (
        EstClient(server.url, trust=env.root_pem, cert=path, key=path.with_suffix(".key")) as c,
        pytest.raises(AuthenticationError),  # the TLS handshake fails (unknown CA)
    ):
        c.simpleenroll(pki.build_csr(dev_key, uuid.uuid4()).public_bytes(Encoding.DER))


def _rollover(env: Env) -> tuple[pki.Issuer, pki.Issuer, x509.Certificate, x509.Certificate]:
    now = env.clock.now()
    k2 = pki.generate_key()
    root2 = pki.Issuer(
        pki.root_ca(k2, pki.name("Test Root CA G2", organization="iotsec-test"), serial=2001, now=now), k2
    )
    ik2 = pki.generate_key()
    iss2 = pki.Issuer(
        pki.issuing_ca(
            ik2.public_key(),
            pki.name("Test Issuing CA G2", organization="iotsec-test"),
            root2,
            serial=2002,
            now=now,
        ),
        ik2,
    )
    new_with_old = pki.link_certificate(root2.cert, env.root, serial=2003, now=now)
    old_with_new = pki.link_certificate(env.root.cert, root2, serial=2004, now=now)
    return root2, iss2, new_with_old, old_with_new


def test_rollover_device_reaches_new_root_and_reenrolls_under_it(env: Env, tmp_path: Path) -> None:
    dev = env.device()
    key = pki.generate_key()
    with LiveServer(env) as srv, EstClient(srv.url, trust=env.root_pem, cert=dev.cert, key=dev.key) as c:
        [ld1] = c.simpleenroll(csr_for(key, dev)).certs
        assert c.new_anchor(env.root.cert, now=env.clock.now()) is None  # nothing offered yet
    assert ld1.issuer == env.issuing.cert.subject

    root2, iss2, nwo, own = _rollover(env)
    # the CA now issues under root 2 and /cacerts carries the links (RFC 7030 §4.1.3)
    env.service.ca = CaBundle(iss2, [iss2.cert, root2.cert, nwo, own, env.root.cert, env.issuing.cert])
    env.client_ca.write_bytes(pki.certs_to_pem([env.root.cert, env.issuing.cert, root2.cert, iss2.cert]))
    ld1_path = write(tmp_path / "ld1.pem", [ld1], key)
    with (
        LiveServer(env) as srv,
        EstClient(srv.url, trust=env.root_pem, cert=ld1_path, key=ld1_path.with_suffix(".key")) as c,
    ):
        new_root = c.new_anchor(env.root.cert, now=env.clock.now())
        assert new_root is not None and new_root == root2.cert
        key2 = pki.generate_key()
        [ld2] = c.simplereenroll(csr_for(key2, dev, ld1.subject)).certs
    assert ld2.issuer == iss2.cert.subject
    pki.verify_chain(ld2, [iss2.cert], [new_root], now=env.clock.now())
    with pytest.raises(Exception, match="no path"):
        pki.verify_chain(ld2, [iss2.cert], [env.root.cert], now=env.clock.now())
    # openssl agrees: under root 2 directly, and under root 1 only through NewWithOld
    ld2_pem = write(tmp_path / "ld2.pem", [ld2])
    root2_pem = write(tmp_path / "root2.pem", [root2.cert])
    run(
        "openssl",
        "verify",
        "-CAfile",
        root2_pem,
        "-untrusted",
        write(tmp_path / "i2.pem", [iss2.cert]),
        ld2_pem,
    )
    run(
        "openssl",
        "verify",
        "-CAfile",
        env.root_pem,
        "-untrusted",
        write(tmp_path / "i2+nwo.pem", [iss2.cert, nwo]),
        ld2_pem,
    )
    bad = run(
        "openssl", "verify", "-CAfile", env.root_pem, "-untrusted", tmp_path / "i2.pem", ld2_pem, check=False
    )
    assert bad.returncode != 0


def test_rollover_anchor_only_through_a_link(env: Env) -> None:
    root2, iss2, nwo, own = _rollover(env)
    now = env.clock.now()
    assert pki.rollover_anchor(env.root.cert, [iss2.cert, root2.cert, nwo, own], now=now) == root2.cert
    # a self-signed root without a NewWithOld link is not adopted
    assert pki.rollover_anchor(env.root.cert, [iss2.cert, root2.cert, own], now=now) is None
    # a "link" signed by someone else's key is not adopted
    evil_key = pki.generate_key()
    evil = pki.Issuer(pki.root_ca(evil_key, env.root.cert.subject, serial=5, now=now), evil_key)
    forged = pki.link_certificate(root2.cert, evil, serial=6, now=now)
    assert pki.rollover_anchor(env.root.cert, [root2.cert, forged], now=now) is None
    # an expired link is not adopted
    later = now + dt.timedelta(days=20 * 365)
    assert pki.rollover_anchor(env.root.cert, [root2.cert, nwo], now=later) is None


def test_live_server_on_each_database(tmp_path: Path, db_url: str) -> None:
    """The HTTPS server with its store on SQLite, then on PostgreSQL."""
    from est_support import make_env

    env = make_env(tmp_path, db_url=db_url)
    dev = env.device()
    key = pki.generate_key()
    with LiveServer(env) as srv:
        with EstClient(srv.url, trust=env.root_pem, basic=(str(dev.uuid), dev.secret)) as c:
            [ld] = c.simpleenroll(csr_for(key, dev)).certs
        path = write(tmp_path / "ld.pem", [ld], key)
        with EstClient(srv.url, trust=env.root_pem, cert=path, key=path.with_suffix(".key")) as c:
            [ld2] = c.simplereenroll(csr_for(key, dev, ld.subject)).certs
    rec = env.store.get_device(dev.uuid)
    assert rec is not None and rec.current_ldevid == pki.fingerprint(ld2) and rec.secret_used_at is not None
