"""Build a manifest from a readable description (draft-ietf-suit-manifest §7 templates).

The description is a mapping (from JSON or YAML) whose keys follow the spec's example inputs::

    manifest-version: 1                 # optional, only 1
    manifest-sequence-number: 5
    reference-uri: https://...          # §8.4.3, optional
    severable: true                     # sever install, payload-fetch and text (§8.6); or
    sever: [install, text]              #   name the members to sever
    description: {en-US: {manifest-description: "..."}}   # §8.4.4 text
    components:
      - install-id: ["00"]              # component id as hex segments, or
        component-id: ["usr", "bin", "app"]   #   as text segments
        vendor-id: fa6b4a53-...         # or vendor-domain: arm.com  (UUID5(DNS, domain), §8.4.8.2)
        class-id: 1492af14-...          # or model-info: suit        (UUID5(vendor-id, info))
        device-id: <uuid>               # optional
        file: image.bin                 # digest and size from the image bytes the caller passes, or
        install-digest: {algorithm-id: sha256, digest-bytes: "<hex>"}
        install-size: 34768
        uri: http://example.com/file.bin    # fetched in suit-install (§7.3, §7.4)
        integrated: true                # put the image in the envelope under uri (§5.5, §7.5)
        slot: 0                         # component slot condition before install (§7.7)
        bootable: true                  # suit-invoke (§7.2)
        description: {en-US: {component-description: "...", component-version: "1.0"}}

The sequences mirror the spec's examples 0, 1 and 5 byte for byte: the shared sequence sets
vendor, class, digest and size and checks vendor and class (§7.1); validate checks the image (§7.2);
install sets the URI, fetches and checks (§7.3); invoke invokes bootable components.
The builder is pure: the caller reads the files that :func:`image_files` lists.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from iotsec.core import cbor
from iotsec.core.suit import codec
from iotsec.core.suit.digest import make_digest, wrapped_digest
from iotsec.core.suit.model import (
    Authentication,
    Command,
    Common,
    ComponentId,
    Digest,
    Envelope,
    Manifest,
    Severable,
)
from iotsec.core.suit.registry import Command as Cmd
from iotsec.core.suit.registry import (
    ComponentTextKey,
    DigestAlg,
    ManifestKey,
    Parameter,
    TextKey,
)
from iotsec.errors import ValidationError

REPORT_ALL = 15  # §8.4.7: all four reporting bits, as in the spec's examples
REPORT_ON_FAILURE = 2

# §8.4.8.1: NAMESPACE_CBOR_PEN = UUID5(NAMESPACE_OID, h'D86F452B06010401')
NAMESPACE_CBOR_PEN = uuid.UUID("47fbdabb-f2e4-55f0-bb39-3620c2f6df4e")

_ALGS = {
    "sha256": DigestAlg.SHA256,
    "sha384": DigestAlg.SHA384,
    "sha512": DigestAlg.SHA512,
    "shake128": DigestAlg.SHAKE128,
    "shake256": DigestAlg.SHAKE256,
}
_SEVER_NAMES = {
    "install": ManifestKey.INSTALL,
    "payload-fetch": ManifestKey.PAYLOAD_FETCH,
    "text": ManifestKey.TEXT,
}


def uuid5_bytes(namespace: uuid.UUID, name: bytes) -> uuid.UUID:
    """RFC 9562 §5.5 name-based UUID over raw bytes (Python's uuid5 only takes text)."""
    h = hashlib.sha1(namespace.bytes + name, usedforsecurity=False).digest()[:16]
    return uuid.UUID(bytes=h, version=5)


def vendor_id(domain: str) -> uuid.UUID:
    """§8.4.8.2: Vendor ID = UUID5(NAMESPACE_DNS, vendor domain name as UTF-8)."""
    return uuid5_bytes(uuid.NAMESPACE_DNS, domain.encode("utf-8"))


def class_id(vendor: uuid.UUID, class_info: str | bytes) -> uuid.UUID:
    """§8.4.8.2: Class ID = UUID5(Vendor ID, Class-Specific-Information)."""
    info = class_info.encode("utf-8") if isinstance(class_info, str) else class_info
    return uuid5_bytes(vendor, info)


def pen_class_namespace(pen_oid: bytes) -> uuid.UUID:
    """§8.4.8.2: the namespace of class ids for a vendor identified by a CBOR PEN."""
    return uuid5_bytes(NAMESPACE_CBOR_PEN, pen_oid)


def _err(msg: str, *path: str | int) -> ValidationError:
    return ValidationError(msg, reason="suit.description", path=("description", *path))


def _get(d: Mapping[str, Any], *names: str) -> Any:
    for n in names:
        if n in d:
            return d[n]
    return None


def image_files(description: Mapping[str, Any]) -> list[str]:
    """File names the description refers to (``file:`` of components), for the caller to read."""
    comps = description.get("components")
    if not isinstance(comps, list):
        return []
    return [c["file"] for c in comps if isinstance(c, Mapping) and isinstance(c.get("file"), str)]


def _uuid_bytes(value: Any, *path: str | int) -> bytes:
    try:
        return uuid.UUID(str(value)).bytes
    except ValueError:
        raise _err(f"not a UUID: {value!r}", *path) from None


def _component_id(c: Mapping[str, Any], i: int) -> ComponentId:
    if "install-id" in c:
        try:
            return tuple(bytes.fromhex(s) for s in c["install-id"])
        except (TypeError, ValueError):
            raise _err("install-id is a list of hex strings", "components", i, "install-id") from None
    if "component-id" in c:
        segs = c["component-id"]
        if isinstance(segs, str):
            segs = [s for s in segs.split("/") if s]
        if not isinstance(segs, list) or not all(isinstance(s, str) for s in segs):
            raise _err("component-id is a list of text segments", "components", i, "component-id")
        return tuple(s.encode("utf-8") for s in segs)
    raise _err("a component needs install-id or component-id", "components", i)


def _digest(
    c: Mapping[str, Any], images: Mapping[str, bytes], i: int, prefix: str = "install"
) -> tuple[Digest | None, int | None]:
    if prefix != "install":
        c = {"install-digest": c.get(f"{prefix}-digest"), "install-size": c.get(f"{prefix}-size")}
        if c["install-digest"] is None:
            c = {k: v for k, v in c.items() if v is not None}
    if isinstance(c.get("file"), str):
        data = images.get(c["file"])
        if data is None:
            raise _err(f"image {c['file']!r} was not provided", "components", i, "file")
        return make_digest(data), len(data)
    d = c.get("install-digest")
    size = c.get("install-size")
    if d is None:
        return None, size if isinstance(size, int) else None
    try:
        alg = (
            _ALGS[str(d["algorithm-id"]).lower()]
            if isinstance(d["algorithm-id"], str)
            else int(d["algorithm-id"])
        )
        return Digest(alg, bytes.fromhex(d["digest-bytes"])), size if isinstance(size, int) else None
    except (KeyError, TypeError, ValueError):
        raise _err("install-digest needs algorithm-id and hex digest-bytes", "components", i) from None


def _text(
    desc: Any, keys: type[TextKey] | type[ComponentTextKey], *path: str | int
) -> dict[str, dict[Any, str]]:
    if desc is None:
        return {}
    if not isinstance(desc, Mapping):
        raise _err("description is a map of language -> fields", *path)
    out: dict[str, dict[Any, str]] = {}
    for lang, fields in desc.items():
        entry: dict[Any, str] = {}
        for name, value in (fields or {}).items():
            try:
                key = keys[str(name).upper().replace("-", "_")]
            except KeyError:
                raise _err(f"unknown text field {name!r}", *path, lang) from None
            entry[int(key)] = str(value)
        out[str(lang)] = entry
    return out


def build_manifest(
    description: Mapping[str, Any], images: Mapping[str, bytes] | None = None
) -> tuple[Manifest, dict[str, bytes]]:
    """Manifest (nothing severed yet) and integrated payloads from a description."""
    images = images or {}
    comps = description.get("components")
    if not isinstance(comps, list) or not comps:
        raise _err("components must be a non-empty list", "components")
    seq_no = _get(description, "manifest-sequence-number", "sequence-number")
    if not isinstance(seq_no, int) or isinstance(seq_no, bool) or seq_no < 0:
        raise _err("manifest-sequence-number must be an unsigned integer", "manifest-sequence-number")
    if description.get("manifest-version", 1) != 1:
        raise _err("only manifest-version 1 exists", "manifest-version")
    special = _templates(description, comps, images)
    if special is not None:
        return special
    many = len(comps) > 1
    ids: list[ComponentId] = []
    shared: list[Command] = []
    validate: list[Command] = []
    install: list[Command] = []
    invoke: list[Command] = []
    integrated: dict[str, bytes] = {}
    text: dict[str, dict[Any, Any]] = _text(description.get("description"), TextKey, "description")
    for i, c in enumerate(comps):
        if not isinstance(c, Mapping):
            raise _err("a component is a map", "components", i)
        cid = _component_id(c, i)
        ids.append(cid)
        sel = [Command(Cmd.SET_COMPONENT_INDEX, i)] if many else []
        params = _identity_params(c, i)
        digest, size = _digest(c, images, i)
        if digest is not None:
            params[Parameter.IMAGE_DIGEST] = digest
        if size is not None:
            params[Parameter.IMAGE_SIZE] = size
        if params:
            shared += (
                [*sel, Command(Cmd.OVERRIDE_PARAMETERS, params)]
                if sel or not shared
                else [Command(Cmd.OVERRIDE_PARAMETERS, params)]
            )
        elif sel:
            shared += sel
        for param, cond in (
            (Parameter.VENDOR_IDENTIFIER, Cmd.VENDOR_IDENTIFIER),
            (Parameter.CLASS_IDENTIFIER, Cmd.CLASS_IDENTIFIER),
            (Parameter.DEVICE_IDENTIFIER, Cmd.DEVICE_IDENTIFIER),
        ):
            if param in params:
                shared.append(Command(cond, REPORT_ALL))
        if digest is not None:
            validate += [*sel, Command(Cmd.IMAGE_MATCH, REPORT_ALL)]
        uri = c.get("uri")
        if c.get("integrated"):
            if not isinstance(c.get("file"), str):
                raise _err("an integrated payload needs file", "components", i)
            uri = uri or "#" + c["file"].rsplit("/", 1)[-1]
            integrated[uri] = images[c["file"]]
        if uri is not None:
            steps: list[Command] = [*sel]
            if "slot" in c:
                steps += [
                    Command(Cmd.OVERRIDE_PARAMETERS, {Parameter.COMPONENT_SLOT: int(c["slot"])}),
                    Command(Cmd.COMPONENT_SLOT, REPORT_ALL),
                ]
            steps += [
                Command(Cmd.OVERRIDE_PARAMETERS, {Parameter.URI: str(uri)}),
                Command(Cmd.FETCH, REPORT_ON_FAILURE),
            ]
            if digest is not None:
                steps.append(Command(Cmd.IMAGE_MATCH, REPORT_ALL))
            install += steps
        if c.get("bootable"):
            invoke += [*sel, Command(Cmd.INVOKE, REPORT_ON_FAILURE)]
        for lang, entry in _text(c.get("description"), ComponentTextKey, "components", i).items():
            text.setdefault(lang, {})[cid] = entry
    sequences: dict[int, Severable] = {}
    for key, seq in (
        (ManifestKey.VALIDATE, validate),
        (ManifestKey.INVOKE, invoke),
        (ManifestKey.INSTALL, install),
    ):
        if seq:
            sequences[key] = tuple(seq)
    common = Common(tuple(ids), tuple(shared) if shared else None)
    ref = description.get("reference-uri")
    man = Manifest(seq_no, common, 1, str(ref) if ref is not None else None, sequences, text or None)
    return man, integrated


def _identity_params(c: Mapping[str, Any], i: int) -> dict[int, Any]:
    params: dict[int, Any] = {}
    vendor = None
    if "vendor-id" in c:
        vendor = uuid.UUID(bytes=_uuid_bytes(c["vendor-id"], "components", i, "vendor-id"))
    elif "vendor-domain" in c:
        vendor = vendor_id(str(c["vendor-domain"]))
    if vendor is not None:
        params[Parameter.VENDOR_IDENTIFIER] = vendor.bytes
    if "class-id" in c:
        params[Parameter.CLASS_IDENTIFIER] = _uuid_bytes(c["class-id"], "components", i, "class-id")
    elif "model-info" in c:
        if vendor is None:
            raise _err("model-info needs a vendor (vendor-id or vendor-domain)", "components", i)
        params[Parameter.CLASS_IDENTIFIER] = class_id(vendor, str(c["model-info"])).bytes
    if "device-id" in c:
        params[Parameter.DEVICE_IDENTIFIER] = _uuid_bytes(c["device-id"], "components", i, "device-id")
    return params


def _templates(
    description: Mapping[str, Any], comps: list[Any], images: Mapping[str, bytes]
) -> tuple[Manifest, dict[str, bytes]] | None:
    """The A/B-slot and download/install/load templates (:mod:`.templates`), when asked for."""
    from iotsec.core.suit import templates

    entries = [c for c in comps if isinstance(c, Mapping)]
    if len(entries) != len(comps):
        return None
    ab = len(entries) > 1 and all("slot" in c for c in entries)
    ab = ab and len({_component_id(c, i) for i, c in enumerate(entries)}) == 1
    dl = any("download-id" in c or "load-id" in c for c in entries)
    if not ab and not dl:
        return None
    if dl and len(entries) != 1:
        raise _err("download-id/load-id are supported for a single component entry", "components")

    def digest_of(c: Mapping[str, Any], i: int, prefix: str) -> tuple[Digest | None, int | None]:
        return _digest(c, images, i, prefix)

    cid = _component_id(entries[0], 0)
    if ab:
        ids, seqs, shared = templates.ab_images(entries, cid, _identity_params, digest_of)
    else:
        ids, seqs, shared = templates.download_install_load(entries[0], cid, _identity_params, digest_of)
    seq_no = _get(description, "manifest-sequence-number", "sequence-number")
    text = _text(description.get("description"), TextKey, "description")
    ref = description.get("reference-uri")
    sequences: dict[int, Severable] = dict(seqs)
    man = Manifest(
        seq_no, Common(tuple(ids), shared), 1, str(ref) if ref is not None else None, sequences, text or None
    )
    return man, {}


def sever(man: Manifest, keys: Sequence[int]) -> tuple[Manifest, dict[int, bytes]]:
    """§8.6: replace members by their SUIT_Digest; return the manifest and the envelope members."""
    sequences = dict(man.sequences)
    text = man.text
    moved: dict[int, bytes] = {}
    for key in keys:
        if key == ManifestKey.TEXT and isinstance(man.text, Mapping):
            raw = codec.encode_text(man.text)
            text = make_digest(cbor.dumps(raw))
            moved[key] = raw
        elif key in sequences and isinstance(sequences[key], tuple):
            raw = codec.encode_sequence(sequences[key])  # type: ignore[arg-type]
            sequences[key] = make_digest(cbor.dumps(raw))  # digest of the bstr-wrapped member
            moved[key] = raw
    return Manifest(
        man.sequence_number, man.common, man.version, man.reference_uri, sequences, text, man.extensions
    ), moved


def envelope_for(
    man: Manifest,
    *,
    severed: Mapping[int, bytes] | None = None,
    integrated: Mapping[str, bytes] | None = None,
) -> Envelope:
    """An unsigned envelope: the wrapper holds only the manifest digest (§8.3)."""
    manifest_bytes = codec.encode_manifest(man)
    digest = make_digest(cbor.dumps(manifest_bytes))
    severed = dict(severed or {})
    values = {k: codec.unwrap(v, ("severed", k)) for k, v in severed.items()}
    decoded = {
        k: (codec.decode_text(v, ()) if k == ManifestKey.TEXT else codec.decode_sequence(v, ()))
        for k, v in values.items()
    }
    for k, raw in severed.items():
        held = man.text if k == ManifestKey.TEXT else man.sequences.get(k)
        assert isinstance(held, Digest) and wrapped_digest(held, raw)
    return Envelope(man, manifest_bytes, Authentication(digest), severed, decoded, dict(integrated or {}))


def build(description: Mapping[str, Any], images: Mapping[str, bytes] | None = None) -> Envelope:
    """Description -> unsigned envelope (severed members and integrated payloads in place).

    Every problem with the description is a ValidationError (reason ``suit.description``).
    """
    if not isinstance(description, Mapping):
        raise _err("a description is a map")
    try:
        return _build(description, images)
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
        # a value of the wrong type somewhere in a hand-written description
        raise _err(f"invalid description: {type(exc).__name__}: {exc}") from exc


def _build(description: Mapping[str, Any], images: Mapping[str, bytes] | None) -> Envelope:
    man, integrated = build_manifest(description, images)
    keys: list[int] = []
    if description.get("severable"):
        keys = [ManifestKey.PAYLOAD_FETCH, ManifestKey.INSTALL, ManifestKey.TEXT]
    for name in description.get("sever") or []:
        if name not in _SEVER_NAMES:
            raise _err(f"cannot sever {name!r} (one of {sorted(_SEVER_NAMES)})", "sever")
        keys.append(_SEVER_NAMES[name])
    if description.get("include-json"):
        pass  # accepted for compatibility with the spec's example inputs; the source is not embedded
    man, moved = sever(man, keys)
    return envelope_for(man, severed=moved, integrated=integrated)


def load_description(text: str) -> dict[str, Any]:
    """Parse a description given as JSON (YAML is parsed by the caller, outside the pure core)."""
    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise ValidationError(f"description is not JSON: {exc}", reason="suit.description") from exc
    if not isinstance(obj, dict):
        raise ValidationError("a description is a map", reason="suit.description")
    return obj


__all__ = [
    "NAMESPACE_CBOR_PEN",
    "build",
    "build_manifest",
    "class_id",
    "envelope_for",
    "image_files",
    "load_description",
    "pen_class_namespace",
    "sever",
    "uuid5_bytes",
    "vendor_id",
]
