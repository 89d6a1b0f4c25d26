"""Human-readable CBOR diagnostic notation of COSE messages (RFC 8949 §8, RFC 8610 appendix G).

:func:`describe` renders a COSE message with its parts named in comments, header labels and
algorithm values named after the IANA registries, and the protected bucket shown decoded as
embedded CBOR (``<< {...} >>``)::

    18(  / COSE_Sign1 /
      [
        / protected / << {
          / alg / 1: -7 / ES256 /
        } >>,
        / unprotected / {
          / kid / 4: h'3131' / "11" /
        },
        / payload / h'5468...',
        / signature / h'8eb3...'
      ]
    )

Input that is not a COSE message (or is malformed in its structure) is rendered as plain
diagnostic notation; input that is not CBOR raises :class:`~iotsec.errors.DecodeError`.
"""

from __future__ import annotations

from typing import Any

import cbor_diag

from iotsec.core import cbor
from iotsec.core.cose._common import COSE_TAGS, TAG_MAC, TAG_MAC0, TAG_SIGN, TAG_SIGN1
from iotsec.core.cose.algorithms import Algorithm, Curve, KeyType
from iotsec.core.cose.headers import HeaderLabel, header_name
from iotsec.errors import DecodeError, IotSecError

_PARTS = {
    TAG_SIGN1: ("protected", "unprotected", "payload", "signature"),
    TAG_SIGN: ("protected", "unprotected", "payload", "signatures"),
    TAG_MAC0: ("protected", "unprotected", "payload", "tag"),
    TAG_MAC: ("protected", "unprotected", "payload", "tag", "recipients"),
    16: ("protected", "unprotected", "ciphertext"),
    96: ("protected", "unprotected", "ciphertext", "recipients"),
}
_KEY_LABELS = {1: "kty", 2: "kid", 3: "alg", 4: "key_ops", 5: "Base IV"}
_KEY_LABELS_CURVE = {-1: "crv", -2: "x", -3: "y", -4: "d"}


def _comment(text: str) -> str:
    """An EDN comment; "/" ends a comment, so it is shown as U+2215 DIVISION SLASH."""
    return f" / {text.replace('/', chr(0x2215))} /"


def _plain(value: Any) -> str:
    try:
        return str(cbor_diag.cbor2diag(cbor.dumps(value), pretty=False))
    except (IotSecError, ValueError, TypeError):  # decoded but not re-encodable: show it as Python does
        return repr(value)


def _text_hint(value: Any) -> str:
    if isinstance(value, bytes) and value:
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            return ""
        if text.isprintable():
            return _comment(f'"{text}"')
    return ""


def _alg_hint(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return _comment(Algorithm(value).iana_name)
        except ValueError:
            return ""
    return ""


def _key_map(m: dict[Any, Any], indent: str) -> str:
    kty = m.get(1)
    lines = []
    for k, v in m.items():
        name = _KEY_LABELS.get(k) if isinstance(k, int) and k > 0 else None
        if name is None and isinstance(k, int) and kty in (KeyType.EC2, KeyType.OKP):
            name = _KEY_LABELS_CURVE.get(k)
        elif name is None and k == -1 and kty == KeyType.SYMMETRIC:
            name = "k"
        hint = ""
        if k == 1 and isinstance(v, int):
            hint = _comment(KeyType(v).name) if v in KeyType._value2member_map_ else ""
        elif k == -1 and kty in (KeyType.EC2, KeyType.OKP) and isinstance(v, int):
            hint = _comment(Curve(v).jwk_name) if v in Curve._value2member_map_ else ""
        elif k == 3:
            hint = _alg_hint(v)
        prefix = f"/ {name} / " if name else ""
        lines.append(f"{indent}  {prefix}{_plain(k)}: {_plain(v)}{hint}")
    return "{\n" + ",\n".join(lines) + f"\n{indent}}}"


def headers_diag(m: Any, indent: str = "") -> str:
    """A header map with names (``/ alg / 1: -7 / ES256 /``)."""
    if not isinstance(m, dict):
        return _plain(m)
    if not m:
        return "{}"
    lines = []
    for label, value in m.items():
        named = header_name(label)
        prefix = f"/ {named} / " if named != str(label) else ""
        if label in (HeaderLabel.EPHEMERAL_KEY, HeaderLabel.STATIC_KEY) and isinstance(value, dict):
            rendered = _key_map(value, indent + "  ")
        else:
            rendered = _plain(value)
        hint = _alg_hint(value) if label == HeaderLabel.ALG else ""
        if label in (HeaderLabel.KID, HeaderLabel.STATIC_KEY_ID):
            hint = _text_hint(value)
        lines.append(f"{indent}  {prefix}{_plain(label)}: {rendered}{hint}")
    return "{\n" + ",\n".join(lines) + f"\n{indent}}}"


def _protected_diag(value: Any, indent: str) -> str:
    if isinstance(value, bytes) and value:
        try:
            inner = cbor.loads(value)
        except DecodeError:
            return _plain(value)
        return f"<< {headers_diag(inner, indent)} >>"
    return _plain(value)


def _layer(items: list[Any], parts: tuple[str, ...], indent: str) -> str:
    out = []
    for i, (part, value) in enumerate(zip(parts, items, strict=False)):
        if part == "protected":
            rendered = _protected_diag(value, indent + "  ")
        elif part == "unprotected":
            rendered = headers_diag(value, indent + "  ")
        elif part in ("signatures", "recipients") and isinstance(value, list):
            sub = (
                ("protected", "unprotected", "signature")
                if part == "signatures"
                else ("protected", "unprotected", "ciphertext", "recipients")
            )
            inner = [
                f"{indent}    {_layer(x, sub, indent + '    ')}" if isinstance(x, list) else _plain(x)
                for x in value
            ]
            rendered = "[\n" + ",\n".join(inner) + f"\n{indent}  ]"
        else:
            rendered = _plain(value)
        comma = "," if i < len(items) - 1 else ""
        out.append(f"{indent}  / {part} / {rendered}{comma}")
    for extra in items[len(parts) :]:
        out.append(f"{indent}  {_plain(extra)}")
    return "[\n" + "\n".join(out) + f"\n{indent}]"


def _guess_tag(item: list[Any]) -> int | None:
    if len(item) == 5:
        return TAG_MAC
    if len(item) == 4:
        return TAG_SIGN if isinstance(item[3], list) else TAG_SIGN1
    if len(item) == 3:
        return 16
    return None


TAG_CWT = 61  # RFC 8392 §6: optional CWT tag around a COSE message


def describe(data: bytes) -> str:
    """Diagnostic notation of ``data`` with COSE parts and header names annotated.

    A CWT tag (61) around a COSE message is shown too. Input with duplicate map keys is shown
    as plain diagnostic notation (a decoded view would hide the duplicates).
    """
    try:
        item = cbor.loads(data)
    except DecodeError as exc:
        if exc.reason == "cbor.duplicate_key":
            return cbor.to_diag(data)
        raise
    if (
        isinstance(item, cbor.CBORTag)
        and item.tag == TAG_CWT
        and isinstance(item.value, cbor.CBORTag)
        and item.value.tag in COSE_TAGS
        and isinstance(item.value.value, list)
    ):
        inner = item.value
        body = _layer(inner.value, _PARTS[inner.tag], "    ")
        return f"61(  / CWT /\n  {inner.tag}(  / {COSE_TAGS[inner.tag]} /\n    {body}\n  )\n)"
    tag = None
    if isinstance(item, cbor.CBORTag) and item.tag in COSE_TAGS:
        tag, body = item.tag, item.value
    else:
        body = item
        if isinstance(item, list):
            tag = _guess_tag(item)
            if tag is not None:
                title = COSE_TAGS[tag] if tag != TAG_SIGN1 else "COSE_Sign1 or COSE_Mac0"
                return f"/ untagged, looks like {title} /\n" + _layer(item, _PARTS[tag], "")
    if tag is None or not isinstance(body, list):
        return str(cbor_diag.cbor2diag(data))
    return f"{tag}(  / {COSE_TAGS[tag]} /\n  " + _layer(body, _PARTS[tag], "  ") + "\n)"


__all__ = ["describe", "headers_diag"]
