"""HTTPS for iotsec servers: a strict TLS context and the client certificate in the ASGI scope.

uvicorn 0.54 (the version pinned here) neither puts the transport nor the ASGI TLS extension
(``scope["extensions"]["tls"]``) in the HTTP scope, so :class:`TlsH11Protocol` adds the extension
itself: after the handshake (asyncio calls ``connection_made`` once TLS is up) it reads the peer
certificate from the transport's ``ssl_object`` and wraps the app of that connection so every request
scope carries ``{"client_cert_chain": [PEM], "tls_version": ..., "cipher_suite": ...}`` as the
ASGI TLS extension describes. Only the leaf is available (Python 3.11's ``getpeercert``).
"""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from iotsec.errors import ConfigError

# TLS 1.2 suites allowed by option: forward secret AEAD only (RFC 9325 §4.2)
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL:!MD5:!SHA1:!DSS"
_TLS_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


def server_context(
    *,
    certfile: Path,
    keyfile: Path,
    password: bytes | None,
    client_ca: Path | None,
    allow_tls12: bool = False,
) -> ssl.SSLContext:
    """TLS 1.3 only by default (1.2 with AEAD + ECDHE suites by option); client certificate optional,
    verified against ``client_ca`` when presented."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2 if allow_tls12 else ssl.TLSVersion.TLSv1_3
    ctx.set_ciphers(TLS12_CIPHERS)
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION | ssl.OP_CIPHER_SERVER_PREFERENCE
    try:
        ctx.load_cert_chain(str(certfile), str(keyfile), password=password)
        if client_ca is not None:
            ctx.load_verify_locations(cafile=str(client_ca))
            ctx.verify_mode = ssl.CERT_OPTIONAL
    except ssl.SSLError as exc:
        raise ConfigError(f"unusable TLS certificate or key: {exc}", reason="tls.config") from exc
    return ctx


def client_context(
    *,
    trust: Path,
    certfile: Path | None = None,
    keyfile: Path | None = None,
    password: bytes | None = None,
    allow_tls12: bool = False,
) -> ssl.SSLContext:
    """A client context that trusts only ``trust`` (explicit trust anchors, RFC 7030 §3.6.1)."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(trust))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2 if allow_tls12 else ssl.TLSVersion.TLSv1_3
    ctx.set_ciphers(TLS12_CIPHERS)
    if certfile is not None:
        try:
            ctx.load_cert_chain(str(certfile), str(keyfile) if keyfile else None, password=password)
        except ssl.SSLError as exc:
            raise ConfigError(f"unusable client certificate or key: {exc}", reason="tls.config") from exc
    return ctx


class _TlsScope:
    def __init__(self, app: Any, tls: dict[str, Any]) -> None:
        self.app = app
        self.tls = tls

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") in ("http", "websocket"):
            scope = dict(scope)
            scope["extensions"] = {**(scope.get("extensions") or {}), "tls": self.tls}
        await self.app(scope, receive, send)


def tls_extension(transport: asyncio.BaseTransport) -> dict[str, Any] | None:
    """The ASGI TLS extension for a connection, or None over plain TCP."""
    obj = transport.get_extra_info("ssl_object")
    if not isinstance(obj, ssl.SSLObject | ssl.SSLSocket):
        return None
    der = obj.getpeercert(binary_form=True)
    chain = [ssl.DER_cert_to_PEM_cert(der)] if der else []
    cipher = obj.cipher()
    return {
        "server_cert": None,
        "client_cert_chain": chain,
        "client_cert_name": None,
        "client_cert_error": None,
        "tls_version": _TLS_VERSIONS.get(obj.version() or ""),
        "cipher_suite": None,  # the spec wants the IANA number; Python's ssl only gives the name
        "iotsec_cipher_name": cipher[0] if cipher else None,
    }


class TlsH11Protocol(H11Protocol):
    """uvicorn's h11 protocol plus ``scope["extensions"]["tls"]`` with the client certificate."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        tls = tls_extension(transport)
        if tls is not None:
            self.app = _TlsScope(self.app, tls)


__all__ = ["TLS12_CIPHERS", "TlsH11Protocol", "client_context", "server_context", "tls_extension"]
