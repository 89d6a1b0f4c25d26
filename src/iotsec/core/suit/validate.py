"""Semantic checks of a decoded manifest (draft-ietf-suit-manifest §6.2, §8.4).

The codec checks types; this module checks what needs the whole manifest: component indices in
range, set-component-index first when there are several components (§6.2), no custom commands in
the shared sequence (§6.2, §8.4.8.16), text component ids declared in common (§8.4.4).
MUST violations raise :class:`~iotsec.errors.ValidationError` with a path; SHOULD violations come
back as warnings.
"""

from __future__ import annotations

from collections.abc import Mapping

from iotsec.core.suit.model import CommandSequence, Digest, Manifest
from iotsec.core.suit.registry import CONDITIONS, PARAMETER_ARGUMENT, ManifestKey, Parameter, label_name
from iotsec.core.suit.registry import Command as Cmd
from iotsec.errors import PathItem, ValidationError

_SHARED_ALLOWED = frozenset(
    {Cmd.SET_COMPONENT_INDEX, Cmd.RUN_SEQUENCE, Cmd.TRY_EACH, Cmd.OVERRIDE_PARAMETERS} | CONDITIONS
)


def _check_sequence(man: Manifest, seq: CommandSequence, path: tuple[PathItem, ...], shared: bool) -> None:
    n = len(man.components)
    if n > 1 and seq and seq[0].code != _SET_COMPONENT_INDEX:  # §6.2
        raise ValidationError(
            "with several components a command sequence must begin with set-component-index",
            reason="suit.index.first",
            path=path,
        )
    _check_commands(seq, path, n, shared, None)


def _check_commands(
    seq: CommandSequence, path: tuple[PathItem, ...], n: int, shared: bool, codes: set[int] | None
) -> None:
    """The per-command checks, in the order of a pre-order walk (nested sequences after their
    command); ``codes`` collects every code seen. Paths are built only for an error."""
    for j, cmd in enumerate(seq):
        code = cmd.code
        if codes is not None:
            codes.add(code)
        if code not in _CHECKED:  # conditions and directives: only the shared sequence rule applies
            if shared and code not in _SHARED_ALLOWED:
                raise ValidationError(
                    f"{label_name(Cmd, code)} is not allowed in the shared sequence",
                    reason="suit.shared.command",
                    path=(*path, j),
                )
            continue
        if code == _SET_COMPONENT_INDEX:
            idx = cmd.arg
            if type(idx) is int:
                if idx >= n:
                    raise ValidationError(
                        f"component index {idx} is out of range", reason="suit.index", path=(*path, j)
                    )
            elif idx is not True:  # True selects every component, all in range
                for i in idx if isinstance(idx, tuple) else (idx,):
                    if i >= n:
                        raise ValidationError(
                            f"component index {i} is out of range", reason="suit.index", path=(*path, j)
                        )
        elif code in PARAMETER_ARGUMENT:
            src = cmd.arg.get(_SOURCE_COMPONENT)
            if src is not None and src >= n:
                raise ValidationError(
                    f"source component {src} is out of range",
                    reason="suit.index",
                    path=(*path, j, "source-component"),
                )
            if shared:
                for k in cmd.arg:
                    if k < 0:  # §8.4.8.16: no custom parameters in the shared sequence
                        raise ValidationError(
                            "custom parameters are not allowed in the shared sequence",
                            reason="suit.shared.custom",
                            path=(*path, j),
                        )
        if shared and code not in _SHARED_ALLOWED:  # §6.2 / Appendix A SUIT_Shared_Sequence
            raise ValidationError(
                f"{label_name(Cmd, code)} is not allowed in the shared sequence",
                reason="suit.shared.command",
                path=(*path, j),
            )
        if code == _RUN_SEQUENCE:
            if isinstance(cmd.arg, tuple):
                _check_commands(cmd.arg, (*path, j, "run-sequence"), n, shared, codes)
        elif code == _TRY_EACH and isinstance(cmd.arg, tuple):
            for k, sub in enumerate(cmd.arg):
                if sub is not None:
                    _check_commands(sub, (*path, j, "try-each", k), n, shared, codes)


_SET_COMPONENT_INDEX = int(Cmd.SET_COMPONENT_INDEX)
_RUN_SEQUENCE = int(Cmd.RUN_SEQUENCE)
_TRY_EACH = int(Cmd.TRY_EACH)
_VENDOR_IDENTIFIER = int(Cmd.VENDOR_IDENTIFIER)
_CLASS_IDENTIFIER = int(Cmd.CLASS_IDENTIFIER)
_SOURCE_COMPONENT = int(Parameter.SOURCE_COMPONENT)
# the commands _check_commands looks at beyond the shared sequence rule
_CHECKED = frozenset({_SET_COMPONENT_INDEX, _RUN_SEQUENCE, _TRY_EACH} | PARAMETER_ARGUMENT)


def check_manifest(man: Manifest, sequences: Mapping[int, CommandSequence] | None = None) -> list[str]:
    """Raise ValidationError on MUST violations; return SHOULD warnings.

    ``sequences`` are the resolved command sequences (severed ones from the envelope); by default
    the manifest's inline ones.
    """
    warnings: list[str] = []
    common = man.common
    components = common.components
    if not components:
        raise ValidationError(
            "suit-components is required to process a manifest",
            reason="suit.missing",
            path=("manifest", "common", "components"),
        )
    shared = common.shared_sequence
    n = len(components)
    if shared is not None:
        path: tuple[PathItem, ...] = ("manifest", "common", "shared-sequence")
        if n > 1 and shared and shared[0].code != _SET_COMPONENT_INDEX:
            _check_sequence(man, shared, path, True)  # raises suit.index.first (§6.2)
        codes: set[int] = set()
        _check_commands(shared, path, n, True, codes)
        if _VENDOR_IDENTIFIER not in codes or _CLASS_IDENTIFIER not in codes:  # §6.2 SHOULD
            warnings.append("the shared sequence should check the vendor and class identifiers (§6.2)")
    else:
        warnings.append("no shared sequence: vendor and class identifiers are not checked (§6.2)")
    if sequences is None:
        sequences = {k: v for k, v in man.sequences.items() if not isinstance(v, Digest)}
    for key, seq in sequences.items():
        path = _SEQUENCE_PATHS.get(key) or ("manifest", label_name_key(key))
        if n > 1 and seq and seq[0].code != _SET_COMPONENT_INDEX:
            _check_sequence(man, seq, path, False)  # raises suit.index.first (§6.2)
        _check_commands(seq, path, n, False, None)
    text = man.text
    if text is not None and isinstance(text, Mapping):  # §8.4.4: text component ids must be in common
        for lang, entries in text.items():
            for k in entries:
                if isinstance(k, tuple) and k not in components:
                    raise ValidationError(
                        "text names a component that common does not list",
                        reason="suit.text.component",
                        path=("manifest", "text", lang),
                    )
    return warnings


def label_name_key(key: int) -> str:
    return label_name(ManifestKey, key)


_SEQUENCE_PATHS: dict[int, tuple[PathItem, ...]] = {
    int(k): ("manifest", label_name(ManifestKey, k)) for k in ManifestKey
}


__all__ = ["check_manifest"]
