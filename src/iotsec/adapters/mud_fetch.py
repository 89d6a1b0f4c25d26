"""Fetch MUD files and signatures over HTTPS only (RFC 8520 §1.5, §13.2), and resolve DNS names.

Bounded on every axis a hostile or broken manufacturer server could stretch: TLS with certificate
verification always on, a size limit enforced while streaming, connect/read timeouts and an
overall deadline, and a bounded number of redirects that must all stay on https.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from iotsec.core.mud.url import check_mud_url
from iotsec.errors import DecodeError, IotSecError, NotFoundError, PolicyError

DEFAULT_MAX_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Fetched:
    """A fetched resource."""

    url: str  # the final URL after redirects
    body: bytes
    content_type: str | None


class HttpsFetcher:
    """GET over HTTPS with limits. ``ca_file``: trust these CAs instead of the system store."""

    def __init__(
        self,
        *,
        ca_file: str | None = None,
        timeout: float = 10.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_redirects: int = 3,
    ) -> None:
        self.ctx = ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
        self.ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects

    def get(self, url: str) -> Fetched:
        """GET ``url`` (https only) within the limits; typed errors on every failure."""
        check_mud_url(url)
        deadline = time.monotonic() + self.timeout
        with httpx.Client(
            verify=self.ctx, follow_redirects=False, timeout=self.timeout, trust_env=False
        ) as client:
            for _hop in range(self.max_redirects + 1):
                try:
                    with client.stream("GET", url, headers={"Accept": "application/mud+json, */*"}) as r:
                        if r.is_redirect:
                            loc = r.headers.get("location")
                            if not loc:
                                raise PolicyError("redirect without Location", reason="mud.fetch.redirect")
                            nxt = urljoin(url, loc)
                            if not nxt.lower().startswith("https://"):
                                raise PolicyError(
                                    f"redirect to a non-https URL {nxt!r}",
                                    reason="mud.fetch.redirect-not-https",
                                )
                            url = check_mud_url(nxt)
                            continue
                        if r.status_code == 404:
                            raise NotFoundError(f"{url}: 404 Not Found", reason="mud.fetch.not-found")
                        if r.status_code != 200:
                            raise IotSecError(f"{url}: HTTP {r.status_code}", reason="mud.fetch.status")
                        declared = r.headers.get("content-length")
                        if declared and declared.isdigit() and int(declared) > self.max_bytes:
                            raise DecodeError(
                                f"{url}: larger than {self.max_bytes} bytes", reason="mud.fetch.size"
                            )
                        body = bytearray()
                        for chunk in r.iter_bytes():
                            body += chunk
                            if len(body) > self.max_bytes:
                                raise DecodeError(
                                    f"{url}: larger than {self.max_bytes} bytes", reason="mud.fetch.size"
                                )
                            if time.monotonic() > deadline:
                                raise IotSecError(
                                    f"{url}: took longer than {self.timeout} s", reason="mud.fetch.timeout"
                                )
                        return Fetched(url=url, body=bytes(body), content_type=r.headers.get("content-type"))
                except httpx.TimeoutException as err:
                    raise IotSecError(f"{url}: timed out", reason="mud.fetch.timeout") from err
                except httpx.ConnectError as err:
                    cause = err.__cause__ or err.__context__
                    if isinstance(cause, ssl.SSLError) or "CERTIFICATE" in str(err).upper():
                        raise PolicyError(
                            f"{url}: TLS server certificate not trusted", reason="mud.fetch.tls"
                        ) from err
                    raise IotSecError(
                        f"{url}: cannot connect: {err}", reason="mud.fetch.unreachable"
                    ) from err
                except httpx.HTTPError as err:
                    raise IotSecError(
                        f"{url}: {type(err).__name__}: {err}", reason="mud.fetch.failed"
                    ) from err
            raise PolicyError(f"more than {self.max_redirects} redirects", reason="mud.fetch.redirects")


class SystemResolver:
    """DNS through the system resolver (getaddrinfo); failures resolve to no address."""

    def resolve(self, name: str) -> Sequence[str]:
        """Addresses of ``name`` (IPv4 and IPv6), or none."""
        try:
            infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            return ()
        return tuple(sorted({str(i[4][0]) for i in infos}))
