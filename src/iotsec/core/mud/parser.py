"""Parse and validate MUD files (RFC 8520 §2-§9; ACLs per RFC 8519; JSON per RFC 7951).

Strict by default. ``lenient=True`` also accepts key names of pre-RFC drafts that MUD files in the
wild still use (``ietf-access-control-list:access-lists``, ``ipv4-acl`` types, ``tcp-acl`` match
containers, unprefixed augmentations, ``true`` for empty leaves) and reports each translation as a
:class:`Finding`. Anything that would *widen* an accept rule if ignored (an unknown match) is an
error in both modes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from iotsec.core.mud._common import (
    MAX_MUD_BYTES,
    Path,
    _check_keys,
    _Ctx,
    _fmt,
    _int,
    _list,
    _obj,
    _str,
    loads_json,
)
from iotsec.core.mud.acl import ACLS_KEY, parse_acls
from iotsec.core.mud.model import Finding, MudDocument, MudFile
from iotsec.core.mud.url import check_mud_url
from iotsec.errors import ValidationError

__all__ = ["ACLS_KEY", "MAX_MUD_BYTES", "MUD_KEY", "loads_json", "parse_mud"]

MUD_KEY = "ietf-mud:mud"
_LEGACY_TOP = {"ietf-access-control-list:access-lists": ACLS_KEY}
_MUD_FIELDS = {
    "mud-version",
    "mud-url",
    "last-update",
    "mud-signature",
    "cache-validity",
    "is-supported",
    "systeminfo",
    "mfg-name",
    "model-name",
    "firmware-rev",
    "software-rev",
    "documentation",
    "extensions",
    "from-device-policy",
    "to-device-policy",
}


def parse_mud(
    data: bytes | str | dict[str, Any], *, lenient: bool = False, max_bytes: int = MAX_MUD_BYTES
) -> MudDocument:
    """Parse and validate a MUD file. Raises :class:`DecodeError` / :class:`ValidationError`."""
    doc = data if isinstance(data, dict) else loads_json(data, max_bytes=max_bytes)
    root = _obj(doc, ())
    ctx = _Ctx(lenient)
    for old, new in _LEGACY_TOP.items():
        if old in root and new not in root:
            ctx.legacy("member name", old, new, (old,))
            root = {(new if k == old else k): v for k, v in root.items()}
    if MUD_KEY not in root:
        raise ValidationError(f"missing {MUD_KEY!r}", reason="mud.missing", path=(MUD_KEY,))
    m = _obj(root[MUD_KEY], (MUD_KEY,))
    ext_raw = m.get("extensions", [])
    extensions = tuple(
        _str(e, (MUD_KEY, "extensions", i), max_len=40)
        for i, e in enumerate(_list(ext_raw, (MUD_KEY, "extensions")))
    )
    ctx.extensions = extensions
    _check_keys(root, {MUD_KEY, ACLS_KEY}, (), ctx, ignorable=True)
    _check_keys(m, _MUD_FIELDS, (MUD_KEY,), ctx, ignorable=True)
    mud = _parse_mud_container(m, root, ctx, extensions)
    return MudDocument(mud=mud, findings=tuple(ctx.findings))


def _opt_str(m: dict[str, Any], key: str, path: Path, max_len: int = 1024) -> str | None:
    return None if key not in m else _str(m[key], (*path, key), max_len=max_len)


def _parse_mud_container(
    m: dict[str, Any], root: dict[str, Any], ctx: _Ctx, extensions: tuple[str, ...]
) -> MudFile:
    p: Path = (MUD_KEY,)
    for req in ("mud-version", "mud-url", "last-update", "is-supported"):
        if req not in m:
            raise ValidationError(f"missing mandatory {req!r}", reason="mud.missing", path=(*p, req))
    version = _int(m["mud-version"], (*p, "mud-version"), 0, 255)
    if version != 1:  # RFC 8520 §3.1: this memo specifies version 1
        raise ValidationError(
            f"unsupported mud-version {version}", reason="mud.version", path=(*p, "mud-version")
        )
    url = check_mud_url(m["mud-url"], path=(*p, "mud-url"))
    last = _str(m["last-update"], (*p, "last-update"), max_len=64)
    try:  # yang:date-and-time (RFC 6991), an RFC 3339 timestamp with offset
        if datetime.fromisoformat(last.replace("Z", "+00:00")).tzinfo is None:
            raise ValueError("no offset")
    except ValueError as err:
        raise ValidationError(
            "last-update is not an RFC 3339 date-and-time", reason="mud.last-update", path=(*p, "last-update")
        ) from err
    if not isinstance(m["is-supported"], bool):
        raise ValidationError(
            "is-supported must be a boolean", reason="mud.type.boolean", path=(*p, "is-supported")
        )
    cache = _int(m.get("cache-validity", 48), (*p, "cache-validity"), 1, 168)  # RFC 8520 §3.5
    sig = m.get("mud-signature")
    if sig is not None:
        check_mud_url(sig, path=(*p, "mud-signature"))
    doc = _opt_str(m, "documentation", p)
    systeminfo = _opt_str(m, "systeminfo", p, max_len=256)
    if systeminfo is not None and len(systeminfo) > 60:  # RFC 8520 §3.7 SHOULD NOT exceed 60 characters
        ctx.findings.append(
            Finding("mud.systeminfo.long", "systeminfo exceeds 60 characters", _fmt((*p, "systeminfo")))
        )
    acls = parse_acls(root, ctx)
    names = {a.name for a in acls}
    pols: dict[str, tuple[str, ...]] = {}
    for key in ("from-device-policy", "to-device-policy"):
        pols[key] = _parse_policy(m.get(key), (*p, key), names, ctx)
    if not pols["from-device-policy"] and not pols["to-device-policy"]:
        ctx.findings.append(
            Finding("mud.policy.empty", "no policy: the device gets default deny only", _fmt(p))
        )
    return MudFile(
        mud_version=version,
        mud_url=url,
        last_update=last,
        is_supported=m["is-supported"],
        cache_validity=cache,
        mud_signature=sig,
        systeminfo=systeminfo,
        mfg_name=_opt_str(m, "mfg-name", p),
        model_name=_opt_str(m, "model-name", p),
        firmware_rev=_opt_str(m, "firmware-rev", p),
        software_rev=_opt_str(m, "software-rev", p),
        documentation=doc,
        extensions=extensions,
        from_device=pols["from-device-policy"],
        to_device=pols["to-device-policy"],
        acls=acls,
    )


def _parse_policy(v: Any, path: Path, names: set[str], ctx: _Ctx) -> tuple[str, ...]:
    if v is None:
        return ()
    pol = _obj(v, path)
    _check_keys(pol, {"access-lists"}, path, ctx, ignorable=True)
    lists = _obj(pol.get("access-lists", {}), (*path, "access-lists"))
    _check_keys(lists, {"access-list"}, (*path, "access-lists"), ctx, ignorable=True)
    out: list[str] = []
    for i, item in enumerate(_list(lists.get("access-list", []), (*path, "access-lists", "access-list"))):
        ip = (*path, "access-lists", "access-list", i)
        if isinstance(item, str):  # seen in generated files: a bare name instead of {"name": ...}
            ctx.legacy("access-list entry", "bare string", '{"name": ...}', ip)
            name = item
        else:
            name = _str(_obj(item, ip).get("name"), (*ip, "name"), max_len=64)
        if name not in names:  # the leafref must resolve (RFC 8520 §2.1)
            raise ValidationError(
                f"policy refers to unknown ACL {name!r}", reason="mud.policy.dangling", path=ip
            )
        if name in out:
            raise ValidationError(f"ACL {name!r} listed twice", reason="mud.policy.duplicate", path=ip)
        out.append(name)
    return tuple(out)
