"""``iotsec suit`` commands of the SUIT companion drafts (registered on the ``suit`` group).

* ``suit encrypt PAYLOAD --to DEVICE_PUB|--kek KEY -o OUT`` (draft-ietf-suit-firmware-encryption):
  streams PAYLOAD into the detached ciphertext OUT and writes the SUIT_Encryption_Info to
  ``OUT.info`` (or ``--info``).
* ``suit decrypt CIPHERTEXT --info INFO --key KEY -o OUT`` (the device side, for checking).
* ``suit delegate --issuer-key OEM.pem --subject PUB --component app ... [--envelope IN -o OUT]``:
  a delegation CWT, optionally attached to an envelope's suit-delegation.
* ``suit apply ENV --key PUB --store DIR ... [--report OUT --report-key DEV.pem]``: process with
  dependencies, decryption, update-management inputs and signer authority; write a SUIT_Report.
* ``suit report show FILE`` / ``suit report verify FILE --key PUB`` (draft-ietf-suit-report).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from iotsec.cli._suitkeys import any_key, json_output, load_key, symmetric_key
from iotsec.errors import ConfigError, IotSecError

CHUNK = 1 << 20


def _with_kid(key: Any, kid: str | None) -> Any:
    if kid is not None:
        key.kid = kid.encode()
    return key


@click.command("encrypt")
@click.argument("payload", type=click.Path(exists=True, dir_okay=False))
@click.option("--to", "to", multiple=True, help="Device public key (PEM/JWK/COSE_Key): ECDH-ES + AES-KW.")
@click.option("--kek", "keks", multiple=True, help="Key-encryption key file (raw, hex or COSE_Key): AES-KW.")
@click.option("--kid", "kids", multiple=True, help="kid for the --to/--kek keys, in order.")
@click.option(
    "--alg",
    default="A128GCM",
    show_default=True,
    type=click.Choice(["A128GCM", "A256GCM", "A128CTR", "A256CTR", "ChaCha20/Poly1305"]),
)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Ciphertext file.")
@click.option(
    "--info", "info_out", type=click.Path(dir_okay=False), help="SUIT_Encryption_Info file (OUT.info)."
)
@click.pass_context
def encrypt_cmd(  # noqa: PLR0917
    ctx: click.Context,
    payload: str,
    to: tuple[str, ...],
    keks: tuple[str, ...],
    kids: tuple[str, ...],
    alg: str,
    output: str,
    info_out: str | None,
) -> None:
    """Encrypt PAYLOAD for one or many devices (one CEK, one recipient each)."""
    from iotsec.core.cose import alg_from_name
    from iotsec.core.suit.encryption import encrypt_chunks

    keys = [load_key(p) for p in to] + [symmetric_key(p) for p in keks]
    if not keys:
        raise click.UsageError("give at least one --to or --kek")
    for n, kid in enumerate(kids[: len(keys)]):
        _with_kid(keys[n], kid)
    info_path = Path(info_out or output + ".info")
    size = 0
    with open(payload, "rb") as src, open(output, "wb") as dst:

        def chunks() -> Any:
            nonlocal size
            while block := src.read(CHUNK):
                size += len(block)
                yield block

        info = encrypt_chunks(chunks(), keys, dst.write, int(alg_from_name(alg)))
    info_path.write_bytes(info)
    summary = {
        "ciphertext": output,
        "info": str(info_path),
        "alg": alg,
        "recipients": len(keys),
        "plaintext_bytes": size,
    }
    click.echo(
        json.dumps(summary)
        if json_output(ctx)
        else f"encrypted {size} bytes with {alg} for {len(keys)} recipient(s): {output}, {info_path}"
    )


@click.command("decrypt")
@click.argument("ciphertext", type=click.Path(exists=True, dir_okay=False))
@click.option("--info", "info_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--key", "keys", multiple=True, required=True, help="Device private key or KEK file.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
def decrypt_cmd(ciphertext: str, info_path: str, keys: tuple[str, ...], output: str) -> None:
    """Decrypt CIPHERTEXT with its SUIT_Encryption_Info (streamed; the output is removed on failure)."""
    from iotsec.core.suit.encryption import EncryptionInfo, decrypt_into

    info = EncryptionInfo.decode(Path(info_path).read_bytes())
    loaded = [any_key(p) for p in keys]
    out = Path(output)
    tmp = out.with_name(out.name + ".part")
    try:
        with open(ciphertext, "rb") as src, open(tmp, "wb") as dst:
            n = decrypt_into(info, loaded, iter(lambda: src.read(CHUNK), b""), dst.write)
        tmp.replace(out)  # only authenticated plaintext (AEAD) gets the final name
    finally:
        tmp.unlink(missing_ok=True)
    click.echo(f"decrypted {n} bytes to {output}")


@click.command("delegate")
@click.option("--issuer-key", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--subject",
    "subject_key",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="The delegate's public key.",
)
@click.option("--issuer", default="oem", show_default=True)
@click.option("--subject-name", default="operator", show_default=True)
@click.option(
    "--component",
    "components",
    multiple=True,
    help="Component id as /-separated text segments; a trailing /* is a prefix. Repeatable.",
)
@click.option("--expires", type=int, help="exp (seconds since the epoch).")
@click.option(
    "--envelope",
    "envelope_in",
    type=click.Path(exists=True, dir_okay=False),
    help="Attach the CWT to this envelope's suit-delegation.",
)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
def delegate_cmd(  # noqa: PLR0917
    issuer_key: str,
    subject_key: str,
    issuer: str,
    subject_name: str,
    components: tuple[str, ...],
    expires: int | None,
    envelope_in: str | None,
    output: str,
) -> None:
    """Issue a delegation CWT (OEM -> operator) for some components."""
    from dataclasses import replace

    from iotsec.core import cbor
    from iotsec.core.suit import codec
    from iotsec.core.suit.trust import issue_delegation, pattern

    scope = None
    if components:
        scope = []
        for c in components:
            segs = c.split("/")
            prefix = segs[-1] == "*"
            scope.append(pattern(segs[:-1] if prefix else segs, prefix))
    cwt = issue_delegation(
        load_key(issuer_key),
        load_key(subject_key),
        issuer=issuer,
        subject=subject_name,
        components=scope,
        expires=expires,
    )
    if envelope_in is None:
        Path(output).write_bytes(cwt)
        click.echo(f"delegation CWT ({len(cwt)} bytes) written to {output}")
        return
    env = codec.decode(cbor.read_any(Path(envelope_in).read_bytes()))
    chains = list(env.delegation or [])
    chains.append([cwt])
    Path(output).write_bytes(codec.encode(replace(env, delegation=chains)))
    click.echo(f"envelope with {len(chains)} delegation chain(s) written to {output}")


def _parse_versions(items: tuple[str, ...]) -> dict[tuple[bytes, ...], list[int]]:
    from iotsec.core.suit.update_mgmt import parse_semver

    out = {}
    for item in items:
        name, sep, ver = item.partition("=")
        if not sep:
            raise ConfigError(f"--version wants COMPONENT=x.y.z, got {item!r}", reason="suit.cli.version")
        out[tuple(s.encode() for s in name.split("/"))] = parse_semver(ver)
    return out


@click.command("apply")
@click.argument("envelope", type=click.Path(exists=True, dir_okay=False))
@click.option("--key", "keys", multiple=True, help="Trusted public key (full authority); repeatable.")
@click.option("--mac", "macs", multiple=True, help="Trusted MAC key file.")
@click.option(
    "--acl",
    type=click.Path(exists=True, dir_okay=False),
    help='JSON {"name": {"key": "pub.pem", "components": [["app"], ["cfg", "*"]]}}.',
)
@click.option("--store", "store_dir", required=True, type=click.Path(file_okay=False))
@click.option("--payloads", type=click.Path(exists=True, file_okay=False))
@click.option("--decrypt-key", "decrypt_keys", multiple=True, help="Device private key or KEK file.")
@click.option("--vendor-id", "vendor_ids", multiple=True)
@click.option("--class-id", "class_ids", multiple=True)
@click.option("--device-id", "device_ids", multiple=True)
@click.option("--battery", type=int, help="Battery level in mWh (update-management §4.2).")
@click.option("--consent/--no-consent", default=False, help="The user/application authorises updates.")
@click.option("--version", "versions", multiple=True, help="COMPONENT=x.y.z version a component asserts.")
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(dir_okay=False),
    help="Read the device inputs from the system instead: this consent policy file, sysfs power "
    "supplies and STORE/versions.json (agent.suit_inputs).",
)
@click.option(
    "--power-supply", default="/sys/class/power_supply", show_default=True, type=click.Path(file_okay=False)
)
@click.option(
    "--procedure",
    type=click.Choice(["update", "invoke", "all", "uninstall", "stage", "install"]),
    default="all",
)
@click.option("--report", "report_out", type=click.Path(dir_okay=False), help="Write the SUIT_Report here.")
@click.option(
    "--report-key", type=click.Path(exists=True, dir_okay=False), help="Sign the report (COSE_Sign1)."
)
@click.option("--nonce", help="Hex nonce for the report.")
@click.option(
    "--report-encrypt-key",
    type=click.Path(exists=True, dir_okay=False),
    help="Encrypt the signed report's payload (COSE_Encrypt0) with this symmetric key file.",
)
@click.pass_context
def apply_cmd(  # noqa: PLR0917
    ctx: click.Context,
    envelope: str,
    keys: tuple[str, ...],
    macs: tuple[str, ...],
    acl: str | None,
    store_dir: str,
    payloads: str | None,
    decrypt_keys: tuple[str, ...],
    vendor_ids: tuple[str, ...],
    class_ids: tuple[str, ...],
    device_ids: tuple[str, ...],
    battery: int | None,
    consent: bool,
    versions: tuple[str, ...],
    policy_file: str | None,
    power_supply: str,
    procedure: str,
    report_out: str | None,
    report_key: str | None,
    nonce: str | None,
    report_encrypt_key: str | None,
) -> None:
    """Process ENVELOPE with the companion drafts and (optionally) write a signed SUIT_Report."""
    from iotsec.agent.suit_stream import RefCountingFileStore, StreamingDirectoryFetcher
    from iotsec.cli.suit import _anchors, _identity, _read_envelope
    from iotsec.clock import SystemClock
    from iotsec.core.suit.codec import component_name
    from iotsec.core.suit.companion import process_suit
    from iotsec.core.suit.report import SuitReport, iotsec_capabilities, sign_report, wants_capabilities
    from iotsec.core.suit.report_build import failure_report, report_from_result
    from iotsec.core.suit.trust import Authority, named_scope
    from iotsec.core.suit.update_mgmt import StaticInputs

    def write_report(report: SuitReport) -> None:
        if report_out:
            data = (
                sign_report(
                    report,
                    load_key(report_key),
                    encrypt_key=symmetric_key(report_encrypt_key) if report_encrypt_key else None,
                )
                if report_key
                else report.encode()
            )
            Path(report_out).write_bytes(data)

    report_nonce = bytes.fromhex(nonce) if nonce and report_out else None
    try:
        env = _read_envelope(envelope)
    except IotSecError as err:  # an envelope that does not decode is reported too, as by `suit process`
        caps = iotsec_capabilities() if wants_capabilities(err) else None
        write_report(failure_report(err, None, nonce=report_nonce, capabilities=caps))
        raise
    # anchors named after their key files (the report and messages name the signer)
    plain = _anchors(keys, macs) if keys or macs else []
    names = [Path(p).stem.removesuffix(".pub") for p in (*keys, *macs)]
    anchors: list[Any] = [Authority.anchor(n, k) for n, k in zip(names, plain, strict=True)]
    if acl:
        try:
            spec = json.loads(Path(acl).read_text())
            for name, entry in spec.items():
                key = load_key(str(Path(acl).parent / entry["key"]))
                anchors.append(Authority.anchor(name, key, named_scope(entry)))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"bad ACL file {acl}: {exc}", reason="suit.cli.acl") from exc
    if not anchors:
        raise click.UsageError("give at least one --key, --mac or --acl")
    dkeys = [any_key(p) for p in decrypt_keys]
    store = RefCountingFileStore(store_dir)  # streams payloads, keeps reference counts
    inputs: Any = StaticInputs(battery=battery, consent=consent, versions=_parse_versions(versions))
    if policy_file is not None:
        from iotsec.agent.suit_inputs import LinuxDeviceInputs

        inputs = LinuxDeviceInputs(policy=policy_file, store=store_dir, power_supply=power_supply)
    result = process_suit(
        env,
        anchors=anchors,
        identity=_identity(Path(store_dir), vendor_ids, class_ids, device_ids),
        stored_sequence=store.sequence_number,
        now=SystemClock().timestamp(),
        store=store,
        fetcher=StreamingDirectoryFetcher(payloads) if payloads else None,
        procedure=procedure,
        inputs=inputs,
        decryption_keys=dkeys,
    )
    if report_out:
        caps = iotsec_capabilities() if wants_capabilities(result.error) else None
        write_report(report_from_result(result, nonce=report_nonce, capabilities=caps))
    if json_output(ctx):
        click.echo(
            json.dumps(
                {
                    "ok": result.ok,
                    "reason": result.reason,
                    "committed": result.committed,
                    "signers": result.signers,
                    "waiting": result.waiting,
                    "message": str(result.error) if result.error else "",
                    "actions": [
                        {"kind": a.kind, "component": [s.hex() for s in a.component], "detail": a.detail}
                        for a in result.actions
                    ],
                }
            )
        )
    else:
        for r in result.records:
            where = "" if r.component is None else f" component {r.component}"
            click.echo(
                f"{r.sequence}: {r.command}{where}: {'ok' if r.ok else 'FAILED'}"
                + (f" ({r.detail})" if r.detail else "")
            )
        if result.ok:
            for a in result.actions:  # committed (fetch, copy, write, metadata) or asked for (invoke)
                click.echo(f"action: {a.kind} {component_name(a.component)} {a.detail}".rstrip())
            click.echo(
                f"applied: sequence number {result.sequence_number}, signed by {', '.join(result.signers)}"
            )
    result.check()


@click.group("report")
def report_group() -> None:
    """SUIT_Report: show and verify (draft-ietf-suit-report)."""


@report_group.command("show")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--decrypt-key", "decrypt_keys", multiple=True, help="Key file opening an encrypted report.")
@click.option("--diag", is_flag=True, help="Also print the report as CBOR diagnostic notation.")
@click.pass_context
def report_show(ctx: click.Context, path: str, decrypt_keys: tuple[str, ...], diag: bool) -> None:
    """Print a SUIT_Report (plain or inside COSE_Sign1/Mac0) without verifying it."""
    from iotsec.core import cbor
    from iotsec.core.suit.report import Reason, unwrap_report
    from iotsec.core.suit.report_render import render

    report, container = unwrap_report(Path(path).read_bytes(), [symmetric_key(p) for p in decrypt_keys])
    if json_output(ctx):
        out: dict[str, Any] = {
            "container": container,
            "reference_uri": report.reference_uri,
            "manifest_digest": report.manifest_digest.value.hex(),
            "ok": report.ok,
            "records": len(report.records),
        }
        if report.result is not None:
            out["reason"] = Reason(report.result.reason).name.lower().replace("_", "-")
            out["text"] = report.result.text
            out["component"] = report.result.record.component
        click.echo(json.dumps(out))
        return
    click.echo(f"container: {container}")
    if diag:
        click.echo(cbor.to_diag(report.encode()))
    for line in render(report):
        click.echo(line)


@report_group.command("verify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--key", "keys", multiple=True, required=True, help="Device public key or MAC key file.")
@click.option("--decrypt-key", "decrypt_keys", multiple=True, help="Key file opening an encrypted report.")
def report_verify(path: str, keys: tuple[str, ...], decrypt_keys: tuple[str, ...]) -> None:
    """Verify a signed (or MACed) SUIT_Report; exit 0 if valid, 1 with the reason if not."""
    from iotsec.core.suit.report import verify_report

    loaded = [any_key(p) for p in keys]
    report = verify_report(
        Path(path).read_bytes(), loaded, decrypt_keys=[symmetric_key(p) for p in decrypt_keys]
    )
    click.echo(
        f"valid: report for {report.reference_uri or '(no URI)'} "
        f"digest {report.manifest_digest.value.hex()[:16]}..., result " + ("ok" if report.ok else "failed")
    )


@report_group.command("capabilities")
@click.option(
    "--component", "components", multiple=True, help="Component id as /-separated text; repeatable."
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the CBOR here.")
@click.pass_context
def report_capabilities(ctx: click.Context, components: tuple[str, ...], output: str | None) -> None:
    """This processor's SUIT_Capability_Report (draft-ietf-suit-report §6)."""
    from iotsec.core import cbor
    from iotsec.core.suit.report import iotsec_capabilities

    caps = iotsec_capabilities([tuple(s.encode() for s in c.split("/")) for c in components])
    data = cbor.dumps(caps.to_cbor())
    if output:
        Path(output).write_bytes(data)
    if json_output(ctx):
        click.echo(
            json.dumps(
                {
                    "commands": list(caps.commands),
                    "parameters": list(caps.parameters),
                    "algorithms": list(caps.algorithms),
                }
            )
        )
    else:
        click.echo(cbor.to_diag(data))


def register(group: click.Group) -> None:
    """Add the companion commands to the ``suit`` group."""
    for cmd in (encrypt_cmd, decrypt_cmd, delegate_cmd, apply_cmd, report_group):
        group.add_command(cmd)


__all__ = ["register"]
