"""Semantic checks of a decoded manifest (draft-ietf-suit-manifest §6.2, §8.4).

The codec checks types; this module checks what needs the whole manifest: component indices in
range, set-component-index first when there are several components (§6.2), no custom commands in
the shared sequence (§6.2, §8.4.8.16), text component ids declared in common (§8.4.4).
MUST violations raise :class:`~iotsec.errors.ValidationError` with a path; SHOULD violations come
back as warnings.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from iotsec.core.suit.model import Command, CommandSequence, Digest, Manifest
from iotsec.core.suit.registry import CONDITIONS, Parameter, label_name
from iotsec.core.suit.registry import Command as Cmd
from iotsec.errors import PathItem, ValidationError

_SHARED_ALLOWED = frozenset(
    {Cmd.SET_COMPONENT_INDEX, Cmd.RUN_SEQUENCE, Cmd.TRY_EACH, Cmd.OVERRIDE_PARAMETERS} | CONDITIONS
)


def _walk(seq: CommandSequence, path: tuple[PathItem, ...]) -> Iterator[tuple[Command, tuple[PathItem, ...]]]:
    for n, cmd in enumerate(seq):
        p = (*path, n)
        yield cmd, p
        if cmd.code == Cmd.RUN_SEQUENCE and isinstance(cmd.arg, tuple):
            yield from _walk(cmd.arg, (*p, "run-sequence"))
        elif cmd.code == Cmd.TRY_EACH and isinstance(cmd.arg, tuple):
            for k, sub in enumerate(cmd.arg):
                if sub is not None:
                    yield from _walk(sub, (*p, "try-each", k))


def _check_sequence(man: Manifest, seq: CommandSequence, path: tuple[PathItem, ...], shared: bool) -> None:
    n = len(man.components)
    if n > 1 and seq and seq[0].code != Cmd.SET_COMPONENT_INDEX:  # §6.2
        raise ValidationError(
            "with several components a command sequence must begin with set-component-index",
            reason="suit.index.first",
            path=path,
        )
    for cmd, p in _walk(seq, path):
        if cmd.code == Cmd.SET_COMPONENT_INDEX:
            idx = cmd.arg
            indices = range(n) if idx is True else (idx if isinstance(idx, tuple) else (idx,))
            for i in indices:
                if i >= n:
                    raise ValidationError(f"component index {i} is out of range", reason="suit.index", path=p)
        elif cmd.code in (Cmd.OVERRIDE_PARAMETERS, Cmd.SET_PARAMETERS):
            src = cmd.arg.get(Parameter.SOURCE_COMPONENT)
            if src is not None and src >= n:
                raise ValidationError(
                    f"source component {src} is out of range",
                    reason="suit.index",
                    path=(*p, "source-component"),
                )
            if shared and any(k < 0 for k in cmd.arg):  # §8.4.8.16: not in the shared sequence
                raise ValidationError(
                    "custom parameters are not allowed in the shared sequence",
                    reason="suit.shared.custom",
                    path=p,
                )
        if shared and cmd.code not in _SHARED_ALLOWED:  # §6.2 / Appendix A SUIT_Shared_Sequence
            raise ValidationError(
                f"{label_name(Cmd, cmd.code)} is not allowed in the shared sequence",
                reason="suit.shared.command",
                path=p,
            )


def check_manifest(man: Manifest, sequences: Mapping[int, CommandSequence] | None = None) -> list[str]:
    """Raise ValidationError on MUST violations; return SHOULD warnings.

    ``sequences`` are the resolved command sequences (severed ones from the envelope); by default
    the manifest's inline ones.
    """
    warnings: list[str] = []
    if not man.components:
        raise ValidationError(
            "suit-components is required to process a manifest",
            reason="suit.missing",
            path=("manifest", "common", "components"),
        )
    shared = man.common.shared_sequence
    if shared is not None:
        _check_sequence(man, shared, ("manifest", "common", "shared-sequence"), True)
        codes = {c.code for c, _ in _walk(shared, ())}
        if Cmd.VENDOR_IDENTIFIER not in codes or Cmd.CLASS_IDENTIFIER not in codes:  # §6.2 SHOULD
            warnings.append("the shared sequence should check the vendor and class identifiers (§6.2)")
    else:
        warnings.append("no shared sequence: vendor and class identifiers are not checked (§6.2)")
    if sequences is None:
        sequences = {k: v for k, v in man.sequences.items() if not isinstance(v, Digest)}
    for key, seq in sequences.items():
        _check_sequence(man, seq, ("manifest", label_name_key(key)), False)
    if isinstance(man.text, Mapping):  # §8.4.4: text component ids must be in common
        for lang, entries in man.text.items():
            for k in entries:
                if isinstance(k, tuple) and k not in man.components:
                    raise ValidationError(
                        "text names a component that common does not list",
                        reason="suit.text.component",
                        path=("manifest", "text", lang),
                    )
    return warnings


def label_name_key(key: int) -> str:
    from iotsec.core.suit.registry import ManifestKey

    return label_name(ManifestKey, key)


__all__ = ["check_manifest"]
