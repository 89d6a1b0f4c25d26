"""A CA on disk: root and issuing CA generations, rollover links, and the ``/cacerts`` bundle.

Layout of a CA directory (``ca.json`` says which generation is current)::

    ca.json                    {"generation": 2, "key_type": "p256", "name": "iotsec"}
    root-g1.pem  root-g1.key   self-signed root of generation 1 (key: encrypted PKCS#8, 0600)
    issuing-g1.pem issuing-g1.key
    link-g2-newwithold.pem     root g2's key signed by root g1 (RFC 4210 §4.4)
    link-g2-oldwithnew.pem     root g1's key signed by root g2
    cacerts.pem                what /cacerts serves (RFC 7030 §4.1.3)

Private keys are always written encrypted with the operator's passphrase, mode 0600.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from iotsec.core import pki
from iotsec.errors import ConfigError, ConflictError


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to a new or existing file with mode 0600 (created so, never widened)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
    finally:
        os.close(fd)


def read_passphrase(*, file: Path | None, env: str | None) -> bytes:
    """The passphrase from a file (first line) or the environment variable named ``env``.

    There is no default passphrase; an empty one is refused.
    """
    if file is not None and env is not None:
        raise ConfigError("give --passphrase-file or --passphrase-env, not both", reason="ca.passphrase")
    if file is not None:
        value = file.read_bytes().splitlines()[0] if file.stat().st_size else b""
    elif env is not None:
        value = os.environ.get(env, "").encode()
    else:
        raise ConfigError(
            "a passphrase is required (--passphrase-file or --passphrase-env)", reason="ca.passphrase.missing"
        )
    if not value:
        raise ConfigError("the passphrase is empty", reason="ca.passphrase.empty")
    return value


@dataclass
class CaDir:
    """A CA directory and its passphrase."""

    path: Path
    passphrase: bytes

    @property
    def meta(self) -> dict[str, object]:
        try:
            data = json.loads((self.path / "ca.json").read_text())
        except FileNotFoundError as exc:
            raise ConfigError(f"no CA in {self.path} (run `iotsec ca init`)", reason="ca.missing") from exc
        if not isinstance(data, dict):
            raise ConfigError("ca.json is not an object", reason="ca.meta")
        return data

    @property
    def generation(self) -> int:
        gen = self.meta.get("generation")
        if not isinstance(gen, int):
            raise ConfigError("ca.json lacks a generation", reason="ca.meta")
        return gen

    def _cert(self, name: str) -> x509.Certificate:
        return pki.load_cert((self.path / name).read_bytes())

    def _key(self, name: str) -> pki.PrivateKey:
        return pki.load_private_key((self.path / name).read_bytes(), self.passphrase)

    def root(self, gen: int | None = None) -> pki.Issuer:
        g = gen or self.generation
        return pki.Issuer(self._cert(f"root-g{g}.pem"), self._key(f"root-g{g}.key"))

    def root_cert(self, gen: int | None = None) -> x509.Certificate:
        return self._cert(f"root-g{gen or self.generation}.pem")

    def issuing(self, gen: int | None = None) -> pki.Issuer:
        g = gen or self.generation
        return pki.Issuer(self._cert(f"issuing-g{g}.pem"), self._key(f"issuing-g{g}.key"))

    def issuing_cert(self, gen: int | None = None) -> x509.Certificate:
        return self._cert(f"issuing-g{gen or self.generation}.pem")

    def cacerts(self) -> list[x509.Certificate]:
        return pki.load_certs((self.path / "cacerts.pem").read_bytes())

    def _write_generation(
        self, gen: int, *, key_type: pki.KeyType, name: str, now: dt.datetime, serial: int, days: int
    ) -> tuple[pki.Issuer, pki.Issuer]:
        root_key = pki.generate_key(key_type)
        root = pki.root_ca(
            root_key, pki.name(f"{name} Root CA G{gen}", organization=name), serial=serial, now=now, days=days
        )
        issuing_key = pki.generate_key(key_type)
        issuing = pki.issuing_ca(
            issuing_key.public_key(),
            pki.name(f"{name} Issuing CA G{gen}", organization=name),
            pki.Issuer(root, root_key),
            serial=serial + 1,
            now=now,
            days=days // 2,
        )
        for stem, cert, key in (("root", root, root_key), ("issuing", issuing, issuing_key)):
            write_private(self.path / f"{stem}-g{gen}.key", pki.key_to_pem(key, self.passphrase))
            (self.path / f"{stem}-g{gen}.pem").write_bytes(pki.certs_to_pem([cert]))
        return pki.Issuer(root, root_key), pki.Issuer(issuing, issuing_key)

    def init(
        self, *, key_type: pki.KeyType, name: str, now: dt.datetime, serial: int, days: int = 3650
    ) -> tuple[pki.Issuer, pki.Issuer]:
        """Create generation 1: a root and an issuing CA."""
        if (self.path / "ca.json").exists():
            raise ConflictError(f"a CA already exists in {self.path}", reason="ca.exists")
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        root, issuing = self._write_generation(
            1, key_type=key_type, name=name, now=now, serial=serial, days=days
        )
        self._save_meta(1, key_type, name)
        self.write_cacerts()
        return root, issuing

    def rollover(self, *, now: dt.datetime, serial: int, days: int = 3650) -> tuple[pki.Issuer, pki.Issuer]:
        """A new root and issuing CA, with NewWithOld and OldWithNew links (RFC 4210 §4.4)."""
        meta = self.meta
        old = self.root()
        gen = self.generation + 1
        key_type = pki.KeyType(str(meta.get("key_type", "p256")))
        name = str(meta.get("name", "iotsec"))
        new_root, new_issuing = self._write_generation(
            gen, key_type=key_type, name=name, now=now, serial=serial, days=days
        )
        new_with_old = pki.link_certificate(new_root.cert, old, serial=serial + 2, now=now)
        old_with_new = pki.link_certificate(old.cert, new_root, serial=serial + 3, now=now)
        (self.path / f"link-g{gen}-newwithold.pem").write_bytes(pki.certs_to_pem([new_with_old]))
        (self.path / f"link-g{gen}-oldwithnew.pem").write_bytes(pki.certs_to_pem([old_with_new]))
        self._save_meta(gen, key_type, name)
        self.write_cacerts()
        return new_root, new_issuing

    def _save_meta(self, gen: int, key_type: pki.KeyType, name: str) -> None:
        meta = {"generation": gen, "key_type": key_type.value, "name": name}
        (self.path / "ca.json").write_text(json.dumps(meta, indent=2) + "\n")

    def write_cacerts(self) -> list[x509.Certificate]:
        """The /cacerts bundle: current issuing CA and root (NewWithNew), then for the previous
        generation the links NewWithOld and OldWithNew, the old root (OldWithOld) and its issuing CA
        (RFC 7030 §4.1.3)."""
        gen = self.generation
        certs = [self.issuing_cert(gen), self.root_cert(gen)]
        if gen > 1:
            certs += pki.load_certs((self.path / f"link-g{gen}-newwithold.pem").read_bytes())
            certs += pki.load_certs((self.path / f"link-g{gen}-oldwithnew.pem").read_bytes())
            certs += [self.root_cert(gen - 1), self.issuing_cert(gen - 1)]
        (self.path / "cacerts.pem").write_bytes(pki.certs_to_pem(certs))
        return certs

    def trust_bundle(self) -> Path:
        """A PEM of every root and issuing CA of every generation: the server's client-CA file."""
        certs = []
        for g in range(1, self.generation + 1):
            certs += [self.root_cert(g), self.issuing_cert(g)]
        path = self.path / "client-ca.pem"
        path.write_bytes(pki.certs_to_pem(certs))
        return path


__all__ = ["CaDir", "read_passphrase", "write_private"]
