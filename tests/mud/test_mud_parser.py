"""Parser/validator (strict and lenient), JSON writer, builder and compiler, without a network."""

from __future__ import annotations

import contextlib
import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iotsec.core.mud.builder import build_mud, load_profile
from iotsec.core.mud.compiler import Device, Environment, StaticResolver, compile_policy
from iotsec.core.mud.model import AclType, Direction, Forwarding, PortOperator
from iotsec.core.mud.nft import render_remove, render_ruleset
from iotsec.core.mud.parser import parse_mud
from iotsec.core.mud.serialize import to_json
from iotsec.core.mud.url import signature_url
from iotsec.errors import DecodeError, IotSecError, ValidationError


def test_mud_rfc8520_example_parses(rfc8520_example: bytes) -> None:
    doc = parse_mud(rfc8520_example)
    m = doc.mud
    assert doc.findings == ()
    assert (m.mud_url, m.cache_validity, m.is_supported, m.systeminfo) == (
        "https://lighting.example.com/lightbulb2000",
        48,
        True,
        "The BMS Example Light Bulb",
    )
    assert m.from_device == ("mud-76100-v6fr",) and m.to_device == ("mud-76100-v6to",)
    fr = m.policy(Direction.FROM_DEVICE)[0]
    assert fr.type is AclType.IPV6
    ace = fr.aces[0]
    assert ace.name == "cl0-frdev" and ace.forwarding is Forwarding.ACCEPT
    assert ace.ip is not None and ace.ip.dst_dnsname == "test.example.com" and ace.ip.protocol == 6
    assert ace.transport is not None and ace.transport.direction_initiated is Direction.FROM_DEVICE
    assert ace.transport.dst_port is not None and ace.transport.dst_port.operator is PortOperator.EQ
    assert ace.transport.dst_port.port == 443
    # the writer gives back the same JSON object
    assert json.loads(to_json(m)) == json.loads(rfc8520_example)


def test_mud_rfc8520_example_compiles(rfc8520_example: bytes) -> None:
    m = parse_mud(rfc8520_example).mud
    dev = Device("bulb", m.mud_url, ipv4=("192.0.2.10",), ipv6=("2001:db8::10",))
    pol = compile_policy(m, dev, Environment(), StaticResolver({"test.example.com": ["2001:db8:1::443"]}))
    text = render_ruleset(pol)
    # expected rules written from the RFC text, not from the compiler
    assert (
        "ip6 daddr 2001:db8:1::443 meta l4proto tcp tcp dport 443 ct direction original counter return"
        in text
    )
    assert (
        "ip6 saddr 2001:db8:1::443 meta l4proto tcp tcp sport 443 ct direction reply counter return" in text
    )
    assert text.count('counter drop comment "default deny"') == 2
    assert "add element inet iotsec_mud from4 { 192.0.2.10 : jump d_bulb_from }" in text
    assert "add element inet iotsec_mud to6 { 2001:db8::10 : jump d_bulb_to }" in text
    assert render_remove("bulb", ("192.0.2.10",)) == (
        "delete element inet iotsec_mud from4 { 192.0.2.10 }\n"
        "delete element inet iotsec_mud to4 { 192.0.2.10 }\n"
        "flush chain inet iotsec_mud d_bulb_from\ndelete chain inet iotsec_mud d_bulb_from\n"
        "flush chain inet iotsec_mud d_bulb_to\ndelete chain inet iotsec_mud d_bulb_to\n"
    )
    assert render_remove("bulb", last=True) == "delete table inet iotsec_mud\n"
    # a name that does not resolve leaves the ACE out (nothing is allowed) and says so
    pol2 = compile_policy(m, dev, Environment(), StaticResolver({}))
    assert pol2.intents == () and {f.id for f in pol2.findings} == {"mud.compile.unresolved"}


def _example(raw: bytes) -> dict[str, Any]:
    d: dict[str, Any] = json.loads(raw)
    return d


@pytest.mark.parametrize(
    "mutate,err,reason",
    [
        (
            lambda d: d["ietf-mud:mud"].update({"mud-url": "http://lighting.example.com/lightbulb2000"}),
            ValidationError,
            "mud.url.not-https",
        ),
        (lambda d: d["ietf-mud:mud"].pop("mud-url"), ValidationError, "mud.missing"),
        (lambda d: d["ietf-mud:mud"].update({"mud-version": 2}), ValidationError, "mud.version"),
        (lambda d: d["ietf-mud:mud"].update({"cache-validity": 169}), ValidationError, "mud.type.integer"),
        (lambda d: d["ietf-mud:mud"].update({"cache-validity": 0}), ValidationError, "mud.type.integer"),
        (lambda d: d["ietf-mud:mud"].update({"is-supported": "yes"}), ValidationError, "mud.type.boolean"),
        (
            lambda d: d["ietf-mud:mud"].update({"last-update": "yesterday"}),
            ValidationError,
            "mud.last-update",
        ),
        (
            lambda d: d["ietf-mud:mud"]["from-device-policy"]["access-lists"]["access-list"][0].update(
                {"name": "nope"}
            ),
            ValidationError,
            "mud.policy.dangling",
        ),
        (
            lambda d: d["ietf-access-control-list:acls"]["acl"][1].update({"type": "ipv4-acl-type"}),
            ValidationError,
            "mud.ace.acl-type",
        ),
        (
            lambda d: d["ietf-access-control-list:acls"]["acl"][1]["aces"]["ace"][0]["matches"]["tcp"][
                "destination-port"
            ].update({"port": 70000}),
            ValidationError,
            "mud.type.integer",
        ),
        (
            lambda d: d["ietf-access-control-list:acls"]["acl"][1]["aces"]["ace"][0]["matches"].update(
                {"ipv4-flow-label": {}}
            ),
            ValidationError,
            "mud.ace.match",
        ),
        (
            lambda d: d["ietf-access-control-list:acls"]["acl"][1]["aces"]["ace"][0]["matches"][
                "ipv6"
            ].update({"protocol": 17}),
            ValidationError,
            "mud.ace.protocol",
        ),
        (
            lambda d: d["ietf-access-control-list:acls"]["acl"][1]["aces"]["ace"][0]["actions"].update(
                {"forwarding": "maybe"}
            ),
            ValidationError,
            "mud.ace.forwarding",
        ),
        (
            lambda d: d["ietf-access-control-list:acls"]["acl"][1]["aces"]["ace"][0]["matches"][
                "ipv6"
            ].update({"ietf-acldns:dst-dnsname": "bad name!"}),
            ValidationError,
            "mud.ace.dnsname",
        ),
        (
            lambda d: d["ietf-access-control-list:acls"]["acl"].append(
                copy.deepcopy(d["ietf-access-control-list:acls"]["acl"][0])
            ),
            ValidationError,
            "mud.acl.duplicate",
        ),
        (lambda d: d["ietf-mud:mud"].update({"surprise": 1}), ValidationError, "mud.unknown-member"),
    ],
)
def test_mud_malformed_files_refused(
    rfc8520_example: bytes, mutate: Any, err: type[Exception], reason: str
) -> None:
    d = _example(rfc8520_example)
    mutate(d)
    with pytest.raises(err) as e:
        parse_mud(json.dumps(d).encode())
    assert e.value.reason == reason  # type: ignore[attr-defined]
    assert str(e.value)  # a clear message


@pytest.mark.parametrize(
    "raw,reason",
    [
        (b"", "mud.json.malformed"),
        (b"{", "mud.json.malformed"),
        (b'{"a": 1} x', "mud.json.malformed"),
        (b'{"a": 1, "a": 2}', "mud.json.duplicate"),
        (b'{"a": NaN}', "mud.json.constant"),
        (b"\xff\xfe{}", "mud.json.utf8"),
        (b"[" * 100000 + b"]" * 100000, "mud.json.depth"),
    ],
)
def test_mud_not_json_refused(raw: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as e:
        parse_mud(raw)
    assert e.value.reason == reason


def test_mud_oversized_refused() -> None:
    with pytest.raises(DecodeError) as e:
        parse_mud(b" " * 100, max_bytes=99)
    assert e.value.reason == "mud.json.size"


LEGACY = {  # pre-RFC names as MUD files in the wild still have them (written for this test)
    "ietf-mud:mud": {
        "mud-version": 1,
        "mud-url": "https://maker.example.net/cam",
        "last-update": "2018-09-27T12:55:18+10:00",
        "cache-validity": 100,
        "is-supported": True,
        "systeminfo": "camera",
        "from-device-policy": {"access-lists": {"access-list": [{"name": "from-ipv4-cam"}]}},
        "to-device-policy": {"access-lists": {"access-list": [{"name": "to-ipv4-cam"}]}},
    },
    "ietf-access-control-list:access-lists": {
        "acl": [
            {
                "name": "from-ipv4-cam",
                "acl-type": "ipv4-acl",
                "aces": {
                    "ace": [
                        {
                            "name": "f0",
                            "matches": {
                                "ipv4-acl": {"protocol": 6, "dst-dnsname": "cloud.maker.example.net"},
                                "tcp-acl": {
                                    "destination-port-range": {"lower-port": 443, "upper-port": 443},
                                    "direction-initiated": "from-device",
                                },
                            },
                            "actions": {"forwarding": "accept"},
                        },
                        {
                            "name": "f1",
                            "matches": {"ietf-mud:mud": {"local-networks": True}, "ipv4": {"protocol": 17}},
                            "actions": {"forwarding": "accept"},
                        },
                    ]
                },
            },
            {
                "name": "to-ipv4-cam",
                "type": "ipv4-acl-type",
                "aces": {
                    "ace": [
                        {
                            "name": "t0",
                            "matches": {
                                "ipv4": {"protocol": 6, "ietf-acldns:src-dnsname": "cloud.maker.example.net"},
                                "tcp": {
                                    "source-port": {"operator": "eq", "port": 443},
                                    "ietf-mud:direction-initiated": "from-device",
                                },
                            },
                            "actions": {"forwarding": "accept"},
                        }
                    ]
                },
            },
        ]
    },
}


def test_mud_legacy_names_strict_refuses_lenient_reports() -> None:
    with pytest.raises(ValidationError) as e:
        parse_mud(json.dumps(LEGACY))
    assert e.value.reason == "mud.legacy" and "lenient" in str(e.value)
    doc = parse_mud(json.dumps(LEGACY), lenient=True)
    ids = {f.id for f in doc.findings}
    assert {
        "mud.lenient.member-name",
        "mud.lenient.acl-type",
        "mud.lenient.match-container",
        "mud.lenient.empty-leaf-encoding",
    } <= ids
    f0 = doc.mud.acls[0].aces[0]
    assert doc.mud.acls[0].type is AclType.IPV4
    assert f0.ip is not None and f0.ip.dst_dnsname == "cloud.maker.example.net"
    assert f0.transport is not None and f0.transport.dst_port is not None
    assert (f0.transport.dst_port.lower, f0.transport.dst_port.upper) == (443, 443)
    assert doc.mud.acls[0].aces[1].mud is not None and doc.mud.acls[0].aces[1].mud.local_networks
    # what the lenient parser produced is a valid RFC 8520 file
    assert parse_mud(to_json(doc.mud)).findings == ()


def test_mud_signature_url() -> None:
    assert signature_url("https://a.example/x/dev.json", None) == "https://a.example/x/dev.p7s"
    assert signature_url("https://a.example/x/dev", None) == "https://a.example/x/dev.p7s"
    assert (
        signature_url("https://a.example/x/dev.json", "https://b.example/s.p7s") == "https://b.example/s.p7s"
    )
    with pytest.raises(ValidationError):
        signature_url("https://a.example/x/dev.json", "http://b.example/s.p7s")


PROFILE = """
mud-url: https://devices.example.com/thermo/v1.json
systeminfo: Example thermostat
mfg-name: Example Devices
model-name: thermo-1
ip-versions: [4]
allow:
  - name: cloud
    cloud: cloud.example.com
    proto: tcp
    port: 443
  - name: display
    same-manufacturer: true
    proto: tcp
    port: 8080
    initiated-by: remote
  - name: dns
    controller: urn:ietf:params:mud:dns
    proto: udp
    port: 53
"""


def test_mud_builder_profile() -> None:
    mud = build_mud(load_profile(PROFILE), last_update="2026-11-26T12:00:00+00:00")
    d = json.loads(to_json(mud))
    acls = {a["name"]: a for a in d["ietf-access-control-list:acls"]["acl"]}
    assert set(acls) == {"mud-thermo-1-v4fr", "mud-thermo-1-v4to"}
    fr = {a["name"]: a["matches"] for a in acls["mud-thermo-1-v4fr"]["aces"]["ace"]}
    to = {a["name"]: a["matches"] for a in acls["mud-thermo-1-v4to"]["aces"]["ace"]}
    assert fr["cloud-fr"] == {
        "ipv4": {"ietf-acldns:dst-dnsname": "cloud.example.com", "protocol": 6},
        "tcp": {
            "ietf-mud:direction-initiated": "from-device",
            "destination-port": {"operator": "eq", "port": 443},
        },
    }
    assert to["display-to"] == {
        "ietf-mud:mud": {"same-manufacturer": [None]},
        "ipv4": {"protocol": 6},
        "tcp": {
            "ietf-mud:direction-initiated": "to-device",
            "destination-port": {"operator": "eq", "port": 8080},
        },
    }
    assert fr["dns-fr"] == {
        "ietf-mud:mud": {"controller": "urn:ietf:params:mud:dns"},
        "ipv4": {"protocol": 17},
        "udp": {"destination-port": {"operator": "eq", "port": 53}},
    }
    assert d["ietf-mud:mud"]["last-update"] == "2026-11-26T12:00:00+00:00"


@pytest.mark.parametrize(
    "bad",
    [
        "mud-url: http://x.example/a\n",
        "allow: []\n",
        "mud-url: https://x.example/a\nallow:\n  - cloud: a.example\n    port: 80\n",
        "mud-url: https://x.example/a\nallow:\n  - cloud: a.example\n    same-manufacturer: true\n",
        "mud-url: https://x.example/a\nallow:\n  - proto: tcp\n    port: 0\n",
        "mud-url: https://x.example/a\nbogus: 1\n",
        "- just a list\n",
        "mud-url: [unclosed\n",
    ],
)
def test_mud_builder_refuses_bad_profiles(bad: str) -> None:
    with pytest.raises(IotSecError):
        build_mud(load_profile(bad), last_update="2026-11-26T12:00:00+00:00")


def test_mud_compiler_resolves_abstractions() -> None:
    mud = build_mud(
        load_profile(
            PROFILE
            + """
  - name: ctl
    my-controller: true
    proto: tcp
    port: 8883
  - name: lan
    local-networks: true
    proto: udp
    port: 5353
  - name: other
    manufacturer: other.example.org
    proto: tcp
    port: 9000
  - name: cam
    model: https://other.example.org/cam.json
    proto: tcp
    port: 554
"""
        ),
        last_update="2026-11-26T12:00:00+00:00",
    )
    me = Device("t1", mud.mud_url, ipv4=("10.0.0.2",))
    env = Environment(
        local_networks=("10.0.0.0/24", "fd00::/64"),
        controllers={"urn:ietf:params:mud:dns": ("10.0.0.53",)},
        my_controllers={mud.mud_url: ("10.0.0.8",)},
        devices=(
            me,
            Device("d2", "https://devices.example.com/display/v2.json", ipv4=("10.0.0.3",)),
            Device("d3", "https://other.example.org/cam.json", ipv4=("10.0.0.4",)),
            Device("d4", "https://other.example.org/plug.json", ipv4=("10.0.0.5",)),
        ),
    )
    pol = compile_policy(mud, me, env, StaticResolver({"cloud.example.com": ["198.51.100.7"]}))
    peers = {(i.ace, i.direction.value): i.peer for i in pol.intents}
    assert peers[("cloud-fr", "from-device")] == (("198.51.100.7",),)
    assert peers[("display-to", "to-device")] == (("10.0.0.3",),)  # same manufacturer, not itself
    assert peers[("dns-fr", "from-device")] == (("10.0.0.53",),)
    assert peers[("ctl-fr", "from-device")] == (("10.0.0.8",),)
    assert peers[("lan-fr", "from-device")] == (("10.0.0.0/24",),)
    assert peers[("other-fr", "from-device")] == (("10.0.0.4", "10.0.0.5"),)
    assert peers[("cam-fr", "from-device")] == (("10.0.0.4",),)
    # without the environment every abstraction is unresolved: no intent but cloud, with findings
    pol2 = compile_policy(mud, me, Environment(), StaticResolver({"cloud.example.com": ["198.51.100.7"]}))
    assert {i.ace for i in pol2.intents} == {"cloud-fr", "cloud-to"}
    assert len(pol2.findings) == 12


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 70000) | st.text(max_size=20),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=12), c, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_mud_parser_random_json_typed_errors(value: Any) -> None:
    with contextlib.suppress(IotSecError):
        parse_mud(json.dumps(value).encode())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mud_parser_mutated_example_typed_errors(data: st.DataObject) -> None:
    from pathlib import Path

    raw = (
        Path(__file__).resolve().parent.parent / "vectors" / "rfc8520" / "rfc8520-section9.json"
    ).read_bytes()
    doc = json.loads(raw)
    # replace one node anywhere in the tree with a random JSON value
    paths: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k in node:
                paths.append((node, k))
                walk(node[k])
        elif isinstance(node, list):
            for i in range(len(node)):
                paths.append((node, i))
                walk(node[i])

    walk(doc)
    parent, key = data.draw(st.sampled_from(paths))
    parent[key] = data.draw(json_values)
    lenient = data.draw(st.booleans())
    try:
        m = parse_mud(json.dumps(doc).encode(), lenient=lenient).mud
    except IotSecError:
        return
    parse_mud(to_json(m))  # whatever is accepted is written back as a valid file


def test_mud_eth_matches_never_widen(rfc8520_example: bytes) -> None:
    d = json.loads(rfc8520_example)
    acl = d["ietf-access-control-list:acls"]["acl"][1]
    acl["type"] = "mixed-eth-ipv6-acl-type"
    deny = {
        "name": "deny-eth",
        "matches": {"eth": {"ethertype": "86dd"}, "ipv6": {"protocol": 17}},
        "actions": {"forwarding": "drop"},
    }
    allow = {
        "name": "allow-eth",
        "matches": {"eth": {"ethertype": "888e"}},
        "actions": {"forwarding": "accept"},
    }
    acl["aces"]["ace"] = [deny, allow, *acl["aces"]["ace"]]
    mud = parse_mud(json.dumps(d)).mud
    dev = Device("bulb", mud.mud_url, ipv6=("2001:db8::10",))
    pol = compile_policy(mud, dev, Environment(), StaticResolver({"test.example.com": ["2001:db8::443"]}))
    fr = [i for i in pol.intents if i.direction is Direction.FROM_DEVICE]
    # the drop stays (without its Ethernet condition: it drops more), the Ethernet accept goes
    assert [(i.ace, i.verdict) for i in fr] == [
        ("deny-eth", Forwarding.DROP),
        ("cl0-frdev", Forwarding.ACCEPT),
    ]
    assert {f.id for f in pol.findings} == {"mud.compile.eth", "mud.compile.eth-widened"}


rule_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 70000),
    st.text(max_size=30),
    st.lists(st.integers(0, 10), max_size=3),
)
# the peers a rule can name, as the user documentation lists them (not the builder's own table)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "mud.md"


def documented_peers() -> list[str]:
    text = DOCS.read_text()
    sentence = text[text.index("Peers a rule can name:") :].split(". ")[0]
    return re.findall(r"`([a-z-]+)`", sentence)


# a valid value for each documented peer
PEER_VALUES: dict[str, object] = {
    "cloud": "a.example.com",
    "network": "10.0.0.0/8",
    "controller": "urn:ietf:params:mud:dns",
    "my-controller": True,
    "local-networks": True,
    "same-manufacturer": True,
    "manufacturer": "m.example.com",
    "model": "https://m.example.com/a.json",
}


def test_mud_builder_takes_every_documented_peer() -> None:
    """docs/mud.md: each peer it lists makes a rule, with a TCP port, into a valid MUD file."""
    peers = documented_peers()
    assert sorted(peers) == sorted(PEER_VALUES)
    for peer in peers:
        rule = {"name": "r", peer: PEER_VALUES[peer], "proto": "tcp", "port": 443}
        profile = {"mud-url": "https://devices.example.com/x.json", "allow": [rule], "ip-versions": [4]}
        mud = build_mud(profile, last_update="2026-11-26T12:00:00+00:00")
        assert [[ace.name for ace in acl.aces] for acl in mud.acls] == [["r-fr"], ["r-to"]], peer
        assert parse_mud(to_json(mud)).mud == mud


rule_keys = st.sampled_from([*documented_peers(), "proto", "port", "initiated-by", "name", "bogus"])


peer_entries = st.one_of(
    st.fixed_dictionaries({"cloud": st.sampled_from(["a.example.com", "x", "bad name", "b.example.org."])}),
    st.fixed_dictionaries(
        {"network": st.sampled_from(["10.0.0.0/8", "2001:db8::/32", "10.0.0.1/8", "nope"])}
    ),
    st.fixed_dictionaries({"controller": st.sampled_from(["urn:ietf:params:mud:dns", "nocolon"])}),
    st.fixed_dictionaries(
        {st.sampled_from(["my-controller", "local-networks", "same-manufacturer"]): st.booleans()}
    ),
    st.fixed_dictionaries({"manufacturer": st.sampled_from(["m.example.com", "-bad-"])}),
    st.fixed_dictionaries(
        {"model": st.sampled_from(["https://m.example.com/a.json", "http://m.example.com/a"])}
    ),
    st.just({}),
)
good_rules = st.tuples(
    peer_entries,
    st.fixed_dictionaries(
        {},
        optional={
            "proto": st.sampled_from(["tcp", "udp", "any", "sctp"]),
            "port": st.integers(-1, 65536),
            "initiated-by": st.sampled_from(["device", "remote", "either", "x"]),
        },
    ),
).map(lambda t: {**t[0], **t[1]})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(good_rules, good_rules, st.dictionaries(rule_keys, rule_values, max_size=5)), max_size=4
    ),
    st.sampled_from([[4], [6], [4, 6], [], [5], "x"]),
)
def test_mud_builder_random_profiles(rules: list[dict[str, Any]], versions: Any) -> None:
    profile = {"mud-url": "https://devices.example.com/x.json", "allow": rules, "ip-versions": versions}
    try:
        mud = build_mud(profile, last_update="2026-11-26T12:00:00+00:00")
    except IotSecError:
        return
    assert parse_mud(to_json(mud)).mud == mud  # whatever the builder makes is a valid MUD file


def test_mud_builder_networks_go_to_their_ip_version() -> None:
    profile = load_profile("""
mud-url: https://devices.example.com/x.json
allow:
  - {name: v4net, network: 192.0.2.0/24, proto: udp, port: 5683}
  - {name: v6net, network: "2001:db8::/48", proto: udp, port: 5683}
""")
    mud = build_mud(profile, last_update="2026-11-26T12:00:00+00:00")
    names = {a.name: [x.name for x in a.aces] for a in mud.acls}
    assert names == {
        "mud-device-v4fr": ["v4net-fr"],
        "mud-device-v4to": ["v4net-to"],
        "mud-device-v6fr": ["v6net-fr"],
        "mud-device-v6to": ["v6net-to"],
    }
    with pytest.raises(ValidationError):
        build_mud(
            load_profile("mud-url: https://d.example.com/x\nallow:\n  - network: 10.0.0.1/8\n"),
            last_update="2026-11-26T12:00:00+00:00",
        )
