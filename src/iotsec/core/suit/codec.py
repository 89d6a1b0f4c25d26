"""Strict decoding and deterministic encoding of SUIT envelopes and manifests.

draft-ietf-suit-manifest §8 and Appendix A (CDDL). Every structural error raises
:class:`~iotsec.errors.ValidationError` whose ``path`` names the member (``/manifest/common/...``);
malformed CBOR raises :class:`~iotsec.errors.DecodeError`. §8.1 requires canonical (deterministic)
encoding of every map, so each ``bstr .cbor`` member must re-encode to its own bytes: then
``encode(decode(x)) == x`` holds for every accepted input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cbor2

from iotsec.core import cbor
from iotsec.core.cbor import CBORTag
from iotsec.core.suit import deterministic
from iotsec.core.suit.digest import wrapped_digest
from iotsec.core.suit.model import (
    Authentication,
    Command,
    CommandSequence,
    Common,
    ComponentId,
    Digest,
    Envelope,
    IndexArg,
    Manifest,
    Severable,
    TextMap,
)
from iotsec.core.suit.registry import (
    CUSTOM_LIMIT,
    MANIFEST_VERSION,
    SEVERABLE,
    TAG_CBOR_PEN,
    TAG_ENVELOPE,
    TAG_MANIFEST,
    CommonKey,
    EnvelopeKey,
    ManifestKey,
    Parameter,
)
from iotsec.core.suit.registry import (
    Command as Cmd,
)
from iotsec.errors import DecodeError, PathItem, UnsupportedError, ValidationError, VerifyError

Path = tuple[PathItem, ...]
MAX_ENVELOPE = 64 * 1024 * 1024
MAX_DEPTH = 48
MAX_SEQUENCE_NESTING = 16  # run-sequence / try-each levels
_LTAG = re.compile(r"[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*")  # §8.4.4 tag38-ltag
_COSE_TAGS = {18: "COSE_Sign1", 17: "COSE_Mac0", 98: "COSE_Sign", 97: "COSE_Mac"}  # §8.3
_SEQ_NAMES = {
    ManifestKey.VALIDATE: "validate",
    ManifestKey.LOAD: "load",
    ManifestKey.INVOKE: "invoke",
    ManifestKey.PAYLOAD_FETCH: "payload-fetch",
    ManifestKey.INSTALL: "install",
    ManifestKey.DEPENDENCY_RESOLUTION: "dependency-resolution",
    ManifestKey.CANDIDATE_VERIFICATION: "candidate-verification",
    ManifestKey.UNINSTALL: "uninstall",
}
SEQUENCE_MEMBERS = frozenset(_SEQ_NAMES)


def _fail(msg: str, path: Path, reason: str = "suit.invalid") -> ValidationError:
    return ValidationError(msg, reason=reason, path=path)


def _is_uint(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _uint(v: Any, path: Path) -> int:
    if not _is_uint(v):
        raise _fail("expected an unsigned integer", path, "suit.type")
    assert isinstance(v, int)
    return v


def _bytes(v: Any, path: Path) -> bytes:
    if not isinstance(v, bytes):
        raise _fail("expected a byte string", path, "suit.type")
    return v


def _text(v: Any, path: Path) -> str:
    if not isinstance(v, str):
        raise _fail("expected a text string", path, "suit.type")
    return v


def _map(v: Any, path: Path) -> dict[Any, Any]:
    if not isinstance(v, dict):
        raise _fail("expected a map", path, "suit.type")
    return v


def _list(v: Any, path: Path) -> list[Any]:
    if not isinstance(v, (list, tuple)):
        raise _fail("expected an array", path, "suit.type")
    return list(v)


def unwrap(v: Any, path: Path) -> Any:
    """Decode a ``bstr .cbor`` member strictly and require its deterministic encoding (§8.1).

    One walk (:mod:`.deterministic`) proves the bytes are a single well-formed, canonical item;
    only then does cbor2's C decoder build the value.
    """
    raw = _bytes(v, path)
    try:
        deterministic.check(raw, max_depth=MAX_DEPTH)
    except deterministic.NotDeterministic as err:
        if err.malformed:
            raise _fail(f"embedded CBOR is malformed: {err}", path, "suit.cbor") from None
        raise _fail(
            f"embedded CBOR is not deterministically encoded (§8.1): {err}", path, "suit.noncanonical"
        ) from None
    try:
        return cbor2.loads(raw)
    except Exception as err:  # semantic errors of cbor2 (bad UTF-8, tag contents)
        raise _fail(f"embedded CBOR is invalid: {err}", path, "suit.cbor") from err


# ---------------------------------------------------------------- digests, parameters, commands


def decode_digest(v: Any, path: Path) -> Digest:
    """§10 SUIT_Digest."""
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
        if not _is_int(k):
            raise _fail("parameter labels are integers", (*path, repr(k)), "suit.type")
        out[k] = _decode_param(k, val, (*path, _param_name(k)))
    return out


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
    items = _list(v, path)
    if not items or len(items) % 2:
        raise _fail("a command sequence is a non-empty array of code/argument pairs", path)
    return tuple(
        _decode_command(items[i], items[i + 1], (*path, i // 2), _depth) for i in range(0, len(items), 2)
    )


def _component_id(v: Any, path: Path) -> ComponentId:
    return tuple(_bytes(seg, (*path, i)) for i, seg in enumerate(_list(v, path)))


def decode_common(v: Any, path: Path) -> Common:
    """§8.4.5 SUIT_Common."""
    m = _map(v, path)
    components: tuple[ComponentId, ...] = ()
    shared = None
    deps = None
    ext: dict[int, Any] = {}
    for k, val in m.items():
        if not _is_int(k):
            raise _fail("common keys are integers", (*path, repr(k)), "suit.type")
        if k == CommonKey.COMPONENTS:
            items = _list(val, (*path, "components"))
            if not items:
                raise _fail("suit-components needs at least one component", (*path, "components"))
            components = tuple(_component_id(c, (*path, "components", i)) for i, c in enumerate(items))
        elif k == CommonKey.SHARED_SEQUENCE:
            p = (*path, "shared-sequence")
            shared = decode_sequence(unwrap(val, p), p)
        elif k == CommonKey.DEPENDENCIES:
            deps = val
        else:
            ext[k] = val
    return Common(components, shared, deps, ext)


def decode_text(v: Any, path: Path) -> TextMap:
    """§8.4.4 SUIT_Text_Map."""
    m = _map(v, path)
    if not m:
        raise _fail("a text map needs at least one language", path)
    out: dict[str, dict[Any, Any]] = {}
    for lang, lmap in m.items():
        if not isinstance(lang, str) or not _LTAG.fullmatch(lang):
            raise _fail("text languages are tag38 language tags", (*path, repr(lang)), "suit.type")
        lp = (*path, lang)
        entries: dict[Any, Any] = {}
        for k, val in _map(lmap, lp).items():
            if _is_int(k):
                entries[k] = _text(val, (*lp, k))
            elif isinstance(k, (list, tuple)):
                cid = _component_id(k, (*lp, repr(k)))
                cmap = _map(val, (*lp, repr(k)))
                for ck, cv in cmap.items():
                    if not _is_int(ck):
                        raise _fail("component text keys are integers", (*lp, repr(k), repr(ck)), "suit.type")
                    _text(cv, (*lp, repr(k), ck))
                entries[cid] = dict(cmap)
            else:
                raise _fail("text keys are integers or component ids", (*lp, repr(k)), "suit.type")
        out[lang] = entries
    return out


def _severable(key: int, val: Any, path: Path) -> Any:
    if isinstance(val, (list, tuple)):
        if key not in SEVERABLE:
            raise _fail("this member cannot be severed", path, "suit.type")
        return decode_digest(val, path)
    obj = unwrap(val, path)
    return decode_text(obj, path) if key == ManifestKey.TEXT else decode_sequence(obj, path)


def decode_manifest_map(v: Any, path: Path = ("manifest",), *, tagged: bool = False) -> Manifest:
    """§8.4 SUIT_Manifest from its decoded CBOR map."""
    m = _map(v, path)
    for req, name in ((1, "manifest-version"), (2, "manifest-sequence-number"), (3, "common")):
        if req not in m:
            raise _fail(f"{name} is required", (*path, name), "suit.missing")
    version = m[ManifestKey.VERSION]
    if not _is_int(version):
        raise _fail("manifest-version must be an integer", (*path, "manifest-version"), "suit.type")
    if version != MANIFEST_VERSION:  # §6.1: fail on an unsupported encoding version
        raise UnsupportedError(f"unsupported SUIT manifest version {version}", reason="suit.version")
    seqno = _uint(m[ManifestKey.SEQUENCE_NUMBER], (*path, "manifest-sequence-number"))
    common = decode_common(unwrap(m[ManifestKey.COMMON], (*path, "common")), (*path, "common"))
    ref = None
    sequences: dict[int, Severable] = {}
    text: TextMap | Digest | None = None
    ext: dict[int, Any] = {}
    for k, val in m.items():
        if not _is_int(k):
            raise _fail("manifest keys are integers", (*path, repr(k)), "suit.type")
        if k in (ManifestKey.VERSION, ManifestKey.SEQUENCE_NUMBER, ManifestKey.COMMON):
            continue
        if k == ManifestKey.REFERENCE_URI:
            ref = _text(val, (*path, "reference-uri"))
        elif k == ManifestKey.TEXT:
            text = _severable(k, val, (*path, "text"))
        elif k in SEQUENCE_MEMBERS:
            sequences[k] = _severable(k, val, (*path, _SEQ_NAMES[ManifestKey(k)]))
        else:
            ext[k] = val
    return Manifest(seqno, common, version, ref, sequences, text, ext, tagged)


def decode_authentication(v: Any, path: Path = ("authentication-wrapper",)) -> Authentication:
    """§8.3 SUIT_Authentication: ``[bstr .cbor SUIT_Digest, * bstr .cbor COSE block]``."""
    items = _list(unwrap(v, path), path)
    if not items:
        raise _fail("the authentication wrapper needs the manifest digest", path, "suit.missing")
    digest = decode_digest(unwrap(items[0], (*path, "digest")), (*path, "digest"))
    blocks = []
    for i, b in enumerate(items[1:], start=1):
        raw = _bytes(b, (*path, i))
        try:
            obj = cbor.loads(raw, max_depth=MAX_DEPTH)
        except DecodeError as err:
            raise _fail(f"authentication block is malformed: {err}", (*path, i), "suit.cbor") from err
        if not isinstance(obj, CBORTag) or obj.tag not in _COSE_TAGS:
            raise _fail("authentication blocks are tagged COSE_Sign1/Mac0/Sign/Mac", (*path, i), "suit.type")
        blocks.append(raw)
    return Authentication(digest, tuple(blocks))


def _load_top(data: bytes) -> Any:
    """Strictly decode a whole envelope or manifest: well-formed and deterministic (§8.1)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DecodeError("SUIT input must be bytes", reason="cbor.type")
    data = bytes(data)
    if len(data) > MAX_ENVELOPE:
        raise DecodeError(f"SUIT input of {len(data)} bytes exceeds {MAX_ENVELOPE}", reason="cbor.size")
    try:
        deterministic.check(data, max_depth=MAX_DEPTH)
    except deterministic.NotDeterministic as err:
        if err.malformed:
            raise DecodeError(f"malformed CBOR: {err}", reason="cbor.malformed") from None
        raise _fail(
            f"the envelope is not deterministically encoded (§8.1): {err}", (), "suit.noncanonical"
        ) from None
    try:
        return cbor2.loads(data)
    except Exception as err:  # semantic errors of cbor2 (bad UTF-8, tag contents)
        raise DecodeError(f"invalid CBOR: {err}", reason="cbor.invalid") from err


@dataclass(frozen=True)
class OuterEnvelope:
    """An envelope parsed down to its authentication wrapper, the manifest still as bytes.

    This is what can be checked before anything unauthenticated is parsed (§6.2).
    """

    manifest_bytes: bytes
    authentication: Authentication | None
    severed: dict[int, bytes]
    integrated: dict[str, bytes]
    delegation: Any
    extensions: dict[int, Any]
    tagged: bool


def decode_outer(data: bytes, *, allow_unsigned: bool = False) -> OuterEnvelope | Envelope:
    """Parse the envelope map and the authentication wrapper only (a bare manifest fully)."""
    obj = _load_top(data)
    if isinstance(obj, CBORTag) and obj.tag == TAG_MANIFEST:
        if not allow_unsigned:
            raise _fail("a bare manifest carries no authentication", (), "suit.unsigned")
        manifest = decode_manifest_map(obj.value, tagged=True)
        return Envelope(manifest, encode_manifest(manifest), tagged=True)
    tagged = False
    if isinstance(obj, CBORTag):
        if obj.tag != TAG_ENVELOPE:
            raise _fail(f"unexpected CBOR tag {obj.tag} (SUIT envelope is 107)", (), "suit.type")
        obj, tagged = obj.value, True
    m = _map(obj, ())
    if EnvelopeKey.MANIFEST not in m:
        raise _fail("suit-manifest is required", ("manifest",), "suit.missing")
    manifest_bytes = _bytes(m[EnvelopeKey.MANIFEST], ("manifest",))
    auth = None
    if EnvelopeKey.AUTHENTICATION_WRAPPER in m:
        auth = decode_authentication(m[EnvelopeKey.AUTHENTICATION_WRAPPER])
    elif not allow_unsigned:
        raise _fail("suit-authentication-wrapper is required", ("authentication-wrapper",), "suit.missing")
    severed: dict[int, bytes] = {}
    integrated: dict[str, bytes] = {}
    ext: dict[int, Any] = {}
    delegation = None
    for k, val in m.items():
        if isinstance(k, str):  # §5.5 SUIT_Integrated_Payload = (tstr => bstr)
            integrated[k] = _bytes(val, ("integrated", k))
        elif not _is_int(k):
            raise _fail("envelope keys are integers or text", (repr(k),), "suit.type")
        elif k in (EnvelopeKey.AUTHENTICATION_WRAPPER, EnvelopeKey.MANIFEST):
            continue
        elif k in SEVERABLE:  # §8.6: a severed member, covered by the digest in the manifest
            severed[k] = _bytes(val, (_member_name(k),))
        elif k == EnvelopeKey.DELEGATION:
            delegation = val
        else:
            ext[k] = val
    return OuterEnvelope(manifest_bytes, auth, severed, integrated, delegation, ext, tagged)


def _member_name(k: int) -> str:
    return "text" if k == ManifestKey.TEXT else _SEQ_NAMES[ManifestKey(k)]


def complete(outer: OuterEnvelope, *, check_severed: bool = False) -> Envelope:
    """Decode the manifest and the severed members of an :class:`OuterEnvelope`.

    With ``check_severed``, each severed member is decoded only after its digest in the manifest
    matches (VerifyError otherwise), so that nothing unauthenticated is parsed (§6.2, §8.4.12).
    """
    manifest = decode_manifest_map(unwrap(outer.manifest_bytes, ("manifest",)))
    values: dict[int, Any] = {}
    for k, raw in outer.severed.items():
        name = _member_name(k)
        if check_severed:
            held = manifest.text if k == ManifestKey.TEXT else manifest.sequences.get(k)
            if not isinstance(held, Digest):
                raise VerifyError(
                    f"envelope member {name} has no digest in the manifest", reason="suit.severed.undeclared"
                )
            if not wrapped_digest(held, raw):
                raise VerifyError(
                    f"severed member {name} does not match its digest", reason="suit.digest.severed"
                )
        inner = unwrap(raw, (name,))
        values[k] = decode_text(inner, (name,)) if k == ManifestKey.TEXT else decode_sequence(inner, (name,))
    return Envelope(
        manifest,
        outer.manifest_bytes,
        outer.authentication,
        outer.severed,
        values,
        outer.integrated,
        outer.delegation,
        outer.extensions,
        outer.tagged,
    )


def decode(data: bytes, *, allow_unsigned: bool = False) -> Envelope:
    """Decode a SUIT_Envelope (tagged 107 or not), or a bare SUIT_Manifest_Tagged (1070).

    A bare manifest, or an envelope without authentication wrapper, is accepted only with
    ``allow_unsigned`` (the input of ``suit sign``). This parses everything before any check of
    authenticity: a device should use :func:`iotsec.core.suit.auth.authenticate` instead (§6.2).
    """
    outer = decode_outer(data, allow_unsigned=allow_unsigned)
    return outer if isinstance(outer, Envelope) else complete(outer)


def decode_manifest(data: bytes) -> Manifest:
    """Decode a bare SUIT_Manifest (tagged 1070 or not)."""
    obj = _load_top(data)
    tagged = isinstance(obj, CBORTag) and obj.tag == TAG_MANIFEST
    return decode_manifest_map(obj.value if tagged else obj, tagged=tagged)


# ---------------------------------------------------------------------------------- encoding


def digest_to_cbor(d: Digest) -> list[Any]:
    return [d.alg, d.value, *d.extra]


def encode_digest(d: Digest) -> bytes:
    """The encoded SUIT_Digest (what a COSE block in the wrapper signs, §8.3)."""
    return cbor.dumps(digest_to_cbor(d))


def _param_to_cbor(k: int, v: Any) -> Any:
    if k == Parameter.IMAGE_DIGEST and isinstance(v, Digest):
        return encode_digest(v)
    return v


def _cmd_to_cbor(c: Command) -> list[Any]:
    arg = c.arg
    if c.code in (Cmd.OVERRIDE_PARAMETERS, Cmd.SET_PARAMETERS) and isinstance(arg, Mapping):
        arg = {k: _param_to_cbor(k, v) for k, v in arg.items()}
    elif c.code == Cmd.RUN_SEQUENCE and isinstance(arg, tuple):
        arg = encode_sequence(arg)
    elif c.code == Cmd.TRY_EACH and isinstance(arg, tuple):
        arg = [None if s is None else encode_sequence(s) for s in arg]
    elif c.code == Cmd.SET_COMPONENT_INDEX and isinstance(arg, tuple):
        arg = list(arg)
    return [c.code, arg]


def sequence_to_cbor(seq: CommandSequence) -> list[Any]:
    out: list[Any] = []
    for c in seq:
        out.extend(_cmd_to_cbor(c))
    return out


def encode_sequence(seq: CommandSequence) -> bytes:
    """The encoded SUIT_Command_Sequence (bstr content)."""
    return cbor.dumps(sequence_to_cbor(seq))


def encode_text(text: TextMap) -> bytes:
    return cbor.dumps({lang: dict(m) for lang, m in text.items()})


def encode_common(c: Common) -> bytes:
    m: dict[int, Any] = dict(c.extensions)
    if c.dependencies is not None:
        m[CommonKey.DEPENDENCIES] = c.dependencies
    if c.components:
        m[CommonKey.COMPONENTS] = [list(cid) for cid in c.components]
    if c.shared_sequence is not None:
        m[CommonKey.SHARED_SEQUENCE] = encode_sequence(c.shared_sequence)
    return cbor.dumps(m)


def encode_severable_value(key: int, value: Any) -> bytes:
    """The bstr content of a severable member's value (what its digest covers, §8.4.12)."""
    return encode_text(value) if key == ManifestKey.TEXT else encode_sequence(value)


def manifest_to_cbor(man: Manifest) -> dict[int, Any]:
    m: dict[int, Any] = dict(man.extensions)
    m[ManifestKey.VERSION] = man.version
    m[ManifestKey.SEQUENCE_NUMBER] = man.sequence_number
    m[ManifestKey.COMMON] = encode_common(man.common)
    if man.reference_uri is not None:
        m[ManifestKey.REFERENCE_URI] = man.reference_uri
    for k, s in man.sequences.items():
        m[k] = digest_to_cbor(s) if isinstance(s, Digest) else encode_sequence(s)
    if man.text is not None:
        m[ManifestKey.TEXT] = (
            digest_to_cbor(man.text) if isinstance(man.text, Digest) else encode_text(man.text)
        )
    return m


def encode_manifest(man: Manifest) -> bytes:
    """Deterministic encoding of the manifest map (the bstr content at suit-manifest)."""
    return cbor.dumps(manifest_to_cbor(man))


def encode_authentication(auth: Authentication) -> bytes:
    return cbor.dumps([encode_digest(auth.digest), *auth.blocks])


def encode(env: Envelope) -> bytes:
    """Deterministic encoding of an envelope (§8.1, §8.2)."""
    m: dict[Any, Any] = dict(env.extensions)
    if env.authentication is not None:
        m[EnvelopeKey.AUTHENTICATION_WRAPPER] = encode_authentication(env.authentication)
    m[EnvelopeKey.MANIFEST] = env.manifest_bytes
    if env.delegation is not None:
        m[EnvelopeKey.DELEGATION] = env.delegation
    m.update(env.severed)
    m.update(env.integrated)
    obj: Any = cbor.tag(TAG_ENVELOPE, m) if env.tagged else m
    return cbor.dumps(obj)


def encode_bare_manifest(man: Manifest) -> bytes:
    """SUIT_Manifest_Tagged (1070)."""
    return cbor.dumps(cbor.tag(TAG_MANIFEST, manifest_to_cbor(man)))


def component_name(cid: ComponentId) -> str:
    """Readable component id: ``[h'00']`` style, as in the spec's examples."""
    return "[" + ", ".join(f"h'{s.hex()}'" for s in cid) + "]"


__all__ = [
    "SEQUENCE_MEMBERS",
    "OuterEnvelope",
    "complete",
    "decode_outer",
    "component_name",
    "decode",
    "decode_authentication",
    "decode_common",
    "decode_digest",
    "decode_manifest",
    "decode_manifest_map",
    "decode_parameters",
    "decode_sequence",
    "decode_text",
    "digest_to_cbor",
    "encode",
    "encode_authentication",
    "encode_bare_manifest",
    "encode_common",
    "encode_digest",
    "encode_manifest",
    "encode_sequence",
    "encode_severable_value",
    "encode_text",
    "manifest_to_cbor",
    "sequence_to_cbor",
    "unwrap",
]
