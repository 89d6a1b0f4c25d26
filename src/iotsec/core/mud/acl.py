"""The RFC 8519 access lists of a MUD file, with the MUD (RFC 8520 §4) and ietf-acldns (§6)
augmentations: ``ietf-access-control-list:acls`` -> :class:`Acl` objects."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

from iotsec.core.mud._common import (
    _HOST,
    Path,
    _check_keys,
    _Ctx,
    _empty_leaf,
    _int,
    _list,
    _obj,
    _rename,
    _str,
)
from iotsec.core.mud.model import (
    Ace,
    Acl,
    AclType,
    Direction,
    EthMatch,
    Forwarding,
    IcmpMatch,
    IpMatch,
    MudMatch,
    PortMatch,
    PortOperator,
    TransportMatch,
)
from iotsec.core.mud.url import check_mud_url
from iotsec.errors import ValidationError

ACLS_KEY = "ietf-access-control-list:acls"
_MAC = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")

# Pre-RFC names seen in the wild -> RFC names (lenient mode only).
_LEGACY_ACL_TYPE = {"ipv4-acl": "ipv4-acl-type", "ipv6-acl": "ipv6-acl-type", "eth-acl": "eth-acl-type"}
_LEGACY_MATCH = {
    "ipv4-acl": "ipv4",
    "ipv6-acl": "ipv6",
    "tcp-acl": "tcp",
    "udp-acl": "udp",
    "eth-acl": "eth",
    "icmp-acl": "icmp",
    "mud": "ietf-mud:mud",
}


def parse_acls(root: dict[str, Any], ctx: _Ctx) -> tuple[Acl, ...]:
    """The ACLs of a MUD document root (RFC 8519 §4.1 ``acls/acl``), validated."""
    if ACLS_KEY not in root:
        return ()
    p: Path = (ACLS_KEY,)
    acls_obj = _obj(root[ACLS_KEY], p)
    _check_keys(acls_obj, {"acl"}, p, ctx, ignorable=True)
    out: list[Acl] = []
    seen: set[str] = set()
    for i, raw in enumerate(_list(acls_obj.get("acl", []), (*p, "acl"))):
        ap: Path = (*p, "acl", i)
        a = _obj(raw, ap)
        if "acl-type" in a and "type" not in a:
            ctx.legacy("member name", "acl-type", "type", (*ap, "acl-type"))
            a = {("type" if k == "acl-type" else k): v for k, v in a.items()}
        _check_keys(a, {"name", "type", "aces"}, ap, ctx, ignorable=True)
        name = _str(a.get("name"), (*ap, "name"), max_len=64)
        if name in seen:
            raise ValidationError(
                f"duplicate ACL name {name!r}", reason="mud.acl.duplicate", path=(*ap, "name")
            )
        seen.add(name)
        t = a.get("type")
        if isinstance(t, str) and ":" in t:  # identityref may carry its module prefix (RFC 7951 §6.8)
            t = t.split(":", 1)[1]
        if isinstance(t, str) and t in _LEGACY_ACL_TYPE:
            ctx.legacy("acl type", t, _LEGACY_ACL_TYPE[t], (*ap, "type"))
            t = _LEGACY_ACL_TYPE[t]
        try:
            acl_type = AclType(str(t))
        except ValueError as err:
            raise ValidationError(
                f"unknown ACL type {t!r}", reason="mud.acl.type", path=(*ap, "type")
            ) from err
        aces_obj = _obj(a.get("aces", {}), (*ap, "aces"))
        _check_keys(aces_obj, {"ace"}, (*ap, "aces"), ctx, ignorable=True)
        aces: list[Ace] = []
        ace_names: set[str] = set()
        for j, ace_raw in enumerate(_list(aces_obj.get("ace", []), (*ap, "aces", "ace"))):
            ace = _parse_ace(ace_raw, (*ap, "aces", "ace", j), acl_type, ctx)
            if ace.name in ace_names:
                raise ValidationError(
                    f"duplicate ACE name {ace.name!r}",
                    reason="mud.ace.duplicate",
                    path=(*ap, "aces", "ace", j, "name"),
                )
            ace_names.add(ace.name)
            aces.append(ace)
        out.append(Acl(name=name, type=acl_type, aces=tuple(aces)))
    return tuple(out)


def _parse_ace(raw: Any, p: Path, acl_type: AclType, ctx: _Ctx) -> Ace:
    a = _obj(raw, p)
    _check_keys(a, {"name", "matches", "actions"}, p, ctx, ignorable=True)
    name = _str(a.get("name"), (*p, "name"), max_len=64)
    actions = _obj(a.get("actions"), (*p, "actions"))
    fwd_raw = actions.get("forwarding")
    if isinstance(fwd_raw, str) and ":" in fwd_raw:
        fwd_raw = fwd_raw.split(":", 1)[1]
    try:
        forwarding = Forwarding(str(fwd_raw))
    except ValueError as err:
        raise ValidationError(
            "actions/forwarding must be accept, drop or reject",
            reason="mud.ace.forwarding",
            path=(*p, "actions", "forwarding"),
        ) from err
    mp: Path = (*p, "matches")
    matches = _rename(_obj(a.get("matches", {}), mp), _LEGACY_MATCH, "match container", mp, ctx)
    for wrapper in ("l3", "l4"):  # early acl-model drafts nested the containers one level deeper
        if wrapper in matches:
            inner = _obj(matches.pop(wrapper), (*mp, wrapper))
            ctx.legacy("match wrapper", wrapper, "(none)", (*mp, wrapper))
            matches.update(_rename(inner, _LEGACY_MATCH, "match container", (*mp, wrapper), ctx))
    known = {"ipv4", "ipv6", "tcp", "udp", "icmp", "eth", "ietf-mud:mud"}
    for k in matches:
        if k not in known:  # ignoring a match would widen the rule: refuse in both modes
            raise ValidationError(f"unsupported match {k!r}", reason="mud.ace.match", path=(*mp, k))
    ip = None
    for ver in (4, 6):
        key = f"ipv{ver}"
        if key in matches:
            if ip is not None:
                raise ValidationError("both ipv4 and ipv6 matches", reason="mud.ace.ip", path=(*mp, key))
            ip = _parse_ip(matches[key], (*mp, key), ver, ctx)
            allowed = {
                4: {AclType.IPV4, AclType.MIXED_ETH_IPV4, AclType.MIXED_ETH_IPV4_IPV6},
                6: {AclType.IPV6, AclType.MIXED_ETH_IPV6, AclType.MIXED_ETH_IPV4_IPV6},
            }[ver]
            if acl_type not in allowed:
                raise ValidationError(
                    f"{key} match in an ACL of type {acl_type}", reason="mud.ace.acl-type", path=(*mp, key)
                )
    transport = None
    for proto, number in (("tcp", 6), ("udp", 17)):
        if proto in matches:
            if transport is not None:
                raise ValidationError("both tcp and udp matches", reason="mud.ace.l4", path=(*mp, proto))
            transport = _parse_transport(matches[proto], (*mp, proto), proto, ctx)
            if ip is not None and ip.protocol is not None and ip.protocol != number:
                raise ValidationError(
                    f"{proto} match with IP protocol {ip.protocol}",
                    reason="mud.ace.protocol",
                    path=(*mp, proto),
                )
    icmp = None
    if "icmp" in matches:
        d = _obj(matches["icmp"], (*mp, "icmp"))
        _check_keys(d, {"type", "code"}, (*mp, "icmp"), ctx, ignorable=False)
        icmp = IcmpMatch(
            type=None if "type" not in d else _int(d["type"], (*mp, "icmp", "type"), 0, 255),
            code=None if "code" not in d else _int(d["code"], (*mp, "icmp", "code"), 0, 255),
        )
    if transport is not None and icmp is not None:
        raise ValidationError("icmp and tcp/udp matches together", reason="mud.ace.l4", path=(*mp, "icmp"))
    eth = _parse_eth(matches["eth"], (*mp, "eth"), ctx) if "eth" in matches else None
    mud = (
        _parse_mud_match(matches["ietf-mud:mud"], (*mp, "ietf-mud:mud"), ctx)
        if "ietf-mud:mud" in matches
        else None
    )
    return Ace(name=name, forwarding=forwarding, ip=ip, transport=transport, icmp=icmp, eth=eth, mud=mud)


def _parse_ip(raw: Any, p: Path, ver: int, ctx: _Ctx) -> IpMatch:
    d = _rename(
        _obj(raw, p),
        {"src-dnsname": "ietf-acldns:src-dnsname", "dst-dnsname": "ietf-acldns:dst-dnsname"},
        "member name",
        p,
        ctx,
    )
    src_key, dst_key = f"source-ipv{ver}-network", f"destination-ipv{ver}-network"
    _check_keys(
        d,
        {"protocol", src_key, dst_key, "ietf-acldns:src-dnsname", "ietf-acldns:dst-dnsname"},
        p,
        ctx,
        ignorable=False,
    )
    net: dict[str, str | None] = {}
    for key in (src_key, dst_key):
        if key in d:
            s = _str(d[key], (*p, key), max_len=64)
            try:
                n = ipaddress.ip_network(s, strict=True)
            except ValueError as err:
                raise ValidationError(
                    f"bad IPv{ver} prefix {s!r}", reason="mud.ace.network", path=(*p, key)
                ) from err
            if n.version != ver:
                raise ValidationError(f"not an IPv{ver} prefix", reason="mud.ace.network", path=(*p, key))
            net[key] = str(n)
    names: dict[str, str | None] = {}
    for key in ("ietf-acldns:src-dnsname", "ietf-acldns:dst-dnsname"):
        if key in d:
            h = _str(d[key], (*p, key), max_len=253)
            if not _HOST.match(h):  # inet:host (RFC 6991)
                raise ValidationError(f"bad DNS name {h!r}", reason="mud.ace.dnsname", path=(*p, key))
            names[key] = h.rstrip(".").lower()
    if net.get(src_key) and names.get("ietf-acldns:src-dnsname"):
        raise ValidationError("source network and source DNS name together", reason="mud.ace.ip", path=p)
    if net.get(dst_key) and names.get("ietf-acldns:dst-dnsname"):
        raise ValidationError("destination network and DNS name together", reason="mud.ace.ip", path=p)
    proto = None if "protocol" not in d else _int(d["protocol"], (*p, "protocol"), 0, 255)
    return IpMatch(
        version=ver,
        protocol=proto,
        src_network=net.get(src_key),
        dst_network=net.get(dst_key),
        src_dnsname=names.get("ietf-acldns:src-dnsname"),
        dst_dnsname=names.get("ietf-acldns:dst-dnsname"),
    )


def _parse_port(raw: Any, p: Path) -> PortMatch:
    d = _obj(raw, p)
    if "operator" in d or "port" in d:
        if set(d) - {"operator", "port"}:
            raise ValidationError("port match mixes operator and range", reason="mud.ace.port", path=p)
        op_raw = d.get("operator", "eq")
        try:
            op = PortOperator(op_raw)
        except ValueError as err:
            raise ValidationError(
                f"bad port operator {op_raw!r}", reason="mud.ace.port", path=(*p, "operator")
            ) from err
        return PortMatch(operator=op, port=_int(d.get("port"), (*p, "port"), 0, 65535))
    if "lower-port" in d and "upper-port" in d and len(d) == 2:
        lo = _int(d["lower-port"], (*p, "lower-port"), 0, 65535)
        hi = _int(d["upper-port"], (*p, "upper-port"), 0, 65535)
        if lo > hi:
            raise ValidationError("lower-port above upper-port", reason="mud.ace.port", path=p)
        return PortMatch(lower=lo, upper=hi)
    raise ValidationError(
        "port match needs operator/port or lower-port/upper-port", reason="mud.ace.port", path=p
    )


def _parse_transport(raw: Any, p: Path, proto: str, ctx: _Ctx) -> TransportMatch:
    renames = {
        "direction-initiated": "ietf-mud:direction-initiated",
        "source-port-range": "source-port",
        "destination-port-range": "destination-port",
    }
    d = _rename(_obj(raw, p), renames, "member name", p, ctx)
    allowed = {"source-port", "destination-port"} | (
        {"ietf-mud:direction-initiated"} if proto == "tcp" else set()
    )
    _check_keys(d, allowed, p, ctx, ignorable=False)
    direction = None
    if "ietf-mud:direction-initiated" in d:
        try:
            direction = Direction(d["ietf-mud:direction-initiated"])
        except ValueError as err:
            raise ValidationError(
                "direction-initiated must be from-device or to-device",
                reason="mud.ace.direction",
                path=(*p, "ietf-mud:direction-initiated"),
            ) from err
    parse: Callable[[str], PortMatch | None] = lambda k: _parse_port(d[k], (*p, k)) if k in d else None  # noqa: E731
    return TransportMatch(
        protocol=proto,
        src_port=parse("source-port"),
        dst_port=parse("destination-port"),
        direction_initiated=direction,
    )


def _parse_eth(raw: Any, p: Path, ctx: _Ctx) -> EthMatch:
    d = _obj(raw, p)
    _check_keys(d, {"ethertype", "source-mac-address", "destination-mac-address"}, p, ctx, ignorable=False)
    et = d.get("ethertype")
    ethertype = None
    if et is not None:
        try:
            ethertype = int(et, 16) if isinstance(et, str) else _int(et, (*p, "ethertype"), 0, 0xFFFF)
        except ValueError as err:
            raise ValidationError("bad ethertype", reason="mud.ace.eth", path=(*p, "ethertype")) from err
        if not 0 <= ethertype <= 0xFFFF:
            raise ValidationError("bad ethertype", reason="mud.ace.eth", path=(*p, "ethertype"))
    macs: dict[str, str | None] = {}
    for k in ("source-mac-address", "destination-mac-address"):
        if k in d:
            s = _str(d[k], (*p, k), max_len=17)
            if not _MAC.match(s):
                raise ValidationError("bad MAC address", reason="mud.ace.eth", path=(*p, k))
            macs[k] = s.lower()
    return EthMatch(
        ethertype=ethertype,
        src_mac=macs.get("source-mac-address"),
        dst_mac=macs.get("destination-mac-address"),
    )


def _parse_mud_match(raw: Any, p: Path, ctx: _Ctx) -> MudMatch:
    d = _obj(raw, p)
    _check_keys(
        d,
        {"manufacturer", "same-manufacturer", "model", "local-networks", "controller", "my-controller"},
        p,
        ctx,
        ignorable=False,
    )
    if len(d) != 1:  # RFC 8520 §4: the abstractions are a YANG choice: exactly one per ACE
        raise ValidationError("exactly one MUD abstraction per ACE", reason="mud.ace.abstraction", path=p)
    manufacturer = None
    if "manufacturer" in d:
        manufacturer = _str(d["manufacturer"], (*p, "manufacturer"), max_len=253)
        if not _HOST.match(manufacturer):
            raise ValidationError(
                "manufacturer must be a host name", reason="mud.ace.manufacturer", path=(*p, "manufacturer")
            )
        manufacturer = manufacturer.lower()
    model = None
    if "model" in d:
        model = check_mud_url(d["model"], path=(*p, "model"))
    controller = None
    if "controller" in d:
        controller = _str(d["controller"], (*p, "controller"), max_len=2048)
        if ":" not in controller:  # inet:uri: a scheme is required (URN or URL)
            raise ValidationError(
                "controller must be a URI", reason="mud.ace.controller", path=(*p, "controller")
            )
    return MudMatch(
        manufacturer=manufacturer,
        model=model,
        controller=controller,
        same_manufacturer="same-manufacturer" in d
        and _empty_leaf(d["same-manufacturer"], (*p, "same-manufacturer"), ctx),
        local_networks="local-networks" in d
        and _empty_leaf(d["local-networks"], (*p, "local-networks"), ctx),
        my_controller="my-controller" in d and _empty_leaf(d["my-controller"], (*p, "my-controller"), ctx),
    )
