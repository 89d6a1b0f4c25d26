"""The RATS commands as a user runs them: real subprocesses, the RFC 9783 vectors, a served verifier."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from rats_helpers import COMPONENTS, UEID, VECTORS, device_corim, free_port, self_signed

from iotsec.core.cose import Algorithm, CoseKey
from iotsec.core.eat import ear
from iotsec.core.eat.signing import EarSigner

PSA = VECTORS / "rats" / "psa-token-rfc9783" / "example"
NONCE = "01" * 32


def run(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "iotsec", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
        env=env,
    )


def test_rats_cli_eat_verify_psa_vectors() -> None:
    r = run(
        "eat", "verify", str(PSA / "psa-sign1.cbor"), "--key", str(PSA / "tfm-es-iak.pem"), "--nonce", NONCE
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["verified"] and out["claims"]["psa-client-id"] == 2147483647
    r = run("eat", "verify", str(PSA / "psa-mac0.hex"), "--key", str(PSA / "tfm-hs-iak.bin"), "--symmetric")
    assert r.returncode == 0, r.stderr
    r = run(
        "eat",
        "verify",
        str(PSA / "psa-sign1.cbor"),
        "--key",
        str(PSA / "tfm-es-iak.json"),
        "--nonce",
        "02" * 32,
    )
    assert r.returncode == 1 and "eat.nonce.mismatch" in r.stderr
    r = run("eat", "verify", str(PSA / "psa-mac0.cbor"), "--key", str(PSA / "tfm-es-iak.pem"))
    assert r.returncode == 1 and "Traceback" not in r.stderr


def test_rats_cli_eat_create_verify_show(tmp_path: Path) -> None:
    key = CoseKey.generate(Algorithm.ES256)
    (tmp_path / "k.pem").write_bytes(key.to_pem())
    (tmp_path / "k.pub.pem").write_bytes(key.public().to_pem(private=False))
    (tmp_path / "claims.yaml").write_text("ueid: AQIDBAUGBwgJ\nswname: demo\ndbgstat: disabled-permanently\n")
    for fmt in ("cwt", "jwt"):
        out = tmp_path / f"t.{fmt}"
        r = run(
            "eat",
            "create",
            str(tmp_path / "claims.yaml"),
            "--key",
            str(tmp_path / "k.pem"),
            "--format",
            fmt,
            "--nonce",
            "aa" * 16,
            "-o",
            str(out),
        )
        assert r.returncode == 0, r.stderr
        r = run("eat", "verify", str(out), "--key", str(tmp_path / "k.pub.pem"), "--nonce", "aa" * 16)
        assert r.returncode == 0, r.stderr
        claims = json.loads(r.stdout)["claims"]
        assert claims["swname"] == "demo" and claims["dbgstat"] == "disabled-permanently"
    r = run("eat", "create", str(tmp_path / "claims.yaml"), "--format", "uccs")
    assert r.returncode == 0 and bytes.fromhex(r.stdout.strip())[:3] == b"\xd9\x02\x59"  # tag 601
    r = run("eat", "show", str(tmp_path / "t.cwt"))
    assert r.returncode == 0 and json.loads(r.stdout)["verified"] is False
    (tmp_path / "bad.yaml").write_text("dbgstat: sometimes\n")
    r = run("eat", "create", str(tmp_path / "bad.yaml"), "--format", "uccs")
    assert r.returncode == 1 and "eat.dbgstat.value" in r.stderr


def test_rats_cli_corim_create_show(tmp_path: Path) -> None:
    key = CoseKey.generate(Algorithm.ES256)
    (tmp_path / "dev.pub.pem").write_bytes(key.public().to_pem(private=False))
    (tmp_path / "d.yaml").write_text(
        "id: t1\ntags:\n  - id: c1\n    reference-values:\n      - environment: {instance: {ueid: '"
        + UEID.hex()
        + "'}}\n        measurements:\n          - {name: app, digests: ['sha-256:"
        + "ab" * 32
        + "']}\n    attestation-keys:\n      - environment: {instance: {ueid: '"
        + UEID.hex()
        + "'}}\n        keys: [dev.pub.pem]\n"
    )
    r = run("corim", "create", str(tmp_path / "d.yaml"), "-o", str(tmp_path / "c.cbor"))
    assert r.returncode == 0, r.stderr
    r = run("corim", "show", str(tmp_path / "c.cbor"))
    desc = json.loads(r.stdout)
    assert desc["tags"][0]["reference-values"][0]["measurements"][0]["digests"] == ["sha-256:" + "ab" * 32]
    r = run("corim", "show", str(tmp_path / "c.cbor"), "--diag")
    assert r.stdout.startswith("501(")
    signer = CoseKey.generate(Algorithm.ES256)
    (tmp_path / "signer.pem").write_bytes(signer.to_pem())
    (tmp_path / "signer.pub.pem").write_bytes(signer.public().to_pem(private=False))
    r = run(
        "corim",
        "create",
        str(tmp_path / "d.yaml"),
        "-o",
        str(tmp_path / "s.cbor"),
        "--sign",
        str(tmp_path / "signer.pem"),
        "--signer",
        "ACME",
    )
    assert r.returncode == 0, r.stderr
    r = run("corim", "show", str(tmp_path / "s.cbor"), "--key", str(tmp_path / "signer.pub.pem"))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["signed"] == {"signer": "ACME", "verified": True}
    r = run("corim", "show", str(tmp_path / "s.cbor"), "--key", str(tmp_path / "dev.pub.pem"))
    assert r.returncode == 1 and "corim.signed.untrusted" in r.stderr
    (tmp_path / "x.cbor").write_bytes(b"\xff")
    assert run("corim", "show", str(tmp_path / "x.cbor")).returncode == 1


def test_rats_cli_ear_verify_and_policy(tmp_path: Path) -> None:
    key = CoseKey.generate(Algorithm.ES256)
    now = int(time.time())
    vec = {ear.Category.EXECUTABLES: 2, ear.Category.HARDWARE: 2, ear.Category.CONFIGURATION: 32}
    e = ear.Ear(
        iat=now, developer="d", build="b", submods={"x": ear.Appraisal(status=ear.Tier.WARNING, vector=vec)}
    )
    (tmp_path / "r.jwt").write_text(EarSigner(key).sign(e))
    (tmp_path / "r.cwt").write_text(EarSigner(key, format="cwt").sign(e))
    (tmp_path / "pub.json").write_text(json.dumps({"keys": [EarSigner(key).public_jwk()]}))
    for f in ("r.jwt", "r.cwt"):
        r = run("ear", "verify", str(tmp_path / f), "--key", str(tmp_path / "pub.json"))
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["status"] == "warning"
    (tmp_path / "strict.json").write_text('{"status": "affirming"}')
    r = run(
        "ear",
        "verify",
        str(tmp_path / "r.jwt"),
        "--key",
        str(tmp_path / "pub.json"),
        "--policy",
        str(tmp_path / "strict.json"),
    )
    assert r.returncode == 1 and "ear.status.insufficient" in r.stderr
    other = CoseKey.generate(Algorithm.ES256)
    (tmp_path / "other.pem").write_bytes(other.public().to_pem(private=False))
    r = run("ear", "verify", str(tmp_path / "r.jwt"), "--key", str(tmp_path / "other.pem"))
    assert r.returncode == 1 and "jws.signature" in r.stderr


def test_rats_cli_verifier_serve_and_attest(tmp_path: Path) -> None:
    """`iotsec verifier serve` in a subprocess (TLS), then provision and attest with the CLI."""
    cert, tls_key = self_signed(tmp_path)
    ear_key = CoseKey.generate(Algorithm.ES256)
    dev = CoseKey.generate(Algorithm.ES256)
    (tmp_path / "ear.pem").write_bytes(ear_key.to_pem())
    (tmp_path / "dev.pem").write_bytes(dev.to_pem())
    (tmp_path / "token").write_text("s3cret-" * 4)
    (tmp_path / "corim.cbor").write_bytes(device_corim(UEID, dev))
    comps = []
    for name, content in COMPONENTS.items():
        (tmp_path / name).write_bytes(content)
        comps += ["--component", f"{name}={tmp_path / name}"]
    assert run("verifier", "serve", "--ear-key", str(tmp_path / "ear.pem")).returncode == 1  # no TLS, refused
    port = free_port()
    env = {**os.environ, "IOTSEC_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "iotsec",
            "verifier",
            "serve",
            "--ear-key",
            str(tmp_path / "ear.pem"),
            "--cert",
            str(cert),
            "--key",
            str(tls_key),
            "--port",
            str(port),
            "--provisioning-token-file",
            str(tmp_path / "token"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    url = f"https://127.0.0.1:{port}"
    try:
        ctx = ssl.create_default_context(cafile=str(cert))
        for _ in range(100):
            try:
                httpx.get(url + "/.well-known/veraison/verification", verify=ctx, timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        r = run(
            "verifier",
            "provision",
            str(tmp_path / "corim.cbor"),
            "--url",
            url,
            "--token-file",
            str(tmp_path / "token"),
            "--cacert",
            str(cert),
        )
        assert r.returncode == 0, r.stderr
        r = run(
            "eat",
            "attest",
            "--url",
            url,
            "--cacert",
            str(cert),
            "--key",
            str(tmp_path / "dev.pem"),
            "--ueid",
            UEID.hex(),
            *comps,
            "-o",
            str(tmp_path / "ear.jwt"),
        )
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["status"] == "complete"
        r = run(
            "eat",
            "attest",
            "--url",
            url,
            "--cacert",
            str(cert),
            "--key",
            str(tmp_path / "dev.pem"),
            "--ueid",
            UEID.hex(),
            *comps,
            "--format",
            "jwt",
        )
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["status"] == "complete"
        (tmp_path / "ear.pub.pem").write_bytes(ear_key.public().to_pem(private=False))
        r = run("ear", "verify", str(tmp_path / "ear.jwt"), "--key", str(tmp_path / "ear.pub.pem"))
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["status"] == "affirming"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)


@pytest.mark.parametrize(
    "args",
    [
        ["eat", "verify"],
        ["eat", "verify", "/nonexistent", "--key", "/nonexistent"],
        ["ear", "verify", "x"],
        ["corim", "create"],
    ],
)
def test_rats_cli_usage_errors(args: list[str]) -> None:
    r = run(*args)
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_rats_cli_json_bundle_and_diag(tmp_path: Path) -> None:
    """RFC 9711 deb.json (HS256 JWT + detached JSON claims-sets) through the CLI."""
    (tmp_path / "k").write_bytes(b"xxxxxx")
    deb = VECTORS / "rats" / "eat-rfc9711" / "Example-Tokens" / "deb.json"
    r = run("eat", "verify", str(deb), "--key", str(tmp_path / "k"), "--symmetric")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["format"] == "deb" and out["detached"]["Graphics Subsystem"]["oemid"] == 75000
    (tmp_path / "k2").write_bytes(b"yyyyyy")
    r = run("eat", "verify", str(deb), "--key", str(tmp_path / "k2"), "--symmetric")
    assert r.returncode == 1 and "jws.signature" in r.stderr
    r = run("eat", "show", str(VECTORS / "rats" / "eat-rfc9711" / "Example-Tokens" / "valid_cwt.diag"))
    assert r.returncode == 0 and json.loads(r.stdout)["claims"]["oemid"] == 64242


def test_rats_cli_psa_token_from_json(tmp_path: Path) -> None:
    """`eat show` of the RFC 9783 token, fed back to `eat create`: a new token with the same claims."""
    from iotsec.core import cbor

    r = run("eat", "show", str(PSA / "psa-sign1.cbor"))
    (tmp_path / "claims.json").write_text(json.dumps(json.loads(r.stdout)["claims"]))
    r = run(
        "eat",
        "create",
        str(tmp_path / "claims.json"),
        "--key",
        str(PSA / "tfm-es-iak.pem"),
        "-o",
        str(tmp_path / "t.cbor"),
    )
    assert r.returncode == 0, r.stderr
    r = run(
        "eat", "verify", str(tmp_path / "t.cbor"), "--key", str(PSA / "tfm-es-iak.json"), "--nonce", NONCE
    )
    assert r.returncode == 0, r.stderr
    mine = cbor.loads(cbor.loads((tmp_path / "t.cbor").read_bytes()).value[2])
    theirs = cbor.loads(cbor.loads((PSA / "psa-sign1.cbor").read_bytes()).value[2])
    assert mine == theirs
    claims = json.loads((tmp_path / "claims.json").read_text())
    del claims["psa-implementation-id"]
    (tmp_path / "bad.json").write_text(json.dumps(claims))
    r = run("eat", "create", str(tmp_path / "bad.json"), "--key", str(PSA / "tfm-es-iak.pem"))
    assert r.returncode == 1 and "psa.implementation_id.missing" in r.stderr
