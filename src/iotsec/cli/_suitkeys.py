"""Key files and output mode shared by the ``iotsec suit`` commands (suit.py and suit_extra.py).

The ``iotsec.core`` imports stay inside the functions, as in the command modules, so that
``iotsec --help`` does not load the COSE stack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from iotsec.errors import IotSecError

# first bytes of a CBOR map of 1 to 5 entries: a COSE_Key
_COSE_KEY_START = (b"\xa1", b"\xa2", b"\xa3", b"\xa4", b"\xa5")


def json_output(ctx: click.Context) -> bool:
    """Whether the global ``--json`` option is set."""
    return bool(ctx.obj and ctx.obj.get("json"))


def load_key(path: str) -> Any:
    """An asymmetric key file: PEM, DER, JWK or COSE_Key."""
    from iotsec.core.cose import CoseKey

    return CoseKey.load(Path(path).read_bytes())


def symmetric_key(path: str) -> Any:
    """A symmetric key file (MAC key, KEK): raw bytes, hex text, or a COSE_Key/JWK (kid kept)."""
    from iotsec.core.cose import CoseKey

    data = Path(path).read_bytes()
    stripped = data.strip()
    if stripped.startswith(b"{") or stripped[:1] in _COSE_KEY_START:
        return CoseKey.load(data)
    try:
        k = bytes.fromhex(stripped.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        k = data
    return CoseKey.symmetric(k)


def any_key(path: str) -> Any:
    """A key file of either kind: asymmetric if it loads as such, else symmetric."""
    try:
        return load_key(path)
    except IotSecError:
        return symmetric_key(path)
