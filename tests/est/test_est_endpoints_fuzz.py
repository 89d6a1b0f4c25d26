"""Hostile input at the live HTTPS endpoints: every answer is a 4xx with a text reason, never a 5xx."""

from __future__ import annotations

import base64
import ssl
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from est_support import Env, LiveServer, make_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iotsec.core import pki


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Env, LiveServer, httpx.Client]]:
    env = make_env(tmp_path_factory.mktemp("fuzz"))
    dev = env.device()
    ctx = ssl.create_default_context(cafile=str(env.root_pem))
    ctx.load_cert_chain(str(dev.cert), str(dev.key))
    with LiveServer(env) as srv, httpx.Client(base_url=srv.url, verify=ctx, timeout=20) as client:
        yield env, srv, client


PATHS = [
    "/.well-known/est/simpleenroll",
    "/.well-known/est/simplereenroll",
    "/.well-known/est/serverkeygen",
    "/.well-known/est/factory/simpleenroll",
]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(PATHS),
    body=st.binary(max_size=300),
    as_b64=st.booleans(),
    ctype=st.sampled_from(["application/pkcs10", "application/pkcs10; charset=x", "text/plain", ""]),
)
def test_garbage_bodies(
    live: tuple[Env, LiveServer, httpx.Client], path: str, body: bytes, as_b64: bool, ctype: str
) -> None:
    _, _, client = live
    data = base64.encodebytes(body) if as_b64 else body
    r = client.post(path, content=data, headers={"Content-Type": ctype} if ctype else {})
    assert 400 <= r.status_code < 500, r.text
    assert "Traceback" not in r.text


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(auth=st.binary(min_size=1, max_size=80), label=st.text(min_size=1, max_size=20))
def test_garbage_auth_headers_and_labels(
    live: tuple[Env, LiveServer, httpx.Client], auth: bytes, label: str
) -> None:
    env, srv, _ = live
    ctx = ssl.create_default_context(cafile=str(env.root_pem))
    csr = pki.build_csr(pki.generate_key(), uuid.uuid4())
    from cryptography.hazmat.primitives.serialization import Encoding

    body = base64.encodebytes(csr.public_bytes(Encoding.DER))
    header = "Basic " + base64.b64encode(auth).decode()
    with httpx.Client(base_url=srv.url, verify=ctx, timeout=20) as anon:
        r = anon.post(
            "/.well-known/est/simpleenroll",
            content=body,
            headers={"Content-Type": "application/pkcs10", "Authorization": header},
        )
        assert r.status_code in (400, 401), r.text
        r = anon.get(f"/.well-known/est/{quote(label, safe='')}/cacerts")
        assert r.status_code in (200, 400, 404, 405), r.text
