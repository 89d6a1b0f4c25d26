"""Builder options of the companion drafts, on top of :mod:`iotsec.core.suit.builder`.

Extra description keys (all optional)::

    use-before: 1798761600            # update-management §4.1/§5.1, checked first in install
    minimum-battery: 500              # §4.2/§5.3, mWh
    update-priority: 10               # §4.3; with require-consent, §5.4 update-authorized
    require-consent: true
    wait: {time-of-day-utc: 7200}     # §4.5/§5.6, event names of update_mgmt.WaitEvent
    set-version: 1.3.0                # §3.1 suit-set-version (constrained semver)
    components:
      - component-id: [app]
        version-required: [">=", "1.2.0"]    # §4.4/§5.5, checked before install
        encrypted: {info: app.info}          # firmware-encryption §4.2: the image at uri is
                                             #   encrypted; info names the SUIT_Encryption_Info file
        metadata:                            # update-management §4.6, set before the fetch/copy
          default-permissions: r-x           #   rwx text, an integer of §4.6.3 bits, or bit names
          user-permissions: {1000: rw-}      #   actor id (integer, UUID or text) => permissions
          group-permissions: {100: r--}
          modification-time: 1767225600      #   POSIX seconds
          creator: build-42
      - component-id: [usr, local, bin]
        directory: true                      # §4.6.5: written as a directory (empty content)
      - component-id: [usr, bin, example]
        link-target: /usr/local/bin/example3 # §4.6.5: written as a symbolic link, after the fetches

An encrypted component follows the draft's "fetch + copy" example (§4.2, §9.2): the ciphertext is
fetched into a staging component ``<id> + ['encrypted']``, then copied into the component with
suit-parameter-encryption-info and source-component, and the plaintext is checked with image-match.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from iotsec.core.suit import builder
from iotsec.core.suit.metadata import ActorId, ComponentMetadata, FileType, Permission, encode_metadata
from iotsec.core.suit.model import Command, Envelope, Manifest
from iotsec.core.suit.registry import Command as Cmd
from iotsec.core.suit.registry import ManifestKey, Parameter
from iotsec.core.suit.update_mgmt import Comparison, WaitEvent, encode_version_match, parse_semver
from iotsec.errors import ValidationError

REPORT_ALL = builder.REPORT_ALL
_CMP = {
    ">": Comparison.GREATER,
    ">=": Comparison.GREATER_EQUAL,
    "=": Comparison.EQUAL,
    "<=": Comparison.LESSER_EQUAL,
    "<": Comparison.LESSER,
}
STAGING_SEGMENT = "encrypted"


def _err(msg: str, *path: str | int) -> ValidationError:
    return ValidationError(msg, reason="suit.description", path=("description", *path))


def _staging(comp: Mapping[str, Any]) -> dict[str, Any]:
    if "component-id" in comp:
        return {"component-id": [*comp["component-id"], STAGING_SEGMENT]}
    if "install-id" in comp:
        return {"install-id": [*comp["install-id"], STAGING_SEGMENT.encode().hex()]}
    raise _err("an encrypted component needs component-id or install-id", "components")


_TOP_KEYS = ("use-before", "minimum-battery", "update-priority", "require-consent", "wait", "set-version")
_COMPONENT_KEYS = ("encrypted", "version-required", "metadata", "directory", "link-target")


def uses_companions(description: Mapping[str, Any]) -> bool:
    """True when the description uses an option of this module (else the core builder suffices)."""
    comps = description.get("components")
    return any(k in description for k in _TOP_KEYS) or (
        isinstance(comps, list)
        and any(isinstance(c, Mapping) and any(k in c for k in _COMPONENT_KEYS) for c in comps)
    )


def extra_files(description: Mapping[str, Any]) -> list[str]:
    """Files named by the companion options (SUIT_Encryption_Info files), for the caller to read."""
    out = []
    for c in description.get("components") or []:
        enc = c.get("encrypted") if isinstance(c, Mapping) else None
        if isinstance(enc, Mapping) and isinstance(enc.get("info"), str):
            out.append(enc["info"])
    return out


def build_extended(description: Mapping[str, Any], images: Mapping[str, bytes] | None = None) -> Envelope:
    """Description -> unsigned envelope, with the companion options above."""
    images = dict(images or {})
    comps = list(description.get("components") or [])
    plain: list[dict[str, Any]] = []
    staged: list[tuple[int, bytes]] = []  # (component index, encryption info)
    extra: list[dict[str, Any]] = []
    for i, raw in enumerate(comps):
        if not isinstance(raw, Mapping):
            raise _err("a component is a map", "components", i)
        c = dict(raw)
        enc = c.pop("encrypted", None)
        for key in ("version-required", "metadata", "directory", "link-target"):
            c.pop(key, None)
        if enc is not None:
            name = enc.get("info") if isinstance(enc, Mapping) else None
            if not isinstance(name, str) or name not in images:
                raise _err("encrypted.info names the SUIT_Encryption_Info file", "components", i, "encrypted")
            uri = c.pop("uri", None)
            if uri is None:
                raise _err("an encrypted component needs the uri of its ciphertext", "components", i)
            extra.append({**_staging(c), "uri": uri})
            staged.append((i, images[name]))
        plain.append(c)
    desc = {**description, "components": plain + extra}
    man, integrated = builder.build_manifest(desc, images)
    many = len(man.components) > 1
    pre: list[Command] = []
    for i, c in enumerate(comps):
        req = c.get("version-required") if isinstance(c, Mapping) else None
        if req is not None:
            if not (isinstance(req, list) and len(req) == 2 and req[0] in _CMP):
                raise _err('version-required is [op, "x.y.z"]', "components", i, "version-required")
            pre += [
                *([Command(Cmd.SET_COMPONENT_INDEX, i)] if many else []),
                Command(
                    Cmd.OVERRIDE_PARAMETERS,
                    {Parameter.VERSION: encode_version_match(_CMP[req[0]], parse_semver(str(req[1])))},
                ),
                Command(Cmd.VERSION, REPORT_ALL),
            ]
    pre = _update_conditions(description, many) + pre
    post: list[Command] = []
    for i, c in enumerate(comps):
        before, after = _metadata_steps(c, i, many)
        pre += before
        post += after
    for i, info in staged:
        j = len(plain) + staged.index((i, info))
        post += [
            Command(Cmd.SET_COMPONENT_INDEX, i),
            Command(
                Cmd.OVERRIDE_PARAMETERS, {Parameter.ENCRYPTION_INFO: info, Parameter.SOURCE_COMPONENT: j}
            ),
            Command(Cmd.COPY, REPORT_ALL),
        ]
        if "file" in comps[i] or "install-digest" in comps[i]:
            post.append(Command(Cmd.IMAGE_MATCH, REPORT_ALL))
    install = man.sequences.get(ManifestKey.INSTALL)
    body = tuple(install) if isinstance(install, tuple) else ()
    if pre or post:
        seqs = dict(man.sequences)
        seqs[ManifestKey.INSTALL] = (*pre, *body, *post)
        man = replace(man, sequences=seqs)
    if "set-version" in description:  # update-management §3.1: the release, semver-encoded
        from iotsec.core import cbor

        ext = dict(man.extensions)
        ext[ManifestKey.SET_VERSION] = cbor.dumps(parse_semver(str(description["set-version"])))
        man = replace(man, extensions=ext)
    return _finish(description, man, integrated)


_FILE_TYPE_NAMES = {t.name.lower(): int(t) for t in FileType}


def _permissions(v: Any, *path: str | int) -> int:
    """``r-x``-style text (list_read, create_write, traverse_exec), a list of §4.6.3 bit names, or
    the integer of bits."""
    if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
        return v
    if (
        isinstance(v, str)
        and len(v) == 3
        and all(ch in ok for ch, ok in zip(v, ("r-", "w-", "x-"), strict=True))
    ):
        rwx = (Permission.LIST_READ, Permission.CREATE_WRITE, Permission.TRAVERSE_EXEC)
        return sum(int(flag) for ch, flag in zip(v, rwx, strict=True) if ch != "-")
    if isinstance(v, list):
        named = 0
        for n in v:
            flag = Permission.__members__.get(str(n).upper())
            if flag is None:
                raise _err(f"unknown permission bit {n!r} (names of §4.6.3)", *path)
            named |= int(flag)
        return named
    raise _err('permissions are "rwx" text, a list of §4.6.3 bit names or an integer', *path)


def _actor(v: Any) -> ActorId:
    """An actor id from a description: an integer (or its decimal text, as JSON keys are text),
    a UUID in its text form, else the text itself."""
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    text = str(v)
    if text.isdigit():
        return int(text)
    try:
        return uuid.UUID(text)
    except ValueError:
        return text


def metadata_from_description(
    d: Any, *path: str | int, file_type: int = FileType.REGULAR
) -> ComponentMetadata:
    """A component's ``metadata`` description (see the module docstring) as ComponentMetadata."""
    if not isinstance(d, Mapping):
        raise _err("metadata is a map", *path)
    known = {
        "default-permissions", "user-permissions", "group-permissions", "role-permissions",
        "modification-time", "creation-time", "creator", "file-type",
    }  # fmt: skip
    unknown = sorted(set(d) - known)
    if unknown:
        raise _err(f"unknown metadata keys {unknown}", *path)
    kind = d.get("file-type")
    if kind is not None:
        if kind not in _FILE_TYPE_NAMES:
            raise _err("file-type is regular, directory or symlink", *path, "file-type")
        file_type = _FILE_TYPE_NAMES[kind]
    tables: dict[str, dict[ActorId, int]] = {}
    for name in ("user-permissions", "group-permissions", "role-permissions"):
        if name in d:
            table = d[name]
            if not isinstance(table, Mapping) or not table:
                raise _err(f"{name} maps actor ids to permissions", *path, name)
            tables[name] = {_actor(k): _permissions(p, *path, name, str(k)) for k, p in table.items()}
    times: dict[str, int] = {}
    for name in ("modification-time", "creation-time"):
        if name in d:
            t = d[name]
            if isinstance(t, bool) or not isinstance(t, int) or t < 0:
                raise _err(f"{name} is POSIX seconds (an unsigned integer)", *path, name)
            times[name] = t
    return ComponentMetadata(
        default_permissions=(
            _permissions(d["default-permissions"], *path, "default-permissions")
            if "default-permissions" in d
            else None
        ),
        user_permissions=tables.get("user-permissions", {}),
        group_permissions=tables.get("group-permissions", {}),
        role_permissions=tables.get("role-permissions", {}),
        file_type=file_type,
        modification_time=times.get("modification-time"),
        creation_time=times.get("creation-time"),
        creator=_actor(d["creator"]) if "creator" in d else None,
    )


def _metadata_steps(c: Any, i: int, many: bool) -> tuple[list[Command], list[Command]]:
    """update-management §4.6/§4.6.5: component metadata set before the component's fetch or
    copy; a ``directory`` written (empty content) before the fetches, a ``link-target`` written
    after them."""
    if not isinstance(c, Mapping) or not any(k in c for k in ("metadata", "directory", "link-target")):
        return [], []
    path = ("components", i)
    directory, link = c.get("directory"), c.get("link-target")
    if directory and link is not None:
        raise _err("a component is a directory or a link, not both", *path)
    if (directory or link is not None) and any(k in c for k in ("uri", "file", "integrated", "encrypted")):
        raise _err("a directory or link component has no payload (uri, file)", *path)
    if link is not None and (not isinstance(link, str) or not link):
        raise _err("link-target is the link's target path", *path, "link-target")
    kind = FileType.DIRECTORY if directory else FileType.SYMLINK if link is not None else FileType.REGULAR
    meta = metadata_from_description(c.get("metadata", {}), *path, "metadata", file_type=kind)
    if meta.file_type != kind:
        raise _err("metadata.file-type disagrees with directory/link-target", *path, "metadata")
    sel = [Command(Cmd.SET_COMPONENT_INDEX, i)] if many else []
    params: dict[int, Any] = {Parameter.COMPONENT_METADATA: encode_metadata(meta)}
    if kind == FileType.REGULAR:
        return [*sel, Command(Cmd.OVERRIDE_PARAMETERS, params)], []
    params[Parameter.CONTENT] = b"" if directory else str(link).encode()
    steps = [*sel, Command(Cmd.OVERRIDE_PARAMETERS, params), Command(Cmd.WRITE, REPORT_ALL)]
    return (steps, []) if directory else ([], steps)


def _update_conditions(description: Mapping[str, Any], many: bool) -> list[Command]:
    params: dict[int, Any] = {}
    conds: list[Command] = []
    if "use-before" in description:
        params[Parameter.USE_BEFORE] = int(description["use-before"])
        conds.append(Command(Cmd.USE_BEFORE, REPORT_ALL))
    if "minimum-battery" in description:
        params[Parameter.MINIMUM_BATTERY] = int(description["minimum-battery"])
        conds.append(Command(Cmd.MINIMUM_BATTERY, REPORT_ALL))
    if "update-priority" in description:
        params[Parameter.UPDATE_PRIORITY] = int(description["update-priority"])
    if description.get("require-consent"):
        conds.append(Command(Cmd.UPDATE_AUTHORIZED, REPORT_ALL))
    wait = description.get("wait")
    if wait is not None:
        from iotsec.core import cbor

        try:
            events = {int(WaitEvent[k.upper().replace("-", "_")]): v for k, v in dict(wait).items()}
        except (KeyError, AttributeError, TypeError, ValueError):
            raise _err("wait names events of draft-ietf-suit-update-management §4.5", "wait") from None
        params[Parameter.WAIT_INFO] = cbor.dumps(events)
        conds.append(Command(Cmd.WAIT, REPORT_ALL))
    if not params and not conds:
        return []
    return [
        *([Command(Cmd.SET_COMPONENT_INDEX, 0)] if many else []),
        *([Command(Cmd.OVERRIDE_PARAMETERS, params)] if params else []),
        *conds,
    ]


def _finish(description: Mapping[str, Any], man: Manifest, integrated: dict[str, bytes]) -> Envelope:
    keys: list[int] = []
    if description.get("severable"):
        keys = [ManifestKey.PAYLOAD_FETCH, ManifestKey.INSTALL, ManifestKey.TEXT]
    names = {
        "install": ManifestKey.INSTALL,
        "payload-fetch": ManifestKey.PAYLOAD_FETCH,
        "text": ManifestKey.TEXT,
    }
    for name in description.get("sever") or []:
        if name not in names:
            raise _err(f"cannot sever {name!r}", "sever")
        keys.append(names[name])
    man, moved = builder.sever(man, keys)
    return builder.envelope_for(man, severed=moved, integrated=integrated)


__all__ = ["STAGING_SEGMENT", "build_extended", "extra_files", "metadata_from_description", "uses_companions"]
