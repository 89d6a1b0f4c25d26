"""``iotsec cose encrypt|decrypt`` run as a real process; OpenSSL as an independent AES-CTR/CBC peer."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from iotsec.core import cbor

CLI = [sys.executable, "-m", "iotsec"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, timeout=60, check=False)


def test_encrypt0_round_trip_and_tamper(tmp_path: Path) -> None:
    (tmp_path / "fw.bin").write_bytes(b"firmware image \x00\xff" * 50)
    r = run("cose", "keygen", "--alg", "A256GCM", "--kid", "dev-1", "-o", "k.jwk", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "k.jwk").stat().st_mode & 0o777 == 0o600
    r = run(
        "cose",
        "encrypt",
        "fw.bin",
        "--key",
        "k.jwk",
        "--alg",
        "A256GCM",
        "--aad",
        "0102",
        "-o",
        "fw.cose",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    msg = cbor.loads((tmp_path / "fw.cose").read_bytes())
    assert msg.tag == 16 and msg.value[1][4] == b"dev-1"
    r = run(
        "--json",
        "cose",
        "decrypt",
        "fw.cose",
        "--key",
        "k.jwk",
        "--aad",
        "0102",
        "-o",
        "out.bin",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {
        "decrypted": True,
        "type": "COSE_Encrypt0",
        "alg": "A256GCM",
        "bytes": 850,
    }
    assert (tmp_path / "out.bin").read_bytes() == (tmp_path / "fw.bin").read_bytes()
    r = run("cose", "decrypt", "fw.cose", "--key", "k.jwk", "-o", "out2.bin", cwd=tmp_path)  # AAD missing
    assert r.returncode == 1
    assert b"cose.decrypt.failed" in r.stderr
    assert not (tmp_path / "out2.bin").exists()


def test_to_public_keys_and_key_wrap(tmp_path: Path) -> None:
    (tmp_path / "m.txt").write_bytes(b"to several recipients")
    for name, alg in (("bob", "ECDH-ES+A128KW"), ("carol", "ECDH-ES+A128KW")):
        r = run(
            "cose",
            "keygen",
            "--alg",
            alg,
            "--kid",
            name,
            "-o",
            f"{name}.pem",
            "--public",
            f"{name}.pub.pem",
            cwd=tmp_path,
        )
        assert r.returncode == 0, r.stderr
    (tmp_path / "kek.bin").write_bytes(bytes(range(16)))  # raw symmetric key file
    r = run(
        "cose",
        "encrypt",
        "m.txt",
        "--to",
        "bob.pub.pem",
        "--to",
        "carol.pub.pem",
        "--key",
        "kek.bin",
        "--recipient-alg",
        "A128KW",
        "--format",
        "hex",
        "-o",
        "m.hex",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert len(cbor.loads(bytes.fromhex((tmp_path / "m.hex").read_text())).value[3]) == 3
    r = run("cose", "encrypt", "m.txt", "--to", "bob.pub.pem", "-o", "m2.cose", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for key in ("bob.pem", "carol.pem", "kek.bin"):
        target = "m2.cose" if key == "bob.pem" else "m.hex"
        r = run("cose", "decrypt", target, "--key", key, "-o", f"out-{key}", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert (tmp_path / f"out-{key}").read_bytes() == b"to several recipients"


def test_decrypts_cose_wg_example(tmp_path: Path, shared_vectors: Path) -> None:
    v = json.loads((shared_vectors / "cose/cose-wg-examples/RFC8152/Appendix_C_3_1.json").read_text())
    (tmp_path / "msg.hex").write_text(v["output"]["cbor"])
    (tmp_path / "key.jwk").write_text(json.dumps(v["input"]["enveloped"]["recipients"][0]["key"]))
    r = run("cose", "decrypt", "msg.hex", "--key", "key.jwk", "-o", "pt", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "pt").read_bytes() == b"This is the content."


def test_usage_errors(tmp_path: Path) -> None:
    (tmp_path / "x").write_bytes(b"x")
    assert run("cose", "encrypt", "x", cwd=tmp_path).returncode == 2  # neither --key nor --to
    assert run("cose", "decrypt", "x", "--key", "missing", cwd=tmp_path).returncode == 2
    (tmp_path / "k").write_bytes(bytes(16))
    r = run("cose", "decrypt", "x", "--key", "k", cwd=tmp_path)
    assert r.returncode == 1 and b"error:" in r.stderr


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
@pytest.mark.parametrize(
    ("alg", "ossl"), [("A128CTR", "aes-128-ctr"), ("A256CTR", "aes-256-ctr"), ("A128CBC", "aes-128-cbc")]
)
def test_rfc9459_detached_ciphertext_matches_openssl(tmp_path: Path, alg: str, ossl: str) -> None:
    """RFC 9459 AES-CTR/CBC content: OpenSSL decrypts iotsec's detached ciphertext (CBC: PKCS#7)."""
    key = bytes(range(32 if "256" in alg else 16))
    (tmp_path / "k.bin").write_bytes(key)
    (tmp_path / "img").write_bytes(bytes(range(256)) * 40 + b"tail")
    r = run(
        "cose",
        "encrypt",
        "img",
        "--key",
        "k.bin",
        "--alg",
        alg,
        "--detached",
        "ct.bin",
        "-o",
        "m.cose",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    msg = cbor.loads((tmp_path / "m.cose").read_bytes())
    assert msg.value[0] == b"" and msg.value[2] is None
    iv = msg.value[1][5]
    o = subprocess.run(
        ["openssl", "enc", "-d", f"-{ossl}", "-K", key.hex(), "-iv", iv.hex(), "-in", "ct.bin"],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert o.stdout == (tmp_path / "img").read_bytes()
    # iotsec refuses the unauthenticated cipher unless told that something else authenticates
    r = run("cose", "decrypt", "m.cose", "--key", "k.bin", "--detached", "ct.bin", "-o", "p", cwd=tmp_path)
    assert r.returncode == 1 and b"cose.alg.unauthenticated" in r.stderr
    r = run(
        "cose",
        "decrypt",
        "m.cose",
        "--key",
        "k.bin",
        "--detached",
        "ct.bin",
        "--allow-unauthenticated",
        "-o",
        "p",
        cwd=tmp_path,
    )
    assert r.returncode == 0 and (tmp_path / "p").read_bytes() == (tmp_path / "img").read_bytes()


def test_ecdh_ss_from_sender_key(tmp_path: Path) -> None:
    (tmp_path / "m").write_bytes(b"static-static")
    for name in ("alice", "bob"):
        r = run(
            "cose",
            "keygen",
            "--alg",
            "ECDH-SS+HKDF-256",
            "--kid",
            name,
            "-o",
            f"{name}.pem",
            "--public",
            f"{name}.pub.pem",
            cwd=tmp_path,
        )
        assert r.returncode == 0, r.stderr
    r = run(
        "cose",
        "encrypt",
        "m",
        "--to",
        "bob.pub.pem",
        "--to-alg",
        "ECDH-SS + HKDF-256",
        "--from",
        "alice.pem",
        "-o",
        "m.cose",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    rec = cbor.loads((tmp_path / "m.cose").read_bytes()).value[3][0]
    assert -2 in rec[1] and -22 in rec[1]  # sender's static key and a fresh PartyU nonce
    r = run("cose", "decrypt", "m.cose", "--key", "bob.pem", "-o", "out", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out").read_bytes() == b"static-static"


def test_hex_key_file_wins_over_raw_reading(tmp_path: Path) -> None:
    """32 hex digits (no newline) are a 16-byte key, not a 32-byte raw key."""
    (tmp_path / "k.hex").write_text(bytes(range(16)).hex())
    (tmp_path / "k.bin").write_bytes(bytes(range(16)))
    (tmp_path / "m").write_bytes(b"m")
    assert run("cose", "encrypt", "m", "--key", "k.hex", "-o", "m.cose", cwd=tmp_path).returncode == 0
    r = run("cose", "decrypt", "m.cose", "--key", "k.bin", "-o", "out", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out").read_bytes() == b"m"
