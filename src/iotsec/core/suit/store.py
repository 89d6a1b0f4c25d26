"""Interfaces between the pure SUIT processor and the device (draft-ietf-suit-manifest §6.4).

The processor never touches storage or the network itself: it reads and writes components through a
:class:`ComponentStore` and resolves URIs through a :class:`Fetcher`. Writes are staged by the store
inside a transaction (:meth:`ComponentStore.begin`) and become visible only on
:meth:`ComponentStore.commit`, so that a failed or interrupted update leaves the old state (§6.3.1).
"""

from __future__ import annotations

from typing import Protocol

from iotsec.core.suit.metadata import ComponentMetadata
from iotsec.core.suit.model import ComponentId
from iotsec.errors import NotFoundError, PolicyError


class ComponentStore(Protocol):
    """Storage of components, transactional (§6.3.1 "Resilience to Disruption")."""

    def begin(self) -> None:
        """Start staging writes. Reads see staged data (read-your-writes)."""

    def read(self, component: ComponentId) -> bytes | None:
        """Current (staged, else committed) content of a component, or None when absent."""

    def slot(self, component: ComponentId) -> int | None:
        """The slot index of a component (§8.4.9.4), or None when the device has no slots."""

    def write(self, component: ComponentId, data: bytes) -> None:
        """Stage ``data`` as the new content of ``component`` (fetch, copy, write, §6.4 store())."""

    def swap(self, a: ComponentId, b: ComponentId) -> None:
        """Stage the exchange of two components' contents (§8.4.10.9)."""

    def commit(self, sequence_number: int | None) -> None:
        """Make staged writes, and the new sequence number if given, durable in one atomic step.

        Raises :class:`~iotsec.errors.PolicyError` if ``sequence_number`` is not greater than the
        stored one (anti-rollback, §8.4.2).
        """

    def abort(self) -> None:
        """Drop staged writes."""

    # A store may also offer ``apply_metadata(component, metadata)``: stage the component
    # metadata of draft-ietf-suit-update-management §4.6 (a
    # :class:`~iotsec.core.suit.metadata.ComponentMetadata`) with the content just staged, raising
    # :class:`~iotsec.errors.UnsupportedError` for what it cannot apply. The processor refuses a
    # manifest that sets the parameter on a store without it. A new content staged by ``write``
    # has no metadata until ``apply_metadata`` gives it some; ``swap`` moves metadata with content
    # (or, where a store cannot, refuses with UnsupportedError).


class Fetcher(Protocol):
    """Resolves a URI (§8.4.8.10) to a payload; adapters implement it (files, HTTP, CoAP)."""

    def fetch(self, uri: str, arguments: bytes | None) -> bytes:
        """Return the resource or raise :class:`~iotsec.errors.NotFoundError`."""


class NoFetcher:
    """A fetcher that resolves nothing (only integrated payloads are available)."""

    def fetch(self, uri: str, arguments: bytes | None) -> bytes:
        raise NotFoundError(f"no payload source for {uri!r}", reason="suit.fetch.notfound")


class MemoryStore:
    """An in-memory :class:`ComponentStore` (tests, benchmarks, simulators)."""

    def __init__(
        self,
        components: dict[ComponentId, bytes] | None = None,
        slots: dict[ComponentId, int] | None = None,
        sequence_number: int | None = None,
    ) -> None:
        self.components: dict[ComponentId, bytes] = dict(components or {})
        self.slots = dict(slots or {})
        self.sequence_number = sequence_number
        self._staged: dict[ComponentId, bytes | None] | None = None
        self.commits = 0
        # update-management §4.6: the committed metadata of components that were given some
        self.metadata: dict[ComponentId, ComponentMetadata] = {}
        self._staged_meta: dict[ComponentId, ComponentMetadata | None] = {}

    def begin(self) -> None:
        self._staged = {}
        self._staged_meta = {}

    def read(self, component: ComponentId) -> bytes | None:
        if self._staged is not None and component in self._staged:
            return self._staged[component]
        return self.components.get(component)

    def metadata_of(self, component: ComponentId) -> ComponentMetadata | None:
        """The staged, else committed, metadata of a component (None: none was applied)."""
        if component in self._staged_meta:
            return self._staged_meta[component]
        return self.metadata.get(component)

    def apply_metadata(self, component: ComponentId, metadata: ComponentMetadata) -> None:
        """Record ``metadata`` with the content just staged (kept as given: every file type)."""
        if self._staged is None or component not in self._staged:
            raise PolicyError("metadata without a content staged for it", reason="suit.metadata.directive")
        self._staged_meta[component] = metadata

    def slot(self, component: ComponentId) -> int | None:
        return self.slots.get(component)

    def write(self, component: ComponentId, data: bytes) -> None:
        if self._staged is None:
            self.begin()
        assert self._staged is not None
        self._staged[component] = bytes(data)
        if self._staged_meta or self.metadata:
            self._staged_meta[component] = None  # a new content: no metadata unless applied

    def swap(self, a: ComponentId, b: ComponentId) -> None:
        da, db = self.read(a), self.read(b)
        ma, mb = self.metadata_of(a), self.metadata_of(b)
        if self._staged is None:
            self.begin()
        assert self._staged is not None
        self._staged[a], self._staged[b] = db, da
        if ma is not None or mb is not None:
            self._staged_meta[a], self._staged_meta[b] = mb, ma

    def commit(self, sequence_number: int | None) -> None:
        if (
            sequence_number is not None
            and self.sequence_number is not None
            and sequence_number <= self.sequence_number
        ):
            raise PolicyError("manifest sequence number is not newer", reason="suit.rollback")
        for k, v in (self._staged or {}).items():
            if v is None:
                self.components.pop(k, None)
                self.metadata.pop(k, None)
            else:
                self.components[k] = v
        for k, m in self._staged_meta.items():
            if m is None or k not in self.components:
                self.metadata.pop(k, None)
            else:
                self.metadata[k] = m
        if sequence_number is not None:
            self.sequence_number = sequence_number
        self._staged = None
        self._staged_meta = {}
        self.commits += 1

    def abort(self) -> None:
        self._staged = None
        self._staged_meta = {}


__all__ = ["ComponentStore", "Fetcher", "MemoryStore", "NoFetcher"]
