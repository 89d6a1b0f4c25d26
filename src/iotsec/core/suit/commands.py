"""Decoding of SUIT digests, parameters, commands and command sequences (§8.4.6-§8.4.10, §10)."""

from __future__ import annotations

from typing import Any

from iotsec.core import _fastcbor
from iotsec.core.cbor import CBORTag
from iotsec.core.suit.model import (
    Command,
    CommandSequence,
    Digest,
    IndexArg,
    make_command,
)
from iotsec.core.suit.primitives import (
    MAX_DEPTH,
    MAX_SEQUENCE_NESTING,
    Path,
    _bytes,
    _fail,
    _is_int,
    _is_uint,
    _list,
    _map,
    _text,
    _uint,
    unwrap,
)
from iotsec.core.suit.registry import (
    CUSTOM_LIMIT,
    TAG_CBOR_PEN,
    Parameter,
)
from iotsec.core.suit.registry import Command as Cmd
from iotsec.errors import PathItem

# ---------------------------------------------------------------- digests, parameters, commands


def decode_digest(v: Any, path: Path) -> Digest:
    """§10 SUIT_Digest."""
    if type(v) is list and len(v) == 2 and type(v[0]) is int and type(v[1]) is bytes:
        # the usual [alg, bytes]: what the checks below accept (built as model.make_command builds objects)
        dig = _new(Digest)
        d = dig.__dict__
        d["alg"], d["value"], d["extra"] = v[0], v[1], ()
        return dig
    items = _list(v, path)
    if len(items) < 2:
        raise _fail("SUIT_Digest needs an algorithm id and digest bytes", path)
    if not _is_int(items[0]):
        raise _fail("digest algorithm id must be an integer", (*path, 0), "suit.type")
    return Digest(items[0], _bytes(items[1], (*path, 1)), tuple(items[2:]))


def _uuid(v: Any, path: Path) -> bytes:
    b = _bytes(v, path)
    if len(b) != 16:
        raise _fail("a UUID is a 16-byte string (RFC 9562)", path, "suit.uuid")
    return b


def _decode_param(key: int, v: Any, path: Path) -> Any:
    # §8.4.8 and Appendix A $$SUIT_Parameters
    if key == Parameter.VENDOR_IDENTIFIER:
        if isinstance(v, CBORTag):  # §8.4.8.3 cbor-pen = #6.112(bstr)
            if v.tag != TAG_CBOR_PEN or not isinstance(v.value, bytes):
                raise _fail("vendor id must be a UUID or tag 112 (CBOR PEN)", path, "suit.type")
            return v
        return _uuid(v, path)
    if key in (Parameter.CLASS_IDENTIFIER, Parameter.DEVICE_IDENTIFIER):
        return _uuid(v, path)
    if key == Parameter.IMAGE_DIGEST:
        return decode_digest(unwrap(v, path), path)
    if key in (
        Parameter.COMPONENT_SLOT,
        Parameter.IMAGE_SIZE,
        Parameter.SOURCE_COMPONENT,
        Parameter.USE_BEFORE,
    ):
        return _uint(v, path)
    if key in (Parameter.STRICT_ORDER, Parameter.SOFT_FAILURE):
        if not isinstance(v, bool):
            raise _fail("expected a boolean", path, "suit.type")
        return v
    if key in (Parameter.CONTENT, Parameter.INVOKE_ARGS, Parameter.FETCH_ARGUMENTS):
        return _bytes(v, path)
    if key == Parameter.URI:
        return _text(v, path)
    # §8.4.8.16 suit-parameter-custom = nint => int/bool/tstr/bstr
    if key < 0 and not isinstance(v, (int, bool, str, bytes)):
        raise _fail("a custom parameter is an int, bool, tstr or bstr", path, "suit.type")
    return v  # parameters of other SUIT drafts: kept raw


def decode_parameters(v: Any, path: Path) -> dict[int, Any]:
    """``{+ $$SUIT_Parameters}`` of override/set-parameters (§8.4.10.3)."""
    m = _map(v, path)
    if not m:
        raise _fail("a parameter map must not be empty", path)
    out: dict[int, Any] = {}
    for k, val in m.items():
        if type(k) is int:
            # the usual shapes, accepted here exactly as _decode_param accepts them
            kind = _PARAM_KINDS.get(k)
            tv = type(val)
            if kind is None:
                if k >= 0 or tv is int or tv is bytes or tv is str or tv is bool:
                    out[k] = val  # other drafts' parameters and custom scalars: kept raw
                    continue
            elif kind is bytes:
                if tv is bytes and (k not in _UUID_PARAMS or len(val) == 16):
                    out[k] = val
                    continue
            elif kind is int:
                if tv is int and val >= 0:
                    out[k] = val
                    continue
            elif kind is _DIGEST:
                p = (*path, "image-digest")
                out[k] = decode_digest(unwrap(val, p), p)
                continue
            elif tv is kind:  # bool, str
                out[k] = val
                continue
        elif not _is_int(k):
            raise _fail("parameter labels are integers", (*path, repr(k)), "suit.type")
        out[k] = _decode_param(k, val, (*path, _param_name(k)))
    return out


# Python type of each parameter whose value decode_parameters checks inline; the others (a
# vendor id as CBOR PEN, anything unusual) go through _decode_param.
_UUID_PARAMS = frozenset(
    {Parameter.VENDOR_IDENTIFIER, Parameter.CLASS_IDENTIFIER, Parameter.DEVICE_IDENTIFIER}
)
_PARAM_KINDS: dict[int, type | object] = {
    **{int(p): bytes for p in _UUID_PARAMS},
    **{int(p): int for p in (Parameter.COMPONENT_SLOT, Parameter.IMAGE_SIZE, Parameter.SOURCE_COMPONENT)},
    int(Parameter.USE_BEFORE): int,
    **{int(p): bool for p in (Parameter.STRICT_ORDER, Parameter.SOFT_FAILURE)},
    **{int(p): bytes for p in (Parameter.CONTENT, Parameter.INVOKE_ARGS, Parameter.FETCH_ARGUMENTS)},
    int(Parameter.URI): str,
    int(Parameter.IMAGE_DIGEST): (_DIGEST := object()),
}


_PARAM_NAMES = {int(p): p.name.lower().replace("_", "-") for p in Parameter}
_CMD_NAMES = {int(c): c.name.lower().replace("_", "-") for c in Cmd}


def _param_name(k: int) -> PathItem:
    return _PARAM_NAMES.get(k, k)


def _cmd_name(k: int) -> str:
    name = _CMD_NAMES.get(k)
    if name is None:
        return "custom" if k <= CUSTOM_LIMIT else str(k)
    return name


def _index_arg(v: Any, path: Path) -> IndexArg:
    # §6.5, Appendix A: IndexArg = uint / true / [+uint]
    if v is True:
        return True
    if _is_uint(v):
        assert isinstance(v, int)
        return v
    if isinstance(v, (list, tuple)) and v and all(_is_uint(i) for i in v):
        return tuple(v)
    raise _fail("component index must be an unsigned integer, true or a non-empty array", path, "suit.type")


def _decode_command(code: Any, arg: Any, path: Path, depth: int = 0) -> Command:
    if not _is_int(code):
        raise _fail("command codes are integers", path, "suit.type")
    p = (*path, _cmd_name(code))
    if code == Cmd.SET_COMPONENT_INDEX:
        return Command(code, _index_arg(arg, p))
    if code in (Cmd.OVERRIDE_PARAMETERS, Cmd.SET_PARAMETERS):
        return Command(code, decode_parameters(arg, p))
    if code == Cmd.RUN_SEQUENCE:
        return Command(code, decode_sequence(unwrap(arg, p), p, _depth=depth + 1))
    if code == Cmd.TRY_EACH:
        items = _list(arg, p)
        seqs: list[CommandSequence | None] = []
        for i, item in enumerate(items):
            if item is None:
                if i != len(items) - 1:
                    raise _fail("nil may only end a try-each argument", (*p, i))
                seqs.append(None)
            else:
                seqs.append(decode_sequence(unwrap(item, (*p, i)), (*p, i), _depth=depth + 1))
        if sum(s is not None for s in seqs) < 2:
            raise _fail("try-each needs at least two sequences (Appendix A)", p)
        return Command(code, tuple(seqs))
    if code <= CUSTOM_LIMIT or code < 0:  # SUIT_Command_Custom = (nint, bstr/tstr/int/nil)
        if not (arg is None or isinstance(arg, (bytes, str)) or _is_int(arg)):
            raise _fail("a custom command takes a bstr, tstr, int or nil", p, "suit.type")
        return Command(code, arg)
    if code in _REP_POLICY_COMMANDS:  # SUIT_Rep_Policy = uint .bits suit-reporting-bits (§8.4.7)
        if _uint(arg, p) > 0xF:
            raise _fail("reporting policy has bits beyond the four defined ones", p, "suit.reporting-policy")
        return Command(code, arg)
    return Command(code, arg)  # other drafts' or unknown commands: raw, refused when executed


_REP_POLICY_COMMANDS = frozenset(
    {
        Cmd.VENDOR_IDENTIFIER,
        Cmd.CLASS_IDENTIFIER,
        Cmd.IMAGE_MATCH,
        Cmd.COMPONENT_SLOT,
        Cmd.CHECK_CONTENT,
        Cmd.ABORT,
        Cmd.DEVICE_IDENTIFIER,
        Cmd.WRITE,
        Cmd.FETCH,
        Cmd.COPY,
        Cmd.INVOKE,
        Cmd.SWAP,
        Cmd.DEPENDENCY_INTEGRITY,
        Cmd.IS_DEPENDENCY,
        Cmd.PROCESS_DEPENDENCY,
        Cmd.UNLINK,
        Cmd.IMAGE_NOT_MATCH,
    }
)


def decode_sequence(v: Any, path: Path, *, _depth: int = 0) -> CommandSequence:
    """§8.4.6 SUIT_Command_Sequence: a flat array of (code, argument) pairs.

    Sequences nested in run-sequence and try-each arguments are each wrapped in their own bstr, so
    the CBOR depth limit does not bound them: :data:`MAX_SEQUENCE_NESTING` does.
    """
    if _depth > MAX_SEQUENCE_NESTING:
        raise _fail(f"command sequences nested deeper than {MAX_SEQUENCE_NESTING}", path, "suit.nesting")
    if _c_sequence is not None:  # the usual pairs in C, the others through _pair (below)
        done = _c_sequence(v, path, _depth)
        if done is not _C_FALLBACK:
            return done  # type: ignore[no-any-return]
    items = v if type(v) is list else _list(v, path)
    n = len(items)
    if not n or n % 2:
        raise _fail("a command sequence is a non-empty array of code/argument pairs", path)
    out = []
    for i in range(0, n, 2):
        code = items[i]
        arg = items[i + 1]
        if type(code) is int:
            # the usual shapes, decoded here exactly as _decode_command decodes them
            kind = _CMD_KINDS.get(code)
            if (kind is _REP and type(arg) is int and 0 <= arg <= 0xF) or (
                kind is _INDEX and ((type(arg) is int and arg >= 0) or arg is True)
            ):
                out.append(make_command(code, arg))
                continue
        out.append(_pair(code, arg, path, i // 2, _depth))
    return tuple(out)


_new = object.__new__


_REP, _INDEX, _PARAMS = object(), object(), object()
_CMD_KINDS: dict[int, object] = {
    **{int(c): _REP for c in _REP_POLICY_COMMANDS},
    int(Cmd.SET_COMPONENT_INDEX): _INDEX,
    int(Cmd.OVERRIDE_PARAMETERS): _PARAMS,
    int(Cmd.SET_PARAMETERS): _PARAMS,
}


def _pair(code: Any, arg: Any, path: Path, index: int, depth: int) -> Command:
    """One pair of a sequence beyond the inline shapes of :func:`decode_sequence` (and of the C
    walker, which calls it for the same pairs): parameter maps, and every other command through
    :func:`_decode_command`."""
    if type(code) is int and _CMD_KINDS.get(code) is _PARAMS:
        return make_command(code, decode_parameters(arg, (*path, index, _CMD_NAMES[code])))
    return _decode_command(code, arg, (*path, index), depth)


# The C walker (iotsec/core/suit/_suit_c.c) builds the pairs of the shapes the loop above accepts
# inline; it needs the strict C CBOR decoder for image digests. Without a C compiler neither
# extension exists and the loop does all the work.
_C_CMD_KINDS = {_REP: 1, _INDEX: 2, _PARAMS: 3}
_C_PARAM_KINDS = {bytes: 1, int: 3, bool: 4, str: 5, _DIGEST: 6}
_c_sequence: Any = None
_C_FALLBACK: object = object()
if _fastcbor.decode is not None:
    try:
        from iotsec.core.suit import _suit_c
    except ImportError:  # pragma: no cover - built with _cbor_c by `pip install`
        pass
    else:
        _suit_c.configure(
            Command,
            Digest,
            {code: _C_CMD_KINDS[kind] for code, kind in _CMD_KINDS.items()},
            {
                label: 2 if label in _UUID_PARAMS else _C_PARAM_KINDS[kind]
                for label, kind in _PARAM_KINDS.items()
            },
            _fastcbor.decode,
            MAX_DEPTH,
            _pair,
        )
        _c_sequence, _C_FALLBACK = _suit_c.sequence, _suit_c.FALLBACK


__all__ = ["decode_digest", "decode_parameters", "decode_sequence"]
