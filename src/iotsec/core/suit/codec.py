"""Strict decoding and deterministic encoding of SUIT envelopes and manifests.

draft-ietf-suit-manifest §8 and Appendix A (CDDL). Every structural error raises
:class:`~iotsec.errors.ValidationError` whose ``path`` names the member (``/manifest/common/...``);
malformed CBOR raises :class:`~iotsec.errors.DecodeError`. §8.1 requires canonical (deterministic)
encoding of every map, so each ``bstr .cbor`` member must re-encode to its own bytes: then
``encode(decode(x)) == x`` holds for every accepted input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from iotsec.core import cbor, deterministic
from iotsec.core.cbor import CBORTag
from iotsec.core.suit import commands as _commands
from iotsec.core.suit.commands import (
    decode_digest,
    decode_parameters,
    decode_sequence,
)
from iotsec.core.suit.digest import wrapped_digest
from iotsec.core.suit.encoding import (
    component_name,
    digest_to_cbor,
    encode,
    encode_authentication,
    encode_bare_manifest,
    encode_common,
    encode_digest,
    encode_manifest,
    encode_sequence,
    encode_severable_value,
    encode_text,
    manifest_to_cbor,
    sequence_to_cbor,
)
from iotsec.core.suit.model import (
    Authentication,
    Common,
    ComponentId,
    Digest,
    Envelope,
    Manifest,
    Severable,
    TextMap,
)
from iotsec.core.suit.primitives import (
    _LTAG,
    MAX_DEPTH,
    MAX_ENVELOPE,
    Path,
    _bytes,
    _fail,
    _is_int,
    _list,
    _map,
    _text,
    _uint,
    unwrap,
)
from iotsec.core.suit.registry import (
    MANIFEST_VERSION,
    SEVERABLE,
    TAG_ENVELOPE,
    TAG_MANIFEST,
    CommonKey,
    EnvelopeKey,
    ManifestKey,
)
from iotsec.errors import DecodeError, UnsupportedError, VerifyError

_new = object.__new__
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
        if type(k) is not int and not _is_int(k):
            raise _fail("common keys are integers", (*path, repr(k)), "suit.type")
        if k == _COMPONENTS:
            components = _components(val, path)
        elif k == _SHARED_SEQUENCE:
            p = (*path, "shared-sequence")
            shared = decode_sequence(unwrap(val, p), p)
        elif k == _DEPENDENCIES:
            deps = val
        else:
            ext[k] = val
    obj = _new(Common)  # as model.make_command builds objects: one store per field
    d = obj.__dict__
    d["components"] = components
    d["shared_sequence"] = shared
    d["dependencies"] = deps
    d["extensions"] = ext
    return obj


_COMPONENTS, _SHARED_SEQUENCE, _DEPENDENCIES = (
    int(CommonKey.COMPONENTS),
    int(CommonKey.SHARED_SEQUENCE),
    int(CommonKey.DEPENDENCIES),
)


def _components(val: Any, path: Path) -> tuple[ComponentId, ...]:
    """§8.4.5.1 ``[+ SUIT_Component_Identifier]``."""
    if type(val) is list and val:
        out = []
        for c in val:
            if type(c) is not list:
                break
            for seg in c:
                if type(seg) is not bytes:
                    break
            else:
                out.append(tuple(c))
                continue
            break
        else:
            return tuple(out)  # the usual shape, accepted here as the checks below accept it
    items = _list(val, (*path, "components"))
    if not items:
        raise _fail("suit-components needs at least one component", (*path, "components"))
    return tuple(_component_id(c, (*path, "components", i)) for i, c in enumerate(items))


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
    if type(val) is bytes:  # the member itself (the usual case)
        obj = unwrap(val, path)
        return decode_text(obj, path) if key == _TEXT else decode_sequence(obj, path)
    if isinstance(val, (list, tuple)):
        if key not in SEVERABLE:
            raise _fail("this member cannot be severed", path, "suit.type")
        return decode_digest(val, path)
    obj = unwrap(val, path)
    return decode_text(obj, path) if key == ManifestKey.TEXT else decode_sequence(obj, path)


def decode_manifest_map(v: Any, path: Path = ("manifest",), *, tagged: bool = False) -> Manifest:
    """§8.4 SUIT_Manifest from its decoded CBOR map."""
    if _c_manifest is not None:  # the usual shape in C (_suit_c.c), anything else below
        done = _c_manifest(v, path, tagged)
        if done is not _C_FALLBACK:
            return done  # type: ignore[no-any-return]
    m = _map(v, path)
    if 1 not in m or 2 not in m or 3 not in m:
        for req, name in ((1, "manifest-version"), (2, "manifest-sequence-number"), (3, "common")):
            if req not in m:
                raise _fail(f"{name} is required", (*path, name), "suit.missing")
    version = m[1]
    if type(version) is not int and not _is_int(version):
        raise _fail("manifest-version must be an integer", (*path, "manifest-version"), "suit.type")
    if version != MANIFEST_VERSION:  # §6.1: fail on an unsupported encoding version
        raise UnsupportedError(f"unsupported SUIT manifest version {version}", reason="suit.version")
    seqno = m[2]
    if type(seqno) is not int or seqno < 0:
        seqno = _uint(seqno, (*path, "manifest-sequence-number"))
    p = (*path, "common")
    common = decode_common(unwrap(m[3], p), p)
    ref = None
    sequences: dict[int, Severable] = {}
    text: TextMap | Digest | None = None
    ext: dict[int, Any] = {}
    for k, val in m.items():
        if type(k) is not int and not _is_int(k):
            raise _fail("manifest keys are integers", (*path, repr(k)), "suit.type")
        if 1 <= k <= 3:  # version, sequence number, common: done above
            continue
        seq_name = _SEQ_NAMES.get(k)
        if seq_name is not None:
            sequences[k] = _severable(k, val, (*path, seq_name))
        elif k == _REFERENCE_URI:
            ref = _text(val, (*path, "reference-uri"))
        elif k == _TEXT:
            text = _severable(k, val, (*path, "text"))
        else:
            ext[k] = val
    obj = _new(Manifest)  # as model.make_command builds objects
    d = obj.__dict__
    d["sequence_number"] = seqno
    d["common"] = common
    d["version"] = version
    d["reference_uri"] = ref
    d["sequences"] = sequences
    d["text"] = text
    d["extensions"] = ext
    d["tagged"] = tagged
    return obj


_REFERENCE_URI, _TEXT = int(ManifestKey.REFERENCE_URI), int(ManifestKey.TEXT)

# The C walker builds manifests of the usual shape (every member as decode_manifest_map and
# decode_common accept it inline; severed members and text maps are left to them) and returns
# FALLBACK for the others; it is configured with the labels and classes used here.
_c_manifest: Any = None
_C_FALLBACK: object = object()
if _commands._c_sequence is not None:
    from iotsec.core.suit import _suit_c

    _suit_c.configure_manifest(
        Manifest,
        Common,
        {int(k): name for k, name in _SEQ_NAMES.items()},
        int(ManifestKey.VERSION),
        int(ManifestKey.SEQUENCE_NUMBER),
        int(ManifestKey.COMMON),
        _REFERENCE_URI,
        _TEXT,
        _DEPENDENCIES,
        _COMPONENTS,
        _SHARED_SEQUENCE,
        MANIFEST_VERSION,
    )
    _c_manifest, _C_FALLBACK = _suit_c.manifest, _suit_c.FALLBACK


def decode_authentication(v: Any, path: Path = ("authentication-wrapper",)) -> Authentication:
    """§8.3 SUIT_Authentication: ``[bstr .cbor SUIT_Digest, * bstr .cbor COSE block]``."""
    return _decode_authentication(v, path)[0]


Decoded = tuple[bytes | None, tuple[Any, ...]]
"""What decoding the authentication wrapper has already read, for its verification: the encoded
SUIT_Digest when it is exactly ``encode_digest(digest)`` (else None), and per block its content
(the COSE array) as ``deterministic.loads`` decoded it when the block starts with a one-byte tag
head (else None)."""


def _decode_authentication(v: Any, path: Path) -> tuple[Authentication, Decoded]:
    items = unwrap(v, path)
    if type(items) is not list:
        items = _list(items, path)
    if not items:
        raise _fail("the authentication wrapper needs the manifest digest", path, "suit.missing")
    p = (*path, "digest")
    raw_digest = items[0]
    digest = decode_digest(unwrap(raw_digest, p), p)
    alg = digest.alg
    # deterministic CBOR of [alg, bytes] is unique: these bytes are what encode_digest writes
    same = type(alg) is int and -24 <= alg < 24 and not digest.extra and type(digest.value) is bytes
    blocks = []
    contents = []
    for i in range(1, len(items)):
        raw = items[i]
        if type(raw) is not bytes:
            raw = _bytes(raw, (*path, i))
        try:
            # a deterministically encoded block (the usual case) is well-formed: decoded in one pass;
            # one level less, as the depth counts differ by one container (cbor.loads counts frames)
            obj = deterministic.loads(raw, max_depth=MAX_DEPTH - 1)
            content = obj.value if type(obj) is CBORTag and raw[0] >= 0xC0 and raw[0] < 0xD8 else None
        except deterministic.NotDeterministic:
            try:
                obj = cbor.loads(raw, max_depth=MAX_DEPTH)
            except DecodeError as err:
                raise _fail(f"authentication block is malformed: {err}", (*path, i), "suit.cbor") from err
            content = None
        if not isinstance(obj, CBORTag) or obj.tag not in _COSE_TAGS:
            raise _fail("authentication blocks are tagged COSE_Sign1/Mac0/Sign/Mac", (*path, i), "suit.type")
        blocks.append(raw)
        contents.append(content)
    obj = _new(Authentication)  # as model.make_command builds objects
    d = obj.__dict__
    d["digest"] = digest
    d["blocks"] = tuple(blocks)
    return obj, (raw_digest if same else None, tuple(contents))


def _load_top(data: bytes) -> Any:
    """Strictly decode a whole envelope or manifest: well-formed and deterministic (§8.1)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DecodeError("SUIT input must be bytes", reason="cbor.type")
    data = bytes(data)
    if len(data) > MAX_ENVELOPE:
        raise DecodeError(f"SUIT input of {len(data)} bytes exceeds {MAX_ENVELOPE}", reason="cbor.size")
    try:
        return deterministic.loads(data, max_depth=MAX_DEPTH)
    except deterministic.NotDeterministic as err:
        if err.malformed:
            raise DecodeError(f"malformed CBOR: {err}", reason="cbor.malformed") from None
        raise _fail(
            f"the envelope is not deterministically encoded (§8.1): {err}", (), "suit.noncanonical"
        ) from None


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
    return decode_outer_for_auth(data, allow_unsigned=allow_unsigned)[0]


def decode_outer_for_auth(
    data: bytes, *, allow_unsigned: bool = False
) -> tuple[OuterEnvelope | Envelope, Decoded | None]:
    """:func:`decode_outer`, with what it decoded of the authentication wrapper (for
    :func:`iotsec.core.suit.auth.authenticate`, so that nothing is decoded twice)."""
    obj = _load_top(data)
    if isinstance(obj, CBORTag) and obj.tag == TAG_MANIFEST:
        if not allow_unsigned:
            raise _fail("a bare manifest carries no authentication", (), "suit.unsigned")
        manifest = decode_manifest_map(obj.value, tagged=True)
        return Envelope(manifest, encode_manifest(manifest), tagged=True), None
    tagged = False
    if isinstance(obj, CBORTag):
        if obj.tag != TAG_ENVELOPE:
            raise _fail(f"unexpected CBOR tag {obj.tag} (SUIT envelope is 107)", (), "suit.type")
        obj, tagged = obj.value, True
    m = _map(obj, ())
    if 3 not in m:  # EnvelopeKey.MANIFEST
        raise _fail("suit-manifest is required", ("manifest",), "suit.missing")
    manifest_bytes = _bytes(m[3], ("manifest",))
    auth = pre = None
    if 2 in m:  # EnvelopeKey.AUTHENTICATION_WRAPPER
        auth, pre = _decode_authentication(m[2], ("authentication-wrapper",))
    elif not allow_unsigned:
        raise _fail("suit-authentication-wrapper is required", ("authentication-wrapper",), "suit.missing")
    severed: dict[int, bytes] = {}
    integrated: dict[str, bytes] = {}
    ext: dict[int, Any] = {}
    delegation = None
    for k, val in m.items():
        if type(k) is int:
            if k == 2 or k == 3:  # noqa: PLR1714 - authentication wrapper, manifest: done above
                continue
        elif isinstance(k, str):  # §5.5 SUIT_Integrated_Payload = (tstr => bstr)
            integrated[k] = _bytes(val, ("integrated", k))
            continue
        elif not _is_int(k):
            raise _fail("envelope keys are integers or text", (repr(k),), "suit.type")
        elif k in (EnvelopeKey.AUTHENTICATION_WRAPPER, EnvelopeKey.MANIFEST):
            continue
        if k in SEVERABLE:  # §8.6: a severed member, covered by the digest in the manifest
            severed[k] = _bytes(val, (_member_name(k),))
        elif k == EnvelopeKey.DELEGATION:
            delegation = val
        else:
            ext[k] = val
    obj = _new(OuterEnvelope)  # as model.make_command builds objects
    d = obj.__dict__
    d["manifest_bytes"] = manifest_bytes
    d["authentication"] = auth
    d["severed"] = severed
    d["integrated"] = integrated
    d["delegation"] = delegation
    d["extensions"] = ext
    d["tagged"] = tagged
    return obj, pre


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
    obj = _new(Envelope)  # as model.make_command builds objects
    d = obj.__dict__
    d["manifest"] = manifest
    d["manifest_bytes"] = outer.manifest_bytes
    d["authentication"] = outer.authentication
    d["severed"] = outer.severed
    d["severed_values"] = values
    d["integrated"] = outer.integrated
    d["delegation"] = outer.delegation
    d["extensions"] = outer.extensions
    d["tagged"] = outer.tagged
    return obj


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


__all__ = [
    "SEQUENCE_MEMBERS",
    "Decoded",
    "OuterEnvelope",
    "complete",
    "decode_outer",
    "decode_outer_for_auth",
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
