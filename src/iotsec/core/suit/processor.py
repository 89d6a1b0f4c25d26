"""The SUIT manifest processor: a pure interpreter (draft-ietf-suit-manifest §6).

:func:`process` takes an authenticated envelope, the device identity, the stored sequence number,
``now``, a :class:`~iotsec.core.suit.store.ComponentStore` and a
:class:`~iotsec.core.suit.store.Fetcher`, and returns a :class:`Report`. It follows §6.1-§6.2:
authenticate first (nothing is read from or written to the store before the authentication
wrapper, the manifest digest and severed members verify), then the version and rollback checks,
then the command sequences of the requested procedures, with the shared sequence before each.

Every write goes through the store's transaction, committed only when every sequence succeeded
(§6.3 goal 1: an error or a correct state). Failures of a command are reported, not raised:
``Report.ok`` is False and ``Report.error`` holds the typed error (``Report.check()`` raises it).
Errors before any command runs (authentication, rollback, unsupported version or dependencies)
are raised.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from iotsec.core.suit import codec
from iotsec.core.suit.interfaces import (
    _DEPENDENCY_MEMBERS,
    INVOKE_SEQUENCES,
    UPDATE_SEQUENCES,
    Action,
    CustomHandler,
    DeviceIdentity,
    Extension,
    ExtensionHandler,
    Procedure,
    Record,
    Report,
)
from iotsec.core.suit.model import (
    Command,
    CommandSequence,
    ComponentId,
    Digest,
    Envelope,
    IndexArg,
    Manifest,
)
from iotsec.core.suit.registry import (
    DEPENDENCY_COMMANDS,
    ManifestKey,
    Parameter,
    ReportingPolicy,
    label_name,
)
from iotsec.core.suit.registry import (
    Command as Cmd,
)
from iotsec.core.suit.store import ComponentStore, Fetcher, NoFetcher
from iotsec.core.suit.validate import check_manifest
from iotsec.errors import IotSecError, NotFoundError, PolicyError, UnsupportedError, ValidationError

# §8.4.7: "the values of parameters consumed by the command", per command
_CONSUMES: dict[int, tuple[int, ...]] = {
    Cmd.VENDOR_IDENTIFIER: (Parameter.VENDOR_IDENTIFIER,),
    Cmd.CLASS_IDENTIFIER: (Parameter.CLASS_IDENTIFIER,),
    Cmd.DEVICE_IDENTIFIER: (Parameter.DEVICE_IDENTIFIER,),
    Cmd.IMAGE_MATCH: (Parameter.IMAGE_DIGEST, Parameter.IMAGE_SIZE),
    Cmd.IMAGE_NOT_MATCH: (Parameter.IMAGE_DIGEST,),
    Cmd.COMPONENT_SLOT: (Parameter.COMPONENT_SLOT,),
    Cmd.CHECK_CONTENT: (Parameter.CONTENT,),
    Cmd.USE_BEFORE: (Parameter.USE_BEFORE,),
    Cmd.FETCH: (Parameter.URI, Parameter.FETCH_ARGUMENTS),
    Cmd.COPY: (Parameter.SOURCE_COMPONENT,),
    Cmd.SWAP: (Parameter.SOURCE_COMPONENT,),
    Cmd.WRITE: (Parameter.CONTENT,),
    Cmd.INVOKE: (Parameter.INVOKE_ARGS,),
}


_new = object.__new__
_OVERRIDE_PARAMETERS = int(Cmd.OVERRIDE_PARAMETERS)  # plain ints: enum look-ups cost more
_SOFT_FAILURE = int(Parameter.SOFT_FAILURE)
_STRICT_ORDER = int(Parameter.STRICT_ORDER)
_SOURCE_COMPONENT = int(Parameter.SOURCE_COMPONENT)
_URI = int(Parameter.URI)
_FETCH_ARGUMENTS = int(Parameter.FETCH_ARGUMENTS)
_COMMAND_NAMES = {int(c): label_name(Cmd, int(c)) for c in Cmd}  # the registered commands


class _ConditionFailed(Exception):
    """A condition failed; the enclosing try-each / run-sequence decides (§8.4.8.15)."""

    def __init__(self, reason: str, message: str, soft: bool = False) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.soft = soft


class _Abort(Exception):
    """A directive failed, or a hard condition failure reached the top: processing stops."""

    def __init__(self, error: IotSecError) -> None:
        super().__init__(str(error))
        self.error = error


class _Interpreter:
    def __init__(
        self,
        *,
        env: Envelope,
        sequences: Mapping[int, CommandSequence],
        identity: DeviceIdentity,
        now: int,
        store: ComponentStore,
        fetcher: Fetcher,
        report: Report,
        custom: CustomHandler | None,
        max_steps: int = 100_000,
        extension: Extension | None = None,
    ) -> None:
        self.env = env
        self.components = env.manifest.components
        self.sequences = sequences
        self.identity = identity
        self.now = now
        self.store = store
        self.fetcher = fetcher
        self.report = report
        self.custom = custom
        # §6.1: parameter storage starts empty; one table per component (§8.4.8)
        self.params: list[dict[int, Any]] = [{} for _ in self.components]
        self.strict_order = True  # §8.4.8.14: a processor parameter, default True
        self.steps = 0
        self.max_steps = max_steps
        self.extension_commands: Mapping[int, ExtensionHandler] = extension.commands if extension else {}
        self.seq_name = ""
        self.section = 0
        self.position: tuple[CommandSequence, int] | None = None

    # ---- sequences
    def run(self, key: int, name: str) -> None:
        """Run a top-level sequence (after the shared sequence, §8.4.5)."""
        shared = self.env.manifest.common.shared_sequence
        for seq, label in (
            (shared, "shared-sequence"),
            (self.sequences.get(key) if key >= 0 else None, name),
        ):
            if seq is None:
                continue
            self.seq_name = label
            self.section = 3 if label == "shared-sequence" else key
            try:
                self.execute(seq, 0, soft=False, nested=False)
            except _ConditionFailed as cf:  # not soft at top level: the procedure fails
                raise _Abort(PolicyError(cf.message, reason=cf.reason)) from None

    def execute(self, seq: CommandSequence, index: IndexArg, *, soft: bool, nested: bool) -> None:
        """Run one command sequence; a failed condition raises _ConditionFailed(soft=...)."""
        for n, cmd in enumerate(seq):
            self.position = (seq, n)
            if cmd.code == Cmd.SET_COMPONENT_INDEX:  # §8.4.10.1
                index = self._check_index(cmd.arg)
                continue
            if cmd.code in (Cmd.OVERRIDE_PARAMETERS, Cmd.SET_PARAMETERS):
                soft = self._parameters(cmd, index, soft, nested)
                continue
            for i in self._targets(index):
                self.steps += 1
                if self.steps > self.max_steps:  # nested loops over components can explode
                    raise _Abort(
                        PolicyError(
                            f"more than {self.max_steps} command executions", reason="suit.limit.steps"
                        )
                    )
                try:
                    self._command(cmd, i)
                except _ConditionFailed as cf:
                    raise _ConditionFailed(cf.reason, cf.message, soft) from None

    def _targets(self, index: IndexArg) -> list[int]:
        # §6.5: True -> every component; array -> listed; integer -> one
        if index is True:
            return list(range(len(self.components)))
        if isinstance(index, tuple):
            return list(index)
        assert isinstance(index, int)
        return [index]

    def _check_index(self, arg: IndexArg) -> IndexArg:
        for i in [arg] if type(arg) is int else self._targets(arg):
            if i >= len(self.components):
                raise _Abort(ValidationError(f"component index {i} is out of range", reason="suit.index"))
        return arg

    def _parameters(self, cmd: Command, index: IndexArg, soft: bool, nested: bool) -> bool:
        # §8.4.10.3 override-parameters; draft-ietf-suit-trust-domains set-parameters (only unset ones)
        params = dict(cmd.arg)
        override = cmd.code == _OVERRIDE_PARAMETERS
        if _SOFT_FAILURE in params:  # §8.4.8.15: only inside try-each / run-sequence
            if not nested:
                raise _Abort(
                    ValidationError(
                        "soft-failure set outside try-each/run-sequence", reason="suit.soft-failure.misplaced"
                    )
                )
            value = params.pop(_SOFT_FAILURE)
            if override:
                soft = bool(value)
        if _STRICT_ORDER in params:  # §8.4.8.14: a processor-wide parameter
            value = params.pop(_STRICT_ORDER)
            if override:
                self.strict_order = bool(value)
        for i in [index] if type(index) is int else self._targets(index):
            table = self.params[i]
            if override:
                table.update(params)
            else:
                for k, v in params.items():
                    if k not in table:
                        table[k] = v
        self._record(cmd, None, True)
        return soft

    # ---- one command on one component
    def _command(self, cmd: Command, i: int) -> None:
        code = cmd.code
        if code == Cmd.TRY_EACH:
            self._try_each(cmd.arg, i)
        elif code == Cmd.RUN_SEQUENCE:
            self._run_sequence(cmd.arg, i)
        elif code in _CONDITIONS:
            ok, why = _CONDITIONS[code](self, i, cmd)
            self._record(cmd, i, ok, why)
            if not ok:
                name = label_name(Cmd, code)
                raise _ConditionFailed(
                    f"suit.condition.{name}",
                    f"condition {name} failed on component {i}" + (f": {why}" if why else ""),
                )
        elif code in _DIRECTIVES:
            try:
                _DIRECTIVES[code](self, i, cmd)
            except IotSecError as err:
                self._record(cmd, i, False, err.reason)
                raise _Abort(err) from None
            self._record(cmd, i, True)
        elif code in self.extension_commands:
            try:
                ok = self.extension_commands[code](self, i, cmd)
            except IotSecError as err:
                self._record(cmd, i, False, err.reason)
                raise _Abort(err) from None
            self._record(cmd, i, ok)
            if not ok:
                name = label_name(Cmd, code)
                raise _ConditionFailed(f"suit.condition.{name}", f"{name} failed on component {i}")
        elif code in DEPENDENCY_COMMANDS:
            raise _Abort(
                UnsupportedError(
                    f"{label_name(Cmd, code)} needs dependency processing: use companion.process_suit"
                    " (iotsec suit apply)",
                    reason="suit.dependency.unsupported",
                )
            )
        else:
            self._custom_or_unknown(cmd, i)

    def _custom_or_unknown(self, cmd: Command, i: int) -> None:
        # §8.4.9: "If a Recipient encounters an unknown condition, it MUST report a failure."
        if self.custom is not None and cmd.code < 0:
            ok = self.custom(cmd.code, cmd.arg, self.components[i], self.params[i])
            self._record(cmd, i, ok)
            if ok:
                return
        else:
            self._record(cmd, i, False, "unsupported")
        name = label_name(Cmd, cmd.code)
        raise _ConditionFailed(f"suit.command.unsupported.{name}", f"command {name} is not supported")

    def _try_each(self, seqs: tuple[CommandSequence | None, ...], i: int) -> None:
        # §8.4.10.2: first sequence that completes wins; soft-failure defaults to True in each
        for seq in seqs:
            if seq is None:  # an empty (nil) sequence always succeeds
                return
            saved = [dict(p) for p in self.params]
            try:
                self.execute(seq, i, soft=True, nested=True)
                return
            except _ConditionFailed as cf:
                self.params = saved
                if not cf.soft:
                    raise _ConditionFailed(cf.reason, cf.message) from None
        raise _ConditionFailed("suit.try-each.exhausted", "no try-each sequence succeeded")

    def _run_sequence(self, seq: CommandSequence, i: int) -> None:
        # §8.4.10.8: soft-failure defaults to False; a soft failure halts with no side effects
        saved = [dict(p) for p in self.params]
        strict = self.strict_order
        if not strict:
            # §6.7: with strict order False the argument runs in strict order, isolated; a
            # set-component-index after its first command must abort
            if any(c.code == Cmd.SET_COMPONENT_INDEX for c in seq[1:]):
                raise _Abort(
                    ValidationError(
                        "set-component-index inside run-sequence while strict order is False",
                        reason="suit.strict-order",
                    )
                )
            self.strict_order = True
        try:
            self.execute(seq, i, soft=False, nested=True)
        except _ConditionFailed as cf:
            self.params = saved
            if not cf.soft:
                raise _ConditionFailed(cf.reason, cf.message) from None
        finally:
            self.strict_order = strict  # each run-sequence is isolated (§6.7)

    def _record(self, cmd: Command, i: int | None, ok: bool, detail: str = "") -> int:
        """Append the record of ``cmd`` on component ``i``; return its reporting policy."""
        arg = cmd.arg
        code = cmd.code
        policy = arg if type(arg) is int or (isinstance(arg, int) and not isinstance(arg, bool)) else 0
        consumed = _CONSUMES.get(code)
        props: dict[int, Any] = {}
        if consumed and i is not None:
            table = self.params[i]
            for k in consumed:
                if k in table:
                    props[k] = table[k]
        # label_name(Cmd, code), looked up directly for the registered commands (the decoder
        # hands out Command members: an int type check alone would miss them; bools must not hit)
        name = _COMMAND_NAMES.get(code) if isinstance(code, int) and not isinstance(code, bool) else None
        if name is None:
            name = label_name(Cmd, code)
        # one record per command executed: built as model.make_command builds objects (each
        # field stored in the instance dict, no dataclass __init__ with one __setattr__ per field)
        rec = _new(Record)
        d = rec.__dict__
        d["sequence"] = self.seq_name
        d["command"] = name
        d["component"] = i
        d["ok"] = ok
        d["policy"] = policy
        d["detail"] = detail
        d["section"] = self.section
        d["properties"] = props
        d["position"] = self.position
        self.report.records.append(rec)
        return policy

    # ---- helpers for conditions and directives
    def source(self, i: int) -> ComponentId:
        src = self.params[i].get(_SOURCE_COMPONENT)
        if src is None:
            raise PolicyError("source-component is not set", reason="suit.parameter.missing")
        if src >= len(self.components):
            raise ValidationError(f"source component {src} does not exist", reason="suit.index")
        if not self.strict_order and src == i:  # §6.7: target and source with strict order False
            raise PolicyError("a component is both source and target", reason="suit.strict-order")
        return self.components[src]


def _identifier(param: int, attr: str) -> Callable[[_Interpreter, int, Command], tuple[bool, str]]:
    def check(it: _Interpreter, i: int, cmd: Command) -> tuple[bool, str]:
        expected = it.params[i].get(param)
        if expected is None:  # §8.4.9.1: "If no ID has been set, this condition fails."
            return False, "parameter not set"
        value = expected.value if hasattr(expected, "tag") else expected
        known: frozenset[bytes] = getattr(it.identity.for_component(it.components[i]), attr)
        return any(hmac.compare_digest(value, k) for k in known), ""

    return check


def _image_match(it: _Interpreter, i: int, cmd: Command, *, negate: bool = False) -> tuple[bool, str]:
    from iotsec.core.suit.digest import digest_matches

    d = it.params[i].get(Parameter.IMAGE_DIGEST)
    if not isinstance(d, Digest):  # §8.4.9.2: "If no digest is specified, the condition fails."
        return False, "image-digest not set"
    content = it.store.read(it.components[i])
    if content is None:
        return False, "component is absent"
    try:
        same = digest_matches(d, content)
    except UnsupportedError as err:
        raise _Abort(err) from None
    return (same != negate), ("" if same != negate else "digest differs" if not negate else "digest matches")


def _component_slot(it: _Interpreter, i: int, cmd: Command) -> tuple[bool, str]:
    expected = it.params[i].get(Parameter.COMPONENT_SLOT)
    if expected is None:
        return False, "component-slot not set"
    return it.store.slot(it.components[i]) == expected, ""


def _check_content(it: _Interpreter, i: int, cmd: Command) -> tuple[bool, str]:
    expected = it.params[i].get(Parameter.CONTENT)
    if expected is None:
        return False, "content not set"
    actual = it.store.read(it.components[i]) or b""
    return hmac.compare_digest(actual, expected), ""  # §8.4.9.3: constant time


def _use_before(it: _Interpreter, i: int, cmd: Command) -> tuple[bool, str]:
    limit = it.params[i].get(Parameter.USE_BEFORE)  # §6.4 Table 2: assert(now() < arg)
    if limit is None:
        return False, "use-before not set"
    return it.now < limit, ""


_CONDITIONS: dict[int, Callable[[_Interpreter, int, Command], tuple[bool, str]]] = {
    Cmd.VENDOR_IDENTIFIER: _identifier(Parameter.VENDOR_IDENTIFIER, "vendor_ids"),
    Cmd.CLASS_IDENTIFIER: _identifier(Parameter.CLASS_IDENTIFIER, "class_ids"),
    Cmd.DEVICE_IDENTIFIER: _identifier(Parameter.DEVICE_IDENTIFIER, "device_ids"),
    Cmd.IMAGE_MATCH: _image_match,
    Cmd.IMAGE_NOT_MATCH: lambda it, i, c: _image_match(it, i, c, negate=True),
    Cmd.COMPONENT_SLOT: _component_slot,
    Cmd.CHECK_CONTENT: _check_content,
    Cmd.ABORT: lambda it, i, c: (False, "abort"),  # §8.4.9.5
    Cmd.USE_BEFORE: _use_before,
}


def _fetch(it: _Interpreter, i: int, cmd: Command) -> None:
    # §8.4.10.4: store(current, fetch(current.params[uri])); integrated payloads first (§5.5, §7.5)
    uri = it.params[i].get(_URI)
    if uri is None:
        raise PolicyError("uri is not set for fetch", reason="suit.parameter.missing")
    if uri in it.env.integrated:
        data = it.env.integrated[uri]
    else:
        data = it.fetcher.fetch(uri, it.params[i].get(_FETCH_ARGUMENTS))
    it.store.write(it.components[i], data)
    it.report.actions.append(Action("fetch", it.components[i], uri))


def _copy(it: _Interpreter, i: int, cmd: Command) -> None:
    # §8.4.10.5: store(current, current.params[src-component]); fails if the source is absent
    src = it.source(i)
    data = it.store.read(src)
    if data is None:
        raise NotFoundError("the source component is absent", reason="suit.copy.source")
    it.store.write(it.components[i], data)
    it.report.actions.append(Action("copy", it.components[i], codec.component_name(src)))


def _swap(it: _Interpreter, i: int, cmd: Command) -> None:
    src = it.source(i)  # §8.4.10.9
    if it.store.read(src) is None:
        raise NotFoundError("the source component is absent", reason="suit.swap.source")
    it.store.swap(it.components[i], src)
    it.report.actions.append(Action("swap", it.components[i], codec.component_name(src)))


def _write(it: _Interpreter, i: int, cmd: Command) -> None:
    content = it.params[i].get(Parameter.CONTENT)  # §8.4.10.6
    if content is None:
        raise PolicyError("content is not set for write", reason="suit.parameter.missing")
    it.store.write(it.components[i], content)
    it.report.actions.append(Action("write", it.components[i], f"{len(content)} bytes"))


def _invoke(it: _Interpreter, i: int, cmd: Command) -> None:
    # §8.4.10.7: transfer execution; here an action for the host to perform after commit
    it.report.actions.append(Action("invoke", it.components[i], "", it.params[i].get(Parameter.INVOKE_ARGS)))


def _unsupported(it: _Interpreter, i: int, cmd: Command) -> None:
    name = label_name(Cmd, cmd.code)
    raise UnsupportedError(f"directive {name} is not supported", reason=f"suit.command.unsupported.{name}")


_DIRECTIVES: dict[int, Callable[[_Interpreter, int, Command], None]] = {
    Cmd.FETCH: _fetch,
    Cmd.COPY: _copy,
    Cmd.SWAP: _swap,
    Cmd.WRITE: _write,
    Cmd.INVOKE: _invoke,
    Cmd.WAIT: _unsupported,
    Cmd.OVERRIDE_MULTIPLE: _unsupported,
    Cmd.COPY_PARAMS: _unsupported,
}


def resolve_sequences(env: Envelope) -> dict[int, CommandSequence]:
    """Each command sequence of the manifest, severed ones taken from the envelope (§8.4.12)."""
    out: dict[int, CommandSequence] = {}
    for key, value in env.manifest.sequences.items():
        if isinstance(value, Digest):
            if key in env.severed_values:
                out[key] = env.severed_values[key]
        else:
            out[key] = value
    return out


def _refuse_dependencies(man: Manifest) -> None:
    # draft-ietf-suit-trust-domains: processed by iotsec.core.suit.companion (issue #4)
    if man.common.dependencies is not None or any(k in man.sequences for k in _DEPENDENCY_MEMBERS):
        raise UnsupportedError(
            "dependency manifests need the companion processor: companion.process_suit (iotsec suit apply)",
            reason="suit.dependency.unsupported",
        )


def process(
    envelope: Envelope,
    *,
    trust_anchors: Sequence[Any],
    identity: DeviceIdentity,
    stored_sequence: int | None,
    now: int,
    store: ComponentStore,
    fetcher: Fetcher | None = None,
    procedure: Procedure = Procedure.ALL,
    max_components: int | None = None,
    custom: CustomHandler | None = None,
    authenticated: bool = False,
    max_steps: int = 100_000,
    extension: Extension | None = None,
) -> Report:
    """Authenticate and run a manifest (§6). ``now`` is seconds since the epoch (UTC).

    Raises VerifyError (authentication), PolicyError (rollback, too many components),
    UnsupportedError (version, dependencies) or ValidationError (§6.2 checks) before touching the
    store; command failures come back in the report. ``authenticated=True`` skips the COSE check
    for a caller that has just done it with the same envelope (benchmarks); the digests of the
    manifest and severed members are still checked.
    """
    from iotsec.core.suit.digest import verify_manifest_digest, verify_severed

    if authenticated:
        verify_manifest_digest(envelope)
        verify_severed(envelope)
    else:
        from iotsec.core.suit.auth import verify_authentication

        verify_authentication(envelope, trust_anchors)  # §6.2: before parsing/executing anything
    man = envelope.manifest
    update = procedure in (Procedure.UPDATE, Procedure.ALL)
    # §6.1 / §8.4.2 anti-rollback: an update must be newer; an invocation may re-run the current one
    if stored_sequence is not None and (
        man.sequence_number <= stored_sequence if update else man.sequence_number < stored_sequence
    ):
        raise PolicyError(
            f"manifest sequence number {man.sequence_number} is not greater than {stored_sequence}",
            reason="suit.rollback",
        )
    if extension is None or not extension.handles_dependencies:
        _refuse_dependencies(man)
    if max_components is not None and len(man.components) > max_components:  # §6.2
        raise PolicyError("the manifest lists more components than the device has", reason="suit.components")
    sequences = resolve_sequences(envelope)
    warnings = check_manifest(man, sequences)
    keys: list[int] = []
    if update:
        keys += extension.update_sequences if extension and extension.update_sequences else UPDATE_SEQUENCES
    if procedure in (Procedure.INVOKE, Procedure.ALL):
        keys += [k for k in INVOKE_SEQUENCES if k not in keys]
    for k in keys:
        held = man.sequences.get(k)
        if isinstance(held, Digest) and k not in sequences:
            raise PolicyError(
                f"the {label_name(ManifestKey, k)} sequence was severed and is not in the envelope",
                reason="suit.severed.absent",
            )
    report = Report(man.sequence_number, procedure.value, warnings=warnings)
    it = _Interpreter(
        env=envelope,
        sequences=sequences,
        identity=identity,
        now=now,
        store=store,
        fetcher=fetcher or NoFetcher(),
        report=report,
        custom=custom,
        max_steps=max_steps,
        extension=extension,
    )
    store.begin()
    try:
        present = [k for k in keys if k in sequences]
        # the shared sequence runs before each present sequence (§8.4.5); at least once, so that
        # the compatibility checks it holds are made even when no other sequence is present
        for k in present or [-1]:
            it.run(k, label_name(ManifestKey, k))
    except _Abort as exc:
        store.abort()
        err = exc.error
        report.ok, report.reason, report.error = False, err.reason, err
        report.actions = [a for a in report.actions if a.kind != "invoke"]
        return report
    store.commit(man.sequence_number if update else None)
    report.committed = True
    return report


__all__ = [
    "INVOKE_SEQUENCES",
    "Extension",
    "ExtensionHandler",
    "UPDATE_SEQUENCES",
    "Action",
    "CustomHandler",
    "DeviceIdentity",
    "Procedure",
    "Record",
    "Report",
    "ReportingPolicy",
    "process",
    "resolve_sequences",
]
