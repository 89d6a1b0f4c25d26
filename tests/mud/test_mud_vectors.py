"""The RFC 8520 §9 example file: parse, compile, and nft accepts the result."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from iotsec.core.mud.compiler import Device, Environment, StaticResolver, compile_policy
from iotsec.core.mud.nft import render_many
from iotsec.core.mud.parser import parse_mud
from iotsec.core.mud.serialize import to_json
from iotsec.errors import ValidationError

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
# name -> (path, needs lenient mode, number of ACEs)
CASES = {
    "rfc8520-section9": ("rfc8520/rfc8520-section9.json", False, 2),
}
NAMES = {
    "test.example.com": ["192.0.2.80", "2001:db8:80::1"],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_mud_vector_parses_and_compiles(case: str) -> None:
    rel, lenient, aces = CASES[case]
    raw = (VECTORS / rel).read_bytes()
    if lenient:
        with pytest.raises(ValidationError) as e:
            parse_mud(raw)
        assert e.value.reason == "mud.legacy"
    doc = parse_mud(raw, lenient=lenient)
    assert doc.mud.ace_count() == aces
    assert bool(doc.findings) == lenient
    assert parse_mud(to_json(doc.mud)).mud == doc.mud  # written back as valid RFC 8520 JSON
    dev = Device("dev1", doc.mud.mud_url, ipv4=("10.1.0.2",), ipv6=("2001:db8:1::2",))
    env = Environment(
        local_networks=("10.1.0.0/16",),
        controllers={"urn:ietf:params:mud:gateway": ("10.1.0.1",)},
        my_controllers={doc.mud.mud_url: ("10.1.0.8",)},
    )
    pol = compile_policy(doc.mud, dev, env, StaticResolver(NAMES))
    assert len(pol.intents) == aces  # every ACE resolved to a rule for its IP version
    assert pol.findings == ()


@pytest.mark.netns
def test_mud_vectors_accepted_by_nft() -> None:
    """The real nft parses and checks every compiled vector (``nft -c``) in a scratch namespace."""
    if os.geteuid() != 0 or not shutil.which("nft"):
        pytest.skip("needs root and nft")
    policies = []
    for i, case in enumerate(sorted(CASES)):
        rel, lenient, _ = CASES[case]
        mud = parse_mud((VECTORS / rel).read_bytes(), lenient=lenient).mud
        dev = Device(f"v{i}", mud.mud_url, ipv4=(f"10.1.0.{i + 2}",), ipv6=(f"2001:db8:1::{i + 2}",))
        env = Environment(
            local_networks=("10.1.0.0/16",),
            controllers={"urn:ietf:params:mud:gateway": ("10.1.0.1",)},
            my_controllers={mud.mud_url: ("10.1.0.8",)},
        )
        policies.append(compile_policy(mud, dev, env, StaticResolver(NAMES)))
    ns = f"iotsec-mud-{uuid.uuid4().hex[:8]}-chk"
    subprocess.run(["ip", "netns", "add", ns], check=True, timeout=20)
    try:
        r = subprocess.run(
            ["ip", "netns", "exec", ns, "nft", "-c", "-f", "-"],
            input=render_many(policies),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert r.returncode == 0, r.stderr
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False, timeout=20)


HOSTILE_NAME = 'x"\nflush ruleset\nadd table inet pwned #'


def test_mud_hostile_names_cannot_inject_nft(rfc8520_example: bytes) -> None:
    """RFC 8519 names are any string; the renderer must not let one end a comment or a line."""
    import json

    from iotsec.core.mud.nft import render_ruleset

    d = json.loads(rfc8520_example)
    acl = d["ietf-access-control-list:acls"]["acl"][1]
    acl["aces"]["ace"][0]["name"] = HOSTILE_NAME
    mud = parse_mud(json.dumps(d)).mud  # the parser accepts it: the name is a valid YANG string
    dev = Device("bulb", mud.mud_url, ipv6=("2001:db8::10",))
    text = render_ruleset(compile_policy(mud, dev, Environment(), StaticResolver(NAMES)))
    assert "flush ruleset" not in text.replace("flush_ruleset", "")
    assert not any(line.startswith(("flush ruleset", "add table inet pwned")) for line in text.splitlines())
    assert 'comment "mud-76100-v6fr/x__flush_ruleset_add_table_inet_pwned__"' in text
    if os.geteuid() == 0 and shutil.which("nft"):
        ns = f"iotsec-mud-{uuid.uuid4().hex[:8]}-inj"
        subprocess.run(["ip", "netns", "add", ns], check=True, timeout=20)
        try:
            r = subprocess.run(
                ["ip", "netns", "exec", ns, "nft", "-f", "-"],
                input=text,
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            assert r.returncode == 0, r.stderr
            listed = subprocess.run(
                ["ip", "netns", "exec", ns, "nft", "list", "tables"],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            ).stdout
            assert "pwned" not in listed and "iotsec_mud" in listed
        finally:
            subprocess.run(["ip", "netns", "del", ns], check=False, timeout=20)


def test_mud_hostile_addresses_are_refused_or_dropped(rfc8520_example: bytes) -> None:
    from iotsec.core.mud.nft import render_ruleset

    for bad in ("fe80::1%a\nflush ruleset", "fe80::1%eth0", "2001:db8::1 ", "::ffff:10.0.0.1\n"):
        with pytest.raises(ValidationError) as e:
            Device("d", "https://x.example/", ipv6=(bad,))
        assert e.value.reason == "mud.device.address"
    assert Device("d", "https://x.example/", ipv6=("2001:DB8:0::1",)).ipv6 == ("2001:db8::1",)
    mud = parse_mud(rfc8520_example).mud
    dev = Device("bulb", mud.mud_url, ipv6=("2001:db8::10",))
    # a resolver (DNS answers are peer input too) handing over junk: only real addresses are used
    res = StaticResolver({"test.example.com": ["fe80::1%x\nflush ruleset", "2001:db8::443", "nonsense"]})
    text = render_ruleset(compile_policy(mud, dev, Environment(), res))
    assert "flush ruleset" not in text and "ip6 daddr 2001:db8::443 " in text
