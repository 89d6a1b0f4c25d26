"""Apply and remove MUD rulesets with the real ``nft`` command (atomic: one ``nft -f`` per change).

Optionally inside a network namespace (``ip netns exec NAME nft ...``), which is how the tests
enforce policies on a router namespace without touching the host's firewall.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import subprocess
from collections.abc import Sequence

from iotsec.core.mud.compiler import Device, DevicePolicy
from iotsec.core.mud.nft import CHAIN_PREFIX, TABLE, render_many, render_remove, render_ruleset
from iotsec.errors import ConfigError, NotFoundError


class Nftables:
    """The ``nft`` binary as an enforcement point."""

    def __init__(self, *, netns: str | None = None, nft: str = "nft", timeout: float = 60.0) -> None:
        self.netns = netns
        self.nft = nft
        self.timeout = timeout

    def _cmd(self, *args: str) -> list[str]:
        nft = shutil.which(self.nft) or self.nft
        base = [nft, *args]
        if self.netns:
            ip = shutil.which("ip") or "ip"
            return [ip, "netns", "exec", self.netns, *base]
        return base

    def _run(self, args: Sequence[str], stdin: str | None = None) -> str:
        try:
            r = subprocess.run(  # noqa: S603 - fixed argv (nft / ip netns exec), no shell
                self._cmd(*args),
                input=stdin,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except FileNotFoundError as err:
            raise ConfigError(f"cannot run nft: {err}", reason="nft.missing") from err
        except subprocess.TimeoutExpired as err:
            raise ConfigError("nft timed out", reason="nft.timeout") from err
        if r.returncode != 0:
            msg = (r.stderr or r.stdout).strip().splitlines()
            raise ConfigError("nft refused the ruleset: " + " | ".join(msg[:6]), reason="nft.failed")
        return r.stdout

    def apply_text(self, ruleset: str) -> None:
        """Apply ruleset text atomically (``nft -f -``: all of it or none of it)."""
        self._run(["-f", "-"], stdin=ruleset)

    def check_text(self, ruleset: str) -> None:
        """Parse and check ruleset text without applying it (``nft -c -f -``)."""
        self._run(["-c", "-f", "-"], stdin=ruleset)

    def apply(self, policy: DevicePolicy) -> None:
        """Install or replace one device's policy (one transaction); addresses the device no longer
        has are taken out of the dispatch maps in the same transaction."""
        _, keys = self._state()
        old4, old6 = keys.get(policy.device.id, ([], []))
        new = {ipaddress.ip_address(a) for a in (*policy.device.ipv4, *policy.device.ipv6)}
        stale4 = tuple(a for a in old4 if ipaddress.ip_address(a) not in new)
        stale6 = tuple(a for a in old6 if ipaddress.ip_address(a) not in new)
        text = render_ruleset(policy)
        if stale4 or stale6:
            text += render_remove(policy.device.id, stale4, stale6, chains=False)
        self.apply_text(text)

    def apply_many(self, policies: list[DevicePolicy]) -> None:
        """Install or replace several devices in one transaction."""
        self.apply_text(render_many(policies))

    def _state(self) -> tuple[set[str], dict[str, tuple[list[str], list[str]]]]:
        """(device ids with chains, device id -> (IPv4 keys, IPv6 keys) in the dispatch maps)."""
        try:
            out = self._run(["-j", "list", "table", "inet", TABLE])
        except ConfigError:
            return set(), {}  # no table: nothing installed
        try:
            items = json.loads(out).get("nftables", [])
        except ValueError as err:
            raise ConfigError("nft printed no JSON", reason="nft.output") from err
        ids: set[str] = set()
        keys: dict[str, tuple[list[str], list[str]]] = {}
        for item in items:
            chain = item.get("chain")
            if chain and str(chain.get("name", "")).startswith(CHAIN_PREFIX):
                name = str(chain["name"])
                for suffix in ("_from", "_to"):
                    if name.endswith(suffix):
                        ids.add(name[len(CHAIN_PREFIX) : -len(suffix)])
            m = item.get("map")
            if m and m.get("name") in ("from4", "from6"):
                for elem in m.get("elem", []):
                    target = str(elem[1].get("jump", {}).get("target", ""))
                    dev = target[len(CHAIN_PREFIX) : -len("_from")]
                    v4, v6 = keys.setdefault(dev, ([], []))
                    (v4 if m["name"] == "from4" else v6).append(str(elem[0]))
        return ids, keys

    def devices(self) -> list[str]:
        """Ids of the devices whose policies are installed."""
        return sorted(self._state()[0])

    def remove(self, device: Device) -> None:
        """Remove a device's policy; :class:`NotFoundError` if it is not installed."""
        self.remove_id(device.id)

    def remove_id(self, device_id: str) -> None:
        """Remove by id, finding its addresses in the dispatch maps (one transaction)."""
        ids, keys = self._state()
        if device_id not in ids:
            raise NotFoundError(f"no MUD policy for device {device_id}", reason="mud.device.unknown")
        v4, v6 = keys.get(device_id, ([], []))
        last = ids == {device_id} and set(keys) <= {device_id}
        self.apply_text(render_remove(device_id, tuple(v4), tuple(v6), last=last))

    def ruleset(self) -> str:
        """``nft list ruleset`` as text (for status output and tests)."""
        return self._run(["list", "ruleset"])
