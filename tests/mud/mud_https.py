"""A local HTTPS server on 127.0.0.1 with a test CA, serving MUD files for the fetcher tests."""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from mud_pki import Issued, issue, name


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    location: str | None = None
    delay: float = 0.0
    send_length: bool = True


@dataclass
class HttpsServer:
    tmp: Path
    routes: dict[str, Route] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    ca: Issued | None = None
    port: int = 0

    def __post_init__(self) -> None:
        self.ca = issue(name("Test TLS CA", "iotsec tests"), None, ca=True)
        leaf = issue(name("127.0.0.1", "iotsec tests"), self.ca, ca=False, sans=["127.0.0.1", "localhost"])
        key, cert = leaf.write(self.tmp, "tls-server")
        (self.tmp / "tls-ca.pem").write_bytes(self.ca.cert_pem())
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(cert), str(key))
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server.hits[self.path] += 1
                r = server.routes.get(self.path)
                if r is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if r.delay:
                    time.sleep(r.delay)
                self.send_response(r.status)
                if r.location:
                    self.send_header("Location", r.location)
                if r.send_length:
                    self.send_header("Content-Length", str(len(r.body)))
                else:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(r.body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def ca_file(self) -> str:
        return str(self.tmp / "tls-ca.pem")

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)
