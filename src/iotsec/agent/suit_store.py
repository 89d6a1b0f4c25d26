"""A filesystem component store for Linux-class devices (draft-ietf-suit-manifest §6.3.1).

Layout under the store directory::

    current -> gen-000007            symlink: the one switch point
    gen-000007/state.json            {"sequence_number": 7, "components": {name: sha256}}
    gen-000007/components/<name>     one file per component
    gen-000006/...                   the previous generation (kept for A/B fallback)
    slots.json                       optional {name: slot index} (§8.4.9.4)

Writes are staged in memory during processing. :meth:`FileStore.commit` builds a new generation
in a temporary directory (unchanged components are hard links, new ones are written, fsync'd and
re-read to check their SHA-256), writes the new sequence number, renames the directory into place
and then atomically replaces the ``current`` symlink with ``os.replace``. A kill at any moment
leaves ``current`` on either the complete old or the complete new generation; leftovers of an
interrupted commit are removed by the next :class:`FileStore`.

Component metadata (draft-ietf-suit-update-management §4.6) applies to regular files as POSIX
mode bits, owner, group and modification time (:func:`iotsec.core.suit.metadata.posix_view`),
set on the new file before the generation switch and recorded in ``state.json`` under
``metadata`` with the creator; what POSIX cannot represent (directories and symbolic links among
the components, other permission bits, several users, a creation time) is refused before anything
is written, and so is a world-writable mode (local policy: any user could replace the component).

Component ids map to file names: each segment that is a plain name (letters, digits, ``._-``)
is used as is, any other segment as ``x-<hex>``, and segments are joined with ``~``, e.g.
``[h'00']`` -> ``x-00`` and ``['usr', 'bin', 'env']`` -> ``usr~bin~env``; a name longer than 200
characters becomes ``h-<sha256>``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
from pathlib import Path

from iotsec.core.suit.metadata import ComponentMetadata, FileType, PosixMetadata, posix_view
from iotsec.core.suit.model import ComponentId
from iotsec.errors import ConfigError, PolicyError, UnsupportedError, VerifyError

_SAFE = re.compile(rb"[A-Za-z0-9._-]{1,64}")
_GEN = re.compile(r"gen-(\d{6,})")


def component_file_name(cid: ComponentId) -> str:
    """The file name of a component id (see the module docstring)."""
    parts = []
    for seg in cid:
        if _SAFE.fullmatch(seg) and seg not in (b".", b"..") and not seg.startswith(b"x-"):
            parts.append(seg.decode("ascii"))
        else:
            parts.append("x-" + seg.hex())
    name = "~".join(parts) or "x-"
    if len(name) > 200:  # file systems limit names to 255 bytes: long ids are named by their hash
        name = "h-" + hashlib.sha256(b"\0".join(cid)).hexdigest()
    return name


def parse_component_file_name(name: str) -> ComponentId:
    """Inverse of :func:`component_file_name`."""
    if name == "x-":
        return ()
    if name.startswith("h-"):
        raise ValueError("a hashed component name cannot be reversed")
    return tuple(bytes.fromhex(p[2:]) if p.startswith("x-") else p.encode("ascii") for p in name.split("~"))


def _sha256_file(path: Path) -> str:
    """SHA-256 of a file read in 1 MiB blocks (a large component is never read back whole)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileStore:
    """:class:`~iotsec.core.suit.store.ComponentStore` on a directory (see the module docstring)."""

    def __init__(self, root: str | os.PathLike[str], *, create: bool = True) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            if not create:
                raise ConfigError(f"store directory {self.root} does not exist", reason="suit.store.missing")
            self.root.mkdir(parents=True, mode=0o700)
        self._recover()
        self._staged: dict[ComponentId, bytes | None] | None = None
        self._staged_meta: dict[ComponentId, tuple[PosixMetadata, ComponentMetadata] | None] = {}
        slots_file = self.root / "slots.json"
        self._slots: dict[str, int] = {}
        if slots_file.exists():
            try:
                raw = json.loads(slots_file.read_text())
                self._slots = {str(k): int(v) for k, v in raw.items()}
            except (ValueError, AttributeError, TypeError) as exc:
                raise ConfigError(f"bad slots.json: {exc}", reason="suit.store.slots") from exc

    # ---- state
    def _recover(self) -> None:
        """Remove leftovers of an interrupted commit; create generation 0 in a new store."""
        for p in self.root.iterdir():
            if p.name.startswith(".tmp-") or p.name == "current.tmp":
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p)
                else:
                    p.unlink()
        if not (self.root / "current").is_symlink():
            gen = self.root / "gen-000000"
            (gen / "components").mkdir(parents=True, exist_ok=True)
            (gen / "state.json").write_text(json.dumps({"sequence_number": None, "components": {}}))
            self._switch(gen.name)
        current = self.current_generation
        for p in self.root.iterdir():  # generations that never became current
            m = _GEN.fullmatch(p.name)
            if m and p.name > current.name:
                shutil.rmtree(p)

    @property
    def current_generation(self) -> Path:
        return self.root / os.readlink(self.root / "current")

    def _state(self) -> dict[str, object]:
        state = json.loads((self.current_generation / "state.json").read_text())
        assert isinstance(state, dict)
        return state

    @property
    def sequence_number(self) -> int | None:
        """The sequence number of the last committed update (None before the first)."""
        value = self._state().get("sequence_number")
        return value if isinstance(value, int) else None

    def path_of(self, cid: ComponentId) -> Path:
        """The file of a component in the current generation."""
        return self.current_generation / "components" / component_file_name(cid)

    def components(self) -> dict[ComponentId, Path]:
        """Committed components and their files."""
        base = self.current_generation / "components"
        out: dict[ComponentId, Path] = {}
        for p in sorted(base.iterdir()):
            with contextlib.suppress(ValueError):
                out[parse_component_file_name(p.name)] = p
        return out

    def metadata_of(self, cid: ComponentId) -> dict[str, object] | None:
        """The committed metadata record of a component (``state.json``), or None."""
        table = self._state().get("metadata") or {}
        assert isinstance(table, dict)
        entry = table.get(component_file_name(cid))
        return entry if isinstance(entry, dict) else None

    # ---- ComponentStore protocol
    def begin(self) -> None:
        self._staged = {}
        self._staged_meta = {}

    def read(self, component: ComponentId) -> bytes | None:
        if self._staged is not None and component in self._staged:
            return self._staged[component]
        path = self.path_of(component)
        return path.read_bytes() if path.is_file() else None

    def slot(self, component: ComponentId) -> int | None:
        return self._slots.get(component_file_name(component))

    def write(self, component: ComponentId, data: bytes) -> None:
        if self._staged is None:
            self.begin()
        assert self._staged is not None
        self._staged[component] = bytes(data)
        self._staged_meta[component] = None  # a new content: no metadata unless applied

    def apply_metadata(self, component: ComponentId, metadata: ComponentMetadata) -> None:
        """Stage §4.6 metadata for the content just staged; refuse what this store cannot apply."""
        if self._staged is None or component not in self._staged:
            raise PolicyError("metadata without a content staged for it", reason="suit.metadata.directive")
        if metadata.file_type != FileType.REGULAR:
            raise UnsupportedError(
                f"this store keeps regular files: file type {FileType(metadata.file_type).name.lower()}"
                " is not supported",
                reason="suit.parameter.unsupported.metadata",
            )
        view = posix_view(metadata)
        if view.mode is not None and view.mode & 0o002:
            # least privilege: any local user could replace an installed component
            raise PolicyError(
                f"mode {view.mode:03o} makes the component writable by every user; this store refuses"
                " world-writable components",
                reason="suit.metadata.policy",
            )
        if os.geteuid() != 0:  # an unprivileged agent: only what it may do, and still read back
            if view.uid is not None and view.uid != os.geteuid():
                raise UnsupportedError(
                    f"changing the owner to uid {view.uid} needs privileges this agent does not have",
                    reason="suit.parameter.unsupported.metadata",
                )
            if view.gid is not None and view.gid not in (os.getegid(), *os.getgroups()):
                raise UnsupportedError(
                    f"changing the group to gid {view.gid} needs privileges this agent does not have",
                    reason="suit.parameter.unsupported.metadata",
                )
            if view.mode is not None and (view.mode & 0o600) != 0o600:
                raise UnsupportedError(
                    f"mode {view.mode:03o} would stop this unprivileged agent reading or replacing the"
                    " component",
                    reason="suit.parameter.unsupported.metadata",
                )
        self._staged_meta[component] = (view, metadata)

    def swap(self, a: ComponentId, b: ComponentId) -> None:
        da, db = self.read(a), self.read(b)
        if self._staged is None:
            self.begin()
        assert self._staged is not None
        if any(self.metadata_of(c) is not None or self._staged_meta.get(c) is not None for c in (a, b)):
            raise UnsupportedError(
                "swapping components that carry metadata is not supported by this store",
                reason="suit.parameter.unsupported.metadata",
            )
        self._staged[a], self._staged[b] = db, da

    def abort(self) -> None:
        self._staged = None
        self._staged_meta = {}

    def commit(self, sequence_number: int | None) -> None:
        """Atomically switch to a new generation holding the staged writes (module docstring)."""
        staged = self._staged or {}
        stored = self.sequence_number
        if sequence_number is not None and stored is not None and sequence_number <= stored:
            raise PolicyError(
                f"manifest sequence number {sequence_number} is not greater than {stored}",
                reason="suit.rollback",
            )
        old = self.current_generation
        state = self._state()
        digests = dict(state.get("components") or {})  # type: ignore[call-overload]
        metadata = dict(state.get("metadata") or {})  # type: ignore[call-overload]
        number = int(_GEN.fullmatch(old.name).group(1)) + 1  # type: ignore[union-attr]
        tmp = self.root / f".tmp-{os.getpid()}-{number:06d}"
        comps = tmp / "components"
        comps.mkdir(parents=True)
        staged_names = {component_file_name(cid) for cid in staged}
        for p in (old / "components").iterdir():  # unchanged components: hard links, no copy
            if p.name not in staged_names:
                os.link(p, comps / p.name)
        for cid, data in staged.items():
            name = component_file_name(cid)
            metadata.pop(name, None)
            if data is None:
                digests.pop(name, None)
                continue
            target = comps / name
            with open(target, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            expected = hashlib.sha256(data).hexdigest()
            if _sha256_file(target) != expected:  # read back: digest-checked
                raise VerifyError("a component did not read back intact", reason="suit.store.readback")
            digests[name] = expected
            staged_meta = self._staged_meta.get(cid)
            if staged_meta is not None:
                metadata[name] = _apply_posix(target, *staged_meta)
        new_state = {
            "sequence_number": sequence_number
            if sequence_number is not None
            else state.get("sequence_number"),
            "components": digests,
        }
        if metadata:
            new_state["metadata"] = metadata
        with open(tmp / "state.json", "w") as f:
            json.dump(new_state, f, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        _fsync_dir(comps)
        _fsync_dir(tmp)
        gen_name = f"gen-{number:06d}"
        os.replace(tmp, self.root / gen_name)
        _fsync_dir(self.root)
        self._switch(gen_name)  # the atomic switch point
        self._staged = None
        self._staged_meta = {}
        for p in self.root.iterdir():  # keep the previous generation for A/B fallback
            m = _GEN.fullmatch(p.name)
            if m and int(m.group(1)) < number - 1:
                shutil.rmtree(p, ignore_errors=True)

    def _switch(self, gen_name: str) -> None:
        link = self.root / "current.tmp"
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        os.symlink(gen_name, link)
        os.replace(link, self.root / "current")
        _fsync_dir(self.root)


def _apply_posix(path: Path, view: PosixMetadata, meta: ComponentMetadata) -> dict[str, object]:
    """Set owner, group, mode and modification time on a new component file (in that order:
    ``chown`` may clear mode bits); return the record kept in ``state.json``."""
    if view.uid is not None or view.gid is not None:
        os.chown(path, -1 if view.uid is None else view.uid, -1 if view.gid is None else view.gid)
    if view.mode is not None:
        os.chmod(path, view.mode)
    if view.mtime is not None:
        os.utime(path, (view.mtime, view.mtime))
    record: dict[str, object] = {"description": meta.describe()}
    for key, value in (("mode", view.mode), ("uid", view.uid), ("gid", view.gid), ("mtime", view.mtime)):
        if value is not None:
            record[key] = value
    creator = meta.creator
    if creator is not None:  # JSON-native: an integer or text as is, bytes as hex, a UUID as text
        record["creator"] = (
            creator
            if isinstance(creator, int | str)
            else creator.hex()
            if isinstance(creator, bytes)
            else str(creator)
        )
    return record


class DirectoryFetcher:
    """Resolves a URI to the file in a directory named by the URI's last path segment."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def fetch(self, uri: str, arguments: bytes | None) -> bytes:
        from iotsec.errors import NotFoundError

        name = uri.split("?", 1)[0].split("#", 1)[-1].rstrip("/").rsplit("/", 1)[-1]
        path = self.directory / name
        if not name or name in (".", "..") or not path.is_file():
            raise NotFoundError(
                f"payload for {uri!r} not found in {self.directory}", reason="suit.fetch.notfound"
            )
        return path.read_bytes()


__all__ = ["DirectoryFetcher", "FileStore", "component_file_name", "parse_component_file_name"]
