"""Inputs and outputs of the SUIT processor: identity, procedures, records, actions, report, extensions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from iotsec.core.suit.model import Command, ComponentId
from iotsec.core.suit.registry import ManifestKey
from iotsec.errors import IotSecError


class Procedure(Enum):
    """§8.4.6: goals 1-3 form the Update Procedure, goals 3-5 the Invocation Procedure."""

    UPDATE = "update"
    INVOKE = "invoke"
    ALL = "all"


UPDATE_SEQUENCES = (ManifestKey.PAYLOAD_FETCH, ManifestKey.INSTALL, ManifestKey.VALIDATE)
INVOKE_SEQUENCES = (ManifestKey.VALIDATE, ManifestKey.LOAD, ManifestKey.INVOKE)
_DEPENDENCY_MEMBERS = (ManifestKey.DEPENDENCY_RESOLUTION, ManifestKey.CANDIDATE_VERIFICATION)


@dataclass(frozen=True)
class DeviceIdentity:
    """What the recipient asserts for identifier conditions (§8.4.9.1).

    ``vendor_ids`` holds 16-byte UUIDs and, for a vendor identified by a CBOR PEN (§8.4.8.3), the
    relative-OID bytes of tag 112. ``components`` overrides the identity per component id.
    """

    vendor_ids: frozenset[bytes] = frozenset()
    class_ids: frozenset[bytes] = frozenset()
    device_ids: frozenset[bytes] = frozenset()
    components: Mapping[ComponentId, DeviceIdentity] = field(default_factory=dict)

    def for_component(self, cid: ComponentId) -> DeviceIdentity:
        return self.components.get(cid, self)


@dataclass(frozen=True)
class Record:
    """One executed command on one component (§8.4.7 information elements)."""

    sequence: str
    command: str
    component: int | None
    ok: bool
    policy: int = 0
    detail: str = ""
    section: int = 0  # manifest key of the sequence (3, suit-common, for the shared sequence)
    properties: Mapping[int, Any] = field(default_factory=dict)  # parameters the command consumed
    position: tuple[Any, int] | None = field(default=None, repr=False, compare=False)  # (sequence, index)

    @property
    def offset(self) -> int:
        """Byte offset of the command in its (innermost) encoded command sequence."""
        if self.position is None:
            return 0
        from iotsec.core.suit.encoding import command_offset

        return command_offset(self.position[0], self.position[1])


@dataclass(frozen=True)
class Action:
    """A side effect the processor asked for: fetch, write, copy, swap, metadata (staged) or invoke."""

    kind: str
    component: ComponentId
    detail: str = ""
    arguments: bytes | None = None


@dataclass
class Report:
    """The result of processing a manifest."""

    sequence_number: int
    procedure: str
    ok: bool = True
    reason: str = ""
    error: IotSecError | None = None
    records: list[Record] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    committed: bool = False
    warnings: list[str] = field(default_factory=list)

    def check(self) -> None:
        """Raise the error that made processing fail, if any."""
        if self.error is not None:
            raise self.error

    @property
    def invocations(self) -> list[Action]:
        return [a for a in self.actions if a.kind == "invoke"]


CustomHandler = Callable[[int, Any, ComponentId, Mapping[int, Any]], bool]
ExtensionHandler = Callable[[Any, int, Command], bool]
"""``handler(processor, component_index, command) -> ok``; the processor exposes ``env``,
``components``, ``params`` (one table per component), ``store``, ``fetcher`` and ``report``.
Returning False is a condition failure (soft-failure applies); raising IotSecError aborts."""


@dataclass(frozen=True)
class Extension:
    """Commands of other SUIT drafts plugged into the processor (trust domains: issue #4).

    ``commands`` maps command codes to handlers; ``handles_dependencies`` lifts the refusal of
    manifests with dependencies; ``update_sequences`` replaces the update procedure's sequence
    order (e.g. dependency-resolution, payload-fetch, candidate-verification, install, validate).
    """

    commands: Mapping[int, ExtensionHandler] = field(default_factory=dict)
    handles_dependencies: bool = False
    update_sequences: tuple[int, ...] = ()


__all__ = [
    "INVOKE_SEQUENCES",
    "UPDATE_SEQUENCES",
    "Action",
    "CustomHandler",
    "DeviceIdentity",
    "Extension",
    "ExtensionHandler",
    "Procedure",
    "Record",
    "Report",
]
