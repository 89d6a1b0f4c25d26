"""MUD benchmark: compile a 1,000-ACE file, apply 1,000 devices with nft, verify signatures.

Each figure is printed with a raw baseline measured in the same run:
* compile (parse + validate + resolve + render) of a 1,000-ACE file vs ``json.loads`` of the same bytes;
* applying 1,000 devices (compile + render + ``nft -f`` in one transaction) vs ``nft -f`` of the
  same, pre-generated ruleset text (needs root; runs in a throwaway network namespace);
* MUD signature verification vs the raw ECDSA P-256 verify of ``cryptography``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness import Result, rate, report
from iotsec.adapters.nftables import Nftables
from iotsec.core.mud.compiler import Device, Environment, StaticResolver, compile_policy
from iotsec.core.mud.nft import render_many, render_ruleset
from iotsec.core.mud.parser import parse_mud
from iotsec.core.mud.signature import sign_mud, verify_mud_signature

URL = "https://bench.example.com/dev.json"
NOW = datetime(2026, 11, 26, tzinfo=UTC)


def big_mud(n_aces: int) -> bytes:
    """A MUD file with n_aces ACEs (half from-device, half to-device), each naming its own host."""
    half = n_aces // 2

    def ace(i: int, out: bool) -> dict[str, object]:
        name = f"h{i}.cloud.example.com"
        ip = {"ietf-acldns:dst-dnsname" if out else "ietf-acldns:src-dnsname": name, "protocol": 6}
        port = {"destination-port" if out else "source-port": {"operator": "eq", "port": 1000 + i}}
        return {
            "name": f"a{i}",
            "matches": {"ipv4": ip, "tcp": {"ietf-mud:direction-initiated": "from-device", **port}},
            "actions": {"forwarding": "accept"},
        }

    doc = {
        "ietf-mud:mud": {
            "mud-version": 1,
            "mud-url": URL,
            "last-update": "2026-11-26T00:00:00+00:00",
            "cache-validity": 48,
            "is-supported": True,
            "systeminfo": "bench",
            "from-device-policy": {"access-lists": {"access-list": [{"name": "fr"}]}},
            "to-device-policy": {"access-lists": {"access-list": [{"name": "to"}]}},
        },
        "ietf-access-control-list:acls": {
            "acl": [
                {"name": "fr", "type": "ipv4-acl-type", "aces": {"ace": [ace(i, True) for i in range(half)]}},
                {
                    "name": "to",
                    "type": "ipv4-acl-type",
                    "aces": {"ace": [ace(i, False) for i in range(half)]},
                },
            ]
        },
    }
    return json.dumps(doc).encode()


def small_mud() -> bytes:
    return big_mud(4)


def bench_compile() -> Result:
    raw = big_mud(1000)
    resolver = StaticResolver(
        {f"h{i}.cloud.example.com": [f"198.18.{i // 250}.{i % 250 + 1}"] for i in range(500)}
    )
    dev = Device("bench", URL, ipv4=("10.0.0.2",))

    def ours() -> None:
        mud = parse_mud(raw).mud
        render_ruleset(compile_policy(mud, dev, Environment(), resolver))

    return Result(
        "compile 1,000-ACE MUD file (parse+validate+resolve+render)",
        rate(ours, seconds=3),
        rate(lambda: json.loads(raw), seconds=3),
        "files/s",
    )


def bench_apply() -> Result | None:
    if os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("ip"):
        print("apply 1,000 devices: skipped (needs root, nft and ip)")
        return None
    ns = f"iotsec-mud-bench-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        mud = parse_mud(small_mud()).mud
        resolver = StaticResolver({f"h{i}.cloud.example.com": ["198.18.0.1"] for i in range(2)})
        devices = [Device(f"d{i}", URL, ipv4=(f"10.{i // 250}.{i % 250}.2",)) for i in range(1000)]
        nft = Nftables(netns=ns)
        text = render_many([compile_policy(mud, d, Environment(), resolver) for d in devices])

        def raw_apply() -> float:
            start = time.perf_counter()
            subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=text, text=True, check=True)
            return time.perf_counter() - start

        def our_apply() -> float:
            start = time.perf_counter()
            nft.apply_many([compile_policy(mud, d, Environment(), resolver) for d in devices])
            return time.perf_counter() - start

        our_apply()  # first install; the timed runs below all replace the same 1,000 devices
        runs = [(raw_apply(), our_apply()) for _ in range(4)]  # interleaved, best of each
        raw_t = min(r for r, _ in runs)
        ours_t = min(o for _, o in runs)
        assert len(nft.devices()) == 1000
        return Result(
            "apply 1,000 devices (compile+render+nft -f, one transaction)",
            1000 / ours_t,
            1000 / raw_t,
            "devices/s",
        )
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


def bench_verify() -> Result:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench signer")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    content = big_mud(20)
    sig = sign_mud(content, key, cert, now=NOW)
    raw_sig = key.sign(content, ec.ECDSA(hashes.SHA256()))
    pub = key.public_key()
    return Result(
        "verify MUD signature (CMS parse + digest + ECDSA P-256 + chain)",
        rate(lambda: verify_mud_signature(content, sig, trust_anchors=[cert], now=NOW), seconds=3),
        rate(lambda: pub.verify(raw_sig, content, ec.ECDSA(hashes.SHA256())), seconds=3),
        "verifies/s",
    )


def main() -> None:
    results = [bench_compile(), bench_verify()]
    applied = bench_apply()
    if applied is not None:
        results.append(applied)
    report(results)


if __name__ == "__main__":
    main()
