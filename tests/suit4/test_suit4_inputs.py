"""LinuxDeviceInputs over a sysfs-shaped tree and JSON policy files (real files in a temp dir)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iotsec.agent.suit_inputs import LinuxDeviceInputs
from iotsec.errors import ConfigError


def _supply(root: Path, name: str, kind: str, **files: str) -> None:
    d = root / name
    d.mkdir(parents=True)
    (d / "type").write_text(kind + "\n")
    for k, v in files.items():
        (d / k).write_text(v + "\n")


def test_suit4_inputs_from_sysfs_and_policy(tmp_path: Path) -> None:
    ps = tmp_path / "power_supply"
    _supply(ps, "BAT0", "Battery", energy_now="41250000")  # µWh
    _supply(ps, "BAT1", "Battery", energy_now="750000")
    _supply(ps, "AC", "Mains", online="1")
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"authorize-priority-up-to": 10}))
    (tmp_path / "state.json").write_text(
        json.dumps({"network": 2, "devices": {"0a0b": "3.1.0"}, "utc-offset": 3600})
    )
    store = tmp_path / "store"
    store.mkdir()
    (store / "versions.json").write_text(json.dumps({"app": "1.2-rc.3", "fw/radio": "2.0.1"}))
    inputs = LinuxDeviceInputs(power_supply=ps, policy=policy, store=store)
    assert inputs.battery_mwh() == 42000
    assert inputs.power_state() == 1
    assert inputs.authorize(5) and inputs.authorize(10) and not inputs.authorize(11)
    assert not inputs.authorize(None)
    assert inputs.asked == [5, 10, 11, None]
    assert inputs.component_version((b"app",)) == [1, 2, -1, 3]
    assert inputs.component_version((b"fw", b"radio")) == [2, 0, 1]
    assert inputs.component_version((b"other",)) is None
    assert inputs.network_state() == 2
    assert inputs.other_device_version(b"\x0a\x0b") == [3, 1, 0]
    assert inputs.utc_offset() == 3600


def test_suit4_inputs_absent_sources(tmp_path: Path) -> None:
    inputs = LinuxDeviceInputs(power_supply=tmp_path / "none")
    assert inputs.battery_mwh() is None and inputs.power_state() is None
    assert not inputs.authorize(-5)  # no policy file: no consent
    assert inputs.component_version((b"app",)) is None and inputs.utc_offset() is None


def test_suit4_inputs_bad_files(tmp_path: Path) -> None:
    (tmp_path / "versions.json").write_text('{"app": "1.2.3+build"}')
    with pytest.raises(ConfigError):
        LinuxDeviceInputs(store=tmp_path).component_version((b"app",))
    (tmp_path / "policy.json").write_text("[1, 2")
    with pytest.raises(ConfigError):
        LinuxDeviceInputs(policy=tmp_path / "policy.json").authorize(1)
