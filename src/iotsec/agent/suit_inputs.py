"""Device inputs of draft-ietf-suit-update-management for a Linux device.

:class:`LinuxDeviceInputs` implements :class:`iotsec.core.suit.update_mgmt.DeviceInputs` from the
places a Linux-class device keeps these facts (update-management §6 leaves the sources to the
deployment):

* battery energy: the kernel's power-supply class, ``/sys/class/power_supply/*/energy_now``
  (µWh, summed over batteries) -> mWh; ``None`` when there is no battery;
* power state: 1 when a mains/USB supply reports ``online`` = 1, else 0 (the deployment's mapping
  of §4.5 suit-wait-event-power);
* consent (§5.4): a JSON policy file ``{"authorize-priority-up-to": N}`` written by the device's
  application or user interface -- updates whose priority is ``<= N`` are authorised (smaller is
  more urgent), or ``{"authorize": true}``; no file means no consent;
* component versions (§4.4): ``versions.json`` in the store directory, ``{"app": "1.2.3"}``
  (component ids as ``/``-joined text segments), constrained semver per §4.4.1;
* network state and other devices' versions: from a JSON file ``state.json`` next to the policy,
  ``{"network": 2, "devices": {"<hex id>": "1.0.0"}}``; local time offset from ``utc-offset``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from iotsec.core.suit.model import ComponentId
from iotsec.core.suit.update_mgmt import parse_semver
from iotsec.errors import ConfigError, ValidationError


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        obj = json.loads(path.read_text())
    except ValueError as exc:
        raise ConfigError(f"bad JSON in {path}: {exc}", reason="suit.inputs.json") from exc
    if not isinstance(obj, dict):
        raise ConfigError(f"{path} must hold a JSON object", reason="suit.inputs.json")
    return obj


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


class LinuxDeviceInputs:
    """:class:`DeviceInputs` from sysfs and small JSON files (see the module docstring)."""

    def __init__(
        self,
        *,
        power_supply: str | Path = "/sys/class/power_supply",
        policy: str | Path | None = None,
        store: str | Path | None = None,
    ) -> None:
        self.power_supply = Path(power_supply)
        self.policy_file = Path(policy) if policy is not None else None
        self.store = Path(store) if store is not None else None
        self.asked: list[int | None] = []

    def _supplies(self) -> list[Path]:
        if not self.power_supply.is_dir():
            return []
        return sorted(p for p in self.power_supply.iterdir() if (p / "type").is_file())

    def battery_mwh(self) -> int | None:
        total, seen = 0, False
        for p in self._supplies():
            if (p / "type").read_text().strip() != "Battery":
                continue
            uwh = _read_int(p / "energy_now")
            if uwh is not None:
                total += uwh // 1000
                seen = True
        return total if seen else None

    def power_state(self) -> int | None:
        supplies = [p for p in self._supplies() if (p / "type").read_text().strip() != "Battery"]
        if not supplies:
            return None
        return int(any(_read_int(p / "online") == 1 for p in supplies))

    def _policy(self) -> dict[str, Any]:
        return _read_json(self.policy_file) if self.policy_file is not None else {}

    def authorize(self, priority: int | None) -> bool:
        self.asked.append(priority)
        policy = self._policy()
        if policy.get("authorize") is True:
            return True
        limit = policy.get("authorize-priority-up-to")
        if isinstance(limit, int) and not isinstance(limit, bool):
            return priority is not None and priority <= limit
        return False

    def component_version(self, component: ComponentId) -> Sequence[int] | None:
        if self.store is None:
            return None
        versions = _read_json(self.store / "versions.json")
        try:
            name = "/".join(s.decode("utf-8") for s in component)
        except UnicodeDecodeError:
            return None
        text = versions.get(name)
        if not isinstance(text, str):
            return None
        try:
            return parse_semver(text)
        except ValidationError as exc:
            raise ConfigError(f"bad version {text!r} for {name}", reason="suit.inputs.version") from exc

    def _state(self) -> dict[str, Any]:
        if self.policy_file is None:
            return {}
        return _read_json(self.policy_file.with_name("state.json"))

    def network_state(self) -> int | None:
        v = self._state().get("network")
        return v if isinstance(v, int) else None

    def other_device_version(self, device: bytes) -> Sequence[int] | None:
        v = self._state().get("devices", {}).get(device.hex())
        return parse_semver(v) if isinstance(v, str) else None

    def utc_offset(self) -> int | None:
        v = self._state().get("utc-offset")
        return v if isinstance(v, int) else None


__all__ = ["LinuxDeviceInputs"]
