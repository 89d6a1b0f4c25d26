"""Apply and remove MUD rulesets with the real ``nft`` command (atomic: one ``nft -f`` per change).

Optionally inside a network namespace (``ip netns exec NAME nft ...``), which is how the tests
enforce policies on a router namespace without touching the host's firewall.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence

from iotsec.core.mud.compiler import Device, DevicePolicy
from iotsec.core.mud.nft import TABLE_PREFIX, render_many, render_remove, render_ruleset, table_name
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
        """Install or replace one device's table."""
        self.apply_text(render_ruleset(policy))

    def apply_many(self, policies: list[DevicePolicy]) -> None:
        """Install or replace several devices in one transaction."""
        self.apply_text(render_many(policies))

    def remove(self, device: Device) -> None:
        """Remove the device's table; :class:`NotFoundError` if it was not installed."""
        if table_name(device) not in self.tables():
            raise NotFoundError(f"no MUD table for device {device.id}", reason="mud.device.unknown")
        self.apply_text(render_remove(device))

    def tables(self) -> list[str]:
        """Names of the MUD tables installed (family inet)."""
        out = self._run(["-j", "list", "tables", "inet"])
        try:
            items = json.loads(out).get("nftables", [])
        except ValueError as err:
            raise ConfigError("nft printed no JSON", reason="nft.output") from err
        return sorted(
            i["table"]["name"]
            for i in items
            if "table" in i and str(i["table"].get("name", "")).startswith(TABLE_PREFIX)
        )

    def ruleset(self) -> str:
        """``nft list ruleset`` as text (for status output and tests)."""
        return self._run(["list", "ruleset"])
