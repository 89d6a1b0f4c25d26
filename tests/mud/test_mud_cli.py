"""``iotsec mud`` as a user runs it (subprocesses), and the manager service end to end (root)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mud_https import HttpsServer, Route
from mud_lab import Lab, v4
from mud_pki import manufacturer, openssl_cms_verify

from iotsec.core.mud.discovery import encode_dhcpv4_option

PROFILE = """\
mud-url: {url}
systeminfo: Example thermostat
mfg-name: Example Devices
model-name: thermo-1
ip-versions: [4]
allow:
  - name: cloud
    cloud: cloud.example.com
    proto: tcp
    port: 443
  - name: coap
    cloud: cloud.example.com
    proto: udp
    port: 5683
  - name: display
    same-manufacturer: true
    proto: tcp
    port: 8080
    initiated-by: remote
"""

DISPLAY = """\
mud-url: {url}
systeminfo: Example display
model-name: display-1
ip-versions: [4]
allow:
  - name: thermostats
    same-manufacturer: true
    proto: tcp
    port: 8080
"""


def iotsec(*args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "iotsec", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_mud_cli_create_sign_verify_compile(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(PROFILE.format(url="https://devices.example.com/thermo/v1.json"))
    out = tmp_path / "thermo.json"
    r = iotsec(
        "mud",
        "create",
        str(tmp_path / "p.yaml"),
        "-o",
        str(out),
        "--last-update",
        "2026-11-26T09:00:00+00:00",
    )
    assert r.returncode == 0, r.stderr
    assert "2 ACLs, 6 ACEs" in r.stdout
    r = iotsec("--json", "mud", "validate", str(out))
    assert r.returncode == 0 and json.loads(r.stdout)["aces"] == 6

    ca, signer = manufacturer("Example Devices")
    key, cert = signer.write(tmp_path, "signer")
    (tmp_path / "ca.pem").write_bytes(ca.cert_pem())
    r = iotsec("mud", "sign", str(out), "--key", str(key), "--cert", str(cert))
    assert r.returncode == 0, r.stderr
    r = iotsec("mud", "verify", str(out), "--ca", str(tmp_path / "ca.pem"))
    assert r.returncode == 0 and "signature valid" in r.stdout
    openssl = shutil.which("openssl")
    if openssl:
        o = openssl_cms_verify(tmp_path, "thermo.p7s", "thermo.json", "ca.pem")
        assert o.returncode == 0, o.stderr
    # a changed file and a signature by another manufacturer: exit 1 with the reason
    other_ca, _ = manufacturer("Other")
    (tmp_path / "other.pem").write_bytes(other_ca.cert_pem())
    r = iotsec("mud", "verify", str(out), "--ca", str(tmp_path / "other.pem"))
    assert r.returncode == 1 and "[mud.signature.untrusted]" in r.stderr
    out.write_text(out.read_text().replace("5683", "5684"))
    r = iotsec("mud", "verify", str(out), "--ca", str(tmp_path / "ca.pem"))
    assert r.returncode == 1 and "[mud.signature.digest-mismatch]" in r.stderr

    (tmp_path / "hosts.yaml").write_text("cloud.example.com: [203.0.113.10]\n")
    r = iotsec(
        "mud",
        "compile",
        str(out),
        "--id",
        "thermo1",
        "--ipv4",
        "10.0.0.2",
        "--hosts",
        str(tmp_path / "hosts.yaml"),
    )
    assert r.returncode == 0, r.stderr
    assert (
        "ip daddr 203.0.113.10 meta l4proto tcp tcp dport 443 ct direction original counter return"
        in r.stdout
    )
    assert "mud.compile.unresolved" in r.stderr  # no same-manufacturer device known offline


def test_mud_cli_sign_with_encrypted_key(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(PROFILE.format(url="https://devices.example.com/thermo/v1.json"))
    out = tmp_path / "thermo.json"
    assert iotsec("mud", "create", str(tmp_path / "p.yaml"), "-o", str(out)).returncode == 0
    ca, signer = manufacturer("Example Devices")
    key, cert = signer.write(tmp_path, "signer")
    encrypted = tmp_path / "signer-enc.key"
    # openssl, not the code under test, encrypts the key
    subprocess.run(
        [
            "openssl",
            "pkcs8",
            "-topk8",
            "-in",
            str(key),
            "-out",
            str(encrypted),
            "-passout",
            "pass:s3cret-phrase",
        ],
        check=True,
        capture_output=True,
    )
    (tmp_path / "pass").write_text("s3cret-phrase\n")
    (tmp_path / "wrong").write_text("other\n")
    (tmp_path / "ca.pem").write_bytes(ca.cert_pem())
    sign = ("mud", "sign", str(out), "--key", str(encrypted), "--cert", str(cert))
    r = iotsec(*sign)
    assert r.returncode == 1 and "config.key" in r.stderr
    r = iotsec(*sign, "--passphrase-file", str(tmp_path / "wrong"))
    assert r.returncode == 1 and "wrong passphrase" in r.stderr
    r = iotsec(*sign, "--passphrase-file", str(tmp_path / "pass"))
    assert r.returncode == 0, r.stderr
    assert iotsec("mud", "verify", str(out), "--ca", str(tmp_path / "ca.pem")).returncode == 0


def test_mud_cli_refusals(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text(
        '{"ietf-mud:mud": {"mud-version": 1, "mud-url": "http://x.example/a", '
        '"last-update": "2026-01-01T00:00:00Z", "is-supported": true}}'
    )
    r = iotsec("mud", "validate", str(tmp_path / "bad.json"))
    assert r.returncode == 1 and "[mud.url.not-https]" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "junk.json").write_bytes(b"\x00\x01{")
    r = iotsec("mud", "validate", str(tmp_path / "junk.json"))
    assert r.returncode == 1 and "mud.json" in r.stderr
    r = iotsec(
        "mud", "discover", "--dhcpv4", encode_dhcpv4_option("https://devices.example.com/t.json").hex()
    )
    assert r.returncode == 0 and r.stdout.strip() == "https://devices.example.com/t.json"
    r = iotsec("mud", "discover", "--lldp", "zz")
    assert r.returncode == 1 and "config.hex" in r.stderr


@pytest.mark.netns
def test_mud_manager_service_end_to_end(lab: Lab, server: HttpsServer, tmp_path: Path) -> None:
    """A real manager process: MUD URL -> HTTPS fetch -> signature check -> nft in the router namespace."""
    ca, signer = manufacturer("Example Devices")
    key, cert = signer.write(tmp_path, "signer")
    (tmp_path / "ca.pem").write_bytes(ca.cert_pem())
    thermo_url, display_url = server.url("/thermo.json"), server.url("/display.json")
    for path, url, profile in (
        ("/thermo.json", thermo_url, PROFILE),
        ("/display.json", display_url, DISPLAY),
    ):
        (tmp_path / "p.yaml").write_text(profile.format(url=url))
        f = tmp_path / path.strip("/")
        assert iotsec("mud", "create", str(tmp_path / "p.yaml"), "-o", str(f)).returncode == 0
        assert iotsec("mud", "sign", str(f), "--key", str(key), "--cert", str(cert)).returncode == 0
        server.routes[path] = Route(f.read_bytes())
        server.routes[path[:-5] + ".p7s"] = Route(f.with_suffix(".p7s").read_bytes())
    (tmp_path / "mgr.yaml").write_text(
        json.dumps(
            {
                "netns": lab.router,
                "tls-ca": server.ca_file,
                "trust": {"127.0.0.1": [str(tmp_path / "ca.pem")]},
                "hosts": {"cloud.example.com": [v4("cloud")]},
            }
        )
    )
    events = [
        {"event": "join", "id": "thermo1", "mud-url": thermo_url, "ipv4": [v4("dev")]},
        {"event": "join", "id": "nope", "mud-url": "http://127.0.0.1/x.json", "ipv4": ["10.213.9.9"]},
        {"event": "status"},
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "iotsec", "mud", "manager", "--config", str(tmp_path / "mgr.yaml")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:

        def send(ev: dict[str, object]) -> dict[str, object]:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(json.dumps(ev) + "\n")
            proc.stdin.flush()
            out: dict[str, object] = json.loads(proc.stdout.readline())
            return out

        joined = send(events[0])
        assert joined["ok"] is True, joined
        refused = send(events[1])
        assert refused["ok"] is False and refused["reason"] == "mud.url.not-https"
        assert send(events[2])["devices"] == ["thermo1"]
        assert lab.probe(
            "dev", [("tcp", v4("cloud"), 443), ("udp", v4("cloud"), 5683), ("tcp", v4("bad"), 443)]
        ) == [True, True, False]
        assert lab.probe("peer", [("tcp", v4("dev"), 8080)]) == [False]  # the peer is not known yet
        # the display (same manufacturer) joins: the thermostat's policy is recompiled to admit it
        # malformed events are answered, the service keeps running
        for bad in (
            {"event": "join", "id": "x", "ipv4": 5, "mud-url": thermo_url},
            {"event": "dance"},
            {"event": "join", "id": "y", "dhcpv4": "zz", "ipv4": ["10.213.9.9"]},
        ):
            answer = send(bad)
            assert answer["ok"] is False and str(answer["reason"]).startswith("mud."), answer
        # the display announces its MUD URL in DHCPv4 option 161 (hex as a DHCP hook passes it)
        option = encode_dhcpv4_option(display_url).hex()
        assert send({"event": "join", "id": "display1", "dhcpv4": option, "ipv4": [v4("peer")]})["ok"] is True
        # both policies must allow a flow between two MUD devices: the display may open 8080 to
        # the thermostat, but nothing else (its own policy), and the thermostat cannot open it back
        assert lab.probe("peer", [("tcp", v4("dev"), 8080), ("tcp", v4("cloud"), 443)]) == [True, False]
        assert lab.probe("dev", [("tcp", v4("peer"), 8080)]) == [False]
        assert send({"event": "leave", "id": "thermo1"})["ok"] is True
        assert lab.probe("dev", [("tcp", v4("bad"), 443)]) == [True]
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
        for s in (proc.stdout, proc.stderr):
            if s is not None:
                s.close()
    # closing stdin stops the service and removes what it installed
    assert proc.returncode == 0
    assert "iotsec_mud" not in lab.nft_ruleset()

    # the same file applied and removed by hand with the CLI
    (tmp_path / "hosts.yaml").write_text(f"cloud.example.com: [{v4('cloud')}]\n")
    r = iotsec(
        "mud",
        "apply",
        str(tmp_path / "thermo.json"),
        "--id",
        "thermo1",
        "--ipv4",
        v4("dev"),
        "--hosts",
        str(tmp_path / "hosts.yaml"),
        "--netns",
        lab.router,
        "--signature",
        str(tmp_path / "thermo.p7s"),
        "--ca",
        str(tmp_path / "ca.pem"),
    )
    assert r.returncode == 0, r.stderr
    assert lab.probe("dev", [("tcp", v4("cloud"), 443), ("tcp", v4("bad"), 443)]) == [True, False]
    r = iotsec("mud", "remove", "--id", "thermo1", "--netns", lab.router)
    assert r.returncode == 0, r.stderr
    assert lab.probe("dev", [("tcp", v4("bad"), 443)]) == [True]
    r = iotsec("mud", "remove", "--id", "thermo1", "--netns", lab.router)
    assert r.returncode == 1 and "[mud.device.unknown]" in r.stderr
