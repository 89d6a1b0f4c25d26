"""The MUD manager (RFC 8520 §1.6): from a device's MUD URL to enforced network policy.

For each device that joins: fetch the MUD file and its signature (through a :class:`Fetcher`),
verify the signature against the manufacturer's trust anchors, parse and validate, cache it for
``cache-validity`` hours, resolve the abstractions and DNS names, and hand the compiled policy to an
:class:`Enforcer` (nftables in production). When a device leaves, its policy is removed; devices
whose policies name other devices (same-manufacturer, manufacturer, model) are recompiled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from cryptography import x509

from iotsec.clock import Clock
from iotsec.core.mud.compiler import Device, DevicePolicy, Environment, Resolver, compile_policy
from iotsec.core.mud.model import Finding, MudFile
from iotsec.core.mud.parser import parse_mud
from iotsec.core.mud.signature import verify_mud_signature
from iotsec.core.mud.url import authority, check_mud_url, signature_url
from iotsec.errors import IotSecError, NotFoundError, PolicyError


class FetchedLike(Protocol):
    """What a fetcher returns: at least the body bytes."""

    @property
    def body(self) -> bytes:
        """The response body."""
        ...


class Fetcher(Protocol):
    """Fetches a URL (HTTPS, bounded); see ``iotsec.adapters.mud_fetch.HttpsFetcher``."""

    def get(self, url: str) -> FetchedLike:
        """GET ``url`` or raise an :class:`IotSecError`."""
        ...


class Enforcer(Protocol):
    """Applies and removes device policies; see ``iotsec.adapters.nftables.Nftables``."""

    def apply(self, policy: DevicePolicy) -> None:
        """Install or replace the device's policy atomically."""
        ...

    def remove(self, device: Device) -> None:
        """Remove the device's policy."""
        ...


@dataclass
class CachedMud:
    """A verified MUD file, kept until ``expires_at`` (fetch time + cache-validity)."""

    url: str
    body: bytes
    mud: MudFile
    findings: tuple[Finding, ...]
    fetched_at: datetime
    expires_at: datetime
    signer: x509.Certificate | None = None
    # why the last refetch after expiry failed (the file stays in force meanwhile), as a reason code
    stale_reason: str | None = None


@dataclass
class ManagedDevice:
    """A device the manager enforces, with its current policy."""

    device: Device
    policy: DevicePolicy
    expected_signer: x509.Name | bytes | None = None


@dataclass
class ManagerConfig:
    """Trust anchors per manufacturer (MUD URL host), the local environment, modes."""

    trust_anchors: Mapping[str, Sequence[x509.Certificate]] = field(default_factory=dict)  # authority -> CAs
    environment: Environment = field(default_factory=Environment)
    require_signature: bool = True
    lenient: bool = False


class MudManager:
    """Keeps devices, cached MUD files and enforced policies consistent."""

    def __init__(
        self, fetcher: Fetcher, enforcer: Enforcer, resolver: Resolver, clock: Clock, config: ManagerConfig
    ) -> None:
        self.fetcher = fetcher
        self.enforcer = enforcer
        self.resolver = resolver
        self.clock = clock
        self.config = config
        self.cache: dict[str, CachedMud] = {}
        self.devices: dict[str, ManagedDevice] = {}

    # -- MUD files -------------------------------------------------------------------------------

    def load(
        self, mud_url: str, *, expected_signer: x509.Name | bytes | None = None, force: bool = False
    ) -> CachedMud:
        """The MUD file for ``mud_url``: from the cache while valid (RFC 8520 §3.5), else fetched."""
        url = check_mud_url(mud_url)
        now = self.clock.now()
        hit = self.cache.get(url)
        if hit is not None and not force and now < hit.expires_at:
            return hit
        if expected_signer is None and hit is not None and hit.signer is not None:
            # a new version of a file must come from the signer of the one in force (signer pinning)
            expected_signer = hit.signer.subject
        try:
            fresh = self._fetch(url, now, expected_signer)
        except IotSecError as err:
            if hit is not None:
                # RFC 8520 §3.5: an expired cache-validity does not oblige the manager to drop the file
                hit.stale_reason = err.reason
                return hit
            raise
        self.cache[url] = fresh
        return fresh

    def _fetch(self, url: str, now: datetime, expected_signer: x509.Name | bytes | None) -> CachedMud:
        body = self.fetcher.get(url).body
        doc = parse_mud(body, lenient=self.config.lenient)
        mud = doc.mud
        if mud.mud_url != url:  # the file must describe the URL the device announced
            raise PolicyError(f"MUD file is for {mud.mud_url}, not {url}", reason="mud.url.mismatch")
        signer = None
        anchors = self.config.trust_anchors.get(authority(url), ())
        if self.config.require_signature and not anchors:
            raise PolicyError(
                f"no trust anchor configured for manufacturer {authority(url)}",
                reason="mud.signature.no-anchor",
            )
        if anchors:  # RFC 8520 §13.2: fetch the signature and verify it before using the file
            try:
                sig = self.fetcher.get(signature_url(url, mud.mud_signature)).body
            except NotFoundError as err:
                raise PolicyError(f"no signature for {url}", reason="mud.signature.missing") from err
            signer = verify_mud_signature(
                body, sig, trust_anchors=anchors, now=now, expected_signer=expected_signer
            )
        return CachedMud(
            url=url,
            body=body,
            mud=mud,
            findings=doc.findings,
            fetched_at=now,
            expires_at=now + timedelta(hours=mud.cache_validity),
            signer=signer,
        )

    # -- devices ---------------------------------------------------------------------------------

    def _env(self) -> Environment:
        return replace(self.config.environment, devices=tuple(d.device for d in self.devices.values()))

    def _compile(self, device: Device) -> DevicePolicy:
        cached = self.load(
            device.mud_url,
            expected_signer=self.devices[device.id].expected_signer if device.id in self.devices else None,
        )
        return compile_policy(cached.mud, device, self._env(), self.resolver)

    def device_joined(
        self, device: Device, *, expected_signer: x509.Name | bytes | None = None
    ) -> DevicePolicy:
        """Fetch, verify, compile and enforce the policy of a device that appeared."""
        self.load(device.mud_url, expected_signer=expected_signer)  # fail before touching state
        old = self.devices.get(device.id)
        if old is not None and old.device != device:
            self.enforcer.remove(old.device)
            del self.devices[device.id]
        self.devices[device.id] = ManagedDevice(
            device, DevicePolicy(device, device.mud_url, ()), expected_signer
        )
        try:
            policy = self._compile(device)
            self.enforcer.apply(policy)
        except IotSecError:
            del self.devices[device.id]
            raise
        self.devices[device.id].policy = policy
        self._recompile_dependents(skip=device.id)
        return policy

    def device_left(self, device_id: str) -> None:
        """Remove the device's policy (and update the devices that referred to it)."""
        md = self.devices.pop(device_id, None)
        if md is None:
            raise NotFoundError(f"unknown device {device_id}", reason="mud.device.unknown")
        self.enforcer.remove(md.device)
        self._recompile_dependents(skip=device_id)

    def refresh(self) -> list[str]:
        """Re-fetch expired MUD files, re-resolve names and re-apply what changed; returns device ids."""
        changed = []
        for dev_id, md in list(self.devices.items()):
            policy = self._compile(md.device)
            if policy.intents != md.policy.intents:
                self.enforcer.apply(policy)
                md.policy = policy
                changed.append(dev_id)
        return changed

    def stale(self) -> dict[str, str]:
        """MUD URLs whose refetch failed after expiry (kept in force), with the reason code."""
        return {u: c.stale_reason for u, c in self.cache.items() if c.stale_reason}

    def _recompile_dependents(self, *, skip: str) -> None:
        for dev_id, md in list(self.devices.items()):
            if dev_id == skip:
                continue
            mud = self.cache[md.device.mud_url].mud if md.device.mud_url in self.cache else None
            if mud is None or not any(
                a.mud is not None and (a.mud.same_manufacturer or a.mud.manufacturer or a.mud.model)
                for acl in mud.acls
                for a in acl.aces
            ):
                continue
            policy = compile_policy(mud, md.device, self._env(), self.resolver)
            if policy.intents != md.policy.intents:
                self.enforcer.apply(policy)
                md.policy = policy
