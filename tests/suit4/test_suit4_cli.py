"""``iotsec suit encrypt|decrypt|delegate|apply|report`` as a user runs them (real subprocesses;
keys made by openssl; the encrypted payload opened by python-cwt)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cwt import COSE, COSEKey

from iotsec.agent.suit_store import FileStore
from iotsec.core import cbor
from iotsec.core.cose import CoseKey
from iotsec.core.suit import codec
from iotsec.core.suit.builder_ext import build_extended

SUIT_CONTEXT = [
    -3,
    [None, None, None],
    [None, None, None],
    [128, cbor.dumps({1: -29}), b"SUIT Payload Encryption"],
]


def suit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "iotsec", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


def openssl_p256(tmp: Path, name: str) -> tuple[Path, Path]:
    priv, pub = tmp / f"{name}.pem", tmp / f"{name}.pub.pem"
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(priv)],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        ["openssl", "pkey", "-in", str(priv), "-pubout", "-out", str(pub)], check=True, capture_output=True
    )
    return priv, pub


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for name in ("device", "oem", "operator", "report"):
        out[name], out[name + ".pub"] = openssl_p256(tmp_path, name)
    (tmp_path / "kek.hex").write_text(os.urandom(16).hex() + "\n")
    out["kek"] = tmp_path / "kek.hex"
    return out


def test_suit4_cli_encrypt_to_device_and_kek(tmp_path: Path, keys: dict[str, Path]) -> None:
    image = os.urandom(2 * 1024 * 1024 + 3)
    (tmp_path / "fw.bin").write_bytes(image)
    r = suit(
        "--json",
        "suit",
        "encrypt",
        "fw.bin",
        "--to",
        str(keys["device.pub"]),
        "--kek",
        str(keys["kek"]),
        "--kid",
        "dev-1",
        "--kid",
        "kek-1",
        "-o",
        "fw.enc",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["recipients"] == 2 and summary["plaintext_bytes"] == len(image)
    info = (tmp_path / "fw.enc.info").read_bytes()
    ct = (tmp_path / "fw.enc").read_bytes()
    # python-cwt opens it with the device's private key (ECDH-ES + A128KW, SUIT KDF context)
    dev = CoseKey.from_pem(keys["device"].read_bytes())
    dev_cwt = COSEKey.new({**dev.to_cose_map(), 2: b"dev-1", 3: -29})
    assert COSE.new().decode(info, dev_cwt, context=SUIT_CONTEXT, detached_payload=ct) == image
    decrypt = ("suit", "decrypt", "fw.enc", "--info", "fw.enc.info", "--key")
    # and iotsec's own device-side command with the KEK
    r = suit(*decrypt, str(keys["kek"]), "-o", "fw.out", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "fw.out").read_bytes() == image
    # a wrong key: exit 1 with the reason, and no output file left behind
    other = tmp_path / "other.hex"
    other.write_text(os.urandom(16).hex())
    r = suit(*decrypt, str(other), "-o", "bad.out", cwd=tmp_path)
    assert r.returncode == 1 and "suit.encryption.key" in r.stderr
    assert not (tmp_path / "bad.out").exists() and not (tmp_path / "bad.out.part").exists()


def test_suit4_cli_operator_flow_with_report(tmp_path: Path, keys: dict[str, Path]) -> None:
    """OEM installs, delegates app+config to the operator; the operator's encrypted app update is
    applied; its bootloader update is refused; the device's signed report says why."""
    store = tmp_path / "store"
    payloads = tmp_path / "payloads"
    payloads.mkdir()
    (store).mkdir()
    (store / "identity.json").write_text(json.dumps({"vendor-domain": "oem.example", "model-info": ["gw"]}))

    def manifest(seq: int, comps: dict[str, bytes], signer: str, encrypted: set[str]) -> Path:
        images = dict(comps)
        desc_comps = []
        for name, data in comps.items():
            c: dict[str, object] = {
                "component-id": [name],
                "vendor-domain": "oem.example",
                "model-info": "gw",
                "file": name,
                "uri": f"https://cdn.example/{name}.{seq}",
            }
            if name in encrypted:
                (tmp_path / f"{name}.bin").write_bytes(data)
                r = suit(
                    "suit",
                    "encrypt",
                    f"{name}.bin",
                    "--to",
                    str(keys["device.pub"]),
                    "-o",
                    str(payloads / f"{name}.{seq}"),
                    "--info",
                    f"{name}.info",
                    cwd=tmp_path,
                )
                assert r.returncode == 0, r.stderr
                images[f"{name}.info"] = (tmp_path / f"{name}.info").read_bytes()
                c["encrypted"] = {"info": f"{name}.info"}
            else:
                (payloads / f"{name}.{seq}").write_bytes(data)
            desc_comps.append(c)
        env = build_extended({"manifest-sequence-number": seq, "components": desc_comps}, images)
        unsigned = tmp_path / f"m{seq}.unsigned"
        unsigned.write_bytes(codec.encode(env))
        out = tmp_path / f"m{seq}.suit"
        r = suit("suit", "sign", str(unsigned), "--key", str(keys[signer]), "-o", str(out), cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        return out

    def delegate(envelope: Path, out: str, *components: str) -> subprocess.CompletedProcess[str]:
        """The OEM delegates COMPONENTS to the operator, on the operator's ENVELOPE."""
        scope = [arg for c in components for arg in ("--component", c)]
        issuer = ("--issuer-key", str(keys["oem"]), "--subject", str(keys["operator.pub"]))
        return suit("suit", "delegate", *issuer, *scope, "--envelope", str(envelope), "-o", out, cwd=tmp_path)

    def report(name: str) -> tuple[str, ...]:
        """The device writes its report to NAME, signed with its report key."""
        return ("--report", name, "--report-key", str(keys["report"]))

    # the device trusts the OEM's key and installs into its store
    apply = ("suit", "apply", "--key", str(keys["oem.pub"]), "--store", str(store))
    with_payloads = ("--payloads", str(payloads))

    m1 = manifest(1, {"bootloader": b"boot1", "app": b"app1", "config": b"cfg1"}, "oem", set())
    r = suit(*apply, str(m1), *with_payloads, cwd=tmp_path)
    assert r.returncode == 0, r.stderr + r.stdout

    m2 = manifest(2, {"app": b"app2 secret", "config": b"cfg2"}, "operator", {"app"})
    r = delegate(m2, "m2.deleg.suit", "app/*", "config")
    assert r.returncode == 0, r.stderr
    decrypt_key = ("--decrypt-key", str(keys["device"]))
    r = suit(
        "--json", *apply, "m2.deleg.suit", *with_payloads, *decrypt_key, *report("r2.cose"), cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr + r.stdout
    assert json.loads(r.stdout)["signers"] == ["operator"]
    fs = FileStore(store)
    got = {cid: p.read_bytes() for cid, p in fs.components().items()}
    assert (
        got[(b"app",)] == b"app2 secret"
        and got[(b"config",)] == b"cfg2"
        and got[(b"bootloader",)] == b"boot1"
    )

    m3 = manifest(3, {"bootloader": b"evil"}, "operator", set())
    r = delegate(m3, "m3.deleg.suit", "app", "config")
    assert r.returncode == 0
    r = suit(*apply, "m3.deleg.suit", *with_payloads, *report("r3.cose"), cwd=tmp_path)
    assert r.returncode == 1
    assert "suit.component.unauthorised" in r.stderr and "'bootloader'" in r.stderr
    assert FileStore(store).path_of((b"bootloader",)).read_bytes() == b"boot1"

    r = suit("suit", "report", "verify", "r3.cose", "--key", str(keys["report.pub"]), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "result failed" in r.stdout
    r = suit("suit", "report", "verify", "r3.cose", "--key", str(keys["operator.pub"]), cwd=tmp_path)
    assert r.returncode == 1 and "suit.report.signature" in r.stderr
    r = suit("--json", "suit", "report", "show", "r3.cose", cwd=tmp_path)
    shown = json.loads(r.stdout)
    assert shown["container"] == "COSE_Sign1" and shown["reason"] == "component-unauthorised"
    assert "bootloader" in shown["text"]
    r = suit("suit", "report", "show", "r2.cose", cwd=tmp_path)
    assert r.returncode == 0 and "result: ok" in r.stdout

    # an encrypted report (COSE_Encrypt0 inside the Sign1): unreadable without the key
    (tmp_path / "rk.hex").write_text(os.urandom(16).hex())
    encrypt_report = ("--report-encrypt-key", "rk.hex")
    r = suit(*apply, "m3.deleg.suit", *report("r4.cose"), *encrypt_report, cwd=tmp_path)
    assert r.returncode == 1
    assert b"bootloader" not in (tmp_path / "r4.cose").read_bytes()
    r = suit("suit", "report", "show", "r4.cose", cwd=tmp_path)
    assert r.returncode == 1 and "suit.report.decrypt" in r.stderr
    r = suit(
        "suit",
        "report",
        "verify",
        "r4.cose",
        "--key",
        str(keys["report.pub"]),
        "--decrypt-key",
        "rk.hex",
        cwd=tmp_path,
    )
    assert r.returncode == 0 and "result failed" in r.stdout
    r = suit("--json", "suit", "report", "show", "r4.cose", "--decrypt-key", "rk.hex", cwd=tmp_path)
    assert json.loads(r.stdout)["container"] == "COSE_Sign1(COSE_Encrypt0)"


def test_suit4_cli_create_with_companion_options(tmp_path: Path, keys: dict[str, Path]) -> None:
    """`suit create` builds encryption and update-management options from YAML; `apply` takes the
    device inputs; refusals name the condition; a waiting update says what it waits for."""
    (tmp_path / "payloads").mkdir()
    (tmp_path / "store").mkdir()
    (tmp_path / "app.bin").write_bytes(b"application v2" * 1000)
    r = suit(
        "suit",
        "encrypt",
        "app.bin",
        "--to",
        str(keys["device.pub"]),
        "--alg",
        "A128CTR",
        "-o",
        "payloads/app.enc",
        "--info",
        "app.info",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    (tmp_path / "m.yaml").write_text(
        "manifest-sequence-number: 4\nminimum-battery: 300\nrequire-consent: true\nupdate-priority: -1\n"
        "components:\n  - component-id: [app]\n    file: app.bin\n    uri: https://cdn.example/app.enc\n"
        "    encrypted: {info: app.info}\n    version-required: ['>=', '2.0.0']\n"
    )
    assert suit("suit", "create", "m.yaml", "-o", "m.unsigned", cwd=tmp_path).returncode == 0
    assert (
        suit("suit", "sign", "m.unsigned", "--key", str(keys["oem"]), "-o", "m.suit", cwd=tmp_path).returncode
        == 0
    )
    base = [
        "suit",
        "apply",
        "m.suit",
        "--key",
        str(keys["oem.pub"]),
        "--store",
        "store",
        "--payloads",
        "payloads",
        "--decrypt-key",
        str(keys["device"]),
    ]
    r = suit(*base, "--battery", "100", "--consent", "--version", "app=2.1.0", cwd=tmp_path)
    assert r.returncode == 1 and "suit.condition.minimum-battery" in r.stderr
    r = suit(*base, "--battery", "900", "--no-consent", "--version", "app=2.1.0", cwd=tmp_path)
    assert r.returncode == 1 and "suit.condition.update-authorized" in r.stderr
    r = suit(*base, "--battery", "900", "--consent", "--version", "app=1.9.9", cwd=tmp_path)
    assert r.returncode == 1 and "suit.condition.version" in r.stderr
    # the same inputs read from the system: a sysfs-shaped power-supply tree, a consent policy file
    # written by the device's UI, versions.json in the store
    bat = tmp_path / "ps" / "BAT0"
    bat.mkdir(parents=True)
    (bat / "type").write_text("Battery\n")
    (bat / "energy_now").write_text("150000\n")  # 150 mWh: below the manifest's 300
    (tmp_path / "policy.json").write_text(json.dumps({"authorize-priority-up-to": 0}))
    (tmp_path / "store" / "versions.json").write_text(json.dumps({"app": "2.0.0"}))
    sysinputs = ["--policy", "policy.json", "--power-supply", "ps"]
    r = suit(*base, *sysinputs, cwd=tmp_path)
    assert r.returncode == 1 and "suit.condition.minimum-battery" in r.stderr
    (bat / "energy_now").write_text("900000\n")
    r = suit(*base, *sysinputs, cwd=tmp_path)
    assert r.returncode == 0, r.stderr + r.stdout
    assert FileStore(tmp_path / "store").path_of((b"app",)).read_bytes() == b"application v2" * 1000


def test_suit4_cli_capabilities(tmp_path: Path) -> None:
    r = suit(
        "--json", "suit", "report", "capabilities", "--component", "app", "-o", "caps.cbor", cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert 19 in out["parameters"] and -29 in out["algorithms"] and 11 in out["commands"]
    caps = cbor.loads((tmp_path / "caps.cbor").read_bytes())
    assert [b"app"] in caps[1] and [True] in caps[1]


def test_suit4_cli_applies_the_wg_aes_kw_example(tmp_path: Path, shared_vectors: Path) -> None:
    """The firmware-encryption draft's fetch+copy example, from the command line: HMAC-256 with
    key 'a'*32, KEK 'a'*16 (kid-1), the ciphertext served from a payload directory."""
    vec = shared_vectors / "suit" / "firmware-encryption"
    (tmp_path / "m.hex").write_text((vec / "suit-manifest-aes-kw.hex.signed").read_text())
    # as JWKs: "aaaa..." would read as hex text in a raw key file
    (tmp_path / "mac.key").write_text(json.dumps({"kty": "oct", "k": "YWFh" * 10 + "YWE"}))
    (tmp_path / "kek.key").write_text(json.dumps({"kty": "oct", "k": "YWFh" * 5 + "YQ", "kid": "kid-1"}))
    (tmp_path / "payloads").mkdir()
    hexdata = "".join((vec / "encrypted-payload-aes-kw-aes-gcm.hex").read_text().split())
    (tmp_path / "payloads" / "encrypted-firmware").write_bytes(bytes.fromhex(hexdata))
    r = suit(
        "suit",
        "apply",
        "m.hex",
        "--mac",
        "mac.key",
        "--store",
        "store",
        "--payloads",
        "payloads",
        "--decrypt-key",
        "kek.key",
        "--report",
        "r.cbor",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr + r.stdout
    assert FileStore(tmp_path / "store").path_of((b"plaintext-firmware",)).read_bytes() == (
        b"This is a real firmware image."
    )
    r = suit("suit", "report", "show", "r.cbor", cwd=tmp_path)
    assert r.returncode == 0 and "result: ok" in r.stdout and "container: SUIT_Report" in r.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="setting the group of a file needs root (CI runs as root)")
def test_suit4_cli_component_metadata(tmp_path: Path, keys: dict[str, Path]) -> None:
    """A description with update-management §4.6 metadata: create, sign, apply; the file store
    sets the mode, group and mtime (read back by stat(1)) and the output names the metadata."""
    (tmp_path / "payloads").mkdir()
    (tmp_path / "payloads" / "tool").write_bytes(b"#!/bin/sh\necho tool\n")
    (tmp_path / "tool").write_bytes(b"#!/bin/sh\necho tool\n")
    (tmp_path / "m.json").write_text(
        json.dumps(
            {
                "manifest-sequence-number": 1,
                "components": [
                    {
                        "component-id": ["bin", "tool"],
                        "file": "tool",
                        "uri": "https://cdn.example/tool",
                        "metadata": {
                            "default-permissions": "r-x",
                            "group-permissions": {"100": "rwx"},
                            "modification-time": 1767225600,
                        },
                    }
                ],
            }
        )
    )
    for args in (
        ("suit", "create", "m.json", "-o", "m.unsigned"),
        ("suit", "sign", "m.unsigned", "--key", str(keys["oem"]), "-o", "m.suit"),
    ):
        assert suit(*args, cwd=tmp_path).returncode == 0
    apply = ("suit", "apply", "m.suit", "--key", str(keys["oem.pub"]), "--store", "store")
    r = suit(*apply, "--payloads", "payloads", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (
        "action: metadata [h'62696e', h'746f6f6c'] regular, default r-x, group 100 rwx, mtime 1767225600"
        in r.stdout
    )
    path = FileStore(tmp_path / "store").path_of((b"bin", b"tool"))
    st = subprocess.run(["stat", "-c", "%a %g %Y", str(path)], capture_output=True, text=True, check=True)
    assert st.stdout.split() == ["575", "100", "1767225600"]
