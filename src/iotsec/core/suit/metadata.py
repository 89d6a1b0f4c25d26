"""suit-parameter-component-metadata (draft-ietf-suit-update-management §4.6).

The parameter (label 30) is ``bstr .cbor SUIT_Component_Metadata``: file metadata that the
processor applies "at time of fetch, copy, or write" (§4.6), so it must be set before the
directive. This module is the pure part:

* :func:`decode_metadata` -- the CDDL of §4.6 and Appendix A checked with typed errors:
  permissions (``uint .bits``, §4.6.3), user/group/role permission maps (§4.6.4), file type
  (§4.6.5), modification and creation times (``#6.1(uint)``, the tag REQUIRED, §4.6.2), creator
  (``SUIT_meta_actor_id``, §4.6.1), text restricted to Unicode general categories L, M, N, P, S and
  Zs (§4.6), other integer labels kept as extensions (``$$SUIT_Component_Metadata_Extensions``).
* :func:`check_directive` -- the file-type rules of §4.6.5: a directory is made by a write of an
  empty ``content``, a symbolic link by a write whose ``content`` is the link target; neither
  comes from a fetch or a copy.
* :func:`posix_view` -- how a POSIX file system represents the metadata (mode bits, owner, group,
  modification time), or :class:`UnsupportedError` naming what it cannot represent. Stores use it;
  what a store cannot apply it refuses, so metadata is never dropped silently.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag
from typing import Any

from iotsec.core import cbor, deterministic
from iotsec.errors import DecodeError, UnsupportedError, ValidationError

# §4.6.1 SUIT_meta_actor_id = UUID_Tagged / bstr / tstr / int
ActorId = uuid.UUID | bytes | str | int

MAX_METADATA = 4096  # bytes of one SUIT_Component_Metadata; a file's metadata is small


class MetaKey(IntEnum):
    """Appendix A: SUIT_Component_Metadata labels."""

    DEFAULT_PERMISSIONS = 1
    USER_PERMISSIONS = 2
    GROUP_PERMISSIONS = 3
    ROLE_PERMISSIONS = 4
    FILE_TYPE = 5
    MODIFICATION_TIME = 6
    CREATION_TIME = 7
    CREATOR = 8


class FileType(IntEnum):
    """§4.6.5 / Appendix A: SUIT_Filetype (regular when absent)."""

    REGULAR = 1
    DIRECTORY = 2
    SYMLINK = 3


class Permission(IntFlag):
    """§4.6.3 SUIT_meta_permission_bits (bit positions as the CDDL numbers them)."""

    TRAVERSE_EXEC = 1 << 0
    CREATE_WRITE = 1 << 1
    LIST_READ = 1 << 2
    CREATEDIR_APPEND = 1 << 3
    READ_ATTR = 1 << 4
    READ_PERM = 1 << 5
    CHANGE_PERM = 1 << 6
    CHANGE_OWNER = 1 << 7
    WRITE_ATTR = 1 << 8
    RECURSE_DELETE = 1 << 9
    DELETE = 1 << 10
    SYNC = 1 << 11
    READ_ATTR_EX = 1 << 12
    WRITE_ATTR_EX = 1 << 13


_KNOWN_BITS = (1 << 14) - 1
# the three bits a POSIX mode can hold: r (list_read), w (create_write), x (traverse_exec)
_POSIX_BITS = Permission.LIST_READ | Permission.CREATE_WRITE | Permission.TRAVERSE_EXEC
_TEXT_CATEGORIES = ("L", "M", "N", "P", "S")  # ... and Zs (§4.6)
_REASON = "suit.metadata.invalid"  # a CDDL violation: the report says cbor-parse
_UNSUPPORTED = "suit.parameter.unsupported.metadata"  # the report says parameter-unsupported
_DIRECTIVE = "suit.metadata.directive"


@dataclass(frozen=True)
class ComponentMetadata:
    """A decoded SUIT_Component_Metadata; ``None``/empty where the member is absent."""

    default_permissions: int | None = None
    user_permissions: Mapping[ActorId, int] = field(default_factory=dict)
    group_permissions: Mapping[ActorId, int] = field(default_factory=dict)
    role_permissions: Mapping[ActorId, int] = field(default_factory=dict)
    file_type: int = 1  # FileType.REGULAR
    modification_time: int | None = None  # POSIX seconds (§4.6.2: #6.1(uint))
    creation_time: int | None = None
    creator: ActorId | None = None
    extensions: Mapping[int, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """A one-line account for records and logs, e.g. ``regular, default r-x, mtime 1700000000``."""
        kind = self.file_type
        parts = [FileType(kind).name.lower() if kind in _FILE_TYPES else str(kind)]
        if self.default_permissions is not None:
            parts.append("default " + permission_text(self.default_permissions))
        for name, table in (
            ("user", self.user_permissions),
            ("group", self.group_permissions),
            ("role", self.role_permissions),
        ):
            parts += [f"{name} {actor_text(a)} {permission_text(p)}" for a, p in table.items()]
        if self.modification_time is not None:
            parts.append(f"mtime {self.modification_time}")
        if self.creation_time is not None:
            parts.append(f"ctime {self.creation_time}")
        if self.creator is not None:
            parts.append(f"creator {actor_text(self.creator)}")
        if self.extensions:
            parts.append("extensions " + ",".join(str(k) for k in sorted(self.extensions)))
        return ", ".join(parts)


_FILE_TYPES = frozenset(int(t) for t in FileType)


def permission_text(bits: int) -> str:
    """``rwx``-style text of the POSIX bits plus the names of any others (``r-x+read_attr``)."""
    rwx = (("r", Permission.LIST_READ), ("w", Permission.CREATE_WRITE), ("x", Permission.TRAVERSE_EXEC))
    text = "".join(c if bits & flag else "-" for c, flag in rwx)
    others = [p.name.lower() for p in Permission if bits & p and not p & _POSIX_BITS and p.name]
    unknown = bits & ~_KNOWN_BITS
    if unknown:
        others.append(hex(unknown))
    return text + "".join("+" + o for o in others)


def actor_text(actor: ActorId) -> str:
    if isinstance(actor, bytes):
        return "h'" + actor.hex() + "'"
    return repr(actor) if isinstance(actor, str) else str(actor)


def _fail(msg: str, *path: str | int) -> ValidationError:
    return ValidationError(msg, reason=_REASON, path=("component-metadata", *path))


def _text(v: str, *path: str | int) -> str:
    for ch in v:
        cat = unicodedata.category(ch)
        if not (cat[0] in _TEXT_CATEGORIES or cat == "Zs"):
            raise _fail(f"text holds U+{ord(ch):04X} (category {cat}), not allowed by §4.6", *path)
    return v


def _actor(v: Any, *path: str | int) -> ActorId:
    """§4.6.1 SUIT_meta_actor_id = UUID_Tagged (#6.37(bstr)) / bstr / tstr / int."""
    if isinstance(v, bool):
        raise _fail("an actor id is a UUID, bstr, tstr or int, not a boolean", *path)
    if isinstance(v, uuid.UUID | bytes | int):
        return v
    if isinstance(v, str):
        return _text(v, *path)
    raise _fail(f"an actor id is a UUID, bstr, tstr or int, not {type(v).__name__}", *path)


def _permissions(v: Any, *path: str | int) -> int:
    """§4.6.3 SUIT_meta_permissions = uint .bits SUIT_meta_permission_bits (an extension socket:
    unknown bits are kept; a store that cannot apply them refuses)."""
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise _fail("permissions are an unsigned integer of permission bits", *path)
    return v


def _permission_map(v: Any, name: str) -> dict[ActorId, int]:
    """§4.6.4 SUIT_meta_permission_map = { + SUIT_meta_actor_id => SUIT_meta_permissions }."""
    if not isinstance(v, dict) or not v:
        raise _fail("a permission map is a non-empty map of actor id => permissions", name)
    return {_actor(k, name): _permissions(p, name, actor_text(k)) for k, p in v.items()}


def _time(data: bytes, pos: int, name: str) -> int:
    """§4.6.2 ``#6.1(uint)``, read from the encoded item: decoded, cbor2 would turn tag 1 over an
    integer, a float or a negative number alike into a datetime, and refuses years past 9999."""
    if data[pos] != 0xC1 or data[pos + 1] >> 5 != 0:
        raise _fail("a time is #6.1(uint): the epoch-seconds tag over an unsigned integer", name)
    return deterministic.head(data, pos + 1)[1]


def decode_metadata(value: Any) -> ComponentMetadata:
    """Decode and check the value of suit-parameter-component-metadata (``bstr .cbor``).

    Raises :class:`ValidationError` (``suit.metadata.invalid``) with the path of the offending
    member, :class:`UnsupportedError` (``suit.parameter.unsupported.metadata``) for an unknown
    file type.
    """
    if not isinstance(value, bytes):
        raise _fail("the parameter is a bstr wrapping SUIT_Component_Metadata")
    if len(value) > MAX_METADATA:
        raise _fail(f"{len(value)} bytes of metadata exceed the limit of {MAX_METADATA}")
    try:
        # one well-formed, deterministically encoded item (SUIT is deterministic CBOR, manifest
        # §8.1): definite lengths, shortest heads, map keys unique and in order
        deterministic.check(value, max_depth=8)
    except deterministic.NotDeterministic as err:
        raise _fail(f"not one deterministically encoded CBOR item: {err}") from None
    major, count, pos = deterministic.head(value, 0)
    if major != 5:
        raise _fail("SUIT_Component_Metadata is a map")
    known: dict[str, Any] = {}
    extensions: dict[int, Any] = {}
    for _ in range(count):  # each member decoded from its own bytes (the times are read raw)
        kmajor, arg, vpos = deterministic.head(value, pos)
        if kmajor not in (0, 1):
            raise _fail("SUIT_Component_Metadata labels are integers")
        k = arg if kmajor == 0 else -1 - arg
        pos = deterministic.skip(value, vpos)
        if k in (MetaKey.MODIFICATION_TIME, MetaKey.CREATION_TIME):
            name = "modification" if k == MetaKey.MODIFICATION_TIME else "creation"
            known[name + "_time"] = _time(value, vpos, name + "-time")
            continue
        try:
            v = cbor.loads(value[vpos:pos], max_depth=8)
        except DecodeError as err:
            raise _fail(f"member {k} does not decode: {err}") from None
        if k == MetaKey.DEFAULT_PERMISSIONS:
            known["default_permissions"] = _permissions(v, "default-permissions")
        elif k == MetaKey.USER_PERMISSIONS:
            known["user_permissions"] = _permission_map(v, "user-permissions")
        elif k == MetaKey.GROUP_PERMISSIONS:
            known["group_permissions"] = _permission_map(v, "group-permissions")
        elif k == MetaKey.ROLE_PERMISSIONS:
            known["role_permissions"] = _permission_map(v, "role-permissions")
        elif k == MetaKey.FILE_TYPE:
            if isinstance(v, bool) or not isinstance(v, int):
                raise _fail("the file type is an integer", "file-type")
            if v not in _FILE_TYPES:
                raise UnsupportedError(
                    f"file type {v} is not one of regular (1), directory (2), symlink (3)",
                    reason=_UNSUPPORTED,
                )
            known["file_type"] = v
        elif k == MetaKey.CREATOR:
            known["creator"] = _actor(v, "creator")
        else:
            extensions[k] = v
    return ComponentMetadata(**known, extensions=extensions)


def encode_metadata(meta: ComponentMetadata) -> bytes:
    """The deterministic CBOR of ``meta`` (author side): the value of the parameter."""
    m: dict[int, Any] = {}
    if meta.default_permissions is not None:
        m[MetaKey.DEFAULT_PERMISSIONS] = meta.default_permissions
    for key, table in (
        (MetaKey.USER_PERMISSIONS, meta.user_permissions),
        (MetaKey.GROUP_PERMISSIONS, meta.group_permissions),
        (MetaKey.ROLE_PERMISSIONS, meta.role_permissions),
    ):
        if table:
            m[key] = dict(table)
    if meta.file_type != FileType.REGULAR:
        m[MetaKey.FILE_TYPE] = meta.file_type
    for key, t in (
        (MetaKey.MODIFICATION_TIME, meta.modification_time),
        (MetaKey.CREATION_TIME, meta.creation_time),
    ):
        if t is not None:
            m[key] = cbor.tag(1, t)  # §4.6.2: the tag is REQUIRED
    if meta.creator is not None:
        m[MetaKey.CREATOR] = meta.creator
    m.update(meta.extensions)
    data = cbor.dumps({int(k): v for k, v in m.items()})
    decode_metadata(data)  # what is written is what a device accepts
    return data


def check_directive(meta: ComponentMetadata, directive: str, content: bytes | None) -> None:
    """§4.6.5: a directory is created by ``write`` with an empty ``content``, a symbolic link by
    ``write`` with the link target as ``content``; a fetch or copy makes regular files only."""
    if meta.file_type == FileType.REGULAR:
        return
    kind = FileType(meta.file_type).name.lower()
    if directive != "write":
        raise ValidationError(
            f"a {kind} component is made by suit-directive-write, not {directive} (§4.6.5)",
            reason=_DIRECTIVE,
        )
    if meta.file_type == FileType.DIRECTORY and content:
        raise ValidationError("a directory is written with an empty content (§4.6.5)", reason=_DIRECTIVE)
    if meta.file_type == FileType.SYMLINK and (not content or b"\0" in content):
        raise ValidationError(
            "a symbolic link is written with its target as content: not empty, no NUL byte (§4.6.5)",
            reason=_DIRECTIVE,
        )


@dataclass(frozen=True)
class PosixMetadata:
    """What a POSIX file system records of a component's metadata."""

    mode: int | None  # permission bits 0o000..0o777, None: the store's default
    uid: int | None  # owner from a one-entry user map, None: unchanged
    gid: int | None  # group from a one-entry group map, None: unchanged
    mtime: int | None


def _rwx(bits: int) -> int:
    return (
        (4 if bits & Permission.LIST_READ else 0)
        | (2 if bits & Permission.CREATE_WRITE else 0)
        | (1 if bits & Permission.TRAVERSE_EXEC else 0)
    )


def _one_posix_id(table: Mapping[ActorId, int], what: str) -> tuple[int | None, int | None]:
    if not table:
        return None, None
    if len(table) > 1:
        raise UnsupportedError(
            f"{what} permissions for {len(table)} actors need access control lists; POSIX mode bits"
            " hold one owner and one group",
            reason=_UNSUPPORTED,
        )
    ((actor, bits),) = table.items()
    if isinstance(actor, bool) or not isinstance(actor, int) or actor < 0:
        raise UnsupportedError(f"{what} {actor_text(actor)} is not a POSIX numeric id", reason=_UNSUPPORTED)
    _posix_bits_only(bits, what)
    return actor, _rwx(bits)


def _posix_bits_only(bits: int, what: str) -> None:
    extra = bits & ~int(_POSIX_BITS)
    if extra:
        raise UnsupportedError(
            f"{what} permissions {permission_text(extra)[3:].lstrip('+')} have no POSIX mode bit",
            reason=_UNSUPPORTED,
        )


def posix_view(meta: ComponentMetadata) -> PosixMetadata:
    """The metadata as POSIX mode bits, owner, group and modification time.

    Default permissions (§4.6.3, "applied to all users who do not have their own explicit
    permissions") give the *other* class, and the owner and group classes where no explicit entry
    names them; a one-entry user map (a numeric uid) gives the owner and its bits, a one-entry
    group map (a numeric gid) the group and its bits (without default permissions, the classes
    that no entry names get none). Only r (list_read), w (create_write) and
    x (traverse_exec) exist in a mode. Raises :class:`UnsupportedError`
    (``suit.parameter.unsupported.metadata``) for anything else: other permission bits, several users or
    groups, non-numeric ids, role permissions, a creation time (not settable on POSIX systems),
    extensions. The creator is a record of who made the file, kept by the store, not a permission.
    """
    if meta.role_permissions:
        raise UnsupportedError("role permissions have no POSIX equivalent", reason=_UNSUPPORTED)
    if meta.creation_time is not None:
        raise UnsupportedError("a creation time cannot be set on a POSIX file system", reason=_UNSUPPORTED)
    if meta.extensions:
        raise UnsupportedError(
            f"metadata extension labels {', '.join(str(k) for k in sorted(meta.extensions))} are not known",
            reason=_UNSUPPORTED,
        )
    uid, owner_bits = _one_posix_id(meta.user_permissions, "user")
    gid, group_bits = _one_posix_id(meta.group_permissions, "group")
    if meta.default_permissions is None and owner_bits is None and group_bits is None:
        return PosixMetadata(None, uid, gid, meta.modification_time)
    other = 0  # explicit entries without defaults: nobody else gets anything (least privilege)
    if meta.default_permissions is not None:
        _posix_bits_only(meta.default_permissions, "default")
        other = _rwx(meta.default_permissions)
    mode = (
        (owner_bits if owner_bits is not None else other) << 6
        | (group_bits if group_bits is not None else other) << 3
        | other
    )
    return PosixMetadata(mode, uid, gid, meta.modification_time)


__all__ = [
    "MAX_METADATA",
    "ActorId",
    "ComponentMetadata",
    "FileType",
    "MetaKey",
    "Permission",
    "PosixMetadata",
    "actor_text",
    "check_directive",
    "decode_metadata",
    "encode_metadata",
    "permission_text",
    "posix_view",
]
