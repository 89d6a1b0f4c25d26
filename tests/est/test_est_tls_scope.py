"""What uvicorn (as pinned) gives an ASGI app about TLS, with iotsec's TlsH11Protocol: checked with curl."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from est_support import PASS, Env, run

from iotsec.adapters.http.server import free_socket, make_server
from iotsec.core import pki


async def echo_tls(scope: Any, receive: Any, send: Any) -> None:
    tls = (scope.get("extensions") or {}).get("tls")
    body = json.dumps(tls).encode()
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": body})


def test_client_certificate_reaches_the_scope(env: Env, tmp_path: Path) -> None:
    dev = env.device()
    sock = free_socket()
    server = make_server(
        echo_tls, certfile=env.server_cert, keyfile=env.server_key, password=PASS, client_ca=env.client_ca
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.02)
        url = f"https://127.0.0.1:{sock.getsockname()[1]}/"
        with_cert = json.loads(
            run("curl", "-sS", "--cacert", env.root_pem, "--cert", dev.cert, "--key", dev.key, url).stdout
        )
        leaf = pki.load_certs(dev.cert.read_bytes())[0]
        assert pki.load_cert(with_cert["client_cert_chain"][0].encode()) == leaf
        assert with_cert["tls_version"] == 0x0304  # TLS 1.3
        assert with_cert["iotsec_cipher_name"].startswith("TLS_")
        without = json.loads(run("curl", "-sS", "--cacert", env.root_pem, url).stdout)
        assert without["client_cert_chain"] == []
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
