"""Shared helpers of the MUD JSON decoders: strict JSON, typed accessors, findings (private)."""

from __future__ import annotations

import json
import re
from typing import Any

from iotsec.core.mud.model import Finding
from iotsec.errors import DecodeError, ValidationError

MAX_MUD_BYTES = 4 * 1024 * 1024
Path = tuple[str | int, ...]

# inet:host (RFC 6991) names, as used by ietf-acldns and the manufacturer abstraction
_HOST = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$"
)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):  # RFC 8259 §4 / RFC 7951: member names must be unique
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise DecodeError(f"duplicate JSON member {k!r}", reason="mud.json.duplicate")
            seen.add(k)
    return out


def _reject_constant(name: str) -> Any:
    raise DecodeError(f"JSON constant {name} is not allowed", reason="mud.json.constant")


def loads_json(data: bytes | str, *, max_bytes: int = MAX_MUD_BYTES) -> Any:
    """Strict JSON: size-limited, UTF-8, no duplicate members, no NaN/Infinity; typed errors only."""
    if len(data) > max_bytes:
        raise DecodeError(f"MUD file larger than {max_bytes} bytes", reason="mud.json.size")
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except DecodeError:
        raise
    except UnicodeDecodeError as err:
        raise DecodeError("MUD file is not UTF-8", reason="mud.json.utf8") from err
    except RecursionError as err:
        raise DecodeError("MUD file nests too deeply", reason="mud.json.depth") from err
    except ValueError as err:
        raise DecodeError(f"MUD file is not JSON: {err}", reason="mud.json.malformed") from err


class _Ctx:
    def __init__(self, lenient: bool, extensions: tuple[str, ...] = ()) -> None:
        self.lenient = lenient
        self.extensions = extensions
        self.findings: list[Finding] = []

    def legacy(self, what: str, old: str, new: str, path: Path) -> None:
        """Accept a pre-RFC name in lenient mode (with a finding), refuse it in strict mode."""
        if not self.lenient:
            raise ValidationError(
                f"pre-RFC {what} {old!r} (RFC name: {new!r}); use lenient mode to accept it",
                reason="mud.legacy",
                path=path,
            )
        self.findings.append(
            Finding(
                "mud.lenient." + what.replace(" ", "-"),
                f"accepted pre-RFC {what} {old!r} as {new!r}",
                _fmt(path),
            )
        )


def _fmt(path: Path) -> str:
    return "/" + "/".join(str(p) for p in path)


def _obj(v: Any, path: Path) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise ValidationError("expected a JSON object", reason="mud.type.object", path=path)
    return v


def _list(v: Any, path: Path) -> list[Any]:
    if not isinstance(v, list):
        raise ValidationError("expected a JSON array", reason="mud.type.array", path=path)
    return v


def _str(v: Any, path: Path, *, max_len: int = 1024) -> str:
    if not isinstance(v, str) or not v or len(v) > max_len:
        raise ValidationError(
            f"expected a non-empty string of at most {max_len} characters",
            reason="mud.type.string",
            path=path,
        )
    return v


def _int(v: Any, path: Path, lo: int, hi: int) -> int:
    # RFC 7951 §6.1: uint8/16 are JSON numbers; bool is not an int here
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise ValidationError(f"expected an integer in {lo}..{hi}", reason="mud.type.integer", path=path)
    return v


def _empty_leaf(v: Any, path: Path, ctx: _Ctx) -> bool:
    # RFC 7951 §6.9: a leaf of type "empty" is encoded as [null]
    if v == [None]:
        return True
    if v is True or v is None or v == {}:
        ctx.legacy("empty leaf encoding", json.dumps(v), "[null]", path)
        return True
    raise ValidationError("an empty leaf must be [null]", reason="mud.type.empty", path=path)


def _check_keys(d: dict[str, Any], allowed: set[str], path: Path, ctx: _Ctx, *, ignorable: bool) -> None:
    for k in d:
        if k in allowed:
            continue
        prefix = k.split(":", 1)[0] if ":" in k else None
        if ignorable and prefix is not None and (ctx.lenient or prefix in ctx.extensions):
            # RFC 8520 §3.9: ignore nodes that are not understood (declared extensions only, in strict mode)
            ctx.findings.append(Finding("mud.ignored", f"ignored node {k!r}", _fmt((*path, k)), "info"))
            continue
        if ignorable and ctx.lenient:
            ctx.findings.append(
                Finding("mud.ignored", f"ignored unknown node {k!r}", _fmt((*path, k)), "info")
            )
            continue
        raise ValidationError(f"unknown member {k!r}", reason="mud.unknown-member", path=(*path, k))


def _rename(d: dict[str, Any], table: dict[str, str], what: str, path: Path, ctx: _Ctx) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, v in d.items():
        new = key
        if key in table and table[key] not in d:
            ctx.legacy(what, key, table[key], (*path, key))
            new = table[key]
        out[new] = v
    return out
