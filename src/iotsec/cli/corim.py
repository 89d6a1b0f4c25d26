"""``iotsec corim``: build and show CoRIMs (reference values and attestation keys)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from iotsec.cli._rats import emit, load_key, read_structured
from iotsec.core import cbor
from iotsec.core.eat import corim as corim_mod


@click.group("corim")
def group() -> None:
    """Concise Reference Integrity Manifests (draft-ietf-rats-corim)."""


@group.command("create")
@click.argument("description", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="The CoRIM (CBOR) to write."
)
def create(description: str, output: str) -> None:
    """Build an unsigned CoRIM from DESCRIPTION (YAML/JSON, see docs/rats.md). Attestation keys are
    paths to public key files (PEM/JWK), relative to the description."""
    base = Path(description).parent

    def spki(ref: str) -> bytes:
        p = Path(ref) if Path(ref).is_absolute() else base / ref
        return load_key(str(p)).public().to_der(private=False)

    c = corim_mod.from_description(read_structured(description), load_spki=spki)
    data = corim_mod.encode(c)
    Path(output).write_bytes(data)
    click.echo(
        f"wrote {output}: {len(data)} bytes, {len(c.reference_values)} reference value triple(s), "
        f"{len(c.attest_keys)} attestation key triple(s)"
    )


@group.command("show")
@click.argument("corim_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--diag", is_flag=True, help="Print CBOR diagnostic notation instead of the description.")
def show(corim_file: str, diag: bool) -> None:
    """Decode CORIM_FILE (binary, hex or diagnostic) and print its readable description."""
    data = cbor.read_any(Path(corim_file).read_bytes())
    c = corim_mod.decode_unsigned(data)
    if diag:
        click.echo(cbor.to_diag(data))
        return
    emit(json.loads(json.dumps(corim_mod.to_description(c))))
