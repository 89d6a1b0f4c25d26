"""Streaming variants of the filesystem store and fetcher, for large (encrypted) payloads.

draft-ietf-suit-firmware-encryption asks that a device decrypt "during copy or write"; issue 4
adds that a 100 MB payload must not be held in memory twice. :class:`SpoolingFileStore` keeps
staged components in spool files (under the store directory, removed by recovery after a kill)
instead of memory, and offers ``write_chunks``/``read_chunks``, which
:func:`iotsec.core.suit.companion.process_suit` uses when present: a fetched ciphertext flows
fetcher -> decryptor -> spool file in 1 MiB chunks. Staged content is exposed to the processor as
a read-only ``mmap`` (file-backed pages, not a copy), so image-match hashes it in place and
:meth:`FileStore.commit` writes it into the new generation as before.

A failed AEAD tag, a fetch error or any exception while writing removes that spool file: a
half-decrypted payload never becomes a component.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from iotsec.agent.suit_store import DirectoryFetcher, FileStore
from iotsec.core.suit.model import ComponentId
from iotsec.errors import NotFoundError

CHUNK = 1 << 20


class SpoolingFileStore(FileStore):
    """A :class:`FileStore` whose staged writes live in spool files, with chunked I/O."""

    def __init__(self, root: str | os.PathLike[str], *, create: bool = True) -> None:
        super().__init__(root, create=create)
        self._spool_dir: Path | None = None
        self._spools: list[tuple[mmap.mmap, Path]] = []
        self._n = 0

    def _spool(self) -> Path:
        if self._spool_dir is None:
            self._spool_dir = self.root / f".tmp-spool-{os.getpid()}"
            self._spool_dir.mkdir(mode=0o700, exist_ok=True)
        self._n += 1
        return self._spool_dir / f"{self._n:06d}"

    def write_chunks(self, component: ComponentId, chunks: Iterable[bytes]) -> int:
        """Stage ``component`` from ``chunks``; on any exception nothing is staged."""
        path = self._spool()
        n = 0
        try:
            with open(path, "wb") as f:
                for chunk in chunks:
                    f.write(chunk)
                    n += len(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        if self._staged is None:
            self.begin()
        assert self._staged is not None
        if n == 0:
            self._staged[component] = b""
            path.unlink()
            return 0
        with open(path, "rb") as f:
            view = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        self._spools.append((view, path))
        self._staged[component] = view  # type: ignore[assignment]  # bytes-like, file-backed
        return n

    def read_chunks(self, component: ComponentId, size: int = CHUNK) -> Iterator[bytes] | None:
        """The staged or committed content of ``component`` in chunks, or None when absent."""
        if self._staged is not None and component in self._staged:
            data = self._staged[component]
            if data is None:
                return None
            view = memoryview(data)
            return (bytes(view[i : i + size]) for i in range(0, len(view), size))
        path = self.path_of(component)
        if not path.is_file():
            return None

        def gen() -> Iterator[bytes]:
            with open(path, "rb") as f:
                while block := f.read(size):
                    yield block

        return gen()

    def _drop_spools(self) -> None:
        for view, _ in self._spools:
            with contextlib.suppress(BufferError, ValueError):
                view.close()
        self._spools.clear()
        if self._spool_dir is not None:
            shutil.rmtree(self._spool_dir, ignore_errors=True)
            self._spool_dir = None

    def commit(self, sequence_number: int | None) -> None:
        try:
            super().commit(sequence_number)
        finally:
            self._drop_spools()

    def abort(self) -> None:
        super().abort()
        self._drop_spools()


class StreamingDirectoryFetcher(DirectoryFetcher):
    """A :class:`DirectoryFetcher` that can also hand a payload out in chunks."""

    def fetch_chunks(self, uri: str, arguments: bytes | None, size: int = CHUNK) -> Iterator[bytes]:
        name = uri.split("?", 1)[0].split("#", 1)[-1].rstrip("/").rsplit("/", 1)[-1]
        path = self.directory / name
        if not name or name in (".", "..") or not path.is_file():
            raise NotFoundError(
                f"payload for {uri!r} not found in {self.directory}", reason="suit.fetch.notfound"
            )

        def gen() -> Iterator[bytes]:
            with open(path, "rb") as f:
                while block := f.read(size):
                    yield block

        return gen()


REFS_COMPONENT: ComponentId = (b".suit-refs",)


class RefCountingFileStore(SpoolingFileStore):
    """A streaming store that keeps the reference counts of draft-ietf-suit-trust-domains §5.6.5.

    The counts live in a hidden component (``.suit-refs``, JSON: component file name -> manifest
    digests referring to it), staged and committed with the components in the same atomic
    generation switch, so they persist across restarts and never disagree with the files.
    """

    def _refs(self) -> dict[str, list[str]]:
        import json

        raw = self.read(REFS_COMPONENT)
        if not raw:
            return {}
        try:
            data = json.loads(bytes(raw))
        except ValueError:
            from iotsec.errors import ConfigError

            raise ConfigError("the reference counts are corrupt", reason="suit.store.refs") from None
        return {str(k): [str(x) for x in v] for k, v in data.items()}

    def _save(self, refs: dict[str, list[str]]) -> None:
        import json

        self.write(REFS_COMPONENT, json.dumps(refs, sort_keys=True).encode())

    def link(self, component: ComponentId, manifest_digest: bytes) -> None:
        """Record that the manifest with ``manifest_digest`` refers to ``component``."""
        from iotsec.agent.suit_store import component_file_name

        refs = self._refs()
        holders = refs.setdefault(component_file_name(component), [])
        if manifest_digest.hex() not in holders:
            holders.append(manifest_digest.hex())
            self._save(refs)

    def unlink(self, component: ComponentId, manifest_digest: bytes) -> int:
        """Drop that manifest's reference (once); remove the component at zero."""
        from iotsec.agent.suit_store import component_file_name
        from iotsec.errors import PolicyError

        refs = self._refs()
        name = component_file_name(component)
        holders = refs.get(name, [])
        if manifest_digest.hex() not in holders:
            raise PolicyError("this manifest holds no reference to the component", reason="suit.unlink.twice")
        holders.remove(manifest_digest.hex())
        if not holders:
            refs.pop(name, None)
            if self._staged is None:
                self.begin()
            assert self._staged is not None
            self._staged[component] = None  # FileStore.commit leaves it out of the new generation
        self._save(refs)
        return len(holders)

    def references(self, component: ComponentId) -> int:
        from iotsec.agent.suit_store import component_file_name

        return len(self._refs().get(component_file_name(component), []))


__all__ = ["REFS_COMPONENT", "RefCountingFileStore", "SpoolingFileStore", "StreamingDirectoryFetcher"]
