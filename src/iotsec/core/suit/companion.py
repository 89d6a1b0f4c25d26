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

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from iotsec.core.cose import CoseKey
from iotsec.core.suit import codec
from iotsec.core.suit import companion_ops as ops
from iotsec.core.suit import processor as core
from iotsec.core.suit.companion_ops import SHARED
from iotsec.core.suit.dependencies import component_table, dependency_map, manifest_component_id
from iotsec.core.suit.model import Command, CommandSequence, ComponentId, Digest, Envelope, IndexArg
from iotsec.core.suit.offsets import command_offsets
from iotsec.core.suit.registry import PARAMETER_ARGUMENT, CommonKey, ManifestKey, label_name
from iotsec.core.suit.registry import Command as Cmd
from iotsec.core.suit.store import ComponentStore, Fetcher, NoFetcher
from iotsec.core.suit.trust import Authority, as_authorities, authenticate, check_authority, component_text
from iotsec.core.suit.update_mgmt import NO_INPUTS, DeviceInputs, manifest_set_version
from iotsec.core.suit.validate import check_manifest
from iotsec.errors import IotSecError, PolicyError, ValidationError

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
_AUTHORISED = _ALTERING | {Cmd.INVOKE}  # directives that need the signer's authority
_new = object.__new__
_SET_COMPONENT_INDEX = int(Cmd.SET_COMPONENT_INDEX)
_OVERRIDE_MULTIPLE = int(Cmd.OVERRIDE_MULTIPLE)
_COPY_PARAMS = int(Cmd.COPY_PARAMS)
_PROCESS_DEPENDENCY = int(Cmd.PROCESS_DEPENDENCY)


@dataclass(frozen=True)
class ExtRecord:
    """One executed command, with what draft-ietf-suit-report's SUIT_Record needs.

    ``section`` and ``offset`` are located when first asked (reports need them; a plain install
    does not pay for encoding the sections).
    """

    manifest_id: tuple[int, ...]
    locate: Callable[[], tuple[int, int]] = field(repr=False, compare=False)
    component: int
    command: int
    ok: bool
    policy: int
    detail: str = ""
    properties: dict[int, Any] = field(default_factory=dict)  # measured values (SUIT_Parameters)
    component_id: ComponentId | None = None

    @property
    def section(self) -> int:
        """The manifest key of the top-level sequence (3, suit-common, for the shared sequence)."""
        return self.locate()[0]

    @property
    def offset(self) -> int:
        """Bytes from the start of that sequence to the command (draft-ietf-suit-report §3)."""
        return self.locate()[1]


@dataclass
class SuitResult(core.Report):
    """A core :class:`~iotsec.core.suit.processor.Report` plus what the companions add."""

    ext_records: list[ExtRecord] = field(default_factory=list)
    manifest_digest: Digest | None = None
    reference_uri: str | None = None
    signers: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    set_version: list[int] | None = None  # update-management §3.1, for the device's records
    failed_record: ExtRecord | None = None


class _Locator:
    """Finds (section, offset) of a command; walks the encoded sections once, when first asked.

    Records hold this, not the interpreter: a result must not keep the store (and its payloads)
    alive through a reference cycle.
    """

    def __init__(self, shared: CommandSequence | None, sequences: dict[int, CommandSequence]) -> None:
        self.shared = shared
        self.sequences = sequences
        self._where: dict[int, tuple[int, int]] | None = None

    def where(self, command_id: int, fallback: int) -> tuple[int, int]:
        if self._where is None:
            self._where = {}
            if self.shared is not None:
                command_offsets(self.shared, SHARED, self._where)
            for key, seq in self.sequences.items():
                command_offsets(seq, key, self._where)
        return self._where.get(command_id, (fallback, 0))


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
    matched: dict[ComponentId, bytes] = field(default_factory=dict)  # content that passed image-match

    def table(self, cid: ComponentId) -> dict[int, Any]:
        return self.tables.setdefault(cid, {})


_core_record = core._Interpreter._record


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
        self.locator = _Locator(env.manifest.common.shared_sequence, sequences)
        self._where = self.locator.where  # bound once: every record holds a partial of it
        self._props: dict[int, Any] = {}

    def child(self, env: Envelope, signers: list[Authority], manifest_id: tuple[int, ...]) -> _Ext:
        """The interpreter of a dependency, sharing this run's context (parameters, store)."""
        return _Ext(self.ctx, env, signers, manifest_id)

    # ---- sequences
    def run(self, key: int, name: str) -> None:
        self.section = key
        super().run(key, name)

    def execute(self, seq: CommandSequence, index: IndexArg, *, soft: bool, nested: bool) -> None:
        for n, cmd in enumerate(seq):
            self.position = (seq, n)  # the core's records locate themselves through this
            code = cmd.code
            if code == _SET_COMPONENT_INDEX:
                index = self._check_index(cmd.arg)
                continue
            if code in PARAMETER_ARGUMENT:
                soft = self._parameters(cmd, index, soft, nested)
                continue
            if code == _OVERRIDE_MULTIPLE:  # update-management §5.7: alias of index+override
                index = self._override_multiple(cmd)
                continue
            if code == _COPY_PARAMS:  # update-management §5.8
                self._copy_params(cmd, index)
                continue
            targets = [index] if type(index) is int else self._targets(index)
            if code == _PROCESS_DEPENDENCY and index is True:
                # trust-domains §5.6.2: "If the current Component is True, then this Directive
                # applies to all Dependencies."
                targets = [i for i in targets if i in self.deps]
            for i in targets:
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
    def _record(self, cmd: Command, i: int | None, ok: bool, detail: str = "") -> int:
        policy = _core_record(self, cmd, i, ok, detail)  # the core's record (super()._record)
        props, self._props = self._props, {}
        # one record per command executed: built as model.make_command builds objects (each field
        # stored in the instance dict, no frozen-dataclass __init__ with one __setattr__ per field)
        rec = _new(ExtRecord)
        d = rec.__dict__
        d["manifest_id"] = self.manifest_id
        d["locate"] = functools.partial(self._where, id(cmd), self.section)
        d["component"] = i or 0
        d["command"] = cmd.code
        d["ok"] = ok
        d["policy"] = policy
        d["detail"] = detail
        d["properties"] = props
        d["component_id"] = self.components[i] if i is not None and i < len(self.components) else None
        self.ctx.result.ext_records.append(rec)
        return policy

    # ---- dispatch
    def _command(self, cmd: Command, i: int) -> None:
        code = cmd.code
        if code in ops.CONDITIONS:
            ok, why = ops.CONDITIONS[code](self, i, cmd)
            self._record(cmd, i, ok, why)
            if not ok:
                name = label_name(Cmd, code)
                raise core._ConditionFailed(
                    f"suit.condition.{name}",
                    f"condition {name} failed on component {component_text(self.components[i])}"
                    + (f": {why}" if why else ""),
                )
            return
        if code in ops.DIRECTIVES:
            try:
                if code in _AUTHORISED:
                    self._authorise(i)
                ops.DIRECTIVES[code](self, i, cmd)
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
        result.set_version = manifest_set_version(man.extensions)
        update = procedure in ("update", "all", "install")
        if stored_sequence is not None and procedure == "stage" and man.sequence_number <= stored_sequence:
            raise PolicyError(
                f"manifest sequence number {man.sequence_number} is not greater than {stored_sequence}",
                reason="suit.rollback",
            )
        if (
            stored_sequence is not None
            and procedure not in ("uninstall", "stage")
            and (man.sequence_number <= stored_sequence if update else man.sequence_number < stored_sequence)
        ):
            raise PolicyError(
                f"manifest sequence number {man.sequence_number} is not greater than {stored_sequence}",
                reason="suit.rollback",
            )
        it = _Ext(ctx, envelope, signers, ())
        mcid = manifest_component_id(man)
        try:
            touched = ops.touched_components(it.sequences, man.common.shared_sequence, len(it.components))
            check_authority([it.components[n] for n in sorted(touched)], signers)
            if mcid is not None and update:  # trust-domains §9: the storage location needs rights too
                check_authority([mcid], signers, what="manifest location")
        except PolicyError as err:
            _authority_record(result, it, err)
            raise
        if max_components is not None and len(man.components) > max_components:
            raise PolicyError(
                "the manifest lists more components than the device has", reason="suit.components"
            )
        result.warnings = check_manifest(ops.with_components(envelope, it.components), it.sequences)
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
    except BaseException:  # a store or fetcher bug, a kill: drop the staged writes, then re-raise
        store.abort()
        raise
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
    touched = ops.touched_components(it.sequences, it.env.manifest.common.shared_sequence, len(it.components))
    bad = next((n for n in sorted(touched) if not any(s.covers(it.components[n]) for s in it.signers)), 0)
    result.failed_record = ExtRecord(
        (),
        lambda: (int(ManifestKey.COMMON), 0),
        bad,
        int(CommonKey.COMPONENTS),
        False,
        0,
        f"{err.reason}: {err.message}",
    )
    result.ext_records.append(result.failed_record)


def _fail(result: SuitResult, err: IotSecError) -> None:
    # without its traceback: the frames would keep the store and the payloads alive in a cycle
    result.ok, result.reason, result.error = False, err.reason, err.with_traceback(None)
    if result.failed_record is None:
        failed = [r for r in result.ext_records if not r.ok]
        result.failed_record = failed[-1] if failed else None


__all__ = ["ExtRecord", "SuitResult", "authenticate", "process_suit"]
