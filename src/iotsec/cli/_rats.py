"""Helpers shared by the RATS command groups (eat, ear, corim, verifier)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from iotsec.core import cbor
from iotsec.core.cose import CoseKey
from iotsec.errors import ConfigError, DecodeError


def load_key(path: str, *, symmetric: bool = False) -> CoseKey:
    """A key file: PEM, DER, JWK or COSE_Key; with ``symmetric`` the raw bytes of an HMAC key."""
    data = Path(path).read_bytes()
    if symmetric:
        if not data:
            raise ConfigError(f"{path}: empty key file", reason="cli.key")
        return CoseKey.symmetric(data)
    if data.lstrip().startswith(b"{"):
        try:
            obj = json.loads(data)
        except ValueError as exc:
            raise DecodeError(f"{path}: not JSON: {exc}", reason="cli.key") from exc
        if isinstance(obj, dict) and "keys" in obj and isinstance(obj["keys"], list) and obj["keys"]:
            obj = obj["keys"][0]  # a JWK set: its first key
        return CoseKey.from_jwk(obj)
    return CoseKey.load(data)


def read_token(path: str) -> bytes:
    """A token file: JWT text, or CBOR as binary, hex or diagnostic notation."""
    data = Path(path).read_bytes()
    s = data.strip()
    if s[:2] == b"ey" and s.count(b".") == 2:
        return s
    if s[:1] == b"[" or s[:1] == b"{":
        try:
            json.loads(s)
            return s  # a JSON bundle
        except ValueError:
            pass
    return cbor.read_any(data)


def read_structured(path: str) -> Any:
    """JSON or YAML from a file."""
    import yaml

    text = Path(path).read_text()
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DecodeError(f"{path}: neither JSON nor YAML: {exc}", reason="cli.input") from exc


def parse_hex(value: str | None, what: str) -> bytes | None:
    if value is None:
        return None
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise click.BadParameter(f"{what} must be hex") from None


def emit(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, sort_keys=False, default=str))
