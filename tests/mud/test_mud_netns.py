"""Real enforcement: compiled MUD rules in a router namespace, real TCP/UDP through it (root)."""

from __future__ import annotations

from typing import Any

import pytest
from mud_lab import Lab, v4, v6

from iotsec.adapters.nftables import Nftables
from iotsec.core.mud.compiler import Device, Environment, StaticResolver, compile_policy
from iotsec.core.mud.parser import parse_mud
from iotsec.errors import NotFoundError

pytestmark = pytest.mark.netns

URL = "https://devices.example.com/thermo/v1.json"
PEER_URL = "https://devices.example.com/display/v1.json"  # same manufacturer (authority)


def _ace(name: str, matches: dict[str, Any], fwd: str = "accept") -> dict[str, Any]:
    return {"name": name, "matches": matches, "actions": {"forwarding": fwd}}


def _thermostat_aces(direction: str) -> list[dict[str, Any]]:
    """The thermostat's ACEs for DIRECTION ("from-device" or "to-device"): the two lists mirror
    each other. From the device the cloud is the destination and the display is answered from the
    thermostat's port 8080; towards the device the cloud is the source and the display connects to
    port 8080."""
    out = direction == "from-device"
    cloud = "ietf-acldns:dst-dnsname" if out else "ietf-acldns:src-dnsname"
    cloud_port = "destination-port" if out else "source-port"
    own_port = "source-port" if out else "destination-port"
    return [
        _ace(
            "cloud-https",
            {
                "ipv4": {cloud: "cloud.example.com", "protocol": 6},
                "tcp": {
                    "ietf-mud:direction-initiated": "from-device",
                    cloud_port: {"operator": "eq", "port": 443},
                },
            },
        ),
        _ace(
            "cloud-coap",
            {
                "ipv4": {cloud: "cloud.example.com", "protocol": 17},
                "udp": {cloud_port: {"operator": "eq", "port": 5683}},
            },
        ),
        _ace(
            "display-reply" if out else "display-in",
            {
                "ietf-mud:mud": {"same-manufacturer": [None]},
                "ipv4": {"protocol": 6},
                "tcp": {
                    "ietf-mud:direction-initiated": "to-device",
                    own_port: {"operator": "eq", "port": 8080},
                },
            },
        ),
    ]


def thermostat_mud() -> dict[str, Any]:
    """Cloud TCP 443 (device-initiated), CoAP UDP 5683 to the cloud, and a same-manufacturer display
    that may open TCP 8080 to the thermostat (to-device initiated). Nothing else."""
    fr = _thermostat_aces("from-device")
    to = _thermostat_aces("to-device")
    return {
        "ietf-mud:mud": {
            "mud-version": 1,
            "mud-url": URL,
            "last-update": "2026-11-01T10:00:00+00:00",
            "cache-validity": 48,
            "is-supported": True,
            "systeminfo": "Test thermostat",
            "from-device-policy": {"access-lists": {"access-list": [{"name": "thermo-v4fr"}]}},
            "to-device-policy": {"access-lists": {"access-list": [{"name": "thermo-v4to"}]}},
        },
        "ietf-access-control-list:acls": {
            "acl": [
                {"name": "thermo-v4fr", "type": "ipv4-acl-type", "aces": {"ace": fr}},
                {"name": "thermo-v4to", "type": "ipv4-acl-type", "aces": {"ace": to}},
            ]
        },
    }


def test_mud_policy_is_enforced_both_directions_and_removed(lab: Lab) -> None:
    nft = Nftables(netns=lab.router)
    before = lab.nft_ruleset()
    cloud, bad, peer, dev = v4("cloud"), v4("bad"), v4("peer"), v4("dev")
    # without a policy everything flows (the lab itself works)
    assert lab.probe("dev", [("tcp", bad, 443), ("udp", bad, 5683), ("tcp", cloud, 8443)]) == [
        True,
        True,
        True,
    ]
    assert lab.probe("bad", [("tcp", dev, 8080)]) == [True]

    mud = parse_mud(thermostat_mud()).mud
    device = Device("thermo1", URL, ipv4=(dev,))
    env = Environment(devices=(device, Device("display1", PEER_URL, ipv4=(peer,))))
    policy = compile_policy(mud, device, env, StaticResolver({"cloud.example.com": [cloud]}))
    nft.apply(policy)
    assert nft.devices() == ["thermo1"]

    # from the device: only the cloud on TCP 443 and UDP 5683
    assert lab.probe(
        "dev",
        [
            ("tcp", cloud, 443),
            ("udp", cloud, 5683),  # allowed
            ("tcp", bad, 443),
            ("udp", bad, 5683),  # forbidden host
            ("tcp", cloud, 8443),
            ("udp", cloud, 5684),  # allowed host, other ports
            ("tcp", peer, 8080),  # the display may connect to the device, not the other way round
        ],
    ) == [True, True, False, False, False, False, False]
    # towards the device: the cloud may not initiate (direction-initiated from-device), the
    # forbidden host gets nothing, the same-manufacturer display may open TCP 8080
    assert lab.probe("cloud", [("tcp", dev, 443), ("tcp", dev, 8080), ("udp", dev, 5684)]) == [
        False,
        False,
        False,
    ]
    assert lab.probe("bad", [("tcp", dev, 8080), ("udp", dev, 5683)]) == [False, False]
    assert lab.probe("peer", [("tcp", dev, 8080), ("tcp", dev, 443)]) == [True, False]
    # traffic not involving the device is untouched
    assert lab.probe("peer", [("tcp", bad, 443)]) == [True]

    nft.remove(device)
    assert nft.devices() == []
    assert lab.nft_ruleset() == before
    assert lab.probe("dev", [("tcp", bad, 443), ("udp", bad, 5683)]) == [True, True]
    with pytest.raises(NotFoundError):
        nft.remove(device)


def test_mud_rfc8520_example_enforced_over_ipv6(lab: Lab, rfc8520_example: bytes) -> None:
    """The §9 example: the bulb may open TCP 443 to test.example.com (and get the replies), IPv6 only."""
    nft = Nftables(netns=lab.router)
    mud = parse_mud(rfc8520_example).mud
    device = Device("bulb", mud.mud_url, ipv4=(v4("dev"),), ipv6=(v6("dev"),))
    policy = compile_policy(mud, device, Environment(), StaticResolver({"test.example.com": [v6("cloud")]}))
    nft.apply(policy)
    try:
        assert lab.probe(
            "dev",
            [
                ("tcp", v6("cloud"), 443),
                ("tcp", v6("cloud"), 8443),
                ("tcp", v6("bad"), 443),
                ("tcp", v4("cloud"), 443),  # the file has IPv6 ACLs only: IPv4 falls to default deny
            ],
        ) == [True, False, False, False]
        assert lab.probe("cloud", [("tcp", v6("dev"), 443)]) == [False]
        # re-applying replaces atomically (same table, same behaviour)
        nft.apply(policy)
        assert lab.probe("dev", [("tcp", v6("cloud"), 443)]) == [True]
    finally:
        nft.remove(device)
    assert lab.probe("dev", [("tcp", v6("bad"), 443)]) == [True]


def test_mud_nft_state_address_change_and_last_removal() -> None:
    """Dispatch-map bookkeeping with the real nft: an address change, two devices, removal order."""
    import subprocess
    import uuid

    from mud_lab import available

    if available():
        pytest.skip(f"needs root, ip and nft ({available()})")
    ns = f"iotsec-mud-{uuid.uuid4().hex[:8]}-st"
    subprocess.run(["ip", "netns", "add", ns], check=True, timeout=20)
    try:
        nft = Nftables(netns=ns)
        mud = parse_mud(thermostat_mud()).mud
        res = StaticResolver({"cloud.example.com": ["10.213.3.2"]})
        a2 = Device("a", URL, ipv4=("10.9.0.2", "10.9.0.3"))
        nft.apply(compile_policy(mud, a2, Environment(), res))
        nft.apply(compile_policy(mud, Device("b", URL, ipv4=("10.9.0.9",)), Environment(), res))
        assert nft._state()[1]["a"] == (["10.9.0.2", "10.9.0.3"], [])
        # the device keeps one address: the other leaves the maps in the same transaction
        nft.apply(compile_policy(mud, Device("a", URL, ipv4=("10.9.0.3",)), Environment(), res))
        assert nft._state()[1]["a"] == (["10.9.0.3"], [])
        assert nft.devices() == ["a", "b"]
        nft.remove_id("a")
        assert nft.devices() == ["b"] and "a" not in nft._state()[1]
        nft.remove_id("b")  # the last one: the table goes
        assert "iotsec_mud" not in nft.ruleset()
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False, timeout=20)


def test_mud_icmp_ace_is_enforced(lab: Lab) -> None:
    """An ICMP ACE (RFC 8519 icmp match): echo to the cloud and its replies pass, nothing else."""

    def pings(dst: str) -> bool:
        return lab.ping("dev", dst)

    cloud, bad = v4("cloud"), v4("bad")
    doc = thermostat_mud()
    acls = doc["ietf-access-control-list:acls"]["acl"]
    acls[0]["aces"]["ace"] = [
        _ace(
            "echo", {"ipv4": {"destination-ipv4-network": f"{cloud}/32", "protocol": 1}, "icmp": {"type": 8}}
        )
    ]
    acls[1]["aces"]["ace"] = [
        _ace(
            "echo-reply", {"ipv4": {"source-ipv4-network": f"{cloud}/32", "protocol": 1}, "icmp": {"type": 0}}
        )
    ]
    assert pings(cloud) and pings(bad)
    mud = parse_mud(doc).mud
    device = Device("pinger", URL, ipv4=(v4("dev"),))
    nft = Nftables(netns=lab.router)
    nft.apply(compile_policy(mud, device, Environment(), StaticResolver({})))
    try:
        assert pings(cloud)
        assert not pings(bad)
        assert lab.probe("dev", [("tcp", cloud, 443)]) == [False]  # only ICMP is allowed
    finally:
        nft.remove(device)
    assert pings(bad)
