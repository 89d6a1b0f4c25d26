"""Builder options of the companion drafts, on top of :mod:`iotsec.core.suit.builder`.

Extra description keys (all optional)::

    use-before: 1798761600            # update-management §4.1/§5.1, checked first in install
    minimum-battery: 500              # §4.2/§5.3, mWh
    update-priority: 10               # §4.3; with require-consent, §5.4 update-authorized
    require-consent: true
    wait: {time-of-day-utc: 7200}     # §4.5/§5.6, event names of update_mgmt.WaitEvent
    set-version: 1.3.0                # §3.1 suit-set-version (constrained semver)
    components:
      - component-id: [app]
        version-required: [">=", "1.2.0"]    # §4.4/§5.5, checked before install
        encrypted: {info: app.info}          # firmware-encryption §4.2: the image at uri is
                                             #   encrypted; info names the SUIT_Encryption_Info file

An encrypted component follows the draft's "fetch + copy" example (§4.2, §9.2): the ciphertext is
fetched into a staging component ``<id> + ['encrypted']``, then copied into the component with
suit-parameter-encryption-info and source-component, and the plaintext is checked with image-match.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from iotsec.core.suit import builder
from iotsec.core.suit.model import Command, Envelope, Manifest
from iotsec.core.suit.registry import Command as Cmd
from iotsec.core.suit.registry import ManifestKey, Parameter
from iotsec.core.suit.update_mgmt import Comparison, WaitEvent, encode_version_match, parse_semver
from iotsec.errors import ValidationError

REPORT_ALL = builder.REPORT_ALL
_CMP = {
    ">": Comparison.GREATER,
    ">=": Comparison.GREATER_EQUAL,
    "=": Comparison.EQUAL,
    "<=": Comparison.LESSER_EQUAL,
    "<": Comparison.LESSER,
}
STAGING_SEGMENT = "encrypted"


def _err(msg: str, *path: str | int) -> ValidationError:
    return ValidationError(msg, reason="suit.description", path=("description", *path))


def _staging(comp: Mapping[str, Any]) -> dict[str, Any]:
    if "component-id" in comp:
        return {"component-id": [*comp["component-id"], STAGING_SEGMENT]}
    if "install-id" in comp:
        return {"install-id": [*comp["install-id"], STAGING_SEGMENT.encode().hex()]}
    raise _err("an encrypted component needs component-id or install-id", "components")


_TOP_KEYS = ("use-before", "minimum-battery", "update-priority", "require-consent", "wait", "set-version")
_COMPONENT_KEYS = ("encrypted", "version-required")


def uses_companions(description: Mapping[str, Any]) -> bool:
    """True when the description uses an option of this module (else the core builder suffices)."""
    comps = description.get("components")
    return any(k in description for k in _TOP_KEYS) or (
        isinstance(comps, list)
        and any(isinstance(c, Mapping) and any(k in c for k in _COMPONENT_KEYS) for c in comps)
    )


def extra_files(description: Mapping[str, Any]) -> list[str]:
    """Files named by the companion options (SUIT_Encryption_Info files), for the caller to read."""
    out = []
    for c in description.get("components") or []:
        enc = c.get("encrypted") if isinstance(c, Mapping) else None
        if isinstance(enc, Mapping) and isinstance(enc.get("info"), str):
            out.append(enc["info"])
    return out


def build_extended(description: Mapping[str, Any], images: Mapping[str, bytes] | None = None) -> Envelope:
    """Description -> unsigned envelope, with the companion options above."""
    images = dict(images or {})
    comps = list(description.get("components") or [])
    plain: list[dict[str, Any]] = []
    staged: list[tuple[int, bytes]] = []  # (component index, encryption info)
    extra: list[dict[str, Any]] = []
    for i, raw in enumerate(comps):
        if not isinstance(raw, Mapping):
            raise _err("a component is a map", "components", i)
        c = dict(raw)
        enc = c.pop("encrypted", None)
        c.pop("version-required", None)
        if enc is not None:
            name = enc.get("info") if isinstance(enc, Mapping) else None
            if not isinstance(name, str) or name not in images:
                raise _err("encrypted.info names the SUIT_Encryption_Info file", "components", i, "encrypted")
            uri = c.pop("uri", None)
            if uri is None:
                raise _err("an encrypted component needs the uri of its ciphertext", "components", i)
            extra.append({**_staging(c), "uri": uri})
            staged.append((i, images[name]))
        plain.append(c)
    desc = {**description, "components": plain + extra}
    man, integrated = builder.build_manifest(desc, images)
    many = len(man.components) > 1
    pre: list[Command] = []
    for i, c in enumerate(comps):
        req = c.get("version-required") if isinstance(c, Mapping) else None
        if req is not None:
            if not (isinstance(req, list) and len(req) == 2 and req[0] in _CMP):
                raise _err('version-required is [op, "x.y.z"]', "components", i, "version-required")
            pre += [
                *([Command(Cmd.SET_COMPONENT_INDEX, i)] if many else []),
                Command(
                    Cmd.OVERRIDE_PARAMETERS,
                    {Parameter.VERSION: encode_version_match(_CMP[req[0]], parse_semver(str(req[1])))},
                ),
                Command(Cmd.VERSION, REPORT_ALL),
            ]
    pre = _update_conditions(description, many) + pre
    post: list[Command] = []
    for i, info in staged:
        j = len(plain) + staged.index((i, info))
        post += [
            Command(Cmd.SET_COMPONENT_INDEX, i),
            Command(
                Cmd.OVERRIDE_PARAMETERS, {Parameter.ENCRYPTION_INFO: info, Parameter.SOURCE_COMPONENT: j}
            ),
            Command(Cmd.COPY, REPORT_ALL),
        ]
        if "file" in comps[i] or "install-digest" in comps[i]:
            post.append(Command(Cmd.IMAGE_MATCH, REPORT_ALL))
    install = man.sequences.get(ManifestKey.INSTALL)
    body = tuple(install) if isinstance(install, tuple) else ()
    if pre or post:
        seqs = dict(man.sequences)
        seqs[ManifestKey.INSTALL] = (*pre, *body, *post)
        man = replace(man, sequences=seqs)
    if "set-version" in description:  # update-management §3.1: the release, semver-encoded
        from iotsec.core import cbor

        ext = dict(man.extensions)
        ext[ManifestKey.SET_VERSION] = cbor.dumps(parse_semver(str(description["set-version"])))
        man = replace(man, extensions=ext)
    return _finish(description, man, integrated)


def _update_conditions(description: Mapping[str, Any], many: bool) -> list[Command]:
    params: dict[int, Any] = {}
    conds: list[Command] = []
    if "use-before" in description:
        params[Parameter.USE_BEFORE] = int(description["use-before"])
        conds.append(Command(Cmd.USE_BEFORE, REPORT_ALL))
    if "minimum-battery" in description:
        params[Parameter.MINIMUM_BATTERY] = int(description["minimum-battery"])
        conds.append(Command(Cmd.MINIMUM_BATTERY, REPORT_ALL))
    if "update-priority" in description:
        params[Parameter.UPDATE_PRIORITY] = int(description["update-priority"])
    if description.get("require-consent"):
        conds.append(Command(Cmd.UPDATE_AUTHORIZED, REPORT_ALL))
    wait = description.get("wait")
    if wait is not None:
        from iotsec.core import cbor

        try:
            events = {int(WaitEvent[k.upper().replace("-", "_")]): v for k, v in dict(wait).items()}
        except (KeyError, AttributeError, TypeError, ValueError):
            raise _err("wait names events of draft-ietf-suit-update-management §4.5", "wait") from None
        params[Parameter.WAIT_INFO] = cbor.dumps(events)
        conds.append(Command(Cmd.WAIT, REPORT_ALL))
    if not params and not conds:
        return []
    return [
        *([Command(Cmd.SET_COMPONENT_INDEX, 0)] if many else []),
        *([Command(Cmd.OVERRIDE_PARAMETERS, params)] if params else []),
        *conds,
    ]


def _finish(description: Mapping[str, Any], man: Manifest, integrated: dict[str, bytes]) -> Envelope:
    keys: list[int] = []
    if description.get("severable"):
        keys = [ManifestKey.PAYLOAD_FETCH, ManifestKey.INSTALL, ManifestKey.TEXT]
    names = {
        "install": ManifestKey.INSTALL,
        "payload-fetch": ManifestKey.PAYLOAD_FETCH,
        "text": ManifestKey.TEXT,
    }
    for name in description.get("sever") or []:
        if name not in names:
            raise _err(f"cannot sever {name!r}", "sever")
        keys.append(names[name])
    man, moved = builder.sever(man, keys)
    return builder.envelope_for(man, severed=moved, integrated=integrated)


__all__ = ["STAGING_SEGMENT", "build_extended", "extra_files", "uses_companions"]
