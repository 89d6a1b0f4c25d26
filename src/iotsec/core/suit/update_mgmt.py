"""Update management (draft-ietf-suit-update-management): versions, battery, consent, waiting.

The processor is pure, so what only the device knows comes in through :class:`DeviceInputs`
(battery level, the user's/application's consent, component versions, power and network state,
other devices' versions, local time offset). :class:`StaticInputs` is a plain implementation for
agents, simulators and tests.

* :func:`version_matches` -- §4.4 comparison of ``SUIT_Parameter_Version_Match`` against an
  integer version array, with the pre-release encoding of §4.4.1 (``[2,0,-1,1]`` < ``[2,0,0]``).
* :func:`wait_events` / :func:`pending_events` -- §4.5 ``SUIT_Wait_Event``: all events must hold;
  the pure processor cannot block, so a wait that is not yet satisfied aborts with
  ``suit.wait.pending`` and the list of events still pending (the draft allows "aborting the
  update entirely, then restarting when a notification is received", §4.5).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Protocol

from iotsec.core import cbor
from iotsec.core.suit.model import ComponentId
from iotsec.errors import DecodeError, UnsupportedError, ValidationError


class Comparison(IntEnum):
    """§4.4 SUIT_Condition_Version_Comparison_Types."""

    GREATER = 1
    GREATER_EQUAL = 2
    EQUAL = 3
    LESSER_EQUAL = 4
    LESSER = 5


class WaitEvent(IntEnum):
    """§4.5 Table 2: SUIT_Wait_Events labels."""

    AUTHORIZATION = 1
    POWER = 2
    NETWORK = 3
    OTHER_DEVICE_VERSION = 4
    TIME = 5
    TIME_OF_DAY = 6
    DAY_OF_WEEK = 7
    TIME_OF_DAY_UTC = 8
    DAY_OF_WEEK_UTC = 9


class DeviceInputs(Protocol):
    """What the device tells the processor (draft-ietf-suit-update-management §6)."""

    def battery_mwh(self) -> int | None:
        """Remaining battery energy in mWh (§4.2), or None when unknown."""

    def authorize(self, priority: int | None) -> bool:
        """Ask the application / user for consent to update (§5.4); smaller = more urgent."""

    def component_version(self, component: ComponentId) -> Sequence[int] | None:
        """The version the component asserts (§4.4), or None when it has none."""

    def power_state(self) -> int | None:
        """Current power state (deployment-defined, §4.5 suit-wait-event-power)."""

    def network_state(self) -> int | None:
        """Current network state (deployment-defined, §4.5 suit-wait-event-network)."""

    def other_device_version(self, device: bytes) -> Sequence[int] | None:
        """Version of another device (deployment profile, §4.5), or None if unknown."""

    def utc_offset(self) -> int | None:
        """Local time offset from UTC in seconds, or None when local time is not configured."""


@dataclass
class StaticInputs:
    """A :class:`DeviceInputs` from fixed values (agents pass measured values per run)."""

    battery: int | None = None
    consent: bool | Mapping[int, bool] = False  # bool, or per priority
    versions: Mapping[ComponentId, Sequence[int]] = field(default_factory=dict)
    power: int | None = None
    network: int | None = None
    other_devices: Mapping[bytes, Sequence[int]] = field(default_factory=dict)
    offset: int | None = None
    asked: list[int | None] = field(default_factory=list)  # priorities the processor asked about

    def battery_mwh(self) -> int | None:
        return self.battery

    def authorize(self, priority: int | None) -> bool:
        self.asked.append(priority)
        if isinstance(self.consent, bool):
            return self.consent
        return bool(self.consent.get(priority if priority is not None else 0, False))

    def component_version(self, component: ComponentId) -> Sequence[int] | None:
        return self.versions.get(component)

    def power_state(self) -> int | None:
        return self.power

    def network_state(self) -> int | None:
        return self.network

    def other_device_version(self, device: bytes) -> Sequence[int] | None:
        return self.other_devices.get(device)

    def utc_offset(self) -> int | None:
        return self.offset


NO_INPUTS = StaticInputs()


def _ints(v: Any, path: tuple[str | int, ...]) -> list[int]:
    if not isinstance(v, list) or not v or not all(isinstance(x, int) and not isinstance(x, bool) for x in v):
        raise ValidationError(
            "a version is a non-empty array of integers", reason="suit.version.value", path=path
        )
    return list(v)


def decode_version_match(
    raw: Any, path: tuple[str | int, ...] = ("version",)
) -> tuple[Comparison, list[int]]:
    """§4.4 ``bstr .cbor SUIT_Parameter_Version_Match`` (or the decoded array)."""
    obj = raw
    if isinstance(raw, bytes):
        try:
            obj = cbor.loads(raw)
        except DecodeError as err:
            raise ValidationError(
                f"version match is malformed: {err}", reason="suit.version.cbor", path=path
            ) from err
    if not isinstance(obj, list) or len(obj) != 2:
        raise ValidationError("version match is [type, [+int]]", reason="suit.version.value", path=path)
    try:
        cmp = Comparison(obj[0]) if isinstance(obj[0], int) and not isinstance(obj[0], bool) else None
    except ValueError:
        cmp = None
    if cmp is None:
        raise ValidationError("unknown version comparison type", reason="suit.version.type", path=path)
    return cmp, _ints(obj[1], (*path, 1))


def _compare(actual: Sequence[int], wanted: Sequence[int]) -> int:
    """-1/0/1 comparing ``actual`` with ``wanted`` over the integers of ``wanted`` (§4.4).

    "Comparison stops after all integers in the array defined by the manifest have been consumed
    OR after a non-equal comparison": missing trailing integers of ``actual`` count as 0, so that
    a release ``[2,0]`` equals ``[2,0,0]`` and stays above ``[2,0,-1,1]`` (RC, §4.4.1).
    """
    for k, w in enumerate(wanted):
        a = actual[k] if k < len(actual) else 0
        if a != w:
            return -1 if a < w else 1
    return 0


def version_matches(actual: Sequence[int], match: tuple[Comparison, Sequence[int]]) -> bool:
    """True when ``actual`` satisfies ``[comparison, value]`` (§4.4, §5.5)."""
    cmp, wanted = match
    c = _compare(actual, wanted)
    return {
        Comparison.GREATER: c > 0,
        Comparison.GREATER_EQUAL: c >= 0,
        Comparison.EQUAL: c == 0,
        Comparison.LESSER_EQUAL: c <= 0,
        Comparison.LESSER: c < 0,
    }[cmp]


def decode_wait_events(raw: Any, path: tuple[str | int, ...] = ("wait-info",)) -> dict[int, Any]:
    """§4.5 ``bstr .cbor SUIT_Wait_Event`` = ``{+ event => argument}``."""
    obj = raw
    if isinstance(raw, bytes):
        try:
            obj = cbor.loads(raw)
        except DecodeError as err:
            raise ValidationError(
                f"wait info is malformed: {err}", reason="suit.wait.cbor", path=path
            ) from err
    if not isinstance(obj, dict) or not obj:
        raise ValidationError("wait info is a non-empty map of events", reason="suit.wait.value", path=path)
    for k, v in obj.items():
        if not isinstance(k, int) or isinstance(k, bool):
            raise ValidationError("wait event labels are integers", reason="suit.wait.value", path=path)
        if k == WaitEvent.OTHER_DEVICE_VERSION:
            if not (
                isinstance(v, list)
                and len(v) == 2
                and isinstance(v[0], bytes)
                and isinstance(v[1], list)
                and v[1]
            ):
                raise ValidationError(
                    "other-device-version is [bstr, [+version match]]",
                    reason="suit.wait.value",
                    path=(*path, k),
                )
            for m in v[1]:
                decode_version_match(m, (*path, k))
        elif not isinstance(v, int) or isinstance(v, bool):
            raise ValidationError(
                "this wait event takes an integer", reason="suit.wait.value", path=(*path, k)
            )
        elif (
            k
            in (
                WaitEvent.TIME,
                WaitEvent.TIME_OF_DAY,
                WaitEvent.DAY_OF_WEEK,
                WaitEvent.TIME_OF_DAY_UTC,
                WaitEvent.DAY_OF_WEEK_UTC,
            )
            and v < 0
        ):
            raise ValidationError(
                "this wait event takes an unsigned integer", reason="suit.wait.value", path=(*path, k)
            )
    return dict(obj)


def _event_holds(event: int, arg: Any, now: int, inputs: DeviceInputs, priority: int | None) -> bool:
    day = 86400
    if event == WaitEvent.TIME:
        return now >= int(arg)
    if event in (
        WaitEvent.TIME_OF_DAY_UTC,
        WaitEvent.DAY_OF_WEEK_UTC,
        WaitEvent.TIME_OF_DAY,
        WaitEvent.DAY_OF_WEEK,
    ):
        local = event in (WaitEvent.TIME_OF_DAY, WaitEvent.DAY_OF_WEEK)
        t = now
        if local:
            off = inputs.utc_offset()
            if off is None:  # §4.5: without local time configuration, local events are unsupported
                raise UnsupportedError(
                    "local-time wait events need a configured time zone", reason="suit.wait.localtime"
                )
            t += off
        if event in (WaitEvent.TIME_OF_DAY_UTC, WaitEvent.TIME_OF_DAY):
            return t % day >= int(arg)
        return ((t // day + 4) % 7) == int(arg)  # 1970-01-01 was a Thursday (4 days after Sunday)
    if event == WaitEvent.AUTHORIZATION:  # "Same as suit-parameter-update-priority"
        return inputs.authorize(int(arg))
    if event == WaitEvent.POWER:
        return inputs.power_state() == int(arg)
    if event == WaitEvent.NETWORK:
        return inputs.network_state() == int(arg)
    if event == WaitEvent.OTHER_DEVICE_VERSION:
        actual = inputs.other_device_version(arg[0])
        if actual is None:
            raise UnsupportedError(
                "the other device's version is unknown here", reason="suit.wait.other-device"
            )
        return all(version_matches(actual, decode_version_match(m)) for m in arg[1])
    raise UnsupportedError(f"wait event {event} is not supported", reason="suit.wait.unsupported")


def pending_events(events: Mapping[int, Any], now: int, inputs: DeviceInputs) -> list[str]:
    """Names of the events of ``events`` that do not hold yet (empty: proceed)."""
    out = []
    for k, v in events.items():
        if not _event_holds(k, v, now, inputs, None):
            try:
                out.append(WaitEvent(k).name.lower().replace("_", "-"))
            except ValueError:
                out.append(str(k))
    return out


def manifest_set_version(extensions: Mapping[int, Any]) -> list[int] | None:
    """§3.1 suit-set-version of a manifest (``bstr .cbor [+int]``), or None when absent."""
    raw = extensions.get(6)  # suit-set-version
    if raw is None:
        return None
    path: tuple[str | int, ...] = ("manifest", "set-version")
    if not isinstance(raw, bytes):
        raise ValidationError("suit-set-version is a byte string", reason="suit.set-version", path=path)
    try:
        obj = cbor.loads(raw)
    except DecodeError as err:
        raise ValidationError(
            f"suit-set-version is malformed: {err}", reason="suit.set-version", path=path
        ) from err
    return _ints(obj, path)


def encode_version_match(cmp: Comparison, value: Sequence[int]) -> bytes:
    """``bstr .cbor SUIT_Parameter_Version_Match`` for a manifest author."""
    return cbor.dumps([int(cmp), list(value)])


def parse_semver(text: str) -> list[int]:
    """§4.4.1: ``"1.2-rc.3"`` -> ``[1, 2, -1, 3]``; build metadata is refused."""
    if "+" in text:
        raise ValidationError("build metadata must not be encoded (§4.4.1)", reason="suit.version.semver")
    release, _, pre = text.partition("-")
    try:
        out = [int(x) for x in release.split(".")]
        if not 1 <= len(out) <= 3 or any(x < 0 for x in out):
            raise ValueError(text)
        if pre:
            kind, _, rest = pre.partition(".")
            out.append({"rc": -1, "beta": -2, "alpha": -3}[kind])
            out += [int(x) for x in rest.split(".") if x]
    except (ValueError, KeyError):
        raise ValidationError(
            f"not a constrained semantic version: {text!r}", reason="suit.version.semver"
        ) from None
    return out


__all__ = [
    "NO_INPUTS",
    "Comparison",
    "DeviceInputs",
    "StaticInputs",
    "WaitEvent",
    "decode_version_match",
    "decode_wait_events",
    "encode_version_match",
    "manifest_set_version",
    "parse_semver",
    "pending_events",
    "version_matches",
]
