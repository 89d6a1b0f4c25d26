"""Discovery parsers against real emitters: busybox udhcpc sends option 161, lldpd sends the MUD TLV.

Each test wires two network namespaces with a veth pair (nothing on the host's interfaces),
captures what the real program puts on the wire and parses it with iotsec (root).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from iotsec.core.mud.discovery import find_in_dhcpv4_options, find_in_lldpdu

pytestmark = pytest.mark.netns
URL = "https://devices.example.com/thermo/v1.json"

DHCP_LISTEN = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.bind(("0.0.0.0", 67)); s.settimeout(float(sys.argv[1]))
print("ready", flush=True)
data, _ = s.recvfrom(4096)
print(data.hex(), flush=True)
"""

LLDP_LISTEN = r"""
import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x88CC))
s.bind(("eth0", 0x88CC)); s.settimeout(0.5)
print("ready", flush=True)
end = time.time() + float(sys.argv[1])
while time.time() < end:
    try:
        frame = s.recv(2048)
        print(frame.hex(), flush=True)
        if b"\x00\x00\x5e\x01" in frame:  # an IANA-OUI subtype-1 TLV seen: enough
            break
    except socket.timeout:
        pass
"""


def _run(*cmd: str) -> None:
    subprocess.run(list(cmd), check=True, capture_output=True, timeout=20)


@pytest.fixture
def link() -> Iterator[tuple[str, str]]:
    """Two namespaces joined by a veth pair (eth0 on both sides)."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("needs root and iproute2")
    tag = uuid.uuid4().hex[:8]
    a, b = f"iotsec-mud-{tag}-dev", f"iotsec-mud-{tag}-sw"
    _run("ip", "netns", "add", a)
    try:
        _run("ip", "netns", "add", b)
        _run("ip", "-n", a, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", b)
        for ns in (a, b):
            _run("ip", "-n", ns, "link", "set", "lo", "up")
            _run("ip", "-n", ns, "link", "set", "eth0", "up")
        yield a, b
    finally:
        for ns in (a, b):
            subprocess.run(["ip", "netns", "del", ns], check=False, timeout=20)


def _listener(ns: str, script: str, seconds: float) -> subprocess.Popen[str]:
    p = subprocess.Popen(
        ["ip", "netns", "exec", ns, sys.executable, "-I", "-S", "-c", script, str(seconds)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    return p


def test_mud_dhcpv4_option_from_busybox_udhcpc(link: tuple[str, str]) -> None:
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.skip("busybox (udhcpc) not installed")
    dev, server = link
    _run("ip", "-n", server, "addr", "add", "10.214.0.1/24", "dev", "eth0")
    listener = _listener(server, DHCP_LISTEN, 10)
    try:
        # the device's DHCP client announces its MUD URL as option 161 (0xa1), RFC 8520 §10
        subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                dev,
                busybox,
                "udhcpc",
                "-i",
                "eth0",
                "-n",
                "-q",
                "-t",
                "2",
                "-T",
                "1",
                "-x",
                f"0xa1:{URL.encode().hex()}",
                "-s",
                "/bin/true",
            ],
            capture_output=True,
            timeout=30,
            check=False,
        )
        out, _ = listener.communicate(timeout=15)
    finally:
        listener.kill()
        listener.wait(timeout=10)
    packet = bytes.fromhex(out.strip().splitlines()[-1])
    assert packet[236:240] == b"\x63\x82\x53\x63"  # the DHCP magic cookie (RFC 2131 §3)
    assert find_in_dhcpv4_options(packet[240:]) == URL


def test_mud_lldp_tlv_from_lldpd(link: tuple[str, str]) -> None:
    lldpd, lldpcli = shutil.which("lldpd"), shutil.which("lldpcli")
    if lldpd is None or lldpcli is None:
        pytest.skip("lldpd not installed")
    dev, switch = link
    Path("/run/lldpd").mkdir(exist_ok=True)  # lldpd's privilege-separation chroot
    # lldpcli drops privileges before connecting: the socket must be reachable by lldpd's user
    sock = f"/tmp/iotsec-mud-lldpd-{uuid.uuid4().hex[:8]}.sock"
    listener = _listener(switch, LLDP_LISTEN, 8)
    daemon = subprocess.Popen(
        ["ip", "netns", "exec", dev, lldpd, "-d", "-u", sock, "-I", "eth0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not Path(sock).exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        oui_info = ",".join(f"{b:02x}" for b in URL.encode())
        # RFC 8520 §12: organizationally specific TLV, IANA OUI 00-00-5E, subtype 1, the MUD URL
        for args in (
            ["tx-interval", "1"],
            ["custom-tlv", "oui", "00,00,5e", "subtype", "1", "oui-info", oui_info],
        ):
            for _attempt in range(50):  # the daemon accepts commands shortly after creating its socket
                r = subprocess.run(
                    ["ip", "netns", "exec", dev, lldpcli, "-u", sock, "configure", "lldp", *args],
                    capture_output=True,
                    text=True,
                    timeout=20,
                    check=False,
                )
                if r.returncode == 0:
                    break
                time.sleep(0.1)
            assert r.returncode == 0, r.stderr
        out, _ = listener.communicate(timeout=20)
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)
        Path(sock).unlink(missing_ok=True)
        listener.kill()
        listener.wait(timeout=10)
    frames = [bytes.fromhex(line) for line in out.split() if line]
    assert frames, "no LLDP frame seen"
    assert all(f[12:14] == b"\x88\xcc" for f in frames)
    urls = {find_in_lldpdu(f[14:]) for f in frames}  # Ethernet header: dst, src, ethertype
    assert URL in urls
