"""The device-side attester (RFC 9334 §3.1): gathers claims from the platform and signs them with the
device's attestation key, bound to the verifier's nonce (RFC 9711 §4.1).

Evidence is an RFC 9711 EAT of the constrained-device profile (§6.3: COSE_Sign1, ES256/384/512,
nonce, key identified by UEID): ueid, hwmodel, swname/swversion, dbgstat, bootcount, bootseed,
uptime, iat and the installed components' digests as an evidence CoSWID in ``measurements``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from iotsec.adapters.http.verifier_client import VerifierClient
from iotsec.core.cose import CoseKey
from iotsec.core.eat import coswid, tokens
from iotsec.core.eat.claims import Claim, DebugStatus
from iotsec.core.eat.signing import jws_alg
from iotsec.errors import ConfigError

PROFILE_CONSTRAINED = "urn:ietf:rfc:rfc9711"
PROFILE_JWT = "tag:iotsec.dev,2026:rats/eat-jwt#1"  # the same claims as a JWT (docs/rats.md)
MEDIA_TYPE = f'application/eat+cwt; eat_profile="{PROFILE_CONSTRAINED}"'
MEDIA_TYPE_JWT = f'application/eat+jwt; eat_profile="{PROFILE_JWT}"'


class Platform(Protocol):
    """What the attester reads from the device."""

    def instance_id(self) -> bytes: ...
    def hardware_model(self) -> bytes | None: ...
    def software(self) -> tuple[str, str]: ...
    def components(self) -> list[tuple[str, bytes]]:
        """(name, SHA-256 digest) of each installed component."""
        ...

    def debug_status(self) -> DebugStatus: ...
    def boot_count(self) -> int: ...
    def boot_seed(self) -> bytes: ...
    def uptime(self) -> int: ...


@dataclass
class StaticPlatform:
    """A platform described by values (tests, the device simulator)."""

    ueid: bytes
    sw: tuple[str, str] = ("iotsec-device", "1.0.0")
    comps: list[tuple[str, bytes]] = field(default_factory=list)
    debug: DebugStatus = DebugStatus.DISABLED_SINCE_BOOT
    boots: int = 1
    seed: bytes = b"\x00" * 32
    up: int = 0
    hwmodel: bytes | None = None

    def instance_id(self) -> bytes:
        return self.ueid

    def hardware_model(self) -> bytes | None:
        return self.hwmodel

    def software(self) -> tuple[str, str]:
        return self.sw

    def components(self) -> list[tuple[str, bytes]]:
        return list(self.comps)

    def debug_status(self) -> DebugStatus:
        return self.debug

    def boot_count(self) -> int:
        return self.boots

    def boot_seed(self) -> bytes:
        return self.seed

    def uptime(self) -> int:
        return self.up


class LinuxPlatform:
    """A Linux device: component files hashed from disk, uptime from /proc/uptime, the boot seed from
    the kernel's per-boot ``boot_id`` (RFC 9711 §4.2.13), the boot count kept in ``state_dir``."""

    def __init__(
        self,
        state_dir: Path,
        component_files: dict[str, Path],
        *,
        ueid: bytes,
        software: tuple[str, str],
        debug: DebugStatus = DebugStatus.DISABLED_SINCE_BOOT,
        proc: Path = Path("/proc"),
    ) -> None:
        self.state_dir, self.files, self.ueid, self.sw, self.debug, self.proc = (
            state_dir,
            component_files,
            ueid,
            software,
            debug,
            proc,
        )

    def instance_id(self) -> bytes:
        return self.ueid

    def hardware_model(self) -> bytes | None:
        return None

    def software(self) -> tuple[str, str]:
        return self.sw

    def components(self) -> list[tuple[str, bytes]]:
        out = []
        for name, path in sorted(self.files.items()):
            h = hashlib.sha256()
            with path.open("rb") as f:
                for chunk in iter(lambda: f.read(1 << 16), b""):
                    h.update(chunk)
            out.append((name, h.digest()))
        return out

    def debug_status(self) -> DebugStatus:
        return self.debug

    def _boot_id(self) -> str:
        text = (self.proc / "sys/kernel/random/boot_id").read_text().strip()
        if not re.fullmatch(r"[0-9a-f-]{36}", text):
            raise ConfigError("unexpected boot_id format", reason="attester.boot_id")
        return text

    def boot_seed(self) -> bytes:
        return bytes.fromhex(self._boot_id().replace("-", "")) * 2  # 32 bytes, constant for this boot

    def boot_count(self) -> int:
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        f = self.state_dir / "bootcount"
        boot_id = self._boot_id()
        last, count = "", 0
        if f.exists():
            parts = f.read_text().split()
            if len(parts) == 2 and parts[1].isdigit():
                last, count = parts[0], int(parts[1])
        if last != boot_id:
            count += 1
            f.write_text(f"{boot_id} {count}\n")
        return count

    def uptime(self) -> int:
        return int(float((self.proc / "uptime").read_text().split()[0]))


class Attester:
    """Produces signed evidence for a nonce: a COSE_Sign1 CWT (default) or a JWT (``fmt="jwt"``)."""

    media_type = MEDIA_TYPE

    def __init__(self, platform: Platform, key: CoseKey, *, fmt: str = "cwt") -> None:
        if fmt not in ("cwt", "jwt"):
            raise ConfigError("evidence format must be cwt or jwt", reason="attester.format")
        self.platform = platform
        self.key = key
        self.fmt = fmt
        if fmt == "jwt":
            self.media_type = MEDIA_TYPE_JWT

    def claims(self, nonce: bytes, *, now: int) -> dict[int | str, Any]:
        """The claims-set gathered from the platform for ``nonce`` at time ``now``."""
        p = self.platform
        name, version = p.software()
        files = tuple(coswid.FileMeasurement(n, coswid.HASH_SHA256, d) for n, d in p.components())
        sw = coswid.EvidenceCoswid(
            tag_id=f"{name}-{version}",
            software_name=name,
            software_version=version,
            files=files,
            creator="iotsec attester",
        )
        c: dict[int | str, Any] = {
            Claim.PROFILE: PROFILE_JWT if self.fmt == "jwt" else PROFILE_CONSTRAINED,
            Claim.NONCE: nonce,
            Claim.UEID: p.instance_id(),
            Claim.SWNAME: name,
            Claim.SWVERSION: [version],
            Claim.DBGSTAT: p.debug_status(),
            Claim.BOOTCOUNT: p.boot_count(),
            Claim.BOOTSEED: p.boot_seed(),
            Claim.UPTIME: p.uptime(),
            Claim.IAT: now,
            Claim.MEASUREMENTS: [[coswid.SWID_CBOR_CONTENT_FORMAT, coswid.encode(sw)]],
        }
        hw = p.hardware_model()
        if hw is not None:
            c[Claim.HWMODEL] = hw
        return {int(k) if isinstance(k, int) else k: v for k, v in c.items()}

    def evidence(self, nonce: bytes, *, now: int) -> bytes:
        """A COSE_Sign1 CWT (or JWT) over the claims, carrying ``nonce`` (RFC 9711 §6.3)."""
        if self.fmt == "jwt":
            kid = self.key.kid.hex() if self.key.kid else None
            return tokens.create_jwt(
                self.claims(nonce, now=now), self.key, alg=jws_alg(self.key), kid=kid
            ).encode()
        return tokens.create_cwt(self.claims(nonce, now=now), self.key, kid=self.key.kid)


def attest(client: VerifierClient, attester: Attester, *, now: int, nonce_size: int = 32) -> dict[str, Any]:
    """One challenge-response round trip: new session, evidence for its nonce, the session back."""
    session = client.new_session(nonce_size=nonce_size)
    return client.submit(session, attester.media_type, attester.evidence(session.nonce, now=now))


__all__ = [
    "MEDIA_TYPE",
    "MEDIA_TYPE_JWT",
    "Attester",
    "LinuxPlatform",
    "Platform",
    "StaticPlatform",
    "attest",
]
