"""Dependencies between manifests (draft-ietf-suit-trust-domains §5).

* :func:`dependency_map` -- ``SUIT_Dependencies = {+ uint => SUIT_Dependency_Metadata}`` (§5.2.2)
  decoded strictly.
* :func:`component_table` -- the component identifiers a manifest's command sequences address:
  its suit-components, plus one entry per dependency index beyond them. The trust-domains
  examples give the dependency an index past the component list and name it by its
  ``dependency-prefix`` (example 0: components ``[['10']]``, dependency ``1: {prefix:
  ['dependent.suit']}``); that prefix is where the dependency's envelope is stored ("Dependencies
  are stored as Components"). Component ids inside the dependency are *not* prefixed, so that
  parameters set by a dependent reach the dependency's components (as the firmware-encryption
  dependency example requires).
* :func:`manifest_digest_of` -- §5.2.2: image-match over a dependency component is computed over
  the bstr-wrapped manifest of the stored envelope, i.e. the digest of its authentication wrapper.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from iotsec.core import cbor
from iotsec.core.suit import codec
from iotsec.core.suit.digest import digest_matches
from iotsec.core.suit.model import ComponentId, Digest, Envelope, Manifest
from iotsec.core.suit.registry import ManifestKey
from iotsec.errors import DecodeError, ValidationError

DEPENDENCY_PREFIX = 1  # §5.2.2 suit-dependency-prefix
MAX_DEPTH = 8  # nested dependencies processed at most this deep (a loop guard)


@dataclass(frozen=True)
class Dependency:
    """One entry of SUIT_Dependencies."""

    index: int
    prefix: ComponentId | None
    extensions: Mapping[int, Any]


def dependency_map(man: Manifest) -> dict[int, Dependency]:
    """Decode suit-dependencies of ``man`` (empty when absent)."""
    raw = man.common.dependencies
    if raw is None:
        return {}
    path = ("manifest", "common", "dependencies")
    if not isinstance(raw, dict) or not raw:
        raise ValidationError(
            "suit-dependencies is a non-empty map", reason="suit.dependency.invalid", path=path
        )
    out: dict[int, Dependency] = {}
    for k, meta in raw.items():
        if not isinstance(k, int) or isinstance(k, bool) or k < 0:
            raise ValidationError(
                "dependency keys are component indices",
                reason="suit.dependency.invalid",
                path=(*path, repr(k)),
            )
        if not isinstance(meta, dict):
            raise ValidationError(
                "SUIT_Dependency_Metadata is a map", reason="suit.dependency.invalid", path=(*path, k)
            )
        prefix = None
        if DEPENDENCY_PREFIX in meta:
            p = meta[DEPENDENCY_PREFIX]
            if not isinstance(p, list) or not all(isinstance(s, bytes) for s in p):
                raise ValidationError(
                    "dependency-prefix is a component identifier",
                    reason="suit.dependency.invalid",
                    path=(*path, k, "dependency-prefix"),
                )
            prefix = tuple(p)
        out[k] = Dependency(k, prefix, {mk: mv for mk, mv in meta.items() if mk != DEPENDENCY_PREFIX})
    return out


def component_table(man: Manifest, deps: Mapping[int, Dependency]) -> tuple[ComponentId, ...]:
    """Component ids by index: suit-components, then dependencies beyond them (see module doc)."""
    comps = list(man.common.components)
    for k in sorted(deps):
        if k < len(comps):
            continue
        if k != len(comps):
            raise ValidationError(
                f"dependency index {k} leaves a gap after the components",
                reason="suit.dependency.index",
                path=("manifest", "common", "dependencies", k),
            )
        prefix = deps[k].prefix
        if prefix is None:
            raise ValidationError(
                f"dependency index {k} is not a component and has no prefix",
                reason="suit.dependency.index",
                path=("manifest", "common", "dependencies", k),
            )
        comps.append(prefix)
    return tuple(comps)


def manifest_component_id(man: Manifest) -> ComponentId | None:
    """§5.2.1 suit-manifest-component-id (only meaningful for a root manifest)."""
    raw = man.extensions.get(ManifestKey.MANIFEST_COMPONENT_ID)
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(s, bytes) for s in raw):
        raise ValidationError(
            "manifest-component-id is a component identifier",
            reason="suit.manifest-component-id",
            path=("manifest", "manifest-component-id"),
        )
    return tuple(raw)


def decode_dependency(data: bytes) -> Envelope:
    """Decode the envelope stored in a dependency component (typed errors only)."""
    try:
        return codec.decode(data)
    except DecodeError as err:
        raise ValidationError(
            f"dependency envelope is malformed: {err}", reason="suit.dependency.cbor"
        ) from err


def manifest_digest_of(env: Envelope, expected: Digest) -> bool:
    """True when ``expected`` is the digest of ``env``'s bstr-wrapped manifest (§5.2.2)."""
    return digest_matches(expected, cbor.dumps(env.manifest_bytes))


__all__ = [
    "MAX_DEPTH",
    "Dependency",
    "RefCountingMemoryStore",
    "component_table",
    "decode_dependency",
    "dependency_map",
    "manifest_component_id",
    "manifest_digest_of",
]


class RefCountingMemoryStore:
    """A :class:`~iotsec.core.suit.store.MemoryStore` with the reference counts of trust-domains
    §5.6.5: ``link`` on install, ``unlink`` once per manifest (a second unlink by the same
    manifest is refused), the component removed (staged) when its count reaches zero.
    Persistence across restarts is the job of a device store built on this pattern."""

    def __init__(self, components: dict[ComponentId, bytes] | None = None) -> None:
        from iotsec.core.suit.store import MemoryStore

        self.inner = MemoryStore(components)
        self.links: dict[ComponentId, set[bytes]] = {}

    def __getattr__(self, name: str) -> object:  # begin/read/write/swap/commit/abort/slot
        return getattr(self.inner, name)

    def link(self, component: ComponentId, manifest_digest: bytes) -> None:
        self.links.setdefault(component, set()).add(manifest_digest)

    def unlink(self, component: ComponentId, manifest_digest: bytes) -> int:
        from iotsec.errors import PolicyError

        holders = self.links.get(component, set())
        if manifest_digest not in holders:
            raise PolicyError("this manifest holds no reference to the component", reason="suit.unlink.twice")
        holders.discard(manifest_digest)
        if not holders:
            self.inner.write(component, b"")
            staged = self.inner._staged
            assert staged is not None
            staged[component] = None  # MemoryStore.commit removes it
        return len(holders)
