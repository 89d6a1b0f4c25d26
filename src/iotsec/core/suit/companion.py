"""The SUIT processor with the companion drafts: dependencies, encryption, update management, ACLs.

:func:`process_suit` extends :func:`iotsec.core.suit.processor.process` (whose interpreter it
subclasses, so every core command keeps the core semantics) with:

* draft-ietf-suit-trust-domains: suit-dependencies, dependency-resolution and
  candidate-verification sequences, condition-dependency-integrity, condition-is-dependency,
  directive-process-dependency (lockstep: the dependency runs its common sequence and the section
  the dependent is in), set-parameters across manifests (one parameter table per component id for
  the whole manifest tree), integrated dependencies, unlink (stores offering reference counts),
  uninstall, manifest-component-id of the root manifest;
* draft-ietf-suit-firmware-encryption: suit-parameter-encryption-info consumed by write, copy and
  fetch (streamed through the store when it can stream);
* draft-ietf-suit-update-management: condition-version, -minimum-battery, -update-authorized,
  directive-wait (with its events), override-multiple, copy-params; inputs from :class:`DeviceInputs`;
* signer authority (:mod:`iotsec.core.suit.trust`): every manifest's components must be covered
  by a key that signed it (directly trusted or delegated by CWT); otherwise ``PolicyError``
  ``suit.component.unauthorised`` naming the component;
* rich records (manifest id, section, byte offset, component, properties) for draft-ietf-suit-report
  (:mod:`iotsec.core.suit.report`).

Errors never escape: the returned :class:`SuitResult` has ``ok``/``error`` and ``check()`` raises.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from iotsec.core import cbor
from iotsec.core.cose import CoseKey
from iotsec.core.suit import codec, encryption
from iotsec.core.suit import processor as core
from iotsec.core.suit.dependencies import (
    MAX_DEPTH,
    component_table,
    decode_dependency,
    dependency_map,
    manifest_component_id,
    manifest_digest_of,
)
from iotsec.core.suit.digest import compute_digest, verify_manifest_digest, verify_severed
from iotsec.core.suit.model import Command, CommandSequence, ComponentId, Digest, Envelope, IndexArg
from iotsec.core.suit.registry import Command as Cmd
from iotsec.core.suit.registry import CommonKey, ManifestKey, Parameter, label_name
from iotsec.core.suit.store import ComponentStore, Fetcher, NoFetcher
from iotsec.core.suit.trust import (
    Authority,
    as_authorities,
    check_authority,
    component_text,
    delegated_authorities,
)
from iotsec.core.suit.update_mgmt import (
    NO_INPUTS,
    DeviceInputs,
    decode_version_match,
    decode_wait_events,
    pending_events,
    version_matches,
)
from iotsec.core.suit.validate import check_manifest
from iotsec.errors import (
    IotSecError,
    NotFoundError,
    PolicyError,
    UnsupportedError,
    ValidationError,
    VerifyError,
)

SHARED = int(ManifestKey.COMMON)  # records of the shared sequence name suit-common (3) as section
UPDATE_SEQUENCES = (
    ManifestKey.DEPENDENCY_RESOLUTION,  # trust-domains §3: steps 3 and 5 added to the workflow
    ManifestKey.PAYLOAD_FETCH,
    ManifestKey.CANDIDATE_VERIFICATION,
    ManifestKey.INSTALL,
    ManifestKey.VALIDATE,
)
INVOKE_SEQUENCES = (ManifestKey.VALIDATE, ManifestKey.LOAD, ManifestKey.INVOKE)
UNINSTALL_SEQUENCES = (ManifestKey.UNINSTALL,)
_ALTERING = frozenset({Cmd.FETCH, Cmd.COPY, Cmd.WRITE, Cmd.SWAP, Cmd.UNLINK})


@dataclass(frozen=True)
class ExtRecord:
    """One executed command, with what draft-ietf-suit-report's SUIT_Record needs."""

    manifest_id: tuple[int, ...]
    section: int
    offset: int
    component: int
    command: int
    ok: bool
    policy: int
    detail: str = ""
    properties: dict[int, Any] = field(default_factory=dict)  # measured values (SUIT_Parameters)
    component_id: ComponentId | None = None


@dataclass
class SuitResult(core.Report):
    """A core :class:`~iotsec.core.suit.processor.Report` plus what the companions add."""

    ext_records: list[ExtRecord] = field(default_factory=list)
    manifest_digest: Digest | None = None
    reference_uri: str | None = None
    signers: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    failed_record: ExtRecord | None = None


def _head(buf: bytes, pos: int) -> tuple[int, int, int]:
    """(major type, argument, position after the head) of the CBOR item at ``pos``."""
    ib = buf[pos]
    major, info = ib >> 5, ib & 0x1F
    if info < 24:
        return major, info, pos + 1
    n = 1 << (info - 24)  # 24..27: 1, 2, 4, 8 bytes (deterministic CBOR: never indefinite)
    return major, int.from_bytes(buf[pos + 1 : pos + 1 + n], "big"), pos + 1 + n


def _skip(buf: bytes, pos: int) -> int:
    """Position after the CBOR item at ``pos`` (definite lengths only, as SUIT requires)."""
    major, arg, pos = _head(buf, pos)
    if major in (2, 3):
        return pos + arg
    if major == 4:
        for _ in range(arg):
            pos = _skip(buf, pos)
    elif major == 5:
        for _ in range(2 * arg):
            pos = _skip(buf, pos)
    elif major == 6:
        pos = _skip(buf, pos)
    return pos


def _offsets(seq: CommandSequence, section: int, out: dict[int, tuple[int, int]]) -> None:
    """Byte offset of each command in its top-level section (draft-ietf-suit-report §3).

    The section is encoded once and walked; nested sequences (run-sequence, try-each) are located
    inside their byte strings, so their offsets count from the start of the top-level section.
    """
    _walk_offsets(seq, codec.encode_sequence(seq), 0, section, out)


def _walk_offsets(
    seq: CommandSequence, buf: bytes, pos: int, section: int, out: dict[int, tuple[int, int]]
) -> None:
    _, _, pos = _head(buf, pos)  # the array head
    for cmd in seq:
        out[id(cmd)] = (section, pos)
        pos = _skip(buf, pos)  # command code
        if cmd.code == Cmd.RUN_SEQUENCE and isinstance(cmd.arg, tuple):
            _, _, inner = _head(buf, pos)  # bstr head: the nested sequence follows
            _walk_offsets(cmd.arg, buf, inner, section, out)
        elif cmd.code == Cmd.TRY_EACH and isinstance(cmd.arg, tuple):
            _, _, apos = _head(buf, pos)  # array of bstr / nil
            for sub in cmd.arg:
                if sub is not None:
                    _, _, inner = _head(buf, apos)
                    _walk_offsets(sub, buf, inner, section, out)
                apos = _skip(buf, apos)
        pos = _skip(buf, pos)  # argument


@dataclass
class _Context:
    """State shared by the root manifest and its dependencies during one run."""

    store: ComponentStore
    fetcher: Fetcher
    identity: core.DeviceIdentity
    now: int
    inputs: DeviceInputs
    keys: Sequence[CoseKey]
    anchors: list[Authority]
    result: SuitResult
    custom: core.CustomHandler | None
    tables: dict[ComponentId, dict[int, Any]] = field(default_factory=dict)
    digests: dict[tuple[ComponentId, int], tuple[bytes, bytes]] = field(default_factory=dict)
    steps: int = 0

    def table(self, cid: ComponentId) -> dict[int, Any]:
        return self.tables.setdefault(cid, {})


def authenticate(env: Envelope, anchors: Sequence[Authority], now: int) -> list[Authority]:
    """The authorities whose key verifies ``env`` (directly trusted or delegated by CWT).

    Raises VerifyError like :func:`iotsec.core.suit.auth.verify_authentication` when none does.
    """
    from iotsec.core.suit.auth import verify_authentication

    verify_manifest_digest(env)
    candidates = [*anchors, *delegated_authorities(env.delegation, anchors, now)]
    signers = []
    for cand in candidates:
        try:
            verify_authentication(env, [cand.key])
        except VerifyError:
            continue
        signers.append(cand)
    if not signers:
        raise VerifyError("no authentication block verifies with a trusted key", reason="suit.auth.failed")
    verify_severed(env)
    return signers


class _Ext(core._Interpreter):
    def __init__(
        self, ctx: _Context, env: Envelope, signers: list[Authority], manifest_id: tuple[int, ...]
    ) -> None:
        sequences = core.resolve_sequences(env)
        super().__init__(
            env=env,
            sequences=sequences,
            identity=ctx.identity,
            now=ctx.now,
            store=ctx.store,
            fetcher=ctx.fetcher,
            report=ctx.result,
            custom=ctx.custom,
        )
        self.ctx = ctx
        self.signers = signers
        self.manifest_id = manifest_id
        self.deps = dependency_map(env.manifest)
        self.components = component_table(env.manifest, self.deps)
        self._params = [ctx.table(cid) for cid in self.components]  # shared by component id
        self.section = SHARED
        self.verified: dict[int, tuple[Envelope, list[Authority], bytes]] = {}  # integrity cache
        self.where: dict[int, tuple[int, int]] = {}
        shared = env.manifest.common.shared_sequence
        if shared is not None:
            _offsets(shared, SHARED, self.where)
        for key, seq in sequences.items():
            _offsets(seq, key, self.where)
        self._props: dict[int, Any] = {}

    # ---- sequences
    def run(self, key: int, name: str) -> None:
        self.section = key
        super().run(key, name)

    def execute(self, seq: CommandSequence, index: IndexArg, *, soft: bool, nested: bool) -> None:
        for cmd in seq:
            if cmd.code == Cmd.SET_COMPONENT_INDEX:
                index = self._check_index(cmd.arg)
                continue
            if cmd.code in (Cmd.OVERRIDE_PARAMETERS, Cmd.SET_PARAMETERS):
                soft = self._parameters(cmd, index, soft, nested)
                continue
            if cmd.code == Cmd.OVERRIDE_MULTIPLE:  # update-management §5.7: alias of index+override
                index = self._override_multiple(cmd)
                continue
            if cmd.code == Cmd.COPY_PARAMS:  # update-management §5.8
                self._copy_params(cmd, index)
                continue
            for i in self._targets(index):
                self._step()
                try:
                    self._command(cmd, i)
                except core._ConditionFailed as cf:
                    raise core._ConditionFailed(cf.reason, cf.message, soft) from None

    def _step(self) -> None:
        # the core's execution budget (nested loops over components can explode), shared by the
        # whole manifest tree
        self.ctx.steps += 1
        limit = getattr(self, "max_steps", 100_000)
        if self.ctx.steps > limit:
            raise core._Abort(PolicyError(f"more than {limit} command executions", reason="suit.limit.steps"))

    # The core interpreter saves ``[dict(p) for p in self.params]`` before try-each and
    # run-sequence and assigns it back on a soft failure. Parameter tables are shared by
    # component id across the manifest tree here, so the assignment restores them in place.
    @property
    def params(self) -> list[dict[int, Any]]:
        return self._params

    @params.setter
    def params(self, value: list[dict[int, Any]]) -> None:
        current = getattr(self, "_params", None)
        if current is None or len(current) != len(value):
            self._params = value
            return
        for table, old in zip(current, value, strict=True):
            if table is not old:
                table.clear()
                table.update(old)

    # ---- records
    def _record(self, cmd: Command, i: int | None, ok: bool, detail: str = "") -> None:
        super()._record(cmd, i, ok, detail)
        section, offset = self.where.get(id(cmd), (self.section, 0))
        policy = cmd.arg if isinstance(cmd.arg, int) and not isinstance(cmd.arg, bool) else 0
        props, self._props = self._props, {}
        self.ctx.result.ext_records.append(
            ExtRecord(
                self.manifest_id,
                section,
                offset,
                i or 0,
                cmd.code,
                ok,
                policy,
                detail,
                props,
                self.components[i] if i is not None and i < len(self.components) else None,
            )
        )

    # ---- dispatch
    def _command(self, cmd: Command, i: int) -> None:
        code = cmd.code
        if code in _EXT_CONDITIONS:
            ok, why = _EXT_CONDITIONS[code](self, i, cmd)
            self._record(cmd, i, ok, why)
            if not ok:
                name = label_name(Cmd, code)
                raise core._ConditionFailed(
                    f"suit.condition.{name}",
                    f"condition {name} failed on component {component_text(self.components[i])}"
                    + (f": {why}" if why else ""),
                )
            return
        if code in _EXT_DIRECTIVES:
            try:
                if code in _ALTERING or code == Cmd.INVOKE:
                    self._authorise(i)
                _EXT_DIRECTIVES[code](self, i, cmd)
            except IotSecError as err:
                self._record(cmd, i, False, f"{err.reason}: {err.message}")
                raise core._Abort(err) from None
            self._record(cmd, i, True)
            return
        super()._command(cmd, i)

    def _authorise(self, i: int) -> None:
        check_authority([self.components[i]], self.signers)

    # ---- update management directives that change the index or parameters
    def _override_multiple(self, cmd: Command) -> int:
        arg = cmd.arg
        if not isinstance(arg, dict) or not arg:
            raise core._Abort(
                ValidationError(
                    "override-multiple takes {+ uint => parameters}", reason="suit.override-multiple"
                )
            )
        last = 0
        for k, params in arg.items():
            if not isinstance(k, int) or isinstance(k, bool) or not 0 <= k < len(self.components):
                raise core._Abort(
                    ValidationError(f"component index {k!r} is out of range", reason="suit.index")
                )
            try:
                decoded = codec.decode_parameters(params, ("override-multiple", k))
            except ValidationError as err:
                raise core._Abort(err) from None
            self.params[k].update(decoded)
            last = k
        self._record(cmd, last, True)
        return last

    def _copy_params(self, cmd: Command, index: IndexArg) -> None:
        arg = cmd.arg
        if (
            not isinstance(arg, dict)
            or not arg
            or not all(
                isinstance(k, int) and 0 <= k < len(self.components) and isinstance(v, list)
                for k, v in arg.items()
            )
        ):
            raise core._Abort(
                ValidationError("copy-params takes {+ uint => [+ int]}", reason="suit.copy-params")
            )
        for t in self._targets(index):
            for src, labels in arg.items():
                for label in labels:
                    if label in self.params[src]:
                        self.params[t][label] = self.params[src][label]
        self._record(cmd, None, True)


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
    d = it.params[i].get(Parameter.IMAGE_DIGEST)
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
    import hmac

    ok = hmac.compare_digest(actual, d.value)
    # the measured values: for a failure record, and for system-property-claims (report §4.1)
    it._props = {
        int(Parameter.IMAGE_DIGEST): codec.encode_digest(Digest(d.alg, actual)),
        int(Parameter.IMAGE_SIZE): len(data),
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


_EXT_CONDITIONS: dict[int, Callable[[_Ext, int, Command], tuple[bool, str]]] = {
    Cmd.VERSION: _version,
    Cmd.MINIMUM_BATTERY: _minimum_battery,
    Cmd.UPDATE_AUTHORIZED: _update_authorized,
    Cmd.IS_DEPENDENCY: _is_dependency,
    Cmd.IMAGE_MATCH: _image_match,
}


# ------------------------------------------------------------------ directives


def _decryption(it: _Ext, i: int, *, authenticated_source: bool) -> encryption.EncryptionInfo:
    """The encryption info of component ``i``, after the policy checks of the draft."""
    info = encryption.parameter_value(it.params[i])
    assert info is not None
    if not info.aead and not authenticated_source and Parameter.IMAGE_DIGEST not in it.params[i]:
        # firmware-encryption §4.3 / RFC 9459 §8: a non-AEAD payload needs an image digest
        raise PolicyError(
            "AES-CTR payload without an image digest to check it", reason="suit.encryption.unauthenticated"
        )
    if not it.ctx.keys:
        raise PolicyError(
            "the payload is encrypted and the device has no decryption key", reason="suit.encryption.nokey"
        )
    return info


def _plaintext_of(it: _Ext, i: int, ciphertext: bytes, *, authenticated_source: bool) -> bytes:
    info = _decryption(it, i, authenticated_source=authenticated_source)
    return info.decrypt(it.ctx.keys, ciphertext if info.detached else None)


def _streams(it: _Ext) -> tuple[Callable[..., Any] | None, Callable[..., Any] | None]:
    """``write_chunks``/``read_chunks`` of a streaming store (agent.suit_stream), if any."""
    return getattr(it.store, "write_chunks", None), getattr(it.store, "read_chunks", None)


def _invalidate(it: _Ext, i: int) -> None:
    it.verified.pop(i, None)  # trust-domains §5.6.4: a fetch or copy clears the integrity cache
    if Parameter.COMPONENT_METADATA in it.params[i] and getattr(it.store, "apply_metadata", None) is None:
        # update-management §4.6: metadata "is applied at time of fetch, copy, or write"; a
        # store that cannot apply permissions or file types must not install without them
        raise UnsupportedError(
            "this store cannot apply suit-parameter-component-metadata", reason="suit.parameter.unsupported"
        )


def _fetch(it: _Ext, i: int, cmd: Command) -> None:
    _invalidate(it, i)
    uri = it.params[i].get(Parameter.URI)
    encrypted = encryption.ENCRYPTION_INFO in it.params[i]
    write_chunks, _ = _streams(it)
    fetch_chunks = getattr(it.fetcher, "fetch_chunks", None)
    if isinstance(uri, str) and uri not in it.env.integrated and write_chunks and fetch_chunks:
        # streamed: fetcher -> (decryptor) -> staged file, never the whole payload in memory
        chunks = fetch_chunks(uri, it.params[i].get(Parameter.FETCH_ARGUMENTS))
        if encrypted:
            info = _decryption(it, i, authenticated_source=False)
            chunks = encryption.decrypt_chunks(info, it.ctx.keys, chunks)
        write_chunks(it.components[i], chunks)
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
        it.env.integrated[uri]
        if integrated
        else it.fetcher.fetch(uri, it.params[i].get(Parameter.FETCH_ARGUMENTS))
    )
    it.store.write(it.components[i], _plaintext_of(it, i, data, authenticated_source=integrated))
    it.report.actions.append(core.Action("fetch", it.components[i], uri + " (decrypted)"))


def _copy(it: _Ext, i: int, cmd: Command) -> None:
    _invalidate(it, i)
    if encryption.ENCRYPTION_INFO not in it.params[i]:
        core._copy(it, i, cmd)
        return
    src = it.source(i)
    authed = Parameter.IMAGE_DIGEST in it.params[it.components.index(src)]
    write_chunks, read_chunks = _streams(it)
    if write_chunks and read_chunks:
        info = _decryption(it, i, authenticated_source=authed)
        chunks = read_chunks(src)
        if chunks is None:
            raise NotFoundError("the source component is absent", reason="suit.copy.source")
        write_chunks(it.components[i], encryption.decrypt_chunks(info, it.ctx.keys, chunks))
    else:
        data = it.store.read(src)
        if data is None:
            raise NotFoundError("the source component is absent", reason="suit.copy.source")
        it.store.write(it.components[i], _plaintext_of(it, i, data, authenticated_source=authed))
    it.report.actions.append(
        core.Action("copy", it.components[i], codec.component_name(src) + " (decrypted)")
    )


def _write(it: _Ext, i: int, cmd: Command) -> None:
    _invalidate(it, i)
    if encryption.ENCRYPTION_INFO not in it.params[i]:
        core._write(it, i, cmd)
        return
    content = it.params[i].get(Parameter.CONTENT)
    if content is None:
        raise PolicyError("content is not set for write", reason="suit.parameter.missing")
    # the ciphertext is inside the signed manifest: authenticated (§6.2 decision tree, Q1)
    it.store.write(it.components[i], _plaintext_of(it, i, content, authenticated_source=True))
    it.report.actions.append(core.Action("write", it.components[i], f"{len(content)} bytes (decrypted)"))


def _swap(it: _Ext, i: int, cmd: Command) -> None:
    _invalidate(it, i)
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
    d = it.params[i].get(Parameter.IMAGE_DIGEST)
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
    child = _Ext(it.ctx, env, signers, (*it.manifest_id, position))
    check_authority(child.components, signers)
    check_manifest(_with_components(env, child.components), child.sequences)
    if it.section not in child.sequences:  # "succeeds immediately"
        return
    child.run(it.section, label_name(ManifestKey, it.section))


def _unlink(it: _Ext, i: int, cmd: Command) -> None:
    unlink = getattr(it.store, "unlink", None)
    if unlink is None:
        raise UnsupportedError("this store keeps no reference counts", reason="suit.unlink.unsupported")
    digest = it.ctx.result.manifest_digest
    unlink(it.components[i], digest.value if digest else b"")


_EXT_DIRECTIVES: dict[int, Callable[[_Ext, int, Command], None]] = {
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


def _with_components(env: Envelope, comps: tuple[ComponentId, ...]) -> Any:
    from dataclasses import replace

    man = env.manifest
    return replace(man, common=replace(man.common, components=comps))


def process_suit(
    envelope: Envelope,
    *,
    anchors: Sequence[Authority | CoseKey],
    identity: core.DeviceIdentity,
    stored_sequence: int | None,
    now: int,
    store: ComponentStore,
    fetcher: Fetcher | None = None,
    procedure: str | core.Procedure = "all",
    inputs: DeviceInputs = NO_INPUTS,
    decryption_keys: Sequence[CoseKey] = (),
    max_components: int | None = None,
    custom: core.CustomHandler | None = None,
) -> SuitResult:
    """Authenticate and run a manifest tree (see the module docstring).

    ``procedure`` is ``update``, ``invoke``, ``all``, ``uninstall``, or the trust-domains split of
    the update into ``stage`` (staged payloads are committed, the sequence number is not) and
    ``install`` (commits the sequence number). Nothing is written before
    authentication and the authority checks pass; writes are committed only when every sequence
    succeeded. Never raises :class:`IotSecError`: ``result.check()`` does.
    """
    procedure = procedure.value if isinstance(procedure, core.Procedure) else procedure
    man = envelope.manifest
    result = SuitResult(man.sequence_number, procedure)
    result.reference_uri = man.reference_uri
    if envelope.authentication is not None:
        result.manifest_digest = envelope.authentication.digest
    auths = as_authorities(anchors)
    ctx = _Context(
        store, fetcher or NoFetcher(), identity, now, inputs, decryption_keys, auths, result, custom
    )
    try:
        signers = authenticate(envelope, auths, now)  # §6.2: before anything else
        result.signers = [s.name for s in signers]
        update = procedure in ("update", "all", "install")
        if stored_sequence is not None and procedure == "stage" and man.sequence_number <= stored_sequence:
            raise PolicyError(
                f"manifest sequence number {man.sequence_number} is not greater than {stored_sequence}",
                reason="suit.rollback",
            )
        if stored_sequence is not None and (
            man.sequence_number <= stored_sequence if update else man.sequence_number < stored_sequence
        ):
            raise PolicyError(
                f"manifest sequence number {man.sequence_number} is not greater than {stored_sequence}",
                reason="suit.rollback",
            )
        it = _Ext(ctx, envelope, signers, ())
        mcid = manifest_component_id(man)
        try:
            check_authority(it.components, signers)
            if mcid is not None and update:  # trust-domains §9: the storage location needs rights too
                check_authority([mcid], signers, what="manifest location")
        except PolicyError as err:
            _authority_record(result, it, err)
            raise
        if max_components is not None and len(man.components) > max_components:
            raise PolicyError(
                "the manifest lists more components than the device has", reason="suit.components"
            )
        result.warnings = check_manifest(_with_components(envelope, it.components), it.sequences)
        keys = _procedure_keys(procedure)
        for k in keys:
            held = man.sequences.get(k)
            if isinstance(held, Digest) and k not in it.sequences:
                raise PolicyError(
                    f"the {label_name(ManifestKey, k)} sequence was severed and is not in the envelope",
                    reason="suit.severed.absent",
                )
    except IotSecError as err:
        _fail(result, err)
        return result
    store.begin()
    try:
        present = [k for k in keys if k in it.sequences]
        for k in present or [-1]:
            it.run(k, label_name(ManifestKey, k))
        if mcid is not None and update:
            store.write(mcid, codec.encode(envelope))
        link = getattr(store, "link", None)
        if link is not None and update and result.manifest_digest is not None:
            for cid in it.components:  # trust-domains §5.6.5: this manifest now refers to them
                link(cid, result.manifest_digest.value)
    except core._Abort as exc:
        store.abort()
        _fail(result, exc.error)
        result.actions = [a for a in result.actions if a.kind != "invoke"]
        return result
    except IotSecError as err:  # typed errors from stores/fetchers outside a command
        store.abort()
        _fail(result, err)
        return result
    try:
        store.commit(man.sequence_number if update else None)
    except IotSecError as err:
        store.abort()
        _fail(result, err)
        return result
    result.committed = True
    return result


def _procedure_keys(procedure: str) -> list[int]:
    # trust-domains §6: Staging (dependency-resolution, payload-fetch) and Installation
    # (candidate-verification, install) procedures, for when they run in different trust domains
    if procedure == "uninstall":
        return list(UNINSTALL_SEQUENCES)
    if procedure == "stage":
        return [ManifestKey.DEPENDENCY_RESOLUTION, ManifestKey.PAYLOAD_FETCH]
    if procedure == "install":
        return [ManifestKey.CANDIDATE_VERIFICATION, ManifestKey.INSTALL, ManifestKey.VALIDATE]
    keys: list[int] = []
    if procedure in ("update", "all"):
        keys += UPDATE_SEQUENCES
    if procedure in ("invoke", "all"):
        keys += [k for k in INVOKE_SEQUENCES if k not in keys]
    if not keys:
        raise ValidationError(f"unknown procedure {procedure!r}", reason="suit.procedure")
    return keys


def _authority_record(result: SuitResult, it: _Ext, err: PolicyError) -> None:
    bad = next((n for n, c in enumerate(it.components) if not any(s.covers(c) for s in it.signers)), 0)
    result.failed_record = ExtRecord(
        (),
        int(ManifestKey.COMMON),
        0,
        bad,
        int(CommonKey.COMPONENTS),
        False,
        0,
        f"{err.reason}: {err.message}",
    )
    result.ext_records.append(result.failed_record)


def _fail(result: SuitResult, err: IotSecError) -> None:
    result.ok, result.reason, result.error = False, err.reason, err
    if result.failed_record is None:
        failed = [r for r in result.ext_records if not r.ok]
        result.failed_record = failed[-1] if failed else None


__all__ = ["ExtRecord", "SuitResult", "authenticate", "process_suit"]
