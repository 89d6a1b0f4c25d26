"""Two more manifest templates for the builder (draft-ietf-suit-manifest §7.7, §7.3, §7.6).

* :func:`ab_images` (§7.7 A/B images): several description entries for one component, one per
  slot. The shared sequence picks the digest and size of the slot the device has with try-each;
  install picks the URI the same way (the spec's example 3).
* :func:`download_install_load` (§7.3, §7.4, §7.6): an entry with ``download-id`` and/or
  ``load-id`` becomes up to three components: payload-fetch downloads into the download
  component, install copies it to the install component, load copies that to the load component,
  and invoke starts the load component (the spec's example 4).

Both return the component ids and the command sequences; :mod:`.builder` does the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from iotsec.core.suit.model import Command, CommandSequence, ComponentId, Digest
from iotsec.core.suit.registry import Command as Cmd
from iotsec.core.suit.registry import ManifestKey, Parameter

REPORT_ALL = 15
REPORT_ON_FAILURE = 2
SLOT_POLICY = 5  # record on success, sysinfo on success: as in the spec's example 3

Identity = Callable[[Mapping[str, Any], int], dict[int, Any]]
DigestOf = Callable[[Mapping[str, Any], int, str], tuple[Digest | None, int | None]]


def _params(digest: Digest | None, size: int | None) -> dict[int, Any]:
    out: dict[int, Any] = {}
    if digest is not None:
        out[Parameter.IMAGE_DIGEST] = digest
    if size is not None:
        out[Parameter.IMAGE_SIZE] = size
    return out


def _checks(params: Mapping[int, Any]) -> list[Command]:
    out = []
    for param, cond in (
        (Parameter.VENDOR_IDENTIFIER, Cmd.VENDOR_IDENTIFIER),
        (Parameter.CLASS_IDENTIFIER, Cmd.CLASS_IDENTIFIER),
        (Parameter.DEVICE_IDENTIFIER, Cmd.DEVICE_IDENTIFIER),
    ):
        if param in params:
            out.append(Command(cond, REPORT_ALL))
    return out


def ab_images(
    entries: list[Mapping[str, Any]], cid: ComponentId, identity: Identity, digest_of: DigestOf
) -> tuple[list[ComponentId], dict[int, CommandSequence], CommandSequence]:
    """§7.7: one component, one entry per slot. Returns (components, sequences, shared)."""
    ident = identity(entries[0], 0)
    digest_branches: list[CommandSequence | None] = []
    uri_branches: list[CommandSequence | None] = []
    for i, e in enumerate(entries):
        slot = Command(Cmd.OVERRIDE_PARAMETERS, {Parameter.COMPONENT_SLOT: int(e["slot"])})
        check = Command(Cmd.COMPONENT_SLOT, SLOT_POLICY)
        digest, size = digest_of(e, i, "install")
        params = _params(digest, size)
        digest_branches.append(
            (slot, check, Command(Cmd.OVERRIDE_PARAMETERS, params)) if params else (slot, check)
        )
        if "uri" in e:
            uri_branches.append(
                (slot, check, Command(Cmd.OVERRIDE_PARAMETERS, {Parameter.URI: str(e["uri"])}))
            )
    shared: list[Command] = []
    if ident:
        shared.append(Command(Cmd.OVERRIDE_PARAMETERS, ident))
    shared.append(Command(Cmd.TRY_EACH, tuple(digest_branches)))
    shared += _checks(ident)
    sequences: dict[int, CommandSequence] = {ManifestKey.VALIDATE: (Command(Cmd.IMAGE_MATCH, REPORT_ALL),)}
    if uri_branches:
        sequences[ManifestKey.INSTALL] = (
            Command(Cmd.TRY_EACH, tuple(uri_branches)),
            Command(Cmd.FETCH, REPORT_ON_FAILURE),
            Command(Cmd.IMAGE_MATCH, REPORT_ALL),
        )
    return [cid], sequences, tuple(shared)


def _hex_id(value: Any) -> ComponentId:
    return tuple(bytes.fromhex(s) for s in value)


def download_install_load(
    e: Mapping[str, Any], cid: ComponentId, identity: Identity, digest_of: DigestOf
) -> tuple[list[ComponentId], dict[int, CommandSequence], CommandSequence]:
    """§7.3/§7.4/§7.6: download, install and load components from one entry."""
    ids = [cid]
    download = load = None
    if "download-id" in e and not e.get("install-on-download", False):
        download = len(ids)
        ids.append(_hex_id(e["download-id"]))
    if e.get("loadable") and "load-id" in e:
        load = len(ids)
        ids.append(_hex_id(e["load-id"]))
    many = len(ids) > 1

    def sel(i: int) -> list[Command]:
        return [Command(Cmd.SET_COMPONENT_INDEX, i)] if many else []

    ident = identity(e, 0)
    digest, size = digest_of(e, 0, "install")
    shared = (*sel(0), Command(Cmd.OVERRIDE_PARAMETERS, {**ident, **_params(digest, size)}), *_checks(ident))
    seqs: dict[int, CommandSequence] = {ManifestKey.VALIDATE: (*sel(0), Command(Cmd.IMAGE_MATCH, REPORT_ALL))}
    if load is not None:
        ldigest, lsize = digest_of(e, 0, "load")
        seqs[ManifestKey.LOAD] = (
            *sel(load),
            Command(Cmd.OVERRIDE_PARAMETERS, {**_params(ldigest, lsize), Parameter.SOURCE_COMPONENT: 0}),
            Command(Cmd.COPY, REPORT_ON_FAILURE),
            Command(Cmd.IMAGE_MATCH, REPORT_ALL),
        )
    if e.get("bootable"):
        seqs[ManifestKey.INVOKE] = (
            *sel(load if load is not None else 0),
            Command(Cmd.INVOKE, REPORT_ON_FAILURE),
        )
    if download is not None:
        ddigest, dsize = digest_of(e, 0, "download")
        seqs[ManifestKey.PAYLOAD_FETCH] = (
            *sel(download),
            Command(Cmd.OVERRIDE_PARAMETERS, {**_params(ddigest, dsize), Parameter.URI: str(e["uri"])}),
            Command(Cmd.FETCH, REPORT_ON_FAILURE),
            Command(Cmd.IMAGE_MATCH, REPORT_ALL),
        )
        seqs[ManifestKey.INSTALL] = (
            *sel(0),
            Command(Cmd.OVERRIDE_PARAMETERS, {Parameter.SOURCE_COMPONENT: download}),
            Command(Cmd.COPY, REPORT_ON_FAILURE),
            Command(Cmd.IMAGE_MATCH, REPORT_ALL),
        )
    elif "uri" in e:  # no download component: install fetches directly (§7.3)
        seqs[ManifestKey.INSTALL] = (
            *sel(0),
            Command(Cmd.OVERRIDE_PARAMETERS, {Parameter.URI: str(e["uri"])}),
            Command(Cmd.FETCH, REPORT_ON_FAILURE),
            Command(Cmd.IMAGE_MATCH, REPORT_ALL),
        )
    return ids, seqs, shared


__all__ = ["ab_images", "download_install_load"]
