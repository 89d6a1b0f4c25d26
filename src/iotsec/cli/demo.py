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

    # -- running commands ----------------------------------------------------------------------
    def iotsec(self, *args: str, expect: int = 0, show: int = 12) -> str:
        """Run ``iotsec ARGS`` in the demo directory; fail the demo unless it exits with ``expect``."""
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

    def serve(self, name: str, *args: str, port: int) -> None:
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
    # ---------------------------------------------------------------- 1. identity and onboarding
    d.section("1. How should my device connect to a network?  CA, IDevID, EST enrollment (RFC 7030)")
    d.write("ca.pass", secrets.token_urlsafe(24) + "\n", 0o600)  # a fresh passphrase, never a default
    d.iotsec("ca", "init", "--ca-dir", "ca", "--passphrase-file", "ca.pass", "--name", "Demo Devices")
    d.iotsec(
        "ca", "server", "--ca-dir", "ca", "--passphrase-file", "ca.pass",
        "--dns", "localhost", "--ip", "127.0.0.1", "--cert-out", "tls/server.pem", "--key-out", "tls/server.key",
    )  # fmt: skip
    mud_url = "https://mud.demo-devices.example/thermo-1.json"
    d.iotsec(
        "ca", "manufacture", "--ca-dir", "ca", "--passphrase-file", "ca.pass",
        "--count", "3", "--model", "thermo-1", "--mud-url", mud_url, "--out", "factory",
    )  # fmt: skip
    devices = sorted(p for p in (d.dir / "factory").iterdir() if p.is_dir())
    if len(devices) != 3:
        raise DemoFailure(f"expected 3 manufactured devices, found {len(devices)}")
    dev = devices[0]
    dev_rel = dev.relative_to(d.dir)
    secrets_seen = {(p / "bootstrap-secret").read_bytes() for p in devices}
    click.echo(f"  3 devices, 3 distinct bootstrap secrets: {len(secrets_seen) == 3}")

    est_port = free_port()
    d.serve(
        "est-server", "est", "serve", "--ca-dir", "ca", "--passphrase-file", "ca.pass",
        "--tls-cert", "tls/server.pem", "--tls-key", "tls/server.key", "--port", str(est_port),
        port=est_port,
    )  # fmt: skip
    est_url = f"https://127.0.0.1:{est_port}"
    d.iotsec("est", "cacerts", "--url", est_url, "--trust", "ca/root-g1.pem", "--out", "device/cacerts.pem")
    d.iotsec(
        "est", "enroll", "--url", est_url, "--trust", "ca/root-g1.pem",
        "--cert", f"{dev_rel}/idevid.pem", "--key", f"{dev_rel}/idevid.key",
        "--cert-out", "device/ldevid.pem", "--key-out", "device/ldevid.key",
    )  # fmt: skip
    other = devices[1].relative_to(d.dir)
    d.iotsec(
        "est", "reenroll", "--url", est_url, "--trust", "ca/root-g1.pem",
        "--cert", f"{other}/idevid.pem", "--key", f"{other}/idevid.key",
        "--cert-out", "device/stolen.pem", "--key-out", "device/stolen.key",
        expect=1,
    )  # fmt: skip
    d.ok("How should my device connect?", f"IDevID {dev.name[:8]}... enrolled over EST/TLS 1.3 -> LDevID")

    # ---------------------------------------------------------------- 2. MUD
    d.section("2. With which systems should it communicate?  MUD (RFC 8520), signed, compiled to nftables")
    d.write(
        "mud/thermo-1.yaml",
        f"""mud-url: {mud_url}
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
    d.iotsec("mud", "create", "mud/thermo-1.yaml", "-o", "mud/thermo-1.json")
    d.iotsec(
        "ca", "server", "--ca-dir", "ca", "--passphrase-file", "ca.pass",
        "--dns", "mud-signer.demo-devices.example", "--cert-out", "mud/signer.pem", "--key-out", "mud/signer.key",
    )  # fmt: skip
    d.iotsec("mud", "discover", "--cert", f"{dev_rel}/idevid.pem")
    d.write("mud/hosts.yaml", "cloud.demo-devices.example: [192.0.2.10]\n")
    d.iotsec(
        "mud", "compile", "mud/thermo-1.json", "--id", "thermo1", "--ipv4", "10.99.0.2",
        "--hosts", "mud/hosts.yaml", "--controller", "urn:ietf:params:mud:dns=10.99.0.1",
        "-o", "mud/thermo1.nft",
    )  # fmt: skip
    rules = (d.dir / "mud/thermo1.nft").read_text()
    click.echo("  " + "\n  ".join(rules.splitlines()[:14]) + "\n  ...")
    d.ok("With which systems should it communicate?", "MUD URL from its IDevID -> per-device nftables policy")

    # ---------------------------------------------------------------- 3. SUIT
    d.section("3. Where does its software come from, and how does it trust an update?  SUIT manifest")
    d.iotsec("cose", "keygen", "--alg", "ES256", "-o", "keys/author.pem", "--public", "keys/author.pub.pem")
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
    d.iotsec("suit", "create", "build/update.yaml", "-o", "build/unsigned.suit")
    d.iotsec("suit", "sign", "build/unsigned.suit", "--key", "keys/author.pem", "-o", "build/update.suit")
    d.iotsec("suit", "verify", "build/update.suit", "--key", "keys/author.pub.pem")
    d.write("payloads/app.bin", firmware)
    d.write("device/store/identity.json", json.dumps({"vendor-domain": "demo-devices.example", "model-info": ["thermo-1"]}))
    d.iotsec(
        "suit", "process", "build/update.suit", "--key", "keys/author.pub.pem",
        "--store", "device/store", "--payloads", "payloads", show=6,
    )  # fmt: skip
    installed = d.dir / "device/store/current/components/app.bin"
    if hashlib.sha256(installed.read_bytes()).digest() != hashlib.sha256(firmware).digest():
        raise DemoFailure("installed component differs from the signed image")
    click.echo("  replaying the same manifest (anti-rollback):")
    d.iotsec(
        "suit", "process", "build/update.suit", "--key", "keys/author.pub.pem",
        "--store", "device/store", "--payloads", "payloads", expect=1,
    )  # fmt: skip
    d.iotsec("cose", "keygen", "--alg", "ES256", "-o", "keys/intruder.pem")
    d.iotsec("suit", "sign", "build/unsigned.suit", "--key", "keys/intruder.pem", "-o", "build/forged.suit")
    d.iotsec(
        "suit", "process", "build/forged.suit", "--key", "keys/author.pub.pem",
        "--store", "device/store", "--payloads", "payloads", expect=1,
    )  # fmt: skip
    d.ok("How should my device trust updates?", "signed SUIT manifest installed atomically; replay and forgery refused")

    # ---------------------------------------------------------------- 4. RATS
    d.section("4. What software is my device running?  EAT evidence -> verifier (CoRIM) -> signed EAR")
    d.iotsec("cose", "keygen", "--alg", "ES256", "-o", "device/attest.pem", "--public", "device/attest.pub.pem")
    d.iotsec("cose", "keygen", "--alg", "ES256", "-o", "keys/ear.pem", "--public", "keys/ear.pub.pem")
    ueid = "01" + dev.name.replace("-", "")  # RFC 9711 §4.2.1: type 0x01 (RAND) + the device's UUID
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
    d.iotsec("corim", "create", "verifier/corim.yaml", "-o", "verifier/corim.cbor")
    d.write("verifier/prov.token", secrets.token_urlsafe(24) + "\n", 0o600)
    v_port = free_port()
    d.serve(
        "verifier", "verifier", "serve", "--ear-key", "keys/ear.pem", "--cert", "tls/server.pem",
        "--key", "tls/server.key", "--key-passphrase-file", "ca.pass", "--port", str(v_port),
        "--provisioning-token-file", "verifier/prov.token", "--db", f"sqlite:///{d.dir / 'verifier.db'}",
        port=v_port,
    )  # fmt: skip
    v_url = f"https://127.0.0.1:{v_port}"
    d.iotsec(
        "verifier", "provision", "verifier/corim.cbor", "--url", v_url,
        "--token-file", "verifier/prov.token", "--cacert", "ca/root-g1.pem",
    )  # fmt: skip
    attest = (
        "eat", "attest", "--url", v_url, "--cacert", "ca/root-g1.pem", "--key", "device/attest.pem",
        "--ueid", ueid, "--component", "app=device/store/current/components/app.bin",
        "--software", "thermo-os/2.0",
    )  # fmt: skip
    d.iotsec(*attest, "-o", "device/ear.jwt", show=8)
    d.iotsec("ear", "verify", "device/ear.jwt", "--key", "keys/ear.pub.pem")
    click.echo("  an attacker modifies the installed application:")
    tampered = d.dir / "device/tampered-app.bin"
    tampered.write_bytes(firmware + b"\x90backdoor")
    d.iotsec(*attest[:-4], "--component", "app=device/tampered-app.bin", "--software", "thermo-os/2.0",
             "-o", "device/ear-tampered.jwt", show=8)  # fmt: skip
    d.iotsec("ear", "verify", "device/ear-tampered.jwt", "--key", "keys/ear.pub.pem", expect=1)
    d.ok("What software is my device running?", "EAT appraised against CoRIM: affirming; tampered image contraindicated")


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
