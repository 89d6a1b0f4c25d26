"""The SUIT data model (draft-ietf-suit-manifest §5, §8): immutable dataclasses.

Members that the wire format wraps in a byte string (``bstr .cbor``) are held decoded; the codec
re-wraps them. Severable members (§8.4.12) are held as either their value or a :class:`Digest`.
Unknown or foreign members are kept raw in ``extensions`` so that nothing is silently lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from iotsec.core.suit.registry import ManifestKey

_new = object.__new__

ComponentId = tuple[bytes, ...]
"""§8.4.5.1 SUIT_Component_Identifier: an array of byte strings."""

IndexArg = int | bool | tuple[int, ...]
"""§6.5 component index argument: an integer, ``True`` or an array of integers."""


@dataclass(frozen=True)
class Digest:
    """§10 SUIT_Digest: ``[algorithm-id, digest-bytes, *extensions]``."""

    alg: int
    value: bytes
    extra: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Command:
    """One command of a SUIT_Command_Sequence (§8.4.6): a code and its argument.

    ``arg`` is a reporting policy (int) for most commands; an :data:`IndexArg` for
    set-component-index; a parameter map for override/set-parameters; a tuple of sequences (or
    ``None`` for the trailing nil) for try-each; a sequence for run-sequence; raw CBOR otherwise.
    """

    code: int
    arg: Any


CommandSequence = tuple[Command, ...]
Severable = CommandSequence | Digest


@dataclass(frozen=True)
class Common:
    """§8.4.5 suit-common."""

    components: tuple[ComponentId, ...] = ()
    shared_sequence: CommandSequence | None = None
    dependencies: Any = None  # draft-ietf-suit-trust-domains, kept raw (issue #4)
    extensions: Mapping[int, Any] = field(default_factory=dict)


TextMap = Mapping[str, Mapping[Any, Any]]
"""§8.4.4 SUIT_Text_Map: language tag -> {text key: str, component id: {key: str}}."""


@dataclass(frozen=True)
class Manifest:
    """§8.4 SUIT_Manifest."""

    sequence_number: int
    common: Common
    version: int = 1
    reference_uri: str | None = None
    # command sequences by manifest key (validate, load, invoke, payload-fetch, install, ...);
    # severable ones may be a Digest when severed (§8.4.12)
    sequences: Mapping[int, Severable] = field(default_factory=dict)
    text: TextMap | Digest | None = None
    extensions: Mapping[int, Any] = field(default_factory=dict)
    tagged: bool = False  # SUIT_Manifest_Tagged (1070) when decoded from a bare manifest

    def sequence(self, key: int) -> Severable | None:
        """The command sequence (or its digest when severed) at ``key``."""
        return self.sequences.get(key)

    @property
    def is_severed(self) -> bool:
        """True if any member is a digest (its value lives in the envelope, or was removed)."""
        return isinstance(self.text, Digest) or any(isinstance(s, Digest) for s in self.sequences.values())

    @property
    def components(self) -> tuple[ComponentId, ...]:
        return self.common.components


@dataclass(frozen=True)
class Authentication:
    """§8.3 SUIT_Authentication: the manifest digest and zero or more COSE blocks over it."""

    digest: Digest
    blocks: tuple[bytes, ...] = ()  # encoded COSE_Sign1/Mac0/Sign/Mac (tagged), bstr contents


@dataclass(frozen=True)
class Envelope:
    """§8.2 SUIT_Envelope.

    ``manifest_bytes`` are the exact bytes inside the bstr at suit-manifest (what the digest in
    the authentication wrapper covers, §8.3); ``severed`` holds severable members present in the
    envelope (§8.6) as the exact bstr contents their digests cover, with their decoded value.
    """

    manifest: Manifest
    manifest_bytes: bytes
    authentication: Authentication | None = None
    severed: Mapping[int, bytes] = field(default_factory=dict)
    severed_values: Mapping[int, Any] = field(default_factory=dict)
    integrated: Mapping[str, bytes] = field(default_factory=dict)  # §5.5 integrated payloads
    delegation: Any = None  # §11.1 label 1 (trust domains), raw
    extensions: Mapping[int, Any] = field(default_factory=dict)
    tagged: bool = True

    @property
    def sequence_number(self) -> int:
        return self.manifest.sequence_number


ManifestMemberKey = ManifestKey


def make_command(code: int, arg: Any) -> Command:
    """``Command(code, arg)`` for the decoder's hot path (many per manifest).

    The same frozen object, built without the dataclass ``__init__`` (which pays one
    ``object.__setattr__`` per field) by storing each field in the instance dict; the codec
    builds its other objects the same way. None of these classes has a ``__post_init__``.
    """
    cmd = _new(Command)
    d = cmd.__dict__
    d["code"] = code
    d["arg"] = arg
    return cmd


__all__ = [
    "Authentication",
    "Command",
    "CommandSequence",
    "Common",
    "ComponentId",
    "Digest",
    "Envelope",
    "IndexArg",
    "Manifest",
    "Severable",
    "TextMap",
]
