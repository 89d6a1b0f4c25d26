"""The iotsec EST server driven by tools no one here wrote: curl and openssl (RFC 7030 over HTTPS)."""

from __future__ import annotations

import base64
import subprocess
import uuid
from pathlib import Path

import pytest
from est_support import Env, LiveServer, run

from iotsec.core import est, pki


def curl(
    srv: LiveServer,
    path: str,
    *,
    cert: Path | None = None,
    key: Path | None = None,
    body: Path | None = None,
    ctype: str = "application/pkcs10",
    user: str | None = None,
    extra: tuple[str, ...] = (),
) -> tuple[int, dict[str, str], bytes]:
    out = srv.env.tmp / "curl.out"
    hdr = srv.env.tmp / "curl.hdr"
    args = ["curl", "-sS", "--cacert", srv.env.root_pem, "-o", out, "-D", hdr, "-w", "%{http_code}", *extra]
    if cert:
        args += ["--cert", cert, "--key", key]
    if user:
        args += ["--user", user]
    if body:
        args += ["-H", f"Content-Type: {ctype}", "--data-binary", f"@{body}"]
    r = run(*args, srv.url + path)
    headers = {}
    for line in hdr.read_text().splitlines()[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return int(r.stdout.decode()), headers, out.read_bytes()


def s_client(srv: LiveServer, *args: str) -> subprocess.CompletedProcess[bytes]:
    """`openssl s_client` to the server with ARGS, closing at once; the caller reads the outcome."""
    return run("openssl", "s_client", "-connect", f"127.0.0.1:{srv.port}", *args, check=False, input=b"")


def openssl_csr(
    tmp: Path,
    subj: str,
    *,
    newkey: tuple[str, ...] = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"),
    name: str = "dev",
) -> tuple[Path, Path]:
    """A CSR made by `openssl req`, base64 (RFC 8951) in a file; returns (csr.b64, key)."""
    key, der = tmp / f"{name}.key", tmp / f"{name}.csr.der"
    run(
        "openssl",
        "req",
        "-new",
        *newkey,
        "-nodes",
        "-keyout",
        key,
        "-subj",
        subj,
        "-outform",
        "DER",
        "-out",
        der,
    )
    b64 = tmp / f"{name}.csr.b64"
    b64.write_bytes(base64.encodebytes(der.read_bytes()))
    return b64, key


def print_certs(tmp: Path, b64_body: bytes, name: str) -> Path:
    """Decode a certs-only response with `openssl pkcs7 -print_certs`."""
    der = tmp / f"{name}.p7"
    der.write_bytes(base64.b64decode(b64_body))
    out = tmp / f"{name}.pem"
    run("openssl", "pkcs7", "-inform", "DER", "-in", der, "-print_certs", "-out", out)
    return out


def test_cacerts_enroll_verify_with_curl_and_openssl(env: Env, server: LiveServer) -> None:
    dev = env.device(mud_url="https://mud.example.com/sensor-1.json")
    status, headers, body = curl(server, "/.well-known/est/cacerts")
    assert status == 200
    assert headers["content-type"] == "application/pkcs7-mime; smime-type=certs-only"  # RFC 7030 §4.1.3
    assert headers["content-transfer-encoding"] == "base64"
    chain = print_certs(env.tmp, body, "cacerts")
    text = chain.read_text()
    assert "subject=O = iotsec-test, CN = Test Root CA G1" in text
    assert "subject=O = iotsec-test, CN = Test Issuing CA G1" in text

    csr, key = openssl_csr(env.tmp, f"/serialNumber={dev.uuid}")
    status, headers, body = curl(
        server, "/.well-known/est/simpleenroll", cert=dev.cert, key=dev.key, body=csr
    )
    assert status == 200, body
    issued = print_certs(env.tmp, body, "issued")
    # openssl verify against the /cacerts answer: root as anchor, issuing CA as untrusted intermediate
    r = run("openssl", "verify", "-CAfile", env.root_pem, "-untrusted", chain, issued)
    assert r.stdout.decode().strip() == f"{issued}: OK"
    shown = run("openssl", "x509", "-in", issued, "-noout", "-text").stdout.decode()
    assert f"URI:urn:uuid:{dev.uuid}" in shown
    assert "1.3.6.1.5.5.7.1.25" in shown and "https://mud.example.com/sensor-1.json" in shown  # RFC 8520 §10
    assert "TLS Web Client Authentication" in shown
    # the issued certificate certifies the key openssl made
    pub_csr = run("openssl", "pkey", "-in", key, "-pubout").stdout
    pub_cert = run("openssl", "x509", "-in", issued, "-noout", "-pubkey").stdout
    assert pub_csr == pub_cert


def test_reenroll_with_curl_and_labels(env: Env, server: LiveServer) -> None:
    dev = env.device()
    csr, key = openssl_csr(env.tmp, f"/serialNumber={dev.uuid}")
    status, _, body = curl(
        server, "/.well-known/est/factory/simpleenroll", cert=dev.cert, key=dev.key, body=csr
    )
    assert status == 200
    ldevid = print_certs(env.tmp, body, "ld1")
    csr2, _ = openssl_csr(env.tmp, f"/serialNumber={dev.uuid}", name="re")
    status, _, body = curl(server, "/.well-known/est/simplereenroll", cert=ldevid, key=key, body=csr2)
    assert status == 200, body
    ld2 = print_certs(env.tmp, body, "ld2")
    run("openssl", "verify", "-CAfile", env.client_ca, ld2)
    # the superseded LDevID no longer re-enrolls
    status, _, body = curl(server, "/.well-known/est/simplereenroll", cert=ldevid, key=key, body=csr2)
    assert status == 403 and b"current LDevID" in body
    # unknown label
    status, _, _ = curl(server, "/.well-known/est/nolabel/cacerts")
    assert status == 404


def test_csrattrs_decoded_by_openssl(env: Env, server: LiveServer) -> None:
    status, headers, body = curl(server, "/.well-known/est/csrattrs")
    assert status == 200 and headers["content-type"] == "application/csrattrs"
    der = env.tmp / "attrs.der"
    der.write_bytes(base64.b64decode(body))
    parsed = run("openssl", "asn1parse", "-inform", "DER", "-in", der).stdout.decode()
    assert "id-ecPublicKey" in parsed and "prime256v1" in parsed and "ecdsa-with-SHA256" in parsed
    assert "serialNumber" in parsed


def test_serverkeygen_with_curl(env: Env, server: LiveServer) -> None:
    dev = env.device()
    csr, _ = openssl_csr(env.tmp, f"/serialNumber={dev.uuid}")
    status, headers, body = curl(
        server, "/.well-known/est/serverkeygen", cert=dev.cert, key=dev.key, body=csr
    )
    assert status == 200
    assert headers["content-type"].startswith("multipart/mixed; boundary=")
    key_der, certs = est.decode_serverkeygen(headers["content-type"], body)
    key_file = env.tmp / "skg.der"
    key_file.write_bytes(key_der)
    # openssl reads the PKCS#8 key, and its public half is the certificate's
    pub = run("openssl", "pkey", "-inform", "DER", "-in", key_file, "-pubout").stdout
    (env.tmp / "skg.pem").write_bytes(pki.certs_to_pem(certs))
    assert pub == run("openssl", "x509", "-in", env.tmp / "skg.pem", "-noout", "-pubkey").stdout


def test_bootstrap_secret_then_reuse_refused(env: Env, server: LiveServer) -> None:
    dev = env.device()
    csr, _ = openssl_csr(env.tmp, f"/serialNumber={dev.uuid}")
    status, headers, _ = curl(server, "/.well-known/est/simpleenroll", body=csr)
    assert status == 401 and headers["www-authenticate"].startswith("Basic")  # RFC 7030 §3.2.3
    status, _, body = curl(server, "/.well-known/est/simpleenroll", body=csr, user=f"{dev.uuid}:{dev.secret}")
    assert status == 200, body
    status, headers, body = curl(
        server, "/.well-known/est/simpleenroll", body=csr, user=f"{dev.uuid}:{dev.secret}"
    )
    assert status == 401 and headers["x-iotsec-reason"] == "est.secret.used"


def test_wrong_secret_backoff_and_lockout(env: Env, server: LiveServer) -> None:
    dev = env.device()
    csr, _ = openssl_csr(env.tmp, f"/serialNumber={dev.uuid}")
    wrong = f"{dev.uuid}:not-the-secret"
    status, headers, _ = curl(server, "/.well-known/est/simpleenroll", body=csr, user=wrong)
    assert status == 401 and headers["x-iotsec-reason"] == "est.auth.failed"
    # immediately again: back-off (even the right secret waits)
    status, headers, _ = curl(
        server, "/.well-known/est/simpleenroll", body=csr, user=f"{dev.uuid}:{dev.secret}"
    )
    assert status == 429 and int(headers["retry-after"]) >= 1
    for _ in range(env.service.policy.max_failures - 1):
        env.clock.advance(3600)
        status, _, _ = curl(server, "/.well-known/est/simpleenroll", body=csr, user=wrong)
        assert status == 401
    env.clock.advance(3600)
    status, headers, _ = curl(
        server, "/.well-known/est/simpleenroll", body=csr, user=f"{dev.uuid}:{dev.secret}"
    )
    assert status == 403 and headers["x-iotsec-reason"] == "est.auth.locked"
    # an operator reset lets the right secret in again
    env.service.reset_lockout(dev.uuid)
    status, _, _ = curl(server, "/.well-known/est/simpleenroll", body=csr, user=f"{dev.uuid}:{dev.secret}")
    assert status == 200
    # unknown device: same 401 as a wrong secret
    status, headers, _ = curl(server, "/.well-known/est/simpleenroll", body=csr, user=f"{uuid.uuid4()}:x")
    assert status == 401 and headers["x-iotsec-reason"] == "est.auth.failed"


@pytest.mark.parametrize(
    ("case", "status", "reason"),
    [
        ("bad-signature", 400, "est.csr.signature"),
        ("rsa-1024", 400, "pki.key.weak"),
        ("other-identity", 403, "est.identity.mismatch"),
        ("garbage", 400, "est.csr.decode"),
        ("not-base64", 400, "est.body.base64"),
    ],
)
def test_csr_refusals(env: Env, server: LiveServer, case: str, status: int, reason: str) -> None:
    dev = env.device()
    subj = f"/serialNumber={dev.uuid}"
    if case == "rsa-1024":
        csr, _ = openssl_csr(env.tmp, subj, newkey=("-newkey", "rsa:1024"))
    elif case == "other-identity":
        csr, _ = openssl_csr(env.tmp, f"/serialNumber={uuid.uuid4()}")
    else:
        csr, _ = openssl_csr(env.tmp, subj)
    if case == "bad-signature":
        der = bytearray(base64.b64decode(csr.read_bytes()))
        der[-5] ^= 0x01  # inside the signature value
        csr.write_bytes(base64.encodebytes(bytes(der)))
    elif case == "garbage":
        csr.write_bytes(base64.encodebytes(b"\x30\x03\x02\x01\x05"))
    elif case == "not-base64":
        csr.write_bytes(b"this is !!! not base64")
    got, headers, body = curl(server, "/.well-known/est/simpleenroll", cert=dev.cert, key=dev.key, body=csr)
    assert (got, headers.get("x-iotsec-reason")) == (status, reason), body
    assert headers["content-type"].startswith("text/plain")  # RFC 7030 §4.2.3 human-readable error


def test_reenroll_with_another_devices_certificate(env: Env, server: LiveServer) -> None:
    a, b = env.device(), env.device()
    csr_a, key_a = openssl_csr(env.tmp, f"/serialNumber={a.uuid}", name="a")
    status, _, body = curl(server, "/.well-known/est/simpleenroll", cert=a.cert, key=a.key, body=csr_a)
    assert status == 200
    ld_a = print_certs(env.tmp, body, "lda")
    csr_b, _ = openssl_csr(env.tmp, f"/serialNumber={b.uuid}", name="b")
    status, headers, _ = curl(server, "/.well-known/est/simplereenroll", cert=ld_a, key=key_a, body=csr_b)
    assert status == 403 and headers["x-iotsec-reason"] == "est.identity.mismatch"
    # and B's IDevID cannot re-enroll at all (re-enrollment needs an LDevID)
    status, headers, _ = curl(server, "/.well-known/est/simplereenroll", cert=b.cert, key=b.key, body=csr_b)
    assert status == 403 and headers["x-iotsec-reason"] == "est.reenroll.cert"


def test_revoked_device_refused(env: Env, server: LiveServer) -> None:
    dev = env.device()
    csr, key = openssl_csr(env.tmp, f"/serialNumber={dev.uuid}")
    status, _, body = curl(server, "/.well-known/est/simpleenroll", cert=dev.cert, key=dev.key, body=csr)
    assert status == 200
    ldevid = print_certs(env.tmp, body, "ld")
    env.service.revoke_device(dev.uuid, reason="keyCompromise")
    for path, cert, k in (("simplereenroll", ldevid, key), ("simpleenroll", dev.cert, dev.key)):
        status, headers, _ = curl(server, f"/.well-known/est/{path}", cert=cert, key=k, body=csr)
        assert status == 403 and headers["x-iotsec-reason"] == "est.device.revoked"
    status, headers, _ = curl(
        server, "/.well-known/est/simpleenroll", body=csr, user=f"{dev.uuid}:{dev.secret}"
    )
    assert status == 403 and headers["x-iotsec-reason"] == "est.device.revoked"
    # the CRL served at /crl lists the LDevID's serial; openssl reads and checks it
    status, headers, der = curl(server, "/crl")
    assert status == 200 and headers["content-type"] == "application/pkix-crl"
    crl = env.tmp / "crl.pem"
    crl.write_bytes(run("openssl", "crl", "-inform", "DER", "-outform", "PEM", input=der).stdout)
    serial = run("openssl", "x509", "-in", ldevid, "-noout", "-serial").stdout.decode().strip().split("=")[1]
    text = run("openssl", "crl", "-in", crl, "-noout", "-text").stdout.decode()
    assert serial.upper() in text.replace(" ", "").upper()
    assert "Key Compromise" in text
    bundle = env.tmp / "ca+crl.pem"
    bundle.write_bytes(env.client_ca.read_bytes())
    r = run("openssl", "verify", "-crl_check", "-CAfile", bundle, "-CRLfile", crl, ldevid, check=False)
    assert r.returncode != 0 and b"certificate revoked" in r.stdout + r.stderr


def test_http_level_refusals(env: Env, server: LiveServer) -> None:
    dev = env.device()
    csr, _ = openssl_csr(env.tmp, f"/serialNumber={dev.uuid}")
    status, _, _ = curl(
        server, "/.well-known/est/simpleenroll", cert=dev.cert, key=dev.key, body=csr, ctype="text/plain"
    )
    assert status == 415
    status, headers, _ = curl(server, "/.well-known/est/simpleenroll", cert=dev.cert, key=dev.key)
    assert status == 405  # GET on a POST operation
    assert headers["allow"] == "POST"  # RFC 9110 §15.5.6: a 405 names the allowed methods
    status, headers, _ = curl(server, "/.well-known/est/cacerts", body=csr)
    assert (status, headers["allow"]) == (405, "GET")
    status, _, _ = curl(server, "/.well-known/est/fullcmc", cert=dev.cert, key=dev.key, body=csr)
    assert status == 501
    status, _, _ = curl(server, "/.well-known/est/nothing")
    assert status == 404
    big = env.tmp / "big.b64"
    big.write_bytes(b"A" * (est.MAX_BODY + 10))
    status, _, _ = curl(server, "/.well-known/est/simpleenroll", cert=dev.cert, key=dev.key, body=big)
    assert status == 400


def test_tls_13_default_and_12_refused(env: Env, server: LiveServer) -> None:
    status, _, _ = curl(server, "/.well-known/est/cacerts", extra=("--tls-max", "1.3"))
    assert status == 200
    r = run(
        "curl",
        "-sS",
        "--cacert",
        env.root_pem,
        "--tls-max",
        "1.2",
        server.url + "/.well-known/est/cacerts",
        check=False,
    )
    assert r.returncode == 35  # CURLE_SSL_CONNECT_ERROR: no TLS 1.2 by default
    r = s_client(server, "-tls1_3", "-brief")
    assert b"TLSv1.3" in r.stdout + r.stderr


def test_tls_12_by_option_only_strong_suites(env: Env) -> None:
    with LiveServer(env, allow_tls12=True) as srv:
        status, _, _ = curl(srv, "/.well-known/est/cacerts", extra=("--tls-max", "1.2"))
        assert status == 200
        for weak in ("AES128-SHA", "ECDHE-ECDSA-AES128-SHA", "AES256-GCM-SHA384"):
            r = s_client(srv, "-tls1_2", "-cipher", weak)
            assert r.returncode != 0, weak


def test_manual_approval_202_retry_after(tmp_path: Path) -> None:
    from est_support import make_env

    from iotsec.services.enrollment import EnrollmentPolicy

    env = make_env(tmp_path, policy=EnrollmentPolicy(approval="manual", retry_after=30))
    dev = env.device()
    csr, _ = openssl_csr(env.tmp, f"/serialNumber={dev.uuid}")
    with LiveServer(env) as srv:
        status, headers, _ = curl(srv, "/.well-known/est/simpleenroll", cert=dev.cert, key=dev.key, body=csr)
        assert status == 202 and headers["retry-after"] == "30"  # RFC 7030 §4.2.3
        status, _, _ = curl(srv, "/.well-known/est/simpleenroll", cert=dev.cert, key=dev.key, body=csr)
        assert status == 202
        [pending] = env.store.list_pending()
        env.service.approve(pending.id)
        status, _, body = curl(srv, "/.well-known/est/simpleenroll", cert=dev.cert, key=dev.key, body=csr)
        assert status == 200
        assert str(dev.uuid) in print_certs(env.tmp, body, "approved").read_text()


def test_certificate_not_recorded_as_device_is_refused(env: Env, server: LiveServer) -> None:
    """An operator certificate chains to the CA (TLS accepts it) but is no device identity here."""
    from cryptography import x509

    key = pki.generate_key()
    op = pki.operator_cert(
        key.public_key(),
        env.issuing,
        operator="alice",
        serial=x509.random_serial_number(),
        now=env.clock.now(),
    )
    (env.tmp / "op.pem").write_bytes(pki.certs_to_pem([op]))
    (env.tmp / "op.key").write_bytes(pki.key_to_pem(key, None))
    csr, _ = openssl_csr(env.tmp, f"/serialNumber={uuid.uuid4()}")
    status, headers, _ = curl(
        server, "/.well-known/est/simpleenroll", cert=env.tmp / "op.pem", key=env.tmp / "op.key", body=csr
    )
    assert status == 401 and headers["x-iotsec-reason"] == "est.cert.unknown"
