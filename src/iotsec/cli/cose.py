"""``iotsec cose ...``: inspect, sign, MAC, verify COSE messages and make keys.

Keys (``--key``) are files in PEM (PKCS#8 / SPKI / certificate), JWK (JSON), COSE_Key (CBOR) or
DER; an encrypted PEM key takes its password from ``--password-file`` (never from the command
line). Messages are read as raw CBOR, hex or diagnostic notation. Exit status: 0 valid, 1
invalid (the reason on stderr), 2 usage errors.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from iotsec.core import cbor
from iotsec.core.cose import (
    Algorithm,
    CoseKey,
    KeyType,
    Mac0Message,
    MacMessage,
    Sign1Message,
    SignMessage,
    alg_from_name,
    mac0,
    sign1,
)
from iotsec.core.cose._common import TAG_MAC, TAG_MAC0, TAG_SIGN, TAG_SIGN1
from iotsec.core.cose.algorithms import alg_label
from iotsec.core.cose.diag import describe
from iotsec.core.cose.headers import label_from_name
from iotsec.errors import ConfigError, ValidationError

Message = Sign1Message | SignMessage | Mac0Message | MacMessage


def _json_mode() -> bool:
    ctx = click.get_current_context()
    root = ctx.find_root()
    return bool(root.obj and root.obj.get("json"))


def _read_key(path: str, password_file: str | None) -> CoseKey:
    password = Path(password_file).read_bytes().rstrip(b"\r\n") if password_file else None
    return CoseKey.load(Path(path).read_bytes(), password)


def _aad(aad_hex: str | None, aad_file: str | None) -> bytes:
    if aad_hex and aad_file:
        raise ConfigError("give --aad or --aad-file, not both", reason="cli.aad")
    if aad_file:
        return Path(aad_file).read_bytes()
    if aad_hex:
        try:
            return bytes.fromhex(aad_hex)
        except ValueError as exc:
            raise ConfigError("--aad must be hex", reason="cli.aad") from exc
    return b""


def _write(out: str | None, data: bytes, fmt: str) -> None:
    if fmt == "hex":
        blob = data.hex().encode() + b"\n"
    elif fmt == "diag":
        blob = describe(data).encode() + b"\n"
    else:
        blob = data
    if out is None or out == "-":
        if fmt == "cbor" and sys.stdout.isatty():
            raise ConfigError(
                "refusing to write binary CBOR to a terminal: use -o FILE or --format hex",
                reason="cli.binary",
            )
        sys.stdout.buffer.write(blob)
        sys.stdout.flush()
    else:
        Path(out).write_bytes(blob)


def _decode_message(data: bytes, key: CoseKey) -> Message:
    """Pick the message type from the CBOR tag, else from the shape and the key type."""
    item = cbor.loads(data)
    tag = item.tag if isinstance(item, cbor.CBORTag) else None
    if tag == TAG_SIGN1:
        return Sign1Message.decode(data)
    if tag == TAG_SIGN:
        return SignMessage.decode(data)
    if tag == TAG_MAC0:
        return Mac0Message.decode(data)
    if tag == TAG_MAC:
        return MacMessage.decode(data)
    if tag is None and isinstance(item, list):
        if len(item) == 5:
            return MacMessage.decode(data)
        if len(item) == 4 and isinstance(item[3], list):
            return SignMessage.decode(data)
        if len(item) == 4:
            return Mac0Message.decode(data) if key.kty == KeyType.SYMMETRIC else Sign1Message.decode(data)
    raise ValidationError("not a COSE_Sign1, COSE_Sign, COSE_Mac0 or COSE_Mac message", reason="cose.type")


def _parse_crit(values: tuple[str, ...]) -> list[int | str]:
    out: list[int | str] = []
    for v in values:
        try:
            out.append(int(v))
        except ValueError:
            out.append(label_from_name(v))
    return out


@click.group("cose")
def group() -> None:
    """COSE (RFC 9052/9053): show, sign, verify messages and make keys."""


@group.command("show")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
def show(file: str) -> None:
    """Print FILE (CBOR, hex or diagnostic notation) as annotated diagnostic notation."""
    raw = click.open_file(file, "rb").read()
    click.echo(describe(cbor.read_any(raw)))


@group.command("sign")
@click.argument("payload", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--key", "key_path", required=True, type=click.Path(dir_okay=False), help="PEM/JWK/COSE_Key file."
)
@click.option("--password-file", type=click.Path(dir_okay=False), help="Password of an encrypted PEM key.")
@click.option(
    "--alg", help="Algorithm (ES256, ESP256, EdDSA, Ed25519, HMAC 256/256...); default from the key."
)
@click.option(
    "--mac", "as_mac", is_flag=True, help="Make a COSE_Mac0 with a symmetric key instead of a COSE_Sign1."
)
@click.option("--kid", help="Key identifier to put in the unprotected header (UTF-8 text).")
@click.option("--detached", is_flag=True, help="Leave the payload out of the message (nil).")
@click.option("--aad", "aad_hex", help="External additional authenticated data, hex.")
@click.option("--aad-file", type=click.Path(dir_okay=False), help="External AAD from a file.")
@click.option("--deterministic", is_flag=True, help="RFC 6979 deterministic ECDSA.")
@click.option("--untagged", is_flag=True, help="Omit the COSE CBOR tag.")
@click.option("--content-type", help="Content type header (a number or a media type).")
@click.option("-o", "--output", help="Output file (default: stdout).")
@click.option(
    "--format", "fmt", type=click.Choice(["cbor", "hex", "diag"]), default="cbor", show_default=True
)
def sign_cmd(
    *,
    payload: str,
    key_path: str,
    password_file: str | None,
    alg: str | None,
    as_mac: bool,
    kid: str | None,
    detached: bool,
    aad_hex: str | None,
    aad_file: str | None,
    deterministic: bool,
    untagged: bool,
    content_type: str | None,
    output: str | None,
    fmt: str,
) -> None:
    """Sign (or with --mac, MAC) the bytes of PAYLOAD."""
    key = _read_key(key_path, password_file)
    data = click.open_file(payload, "rb").read()
    alg_v: Algorithm | None = alg_from_name(alg) if alg else None
    protected: dict[Any, Any] = {}
    if content_type:
        protected[3] = int(content_type) if content_type.isdigit() else content_type
    unprotected: dict[Any, Any] = {}
    if kid is not None:
        unprotected[4] = kid.encode()
    aad = _aad(aad_hex, aad_file)
    if as_mac or key.kty == KeyType.SYMMETRIC:
        if deterministic:
            raise ConfigError("--deterministic applies to ECDSA signatures, not MACs", reason="cli.option")
        out = mac0(
            data,
            key,
            alg_v,
            protected=protected,
            unprotected=unprotected,
            external_aad=aad,
            detached=detached,
            tagged=not untagged,
        )
    else:
        out = sign1(
            data,
            key,
            alg_v,
            protected=protected,
            unprotected=unprotected,
            external_aad=aad,
            detached=detached,
            tagged=not untagged,
            deterministic=deterministic,
        )
    _write(output, out, fmt)


@group.command("verify")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--key", "key_path", required=True, type=click.Path(dir_okay=False), help="PEM/JWK/COSE_Key file."
)
@click.option("--password-file", type=click.Path(dir_okay=False), help="Password of an encrypted PEM key.")
@click.option("--payload", "payload_path", type=click.Path(dir_okay=False), help="Detached payload file.")
@click.option("--aad", "aad_hex", help="External additional authenticated data, hex.")
@click.option("--aad-file", type=click.Path(dir_okay=False), help="External AAD from a file.")
@click.option("--crit", multiple=True, help="A header label the caller processes (may appear in crit).")
@click.option("--allow-unprotected-alg", is_flag=True, help="Accept alg in the unprotected bucket (unsafe).")
@click.option("--payload-out", type=click.Path(dir_okay=False), help="Write the verified payload here.")
def verify_cmd(
    *,
    file: str,
    key_path: str,
    password_file: str | None,
    payload_path: str | None,
    aad_hex: str | None,
    aad_file: str | None,
    crit: tuple[str, ...],
    allow_unprotected_alg: bool,
    payload_out: str | None,
) -> None:
    """Verify the COSE_Sign1/Sign/Mac0/Mac in FILE; exit 0 if valid, 1 (reason on stderr) if not."""
    key = _read_key(key_path, password_file)
    data = cbor.read_any(click.open_file(file, "rb").read())
    msg = _decode_message(data, key)
    detached = Path(payload_path).read_bytes() if payload_path else None
    opts: dict[str, Any] = {"critical": _parse_crit(crit), "allow_unprotected_alg": allow_unprotected_alg}
    aad = _aad(aad_hex, aad_file)
    kid: bytes | None = None
    if isinstance(msg, SignMessage):
        signer = msg.verify(key, aad, detached, **opts)
        kid, alg = signer.kid, signer.alg
    else:
        msg.verify(key, aad, detached, **opts)
        alg = msg.alg
        kid = getattr(msg, "kid", None)
    kind = type(msg).__name__.replace("Message", "")
    payload = msg.payload if msg.payload is not None else detached
    if payload_out and payload is not None:
        Path(payload_out).write_bytes(payload)
    result = {
        "valid": True,
        "type": f"COSE_{kind}",
        "alg": alg_label(alg) if alg is not None else None,
        "kid": kid.decode("utf-8", "replace") if kid else None,
        "payload_bytes": len(payload) if payload is not None else 0,
    }
    if _json_mode():
        click.echo(json.dumps(result))
    else:
        click.echo(
            f"valid: COSE_{kind} alg={result['alg']} kid={result['kid']!r}"
            f" payload={result['payload_bytes']} bytes"
        )


@group.command("keygen")
@click.option(
    "--alg",
    required=True,
    help="ES256, ES384, ES512, ESP256, EdDSA, Ed25519, Ed448, HMAC 256/256, A128GCM...",
)
@click.option("--kid", help="Key identifier (UTF-8 text).")
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="Key file to create (mode 0600)."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["pem", "jwk", "cose"]),
    default=None,
    help="Default: pem for asymmetric keys, jwk for symmetric keys.",
)
@click.option(
    "--public", "public_out", type=click.Path(dir_okay=False), help="Also write the public key here."
)
def keygen(alg: str, kid: str | None, output: str, fmt: str | None, public_out: str | None) -> None:
    """Generate a key for ALG (private part written with mode 0600)."""
    key = CoseKey.generate(alg, kid=kid)
    symmetric = key.kty == KeyType.SYMMETRIC
    fmt = fmt or ("jwk" if symmetric else "pem")
    if fmt == "pem" and symmetric:
        raise ConfigError("symmetric keys have no PEM form: use --format jwk or cose", reason="cli.format")

    def render(k: CoseKey, private: bool) -> bytes:
        if fmt == "pem":
            return k.to_pem(private=private)
        if fmt == "jwk":
            return (json.dumps(k.to_jwk(private=private), indent=2) + "\n").encode()
        return k.encode(private=private)

    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(render(key, True))
    if public_out:
        if symmetric:
            raise ConfigError("a symmetric key has no public part", reason="cli.format")
        Path(public_out).write_bytes(render(key.public(), False))
    click.echo(f"wrote {output}: {key!r}")


# Further commands (encrypt/decrypt) are registered below by their own modules.
from iotsec.cli.cose_crypt import decrypt_cmd, encrypt_cmd  # noqa: E402  (COSE encryption commands)

group.add_command(encrypt_cmd)
group.add_command(decrypt_cmd)
