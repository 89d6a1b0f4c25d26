"""``iotsec eat``: create, verify and show Entity Attestation Tokens (RFC 9711, RFC 9783)."""

from __future__ import annotations

import contextlib
import hmac
from enum import IntEnum
from pathlib import Path
from typing import Any

import click

from iotsec.cli._rats import emit, load_key, parse_hex, read_structured, read_token
from iotsec.core.cose import alg_from_name
from iotsec.core.eat import psa, tokens
from iotsec.core.eat._util import b64u_decode
from iotsec.core.eat.claims import Claim, claims_from_json, claims_to_json
from iotsec.errors import IotSecError, PolicyError


@click.group("eat")
def group() -> None:
    """Entity Attestation Tokens: CWT (COSE_Sign1/Mac0), JWT, UCCS; PSA tokens."""


@group.command("create")
@click.argument("claims_file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--key", "key_file", type=click.Path(exists=True, dir_okay=False), help="Signing key (PEM, JWK)."
)
@click.option("--symmetric", is_flag=True, help="The key file holds raw HMAC key bytes (COSE_Mac0 / HS256).")
@click.option("--format", "fmt", type=click.Choice(["cwt", "jwt", "uccs"]), default="cwt", show_default=True)
@click.option("--alg", default=None, help="Algorithm (ES256, EdDSA, HMAC 256/256, HS256...).")
@click.option("--nonce", default=None, help="Nonce (hex) to bind the token to, overriding eat_nonce.")
@click.option("--kid", default=None, help="Key identifier to put in the header.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write here (default: stdout)."
)
def create(  # noqa: PLR0917
    claims_file: str,
    key_file: str | None,
    symmetric: bool,
    fmt: str,
    alg: str | None,
    nonce: str | None,
    kid: str | None,
    output: str | None,
) -> None:
    """Create a token from CLAIMS_FILE (JSON or YAML with the JSON claim names of RFC 9711)."""
    obj = read_structured(claims_file)
    is_psa = isinstance(obj, dict) and obj.get("eat_profile") in psa.PROFILES
    claims: dict[int | str, Any] = psa.claims_from_json(obj) if is_psa else claims_from_json(obj)
    n = parse_hex(nonce, "--nonce")
    if n is not None:
        claims[int(Claim.NONCE)] = n
        if is_psa:
            psa.validate_psa(claims)  # RFC 9783 §4.1.1: 32, 48 or 64 bytes
    if fmt == "uccs":
        out: bytes = tokens.create_uccs(claims)
    else:
        if key_file is None:
            raise click.UsageError("--key is required for cwt and jwt")
        key = load_key(key_file, symmetric=symmetric)
        if fmt == "jwt":
            out = tokens.create_jwt(
                claims, key, alg=alg or ("HS256" if symmetric else "ES256"), kid=kid
            ).encode()
        else:
            out = tokens.create_cwt(
                claims, key, alg=alg_from_name(alg) if alg else None, kid=kid.encode() if kid else None
            )
    if output:
        Path(output).write_bytes(out)
    elif fmt == "jwt":
        click.echo(out.decode())
    else:
        click.echo(out.hex())


def _describe(tok: tokens.Token) -> dict[str, Any]:
    d: dict[str, Any] = {"format": tok.kind, "verified": tok.verified}
    if tok.alg is not None:
        d["alg"] = tok.alg.name if isinstance(tok.alg, IntEnum) else str(tok.alg)
    if tok.kid is not None:
        d["kid"] = tok.kid.hex()
    d["claims"] = claims_to_json(tok.claims)
    if tok.claims.get(Claim.PROFILE) in psa.PROFILES:
        d["claims"] = psa.rename_json(d["claims"])
    if tok.detached:
        d["detached"] = {n: claims_to_json(c) for n, c in tok.detached.items()}
    return d


@group.command("verify")
@click.argument("token", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Verification key: PEM, JWK (or JWK set), COSE_Key; raw bytes with --symmetric.",
)
@click.option("--symmetric", is_flag=True, help="The key file holds raw HMAC key bytes.")
@click.option("--nonce", default=None, help="Expected nonce (hex): refuse the token unless it carries it.")
def verify(token: str, key_file: str, symmetric: bool, nonce: str | None) -> None:
    """Verify TOKEN (CWT/JWT/bundle; binary, hex or diagnostic); PSA tokens are also checked against
    RFC 9783. Exit 0 when valid, 1 otherwise (reason on stderr)."""
    key = load_key(key_file, symmetric=symmetric)
    data = read_token(token)
    tok = tokens.verify_json_deb(data, key) if data[:1] == b"[" else tokens.verify(data, key)
    if tok.claims.get(Claim.PROFILE) in psa.PROFILES:
        psa.validate_psa(tok.claims)
    n = parse_hex(nonce, "--nonce")
    if n is not None:
        got = tok.claims.get(Claim.NONCE)
        got_list = got if isinstance(got, list) else [got]
        raw: list[bytes] = []
        for g in got_list:
            if isinstance(g, bytes):
                raw.append(g)
            elif isinstance(g, str):  # JSON nonces are text: as is, or base64url of the bytes
                raw.append(g.encode())
                with contextlib.suppress(IotSecError):
                    raw.append(b64u_decode(g))
        if not any(hmac.compare_digest(g, n) for g in raw):
            raise PolicyError("the token does not carry the expected nonce", reason="eat.nonce.mismatch")
    emit(_describe(tok))


@group.command("show")
@click.argument("token", type=click.Path(exists=True, dir_okay=False))
def show(token: str) -> None:
    """Decode TOKEN without verifying it and print its header and claims (JSON names)."""
    emit(_describe(tokens.peek(read_token(token))))


@group.command("attest")
@click.option("--url", required=True, help="Verifier base URL, e.g. https://127.0.0.1:8443")
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="The device's attestation key (private PEM/JWK).",
)
@click.option("--ueid", required=True, help="The device's UEID (hex, RFC 9711 §4.2.1).")
@click.option(
    "--component",
    "components",
    multiple=True,
    metavar="NAME=PATH",
    help="An installed component to measure (SHA-256 of the file); repeatable.",
)
@click.option("--software", default="iotsec-device/1.0.0", show_default=True, help="NAME/VERSION.")
@click.option("--debug-enabled", is_flag=True, help="Report dbgstat 'enabled'.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["cwt", "jwt"]),
    default="cwt",
    show_default=True,
    help="Evidence envelope.",
)
@click.option("--cacert", type=click.Path(exists=True, dir_okay=False), help="CA/certificate to trust (PEM).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the EAR here.")
def attest_cmd(  # noqa: PLR0917
    url: str,
    key_file: str,
    ueid: str,
    components: tuple[str, ...],
    software: str,
    debug_enabled: bool,
    fmt: str,
    cacert: str | None,
    output: str | None,
) -> None:
    """Run one challenge-response round with a verifier as this device's attester; print the session."""
    import hashlib
    import ssl

    import httpx

    from iotsec.adapters.http.verifier_client import VerifierClient
    from iotsec.agent.attester import Attester, StaticPlatform, attest
    from iotsec.clock import SYSTEM
    from iotsec.core.eat.claims import DebugStatus

    comps = []
    for spec in components:
        name, sep, path = spec.partition("=")
        if not sep:
            raise click.BadParameter(f"{spec!r}: use NAME=PATH", param_hint="--component")
        comps.append((name, hashlib.sha256(Path(path).read_bytes()).digest()))
    sw_name, _, sw_version = software.partition("/")
    plat = StaticPlatform(
        ueid=parse_hex(ueid, "--ueid") or b"",
        sw=(sw_name, sw_version or "0"),
        comps=comps,
        debug=DebugStatus.ENABLED if debug_enabled else DebugStatus.DISABLED_SINCE_BOOT,
    )
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=cacert) if cacert else True
    with httpx.Client(verify=verify, timeout=30) as http:
        session = attest(
            VerifierClient(url, http), Attester(plat, load_key(key_file), fmt=fmt), now=SYSTEM.timestamp()
        )
    if output:
        Path(output).write_text(session["result"] + "\n")
    emit({k: v for k, v in session.items() if k != "evidence"})
