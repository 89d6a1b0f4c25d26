"""Validation of encoded envelopes against draft-ietf-suit-manifest's CDDL with pycddl.

pycddl (cddl-rs 0.6) cannot compile or apply parts of the draft's CDDL as written. The spec's
text is used with these mechanical rewrites, made here in memory (the vector file is unchanged):

* the command-group rules (``SUIT_Condition //= (code, arg)``...) are dropped and the two sequence
  rules become ``[ + any ]``: cddl-rs cannot match arrays of repeated two-element group choices
  (command sequences are therefore NOT checked by pycddl; the codec checks them);
* the ``$$SUIT_Digest-extensions`` socket is dropped (cddl-rs rejects it inside an array);
* the member groups of the envelope and manifest maps are inlined where used (cddl-rs fails to
  match a group reference that follows an optional member);
* ``X /= a`` type choices are merged into ``X = a / b`` (cddl-rs only tries the first);
* ``SUIT_Rep_Policy = uint .bits ...`` becomes ``0..15`` (``.bits`` on a bit-name group is not
  implemented);
* a severable member ``SUIT_Digest / bstr .cbor X`` becomes ``SUIT_Digest / bstr`` (cddl-rs
  applies ``.cbor`` to the array alternative too);
* ``SUIT_Text_LMap`` becomes ``{ * any => any }``: cddl-rs cannot match array-valued map keys
  (component ids); the codec checks text maps;
* ``tag38-ltag`` loses its ``.regexp`` (cddl-rs applies it to the map, not the key; the codec
  checks language tags);
* ``SUIT_Authentication`` becomes ``[ + bstr ]`` and its items are checked one by one (cddl-rs
  applies the first member's type to every later item of ``[ A, * B ]``).

What remains is the spec's CDDL for the envelope, the manifest, common, components, the
reference URI, inline text, integrated payloads, SUIT_Digest and the COSE blocks (RFC 9052
stubs in cddl/cose-stub.cddl).
"""

from __future__ import annotations

import re
from pathlib import Path

import pycddl

from iotsec.core import cbor

STUB = Path(__file__).parent / "cddl" / "cose-stub.cddl"
_GROUP = re.compile(r"^(SUIT_Condition|SUIT_Directive|SUIT_Shared_Commands) //= \((.*?)\)\s*$", re.M | re.S)
_CUSTOM = re.compile(r"^SUIT_Command_Custom = \((.*?)\)\s*$", re.M | re.S)
_TYPE_CHOICE = re.compile(r"^([\w-]+) /= (.+)$", re.M)

Schemas = tuple[pycddl.Schema, pycddl.Schema, pycddl.Schema]


def _merge_type_choices(text: str) -> str:
    choices: dict[str, list[str]] = {}
    for m in _TYPE_CHOICE.finditer(text):
        choices.setdefault(m.group(1), []).append(m.group(2).strip())
    text = _TYPE_CHOICE.sub("", text)
    return text + "\n" + "\n".join(f"{k} = {' / '.join(v)}" for k, v in choices.items()) + "\n"


def rewrite(manifest_cddl: str) -> str:
    """The draft's CDDL with the rewrites listed in the module docstring."""
    text = _GROUP.sub("", manifest_cddl)
    text = _CUSTOM.sub("", text)
    text = text.replace(",\n  * $$SUIT_Digest-extensions", "")
    text = re.sub(
        r"SUIT_Command_Sequence = \[ \+ \(.*?\) \]", "SUIT_Command_Sequence = [ + any ]", text, flags=re.S
    )
    text = re.sub(
        r"SUIT_Shared_Sequence = \[\s*\+ \(.*?\)\s*\]", "SUIT_Shared_Sequence = [ + any ]", text, flags=re.S
    )
    for name in (
        "SUIT_Severable_Manifest_Members",
        "SUIT_Unseverable_Members",
        "SUIT_Severable_Members_Choice",
    ):
        rule = re.search(rf"^{name} = \(\n(.*?)\n\)", text, re.M | re.S)
        assert rule is not None, name
        body = rule.group(1).rstrip().rstrip(",")
        text = text.replace(rule.group(0), "")
        text = re.sub(rf"^(\s*){name},$", lambda m: body + ",", text, flags=re.M)  # noqa: B023
    text = _merge_type_choices(text)
    text = re.sub(r"SUIT_Authentication = \[.*?\n\]", "SUIT_Authentication = [ + bstr ]", text, flags=re.S)
    text = re.sub(r"SUIT_Digest /\s*bstr \.cbor \w+", "SUIT_Digest / bstr", text)
    text = re.sub(r"SUIT_Text_LMap = \{.*?\n\}\n", "SUIT_Text_LMap = { * any => any }\n", text, flags=re.S)
    text = text.replace('tag38-ltag = text .regexp "[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*"', "tag38-ltag = text")
    return text.replace("SUIT_Rep_Policy = uint .bits suit-reporting-bits", "SUIT_Rep_Policy = 0..15")


def schemas(manifest_cddl: str) -> Schemas:
    """(envelope, bstr-wrapped SUIT_Digest, COSE block) schemas."""
    text = STUB.read_text() + "\n" + rewrite(manifest_cddl)
    envelope = pycddl.Schema(text)
    digest = pycddl.Schema("suit-test-digest = bstr .cbor SUIT_Digest\n" + text)
    cose = pycddl.Schema(
        "suit-test-cose = COSE_Sign1_Tagged / COSE_Mac0_Tagged / COSE_Sign_Tagged / COSE_Mac_Tagged\n" + text
    )
    return envelope, digest, cose


def validate_envelope(schema: Schemas, blob: bytes) -> None:
    """Validate an encoded envelope and each item of its authentication wrapper."""
    envelope, digest, cose = schema
    envelope.validate_cbor(blob)
    obj = cbor.loads(blob)
    m = obj.value if hasattr(obj, "value") else obj
    auth = cbor.loads(m[2])
    digest.validate_cbor(cbor.dumps(auth[0]))
    for block in auth[1:]:
        cose.validate_cbor(block)
