"""``iotsec demo``: the end-to-end flow, run as a user would run it.

Every step is a real ``iotsec`` command in a subprocess (printed before it runs, so the output is
also a tutorial), against real servers started on loopback with TLS: the EST enrollment server
and the attestation verifier, both storing in SQLite under the demo directory. The flow follows
the threat model's six questions:

1. how should the device connect (CA, IDevID at manufacture, EST enrollment -> LDevID);
2. with which systems should it communicate (a signed MUD file, its URL in the IDevID, compiled
   to nftables rules);
3. where do its software and policies come from / how does it trust an update (a signed SUIT
   manifest, processed into an atomic component store; a replay is refused);
4. what software is it running (EAT evidence -> verifier with CoRIM reference values -> signed
   EAR -> relying-party decision; a tampered component is caught).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import click

RULE = "-" * 78


class DemoFailure(Exception):
    pass


class Demo:
    def __init__(self, workdir: Path, verbose: bool) -> None:
        self.dir = workdir
        self.verbose = verbose
        self.env = {**os.environ, "IOTSEC_HOME": str(workdir / "home"), "PYTHONUNBUFFERED": "1"}
        self.servers: list[subprocess.Popen[bytes]] = []
        self.results: list[tuple[str, str]] = []
        self.device = Path()  # the manufactured device that the demo follows (relative path)
        self.other = Path()  # a second device

    # -- running commands ----------------------------------------------------------------------
    def iotsec(self, command: str, expect: int = 0, show: int = 12) -> str:
        """Run ``iotsec COMMAND`` (shell words) in the demo directory; fail unless it exits ``expect``."""
        args = shlex.split(command)
        click.echo(click.style("$ iotsec " + shlex.join(args), fg="cyan"))
        proc = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
            [sys.executable, "-m", "iotsec", *args],
            cwd=self.dir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        out = (proc.stdout + proc.stderr).rstrip()
        lines = out.splitlines()
        limit = len(lines) if self.verbose else show
        for line in lines[:limit]:
            click.echo("  " + line)
        if len(lines) > limit:
            click.echo(f"  ... ({len(lines) - limit} more lines)")
        if proc.returncode != expect:
            raise DemoFailure(f"`iotsec {shlex.join(args)}` exited {proc.returncode}, expected {expect}")
        if expect:
            click.echo(click.style(f"  (exit {proc.returncode}, as expected: refused)", fg="yellow"))
        return proc.stdout

    def serve(self, name: str, command: str, port: int) -> None:
        args = shlex.split(command)
        click.echo(click.style(f"$ iotsec {shlex.join(args)} &", fg="cyan"))
        log = (self.dir / f"{name}.log").open("wb")
        proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "iotsec", *args],
            cwd=self.dir,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.servers.append(proc)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise DemoFailure(f"{name} exited early; see {self.dir / (name + '.log')}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                click.echo(f"  {name} listening on https://127.0.0.1:{port} (log: {name}.log)")
                return
            time.sleep(0.2)
        raise DemoFailure(f"{name} did not start listening on port {port}")

    def stop_servers(self) -> None:
        for proc in self.servers:
            proc.terminate()
        for proc in self.servers:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def write(self, name: str, text: str | bytes, mode: int = 0o644) -> Path:
        path = self.dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, str):
            path.write_text(text)
        else:
            path.write_bytes(text)
        path.chmod(mode)
        return path

    def section(self, title: str) -> None:
        click.echo("\n" + click.style(RULE, fg="blue"))
        click.echo(click.style(title, bold=True))
        click.echo(click.style(RULE, fg="blue"))

    def ok(self, question: str, answer: str) -> None:
        self.results.append((question, answer))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running(demo: Demo) -> Iterator[Demo]:
    try:
        yield demo
    finally:
        demo.stop_servers()


def run_demo(d: Demo) -> None:
    onboarding(d)
    mud(d)
    firmware = suit(d)
    attestation(d, firmware)


CA = "--ca-dir ca --passphrase-file ca.pass"
MUD_URL = "https://mud.demo-devices.example/thermo-1.json"


def onboarding(d: Demo) -> None:
    d.section("1. How should my device connect to a network?  CA, IDevID, EST enrollment (RFC 7030)")
    d.write("ca.pass", secrets.token_urlsafe(24) + "\n", 0o600)  # a fresh passphrase, never a default
    d.iotsec(f"ca init {CA} --name 'Demo Devices'")
    d.iotsec(
        f"ca server {CA} --dns localhost --ip 127.0.0.1 --cert-out tls/server.pem --key-out tls/server.key"
    )
    d.iotsec(f"ca manufacture {CA} --count 3 --model thermo-1 --mud-url {MUD_URL} --out factory")
    devices = sorted(p for p in (d.dir / "factory").iterdir() if p.is_dir())
    if len(devices) != 3:
        raise DemoFailure(f"expected 3 manufactured devices, found {len(devices)}")
    distinct = len({(p / "bootstrap-secret").read_bytes() for p in devices}) == 3
    click.echo(f"  3 devices, each with its own key and one-time bootstrap secret (distinct: {distinct})")
    d.device, d.other = (p.relative_to(d.dir) for p in devices[:2])

    port = free_port()
    d.serve(
        "est-server", f"est serve {CA} --tls-cert tls/server.pem --tls-key tls/server.key --port {port}", port
    )
    est = f"--url https://127.0.0.1:{port} --trust ca/root-g1.pem"
    d.iotsec(f"est cacerts {est} --out device/cacerts.pem")
    d.iotsec(
        f"est enroll {est} --cert {d.device}/idevid.pem --key {d.device}/idevid.key"
        " --cert-out device/ldevid.pem --key-out device/ldevid.key"
    )
    click.echo("  another device's IDevID cannot re-enroll (only the current LDevID may):")
    d.iotsec(
        f"est reenroll {est} --cert {d.other}/idevid.pem --key {d.other}/idevid.key"
        " --cert-out device/stolen.pem --key-out device/stolen.key",
        expect=1,
    )
    d.ok("How should my device connect?", f"IDevID {d.device.name[:8]}... -> LDevID over EST, TLS 1.3")


def mud(d: Demo) -> None:
    d.section("2. With which systems should it communicate?  MUD (RFC 8520), signed, compiled to nftables")
    d.write(
        "mud/thermo-1.yaml",
        f"""mud-url: {MUD_URL}
systeminfo: Demo thermostat
mfg-name: Demo Devices
model-name: thermo-1
ip-versions: [4]
allow:
  - name: cloud
    cloud: cloud.demo-devices.example
    proto: tcp
    port: 443
  - name: dns
    controller: urn:ietf:params:mud:dns
    proto: udp
    port: 53
""",
    )
    d.iotsec("mud create mud/thermo-1.yaml -o mud/thermo-1.json")
    signer = "--cert-out mud/signer.pem --key-out mud/signer.key"
    d.iotsec(f"ca server {CA} --dns mud-signer.demo-devices.example {signer}")
    d.iotsec(
        "mud sign mud/thermo-1.json --key mud/signer.key --cert mud/signer.pem"
        " --chain ca/issuing-g1.pem --passphrase-file ca.pass"
    )
    d.iotsec("mud verify mud/thermo-1.json --ca ca/root-g1.pem --intermediate ca/issuing-g1.pem")
    click.echo("  the MUD URL travels in the device's IDevID (RFC 8520 §11):")
    d.iotsec(f"mud discover --cert {d.device}/idevid.pem")
    d.write("mud/hosts.yaml", "cloud.demo-devices.example: [192.0.2.10]\n")
    d.iotsec(
        "mud compile mud/thermo-1.json --id thermo1 --ipv4 10.99.0.2 --hosts mud/hosts.yaml"
        " --controller urn:ietf:params:mud:dns=10.99.0.1 -o mud/thermo1.nft"
    )
    text = (d.dir / "mud/thermo1.nft").read_text()
    rules = [r for r in text.splitlines() if "rule" in r and "d_thermo1" in r]
    click.echo("  the device's chains (default deny; `iotsec mud apply` loads them in one atomic nft -f):")
    click.echo("  " + "\n  ".join(rules))
    d.ok("With which systems should it communicate?", "signed MUD file -> per-device nftables policy")


def suit(d: Demo) -> bytes:
    d.section("3. Where does its software come from, and how does it trust an update?  SUIT manifest")
    d.iotsec("cose keygen --alg ES256 -o keys/author.pem --public keys/author.pub.pem")
    firmware = b"thermo-1 firmware 2.0\n" + bytes(range(256)) * 64
    d.write("build/app.bin", firmware)
    d.write(
        "build/update.yaml",
        """manifest-sequence-number: 2
components:
  - component-id: [app.bin]
    vendor-domain: demo-devices.example
    model-info: thermo-1
    file: app.bin
    uri: https://updates.demo-devices.example/app.bin
    bootable: true
""",
    )
    d.iotsec("suit create build/update.yaml -o build/unsigned.suit")
    d.iotsec("suit sign build/unsigned.suit --key keys/author.pem -o build/update.suit")
    d.iotsec("suit verify build/update.suit --key keys/author.pub.pem")
    d.write("payloads/app.bin", firmware)
    identity = {"vendor-domain": "demo-devices.example", "model-info": ["thermo-1"]}
    d.write("device/store/identity.json", json.dumps(identity))
    process = "--key keys/author.pub.pem --store device/store --payloads payloads"
    d.iotsec(f"suit process build/update.suit {process}", show=6)
    installed = d.dir / "device/store/current/components/app.bin"
    if hashlib.sha256(installed.read_bytes()).digest() != hashlib.sha256(firmware).digest():
        raise DemoFailure("installed component differs from the signed image")
    click.echo("  replaying the same manifest (anti-rollback):")
    d.iotsec(f"suit process build/update.suit {process}", expect=1)
    click.echo("  a manifest signed by someone else:")
    d.iotsec("cose keygen --alg ES256 -o keys/intruder.pem")
    d.iotsec("suit sign build/unsigned.suit --key keys/intruder.pem -o build/forged.suit")
    d.iotsec(f"suit process build/forged.suit {process}", expect=1)
    d.ok(
        "How should my device trust updates?", "signed SUIT manifest, atomic install; replay, forgery refused"
    )
    return firmware


def attestation(d: Demo, firmware: bytes) -> None:
    d.section("4. What software is my device running?  EAT evidence -> verifier (CoRIM) -> signed EAR")
    d.iotsec("cose keygen --alg ES256 -o device/attest.pem --public device/attest.pub.pem")
    d.iotsec("cose keygen --alg ES256 -o keys/ear.pem --public keys/ear.pub.pem")
    ueid = "01" + d.device.name.replace("-", "")  # RFC 9711 §4.2.1: type 0x01 (RAND), the device UUID
    digest = hashlib.sha256(firmware).hexdigest()
    d.write(
        "verifier/corim.yaml",
        f"""id: demo-devices-rims
tags:
  - id: thermo-1-comid
    reference-values:
      - environment:
          class: {{vendor: Demo Devices, model: thermo-1}}
          instance: {{ueid: "{ueid}"}}
        measurements:
          - {{name: app, digests: ["sha-256:{digest}"]}}
    attestation-keys:
      - environment:
          instance: {{ueid: "{ueid}"}}
        keys: [../device/attest.pub.pem]
""",
    )
    d.iotsec("corim create verifier/corim.yaml -o verifier/corim.cbor")
    d.write("verifier/prov.token", secrets.token_urlsafe(24) + "\n", 0o600)
    port = free_port()
    d.serve(
        "verifier",
        "verifier serve --ear-key keys/ear.pem --cert tls/server.pem --key tls/server.key"
        f" --passphrase-file ca.pass --port {port} --provisioning-token-file verifier/prov.token"
        f" --db sqlite:///{d.dir / 'verifier.db'}",
        port,
    )
    url = f"--url https://127.0.0.1:{port} --cacert ca/root-g1.pem"
    d.iotsec(f"verifier provision verifier/corim.cbor {url} --token-file verifier/prov.token")
    attest = f"eat attest {url} --key device/attest.pem --ueid {ueid} --software thermo-os/2.0"
    d.iotsec(f"{attest} --component app=device/store/current/components/app.bin -o device/ear.jwt", show=3)
    d.iotsec("ear verify device/ear.jwt --key keys/ear.pub.pem", show=3)
    click.echo("  an attacker modifies the installed application:")
    (d.dir / "device/tampered-app.bin").write_bytes(firmware + b"\x90backdoor")
    d.iotsec(f"{attest} --component app=device/tampered-app.bin -o device/ear-tampered.jwt", show=3)
    d.iotsec("ear verify device/ear-tampered.jwt --key keys/ear.pub.pem", expect=1)
    d.ok(
        "What software is my device running?", "EAT vs CoRIM: affirming; a tampered image is contraindicated"
    )


@click.command()
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-out"),
    show_default=True,
    help="Directory for everything the demo makes (emptied first).",
)
@click.option("-v", "--verbose", is_flag=True, help="Show every output line of every command.")
def demo(workdir: Path, verbose: bool) -> None:
    """Run the end-to-end demo: onboarding, MUD, a signed update, attestation (real servers, TLS)."""
    workdir = workdir.resolve()
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, mode=0o700)
    for sub in ("tls", "device", "keys", "mud", "build", "payloads", "verifier"):
        (workdir / sub).mkdir(mode=0o700)
    d = Demo(workdir, verbose)
    try:
        with running(d):
            run_demo(d)
    except DemoFailure as exc:
        click.echo(click.style(f"\ndemo FAILED: {exc}", fg="red"), err=True)
        raise SystemExit(1) from exc
    d.section("Summary")
    for question, answer in d.results:
        click.echo(f"  {click.style('OK', fg='green')}  {question:<44} {answer}")
    click.echo(f"\neverything the demo made is in {workdir}")
