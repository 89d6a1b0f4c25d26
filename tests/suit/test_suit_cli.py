"""``iotsec suit`` as a user runs it (real subprocesses, openssl for the public key)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from suit_vectors import load_example, private_key_pem

from iotsec.agent.suit_store import FileStore
from iotsec.core import cbor

DESC = """\
manifest-sequence-number: {seq}
severable: true
description:
  en-US:
    manifest-description: test update {seq}
components:
  - component-id: [app.bin]
    vendor-domain: example.com
    model-info: sensor-v2
    file: {image}
    uri: https://updates.example.com/{image}
    bootable: true
"""


def suit(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "iotsec", "suit", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


@pytest.fixture
def keys(tmp_path: Path, shared_vectors: Path) -> tuple[Path, Path]:
    priv = tmp_path / "key.pem"
    priv.write_bytes(private_key_pem(shared_vectors))
    pub = tmp_path / "pub.pem"
    subprocess.run(
        ["openssl", "ec", "-in", str(priv), "-pubout", "-out", str(pub)], check=True, capture_output=True
    )
    return priv, pub


def make_update(tmp: Path, priv: Path, seq: int, image: bytes, name: str = "app.bin") -> Path:
    (tmp / "payloads").mkdir(exist_ok=True)
    (tmp / name).write_bytes(image)
    (tmp / "payloads" / name).write_bytes(image)
    (tmp / f"u{seq}.yaml").write_text(DESC.format(seq=seq, image=name))
    r = suit("create", str(tmp / f"u{seq}.yaml"), "-o", str(tmp / f"u{seq}.unsigned"))
    assert r.returncode == 0, r.stderr
    r = suit("sign", str(tmp / f"u{seq}.unsigned"), "--key", str(priv), "-o", str(tmp / f"u{seq}.suit"))
    assert r.returncode == 0, r.stderr
    return tmp / f"u{seq}.suit"


def new_store(tmp: Path) -> Path:
    store = tmp / "store"
    store.mkdir()
    (store / "identity.json").write_text(
        json.dumps({"vendor-domain": "example.com", "model-info": ["sensor-v2"]})
    )
    return store


def test_create_sign_show_verify_process(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    priv, pub = keys
    image = os.urandom(5000)
    env = make_update(tmp_path, priv, 3, image)
    r = suit("verify", str(env), "--key", str(pub))
    assert r.returncode == 0 and "valid: sequence number 3, 2 severed member(s) checked" in r.stdout
    other = tmp_path / "other.pem"
    subprocess.run(
        ["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(other)],
        check=True,
        capture_output=True,
    )
    r = suit("verify", str(env), "--key", str(other))
    assert r.returncode == 1 and "[suit.auth.failed]" in r.stderr
    r = suit("show", str(env))
    assert r.returncode == 0 and "/ directive-fetch / 21,2" in r.stdout and "/ install / 20:<< [" in r.stdout
    store = new_store(tmp_path)
    pay = str(tmp_path / "payloads")
    r = suit(
        "process",
        str(env),
        "--key",
        str(pub),
        "--store",
        str(store),
        "--payloads",
        pay,
        "--report",
        str(tmp_path / "ok.report"),
    )
    assert r.returncode == 0, r.stderr
    assert "action: invoke" in r.stdout
    assert cbor.loads((tmp_path / "ok.report").read_bytes())[4] is True
    assert (store / "current" / "components" / "app.bin").read_bytes() == image
    assert FileStore(store).sequence_number == 3
    # the same manifest again: anti-rollback (§8.4.2); a signed SUIT report says why
    rep = tmp_path / "report.cose"
    r = suit(
        "process",
        str(env),
        "--key",
        str(pub),
        "--store",
        str(store),
        "--payloads",
        pay,
        "--report",
        str(rep),
        "--report-key",
        str(priv),
    )
    assert r.returncode == 1 and "[suit.rollback]" in r.stderr
    from iotsec.core.cose import CoseKey, Sign1Message

    msg = Sign1Message.decode(rep.read_bytes())
    msg.verify(CoseKey.load(pub.read_bytes()))
    assert cbor.loads(msg.payload)[4][7] == 10  # condition-failed (report.reason_for: manifest §6.1, §8.4.2)
    # a newer manifest whose payload was replaced on the server: image-match fails, nothing changes
    env4 = make_update(tmp_path, priv, 4, os.urandom(5000))
    (tmp_path / "payloads" / "app.bin").write_bytes(b"evil" * 100)
    r = suit(
        "process",
        str(env4),
        "--key",
        str(pub),
        "--store",
        str(store),
        "--payloads",
        str(tmp_path / "payloads"),
    )
    assert r.returncode == 1 and "[suit.condition.image-match]" in r.stderr
    assert (store / "current" / "components" / "app.bin").read_bytes() == image
    assert FileStore(store).sequence_number == 3


def test_sign_accepts_hex_and_diagnostic_notation(
    tmp_path: Path, keys: tuple[Path, Path], shared_vectors: Path
) -> None:
    priv, pub = keys
    unsigned = load_example(shared_vectors, "example0").unsigned
    (tmp_path / "in.hex").write_text(unsigned.hex())
    (tmp_path / "in.diag").write_text(cbor.to_diag(unsigned))
    for src in ("in.hex", "in.diag"):
        out = tmp_path / f"{src}.suit"
        r = suit("sign", str(tmp_path / src), "--key", str(priv), "--deterministic", "-o", str(out))
        assert r.returncode == 0, r.stderr
        assert suit("verify", str(out), "--key", str(pub)).returncode == 0
    assert (tmp_path / "in.hex.suit").read_bytes() == (tmp_path / "in.diag.suit").read_bytes()


def test_mac(tmp_path: Path) -> None:
    (tmp_path / "u.yaml").write_text(DESC.format(seq=1, image="a.bin"))
    (tmp_path / "a.bin").write_bytes(b"a" * 100)
    (tmp_path / "mac.key").write_text(("61" * 32) + "\n")
    (tmp_path / "other.key").write_text(("62" * 32) + "\n")
    assert suit("create", str(tmp_path / "u.yaml"), "-o", str(tmp_path / "u.cbor")).returncode == 0
    r = suit(
        "sign", str(tmp_path / "u.cbor"), "--mac", str(tmp_path / "mac.key"), "-o", str(tmp_path / "u.suit")
    )
    assert r.returncode == 0, r.stderr
    r = suit("verify", str(tmp_path / "u.suit"), "--mac", str(tmp_path / "mac.key"))
    assert r.returncode == 0 and "COSE_Mac0" in r.stdout
    r = suit("verify", str(tmp_path / "u.suit"), "--mac", str(tmp_path / "other.key"))
    assert r.returncode == 1
    # a second block (MAC with another key): one verifies; --all requires both
    r = suit(
        "sign",
        str(tmp_path / "u.suit"),
        "--mac",
        str(tmp_path / "other.key"),
        "-o",
        str(tmp_path / "u2.suit"),
    )
    assert r.returncode == 0, r.stderr
    r = suit("verify", str(tmp_path / "u2.suit"), "--mac", str(tmp_path / "mac.key"))
    assert r.returncode == 0 and "block 2: COSE_Mac0: not verified" in r.stdout
    r = suit("verify", str(tmp_path / "u2.suit"), "--mac", str(tmp_path / "mac.key"), "--all")
    assert r.returncode == 1 and "[suit.auth.partial]" in r.stderr
    keys2 = ("--mac", str(tmp_path / "mac.key"), "--mac", str(tmp_path / "other.key"), "--all")
    assert suit("verify", str(tmp_path / "u2.suit"), *keys2).returncode == 0


@pytest.mark.slow
def test_kill_during_install_leaves_old_or_new(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    """SIGKILL a second process mid-install: the store is fully old or fully new, never half-written."""
    priv, pub = keys
    old = os.urandom(1000)
    new = os.urandom(24 * 1024 * 1024)
    env1 = make_update(tmp_path, priv, 1, old)
    store = new_store(tmp_path)
    payloads = str(tmp_path / "payloads")
    assert (
        suit(
            "process", str(env1), "--key", str(pub), "--store", str(store), "--payloads", payloads
        ).returncode
        == 0
    )
    snapshot = tmp_path / "old-store"
    shutil.copytree(store, snapshot, symlinks=True)
    env2 = make_update(tmp_path, priv, 2, new)
    args = [
        sys.executable,
        "-m",
        "iotsec",
        "suit",
        "process",
        str(env2),
        "--key",
        str(pub),
        "--store",
        str(store),
        "--payloads",
        payloads,
    ]
    # one full run on a copy measures the duration over which the kills are spread
    probe = tmp_path / "probe"
    shutil.copytree(snapshot, probe, symlinks=True)
    start = time.monotonic()
    done = subprocess.run([*args[:-3], str(probe), "--payloads", payloads], capture_output=True, check=False)
    total = time.monotonic() - start
    assert done.returncode == 0, done.stderr
    assert FileStore(probe).sequence_number == 2
    hashes = {hashlib.sha256(old).digest(): 1, hashlib.sha256(new).digest(): 2}
    outcomes = []
    interrupted = 0
    for frac in (0.3, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.5):
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(total * frac)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if any(p.name.startswith(".tmp-") for p in store.iterdir()):
            interrupted += 1  # killed inside commit, with a half-built generation on disk
        fs = FileStore(store)  # recovery of an interrupted commit runs here
        content = (store / "current" / "components" / "app.bin").read_bytes()
        seq = hashes.get(hashlib.sha256(content).digest())
        assert seq is not None, "half-written component"
        assert fs.sequence_number == seq  # the sequence number flips together with the content
        assert not [p for p in store.iterdir() if p.name.startswith(".tmp-")]
        outcomes.append(seq)
        shutil.rmtree(store)
        shutil.copytree(snapshot, store, symlinks=True)
    print("kill outcomes (1 old, 2 new):", outcomes, "killed inside commit:", interrupted)
    assert 1 in outcomes  # some kills landed before the switch


def test_integrated_payload_and_secure_boot(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    priv, pub = keys
    image = os.urandom(3000)
    (tmp_path / "fw.bin").write_bytes(image)
    (tmp_path / "u.yaml").write_text(
        "manifest-sequence-number: 1\n"
        "components:\n"
        "  - component-id: [fw]\n"
        "    vendor-domain: example.com\n"
        "    model-info: sensor-v2\n"
        "    file: fw.bin\n"
        "    integrated: true\n"
        "    bootable: true\n"
    )
    assert suit("create", str(tmp_path / "u.yaml"), "-o", str(tmp_path / "u.cbor")).returncode == 0
    r = suit("sign", str(tmp_path / "u.cbor"), "--key", str(priv), "-o", str(tmp_path / "u.suit"))
    assert r.returncode == 0, r.stderr
    shown = suit("show", str(tmp_path / "u.suit")).stdout
    assert '/ integrated payload / "#fw.bin"' in shown
    store = new_store(tmp_path)
    r = suit("process", str(tmp_path / "u.suit"), "--key", str(pub), "--store", str(store))  # no --payloads
    assert r.returncode == 0, r.stderr
    assert (store / "current" / "components" / "fw").read_bytes() == image
    # secure boot: the invocation procedure re-validates the installed image
    r = suit(
        "process", str(tmp_path / "u.suit"), "--key", str(pub), "--store", str(store), "--procedure", "invoke"
    )
    assert r.returncode == 0 and "action: invoke" in r.stdout
    target = store / "current" / "components" / "fw"
    target.write_bytes(image[:-1] + bytes([image[-1] ^ 1]))  # the installed image is modified
    r = suit(
        "process", str(tmp_path / "u.suit"), "--key", str(pub), "--store", str(store), "--procedure", "invoke"
    )
    assert (
        r.returncode == 1 and "[suit.condition.image-match]" in r.stderr and "action: invoke" not in r.stdout
    )
