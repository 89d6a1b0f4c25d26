"""``iotsec cose encrypt`` / ``iotsec cose decrypt``: COSE_Encrypt0 and COSE_Encrypt.

Keys (``--key``, ``--to``, ``--sender``) are files in PEM, JWK, COSE_Key or DER, and a symmetric
``--key`` may also be a raw 16/24/32-byte file (or those bytes in hex). Exit status: 0 decrypted,
1 refused or failed (the reason on stderr), 2 usage errors.

* ``encrypt IN --key K`` (symmetric): COSE_Encrypt0 under K.
* ``encrypt IN --key K --recipient-alg A128KW``: COSE_Encrypt with K as a key-encryption key.
* ``encrypt IN --to BOB.pem [--to CAROL.pem]``: COSE_Encrypt, ECDH-ES + A128KW for each public key.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from iotsec.core import cbor
from iotsec.core.cose import Algorithm, CoseKey, KeyType, alg_from_name
from iotsec.core.cose.algorithms import alg_label
from iotsec.core.cose.encrypt import EncryptMessage, encrypt, encrypt_detached
from iotsec.core.cose.encrypt0 import Encrypt0Message, encrypt0, encrypt0_detached
from iotsec.core.cose.recipient import RecipientSpec
from iotsec.errors import ConfigError, IotSecError, ValidationError


def _load_key(path: str, password_file: str | None = None) -> CoseKey:
    raw = Path(path).read_bytes()
    password = Path(password_file).read_bytes().rstrip(b"\r\n") if password_file else None
    try:
        return CoseKey.load(raw, password)
    except IotSecError:
        # hex text first: a 16-byte key written as 32 hex digits is also 32 bytes long
        try:
            hexed = bytes.fromhex(raw.decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            hexed = b""
        if len(hexed) in (16, 24, 32):
            return CoseKey.symmetric(hexed)
        if len(raw) in (16, 24, 32):
            return CoseKey.symmetric(raw)
        raise


def _aad(aad_hex: str | None) -> bytes:
    try:
        return bytes.fromhex(aad_hex) if aad_hex else b""
    except ValueError as exc:
        raise ConfigError("--aad must be hex", reason="cli.aad") from exc


def _alg(name: str) -> Algorithm:
    return alg_from_name(name)


def _emit(out: str | None, blob: bytes, fmt: str = "cbor") -> None:
    if fmt == "hex":
        blob = blob.hex().encode() + b"\n"
    elif fmt == "diag":
        blob = cbor.to_diag(blob).encode() + b"\n"
    if out is None or out == "-":
        if fmt == "cbor" and sys.stdout.isatty():
            raise ConfigError(
                "refusing to write binary output to a terminal: use -o FILE", reason="cli.binary"
            )
        sys.stdout.buffer.write(blob)
        sys.stdout.flush()
    else:
        Path(out).write_bytes(blob)


def _json_mode() -> bool:
    root = click.get_current_context().find_root()
    return bool(root.obj and root.obj.get("json"))


@click.command("encrypt")
@click.argument("infile", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--key", "key_path", type=click.Path(dir_okay=False), help="Symmetric key (JWK/COSE_Key/raw).")
@click.option("--password-file", type=click.Path(dir_okay=False), help="Password of an encrypted PEM key.")
@click.option(
    "--to", "to", multiple=True, type=click.Path(dir_okay=False), help="Recipient public key (ECDH)."
)
@click.option(
    "--alg", default="A128GCM", show_default=True, help="Content algorithm (A128GCM, ChaCha20/Poly1305...)."
)
@click.option(
    "--recipient-alg", help="For --key: A128KW, direct, direct+HKDF-SHA-256 (makes a COSE_Encrypt)."
)
@click.option(
    "--to-alg", default="ECDH-ES + A128KW", show_default=True, help="For --to: ECDH-ES/SS + HKDF/AxxxKW."
)
@click.option(
    "--from", "from_path", type=click.Path(dir_okay=False), help="Sender's static private key (ECDH-SS)."
)
@click.option("--kid", help="kid for a --key recipient or COSE_Encrypt0 (UTF-8 text).")
@click.option("--aad", "aad_hex", help="External additional authenticated data, hex.")
@click.option(
    "--detached", type=click.Path(dir_okay=False), help="Write the ciphertext here; the message holds nil."
)
@click.option("--untagged", is_flag=True, help="Omit the COSE CBOR tag.")
@click.option("-o", "--output", help="Output file (default: stdout).")
@click.option(
    "--format", "fmt", type=click.Choice(["cbor", "hex", "diag"]), default="cbor", show_default=True
)
def encrypt_cmd(
    *,
    infile: str,
    key_path: str | None,
    password_file: str | None,
    to: tuple[str, ...],
    alg: str,
    recipient_alg: str | None,
    to_alg: str,
    from_path: str | None,
    kid: str | None,
    aad_hex: str | None,
    detached: str | None,
    untagged: bool,
    output: str | None,
    fmt: str,
) -> None:
    """Encrypt the bytes of INFILE into a COSE_Encrypt0 or COSE_Encrypt (RFC 9052 §5)."""
    if not key_path and not to:
        raise click.UsageError("give --key and/or --to")
    content = _alg(alg)
    plaintext = click.open_file(infile, "rb").read()
    aad = _aad(aad_hex)
    kid_b = kid.encode() if kid else None
    specs: list[RecipientSpec] = []
    ra_key = _alg(recipient_alg) if recipient_alg else None
    ra_to = _alg(to_alg)
    sender = _load_key(from_path, password_file) if from_path else None
    for path in to:
        pub = _load_key(path)
        if pub.kty == KeyType.SYMMETRIC:
            raise ConfigError(f"--to {path} is not a public key", reason="cli.key")
        specs.append(RecipientSpec(ra_to, pub.public() if pub.has_private else pub, sender_key=sender))
    key = _load_key(key_path, password_file) if key_path else None
    if key is not None and kid_b is not None:
        key.kid = kid_b
    if key is not None and (specs or recipient_alg):
        if key.kty == KeyType.SYMMETRIC:
            specs.insert(0, RecipientSpec(ra_key or Algorithm.A128KW, key))
        else:
            specs.insert(0, RecipientSpec(ra_key or ra_to, key.public()))
    tagged = not untagged
    if specs:
        if detached:
            data, ct = encrypt_detached(plaintext, specs, content, external_aad=aad, tagged=tagged)
            Path(detached).write_bytes(ct)
        else:
            data = encrypt(plaintext, specs, content, external_aad=aad, tagged=tagged)
    else:
        assert key is not None
        if key.kty != KeyType.SYMMETRIC:
            raise ConfigError(
                "COSE_Encrypt0 needs a symmetric --key; use --to for public keys", reason="cli.key"
            )
        unprot = {4: key.kid} if key.kid else None
        if detached:
            data, ct = encrypt0_detached(
                plaintext, key, content, unprotected=unprot, external_aad=aad, tagged=tagged
            )
            Path(detached).write_bytes(ct)
        else:
            data = encrypt0(plaintext, key, content, unprotected=unprot, external_aad=aad, tagged=tagged)
    _emit(output, data, fmt)


@click.command("decrypt")
@click.argument("infile", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--key", "key_path", required=True, type=click.Path(dir_okay=False), help="Key (PEM/JWK/COSE_Key/raw)."
)
@click.option("--password-file", type=click.Path(dir_okay=False), help="Password of an encrypted PEM key.")
@click.option(
    "--sender", type=click.Path(dir_okay=False), help="Sender's static public key (ECDH-SS by kid)."
)
@click.option("--aad", "aad_hex", help="External additional authenticated data, hex.")
@click.option("--detached", type=click.Path(dir_okay=False), help="Detached ciphertext file.")
@click.option("--allow-unprotected-alg", is_flag=True, help="Accept an AEAD alg in the unprotected bucket.")
@click.option(
    "--allow-unauthenticated",
    is_flag=True,
    help="Accept AES-CTR/AES-CBC (RFC 9459): only when something else authenticates the plaintext.",
)
@click.option("-o", "--output", help="Plaintext output file (default: stdout).")
def decrypt_cmd(
    *,
    infile: str,
    key_path: str,
    password_file: str | None,
    sender: str | None,
    aad_hex: str | None,
    detached: str | None,
    allow_unprotected_alg: bool,
    allow_unauthenticated: bool,
    output: str | None,
) -> None:
    """Decrypt the COSE_Encrypt0/COSE_Encrypt in INFILE (CBOR, hex or diagnostic notation)."""
    key = _load_key(key_path, password_file)
    data = cbor.read_any(click.open_file(infile, "rb").read())
    item = cbor.loads(data)
    tag = item.tag if isinstance(item, cbor.CBORTag) else None
    body = item.value if isinstance(item, cbor.CBORTag) else item
    ct = Path(detached).read_bytes() if detached else None
    aad = _aad(aad_hex)
    msg: Encrypt0Message | EncryptMessage
    if tag == 16 or (tag is None and isinstance(body, list) and len(body) == 3):
        msg = Encrypt0Message.decode(data)
        plaintext = msg.decrypt(
            key,
            external_aad=aad,
            detached_ciphertext=ct,
            allow_unprotected_alg=allow_unprotected_alg,
            allow_unauthenticated=allow_unauthenticated,
        )
        kind = "COSE_Encrypt0"
    elif tag == 96 or (tag is None and isinstance(body, list) and len(body) == 4):
        msg = EncryptMessage.decode(data)
        sender_key = _load_key(sender) if sender else None
        plaintext = msg.decrypt(
            key,
            external_aad=aad,
            detached_ciphertext=ct,
            sender_key=sender_key,
            allow_unprotected_alg=allow_unprotected_alg,
            allow_unauthenticated=allow_unauthenticated,
        )
        kind = "COSE_Encrypt"
    else:
        raise ValidationError("not a COSE_Encrypt0 or COSE_Encrypt message", reason="cose.type")
    _emit(output, plaintext)
    if output and output != "-":
        summary = {"decrypted": True, "type": kind, "alg": alg_label(msg.alg), "bytes": len(plaintext)}
        if _json_mode():
            click.echo(json.dumps(summary))
        else:
            click.echo(f"decrypted: {kind} alg={summary['alg']} {len(plaintext)} bytes -> {output}")


__all__ = ["decrypt_cmd", "encrypt_cmd"]
