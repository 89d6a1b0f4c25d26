"""HTTPS fetcher limits and the MUD manager's fetch/verify/cache logic against a real local HTTPS server."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from mud_https import HttpsServer, Route
from mud_pki import NOW, manufacturer

from iotsec.adapters.mud_fetch import HttpsFetcher
from iotsec.clock import FixedClock
from iotsec.core.mud.compiler import Device, DevicePolicy, StaticResolver
from iotsec.core.mud.signature import sign_mud
from iotsec.errors import DecodeError, IotSecError, NotFoundError, PolicyError, ValidationError, VerifyError
from iotsec.services.mud_manager import ManagerConfig, MudManager

VECTOR = Path(__file__).resolve().parent.parent / "vectors" / "rfc8520" / "rfc8520-section9.json"


def test_mud_fetch_ok_and_limits(server: HttpsServer) -> None:
    server.routes["/a.json"] = Route(b'{"x": 1}')
    f = HttpsFetcher(ca_file=server.ca_file, timeout=5)
    got = f.get(server.url("/a.json"))
    assert got.body == b'{"x": 1}' and got.url == server.url("/a.json")
    with pytest.raises(NotFoundError):
        f.get(server.url("/missing.json"))
    server.routes["/big.json"] = Route(b"x" * 5000)
    with pytest.raises(DecodeError) as e:
        HttpsFetcher(ca_file=server.ca_file, max_bytes=4096).get(server.url("/big.json"))
    assert e.value.reason == "mud.fetch.size"
    server.routes["/big-nolen.json"] = Route(b"x" * 200_000, send_length=False)
    with pytest.raises(DecodeError):
        HttpsFetcher(ca_file=server.ca_file, max_bytes=4096).get(server.url("/big-nolen.json"))


def test_mud_fetch_redirects(server: HttpsServer) -> None:
    server.routes["/a.json"] = Route(b"ok")
    server.routes["/r1"] = Route(status=302, location="/a.json")
    server.routes["/loop"] = Route(status=301, location="/loop")
    server.routes["/to-http"] = Route(status=302, location=f"http://127.0.0.1:{server.port}/a.json")
    f = HttpsFetcher(ca_file=server.ca_file, max_redirects=2)
    got = f.get(server.url("/r1"))
    assert got.body == b"ok" and got.url == server.url("/a.json")
    with pytest.raises(PolicyError) as e:
        f.get(server.url("/loop"))
    assert e.value.reason == "mud.fetch.redirects" and server.hits["/loop"] == 3
    with pytest.raises(PolicyError) as e2:
        f.get(server.url("/to-http"))
    assert e2.value.reason == "mud.fetch.redirect-not-https"


def test_mud_fetch_refuses_plain_http_and_untrusted_tls(server: HttpsServer) -> None:
    with pytest.raises(ValidationError) as e:
        HttpsFetcher().get(f"http://127.0.0.1:{server.port}/a.json")
    assert e.value.reason == "mud.url.not-https"
    assert not server.hits  # nothing was sent
    server.routes["/a.json"] = Route(b"ok")
    with pytest.raises(PolicyError) as e2:  # the system trust store does not know the test CA
        HttpsFetcher(timeout=5).get(server.url("/a.json"))
    assert e2.value.reason == "mud.fetch.tls"


def test_mud_fetch_timeout(server: HttpsServer) -> None:
    server.routes["/slow.json"] = Route(b"late", delay=2.0)
    with pytest.raises(IotSecError) as e:
        HttpsFetcher(ca_file=server.ca_file, timeout=0.5).get(server.url("/slow.json"))
    assert e.value.reason == "mud.fetch.timeout"


class Recorder:
    """Collects what the manager would enforce (the nft enforcer is exercised in test_mud_netns)."""

    def __init__(self) -> None:
        self.applied: list[DevicePolicy] = []
        self.removed: list[str] = []

    def apply(self, policy: DevicePolicy) -> None:
        self.applied.append(policy)

    def remove(self, device: Device) -> None:
        self.removed.append(device.id)


def _publish(server: HttpsServer, path: str, signer: Any, *, url: str | None = None) -> tuple[str, bytes]:
    doc = json.loads(VECTOR.read_bytes())
    mud_url = url or server.url(path)
    doc["ietf-mud:mud"]["mud-url"] = mud_url
    body = json.dumps(doc, indent=2).encode()
    server.routes[path] = Route(body)
    server.routes[path[:-5] + ".p7s"] = Route(sign_mud(body, signer.key, signer.cert, now=NOW))
    return mud_url, body


def test_mud_manager_fetch_verify_cache(server: HttpsServer) -> None:
    ca, signer = manufacturer("Maker")
    _, other = manufacturer("Someone Else")
    url, _ = _publish(server, "/bulb.json", signer)
    clock = FixedClock(NOW)
    rec = Recorder()
    mgr = MudManager(
        HttpsFetcher(ca_file=server.ca_file),
        rec,
        StaticResolver({"test.example.com": ["2001:db8::1"]}),
        clock,
        ManagerConfig(trust_anchors={"127.0.0.1": [ca.cert]}),
    )
    dev = Device("bulb1", url, ipv6=("2001:db8::10",))
    pol = mgr.device_joined(dev)
    assert [i.ace for i in pol.intents] == ["cl0-frdev", "cl0-todev"]
    assert rec.applied == [pol]
    assert (server.hits["/bulb.json"], server.hits["/bulb.p7s"]) == (1, 1)
    # within cache-validity (48 h in the file): no new fetch
    clock.advance(47 * 3600)
    mgr.device_joined(Device("bulb2", url, ipv6=("2001:db8::11",)))
    assert server.hits["/bulb.json"] == 1
    # past it: fetched again
    clock.advance(2 * 3600)
    mgr.refresh()
    assert server.hits["/bulb.json"] == 2
    # the server disappears after expiry: the cached file stays in force (RFC 8520 §3.5)
    clock.advance(49 * 3600)
    del server.routes["/bulb.json"]
    assert mgr.refresh() == []
    assert mgr.stale() == {url: "mud.fetch.not-found"}
    mgr.device_left("bulb1")
    assert rec.removed == ["bulb1"]
    with pytest.raises(NotFoundError):
        mgr.device_left("bulb1")

    # a file signed by another manufacturer is refused and nothing is enforced
    url2, _ = _publish(server, "/lamp.json", other)
    n = len(rec.applied)
    with pytest.raises(PolicyError) as e:
        mgr.device_joined(Device("lamp", url2, ipv6=("2001:db8::12",)))
    assert e.value.reason == "mud.signature.untrusted"
    # a signature that does not match the file
    url3, body3 = _publish(server, "/tampered.json", signer)
    server.routes["/tampered.json"] = Route(body3.replace(b"443", b"444"))
    with pytest.raises(VerifyError):
        mgr.device_joined(Device("t", url3, ipv6=("2001:db8::13",)))
    # a file that claims another MUD URL
    url4, _ = _publish(server, "/liar.json", signer, url="https://lighting.example.com/lightbulb2000")
    with pytest.raises(PolicyError) as e4:
        mgr.device_joined(Device("liar", server.url("/liar.json"), ipv6=("2001:db8::14",)))
    assert e4.value.reason == "mud.url.mismatch"
    assert len(rec.applied) == n and "lamp" not in mgr.devices and url4


def test_mud_manager_unsigned_refused_by_default(server: HttpsServer) -> None:
    url, _ = _publish(server, "/u.json", manufacturer("M")[1])
    del server.routes["/u.p7s"]
    mgr = MudManager(
        HttpsFetcher(ca_file=server.ca_file), Recorder(), StaticResolver({}), FixedClock(NOW), ManagerConfig()
    )
    with pytest.raises(PolicyError):  # no trust anchor for this manufacturer
        mgr.device_joined(Device("u", url, ipv6=("2001:db8::1",)))
    mgr2 = MudManager(
        HttpsFetcher(ca_file=server.ca_file),
        Recorder(),
        StaticResolver({}),
        FixedClock(NOW),
        ManagerConfig(require_signature=False),
    )
    assert mgr2.device_joined(Device("u", url, ipv6=("2001:db8::1",))).intents == ()
    assert FixedClock(NOW).now() + timedelta(0) == NOW


def test_mud_manager_refresh_follows_dns_changes(server: HttpsServer) -> None:
    ca, signer = manufacturer("Maker")
    url, _ = _publish(server, "/bulb.json", signer)
    table: dict[str, list[str]] = {"test.example.com": ["2001:db8::1"]}
    rec = Recorder()
    mgr = MudManager(
        HttpsFetcher(ca_file=server.ca_file),
        rec,
        StaticResolver(table),
        FixedClock(NOW),
        ManagerConfig(trust_anchors={"127.0.0.1": [ca.cert]}),
    )
    mgr.device_joined(Device("bulb1", url, ipv6=("2001:db8::10",)))
    assert mgr.refresh() == []  # nothing changed: nothing re-applied
    table["test.example.com"] = ["2001:db8::2"]
    assert mgr.refresh() == ["bulb1"]
    assert rec.applied[-1].intents[0].peer == (("2001:db8::2",),)
    assert server.hits["/bulb.json"] == 1  # the file itself was still fresh


def test_mud_manager_pins_the_signer_of_a_file(server: HttpsServer) -> None:
    ca, signer = manufacturer("Maker")
    from mud_pki import issue, name

    second = issue(name("Another signer", "Maker"), ca, ca=False)  # same CA, different signer
    url, body = _publish(server, "/bulb.json", signer)
    clock = FixedClock(NOW)
    mgr = MudManager(
        HttpsFetcher(ca_file=server.ca_file),
        Recorder(),
        StaticResolver({}),
        clock,
        ManagerConfig(trust_anchors={"127.0.0.1": [ca.cert]}),
    )
    mgr.device_joined(Device("bulb1", url, ipv6=("2001:db8::10",)))
    # after expiry the server offers a file signed by someone else of the same manufacturer
    server.routes["/bulb.p7s"] = Route(sign_mud(body, second.key, second.cert, now=NOW))
    clock.advance(49 * 3600)
    mgr.refresh()
    assert mgr.stale() == {url: "mud.signature.signer-mismatch"}
    assert mgr.cache[url].signer == signer.cert  # the pinned file stays in force
