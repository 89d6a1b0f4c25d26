"""Render a :class:`DevicePolicy` as nftables ruleset text (pure: text out, nothing applied).

Layout: one shared table ``inet iotsec_mud`` whose only base chain (hook forward, policy accept)
dispatches with verdict maps keyed by address: ``ip saddr vmap @from4`` jumps to the source
device's ``d_<id>_from`` chain, ``ip daddr vmap @to4`` to the destination device's ``d_<id>_to``
chain (and the same for IPv6). Each device chain holds the device's ACEs in order and ends in
``drop``: default deny for the device, both directions (RFC 8520: what the MUD file does not allow
is not allowed). An accepting ACE ``return``s, so that a packet between two MUD devices must be
allowed by the policies of both. Lookup is O(1) in the number of devices (one base chain).

Applying or replacing a device is one ``nft -f`` transaction (all or nothing): the table, maps and
dispatcher are (re)declared idempotently, the device chains flushed and refilled, the map elements
(re)added. Removing is another: elements out, chains flushed and deleted.
"""

from __future__ import annotations

import re

from iotsec.core.mud.compiler import DevicePolicy, Intent
from iotsec.core.mud.model import Direction, Forwarding, PortMatch, PortOperator

TABLE = "iotsec_mud"
CHAIN_PREFIX = "d_"
_OPS = {PortOperator.EQ: "", PortOperator.LTE: "<= ", PortOperator.GTE: ">= ", PortOperator.NEQ: "!= "}
_PROTO = {6: "tcp", 17: "udp"}
_UNSAFE = re.compile(r"[^A-Za-z0-9_.:/@+=-]")
_MAPS = (("from4", "ipv4_addr"), ("to4", "ipv4_addr"), ("from6", "ipv6_addr"), ("to6", "ipv6_addr"))


def chain_names(device_id: str) -> tuple[str, str]:
    """The (from-device, to-device) chain names of a device."""
    return f"{CHAIN_PREFIX}{device_id}_from", f"{CHAIN_PREFIX}{device_id}_to"


def _safe(text: str, limit: int = 120) -> str:
    """Names from the MUD file (RFC 8519 ACL/ACE names are any string) go into nft comments: keep
    a conservative character set so that no quote, newline or semicolon can end the comment and
    inject nft syntax."""
    return _UNSAFE.sub("_", text)[:limit]


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
    parts: list[str] = (
        [f"meta nfproto {'ipv4' if it.family == 4 else 'ipv6'}"] if not it.peer and not it.local else []
    )
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
    # accept -> return: the other end's policy (if it is a MUD device too) is consulted next
    verdict = {Forwarding.ACCEPT: "return", Forwarding.DROP: "drop", Forwarding.REJECT: "reject"}[it.verdict]
    comment = _safe(f"{it.acl}/{it.ace}")
    return " ".join(parts) + f' counter {verdict} comment "{comment}"'


def render_base() -> str:
    """The shared table, maps and dispatcher, declared idempotently."""
    t = f"inet {TABLE}"
    lines = [f"add table {t}"]
    lines += [f"add map {t} {name} {{ type {typ} : verdict; }}" for name, typ in _MAPS]
    lines += [
        f"add chain {t} forward {{ type filter hook forward priority filter; policy accept; }}",
        f"flush chain {t} forward",
        f"add rule {t} forward ip saddr vmap @from4",
        f"add rule {t} forward ip6 saddr vmap @from6",
        f"add rule {t} forward ip daddr vmap @to4",
        f"add rule {t} forward ip6 daddr vmap @to6",
    ]
    return "\n".join(lines) + "\n"


def _device(policy: DevicePolicy) -> str:
    d = policy.device
    t = f"inet {TABLE}"
    fr, to = chain_names(d.id)
    lines = [f"# MUD policy for device {d.id} from {_safe(policy.mud_url, 200)}"]
    for direction, chain in ((Direction.FROM_DEVICE, fr), (Direction.TO_DEVICE, to)):
        lines += [f"add chain {t} {chain}", f"flush chain {t} {chain}"]
        lines += [
            f"add rule {t} {chain} {render_intent(it)}" for it in policy.intents if it.direction is direction
        ]
        lines.append(f'add rule {t} {chain} counter drop comment "default deny"')
    for fam, addrs in ((4, d.ipv4), (6, d.ipv6)):
        if addrs:
            lines.append(
                f"add element {t} from{fam} {{ " + ", ".join(f"{a} : jump {fr}" for a in addrs) + " }"
            )
            lines.append(f"add element {t} to{fam} {{ " + ", ".join(f"{a} : jump {to}" for a in addrs) + " }")
    return "\n".join(lines) + "\n"


def render_ruleset(policy: DevicePolicy) -> str:
    """The ``nft -f`` text that atomically installs (or replaces) one device's policy."""
    return render_base() + _device(policy)


def render_many(policies: list[DevicePolicy]) -> str:
    """Several devices in one transaction (``nft -f`` applies a file all or nothing)."""
    return render_base() + "".join(_device(p) for p in policies)


def render_remove(
    device_id: str,
    ipv4: tuple[str, ...] = (),
    ipv6: tuple[str, ...] = (),
    *,
    last: bool = False,
    chains: bool = True,
) -> str:
    """The ``nft -f`` text that removes one device (its map elements and chains). ``last``: it is
    the only device left, so the whole table goes and the ruleset is as before the first apply.
    ``chains=False``: only the given addresses leave the dispatch maps (an address change)."""
    t = f"inet {TABLE}"
    if last:
        return f"delete table {t}\n"
    lines = []
    for fam, addrs in ((4, ipv4), (6, ipv6)):
        if addrs:
            lines.append(f"delete element {t} from{fam} {{ " + ", ".join(addrs) + " }")
            lines.append(f"delete element {t} to{fam} {{ " + ", ".join(addrs) + " }")
    for chain in chain_names(device_id) if chains else ():
        lines += [f"flush chain {t} {chain}", f"delete chain {t} {chain}"]
    return "\n".join(lines) + "\n"
