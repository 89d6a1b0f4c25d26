"""``iotsec cose ...`` as a user runs it: real subprocesses, real files, openssl-made keys."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from iotsec.core.cose import CoseKey, Mac0Message, Sign1Message


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "iotsec", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
    )


def test_keygen_sign_verify_show(tmp_path: Path) -> None:
    key, pub = tmp_path / "k.pem", tmp_path / "pub.pem"
    r = run("cose", "keygen", "--alg", "ES256", "-o", str(key), "--public", str(pub))
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(key.stat().st_mode) == 0o600  # private keys are written 0600
    assert b"BEGIN PRIVATE KEY" in key.read_bytes() and b"BEGIN PUBLIC KEY" in pub.read_bytes()
    assert run("cose", "keygen", "--alg", "ES256", "-o", str(key)).returncode == 2  # never overwritten
    payload = tmp_path / "p.bin"
    payload.write_bytes(b"hello iotsec")
    msg = tmp_path / "m.cbor"
    r = run("cose", "sign", str(payload), "--key", str(key), "--kid", "dev-1", "-o", str(msg))
    assert r.returncode == 0, r.stderr
    decoded = Sign1Message.decode(msg.read_bytes())
    assert decoded.kid == b"dev-1" and decoded.payload == b"hello iotsec"
    decoded.verify(CoseKey.from_pem(pub.read_bytes()))
    r = run("cose", "verify", str(msg), "--key", str(pub))
    assert r.returncode == 0 and r.stdout.startswith("valid: COSE_Sign1 alg=ES256 kid='dev-1'"), r
    r = run("--json", "cose", "verify", str(msg), "--key", str(pub), "--payload-out", str(tmp_path / "out"))
    assert r.returncode == 0
    assert json.loads(r.stdout) == {
        "valid": True,
        "type": "COSE_Sign1",
        "alg": "ES256",
        "kid": "dev-1",
        "payload_bytes": 12,
    }
    assert (tmp_path / "out").read_bytes() == b"hello iotsec"
    r = run("cose", "show", str(msg))
    assert r.returncode == 0
    assert "/ alg / 1: -7 / ES256 /" in r.stdout and "/ kid / 4: h'6465762d31'" in r.stdout


def test_verify_failures_exit_1_with_reason(tmp_path: Path) -> None:
    key = tmp_path / "k.pem"
    other = tmp_path / "o.pem"
    run("cose", "keygen", "--alg", "Ed25519", "-o", str(key))
    run("cose", "keygen", "--alg", "Ed25519", "-o", str(other))
    (tmp_path / "p").write_bytes(b"x")
    r = run("cose", "sign", str(tmp_path / "p"), "--key", str(key), "--format", "hex", "--aad", "beef")
    assert r.returncode == 0
    hexfile = tmp_path / "m.hex"
    hexfile.write_text(r.stdout)
    assert run("cose", "verify", str(hexfile), "--key", str(key), "--aad", "beef").returncode == 0
    r = run("cose", "verify", str(hexfile), "--key", str(other), "--aad", "beef")
    assert r.returncode == 1 and "cose.signature.invalid" in r.stderr and "Traceback" not in r.stderr
    r = run("cose", "verify", str(hexfile), "--key", str(key))
    assert r.returncode == 1 and "signature verification failed" in r.stderr
    garbage = tmp_path / "g"
    garbage.write_bytes(b"\xff\x00not cose")
    r = run("cose", "verify", str(garbage), "--key", str(key))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    r = run("cose", "verify", str(tmp_path / "missing"), "--key", str(key))
    assert r.returncode == 2


def test_detached_and_openssl_key(tmp_path: Path) -> None:
    """A P-384 key made by openssl (SEC1 'EC PRIVATE KEY' PEM) signs; detached payload verifies."""
    key = tmp_path / "ossl.pem"
    subprocess.run(
        ["openssl", "ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out", str(key)], check=True
    )
    pub = tmp_path / "ossl.pub"
    subprocess.run(
        ["openssl", "ec", "-in", str(key), "-pubout", "-out", str(pub)], check=True, capture_output=True
    )
    (tmp_path / "fw.bin").write_bytes(os.urandom(5000))
    out = tmp_path / "sig.cose"
    r = run(
        "cose",
        "sign",
        str(tmp_path / "fw.bin"),
        "--key",
        str(key),
        "--detached",
        "--deterministic",
        "-o",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    assert Sign1Message.decode(out.read_bytes()).payload is None
    assert run("cose", "verify", str(out), "--key", str(pub)).returncode == 1  # payload missing
    r = run("cose", "verify", str(out), "--key", str(pub), "--payload", str(tmp_path / "fw.bin"))
    assert r.returncode == 0 and "alg=ES384" in r.stdout
    # deterministic ECDSA: the same command gives the same bytes
    out2 = tmp_path / "sig2.cose"
    run(
        "cose",
        "sign",
        str(tmp_path / "fw.bin"),
        "--key",
        str(key),
        "--detached",
        "--deterministic",
        "-o",
        str(out2),
    )
    assert out.read_bytes() == out2.read_bytes()


def test_mac_with_jwk_key_and_encrypted_pem(tmp_path: Path) -> None:
    jwk = tmp_path / "s.jwk"
    assert run("cose", "keygen", "--alg", "HMAC 256/64", "--kid", "s1", "-o", str(jwk)).returncode == 0
    assert json.loads(jwk.read_text())["kty"] == "oct"
    (tmp_path / "p").write_bytes(b"telemetry")
    out = tmp_path / "m.cose"
    assert (
        run("cose", "sign", str(tmp_path / "p"), "--key", str(jwk), "--mac", "-o", str(out)).returncode == 0
    )
    m = Mac0Message.decode(out.read_bytes())
    assert m.alg == 4 and m.kid == b"s1" and len(m.tag) == 8
    r = run("cose", "verify", str(out), "--key", str(jwk))
    assert r.returncode == 0 and "COSE_Mac0" in r.stdout
    # an encrypted PKCS#8 key with its password in a file
    k = CoseKey.generate("ES256")
    enc = tmp_path / "enc.pem"
    enc.write_bytes(k.to_pem(password=b"correct horse"))
    pw = tmp_path / "pw"
    pw.write_text("correct horse\n")
    signed = tmp_path / "s.cose"
    r = run(
        "cose", "sign", str(tmp_path / "p"), "--key", str(enc), "--password-file", str(pw), "-o", str(signed)
    )
    assert r.returncode == 0, r.stderr
    Sign1Message.decode(signed.read_bytes()).verify(k)
    r = run("cose", "sign", str(tmp_path / "p"), "--key", str(enc), "-o", str(signed))
    assert r.returncode == 1 and "cose.key.password" in r.stderr


def test_show_and_verify_a_wg_vector(tmp_path: Path, shared_vectors: Path) -> None:
    v = json.loads(
        (shared_vectors / "cose" / "cose-wg-examples" / "RFC8152" / "Appendix_C_2_1.json").read_text()
    )
    msg = tmp_path / "c21.hex"
    msg.write_text(v["output"]["cbor"])
    jwk = tmp_path / "key.jwk"
    jwk.write_text(json.dumps(v["input"]["sign0"]["key"]))
    r = run("cose", "verify", str(msg), "--key", str(jwk))
    assert r.returncode == 0 and "kid='11'" in r.stdout
    diag = tmp_path / "c21.diag"
    diag.write_text(v["output"]["cbor_diag"])
    assert run("cose", "verify", str(diag), "--key", str(jwk)).returncode == 0  # diagnostic notation input
    r = run("cose", "show", str(msg))
    assert r.stdout.splitlines()[0] == "18(  / COSE_Sign1 /"


def test_verify_cose_sign_and_cose_mac_files(tmp_path: Path) -> None:
    from iotsec.core.cose import Algorithm, RecipientSpec, mac, sign

    a, b = CoseKey.generate("ES256", kid="a"), CoseKey.generate("Ed25519", kid="b")
    (tmp_path / "a.pub").write_bytes(a.to_pem(private=False))
    (tmp_path / "b.jwk").write_text(json.dumps(b.public().to_jwk(private=False)))
    (tmp_path / "s.cose").write_bytes(sign(b"multi", [a, b]))
    r = run("cose", "verify", str(tmp_path / "s.cose"), "--key", str(tmp_path / "a.pub"))
    assert r.returncode == 0 and r.stdout.startswith("valid: COSE_Sign alg=ES256 kid='a'")
    r = run("cose", "verify", str(tmp_path / "s.cose"), "--key", str(tmp_path / "b.jwk"))
    assert r.returncode == 0 and "alg=Ed25519 kid='b'" in r.stdout
    kek = CoseKey.generate(Algorithm.A128KW, kid="kek")
    (tmp_path / "kek.jwk").write_text(json.dumps(kek.to_jwk()))
    (tmp_path / "m.cose").write_bytes(mac(b"mac'd", [RecipientSpec(int(Algorithm.A128KW), kek)]))
    r = run("cose", "verify", str(tmp_path / "m.cose"), "--key", str(tmp_path / "kek.jwk"))
    assert r.returncode == 0 and r.stdout.startswith("valid: COSE_Mac alg=HMAC 256/256")
    other = CoseKey.generate(Algorithm.A128KW, kid="kek")
    (tmp_path / "other.jwk").write_text(json.dumps(other.to_jwk()))
    r = run("cose", "verify", str(tmp_path / "m.cose"), "--key", str(tmp_path / "other.jwk"))
    assert r.returncode == 1 and "Traceback" not in r.stderr
