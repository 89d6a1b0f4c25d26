"""``iotsec ear``: verify an EAT Attestation Result and check it against a relying-party policy."""

from __future__ import annotations

from pathlib import Path

import click

from iotsec.cli._rats import emit, load_key, parse_hex, read_structured
from iotsec.clock import SYSTEM
from iotsec.core.eat import ear as ear_mod
from iotsec.core.eat import rp
from iotsec.core.eat.signing import verify_ear


@click.group("ear")
def group() -> None:
    """EAT Attestation Results (draft-ietf-rats-ear)."""


@group.command("verify")
@click.argument("result", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="The verifier's public key: PEM, JWK or JWK set (as /.well-known/veraison/verification).",
)
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help='JSON/YAML: {"executables": "affirming", "hardware": "affirming", "status": "warning", '
    '"max_age": 3600}. Default: executables and hardware affirming.',
)
@click.option("--nonce", default=None, help="Our nonce (hex), which the EAR must echo.")
def verify(result: str, key_file: str, policy_file: str | None, nonce: str | None) -> None:
    """Verify RESULT (a JWT or CWT EAR) and apply the policy. Exit 0 when accepted, 1 otherwise."""
    key = load_key(key_file)
    e = verify_ear(Path(result).read_bytes().strip(), key)
    policy = rp.RpPolicy.from_dict(read_structured(policy_file)) if policy_file else rp.RpPolicy()
    policy.nonce = parse_hex(nonce, "--nonce")
    findings = rp.require(e, policy, now=SYSTEM.timestamp())
    emit(
        {
            "accepted": True,
            "status": e.overall().json_name,
            "ear": ear_mod.to_json(e),
            "findings": [f.as_dict() for f in findings],
        }
    )
