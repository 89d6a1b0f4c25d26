"""Build a MUD file from a short, readable device profile (YAML or a dict).

Example profile::

    mud-url: https://devices.example.com/thermo/v1.json
    systeminfo: Example thermostat
    mfg-name: Example Devices
    model-name: thermo-1
    ip-versions: [4, 6]              # default: both
    allow:
      - cloud: cloud.example.com     # a DNS name (ietf-acldns)
        proto: tcp
        port: 443                    # the port of the side that accepts the connection
        initiated-by: device         # device (default) | remote | either
      - same-manufacturer: true
        proto: tcp
        port: 8080
        initiated-by: remote
      - controller: urn:ietf:params:mud:dns
        proto: udp
        port: 53

Each ``allow`` entry becomes one ACE in the from-device ACL and one in the to-device ACL of each IP
version, so that both directions of the flow are described (RFC 8520 §9 style). Everything else is
denied by the MUD manager. Peers: ``cloud`` (DNS name), ``network`` (prefix), ``controller``
(class URI), ``my-controller``, ``local-networks``, ``same-manufacturer``, ``manufacturer``
(host), ``model`` (MUD URL), or none (any host).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import yaml

from iotsec.core.mud.model import MudFile
from iotsec.core.mud.parser import parse_mud
from iotsec.errors import DecodeError, ValidationError

# profile keys copied as they are into the MUD container (RFC 8520 §2.1 names)
_COPIED = (
    "mud-signature",
    "cache-validity",
    "is-supported",
    "systeminfo",
    "mfg-name",
    "model-name",
    "firmware-rev",
    "software-rev",
    "documentation",
)
_PROFILE_KEYS = {*_COPIED, "mud-url", "ip-versions", "allow", "name", "last-update"}
# the peers a rule can name (at most one; docs/mud.md), in the order _peer_match looks for them
_PEERS = (
    "cloud",
    "network",
    "controller",
    "my-controller",
    "local-networks",
    "same-manufacturer",
    "manufacturer",
    "model",
)
_RULE_KEYS = {*_PEERS, "proto", "port", "initiated-by", "name"}


def load_profile(text: str | bytes) -> dict[str, Any]:
    """Parse a YAML profile (safe loader, size-limited) into a dict."""
    if len(text) > 256 * 1024:
        raise DecodeError("profile too large", reason="mud.profile.size")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise DecodeError(f"profile is not YAML: {err}", reason="mud.profile.yaml") from err
    if not isinstance(data, dict):
        raise ValidationError("profile must be a mapping", reason="mud.profile.type")
    return data


def _peer_match(rule: dict[str, Any], ver: int, outbound: bool, i: int) -> dict[str, Any]:
    """The matches naming the remote side, for the from-device (outbound) or to-device ACE."""
    peers = [k for k in _PEERS if k in rule]
    if len(peers) > 1:
        raise ValidationError(f"allow[{i}]: one peer per rule, got {peers}", reason="mud.profile.peer")
    m: dict[str, Any] = {}
    ip: dict[str, Any] = {}
    if peers:
        k = peers[0]
        v = rule[k]
        side = "dst" if outbound else "src"
        if k == "cloud":
            ip[f"ietf-acldns:{side}-dnsname"] = str(v)
        elif k == "network":
            key = f"destination-ipv{ver}-network" if outbound else f"source-ipv{ver}-network"
            ip[key] = str(v)
        elif k in ("my-controller", "local-networks", "same-manufacturer"):
            if v is not True:
                raise ValidationError(f"allow[{i}]: {k} takes true", reason="mud.profile.peer")
            m["ietf-mud:mud"] = {k: [None]}
        else:
            m["ietf-mud:mud"] = {k: str(v)}
    proto = rule.get("proto", "any")
    if proto in ("tcp", "udp"):
        ip["protocol"] = 6 if proto == "tcp" else 17
    elif proto != "any":
        raise ValidationError(f"allow[{i}]: proto must be tcp, udp or any", reason="mud.profile.proto")
    m[f"ipv{ver}"] = ip
    return m


def _rule_aces(rule: Any, i: int, ver: int) -> tuple[dict[str, Any], dict[str, Any]]:
    if not isinstance(rule, dict):
        raise ValidationError(f"allow[{i}] must be a mapping", reason="mud.profile.rule")
    unknown = set(rule) - _RULE_KEYS
    if unknown:
        raise ValidationError(f"allow[{i}]: unknown keys {sorted(unknown)}", reason="mud.profile.rule")
    proto = rule.get("proto", "any")
    by = rule.get("initiated-by", "device")
    if by not in ("device", "remote", "either"):
        raise ValidationError(
            f"allow[{i}]: initiated-by must be device, remote or either", reason="mud.profile.rule"
        )
    name = str(rule.get("name") or f"r{i}")
    if not re.match(r"^[A-Za-z0-9_.-]{1,40}$", name):
        raise ValidationError(f"allow[{i}]: bad rule name", reason="mud.profile.rule")
    fr = _peer_match(rule, ver, True, i)
    to = _peer_match(rule, ver, False, i)
    if proto in ("tcp", "udp"):
        frt: dict[str, Any] = {}
        tot: dict[str, Any] = {}
        if "port" in rule:
            port = rule["port"]
            if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
                raise ValidationError(f"allow[{i}]: port must be 1..65535", reason="mud.profile.port")
            pm = {"operator": "eq", "port": port}
            if by == "remote":  # the device listens: its port is the destination of inbound packets
                tot["destination-port"], frt["source-port"] = pm, dict(pm)
            else:
                frt["destination-port"], tot["source-port"] = pm, dict(pm)
        if proto == "tcp" and by != "either":  # RFC 8520 §4.8
            d = "from-device" if by == "device" else "to-device"
            frt["ietf-mud:direction-initiated"] = tot["ietf-mud:direction-initiated"] = d
        fr[proto], to[proto] = frt, tot
    elif "port" in rule:
        raise ValidationError(f"allow[{i}]: port needs proto tcp or udp", reason="mud.profile.port")
    accept = {"forwarding": "accept"}
    return (
        {"name": f"{name}-fr", "matches": fr, "actions": dict(accept)},
        {"name": f"{name}-to", "matches": to, "actions": dict(accept)},
    )


def _net_version(net: Any, i: int) -> int:
    try:
        return ipaddress.ip_network(str(net), strict=True).version
    except ValueError as err:
        raise ValidationError(f"allow[{i}]: bad network {net!r}", reason="mud.profile.network") from err


def build_mud(profile: dict[str, Any], *, last_update: str) -> MudFile:
    """Build and validate the MUD file described by ``profile``; ``last_update`` is an RFC 3339
    timestamp (the caller's clock: core never reads it)."""
    unknown = set(profile) - _PROFILE_KEYS
    if unknown:
        raise ValidationError(f"unknown profile keys {sorted(unknown)}", reason="mud.profile.keys")
    if "mud-url" not in profile:
        raise ValidationError("profile needs mud-url", reason="mud.profile.url")
    versions = profile.get("ip-versions", [4, 6])
    if not isinstance(versions, list) or not versions or any(v not in (4, 6) for v in versions):
        raise ValidationError("ip-versions must be a list of 4 and/or 6", reason="mud.profile.versions")
    rules = profile.get("allow", [])
    if not isinstance(rules, list):
        raise ValidationError("allow must be a list", reason="mud.profile.allow")
    base = str(
        profile.get("name")
        or "mud-" + re.sub(r"[^A-Za-z0-9]+", "-", str(profile.get("model-name", "device")))
    )
    mud: dict[str, Any] = {
        "mud-version": 1,
        "mud-url": profile["mud-url"],
        "last-update": str(profile.get("last-update", last_update)),
    }
    for k in _COPIED:
        if k in profile:
            mud[k] = profile[k]
    mud.setdefault("cache-validity", 48)
    mud.setdefault("is-supported", True)
    acls: list[dict[str, Any]] = []
    fr_names: list[str] = []
    to_names: list[str] = []
    for ver in sorted(set(versions)):
        fr_aces, to_aces = [], []
        for i, rule in enumerate(rules):
            if isinstance(rule, dict) and "network" in rule and _net_version(rule["network"], i) != ver:
                continue  # a prefix belongs to the ACLs of its own IP version only
            f, t = _rule_aces(rule, i, ver)
            fr_aces.append(f)
            to_aces.append(t)
        for suffix, aces, names in (("fr", fr_aces, fr_names), ("to", to_aces, to_names)):
            n = f"{base}-v{ver}{suffix}"
            acls.append({"name": n, "type": f"ipv{ver}-acl-type", "aces": {"ace": aces}})
            names.append(n)
    mud["from-device-policy"] = {"access-lists": {"access-list": [{"name": n} for n in fr_names]}}
    mud["to-device-policy"] = {"access-lists": {"access-list": [{"name": n} for n in to_names]}}
    # validate by parsing: the builder can only produce what the strict parser accepts
    return parse_mud({"ietf-mud:mud": mud, "ietf-access-control-list:acls": {"acl": acls}}).mud
