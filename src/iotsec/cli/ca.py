"""``iotsec ca``: a root and issuing CA, certificates for servers/operators, manufactured devices
(IDevID + one-time bootstrap secret), trust-anchor rollover, revocation and CRLs."""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path

import click
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from iotsec.adapters.ca_files import write_private
from iotsec.cli._pkiopts import argon2_options, ca_options, db_option, emit, hasher, open_ca, open_store
from iotsec.clock import SYSTEM
from iotsec.core import pki
from iotsec.errors import ConfigError
from iotsec.services.enrollment import CaBundle, EnrollmentService

KEY_TYPES = click.Choice([k.value for k in pki.KeyType if not k.value.startswith("rsa")])


@click.group("ca")
def group() -> None:
    """Certificate authority: init, server/operator certificates, manufacture, rollover, revoke, crl."""


@group.command("init")
@ca_options
@click.option("--key-type", type=KEY_TYPES, default="p256", show_default=True)
@click.option("--name", default="iotsec", show_default=True, help="Organization name in the CA subjects.")
@click.option("--days", type=click.IntRange(1, 36500), default=3650, show_default=True)
@click.pass_context
def init(
    ctx: click.Context,
    *,
    ca_dir: Path,
    passphrase_file: Path | None,
    passphrase_env: str | None,
    key_type: str,
    name: str,
    days: int,
) -> None:
    """Create a root CA and an issuing CA (keys encrypted with the passphrase, mode 0600)."""
    ca = open_ca(ca_dir, passphrase_file, passphrase_env)
    root, issuing = ca.init(
        key_type=pki.KeyType(key_type),
        name=name,
        now=SYSTEM.now(),
        serial=x509.random_serial_number() >> 8,
        days=days,
    )
    emit(
        ctx,
        {
            "ca_dir": str(ca_dir),
            "root": pki.name_text(root.cert.subject),
            "issuing": pki.name_text(issuing.cert.subject),
            "key_type": key_type,
        },
        f"root    {pki.name_text(root.cert.subject)}\nissuing {pki.name_text(issuing.cert.subject)}\n"
        f"written to {ca_dir}",
    )


def _write_leaf(
    cert: x509.Certificate,
    chain: list[x509.Certificate],
    key: pki.PrivateKey,
    *,
    cert_out: Path,
    key_out: Path,
    passphrase: bytes | None,
) -> None:
    write_private(key_out, pki.key_to_pem(key, passphrase))
    cert_out.write_bytes(pki.certs_to_pem([cert, *chain]))


@group.command("server")
@ca_options
@click.option("--dns", multiple=True, help="DNS name (repeatable).")
@click.option("--ip", multiple=True, help="IP address (repeatable).")
@click.option("--cert-out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--key-out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--days", type=click.IntRange(1, 825), default=397, show_default=True)
@click.pass_context
def server(
    ctx: click.Context,
    *,
    ca_dir: Path,
    passphrase_file: Path | None,
    passphrase_env: str | None,
    dns: tuple[str, ...],
    ip: tuple[str, ...],
    cert_out: Path,
    key_out: Path,
    days: int,
) -> None:
    """Issue a TLS server certificate (e.g. for `iotsec est serve`); key encrypted with the passphrase."""
    ca = open_ca(ca_dir, passphrase_file, passphrase_env)
    issuing = ca.issuing()
    key = pki.generate_key(pki.KeyType.P256)
    cert = pki.server_cert(
        key.public_key(),
        issuing,
        dns_names=dns,
        ips=ip,
        serial=x509.random_serial_number(),
        now=SYSTEM.now(),
        days=days,
    )
    _write_leaf(cert, [issuing.cert], key, cert_out=cert_out, key_out=key_out, passphrase=ca.passphrase)
    emit(
        ctx,
        {"subject": pki.name_text(cert.subject), "cert": str(cert_out)},
        f"server certificate {pki.name_text(cert.subject)} -> {cert_out}",
    )


@group.command("operator")
@ca_options
@click.argument("operator")
@click.option("--cert-out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--key-out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.pass_context
def operator(
    ctx: click.Context,
    *,
    ca_dir: Path,
    passphrase_file: Path | None,
    passphrase_env: str | None,
    operator: str,
    cert_out: Path,
    key_out: Path,
) -> None:
    """Issue an operator (client authentication) certificate; key encrypted with the passphrase."""
    ca = open_ca(ca_dir, passphrase_file, passphrase_env)
    issuing = ca.issuing()
    key = pki.generate_key(pki.KeyType.P256)
    cert = pki.operator_cert(
        key.public_key(), issuing, operator=operator, serial=x509.random_serial_number(), now=SYSTEM.now()
    )
    _write_leaf(cert, [issuing.cert], key, cert_out=cert_out, key_out=key_out, passphrase=ca.passphrase)
    emit(ctx, {"subject": pki.name_text(cert.subject)}, f"operator certificate -> {cert_out}")


@group.command("manufacture")
@ca_options
@db_option
@argon2_options
@click.option("--count", type=click.IntRange(1, 100000), required=True)
@click.option("--model", required=True, help="Device model (IDevID subject CN).")
@click.option("--mud-url", help="MUD URL to embed (RFC 8520 §10), https only.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory receiving one sub-directory per device.",
)
@click.option("--days", type=click.IntRange(1, 36500), default=3650, show_default=True)
@click.pass_context
def manufacture(
    ctx: click.Context,
    *,
    ca_dir: Path,
    passphrase_file: Path | None,
    passphrase_env: str | None,
    db_url: str | None,
    argon2_time_cost: int,
    argon2_memory_kib: int,
    count: int,
    model: str,
    mud_url: str | None,
    out: Path,
    days: int,
) -> None:
    """Issue N device identities (IDevID): own key, RFC 9562 UUID, own one-time bootstrap secret.

    Writes <out>/<uuid>/{idevid.key, idevid.pem, bootstrap-secret} (key and secret mode 0600) and
    registers each device with the argon2id hash of its secret in the EST database.
    """
    if mud_url:
        pki.encode_mud_url(mud_url)  # refuse a bad URL before making anything
    ca = open_ca(ca_dir, passphrase_file, passphrase_env)
    issuing = ca.issuing()
    store = open_store(db_url)
    service = EnrollmentService(
        store, CaBundle(issuing), hasher=hasher(argon2_time_cost, argon2_memory_kib), clock=SYSTEM
    )
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    made = []
    seen: set[str] = set()
    for _ in range(count):
        device = uuid.uuid4()  # RFC 9562 §5.4: version 4, 122 random bits
        secret = secrets.token_urlsafe(24)  # 192 bits, unique per device
        if secret in seen:  # pragma: no cover - 2^-192
            raise ConfigError("secret collision", reason="ca.secret")
        seen.add(secret)
        key = pki.generate_key(pki.KeyType.P256)
        cert = pki.device_cert(
            key.public_key(),
            issuing,
            device=device,
            model=model,
            mud_url=mud_url,
            serial=x509.random_serial_number(),
            now=SYSTEM.now(),
            days=days,
        )
        service.register_device(cert, model=model, secret=secret, mud_url=mud_url)
        d = out / str(device)
        d.mkdir(mode=0o700)
        write_private(d / "idevid.key", pki.key_to_pem(key, None))
        (d / "idevid.pem").write_bytes(pki.certs_to_pem([cert, issuing.cert]))
        write_private(d / "bootstrap-secret", secret.encode() + b"\n")
        made.append(str(device))
    emit(ctx, {"devices": made, "out": str(out)}, "\n".join(made))


@group.command("rollover")
@ca_options
@click.pass_context
def rollover(
    ctx: click.Context, ca_dir: Path, passphrase_file: Path | None, passphrase_env: str | None
) -> None:
    """New root and issuing CA with NewWithOld/OldWithNew links; /cacerts serves both (RFC 7030 §4.1.3)."""
    ca = open_ca(ca_dir, passphrase_file, passphrase_env)
    root, issuing = ca.rollover(now=SYSTEM.now(), serial=x509.random_serial_number() >> 8)
    emit(
        ctx,
        {"generation": ca.generation, "root": pki.name_text(root.cert.subject)},
        f"generation {ca.generation}: {pki.name_text(root.cert.subject)}, "
        f"{pki.name_text(issuing.cert.subject)}",
    )


def _service(
    ca_dir: Path, passphrase_file: Path | None, passphrase_env: str | None, db_url: str | None
) -> EnrollmentService:
    ca = open_ca(ca_dir, passphrase_file, passphrase_env)
    return EnrollmentService(
        open_store(db_url), CaBundle(ca.issuing(), ca.cacerts()), hasher=hasher(3, 64 * 1024), clock=SYSTEM
    )


@group.command("revoke")
@ca_options
@db_option
@click.option("--device", "device", help="Device UUID: revokes all its certificates and the device.")
@click.option("--serial", help="Certificate serial number (hex).")
@click.option("--reason", type=click.Choice([r.name for r in x509.ReasonFlags]), default="unspecified")
@click.pass_context
def revoke(
    ctx: click.Context,
    *,
    ca_dir: Path,
    passphrase_file: Path | None,
    passphrase_env: str | None,
    db_url: str | None,
    device: str | None,
    serial: str | None,
    reason: str,
) -> None:
    """Revoke a device or one certificate; a revoked device can no longer (re-)enroll."""
    service = _service(ca_dir, passphrase_file, passphrase_env, db_url)
    if (device is None) == (serial is None):
        raise click.UsageError("give exactly one of --device or --serial")
    if device is not None:
        parsed = pki.parse_uuid(device)
        if parsed is None:
            raise click.BadParameter("not a canonical UUID", param_hint="--device")
        done = service.revoke_device(parsed, reason=reason)
    else:
        try:
            number = int(str(serial), 16)
        except ValueError as exc:
            raise click.BadParameter("not hex", param_hint="--serial") from exc
        done = service.revoke_serial(number, reason=reason)
    emit(
        ctx,
        {"revoked": [f"{c.serial:x}" for c in done]},
        "\n".join(f"revoked {c.serial:x} {c.subject}" for c in done) or "nothing newly revoked",
    )


@group.command("crl")
@ca_options
@db_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--der", is_flag=True, help="DER instead of PEM.")
@click.option("--hours", type=click.IntRange(1, 8760), default=24, show_default=True, help="nextUpdate.")
@click.pass_context
def crl(
    ctx: click.Context,
    *,
    ca_dir: Path,
    passphrase_file: Path | None,
    passphrase_env: str | None,
    db_url: str | None,
    out: Path,
    der: bool,
    hours: int,
) -> None:
    """Publish the issuing CA's CRL (RFC 5280 §5)."""
    service = _service(ca_dir, passphrase_file, passphrase_env, db_url)
    built = service.crl(hours=hours)
    out.write_bytes(built.public_bytes(Encoding.DER if der else Encoding.PEM))
    emit(ctx, {"entries": len(built), "out": str(out)}, f"CRL with {len(built)} entries -> {out}")
