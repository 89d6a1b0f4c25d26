"""``iotsec suit``: create, sign, show, verify and process SUIT envelopes (draft-ietf-suit-manifest)."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Any

import click

from iotsec.cli._suitkeys import json_output, load_key, symmetric_key
from iotsec.clock import SystemClock
from iotsec.core import cbor
from iotsec.errors import ConfigError, IotSecError, ValidationError, VerifyError


def _read_envelope(path: str, *, allow_unsigned: bool = False) -> Any:
    from iotsec.core.suit import codec

    return codec.decode(cbor.read_any(Path(path).read_bytes()), allow_unsigned=allow_unsigned)


def _sign_alg(key: Any, alg: str | None) -> int:
    from iotsec.core.cose import Algorithm, alg_from_name

    if alg:
        return int(alg_from_name(alg))
    if key.alg is not None:
        return int(key.alg)
    crv = getattr(key, "crv", None)
    name = getattr(crv, "name", str(crv))
    table = {
        "P_256": Algorithm.ES256,
        "P_384": Algorithm.ES384,
        "P_521": Algorithm.ES512,
        "ED25519": Algorithm.EDDSA,
    }
    if name.upper() in table:
        return int(table[name.upper()])
    raise ConfigError(f"cannot choose a signature algorithm for {key!r}; pass --alg", reason="suit.key.alg")


def _write(path: str, data: bytes, fmt: str) -> None:
    out = data if fmt == "cbor" else (data.hex() + "\n").encode()
    if path == "-":
        sys.stdout.buffer.write(out)
    else:
        Path(path).write_bytes(out)


@click.group(name="suit")
def group() -> None:
    """SUIT manifests: create, sign, show, verify, process (draft-ietf-suit-manifest)."""


@group.command()
@click.argument("description", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", required=True, help="Unsigned envelope to write ('-' for stdout).")
@click.option("--format", "fmt", type=click.Choice(["cbor", "hex"]), default="cbor", show_default=True)
@click.pass_context
def create(ctx: click.Context, description: str, output: str, fmt: str) -> None:
    """Build an unsigned envelope from a JSON or YAML DESCRIPTION (image files relative to it)."""
    import yaml

    from iotsec.core.suit import builder, codec

    path = Path(description)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError("a description is UTF-8 JSON or YAML text", reason="suit.description") from exc
    try:
        desc = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ValidationError(f"cannot parse the description: {exc}", reason="suit.description") from exc
    if not isinstance(desc, dict):
        raise ValidationError("a description is a map", reason="suit.description")
    from iotsec.core.suit import builder_ext  # companion options (issue 4): encryption, update mgmt

    names = [*builder.image_files(desc), *builder_ext.extra_files(desc)]
    images = {name: (path.parent / name).read_bytes() for name in names}
    use_ext = builder_ext.uses_companions(desc)
    env = builder_ext.build_extended(desc, images) if use_ext else builder.build(desc, images)
    data = codec.encode(env)
    _write(output, data, fmt)
    if output != "-":
        info = {
            "output": output,
            "bytes": len(data),
            "manifest_bytes": len(env.manifest_bytes),
            "sequence_number": env.manifest.sequence_number,
            "components": len(env.manifest.components),
        }
        click.echo(
            json.dumps(info)
            if json_output(ctx)
            else f"wrote {output}: {len(data)} bytes, manifest {len(env.manifest_bytes)} bytes, "
            f"sequence number {env.manifest.sequence_number}, {len(env.manifest.components)} component(s)"
        )


@group.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--key", "keys", multiple=True, help="Private key (PEM, JWK, COSE_Key) to sign with; repeatable."
)
@click.option("--alg", default=None, help="Signature algorithm (ES256, ESP256, EdDSA, Ed25519...).")
@click.option("--mac", "macs", multiple=True, help="MAC key file (raw, hex, JWK or COSE_Key): HMAC 256/256.")
@click.option("--deterministic", is_flag=True, help="Deterministic ECDSA (RFC 6979).")
@click.option("--replace", is_flag=True, help="Drop existing signatures first.")
@click.option("-o", "--output", required=True)
@click.option("--format", "fmt", type=click.Choice(["cbor", "hex"]), default="cbor", show_default=True)
@click.pass_context
def sign(  # noqa: PLR0917
    ctx: click.Context,
    source: str,
    keys: tuple[str, ...],
    alg: str | None,
    macs: tuple[str, ...],
    deterministic: bool,
    replace: bool,
    output: str,
    fmt: str,
) -> None:
    """Sign (or MAC) an envelope or manifest given as CBOR, hex or diagnostic notation."""
    from iotsec.core.cose import Algorithm
    from iotsec.core.suit import codec
    from iotsec.core.suit.auth import sign_envelope

    if not keys and not macs:
        raise click.UsageError("give --key and/or --mac")
    env = _read_envelope(source, allow_unsigned=True)
    signing = [(k, _sign_alg(k, alg)) for k in map(load_key, keys)]
    mac_keys = [
        (k, int(k.alg) if k.alg is not None else int(Algorithm.HMAC_256_256))
        for k in map(symmetric_key, macs)
    ]
    signed = sign_envelope(env, keys=signing, mac_keys=mac_keys, deterministic=deterministic, replace=replace)
    from dataclasses import replace as dc_replace

    data = codec.encode(dc_replace(signed, tagged=True))
    _write(output, data, fmt)
    if output != "-":
        n = len(signed.authentication.blocks) if signed.authentication else 0
        click.echo(
            json.dumps({"output": output, "bytes": len(data), "blocks": n})
            if json_output(ctx)
            else f"wrote {output}: {len(data)} bytes, {n} authentication block(s)"
        )


@group.command()
@click.argument("envelope", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def show(ctx: click.Context, envelope: str) -> None:
    """Print ENVELOPE as annotated CBOR diagnostic notation (like the spec's examples)."""
    from iotsec.core.suit import show as render

    env = _read_envelope(envelope, allow_unsigned=True)
    if json_output(ctx):
        man = env.manifest
        click.echo(
            json.dumps(
                {
                    "sequence_number": man.sequence_number,
                    "components": [[s.hex() for s in c] for c in man.components],
                    "sequences": sorted(int(k) for k in man.sequences),
                    "severed": sorted(int(k) for k in env.severed),
                    "integrated": sorted(env.integrated),
                    "blocks": len(env.authentication.blocks) if env.authentication else 0,
                    "diagnostic": render.show(env),
                }
            )
        )
    else:
        click.echo(render.show(env))


def _anchors(keys: tuple[str, ...], macs: tuple[str, ...]) -> list[Any]:
    anchors = [load_key(k) for k in keys] + [symmetric_key(m) for m in macs]
    if not anchors:
        raise click.UsageError("give at least one --key (or --mac)")
    return [a.public() if getattr(a, "has_private", False) and a.kty != 4 else a for a in anchors]


@group.command()
@click.argument("envelope", type=click.Path(exists=True, dir_okay=False))
@click.option("--key", "keys", multiple=True, help="Trusted public key (PEM, JWK, COSE_Key); repeatable.")
@click.option("--mac", "macs", multiple=True, help="Trusted MAC key file.")
@click.option("--all", "require_all", is_flag=True, help="Fail unless every authentication block verifies.")
@click.pass_context
def verify(
    ctx: click.Context, envelope: str, keys: tuple[str, ...], macs: tuple[str, ...], require_all: bool
) -> None:
    """Check the manifest digest, the signatures/MACs and severed members. Exit 0 valid, 1 invalid."""
    from iotsec.core.suit import profiles
    from iotsec.core.suit.auth import authenticate
    from iotsec.core.suit.processor import resolve_sequences
    from iotsec.core.suit.validate import check_manifest

    # §6.2: the signatures are checked before the manifest is parsed
    env, result = authenticate(cbor.read_any(Path(envelope).read_bytes()), _anchors(keys, macs))
    if require_all and result.failed:
        raise VerifyError(
            f"{len(result.failed)} authentication block(s) do not verify", reason="suit.auth.partial"
        )
    warnings = check_manifest(env.manifest, resolve_sequences(env))
    if json_output(ctx):
        click.echo(
            json.dumps(
                {
                    "valid": True,
                    "sequence_number": env.manifest.sequence_number,
                    "verified": [list(v) for v in result.verified],
                    "failed": [list(f) for f in result.failed],
                    "warnings": warnings,
                }
            )
        )
    else:
        for i, kind, alg in result.verified:
            click.echo(f"block {i}: {kind} alg {alg}: verified")
        for i, kind, why in result.failed:
            click.echo(f"block {i}: {kind}: not verified ({why})")
        algs = [a for _, _, a in result.verified if isinstance(a, int)]
        assert env.authentication is not None
        names = profiles.matching(env.authentication.digest.alg, algs)
        click.echo(f"suit-mti profile: {', '.join(names) if names else 'none'}")
        for w in warnings:
            click.echo(f"warning: {w}")
        click.echo(
            f"valid: sequence number {env.manifest.sequence_number}, "
            f"{len(env.severed)} severed member(s) checked"
        )


def _identity(
    store: Path, vendor_ids: tuple[str, ...], class_ids: tuple[str, ...], device_ids: tuple[str, ...]
) -> Any:
    from iotsec.core.suit.builder import class_id, vendor_id
    from iotsec.core.suit.processor import DeviceIdentity

    vendors = [uuid.UUID(v).bytes for v in vendor_ids]
    classes = [uuid.UUID(c).bytes for c in class_ids]
    devices = [uuid.UUID(d).bytes for d in device_ids]
    cfg = store / "identity.json"
    if cfg.exists():
        try:
            raw = json.loads(cfg.read_text())
            vendors += [uuid.UUID(v).bytes for v in raw.get("vendor-ids", [])]
            classes += [uuid.UUID(c).bytes for c in raw.get("class-ids", [])]
            devices += [uuid.UUID(d).bytes for d in raw.get("device-ids", [])]
            if "vendor-domain" in raw:
                v = vendor_id(raw["vendor-domain"])
                vendors.append(v.bytes)
                classes += [class_id(v, info).bytes for info in raw.get("model-info", [])]
        except (ValueError, AttributeError, TypeError) as exc:
            raise ConfigError(f"bad {cfg}: {exc}", reason="suit.identity") from exc
    return DeviceIdentity(frozenset(vendors), frozenset(classes), frozenset(devices))


@group.command()
@click.argument("envelope", type=click.Path(exists=True, dir_okay=False))
@click.option("--key", "keys", multiple=True, help="Trusted public key; repeatable.")
@click.option("--mac", "macs", multiple=True, help="Trusted MAC key file.")
@click.option(
    "--store",
    "store_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Component store directory (created if missing).",
)
@click.option(
    "--payloads",
    type=click.Path(exists=True, file_okay=False),
    help="Directory resolving fetch URIs by their last path segment.",
)
@click.option("--vendor-id", "vendor_ids", multiple=True, help="Device vendor UUID (also DIR/identity.json).")
@click.option("--class-id", "class_ids", multiple=True, help="Device class UUID.")
@click.option("--device-id", "device_ids", multiple=True, help="Device UUID.")
@click.option("--procedure", type=click.Choice(["update", "invoke", "all"]), default="all", show_default=True)
@click.option(
    "--report", "report_file", help="Write a SUIT report (draft-ietf-suit-report) here, also on failure."
)
@click.option("--report-key", help="Sign the SUIT report with this private key (COSE_Sign1).")
@click.pass_context
def process(  # noqa: PLR0917
    ctx: click.Context,
    envelope: str,
    keys: tuple[str, ...],
    macs: tuple[str, ...],
    store_dir: str,
    payloads: str | None,
    vendor_ids: tuple[str, ...],
    class_ids: tuple[str, ...],
    device_ids: tuple[str, ...],
    procedure: str,
    report_file: str | None,
    report_key: str | None,
) -> None:
    """Verify ENVELOPE, then run it against a filesystem component store (atomic install)."""
    from iotsec.agent.suit_store import DirectoryFetcher, FileStore
    from iotsec.core.suit.auth import authenticate
    from iotsec.core.suit.codec import component_name
    from iotsec.core.suit.processor import Procedure
    from iotsec.core.suit.processor import process as run
    from iotsec.core.suit.report import iotsec_capabilities, sign_report, wants_capabilities
    from iotsec.core.suit.report_build import failure_report, report_from_processing

    def write_report(content: Any) -> None:
        if report_file:
            data = sign_report(content, load_key(report_key)) if report_key else content.encode()
            Path(report_file).write_bytes(data)

    def caps(err: IotSecError | None) -> Any:
        return iotsec_capabilities() if wants_capabilities(err) else None

    anchors = _anchors(keys, macs)
    env = None
    raw = Path(envelope).read_bytes()
    try:
        # §6.2: verify before parsing the manifest, and before the store directory is even opened
        env, _ = authenticate(cbor.read_any(raw), anchors)
        store = FileStore(store_dir)
        identity = _identity(Path(store_dir), vendor_ids, class_ids, device_ids)
        report = run(
            env,
            authenticated=True,  # just verified by authenticate(); digests are checked again
            trust_anchors=anchors,
            identity=identity,
            stored_sequence=store.sequence_number,
            now=SystemClock().timestamp(),
            store=store,
            fetcher=DirectoryFetcher(payloads) if payloads else None,
            procedure=Procedure(procedure),
        )
    except IotSecError as err:
        if report_file:
            write_report(failure_report(err, env or _reference_envelope(raw), capabilities=caps(err)))
        raise
    write_report(report_from_processing(report, env, capabilities=caps(report.error)))
    _print_report(ctx, report, store_dir, component_name)
    report.check()


def _reference_envelope(raw: bytes) -> Any:
    """The envelope of a refused manifest, only to name it in the SUIT report (its URI and the
    digest in its authentication wrapper, draft-ietf-suit-report §4), as ``suit apply`` names it;
    None when it does not decode. Nothing of it is processed."""
    from iotsec.core.suit import codec

    try:
        return codec.decode(cbor.read_any(raw))
    except IotSecError:
        return None


def _print_report(ctx: click.Context, report: Any, store_dir: str, component_name: Any) -> None:
    if json_output(ctx):
        click.echo(
            json.dumps(
                {
                    "ok": report.ok,
                    "reason": report.reason,
                    "committed": report.committed,
                    "sequence_number": report.sequence_number,
                    "actions": [
                        {"kind": a.kind, "component": [s.hex() for s in a.component], "detail": a.detail}
                        for a in report.actions
                    ],
                    "records": [
                        {
                            "sequence": r.sequence,
                            "command": r.command,
                            "component": r.component,
                            "ok": r.ok,
                            "detail": r.detail,
                        }
                        for r in report.records
                    ],
                }
            )
        )
    else:
        for r in report.records:
            where = "" if r.component is None else f" component {r.component}"
            click.echo(
                f"{r.sequence}: {r.command}{where}: {'ok' if r.ok else 'FAILED'}"
                + (f" ({r.detail})" if r.detail else "")
            )
        for a in report.actions:
            click.echo(f"action: {a.kind} {component_name(a.component)} {a.detail}".rstrip())
        if report.ok:
            click.echo(f"processed: sequence number {report.sequence_number} committed to {store_dir}")
        else:
            click.echo(f"failed: nothing committed; {store_dir} is unchanged")


# SUIT companion drafts (issue 4): encrypt, decrypt, delegate, apply, report show|verify
from iotsec.cli import suit_extra as _suit_extra  # noqa: E402

_suit_extra.register(group)
