"""The commands of the SUIT companion drafts, for :mod:`iotsec.core.suit.companion`.

Conditions return ``(ok, why)``; directives raise a typed error. Each takes the interpreter
(``it``: parameters, components, store, fetcher, device inputs) and the component index.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from iotsec.core import cbor
from iotsec.core.suit import codec, encryption
from iotsec.core.suit import processor as core
from iotsec.core.suit.dependencies import MAX_DEPTH, decode_dependency, manifest_digest_of
from iotsec.core.suit.digest import compute_digest
from iotsec.core.suit.metadata import ComponentMetadata, check_directive, decode_metadata
from iotsec.core.suit.model import Command, CommandSequence, ComponentId, Digest, Envelope, IndexArg
from iotsec.core.suit.registry import PARAMETER_ARGUMENT, ManifestKey, Parameter, label_name
from iotsec.core.suit.registry import Command as Cmd
from iotsec.core.suit.trust import authenticate, check_authority
from iotsec.core.suit.update_mgmt import (
    decode_version_match,
    decode_wait_events,
    pending_events,
    version_matches,
)
from iotsec.core.suit.validate import check_manifest
from iotsec.errors import NotFoundError, PolicyError, UnsupportedError, VerifyError

if TYPE_CHECKING:
    from iotsec.core.suit.companion import _Context, _Ext

SHARED = int(ManifestKey.COMMON)  # the shared sequence is reported as section suit-common (3)
# parameter labels as plain ints (enum attribute look-ups cost more on the install path)
_P_IMAGE_DIGEST = int(Parameter.IMAGE_DIGEST)
_P_IMAGE_SIZE = int(Parameter.IMAGE_SIZE)
_P_COMPONENT_METADATA = int(Parameter.COMPONENT_METADATA)
_P_URI = int(Parameter.URI)
_P_FETCH_ARGUMENTS = int(Parameter.FETCH_ARGUMENTS)


# ------------------------------------------------------------------ conditions (update management)


def _version(it: _Ext, i: int, cmd: Command) -> tuple[bool, str]:
    raw = it.params[i].get(Parameter.VERSION)
    if raw is None:
        return False, "version not set"
    match = decode_version_match(raw)
    actual = it.ctx.inputs.component_version(it.components[i])
    if actual is None:
        return False, "the component asserts no version"
    it._props = {int(Parameter.VERSION): cbor.dumps([int(match[0]), list(actual)])}
    return version_matches(actual, match), f"version {list(actual)}"


def _minimum_battery(it: _Ext, i: int, cmd: Command) -> tuple[bool, str]:
    need = it.params[i].get(Parameter.MINIMUM_BATTERY)
    if not isinstance(need, int):
        return False, "minimum-battery not set"
    have = it.ctx.inputs.battery_mwh()
    if have is None:
        return False, "battery level unknown"
    it._props = {int(Parameter.MINIMUM_BATTERY): have}
    return have >= need, f"battery {have} mWh, need {need} mWh"


def _update_authorized(it: _Ext, i: int, cmd: Command) -> tuple[bool, str]:
    prio = it.params[i].get(Parameter.UPDATE_PRIORITY)
    ok = it.ctx.inputs.authorize(prio if isinstance(prio, int) else None)
    return ok, "" if ok else "update not authorised on the device"


def _is_dependency(it: _Ext, i: int, cmd: Command) -> tuple[bool, str]:
    return i in it.deps, ""  # trust-domains §5.6.3


def _image_match(it: _Ext, i: int, cmd: Command) -> tuple[bool, str]:
    d = it.params[i].get(_P_IMAGE_DIGEST)
    if not isinstance(d, Digest):
        return False, "image-digest not set"
    data = it.store.read(it.components[i])
    if data is None:
        return False, "component is absent"
    if i in it.deps:  # trust-domains §5.2.2: the digest of the dependency's manifest
        env = decode_dependency(data)
        ok = manifest_digest_of(env, d)
        if ok:
            it.verified.setdefault(i, (env, [], bytes(d.value)))
        return ok, "" if ok else "manifest digest differs"
    try:
        actual = _digest_of(it.ctx, it.components[i], d.alg, data)
    except UnsupportedError as err:
        raise core._Abort(err) from None
    ok = hmac.compare_digest(actual, d.value)
    if ok and type(data) is bytes:
        it.ctx.matched[it.components[i]] = data  # this very content passed image-match
    # the measured values: for a failure record, and for system-property-claims (report §4.1)
    it._props = {
        _P_IMAGE_DIGEST: codec.encode_digest(Digest(d.alg, actual)),
        _P_IMAGE_SIZE: len(data),
    }
    return ok, "" if ok else "digest differs"


def _digest_of(ctx: _Context, cid: ComponentId, alg: int, data: Any) -> bytes:
    """Digest of a component's content, memoised while the store hands out the very same
    immutable ``bytes`` object (install and validate both check the image: hash it once)."""
    hit = ctx.digests.get((cid, alg))
    if hit is not None and hit[0] is data:
        return hit[1]
    value = compute_digest(alg, data)
    if type(data) is bytes:
        ctx.digests[(cid, alg)] = (data, value)  # holds the object: its id cannot be reused
    return value


CONDITIONS: dict[int, Callable[[_Ext, int, Command], tuple[bool, str]]] = {
    Cmd.VERSION: _version,
    Cmd.MINIMUM_BATTERY: _minimum_battery,
    Cmd.UPDATE_AUTHORIZED: _update_authorized,
    Cmd.IS_DEPENDENCY: _is_dependency,
    Cmd.IMAGE_MATCH: _image_match,
}


# ------------------------------------------------------------------ directives


def _decryption(
    it: _Ext, i: int, *, source: ComponentId | None = None, from_manifest: bool = False
) -> tuple[encryption.EncryptionInfo, bool]:
    """The encryption info of component ``i`` after the draft's policy checks, and whether the
    plaintext must be checked against the image digest right after decryption.

    firmware-encryption §4.3 and §6.2 (decision tree), RFC 9459 §8: a non-AEAD (AES-CTR) payload
    is acceptable when the ciphertext is in the signed manifest itself (parameter-content), or
    came from a source component that passed image-match in this run, or when the component has
    an image digest -- which is then checked immediately, so no unverified plaintext is kept.
    """
    info = encryption.parameter_value(it.params[i])
    assert info is not None
    if not it.ctx.keys:
        raise PolicyError(
            "the payload is encrypted and the device has no decryption key", reason="suit.encryption.nokey"
        )
    if info.aead or from_manifest:
        return info, False
    if source is not None and source in it.ctx.matched and it.ctx.matched[source] is it.store.read(source):
        return info, False
    if isinstance(it.params[i].get(_P_IMAGE_DIGEST), Digest):
        return info, True
    raise PolicyError(
        "AES-CTR payload without an image digest to check it", reason="suit.encryption.unauthenticated"
    )


def _check_plaintext(it: _Ext, i: int) -> None:
    """The non-AEAD plaintext just staged must match the component's image digest."""
    d = it.params[i][_P_IMAGE_DIGEST]
    data = it.store.read(it.components[i])
    if data is None or not hmac.compare_digest(_digest_of(it.ctx, it.components[i], d.alg, data), d.value):
        raise VerifyError(
            "the decrypted payload does not match its image digest", reason="suit.encryption.digest"
        )
    if type(data) is bytes:
        it.ctx.matched[it.components[i]] = data


def _plaintext_of(it: _Ext, i: int, ciphertext: bytes, info: encryption.EncryptionInfo) -> bytes:
    return info.decrypt(it.ctx.keys, ciphertext if info.detached else None)


def _streams(it: _Ext) -> tuple[Callable[..., Any] | None, Callable[..., Any] | None]:
    """``write_chunks``/``read_chunks`` of a streaming store (agent.suit_stream), if any."""
    return getattr(it.store, "write_chunks", None), getattr(it.store, "read_chunks", None)


def _invalidate(it: _Ext, i: int) -> ComponentMetadata | None:
    """Before a fetch, copy or write of component ``i``: drop its integrity cache and return the
    component metadata to apply with the new content (update-management §4.6), if set."""
    it.verified.pop(i, None)  # trust-domains §5.6.4: a fetch or copy clears the integrity cache
    value = it.params[i].get(_P_COMPONENT_METADATA)
    if value is None:
        return None
    if getattr(it.store, "apply_metadata", None) is None:
        # §4.6: metadata "is applied at time of fetch, copy, or write"; a store that cannot
        # apply permissions or file types must not install without them
        raise UnsupportedError(
            "this store cannot apply suit-parameter-component-metadata", reason="suit.parameter.unsupported"
        )
    return decode_metadata(value)


def _apply_metadata(it: _Ext, i: int, meta: ComponentMetadata | None) -> None:
    """Stage ``meta`` with the content just staged (the store refuses what it cannot apply)."""
    if meta is not None:
        it.store.apply_metadata(it.components[i], meta)  # type: ignore[attr-defined]
        it.report.actions.append(core.Action("metadata", it.components[i], meta.describe()))


def _regular_file(
    directive: str, stage: Callable[[_Ext, int, Command], None]
) -> Callable[[_Ext, int, Command], None]:
    """A fetch or copy: the content ``stage`` stages becomes a regular file (§4.6.5), with the
    component metadata set before it (§4.6)."""

    def run(it: _Ext, i: int, cmd: Command) -> None:
        meta = _invalidate(it, i)
        if meta is not None:
            check_directive(meta, directive, None)
        stage(it, i, cmd)
        _apply_metadata(it, i, meta)

    return run


def _fetch_content(it: _Ext, i: int, cmd: Command) -> None:
    uri = it.params[i].get(_P_URI)
    encrypted = encryption.ENCRYPTION_INFO in it.params[i]
    write_chunks, _ = _streams(it)
    fetch_chunks = getattr(it.fetcher, "fetch_chunks", None)
    if isinstance(uri, str) and uri not in it.env.integrated and write_chunks and fetch_chunks:
        # streamed: fetcher -> (decryptor) -> staged file, never the whole payload in memory
        chunks = fetch_chunks(uri, it.params[i].get(_P_FETCH_ARGUMENTS))
        check = False
        if encrypted:
            info, check = _decryption(it, i)
            chunks = encryption.decrypt_chunks(info, it.ctx.keys, chunks)
        write_chunks(it.components[i], chunks)
        if check:
            _check_plaintext(it, i)
        it.report.actions.append(
            core.Action("fetch", it.components[i], uri + (" (decrypted)" if encrypted else ""))
        )
        return
    if not encrypted:
        core._fetch(it, i, cmd)
        return
    if uri is None:
        raise PolicyError("uri is not set for fetch", reason="suit.parameter.missing")
    integrated = uri in it.env.integrated
    data = (
        it.env.integrated[uri] if integrated else it.fetcher.fetch(uri, it.params[i].get(_P_FETCH_ARGUMENTS))
    )
    # integrated payloads are envelope members outside the signed manifest: not authenticated
    info, check = _decryption(it, i)
    it.store.write(it.components[i], _plaintext_of(it, i, data, info))
    if check:
        _check_plaintext(it, i)
    it.report.actions.append(core.Action("fetch", it.components[i], uri + " (decrypted)"))


def _copy_content(it: _Ext, i: int, cmd: Command) -> None:
    if encryption.ENCRYPTION_INFO not in it.params[i]:
        core._copy(it, i, cmd)
        return
    src = it.source(i)
    info, check = _decryption(it, i, source=src)
    write_chunks, read_chunks = _streams(it)
    if write_chunks and read_chunks:
        chunks = read_chunks(src)
        if chunks is None:
            raise NotFoundError("the source component is absent", reason="suit.copy.source")
        write_chunks(it.components[i], encryption.decrypt_chunks(info, it.ctx.keys, chunks))
    else:
        data = it.store.read(src)
        if data is None:
            raise NotFoundError("the source component is absent", reason="suit.copy.source")
        it.store.write(it.components[i], _plaintext_of(it, i, data, info))
    if check:
        _check_plaintext(it, i)
    it.report.actions.append(
        core.Action("copy", it.components[i], codec.component_name(src) + " (decrypted)")
    )


_fetch = _regular_file("fetch", _fetch_content)
_copy = _regular_file("copy", _copy_content)


def _write(it: _Ext, i: int, cmd: Command) -> None:
    meta = _invalidate(it, i)
    content = it.params[i].get(Parameter.CONTENT)
    if content is None:
        raise PolicyError("content is not set for write", reason="suit.parameter.missing")
    if encryption.ENCRYPTION_INFO not in it.params[i]:
        if meta is not None:
            check_directive(meta, "write", content)
        core._write(it, i, cmd)
    else:
        # the ciphertext is inside the signed manifest: authenticated (§6.2 decision tree, Q1)
        info, _ = _decryption(it, i, from_manifest=True)
        plaintext = _plaintext_of(it, i, content, info)
        if meta is not None:
            check_directive(meta, "write", plaintext)  # a link target is the plaintext
        it.store.write(it.components[i], plaintext)
        it.report.actions.append(core.Action("write", it.components[i], f"{len(content)} bytes (decrypted)"))
    _apply_metadata(it, i, meta)


def _swap(it: _Ext, i: int, cmd: Command) -> None:
    # trust-domains §5.6.4 integrity cache; metadata is applied at fetch, copy or write only
    # (update-management §4.6): a swap moves each component's content with its metadata
    it.verified.pop(i, None)
    core._swap(it, i, cmd)


def _invoke(it: _Ext, i: int, cmd: Command) -> None:
    core._invoke(it, i, cmd)


def _wait(it: _Ext, i: int, cmd: Command) -> None:
    raw = it.params[i].get(Parameter.WAIT_INFO)
    if raw is None:
        raise PolicyError("wait-info is not set", reason="suit.parameter.missing")
    events = decode_wait_events(raw)
    pending = pending_events(events, it.now, it.ctx.inputs)
    if pending:  # update-management §4.5: the pure processor aborts; the agent retries later
        it.ctx.result.waiting = pending
        raise PolicyError("waiting for " + ", ".join(pending), reason="suit.wait.pending")


def _dependency_integrity(it: _Ext, i: int, cmd: Command) -> None:
    # trust-domains §5.6.4: verify the dependency's signature, compare its wrapper digest with
    # image-digest, verify the manifest against that digest; any failure aborts.
    if i not in it.deps:
        raise PolicyError(f"component {i} is not a dependency", reason="suit.dependency.not-dependency")
    d = it.params[i].get(_P_IMAGE_DIGEST)
    if not isinstance(d, Digest):
        raise PolicyError("image-digest is not set for the dependency", reason="suit.parameter.missing")
    data = it.store.read(it.components[i])
    if data is None:
        raise NotFoundError("the dependency has not been fetched", reason="suit.dependency.absent")
    env = decode_dependency(data)
    signers = authenticate(env, it.ctx.anchors, it.now)
    auth = env.authentication
    assert auth is not None
    if auth.digest.alg != d.alg or not manifest_digest_of(env, d):
        raise VerifyError(
            "the dependency is not the one the dependent names", reason="suit.dependency.digest"
        )
    it.verified[i] = (env, signers, bytes(d.value))


def _process_dependency(it: _Ext, i: int, cmd: Command) -> None:
    # trust-domains §5.4 and §5.6.2
    if i not in it.deps:
        raise PolicyError(f"component {i} is not a dependency", reason="suit.dependency.not-dependency")
    if it.section == SHARED:
        raise PolicyError("process-dependency in the common sequence", reason="suit.dependency.section")
    if i not in it.verified:
        raise PolicyError(
            "the dependency was not integrity-checked in this manifest", reason="suit.dependency.unchecked"
        )
    if len(it.manifest_id) >= MAX_DEPTH:
        raise PolicyError("dependencies nest too deeply", reason="suit.dependency.depth")
    env, signers, _ = it.verified[i]
    if not signers:  # checked by image-match only: authenticate now (step 3)
        signers = authenticate(env, it.ctx.anchors, it.now)
        it.verified[i] = (env, signers, it.verified[i][2])
    position = sorted(it.deps).index(i)
    child = it.child(env, signers, (*it.manifest_id, position))
    touched = touched_components(child.sequences, env.manifest.common.shared_sequence, len(child.components))
    check_authority([child.components[n] for n in sorted(touched)], signers)
    check_manifest(with_components(env, child.components), child.sequences)
    if it.section not in child.sequences:  # "succeeds immediately"
        return
    child.run(it.section, label_name(ManifestKey, it.section))


def _unlink(it: _Ext, i: int, cmd: Command) -> None:
    unlink = getattr(it.store, "unlink", None)
    if unlink is None:
        raise UnsupportedError("this store keeps no reference counts", reason="suit.unlink.unsupported")
    digest = it.ctx.result.manifest_digest
    unlink(it.components[i], digest.value if digest else b"")


DIRECTIVES: dict[int, Callable[[_Ext, int, Command], None]] = {
    Cmd.FETCH: _fetch,
    Cmd.COPY: _copy,
    Cmd.WRITE: _write,
    Cmd.SWAP: _swap,
    Cmd.INVOKE: _invoke,
    Cmd.WAIT: _wait,
    Cmd.DEPENDENCY_INTEGRITY: _dependency_integrity,
    Cmd.PROCESS_DEPENDENCY: _process_dependency,
    Cmd.UNLINK: _unlink,
}


_TOUCHING = frozenset(
    {Cmd.FETCH, Cmd.COPY, Cmd.WRITE, Cmd.SWAP, Cmd.UNLINK, Cmd.INVOKE, Cmd.PROCESS_DEPENDENCY}
)
_SET_COMPONENT_INDEX = int(Cmd.SET_COMPONENT_INDEX)
_OVERRIDE_MULTIPLE = int(Cmd.OVERRIDE_MULTIPLE)
_TRY_EACH = int(Cmd.TRY_EACH)
_RUN_SEQUENCE = int(Cmd.RUN_SEQUENCE)
_WITH_SOURCE = frozenset({int(Cmd.COPY), int(Cmd.SWAP)})
_SOURCE_COMPONENT = int(Parameter.SOURCE_COMPONENT)


def touched_components(
    sequences: Mapping[int, CommandSequence], shared: CommandSequence | None, count: int
) -> set[int]:
    """Indices of the components a manifest may fetch into, copy from or to, write, swap,
    unlink, invoke or process as a dependency -- an over-approximation (every branch of try-each,
    every index a set-component-index names). draft-ietf-suit-manifest §9: "Any identity can
    verify an image digest, but fetching into or fetching from a Component Identifier requires
    approval from the ACL"; setting parameters on a component does not."""
    touched: set[int] = set()
    sources: set[int] = set()

    def targets(index: IndexArg) -> list[int]:
        if index is True:
            return list(range(count))
        return list(index) if isinstance(index, tuple) else [index]

    def walk(seq: CommandSequence, index: IndexArg) -> IndexArg:
        for cmd in seq:
            code = cmd.code  # plain ints below: enum attribute look-ups cost more than the walk
            if code == _SET_COMPONENT_INDEX:
                index = cmd.arg
            elif code in PARAMETER_ARGUMENT:
                if isinstance(cmd.arg, dict):
                    src = cmd.arg.get(_SOURCE_COMPONENT)
                    if isinstance(src, int):
                        sources.add(src)
            elif code == _OVERRIDE_MULTIPLE and isinstance(cmd.arg, dict) and cmd.arg:
                index = list(cmd.arg)[-1]
            elif code == _TRY_EACH and isinstance(cmd.arg, tuple):
                for sub in cmd.arg:
                    if sub is not None:
                        walk(sub, index)
            elif code == _RUN_SEQUENCE and isinstance(cmd.arg, tuple):
                walk(cmd.arg, index)
            elif code in _TOUCHING:
                touched.update(targets(index))
                if code in _WITH_SOURCE:
                    touched.update(sources)
        return index

    start: IndexArg = 0
    if shared is not None:
        start = walk(shared, 0)
    for seq in sequences.values():
        walk(seq, start)
    return {i for i in touched if isinstance(i, int) and 0 <= i < count}


def with_components(env: Envelope, comps: tuple[ComponentId, ...]) -> Any:
    """The manifest of ``env`` with the component table ``comps`` (dependencies appended)."""
    from dataclasses import replace

    man = env.manifest
    if comps == man.common.components:  # no dependency beyond the components: the same manifest
        return man
    return replace(man, common=replace(man.common, components=comps))


__all__ = ["CONDITIONS", "DIRECTIVES", "SHARED", "touched_components", "with_components"]
