"""``iotsec mud``: build, sign, verify, compile and enforce MUD files (RFC 8520)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from iotsec.adapters.mud_fetch import HttpsFetcher, SystemResolver
from iotsec.adapters.nftables import Nftables
from iotsec.clock import SystemClock
from iotsec.core.mud import discovery
from iotsec.core.mud.builder import build_mud, load_profile
from iotsec.core.mud.compiler import Device, Environment, Resolver, StaticResolver, compile_policy
from iotsec.core.mud.nft import render_ruleset
from iotsec.core.mud.parser import parse_mud
from iotsec.core.mud.serialize import to_json
from iotsec.core.mud.signature import SigningKey, sign_mud, verify_mud_signature
from iotsec.core.mud.url import authority
from iotsec.errors import ConfigError, IotSecError
from iotsec.services.mud_manager import ManagerConfig, MudManager


def _json(ctx: click.Context) -> bool:
    return bool(ctx.obj and ctx.obj.get("json"))


def _certs(paths: Sequence[str]) -> list[x509.Certificate]:
    out: list[x509.Certificate] = []
    for p in paths:
        try:
            out.extend(x509.load_pem_x509_certificates(Path(p).read_bytes()))
        except (ValueError, x509.InvalidVersion) as err:
            raise ConfigError(f"{p}: not a PEM certificate", reason="config.cert") from err
    return out


@click.group("mud")
def group() -> None:
    """Manufacturer Usage Descriptions (RFC 8520): files, signatures, enforcement."""


@group.command("create")
@click.argument("profile", type=click.Path(dir_okay=False, exists=True))
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help="MUD file to write.")
@click.option("--last-update", help="RFC 3339 timestamp for last-update (default: now).")
def create(profile: str, output: str, last_update: str | None) -> None:
    """Build a MUD file from a YAML device PROFILE."""
    ts = last_update or SystemClock().now().replace(microsecond=0).isoformat()
    mud = build_mud(load_profile(Path(profile).read_bytes()), last_update=ts)
    Path(output).write_bytes(to_json(mud))
    click.echo(f"wrote {output}: {len(mud.acls)} ACLs, {mud.ace_count()} ACEs for {mud.mud_url}")


@group.command("validate")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@click.option("--lenient", is_flag=True, help="Accept pre-RFC key names (reported as findings).")
@click.pass_context
def validate(ctx: click.Context, file: str, lenient: bool) -> None:
    """Parse and validate a MUD FILE (strict by default)."""
    doc = parse_mud(Path(file).read_bytes(), lenient=lenient)
    m = doc.mud
    info = {
        "mud-url": m.mud_url,
        "acls": len(m.acls),
        "aces": m.ace_count(),
        "from-device": list(m.from_device),
        "to-device": list(m.to_device),
        "findings": [{"id": f.id, "message": f.message, "path": f.path} for f in doc.findings],
    }
    if _json(ctx):
        click.echo(json.dumps(info))
        return
    click.echo(f"valid: {m.mud_url} ({len(m.acls)} ACLs, {m.ace_count()} ACEs)")
    for f in doc.findings:
        click.echo(f"  {f.severity}: {f.id}: {f.message} (at {f.path})")


@group.command("sign")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@click.option("--key", "key_path", type=click.Path(dir_okay=False, exists=True), required=True)
@click.option("--cert", "cert_path", type=click.Path(dir_okay=False, exists=True), required=True)
@click.option(
    "--chain", multiple=True, type=click.Path(dir_okay=False, exists=True), help="Intermediate certs."
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Default: FILE with .p7s.")
@click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False, exists=True),
    help="File whose first line is the passphrase of an encrypted --key.",
)
def sign(  # noqa: PLR0917 - click passes options as arguments
    file: str,
    key_path: str,
    cert_path: str,
    chain: tuple[str, ...],
    output: str | None,
    passphrase_file: str | None,
) -> None:
    """Sign FILE: detached CMS SignedData in DER (RFC 8520 §13)."""
    password = Path(passphrase_file).read_bytes().splitlines()[0] if passphrase_file else None
    try:
        key = load_pem_private_key(Path(key_path).read_bytes(), password=password or None)
    except (ValueError, TypeError) as err:
        hint = "wrong passphrase or not a PEM key" if password else "not an unencrypted PEM private key"
        raise ConfigError(f"{key_path}: {hint}", reason="config.key") from err
    certs = _certs([cert_path])
    content = Path(file).read_bytes()
    parse_mud(content)  # only sign what is a valid MUD file
    if not isinstance(key, SigningKey):
        raise ConfigError("key must be EC, RSA or Ed25519", reason="config.key")
    sig = sign_mud(content, key, certs[0], now=SystemClock().now(), chain=_certs(chain))
    out = Path(output) if output else Path(file).with_suffix(".p7s")
    out.write_bytes(sig)
    click.echo(f"wrote {out} ({len(sig)} bytes)")


@group.command("verify")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@click.argument("signature", type=click.Path(dir_okay=False, exists=True), required=False)
@click.option(
    "--ca",
    multiple=True,
    required=True,
    type=click.Path(dir_okay=False, exists=True),
    help="The manufacturer's trust anchor(s).",
)
@click.option("--intermediate", multiple=True, type=click.Path(dir_okay=False, exists=True))
@click.pass_context
def verify(
    ctx: click.Context, file: str, signature: str | None, ca: tuple[str, ...], intermediate: tuple[str, ...]
) -> None:
    """Verify FILE against its detached SIGNATURE (default: FILE with .p7s)."""
    content = Path(file).read_bytes()
    sig_path = Path(signature) if signature else Path(file).with_suffix(".p7s")
    signer = verify_mud_signature(
        content,
        sig_path.read_bytes(),
        trust_anchors=_certs(ca),
        intermediates=_certs(intermediate),
        now=SystemClock().now(),
    )
    mud = parse_mud(content).mud
    if _json(ctx):
        click.echo(
            json.dumps({"valid": True, "signer": signer.subject.rfc4514_string(), "mud-url": mud.mud_url})
        )
    else:
        click.echo(f"signature valid: {mud.mud_url} signed by {signer.subject.rfc4514_string()}")


def _device_options(f: Any) -> Any:
    opts = [
        click.option("--id", "device_id", required=True, help="Device id (letters, digits, - and _)."),
        click.option("--ipv4", multiple=True, help="Device IPv4 address."),
        click.option("--ipv6", multiple=True, help="Device IPv6 address."),
        click.option(
            "--hosts",
            type=click.Path(dir_okay=False, exists=True),
            help="YAML name -> [addresses] used instead of DNS.",
        ),
        click.option("--local-network", multiple=True, help="Prefix for local-networks."),
        click.option("--controller", multiple=True, help="URI=ADDRESS for controller classes."),
        click.option("--my-controller", multiple=True, help="Address of this device's controller."),
        click.option("--lenient", is_flag=True),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _resolver(hosts: str | None) -> Resolver:
    if not hosts:
        return SystemResolver()
    data = yaml.safe_load(Path(hosts).read_text())
    if not isinstance(data, dict):
        raise ConfigError("hosts file must map names to address lists", reason="config.hosts")
    return StaticResolver(
        {str(k).lower(): [str(a) for a in (v if isinstance(v, list) else [v])] for k, v in data.items()}
    )


def _controllers(items: Sequence[str]) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for item in items:
        uri, sep, addr = item.rpartition("=")
        if not sep or not uri:
            raise ConfigError(f"--controller wants URI=ADDRESS, got {item!r}", reason="config.controller")
        out.setdefault(uri, []).append(addr)
    return {k: tuple(v) for k, v in out.items()}


def _policy(
    file: str,
    *,
    device_id: str,
    ipv4: tuple[str, ...],
    ipv6: tuple[str, ...],
    hosts: str | None,
    local_network: tuple[str, ...],
    controller: tuple[str, ...],
    my_controller: tuple[str, ...],
    lenient: bool,
) -> Any:
    doc = parse_mud(Path(file).read_bytes(), lenient=lenient)
    mud = doc.mud
    dev = Device(device_id, mud.mud_url, ipv4=ipv4, ipv6=ipv6)
    env = Environment(
        local_networks=local_network,
        controllers=_controllers(controller),
        my_controllers={mud.mud_url: my_controller} if my_controller else {},
    )
    pol = compile_policy(mud, dev, env, _resolver(hosts))
    for f in (*doc.findings, *pol.findings):
        click.echo(f"{f.severity}: {f.id}: {f.message} (at {f.path})", err=True)
    return pol


@group.command("compile")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@_device_options
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the nft ruleset here.")
def compile_cmd(file: str, output: str | None, **kw: Any) -> None:
    """Compile FILE for one device into an nftables ruleset (printed or written, not applied)."""
    text = render_ruleset(_policy(file, **kw))
    if output:
        Path(output).write_text(text)
        click.echo(f"wrote {output}")
    else:
        click.echo(text, nl=False)


@group.command("apply")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@_device_options
@click.option("--netns", help="Apply inside this network namespace.")
@click.option(
    "--signature", type=click.Path(dir_okay=False, exists=True), help="Verify this signature first."
)
@click.option("--ca", multiple=True, type=click.Path(dir_okay=False, exists=True))
def apply(file: str, netns: str | None, signature: str | None, ca: tuple[str, ...], **kw: Any) -> None:
    """Compile FILE for a device and apply it atomically with nft."""
    if signature:
        verify_mud_signature(
            Path(file).read_bytes(),
            Path(signature).read_bytes(),
            trust_anchors=_certs(ca),
            now=SystemClock().now(),
        )
    pol = _policy(file, **kw)
    Nftables(netns=netns).apply(pol)
    click.echo(f"applied {len(pol.intents)} rules for device {pol.device.id}")


@group.command("remove")
@click.option("--id", "device_id", required=True)
@click.option("--netns", help="Inside this network namespace.")
def remove(device_id: str, netns: str | None) -> None:
    """Remove a device's MUD rules."""
    Nftables(netns=netns).remove_id(device_id)
    click.echo(f"removed device {device_id}")


@group.command("discover")
@click.option("--dhcpv4", help="Hex of DHCPv4 option 161 (code, length, URL).")
@click.option("--dhcpv6", help="Hex of DHCPv6 option 112.")
@click.option("--lldp", help="Hex of the LLDP MUD TLV.")
@click.option("--cert", type=click.Path(dir_okay=False, exists=True), help="Device certificate (PEM).")
def discover(dhcpv4: str | None, dhcpv6: str | None, lldp: str | None, cert: str | None) -> None:
    """Extract a MUD URL from DHCP, LLDP or certificate bytes."""
    try:
        if dhcpv4:
            url: str | None = discovery.parse_dhcpv4_option(bytes.fromhex(dhcpv4))
        elif dhcpv6:
            url = discovery.parse_dhcpv6_option(bytes.fromhex(dhcpv6))
        elif lldp:
            url = discovery.parse_lldp_tlv(bytes.fromhex(lldp))
        elif cert:
            url = discovery.mud_url_from_certificate(_certs([cert])[0])
        else:
            raise click.UsageError("give one of --dhcpv4, --dhcpv6, --lldp, --cert")
    except ValueError as err:
        raise ConfigError(f"not hex: {err}", reason="config.hex") from err
    if url is None:
        raise IotSecError("no MUD URL found", reason="mud.discovery.none")
    click.echo(url)


def _manager(cfg_path: str) -> tuple[MudManager, Nftables]:
    cfg = yaml.safe_load(Path(cfg_path).read_text()) or {}
    if not isinstance(cfg, dict):
        raise ConfigError("manager config must be a mapping", reason="config.manager")
    trust = {
        str(k).lower(): _certs(v if isinstance(v, list) else [v]) for k, v in (cfg.get("trust") or {}).items()
    }
    env = Environment(
        local_networks=tuple(cfg.get("local-networks") or ()),
        controllers={k: tuple(v) for k, v in (cfg.get("controllers") or {}).items()},
        my_controllers={k: tuple(v) for k, v in (cfg.get("my-controllers") or {}).items()},
    )
    fetch = cfg.get("fetch") or {}
    fetcher = HttpsFetcher(
        ca_file=cfg.get("tls-ca"),
        timeout=float(fetch.get("timeout", 10)),
        max_bytes=int(fetch.get("max-bytes", 1024 * 1024)),
        max_redirects=int(fetch.get("max-redirects", 3)),
    )
    hosts = cfg.get("hosts")
    resolver: Resolver = (
        StaticResolver({str(k).lower(): list(v) for k, v in hosts.items()}) if hosts else SystemResolver()
    )
    nft = Nftables(netns=cfg.get("netns"))
    mgr = MudManager(
        fetcher,
        nft,
        resolver,
        SystemClock(),
        ManagerConfig(
            trust_anchors=trust,
            environment=env,
            require_signature=bool(cfg.get("require-signature", True)),
            lenient=bool(cfg.get("lenient", False)),
        ),
    )
    return mgr, nft


def _event_url(ev: dict[str, Any]) -> tuple[str, bytes | None]:
    """The MUD URL of a join event: given directly, or as the device announced it (RFC 8520
    §10-§12): DHCPv4 option 161 / DHCPv6 option 112 / LLDP TLV bytes in hex, or the device's
    certificate in PEM (whose id-pe-mudsigner, if any, names the expected MUD file signer)."""
    try:
        if "mud-url" in ev:
            return str(ev["mud-url"]), None
        if "dhcpv4" in ev:
            return discovery.parse_dhcpv4_option(bytes.fromhex(str(ev["dhcpv4"]))), None
        if "dhcpv6" in ev:
            return discovery.parse_dhcpv6_option(bytes.fromhex(str(ev["dhcpv6"]))), None
        if "lldp" in ev:
            return discovery.parse_lldp_tlv(bytes.fromhex(str(ev["lldp"]))), None
        if "certificate" in ev:
            cert = x509.load_pem_x509_certificate(str(ev["certificate"]).encode())
            url = discovery.mud_url_from_certificate(cert)
            if url is None:
                raise IotSecError("device certificate has no MUD URL", reason="mud.discovery.none")
            return url, discovery.mud_signer_from_certificate(cert)
    except (ValueError, x509.InvalidVersion) as err:
        raise ConfigError(f"bad discovery data: {err}", reason="mud.manager.discovery") from err
    raise ConfigError("join needs mud-url, dhcpv4, dhcpv6, lldp or certificate", reason="mud.manager.event")


@group.command("manager")
@click.option("--config", "cfg_path", type=click.Path(dir_okay=False, exists=True), required=True)
def manager(cfg_path: str) -> None:
    """Run the MUD manager on JSON-lines events from stdin, one JSON result line per event.

    Events: {"event": "join", "id": ..., "mud-url": ..., "ipv4": [...], "ipv6": [...]} (instead of
    "mud-url": "dhcpv4"/"dhcpv6"/"lldp" with the option hex, or "certificate" with a PEM),
    {"event": "leave", "id": ...}, {"event": "refresh"}, {"event": "status"}. The device
    policies are removed when stdin closes.
    """
    mgr, _nft = _manager(cfg_path)
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                ev = json.loads(line)
                if not isinstance(ev, dict):
                    raise ConfigError("event must be a JSON object", reason="mud.manager.event")
                kind = ev.get("event")
                if kind == "join":
                    url, signer = _event_url(ev)
                    dev = Device(
                        str(ev.get("id", "")),
                        url,
                        ipv4=tuple(str(a) for a in ev.get("ipv4", ())),
                        ipv6=tuple(str(a) for a in ev.get("ipv6", ())),
                    )
                    pol = mgr.device_joined(dev, expected_signer=signer)
                    out: dict[str, Any] = {
                        "ok": True,
                        "event": "join",
                        "id": dev.id,
                        "rules": len(pol.intents),
                        "manufacturer": authority(url),
                        "findings": [f.id for f in pol.findings],
                    }
                elif kind == "leave":
                    mgr.device_left(str(ev.get("id", "")))
                    out = {"ok": True, "event": "leave", "id": ev.get("id")}
                elif kind == "refresh":
                    out = {"ok": True, "event": "refresh", "changed": mgr.refresh(), "stale": mgr.stale()}
                elif kind == "status":
                    out = {"ok": True, "event": "status", "devices": sorted(mgr.devices)}
                else:
                    raise ConfigError(f"unknown event {kind!r}", reason="mud.manager.event")
            except IotSecError as err:
                out = {"ok": False, **err.as_dict()}
            except (ValueError, TypeError, AttributeError) as err:  # malformed event: answer, keep serving
                out = {
                    "ok": False,
                    "error": "DecodeError",
                    "reason": "mud.manager.event",
                    "message": str(err),
                }
            click.echo(json.dumps(out))
            sys.stdout.flush()
    finally:
        for dev_id in list(mgr.devices):
            mgr.device_left(dev_id)
