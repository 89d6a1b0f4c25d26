"""``iotsec est``: run the EST server (RFC 7030) and use it as a client (cacerts, enroll, reenroll,
serverkeygen, new-anchor); approve pending requests in manual approval mode."""

from __future__ import annotations

import datetime as dt
import signal
from pathlib import Path
from typing import Any

import click
from cryptography import x509

from iotsec.adapters.ca_files import write_private
from iotsec.cli._pkiopts import argon2_options, ca_options, db_option, emit, hasher, open_ca, open_store
from iotsec.clock import SYSTEM
from iotsec.core import est, pki
from iotsec.errors import ConfigError, ValidationError
from iotsec.services.enrollment import CaBundle, EnrollmentPolicy, EnrollmentService, EventRecord

PathFile = click.Path(dir_okay=False, path_type=Path)
PathIn = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group("est")
def group() -> None:
    """Enrollment over Secure Transport (RFC 7030): server and client."""


@group.command("serve")
@ca_options
@db_option
@argon2_options
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8443, show_default=True)
@click.option("--tls-cert", type=PathIn, required=True, help="Server certificate chain (PEM).")
@click.option(
    "--tls-key", type=PathIn, required=True, help="Server key (PEM, encrypted with the passphrase)."
)
@click.option("--tls12", is_flag=True, help="Also accept TLS 1.2 (ECDHE + AEAD suites only).")
@click.option("--approval", type=click.Choice(["auto", "manual"]), default="auto", show_default=True)
@click.option("--label", "labels", multiple=True, help="Accept /.well-known/est/<label>/ (repeatable).")
@click.option("--challenge-file", type=PathIn, help="Require this challengePassword in every CSR.")
@click.option("--max-failures", type=click.IntRange(1, 100), default=5, show_default=True)
@click.option("--ldevid-days", type=click.IntRange(1, 3650), default=365, show_default=True)
def serve(
    *,
    ca_dir: Path,
    passphrase_file: Path | None,
    passphrase_env: str | None,
    db_url: str | None,
    argon2_time_cost: int,
    argon2_memory_kib: int,
    host: str,
    port: int,
    tls_cert: Path,
    tls_key: Path,
    tls12: bool,
    approval: str,
    labels: tuple[str, ...],
    challenge_file: Path | None,
    max_failures: int,
    ldevid_days: int,
) -> None:
    """Serve EST over HTTPS with client-certificate and HTTP Basic (bootstrap secret) authentication."""
    from iotsec.adapters.http.est import create_app
    from iotsec.adapters.http.server import make_server

    ca = open_ca(ca_dir, passphrase_file, passphrase_env)
    for label in labels:
        est.check_label(label)
    challenge = challenge_file.read_text().splitlines()[0] if challenge_file else None
    policy = EnrollmentPolicy(
        approval="manual" if approval == "manual" else "auto",
        labels=labels,
        challenge_password=challenge,
        max_failures=max_failures,
        ldevid_days=ldevid_days,
    )
    service = EnrollmentService(
        open_store(db_url),
        CaBundle(ca.issuing(), ca.cacerts()),
        hasher=hasher(argon2_time_cost, argon2_memory_kib),
        clock=SYSTEM,
        policy=policy,
    )
    from iotsec.adapters.http.tls import server_context

    ctx = server_context(
        certfile=tls_cert,
        keyfile=tls_key,
        password=ca.passphrase,
        client_ca=ca.trust_bundle(),
        allow_tls12=tls12,
    )

    def reload(_sig: int, _frame: object) -> None:
        """SIGHUP: load the current CA generation (after `iotsec ca rollover`) without a restart."""
        service.ca = CaBundle(ca.issuing(), ca.cacerts())
        ctx.load_verify_locations(cafile=str(ca.trust_bundle()))  # new issuing CAs for client certificates
        click.echo(f"reloaded CA generation {ca.generation}", err=True)

    signal.signal(signal.SIGHUP, reload)
    server = make_server(
        create_app(service),
        certfile=tls_cert,
        keyfile=tls_key,
        password=ca.passphrase,
        client_ca=None,
        context=ctx,
        host=host,
        port=port,
        log_level="info",
    )
    click.echo(f"EST on https://{host}:{port}/.well-known/est/ (TLS {'1.2+' if tls12 else '1.3'})", err=True)
    server.run()


@group.command("pending")
@db_option
@click.pass_context
def pending(ctx: click.Context, db_url: str | None) -> None:
    """List enrollment requests waiting for manual approval."""
    rows = open_store(db_url).list_pending()
    emit(
        ctx,
        {"pending": [{"id": p.id, "device": str(p.device), "created": p.created_at} for p in rows]},
        "\n".join(f"{p.id} {p.device} {p.created_at:%Y-%m-%dT%H:%M:%SZ}" for p in rows) or "none",
    )


@group.command("approve")
@db_option
@click.argument("request_id")
@click.option("--reject", is_flag=True, help="Reject instead of approve.")
@click.pass_context
def approve(ctx: click.Context, db_url: str | None, request_id: str, reject: bool) -> None:
    """Approve (or reject) a pending request; the device's next retry then gets its certificate."""
    store = open_store(db_url)
    rec = store.get_pending(request_id)
    if rec is None:
        raise ValidationError(f"no pending request {request_id}", reason="est.pending.unknown")
    rec.status = "rejected" if reject else "approved"
    store.put_pending(rec)
    store.add_event(
        EventRecord(SYSTEM.now(), "reject" if reject else "approve", "ok", "", rec.device, rec.label)
    )
    emit(ctx, {"id": rec.id, "status": rec.status}, f"{rec.id} {rec.status}")


@group.command("unlock")
@db_option
@click.argument("device")
@click.pass_context
def unlock(ctx: click.Context, db_url: str | None, device: str) -> None:
    """Reset a device's failed bootstrap attempts and back-off (after `est.auth.locked`)."""
    parsed = pki.parse_uuid(device)
    if parsed is None:
        raise click.BadParameter("not a canonical UUID", param_hint="DEVICE")
    store = open_store(db_url)
    if store.get_device(parsed) is None:
        raise ValidationError(f"unknown device {device}", reason="est.device.unknown")
    store.reset_failures(parsed)
    store.add_event(EventRecord(SYSTEM.now(), "unlock", "ok", "", parsed, None))
    emit(ctx, {"device": device, "unlocked": True}, f"{device} unlocked")


# ---- client ----------------------------------------------------------------------------------------


def client_options(fn: Any) -> Any:
    opts = [
        click.option("--url", required=True, help="EST server, e.g. https://127.0.0.1:8443"),
        click.option(
            "--trust", type=PathIn, required=True, help="Explicit trust anchor(s) for the server (PEM)."
        ),
        click.option("--cert", type=PathIn, help="Client certificate (IDevID or LDevID) for mutual TLS."),
        click.option("--key", type=PathIn, help="Key of --cert."),
        click.option("--user", help="HTTP Basic user: the device UUID (bootstrap)."),
        click.option("--secret-file", type=PathIn, help="File holding the one-time bootstrap secret."),
        click.option("--label", help="EST label (RFC 7030 §3.2.2)."),
        click.option("--tls12", is_flag=True, help="Allow TLS 1.2."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def _client(
    url: str,
    *,
    trust: Path,
    cert: Path | None,
    key: Path | None,
    user: str | None,
    secret_file: Path | None,
    label: str | None,
    tls12: bool,
) -> Any:
    from iotsec.adapters.http.est_client import EstClient

    basic = None
    if user or secret_file:
        if not (user and secret_file):
            raise click.UsageError("--user and --secret-file go together")
        basic = (user, secret_file.read_text().splitlines()[0])
    if (cert is None) != (key is None):
        raise click.UsageError("--cert and --key go together")
    return EstClient(url, trust=trust, cert=cert, key=key, basic=basic, label=label, allow_tls12=tls12)


@group.command("cacerts")
@client_options
@click.option("--out", type=PathFile, help="Write the certificates (PEM) here.")
@click.pass_context
def cacerts(ctx: click.Context, /, out: Path | None, **kw: Any) -> None:
    """Fetch /cacerts (RFC 7030 §4.1)."""
    with _client(**kw) as client:
        certs = client.cacerts()
    if out:
        out.write_bytes(pki.certs_to_pem(certs))
    emit(
        ctx,
        {"certs": [pki.name_text(c.subject) for c in certs]},
        "\n".join(f"{pki.name_text(c.subject)}  (issuer {pki.name_text(c.issuer)})" for c in certs),
    )


def _identity(cert: Path | None, user: str | None) -> Any:
    if user:
        parsed = pki.parse_uuid(user)
        if parsed is None:
            raise click.BadParameter("not a canonical UUID", param_hint="--user")
        return parsed
    if cert is not None:
        found = pki.device_uuid(pki.load_certs(cert.read_bytes())[0])
        if found is not None:
            return found
    raise ConfigError(
        "cannot tell the device UUID: give --user or a device --cert", reason="est.identity.missing"
    )


def _write_result(
    certs: list[x509.Certificate], key: pki.PrivateKey | None, cert_out: Path, key_out: Path | None
) -> None:
    if key is not None and key_out is not None:
        write_private(key_out, pki.key_to_pem(key, None))
    cert_out.write_bytes(pki.certs_to_pem(certs))


def _enroll_common(ctx: click.Context, op: str, kw: dict[str, Any]) -> None:
    cert_out: Path = kw.pop("cert_out")
    key_out: Path = kw.pop("key_out")
    key_type: str = kw.pop("key_type")
    challenge_file: Path | None = kw.pop("challenge_file")
    device = _identity(kw["cert"], kw["user"])
    challenge = challenge_file.read_text().splitlines()[0] if challenge_file else None
    if op != "serverkeygen" and key_out.exists():
        # retrying a request that was pending approval (RFC 7030 §4.2.3): same key, same request
        key = pki.load_private_key(key_out.read_bytes())
    else:
        key = pki.generate_key(pki.KeyType(key_type))
    subject = None
    if op == "reenroll":  # RFC 7030 §4.2.2: the subject of the certificate being renewed
        subject = pki.load_certs(kw["cert"].read_bytes())[0].subject if kw["cert"] else None
    csr = pki.build_csr(key, device, challenge=challenge, subject=subject)
    from cryptography.hazmat.primitives.serialization import Encoding

    der = csr.public_bytes(Encoding.DER)
    with _client(**kw) as client:
        if op == "serverkeygen":
            got = client.serverkeygen(der)
            if not isinstance(got, tuple):
                emit(
                    ctx,
                    {"pending": True, "retry_after": got.retry_after},
                    f"pending, retry after {got.retry_after}s",
                )
                ctx.exit(3)
            server_key, certs = got
            _write_result(certs, server_key, cert_out, key_out)
        else:
            result = client.simpleenroll(der) if op == "enroll" else client.simplereenroll(der)
            if result.pending:
                write_private(key_out, pki.key_to_pem(key, None))  # kept for the retry
                emit(
                    ctx,
                    {"pending": True, "retry_after": result.retry_after},
                    f"pending, retry after {result.retry_after}s",
                )
                ctx.exit(3)
            certs = result.certs
            if not certs or certs[0].public_key() != key.public_key():
                raise ValidationError(
                    "the server returned a certificate for another key", reason="est.response.key"
                )
            _write_result(certs, key, cert_out, key_out)
    leaf = certs[0]
    emit(
        ctx,
        {
            "device": str(device),
            "serial": f"{leaf.serial_number:x}",
            "issuer": pki.name_text(leaf.issuer),
            "not_after": leaf.not_valid_after_utc.isoformat(),
        },
        f"{op}: {pki.name_text(leaf.subject)} serial {leaf.serial_number:x} from "
        f"{pki.name_text(leaf.issuer)} -> {cert_out}",
    )


def enroll_options(fn: Any) -> Any:
    fn = click.option("--challenge-file", type=PathIn, help="challengePassword to put in the CSR.")(fn)
    fn = click.option("--key-type", type=click.Choice([k.value for k in pki.KeyType]), default="p256")(fn)
    fn = click.option("--key-out", type=PathFile, required=True, help="Where to write the new key (0600).")(
        fn
    )
    fn = click.option(
        "--cert-out", type=PathFile, required=True, help="Where to write the issued certificate."
    )(fn)
    return client_options(fn)


@group.command("enroll")
@enroll_options
@click.pass_context
def enroll(ctx: click.Context, /, **kw: Any) -> None:
    """simpleenroll (RFC 7030 §4.2.1): new key, CSR for the device UUID, LDevID back.

    Authenticate with the IDevID (--cert/--key) or the bootstrap secret (--user/--secret-file).
    Exit 3 when the server answers 202 (manual approval): retry later.
    """
    _enroll_common(ctx, "enroll", kw)


@group.command("reenroll")
@enroll_options
@click.pass_context
def reenroll(ctx: click.Context, /, **kw: Any) -> None:
    """simplereenroll (RFC 7030 §4.2.2) with the current LDevID as --cert/--key; rekeys."""
    _enroll_common(ctx, "reenroll", kw)


@group.command("serverkeygen")
@enroll_options
@click.pass_context
def serverkeygen(ctx: click.Context, /, **kw: Any) -> None:
    """serverkeygen (RFC 7030 §4.4): the server makes the key and returns it with the certificate."""
    _enroll_common(ctx, "serverkeygen", kw)


@group.command("new-anchor")
@client_options
@click.option("--out", type=PathFile, required=True, help="Write the new root here when one is offered.")
@click.pass_context
def new_anchor(ctx: click.Context, /, out: Path, **kw: Any) -> None:
    """Adopt a new root only through a NewWithOld link signed by the current one (RFC 7030 §4.1.3).

    --trust is the current root. Exit 0 and write --out when a rollover is offered, exit 4 if not.
    """
    current = pki.load_certs(kw["trust"].read_bytes())[0]
    with _client(**kw) as client:
        found = client.new_anchor(current, now=dt.datetime.now(dt.UTC))
    if found is None:
        emit(ctx, {"rollover": False}, "no rollover offered")
        ctx.exit(4)
    out.write_bytes(pki.certs_to_pem([found]))
    emit(
        ctx,
        {"rollover": True, "root": pki.name_text(found.subject)},
        f"new trust anchor {pki.name_text(found.subject)} -> {out}",
    )
