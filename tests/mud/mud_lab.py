"""A small network lab of Linux network namespaces for the MUD enforcement tests (root only).

Topology (all addresses exist only inside the namespaces; nothing leaves them):

    dev   10.213.1.2 / fd00:213:1::2   ──┐
    peer  10.213.2.2 / fd00:213:2::2   ──┤  router (forwarding; the MUD rules apply here)
    cloud 10.213.3.2 / fd00:213:3::2   ──┤  .1 / ::1 on each link
    bad   10.213.4.2 / fd00:213:4::2   ──┘

Each end host runs one echo server (TCP and UDP on the given ports) for the test's duration;
probes run as one client process per source namespace, concurrently, with short timeouts.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass, field

HOSTS = {"dev": 1, "peer": 2, "cloud": 3, "bad": 4}
PORTS_TCP = (443, 8080, 8443)
PORTS_UDP = (5683, 5684)

SERVER = r"""
import socket, sys, threading
name = sys.argv[1]
fam = socket.AF_INET6
def tcp(port):
    s = socket.socket(fam, socket.SOCK_STREAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0); s.bind(("::", port)); s.listen(16)
    while True:
        c, _ = s.accept(); c.settimeout(2)
        try:
            c.recv(64); c.sendall(b"pong " + name.encode())
        except OSError:
            pass
        c.close()
def udp(port):
    s = socket.socket(fam, socket.SOCK_DGRAM); s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    while True:
        data, addr = s.recvfrom(64); s.sendto(b"pong " + name.encode(), addr)
tcp_ports = [int(p) for p in sys.argv[2].split(",")]
udp_ports = [int(p) for p in sys.argv[3].split(",")]
for p in tcp_ports:
    threading.Thread(target=tcp, args=(p,), daemon=True).start()
for p in udp_ports:
    threading.Thread(target=udp, args=(p,), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
"""

CLIENT = r"""
import json, socket, sys, concurrent.futures as cf
probes = json.loads(sys.argv[1]); timeout = float(sys.argv[2])
def probe(p):
    proto, host, port = p
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        if proto == "tcp":
            with socket.create_connection((host, port), timeout=timeout) as s:
                s.settimeout(timeout); s.sendall(b"ping"); return s.recv(64).decode()
        with socket.socket(fam, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout); s.sendto(b"ping", (host, port)); return s.recvfrom(64)[0].decode()
    except OSError as e:
        return "fail " + type(e).__name__
with cf.ThreadPoolExecutor(max_workers=32) as ex:
    print(json.dumps(list(ex.map(probe, probes))))
"""

PING = r"""
import os, socket, struct, sys, time
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF); s += s >> 16
    return ~s & 0xFFFF
ident = os.getpid() & 0xFFFF
body = struct.pack("!BBHHH", 8, 0, 0, ident, 1) + b"iotsec-mud"
pkt = body[:2] + struct.pack("!H", csum(body)) + body[4:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); s.settimeout(0.2)
s.sendto(pkt, (sys.argv[1], 0))
end = time.time() + float(sys.argv[2])
while time.time() < end:
    try:
        data, addr = s.recvfrom(2048)
    except socket.timeout:
        continue
    icmp = data[(data[0] & 0x0F) * 4:]
    if addr[0] == sys.argv[1] and icmp[0] == 0 and struct.unpack("!H", icmp[4:6])[0] == ident:
        sys.exit(0)
sys.exit(1)
"""


def v4(host: str) -> str:
    return f"10.213.{HOSTS[host]}.2"


def v6(host: str) -> str:
    return f"fd00:213:{HOSTS[host]}::2"


def run(*cmd: str, check: bool = True, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, check=check)


@dataclass
class Lab:
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    servers: list[subprocess.Popen[str]] = field(default_factory=list)
    created: list[str] = field(default_factory=list)

    def ns(self, host: str) -> str:
        return f"iotsec-mud-{self.tag}-{host}"

    @property
    def router(self) -> str:
        return self.ns("router")

    def up(self) -> None:
        for h in ["router", *HOSTS]:
            run("ip", "netns", "add", self.ns(h))
            self.created.append(self.ns(h))
        r = self.router
        run("ip", "netns", "exec", r, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        run("ip", "netns", "exec", r, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
        run("ip", "-n", r, "link", "set", "lo", "up")
        for h, n in HOSTS.items():
            hn = self.ns(h)
            # the veth pair is created inside the router namespace: nothing appears on the host
            run("ip", "-n", r, "link", "add", f"v{h}", "type", "veth", "peer", "name", "eth0", "netns", hn)
            run("ip", "-n", r, "addr", "add", f"10.213.{n}.1/24", "dev", f"v{h}")
            run("ip", "-n", r, "addr", "add", f"fd00:213:{n}::1/64", "dev", f"v{h}", "nodad")
            run("ip", "-n", r, "link", "set", f"v{h}", "up")
            run("ip", "-n", hn, "link", "set", "lo", "up")
            run("ip", "-n", hn, "addr", "add", f"{v4(h)}/24", "dev", "eth0")
            run("ip", "-n", hn, "addr", "add", f"{v6(h)}/64", "dev", "eth0", "nodad")
            run("ip", "-n", hn, "link", "set", "eth0", "up")
            run("ip", "-n", hn, "route", "add", "default", "via", f"10.213.{n}.1")
            run("ip", "-n", hn, "-6", "route", "add", "default", "via", f"fd00:213:{n}::1")
        for h in HOSTS:
            p = subprocess.Popen(
                [
                    "ip",
                    "netns",
                    "exec",
                    self.ns(h),
                    sys.executable,
                    "-I",
                    "-S",
                    "-c",
                    SERVER,
                    h,
                    ",".join(map(str, PORTS_TCP)),
                    ",".join(map(str, PORTS_UDP)),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            self.servers.append(p)
            assert p.stdout is not None
            line = p.stdout.readline()
            assert line.strip() == "ready", f"server in {h} did not start: {line!r}"
        # warm the neighbour caches (ARP / IPv6 ND) so that short probe timeouts measure the policy
        warm = [("tcp", a, 443) for h in HOSTS for a in (v4(h), v6(h))]
        assert all(self.probe("router", warm, timeout=5)), "lab network does not work"

    def probe(self, src: str, probes: list[tuple[str, str, int]], timeout: float = 1.0) -> list[bool]:
        """Run probes (proto, dst address, port) from ``src`` concurrently; True where a reply came back."""
        r = run(
            "ip",
            "netns",
            "exec",
            self.ns(src),
            sys.executable,
            "-I",
            "-S",
            "-c",
            CLIENT,
            json.dumps(probes),
            str(timeout),
            timeout=timeout * 4 + 10,
        )
        answers = json.loads(r.stdout)
        return [a.startswith("pong ") for a in answers]

    def ping(self, src: str, dst: str, timeout: float = 1.0) -> bool:
        """One ICMP echo from ``src`` to the IPv4 ``dst`` (raw socket); True if the reply came back."""
        r = run(
            "ip",
            "netns",
            "exec",
            self.ns(src),
            sys.executable,
            "-I",
            "-S",
            "-c",
            PING,
            dst,
            str(timeout),
            check=False,
            timeout=timeout + 10,
        )
        return r.returncode == 0

    def nft_ruleset(self) -> str:
        return run("ip", "netns", "exec", self.router, "nft", "list", "ruleset").stdout

    def down(self) -> None:
        for p in self.servers:
            p.kill()
            p.wait(timeout=10)
            for s in (p.stdout, p.stderr):
                if s is not None:
                    s.close()
        self.servers.clear()
        for n in self.created:
            run("ip", "netns", "del", n, check=False)
        self.created.clear()


def available() -> str | None:
    """Why the lab cannot run here (None if it can)."""
    import os

    if os.geteuid() != 0:
        return "needs root"
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            return f"needs {tool}"
    return None
