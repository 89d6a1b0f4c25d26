"""The MUD data model (RFC 8520 §2-§4, with the RFC 8519 ACL model and the ietf-acldns names).

Plain frozen dataclasses; the JSON form (RFC 7951 encoding of the YANG modules) is read by
:mod:`iotsec.core.mud.parser` and written by :func:`iotsec.core.mud.parser.to_json`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Direction(StrEnum):
    """``ietf-mud:direction`` (RFC 8520 §4.8 direction-initiated)."""

    FROM_DEVICE = "from-device"
    TO_DEVICE = "to-device"


class Forwarding(StrEnum):
    """RFC 8519 §4.1 ``forwarding-action`` identities."""

    ACCEPT = "accept"
    DROP = "drop"
    REJECT = "reject"


class AclType(StrEnum):
    """RFC 8519 §4.1 ``acl-base`` identities (the MUD subset plus the mixed types)."""

    IPV4 = "ipv4-acl-type"
    IPV6 = "ipv6-acl-type"
    ETH = "eth-acl-type"
    MIXED_ETH_IPV4 = "mixed-eth-ipv4-acl-type"
    MIXED_ETH_IPV6 = "mixed-eth-ipv6-acl-type"
    MIXED_ETH_IPV4_IPV6 = "mixed-eth-ipv4-ipv6-acl-type"


class PortOperator(StrEnum):
    """RFC 8519 / RFC 8294 ``port-range-or-operator`` operators."""

    EQ = "eq"
    LTE = "lte"
    GTE = "gte"
    NEQ = "neq"


@dataclass(frozen=True)
class PortMatch:
    """Either ``operator`` + ``port`` or an inclusive ``lower``..``upper`` range (RFC 8519 §4.1)."""

    operator: PortOperator | None = None
    port: int | None = None
    lower: int | None = None
    upper: int | None = None


@dataclass(frozen=True)
class MudMatch:
    """The ``ietf-mud:mud`` augmentation of ACE matches (RFC 8520 §4.1-§4.7)."""

    manufacturer: str | None = None  # inet:host: devices whose MUD URL authority is this host
    same_manufacturer: bool = False  # devices whose MUD URL has this file's authority
    model: str | None = None  # inet:uri: devices whose MUD URL is exactly this
    local_networks: bool = False  # any address in the local networks
    controller: str | None = None  # inet:uri: a class of controllers configured locally
    my_controller: bool = False  # the controllers configured for this MUD URL

    def is_empty(self) -> bool:
        """True if no abstraction is set."""
        return self == MudMatch()


@dataclass(frozen=True)
class IpMatch:
    """The ``ipv4``/``ipv6`` match container (RFC 8519) with ``ietf-acldns`` names (RFC 8520 §6)."""

    version: int  # 4 or 6
    protocol: int | None = None
    src_network: str | None = None
    dst_network: str | None = None
    src_dnsname: str | None = None
    dst_dnsname: str | None = None


@dataclass(frozen=True)
class TransportMatch:
    """The ``tcp``/``udp`` match container; ``direction_initiated`` is TCP only (RFC 8520 §4.8)."""

    protocol: str  # "tcp" or "udp"
    src_port: PortMatch | None = None
    dst_port: PortMatch | None = None
    direction_initiated: Direction | None = None


@dataclass(frozen=True)
class IcmpMatch:
    """The ``icmp`` match container (RFC 8519 §4.1): type and code."""

    type: int | None = None
    code: int | None = None


@dataclass(frozen=True)
class EthMatch:
    """The ``eth`` match container (RFC 8519 §4.1): ethertype and MAC addresses."""

    ethertype: int | None = None
    src_mac: str | None = None
    dst_mac: str | None = None


@dataclass(frozen=True)
class Ace:
    """One access-control entry: all present matches must hold (RFC 8519 §2)."""

    name: str
    forwarding: Forwarding
    ip: IpMatch | None = None
    transport: TransportMatch | None = None
    icmp: IcmpMatch | None = None
    eth: EthMatch | None = None
    mud: MudMatch | None = None


@dataclass(frozen=True)
class Acl:
    """One access list (RFC 8519 §4.1 ``acl``): its ACEs are evaluated in order."""

    name: str
    type: AclType
    aces: tuple[Ace, ...]


@dataclass(frozen=True)
class MudFile:
    """A parsed, validated MUD file (RFC 8520 §3)."""

    mud_url: str
    last_update: str
    is_supported: bool
    from_device: tuple[str, ...]
    to_device: tuple[str, ...]
    acls: tuple[Acl, ...]
    mud_version: int = 1
    cache_validity: int = 48  # hours, 1..168 (RFC 8520 §3.5)
    mud_signature: str | None = None
    systeminfo: str | None = None
    mfg_name: str | None = None
    model_name: str | None = None
    firmware_rev: str | None = None
    software_rev: str | None = None
    documentation: str | None = None
    extensions: tuple[str, ...] = ()

    def acl(self, name: str) -> Acl:
        """The ACL called ``name`` (the parser guarantees every policy reference exists)."""
        for a in self.acls:
            if a.name == name:
                return a
        raise LookupError(name)

    def policy(self, direction: Direction) -> tuple[Acl, ...]:
        """The ACLs of the from-device or to-device policy, in order (RFC 8520 §3.3)."""
        names = self.from_device if direction is Direction.FROM_DEVICE else self.to_device
        return tuple(self.acl(n) for n in names)

    def ace_count(self) -> int:
        """The number of ACEs over all ACLs."""
        return sum(len(a.aces) for a in self.acls)


@dataclass(frozen=True)
class Finding:
    """Something the parser accepted but reports (lenient translations, ignored extension nodes)."""

    id: str
    message: str
    path: str = "/"
    severity: str = "warning"


@dataclass(frozen=True)
class MudDocument:
    """The result of parsing: the model and what the parser had to say about the input."""

    mud: MudFile
    findings: tuple[Finding, ...] = field(default=())
