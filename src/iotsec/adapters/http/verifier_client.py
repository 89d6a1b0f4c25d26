"""An HTTP client for Veraison-compatible verifiers (ours or Veraison itself), on httpx."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import httpx

from iotsec.core.cose import CoseKey
from iotsec.errors import (
    AuthenticationError,
    ConflictError,
    IotSecError,
    NotFoundError,
    PolicyError,
    UnsupportedError,
    ValidationError,
    VerifyError,
)


@dataclass
class ChallengeSession:
    """A session as the client sees it: its absolute URL, nonce and accepted media types."""

    url: str
    nonce: bytes
    accept: list[str]
    body: dict[str, Any]


def _raise_for(resp: httpx.Response) -> None:
    if resp.status_code < 400:
        return
    try:
        body = resp.json()
    except ValueError:
        body = {}
    reason = str(body.get("reason", f"http.{resp.status_code}"))
    msg = str(body.get("detail", resp.text[:200]))
    cls: type[IotSecError] = {
        400: ValidationError,
        403: PolicyError,
        404: NotFoundError,
        409: ConflictError,
        415: UnsupportedError,
    }.get(resp.status_code, IotSecError)
    if resp.status_code == 401:  # the problem table maps both to 401: tell them apart by reason
        cls = AuthenticationError if reason.startswith("verifier.provisioning") else VerifyError
    raise cls(f"verifier refused ({resp.status_code}): {msg}", reason=reason)


class VerifierClient:
    """Talks to ``base_url`` (e.g. ``https://verifier.example:8443``) with an httpx client."""

    def __init__(self, base_url: str, client: httpx.Client) -> None:
        self.base = base_url.rstrip("/") + "/"
        self.client = client

    def discover(self) -> dict[str, Any]:
        """GET /.well-known/veraison/verification."""
        r = self.client.get(urljoin(self.base, ".well-known/veraison/verification"))
        _raise_for(r)
        out: dict[str, Any] = r.json()
        return out

    def ear_key(self) -> CoseKey:
        """The verifier's EAR verification key, from discovery (trust it only over verified TLS)."""
        info = self.discover()
        jwk = info.get("ear-verification-key")
        if not isinstance(jwk, dict):
            raise ValidationError(
                "the verifier publishes no EAR verification key", reason="verifier.discovery"
            )
        return CoseKey.from_jwk(jwk)

    def new_session(self, *, nonce: bytes | None = None, nonce_size: int | None = None) -> ChallengeSession:
        params: dict[str, str] = {}
        if nonce is not None:
            params["nonce"] = base64.urlsafe_b64encode(nonce).decode()
        if nonce_size is not None:
            params["nonceSize"] = str(nonce_size)
        url = urljoin(self.base, "challenge-response/v1/newSession")
        r = self.client.post(url, params=params)
        _raise_for(r)
        body = r.json()
        return ChallengeSession(
            urljoin(url, r.headers["location"]),
            base64.b64decode(body["nonce"]),
            list(body.get("accept", [])),
            body,
        )

    def submit(self, session: ChallengeSession, media_type: str, evidence: bytes) -> dict[str, Any]:
        """POST evidence to the session; the session JSON back (with the EAR in ``result``)."""
        r = self.client.post(session.url, content=evidence, headers={"content-type": media_type})
        _raise_for(r)
        out: dict[str, Any] = r.json()
        return out

    def provision(
        self, corim: bytes, token: str, media_type: str = "application/corim-unsigned+cbor"
    ) -> None:
        r = self.client.post(
            urljoin(self.base, "endorsement-provisioning/v1/submit"),
            content=corim,
            headers={"content-type": media_type, "authorization": f"Bearer {token}"},
        )
        _raise_for(r)


__all__ = ["ChallengeSession", "VerifierClient"]
