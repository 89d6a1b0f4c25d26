"""Annotated CBOR diagnostic notation of a SUIT envelope, in the style of the spec's examples.

draft-ietf-suit-manifest Appendix B prints each example as diagnostic notation (RFC 8949 §8)
with ``/ name /`` comments for every label; :func:`show` produces the same text (up to white
space) from a decoded :class:`~iotsec.core.suit.model.Envelope`, plus severed members, integrated
payloads and unknown members, which it prints under their numbers.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from iotsec.core import cbor
from iotsec.core.cbor import CBORTag
from iotsec.core.suit.codec import component_name
from iotsec.core.suit.model import Command, CommandSequence, Digest, Envelope, Manifest
from iotsec.core.suit.registry import (
    CONDITIONS,
    ComponentTextKey,
    DigestAlg,
    ManifestKey,
    Parameter,
    TextKey,
    label_name,
)
from iotsec.core.suit.registry import Command as Cmd

_DIGEST_NAMES: dict[int, str] = {
    DigestAlg.SHA256: "sha256",
    DigestAlg.SHAKE128: "shake128",
    DigestAlg.SHA384: "sha384",
    DigestAlg.SHA512: "sha512",
    DigestAlg.SHAKE256: "shake256",
}
# IANA "COSE Algorithms" names of the algorithms SUIT profiles use (draft-ietf-suit-mti)
_COSE_ALGS = {
    -7: "ES256",
    -9: "ESP256",
    -8: "EdDSA",
    -19: "Ed25519",
    -35: "ES384",
    -36: "ES512",
    -46: "HSS-LMS",
    4: "HMAC 256/64",
    5: "HMAC 256/256",
    6: "HMAC 384/384",
    7: "HMAC 512/512",
}
_COSE_HEADERS = {1: "alg", 2: "crit", 3: "content type", 4: "kid", 5: "IV", 6: "Partial IV"}
_PARAM_NAMES: dict[int, str] = {
    Parameter.VENDOR_IDENTIFIER: "vendor-id",
    Parameter.CLASS_IDENTIFIER: "class-id",
    Parameter.DEVICE_IDENTIFIER: "device-id",
    Parameter.COMPONENT_SLOT: "slot",
    Parameter.INVOKE_ARGS: "invoke-args",
}
_SEQ_NAMES: dict[int, str] = {
    ManifestKey.VALIDATE: "validate",
    ManifestKey.LOAD: "load",
    ManifestKey.INVOKE: "invoke",
    ManifestKey.PAYLOAD_FETCH: "payload-fetch",
    ManifestKey.INSTALL: "install",
    ManifestKey.DEPENDENCY_RESOLUTION: "dependency-resolution",
    ManifestKey.CANDIDATE_VERIFICATION: "candidate-verification",
    ManifestKey.UNINSTALL: "uninstall",
}
IND = "    "


def value(v: Any) -> str:
    """Plain diagnostic notation of a decoded CBOR value."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, bytes):
        return f"h'{v.hex()}'"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{value(k)}:{value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, CBORTag):
        return f"{v.tag}({value(v.value)})"
    return repr(v)


def _digest(d: Digest, ind: str) -> str:
    alg = _DIGEST_NAMES.get(d.alg)
    alg_s = f"{d.alg} / {json.dumps(alg)} /" if alg else str(d.alg)
    extra = "".join(f",\n{ind}{IND}{value(x)}" for x in d.extra)
    body = f"{ind}{IND}/ algorithm-id / {alg_s},\n{ind}{IND}/ digest-bytes / h'{d.value.hex()}'"
    return f"[\n{body}{extra}\n{ind}]"


def _param(k: int, v: Any, ind: str, components: tuple[tuple[bytes, ...], ...]) -> str:
    name = _PARAM_NAMES.get(k) or label_name(Parameter, k)
    if k == Parameter.IMAGE_DIGEST and isinstance(v, Digest):
        return f"/ {name} / {k}:<< {_digest(v, ind)} >>"
    text = f"/ {name} / {k}:{value(v)}"
    if k in (Parameter.VENDOR_IDENTIFIER, Parameter.CLASS_IDENTIFIER, Parameter.DEVICE_IDENTIFIER) and (
        isinstance(v, bytes) and len(v) == 16
    ):
        text += f" / {uuid.UUID(bytes=v)} /"
    if k == Parameter.SOURCE_COMPONENT and isinstance(v, int) and v < len(components):
        text += f" / {component_name(components[v])} /"
    return text


def _command_name(code: int) -> str:
    name = label_name(Cmd, code)
    if name.isdigit() or name.startswith("-") or name == "custom":
        return f"command-{name}" if name != "custom" else "command-custom"
    return ("condition-" if code in CONDITIONS else "directive-") + name


def sequence(seq: CommandSequence, ind: str, components: tuple[tuple[bytes, ...], ...]) -> str:
    """A command sequence as the spec prints it: ``/ directive-fetch / 21,2``."""
    lines = []
    inner = ind + IND
    for c in seq:
        lines.append(inner + _command(c, inner, components))
    return "[\n" + ",\n".join(lines) + f"\n{ind}]"


def _command(c: Command, ind: str, components: tuple[tuple[bytes, ...], ...]) -> str:
    head = f"/ {_command_name(c.code)} / {c.code},"
    arg = c.arg
    if c.code in (Cmd.OVERRIDE_PARAMETERS, Cmd.SET_PARAMETERS) and isinstance(arg, Mapping):
        items = [ind + IND + _param(k, v, ind + IND, components) for k, v in sorted(arg.items(), key=_key)]
        return head + "{\n" + ",\n".join(items) + f"\n{ind}}}"
    if c.code == Cmd.RUN_SEQUENCE and isinstance(arg, tuple):
        return head + "<< " + sequence(arg, ind, components) + " >>"
    if c.code == Cmd.TRY_EACH and isinstance(arg, tuple):
        subs = [
            ind + IND + ("null" if s is None else "<< " + sequence(s, ind + IND, components) + " >>")
            for s in arg
        ]
        return head + "[\n" + ",\n".join(subs) + f"\n{ind}]"
    return head + value(list(arg) if isinstance(arg, tuple) else arg)


def _key(item: tuple[Any, Any]) -> bytes:
    return cbor.dumps(item[0])


def _text(text: Mapping[str, Mapping[Any, Any]], ind: str) -> str:
    langs = []
    for lang, entries in text.items():
        items = []
        for k, v in sorted(entries.items(), key=_key):
            if isinstance(k, tuple):
                sub = [
                    f"{ind}{IND * 3}/ {label_name(ComponentTextKey, ck)} / {ck}:{value(cv)}"
                    for ck, cv in sorted(v.items(), key=_key)
                ]
                items.append(
                    f"{ind}{IND * 2}{component_name(k)}:{{\n" + ",\n".join(sub) + f"\n{ind}{IND * 2}}}"
                )
            else:
                items.append(f"{ind}{IND * 2}/ {label_name(TextKey, k)} / {k}:{value(v)}")
        langs.append(f"{ind}{IND}{json.dumps(lang)}:{{\n" + ",\n".join(items) + f"\n{ind}{IND}}}")
    return "{\n" + ",\n".join(langs) + f"\n{ind}}}"


def manifest(man: Manifest, ind: str = "") -> str:
    """The manifest map with names."""
    i1, i2 = ind + IND, ind + IND * 2
    comps = man.components
    parts = [
        f"{i1}/ manifest-version / 1:{man.version}",
        f"{i1}/ manifest-sequence-number / 2:{man.sequence_number}",
    ]
    common = []
    if man.common.dependencies is not None:
        common.append(f"{i2}/ dependencies / 1:{value(man.common.dependencies)}")
    if comps:
        clist = ",\n".join(f"{i2}{IND}{value(list(c))}" for c in comps)
        common.append(f"{i2}/ components / 2:[\n{clist}\n{i2}]")
    if man.common.shared_sequence is not None:
        common.append(
            f"{i2}/ shared-sequence / 4:<< " + sequence(man.common.shared_sequence, i2, comps) + " >>"
        )
    common += [f"{i2}{k}:{value(v)}" for k, v in man.common.extensions.items()]
    parts.append(f"{i1}/ common / 3:<< {{\n" + ",\n".join(common) + f"\n{i1}}} >>")
    if man.reference_uri is not None:
        parts.append(f"{i1}/ reference-uri / 4:{value(man.reference_uri)}")
    members: list[tuple[int, str]] = []
    for k, s in man.sequences.items():
        body = _digest(s, i1) if isinstance(s, Digest) else "<< " + sequence(s, i1, comps) + " >>"
        members.append((k, f"{i1}/ {_SEQ_NAMES.get(k, str(k))} / {k}:{body}"))
    if man.text is not None:
        body = _digest(man.text, i1) if isinstance(man.text, Digest) else "<< " + _text(man.text, i1) + " >>"
        members.append((ManifestKey.TEXT, f"{i1}/ text / 23:{body}"))
    for k, v in man.extensions.items():
        members.append((k, f"{i1}{k}:{value(v)}"))
    parts += [text for _, text in sorted(members, key=lambda m: cbor.dumps(m[0]))]
    return "{\n" + ",\n".join(parts) + f"\n{ind}}}"


def _cose_block(block: bytes, ind: str) -> str:
    obj = cbor.loads(block)
    i1 = ind + IND
    if not (isinstance(obj, CBORTag) and isinstance(obj.value, list) and len(obj.value) == 4):
        return value(obj)
    prot_raw, unprot, payload, sig = obj.value
    prot = cbor.loads(prot_raw) if prot_raw else {}

    def header(h: Mapping[Any, Any], i: str) -> str:
        if not h:
            return "{\n" + i + "}"
        rows = []
        for k, v in h.items():
            name = _COSE_HEADERS.get(k, str(k))
            alg = f" / {json.dumps(_COSE_ALGS[v])} /" if k == 1 and v in _COSE_ALGS else ""
            rows.append(f"{i}{IND}/ {name} / {k}:{value(v)}{alg}")
        return "{\n" + ",\n".join(rows) + f"\n{i}}}"

    last = "tag" if obj.tag == 17 else "signature"
    return (
        f"{obj.tag}([\n{i1}/ protected / << {header(prot, i1)} >>,\n"
        f"{i1}/ unprotected / {header(unprot, i1)},\n"
        f"{i1}/ payload / {value(payload)}{' / nil /' if payload is None else ''},\n"
        f"{i1}/ {last} / {value(sig)}\n{ind}])"
    )


def show(env: Envelope) -> str:
    """The whole envelope as annotated diagnostic notation (like draft-ietf-suit-manifest App. B)."""
    if env.authentication is None and env.manifest.tagged and not env.severed and not env.integrated:
        return f"1070({manifest(env.manifest)})"  # a bare SUIT_Manifest_Tagged
    i1, i2 = IND, IND * 2
    parts = []
    if env.authentication is not None:
        auth = [f"{i2}/ digest: / << " + _digest(env.authentication.digest, i2) + " >>"]
        for b in env.authentication.blocks:
            auth.append(f"{i2}/ signature: / << " + _cose_block(b, i2) + " >>")
        parts.append(f"{i1}/ authentication-wrapper / 2:<< [\n" + ",\n".join(auth) + f"\n{i1}] >>")
    parts.append(f"{i1}/ manifest / 3:<< " + manifest(env.manifest, i1) + " >>")
    comps = env.manifest.components
    for k, v in sorted(env.severed_values.items()):
        name = "text" if k == ManifestKey.TEXT else _SEQ_NAMES.get(k, str(k))
        body = _text(v, i1) if k == ManifestKey.TEXT else sequence(v, i1, comps)
        parts.append(f"{i1}/ {name} / {k}:<< {body} >>")
    for k2, v2 in env.extensions.items():
        parts.append(f"{i1}{k2}:{value(v2)}")
    for uri, payload in env.integrated.items():
        parts.append(
            f"{i1}/ integrated payload / {json.dumps(uri)}:h'{payload[:32].hex()}"
            + ("..." if len(payload) > 32 else "")
            + f"' / {len(payload)} bytes /"
        )
    body = "{\n" + ",\n".join(parts) + "\n}"
    return f"107({body})" if env.tagged else body


__all__ = ["manifest", "sequence", "show", "value"]
