"""ACL intents: a MUD file bound to one device, its abstractions resolved (RFC 8520 §4, §6).

The result is data (:class:`DevicePolicy` of :class:`Intent`), not firewall calls;
:mod:`iotsec.core.mud.nft` renders it as an nftables ruleset. DNS names are resolved through the
:class:`Resolver` interface that the caller passes in (an adapter does real DNS; tests pass a table).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from iotsec.core.mud.model import (
    Ace,
    Direction,
    Finding,
    Forwarding,
    IcmpMatch,
    MudFile,
    PortMatch,
)
from iotsec.core.mud.url import authority
from iotsec.errors import ValidationError

# Well-known controller classes (RFC 8520 §16.? IANA "MUD Controller URNs" is not a registry; these
# two are the URNs the RFC itself names for DNS and NTP servers, §4.6 / IANA urn:ietf:params:mud).
CONTROLLER_DNS = "urn:ietf:params:mud:dns"
CONTROLLER_NTP = "urn:ietf:params:mud:ntp"

_NAME = re.compile(r"^[A-Za-z0-9_]{1,40}$")


class Resolver(Protocol):
    """Resolves a DNS name to addresses (text form, IPv4 and/or IPv6)."""

    def resolve(self, name: str) -> Sequence[str]:
        """The addresses of ``name``; empty if it does not resolve."""
        ...


@dataclass(frozen=True)
class StaticResolver:
    """A resolver backed by a table: for tests, offline compilation and pinned deployments."""

    table: Mapping[str, Sequence[str]]

    def resolve(self, name: str) -> Sequence[str]:
        """The addresses listed for ``name`` (case-insensitive, trailing dot ignored)."""
        return tuple(self.table.get(name.rstrip(".").lower(), ()))


@dataclass(frozen=True)
class Device:
    """A device the MUD manager enforces a policy for: its id (used in rule names), URL and addresses."""

    id: str
    mud_url: str
    ipv4: tuple[str, ...] = ()
    ipv6: tuple[str, ...] = ()
    mac: str | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.id):
            raise ValidationError("device id must be 1-40 characters of [A-Za-z0-9_]", reason="mud.device.id")
        canonical: dict[int, tuple[str, ...]] = {}
        for v, addrs in ((4, self.ipv4), (6, self.ipv6)):
            out = []
            for a in addrs:
                try:
                    # no zone index ("fe80::1%eth0"): it is free text and ends up in nft syntax
                    if not isinstance(a, str) or "%" in a or ipaddress.ip_address(a).version != v:
                        raise ValueError(a)
                except ValueError as err:
                    raise ValidationError(f"bad IPv{v} address {a!r}", reason="mud.device.address") from err
                out.append(str(ipaddress.ip_address(a)))
            canonical[v] = tuple(out)
        object.__setattr__(self, "ipv4", canonical[4])
        object.__setattr__(self, "ipv6", canonical[6])
        if not self.ipv4 and not self.ipv6:
            raise ValidationError("device needs at least one address", reason="mud.device.address")


@dataclass(frozen=True)
class Environment:
    """What the MUD manager knows about the local network, to resolve the abstractions (RFC 8520 §4)."""

    local_networks: tuple[str, ...] = ()
    controllers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # class URI -> addresses
    my_controllers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # MUD URL -> addresses
    devices: tuple[Device, ...] = ()  # other devices known to the manager (same-manufacturer, model...)


@dataclass(frozen=True)
class Intent:
    """One compiled ACE: a verdict for packets of ``family`` in ``direction`` matching all conditions.

    ``peer`` and ``local`` are lists of address sets that must *all* match (empty list: any); the
    device's own address is implied by the chain the intent lands in.
    """

    direction: Direction
    acl: str
    ace: str
    family: int
    verdict: Forwarding
    peer: tuple[tuple[str, ...], ...] = ()
    local: tuple[tuple[str, ...], ...] = ()
    protocol: int | None = None
    src_port: PortMatch | None = None
    dst_port: PortMatch | None = None
    icmp: IcmpMatch | None = None
    # conntrack direction for TCP direction-initiated (RFC 8520 §4.8): "original" or "reply"
    ct_direction: str | None = None


@dataclass(frozen=True)
class DevicePolicy:
    """A MUD file compiled for one device: its intents, in file order, and findings."""

    device: Device
    mud_url: str
    intents: tuple[Intent, ...]
    findings: tuple[Finding, ...] = ()


def _family(addrs: Sequence[str], fam: int) -> tuple[str, ...]:
    """The addresses/prefixes of one IP version, canonical text, sorted; unparsable entries dropped
    (a resolver or configuration can hand over anything)."""
    out: set[str] = set()
    for a in addrs:
        if not isinstance(a, str) or "%" in a:  # zone indexes are free text: never rendered
            continue
        try:
            if "/" in a:
                n = ipaddress.ip_network(a, strict=False)
                if n.version == fam:
                    full = n.prefixlen == n.max_prefixlen
                    out.add(str(n.network_address) if full else str(n))
            else:
                ip = ipaddress.ip_address(a)
                if ip.version == fam:
                    out.add(str(ip))
        except ValueError:
            continue
    return tuple(sorted(out))


def _peer_devices(env: Environment, me: Device, pred: object) -> list[str]:
    addrs: list[str] = []
    for d in env.devices:
        if d.id == me.id:
            continue
        if callable(pred) and pred(d):
            addrs.extend(d.ipv4 + d.ipv6)
    return addrs


def _abstraction(ace: Ace, mud: MudFile, device: Device, env: Environment) -> tuple[str, list[str]] | None:
    m = ace.mud
    if m is None or m.is_empty():
        return None
    mine = authority(device.mud_url)
    if m.manufacturer:  # §4.1
        h = m.manufacturer
        return "manufacturer", _peer_devices(env, device, lambda d: authority(d.mud_url) == h)
    if m.same_manufacturer:  # §4.2
        return "same-manufacturer", _peer_devices(env, device, lambda d: authority(d.mud_url) == mine)
    if m.model:  # §4.4
        u = m.model
        return "model", _peer_devices(env, device, lambda d: d.mud_url == u)
    if m.local_networks:  # §4.5
        return "local-networks", list(env.local_networks)
    if m.controller:  # §4.6
        return f"controller {m.controller}", list(env.controllers.get(m.controller, ()))
    if m.my_controller:  # §4.7
        return "my-controller", list(env.my_controllers.get(mud.mud_url, ()))
    return None


def compile_policy(mud: MudFile, device: Device, env: Environment, resolver: Resolver) -> DevicePolicy:
    """Bind ``mud`` to ``device``: resolve every ACE's peers, keep what can match, report the rest.

    An ACE whose peer resolves to nothing matches no packet and is left out (with a finding); the
    default deny at the end of each chain is added by the renderer.
    """
    intents: list[Intent] = []
    findings: list[Finding] = []
    families = [f for f, addrs in ((4, device.ipv4), (6, device.ipv6)) if addrs]
    for direction in (Direction.FROM_DEVICE, Direction.TO_DEVICE):
        for acl in mud.policy(direction):
            for ace in acl.aces:
                where = f"/{acl.name}/{ace.name}"
                if ace.eth is not None:
                    if ace.forwarding is Forwarding.ACCEPT or ace.ip is None:
                        # leaving an accept out only narrows what passes
                        findings.append(
                            Finding("mud.compile.eth", "Ethernet matches are not enforced on a router", where)
                        )
                        continue
                    # a drop/reject with an Ethernet condition is kept without it: it drops more,
                    # never less, than the file asks
                    findings.append(
                        Finding(
                            "mud.compile.eth-widened", "Ethernet condition dropped from a deny", where, "info"
                        )
                    )
                ace_fams = (
                    [ace.ip.version] if ace.ip else [f for f in (4, 6) if acl.type.value.find(f"ipv{f}") >= 0]
                )
                for fam in [f for f in ace_fams if f in families] or []:
                    it = _compile_ace(
                        ace,
                        acl_name=acl.name,
                        direction=direction,
                        fam=fam,
                        mud=mud,
                        device=device,
                        env=env,
                        resolver=resolver,
                        findings=findings,
                        where=where,
                    )
                    if it is not None:
                        intents.append(it)
    return DevicePolicy(device=device, mud_url=mud.mud_url, intents=tuple(intents), findings=tuple(findings))


def _compile_ace(
    ace: Ace,
    *,
    acl_name: str,
    direction: Direction,
    fam: int,
    mud: MudFile,
    device: Device,
    env: Environment,
    resolver: Resolver,
    findings: list[Finding],
    where: str,
) -> Intent | None:
    from_dev = direction is Direction.FROM_DEVICE
    peer: list[tuple[str, ...]] = []
    local: list[tuple[str, ...]] = []
    ip = ace.ip
    if ip is not None:
        # the peer is the destination of from-device traffic and the source of to-device traffic
        peer_net, peer_name = (
            (ip.dst_network, ip.dst_dnsname) if from_dev else (ip.src_network, ip.src_dnsname)
        )
        local_net, local_name = (
            (ip.src_network, ip.src_dnsname) if from_dev else (ip.dst_network, ip.dst_dnsname)
        )
        for net, name, bucket in ((peer_net, peer_name, peer), (local_net, local_name, local)):
            if net:
                bucket.append(_family([net], fam))
            if name:
                addrs = _family(resolver.resolve(name), fam)
                if not addrs:
                    findings.append(
                        Finding(
                            "mud.compile.unresolved", f"{name} has no IPv{fam} address: ACE left out", where
                        )
                    )
                    return None
                bucket.append(addrs)
    abstr = _abstraction(ace, mud, device, env)
    if abstr is not None:
        label, peer_addrs = abstr
        fam_addrs = _family(peer_addrs, fam)
        if not fam_addrs:
            findings.append(
                Finding(
                    "mud.compile.unresolved",
                    f"{label} resolves to no IPv{fam} peer: ACE left out",
                    where,
                    "info",
                )
            )
            return None
        peer.append(fam_addrs)
    if any(not s for s in peer + local):
        return None
    protocol = ip.protocol if ip is not None else None
    t = ace.transport
    ct = None
    if t is not None:
        protocol = 6 if t.protocol == "tcp" else 17
        if t.direction_initiated is not None:
            # RFC 8520 §4.8: match only flows initiated in the given direction. With conntrack, the
            # packets of a flow the device initiated are "original" from it and "reply" towards it.
            initiated_here = t.direction_initiated is direction
            ct = "original" if initiated_here else "reply"
    if ace.icmp is not None:
        protocol = 1 if fam == 4 else 58
    return Intent(
        direction=direction,
        acl=acl_name,
        ace=ace.name,
        family=fam,
        verdict=ace.forwarding,
        peer=tuple(peer),
        local=tuple(local),
        protocol=protocol,
        src_port=t.src_port if t else None,
        dst_port=t.dst_port if t else None,
        icmp=ace.icmp,
        ct_direction=ct,
    )
