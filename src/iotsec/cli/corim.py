"""``iotsec corim``: build and show CoRIMs (reference values and attestation keys)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from iotsec.cli._rats import emit, load_key, read_structured
from iotsec.core import cbor
from iotsec.core.eat import corim as corim_mod
from iotsec.core.eat.corim_signed import peek_signed_corim, sign_corim, signer_name, verify_signed_corim


@click.group("corim")
def group() -> None:
    """Concise Reference Integrity Manifests (draft-ietf-rats-corim)."""


@group.command("create")
@click.argument("description", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="The CoRIM (CBOR) to write."
)
@click.option(
    "--sign",
    "sign_key",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Sign it (COSE_Sign1, draft-ietf-rats-corim §4.2) with this private key.",
)
@click.option("--signer", default="iotsec", show_default=True, help="Signer name for corim-meta.")
def create(description: str, output: str, sign_key: str | None, signer: str) -> None:
    """Build an unsigned CoRIM from DESCRIPTION (YAML/JSON, see docs/rats.md). Attestation keys are
    paths to public key files (PEM/JWK), relative to the description."""
    base = Path(description).parent

    def spki(ref: str) -> bytes:
        p = Path(ref) if Path(ref).is_absolute() else base / ref
        return load_key(str(p)).public().to_der(private=False)

    c = corim_mod.from_description(read_structured(description), load_spki=spki)
    data = corim_mod.encode(c)
    if sign_key:
        data = sign_corim(data, load_key(sign_key), signer=signer)
    Path(output).write_bytes(data)
    click.echo(
        f"wrote {output}: {len(data)} bytes, {len(c.reference_values)} reference value triple(s), "
        f"{len(c.attest_keys)} attestation key triple(s)"
    )


@group.command("show")
@click.argument("corim_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--diag", is_flag=True, help="Print CBOR diagnostic notation instead of the description.")
@click.option(
    "--key",
    "key_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Verify a signed CoRIM with this public key (exit 1 if it does not verify).",
)
def show(corim_file: str, diag: bool, key_file: str | None) -> None:
    """Decode CORIM_FILE (binary, hex or diagnostic; unsigned or signed) and print its description."""
    data = cbor.read_any(Path(corim_file).read_bytes())
    item = cbor.loads(data)
    signed = isinstance(item, cbor.CBORTag) and item.tag in (18, corim_mod.TAG_SIGNED_CORIM_OLD)
    if signed:
        c = verify_signed_corim(data, [load_key(key_file)]) if key_file else peek_signed_corim(data)
    else:
        c = corim_mod.decode_unsigned(data)
    if diag:
        click.echo(cbor.to_diag(data))
        return
    desc = corim_mod.to_description(c)
    if signed:
        desc = {"signed": {"signer": signer_name(data), "verified": bool(key_file)}, **desc}
    emit(json.loads(json.dumps(desc)))
