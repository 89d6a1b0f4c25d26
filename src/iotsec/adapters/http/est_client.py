"""EST client (RFC 7030) on httpx with mutual TLS; used by the CLI and the device agent.

The client trusts only explicit anchors (RFC 7030 §3.6.1), authenticates with a client certificate
(IDevID or LDevID) and/or HTTP Basic (bootstrap secret), and turns every non-2xx answer into a typed
:class:`IotSecError` carrying the server's reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509

from iotsec.adapters.http.tls import client_context
from iotsec.core import est, pki
from iotsec.errors import (
    AuthenticationError,
    ConflictError,
    DecodeError,
    IotSecError,
    NotFoundError,
    PolicyError,
    UnsupportedError,
    ValidationError,
)


@dataclass(frozen=True)
class EnrollResult:
    """Issued certificates, or ``pending`` with the server's Retry-After (RFC 7030 §4.2.3)."""

    certs: list[x509.Certificate]
    retry_after: int | None = None

    @property
    def pending(self) -> bool:
        return self.retry_after is not None


_CLASSES: dict[int, type[IotSecError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PolicyError,
    404: NotFoundError,
    409: ConflictError,
    415: UnsupportedError,
    429: PolicyError,
}


def _raise_for(resp: httpx.Response) -> None:
    if resp.status_code < 300:
        return
    reason = resp.headers.get("x-iotsec-reason") or f"est.http.{resp.status_code}"
    text = resp.text.strip()[:500] or resp.reason_phrase
    retry = resp.headers.get("retry-after")
    cls = _CLASSES.get(resp.status_code, IotSecError)
    err = cls(f"EST server answered {resp.status_code}: {text}", reason=reason)
    err.status = resp.status_code  # type: ignore[attr-defined]
    err.retry_after = int(retry) if retry and retry.isdigit() else None  # type: ignore[attr-defined]
    raise err


class EstClient:
    """A client of one EST server (``base_url`` like ``https://est.example:8443``)."""

    def __init__(
        self,
        base_url: str,
        *,
        trust: Path,
        cert: Path | None = None,
        key: Path | None = None,
        key_password: bytes | None = None,
        basic: tuple[str, str] | None = None,
        label: str | None = None,
        allow_tls12: bool = False,
        timeout: float = 30.0,
    ) -> None:
        self.label = est.check_label(label) if label else None
        ctx = client_context(
            trust=trust, certfile=cert, keyfile=key, password=key_password, allow_tls12=allow_tls12
        )
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            verify=ctx,
            timeout=timeout,
            auth=httpx.BasicAuth(*basic) if basic else None,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> EstClient:
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()

    def _get(self, op: str) -> httpx.Response:
        try:
            resp = self._http.get(est.est_path(op, self.label))
        except httpx.HTTPError as exc:
            raise _transport(exc) from exc
        _raise_for(resp)
        return resp

    def _post(self, op: str, csr_der: bytes) -> httpx.Response:
        try:
            resp = self._http.post(
                est.est_path(op, self.label),
                content=est.b64_encode(csr_der),
                headers={"Content-Type": est.PKCS10, "Content-Transfer-Encoding": "base64"},
            )
        except httpx.HTTPError as exc:
            raise _transport(exc) from exc
        _raise_for(resp)
        return resp

    def cacerts(self) -> list[x509.Certificate]:
        """RFC 7030 §4.1: the CA certificates (with rollover links when the CA has rolled)."""
        return est.decode_certs_only(est.b64_decode(self._get("cacerts").content, max_size=est.MAX_BODY * 4))

    def csrattrs(self) -> list[est.CsrAttr]:
        """RFC 7030 §4.5 (an empty list on 204/404)."""
        resp = self._get("csrattrs")
        if resp.status_code == 204 or not resp.content.strip():
            return []
        return est.decode_csrattrs(est.b64_decode(resp.content))

    def _enroll(self, op: str, csr_der: bytes) -> EnrollResult:
        resp = self._post(op, csr_der)
        if resp.status_code == 202:
            retry = resp.headers.get("retry-after", "60")
            return EnrollResult([], retry_after=int(retry) if retry.isdigit() else 60)
        if resp.status_code != 200:
            raise DecodeError(f"unexpected EST status {resp.status_code}", reason="est.http.status")
        return EnrollResult(est.decode_certs_only(est.b64_decode(resp.content)))

    def simpleenroll(self, csr_der: bytes) -> EnrollResult:
        """RFC 7030 §4.2.1."""
        return self._enroll("simpleenroll", csr_der)

    def simplereenroll(self, csr_der: bytes) -> EnrollResult:
        """RFC 7030 §4.2.2 (authenticate with the current LDevID as ``cert``/``key``)."""
        return self._enroll("simplereenroll", csr_der)

    def serverkeygen(self, csr_der: bytes) -> tuple[pki.PrivateKey, list[x509.Certificate]] | EnrollResult:
        """RFC 7030 §4.4: (the server-made key, certificates), or a pending result."""
        resp = self._post("serverkeygen", csr_der)
        if resp.status_code == 202:
            retry = resp.headers.get("retry-after", "60")
            return EnrollResult([], retry_after=int(retry) if retry.isdigit() else 60)
        key_der, certs = est.decode_serverkeygen(resp.headers.get("content-type", ""), resp.content)
        return pki.load_private_key(key_der), certs

    def new_anchor(self, current: x509.Certificate, *, now: dt.datetime) -> x509.Certificate | None:
        """The new root offered through a NewWithOld link signed by ``current`` (RFC 7030 §4.1.3)."""
        return pki.rollover_anchor(current, self.cacerts(), now=now)


def _transport(exc: httpx.HTTPError) -> IotSecError:
    return AuthenticationError(f"EST transport failed: {exc}", reason="est.transport")


__all__ = ["EnrollResult", "EstClient"]
