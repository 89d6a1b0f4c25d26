"""Running an iotsec FastAPI app over HTTPS with uvicorn: TLS 1.3 by default, strict context.

Every server of iotsec (EST, verifier) starts here, so the TLS policy of
:func:`iotsec.adapters.http.tls.server_context` holds for all of them.
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from typing import Any

import uvicorn

from iotsec.adapters.http.tls import TlsH11Protocol, server_context


def free_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A bound, listening TCP socket (port 0: the kernel picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def make_server(
    app: Any,
    *,
    certfile: Path,
    keyfile: Path,
    password: bytes | None,
    client_ca: Path | None,
    allow_tls12: bool = False,
    log_level: str = "warning",
    context: ssl.SSLContext | None = None,
    **config: Any,
) -> uvicorn.Server:
    """A uvicorn server for ``app`` over HTTPS (TLS 1.3 by default) with optional client certificates.

    The TLS context comes from :func:`iotsec.adapters.http.tls.server_context` through uvicorn's
    ``ssl_context_factory``; the h11 protocol is :class:`TlsH11Protocol`, which puts the client
    certificate in ``scope["extensions"]["tls"]``.
    """
    ctx = context or server_context(
        certfile=certfile, keyfile=keyfile, password=password, client_ca=client_ca, allow_tls12=allow_tls12
    )
    cfg = uvicorn.Config(
        app,
        http=TlsH11Protocol,
        ssl_certfile=str(certfile),
        ssl_context_factory=lambda _cfg, _default: ctx,
        log_level=log_level,
        ws="none",
        lifespan="off",
        **config,
    )
    return uvicorn.Server(cfg)


__all__ = ["free_socket", "make_server"]
