"""``iotsec verifier``: run the RATS verifier service (Veraison-compatible HTTP APIs)."""

from __future__ import annotations

from pathlib import Path

import click

from iotsec.cli._rats import emit, load_key
from iotsec.errors import ConfigError


@click.group("verifier")
def group() -> None:
    """The RATS verifier: challenge-response sessions, endorsements, signed EARs."""


@group.command("serve")
@click.option("--db", "db_url", default=None, help="Database URL (default: SQLite in $IOTSEC_HOME).")
@click.option(
    "--ear-key",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Private key (PEM/JWK) that signs the EARs.",
)
@click.option("--cert", type=click.Path(exists=True, dir_okay=False), help="TLS certificate (PEM).")
@click.option("--key", "tls_key", type=click.Path(exists=True, dir_okay=False), help="TLS private key (PEM).")
@click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False),
    help="File whose first line is the passphrase of an encrypted --key (as `iotsec ca server` writes).",
)
@click.option("--tls12", is_flag=True, help="Also accept TLS 1.2 (ECDHE + AEAD suites only).")
@click.option("--insecure-http", is_flag=True, help="Serve plain HTTP (local tests only).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8443, show_default=True, type=int)
@click.option(
    "--provisioning-token-file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="File holding the bearer token that endorsement provisioning requires "
    "(without it, provisioning is refused).",
)
@click.option("--ear-format", type=click.Choice(["jwt", "cwt"]), default="jwt", show_default=True)
@click.option(
    "--ear-generation",
    type=click.Choice(["ietf", "veraison-2023"]),
    default="ietf",
    show_default=True,
    help="EAR claim naming: the current draft or Veraison's older profile.",
)
@click.option(
    "--debug-policy",
    type=click.Choice(["allow", "warn", "contraindicate"]),
    default="warn",
    show_default=True,
    help="How an attester with debug enabled is graded.",
)
@click.option("--session-ttl", default=300, show_default=True, type=int, help="Seconds a session waits.")
@click.option(
    "--corim-signer-key",
    "corim_signer_keys",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Public key trusted to sign CoRIMs (application/corim-signed+cbor); repeatable.",
)
@click.option("--ear-validity", type=int, default=None, help="Seconds until the EAR expires (its exp claim).")
def serve(  # noqa: PLR0917
    db_url: str | None,
    ear_key: str,
    cert: str | None,
    tls_key: str | None,
    passphrase_file: str | None,
    tls12: bool,
    insecure_http: bool,
    host: str,
    port: int,
    provisioning_token_file: str | None,
    ear_format: str,
    ear_generation: str,
    debug_policy: str,
    session_ttl: int,
    corim_signer_keys: tuple[str, ...],
    ear_validity: int | None,
) -> None:
    """Serve the verifier with uvicorn (TLS unless --insecure-http)."""
    import uvicorn

    from iotsec.adapters.http.verifier import build_service, create_app
    from iotsec.core.eat.appraisal import Policy

    if not insecure_http and not (cert and tls_key):
        raise ConfigError("TLS needs --cert and --key (or --insecure-http for local tests)", reason="cli.tls")
    token = None
    if provisioning_token_file:
        token = Path(provisioning_token_file).read_text().strip()
        if len(token) < 16:
            raise ConfigError("the provisioning token must have at least 16 characters", reason="cli.token")
    service = build_service(
        db_url,
        load_key(ear_key),
        policy=Policy(debug=debug_policy),
        ear_format=ear_format,
        ear_generation=ear_generation,
        session_ttl=session_ttl,
        corim_signers=[load_key(k) for k in corim_signer_keys],
        ear_validity=ear_validity,
    )
    app = create_app(service, provisioning_token=token)
    if insecure_http:
        uvicorn.run(app, host=host, port=port, log_level="info")
        return
    from iotsec.adapters.http.server import make_server

    assert cert is not None and tls_key is not None
    password = Path(passphrase_file).read_bytes().splitlines()[0] if passphrase_file else None
    server = make_server(
        app,
        certfile=Path(cert),
        keyfile=Path(tls_key),
        password=password or None,
        client_ca=None,
        allow_tls12=tls12,
        log_level="info",
        host=host,
        port=port,
    )
    server.run()


@group.command("provision")
@click.argument("corim_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--url", required=True, help="Verifier base URL, e.g. https://127.0.0.1:8443")
@click.option("--token-file", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--cacert", type=click.Path(exists=True, dir_okay=False), help="CA/certificate to trust (PEM).")
@click.option("--signed", is_flag=True, help="The CoRIM is signed (application/corim-signed+cbor).")
def provision(corim_file: str, url: str, token_file: str, cacert: str | None, signed: bool) -> None:
    """Submit an unsigned CoRIM to a verifier's endorsement-provisioning API."""
    import ssl

    import httpx

    from iotsec.adapters.http.verifier_client import VerifierClient

    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=cacert) if cacert else True
    with httpx.Client(verify=verify, timeout=30) as http:
        VerifierClient(url, http).provision(
            Path(corim_file).read_bytes(),
            Path(token_file).read_text().strip(),
            "application/corim-signed+cbor" if signed else "application/corim-unsigned+cbor",
        )
    emit({"status": "success"})
