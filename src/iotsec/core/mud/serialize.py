"""Write a :class:`MudFile` as RFC 8520 JSON (RFC 7951 encoding), the inverse of ``parse_mud``."""

from __future__ import annotations

import json
from typing import Any

from iotsec.core.mud.model import Ace, MudFile, PortMatch
from iotsec.core.mud.parser import ACLS_KEY, MUD_KEY

EMPTY: list[None] = [None]  # RFC 7951 §6.9 encoding of the YANG "empty" type


def _port(p: PortMatch) -> dict[str, Any]:
    if p.operator is not None:
        return {"operator": p.operator.value, "port": p.port}
    return {"lower-port": p.lower, "upper-port": p.upper}


def _ace(ace: Ace) -> dict[str, Any]:
    m: dict[str, Any] = {}
    if ace.mud is not None:
        mm = ace.mud
        d: dict[str, Any] = {}
        if mm.manufacturer:
            d["manufacturer"] = mm.manufacturer
        if mm.same_manufacturer:
            d["same-manufacturer"] = list(EMPTY)
        if mm.model:
            d["model"] = mm.model
        if mm.local_networks:
            d["local-networks"] = list(EMPTY)
        if mm.controller:
            d["controller"] = mm.controller
        if mm.my_controller:
            d["my-controller"] = list(EMPTY)
        m["ietf-mud:mud"] = d
    if ace.eth is not None:
        e: dict[str, Any] = {}
        if ace.eth.ethertype is not None:
            e["ethertype"] = f"{ace.eth.ethertype:04x}"
        if ace.eth.src_mac:
            e["source-mac-address"] = ace.eth.src_mac
        if ace.eth.dst_mac:
            e["destination-mac-address"] = ace.eth.dst_mac
        m["eth"] = e
    if ace.ip is not None:
        ip = ace.ip
        v = ip.version
        d = {}
        if ip.protocol is not None:
            d["protocol"] = ip.protocol
        if ip.src_network:
            d[f"source-ipv{v}-network"] = ip.src_network
        if ip.dst_network:
            d[f"destination-ipv{v}-network"] = ip.dst_network
        if ip.src_dnsname:
            d["ietf-acldns:src-dnsname"] = ip.src_dnsname
        if ip.dst_dnsname:
            d["ietf-acldns:dst-dnsname"] = ip.dst_dnsname
        m[f"ipv{v}"] = d
    if ace.transport is not None:
        t = ace.transport
        d = {}
        if t.direction_initiated is not None:
            d["ietf-mud:direction-initiated"] = t.direction_initiated.value
        if t.src_port is not None:
            d["source-port"] = _port(t.src_port)
        if t.dst_port is not None:
            d["destination-port"] = _port(t.dst_port)
        m[t.protocol] = d
    if ace.icmp is not None:
        d = {}
        if ace.icmp.type is not None:
            d["type"] = ace.icmp.type
        if ace.icmp.code is not None:
            d["code"] = ace.icmp.code
        m["icmp"] = d
    return {"name": ace.name, "matches": m, "actions": {"forwarding": ace.forwarding.value}}


def to_dict(mud: MudFile) -> dict[str, Any]:
    """The JSON object of a MUD file, members in the order of RFC 8520 §9."""
    c: dict[str, Any] = {
        "mud-version": mud.mud_version,
        "mud-url": mud.mud_url,
        "last-update": mud.last_update,
    }
    if mud.mud_signature:
        c["mud-signature"] = mud.mud_signature
    c["cache-validity"] = mud.cache_validity
    c["is-supported"] = mud.is_supported
    for key, val in (
        ("systeminfo", mud.systeminfo),
        ("mfg-name", mud.mfg_name),
        ("model-name", mud.model_name),
        ("firmware-rev", mud.firmware_rev),
        ("software-rev", mud.software_rev),
        ("documentation", mud.documentation),
    ):
        if val is not None:
            c[key] = val
    if mud.extensions:
        c["extensions"] = list(mud.extensions)
    for key, names in (("from-device-policy", mud.from_device), ("to-device-policy", mud.to_device)):
        if names:
            c[key] = {"access-lists": {"access-list": [{"name": n} for n in names]}}
    acls = [
        {"name": a.name, "type": a.type.value, "aces": {"ace": [_ace(x) for x in a.aces]}} for a in mud.acls
    ]
    return {MUD_KEY: c, ACLS_KEY: {"acl": acls}}


def to_json(mud: MudFile, *, indent: int | None = 2) -> bytes:
    """UTF-8 JSON bytes of a MUD file (what gets published and signed)."""
    return (json.dumps(to_dict(mud), indent=indent, ensure_ascii=False) + "\n").encode("utf-8")
