"""Render a :class:`DevicePolicy` as nftables ruleset text (pure: text out, nothing applied).

One table per device (``inet iotsec_mud_<id>``), so that applying, replacing and removing one
device is a single atomic ``nft -f`` transaction that cannot disturb another device:

* base chain ``forward`` (hook forward, policy accept) sends the device's packets to
  ``from_device`` (source is the device) or ``to_device`` (destination is the device);
* each of these chains holds the device's ACEs in order and ends in ``drop``: default deny for the
  device, both directions (RFC 8520 §1.1: what the MUD file does not allow is not allowed).

Tables of other devices are separate base chains on the same hook; a packet between two MUD
devices must be accepted by both (a drop anywhere is final in netfilter).
"""

from __future__ import annotations

from iotsec.core.mud.compiler import Device, DevicePolicy, Intent
from iotsec.core.mud.model import Direction, Forwarding, PortMatch, PortOperator

TABLE_PREFIX = "iotsec_mud_"
_OPS = {PortOperator.EQ: "", PortOperator.LTE: "<= ", PortOperator.GTE: ">= ", PortOperator.NEQ: "!= "}
_PROTO = {6: "tcp", 17: "udp"}


def table_name(device: Device) -> str:
    return TABLE_PREFIX + device.id.replace("-", "_")


def _set(addrs: tuple[str, ...]) -> str:
    return addrs[0] if len(addrs) == 1 else "{ " + ", ".join(addrs) + " }"


def _port(proto: str, which: str, p: PortMatch) -> str:
    if p.operator is not None:
        return f"{proto} {which} {_OPS[p.operator]}{p.port}"
    return f"{proto} {which} {p.lower}-{p.upper}"


def render_intent(it: Intent) -> str:
    """One nft rule for one intent (without the table/chain context)."""
    ip = "ip" if it.family == 4 else "ip6"
    from_dev = it.direction is Direction.FROM_DEVICE
    peer_key, local_key = ("daddr", "saddr") if from_dev else ("saddr", "daddr")
    parts: list[str] = []
    if not it.peer and not it.local:
        parts.append(f"meta nfproto {'ipv4' if it.family == 4 else 'ipv6'}")
    parts += [f"{ip} {peer_key} {_set(s)}" for s in it.peer]
    parts += [f"{ip} {local_key} {_set(s)}" for s in it.local]
    proto = _PROTO.get(it.protocol or -1)
    if it.icmp is not None:
        icmp = "icmp" if it.family == 4 else "icmpv6"
        parts.append(f"meta l4proto {icmp}")
        if it.icmp.type is not None:
            parts.append(f"{icmp} type {it.icmp.type}")
        if it.icmp.code is not None:
            parts.append(f"{icmp} code {it.icmp.code}")
    elif proto is not None:
        parts.append(f"meta l4proto {proto}")
        if it.src_port is not None:
            parts.append(_port(proto, "sport", it.src_port))
        if it.dst_port is not None:
            parts.append(_port(proto, "dport", it.dst_port))
    elif it.protocol is not None:
        parts.append(f"meta l4proto {it.protocol}")
    if it.ct_direction is not None:
        parts.append(f"ct direction {it.ct_direction}")
    verdict = {Forwarding.ACCEPT: "accept", Forwarding.DROP: "drop", Forwarding.REJECT: "reject"}[it.verdict]
    comment = f"{it.acl}/{it.ace}".replace('"', "")[:120]
    return " ".join(parts) + f' counter {verdict} comment "{comment}"'


def render_ruleset(policy: DevicePolicy) -> str:
    """The ``nft -f`` text that atomically installs (or replaces) the device's table."""
    d = policy.device
    t = table_name(d)
    lines = [
        f"# MUD policy for device {d.id} from {policy.mud_url}",
        f"table inet {t}",  # create if missing, so that the delete below always succeeds
        f"delete table inet {t}",
        f"table inet {t} {{",
        "  chain forward {",
        "    type filter hook forward priority filter; policy accept;",
    ]
    for fam, addrs in ((4, d.ipv4), (6, d.ipv6)):
        ip = "ip" if fam == 4 else "ip6"
        if addrs:
            lines.append(f"    {ip} saddr {_set(tuple(addrs))} jump from_device")
            lines.append(f"    {ip} daddr {_set(tuple(addrs))} jump to_device")
    lines.append("  }")
    for direction, chain in ((Direction.FROM_DEVICE, "from_device"), (Direction.TO_DEVICE, "to_device")):
        lines.append(f"  chain {chain} {{")
        for it in policy.intents:
            if it.direction is direction:
                lines.append("    " + render_intent(it))
        lines.append('    counter drop comment "default deny"')
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_many(policies: list[DevicePolicy]) -> str:
    """Several devices in one transaction (``nft -f`` applies a file all or nothing)."""
    return "".join(render_ruleset(p) for p in policies)


def render_remove(device: Device) -> str:
    """The ``nft -f`` text that removes the device's table (and only it)."""
    t = table_name(device)
    return f"table inet {t}\ndelete table inet {t}\n"
