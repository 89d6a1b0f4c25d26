"""Test helpers: realize a spec example with real image digests; wrap a manifest in an envelope."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

from suit_vectors import IMAGE_A, IMAGE_B, SAMPLE_A, SAMPLE_B, SIZE_A, SIZE_B

from iotsec.core.suit import codec
from iotsec.core.suit.builder import envelope_for, sever
from iotsec.core.suit.model import Command, CommandSequence, Common, Digest, Envelope, Manifest
from iotsec.core.suit.registry import Command as Cmd
from iotsec.core.suit.registry import Parameter


def _subst_params(params: dict[int, Any], images: dict[bytes, bytes]) -> dict[int, Any]:
    out = dict(params)
    d = out.get(Parameter.IMAGE_DIGEST)
    if isinstance(d, Digest) and d.value in images:
        data = images[d.value]
        out[Parameter.IMAGE_DIGEST] = Digest(d.alg, hashlib.sha256(data).digest())
        if Parameter.IMAGE_SIZE in out:
            out[Parameter.IMAGE_SIZE] = len(data)
    return out


def subst(seq: CommandSequence, images: dict[bytes, bytes]) -> CommandSequence:
    out = []
    for c in seq:
        arg = c.arg
        if c.code in (Cmd.OVERRIDE_PARAMETERS, Cmd.SET_PARAMETERS):
            arg = _subst_params(arg, images)
        elif c.code == Cmd.TRY_EACH:
            arg = tuple(None if s is None else subst(s, images) for s in arg)
        elif c.code == Cmd.RUN_SEQUENCE:
            arg = subst(arg, images)
        out.append(Command(c.code, arg))
    return tuple(out)


def realize(env: Envelope, images: dict[bytes, bytes] | None = None) -> Envelope:
    """The example with its sample digests replaced by those of real images (unsigned)."""
    images = images or {SAMPLE_A: IMAGE_A, SAMPLE_B: IMAGE_B}
    man = env.manifest
    shared = man.common.shared_sequence
    common = replace(man.common, shared_sequence=None if shared is None else subst(shared, images))
    seqs: dict[int, Any] = {}
    severed_keys = []
    for k, s in man.sequences.items():
        if isinstance(s, Digest):
            seqs[k] = subst(env.severed_values[k], images)
            severed_keys.append(k)
        else:
            seqs[k] = subst(s, images)
    text = man.text
    if isinstance(text, Digest):
        text = env.severed_values[23]
        severed_keys.append(23)
    new = Manifest(man.sequence_number, common, man.version, man.reference_uri, seqs, text, man.extensions)
    new, moved = sever(new, severed_keys)
    return envelope_for(new, severed=moved, integrated=env.integrated)


def wrap(man: Manifest, integrated: dict[str, bytes] | None = None) -> Envelope:
    """An unsigned envelope around ``man`` (authenticated=True processing checks its digest)."""
    return envelope_for(man, integrated=integrated)


def manifest(
    components: list[tuple[bytes, ...]],
    seq_no: int = 1,
    shared: CommandSequence | None = None,
    **sequences: CommandSequence,
) -> Manifest:
    from iotsec.core.suit.registry import ManifestKey

    keys = {
        "install": ManifestKey.INSTALL,
        "validate": ManifestKey.VALIDATE,
        "load": ManifestKey.LOAD,
        "invoke": ManifestKey.INVOKE,
        "payload_fetch": ManifestKey.PAYLOAD_FETCH,
    }
    return Manifest(
        seq_no, Common(tuple(components), shared), sequences={keys[k]: v for k, v in sequences.items()}
    )


def roundtrip(env: Envelope) -> Envelope:
    return codec.decode(codec.encode(env), allow_unsigned=True)


SIZES = (SIZE_A, SIZE_B)
