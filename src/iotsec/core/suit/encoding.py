"""Deterministic encoding of the SUIT model (§8.1: canonical CBOR; RFC 8949 §4.2.1)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from iotsec.core import cbor
from iotsec.core.suit.digest import bstr_head
from iotsec.core.suit.model import (
    Authentication,
    Command,
    CommandSequence,
    Common,
    ComponentId,
    Digest,
    Envelope,
    Manifest,
    TextMap,
)
from iotsec.core.suit.registry import (
    TAG_ENVELOPE,
    TAG_MANIFEST,
    CommonKey,
    EnvelopeKey,
    ManifestKey,
    Parameter,
)
from iotsec.core.suit.registry import Command as Cmd


def digest_to_cbor(d: Digest) -> list[Any]:
    return [d.alg, d.value, *d.extra]


def encode_digest(d: Digest) -> bytes:
    """The encoded SUIT_Digest (what a COSE block in the wrapper signs, §8.3)."""
    alg, value = d.alg, d.value
    if not d.extra and type(alg) is int and -24 <= alg < 24 and type(value) is bytes:
        # [alg, bytes] with a one-byte alg (SHA-256 is -16): the bytes cbor.dumps writes
        return bytes((0x82, alg if alg >= 0 else 0x1F - alg)) + bstr_head(len(value)) + value
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


def command_offset(seq: CommandSequence, n: int) -> int:
    """Byte offset of command ``n`` in the encoded ``seq`` (SUIT_Record section offset)."""
    items = sequence_to_cbor(seq)
    pos = len(cbor.dumps(len(items)))  # the array head has the length of this uint's encoding
    for k in range(0, 2 * n, 2):
        pos += len(cbor.dumps(items[k])) + len(cbor.dumps(items[k + 1]))
    return pos


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
    "command_offset",
    "component_name",
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
]
