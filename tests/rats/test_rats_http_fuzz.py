"""Hostile requests at the verifier's HTTP API, checked against its own OpenAPI description.

Every answer must be a status the description documents for that operation (or 404/405 for a
path or method it does not have, 405 with an Allow header naming the path's methods), an error
must be RFC 9457 problem details, a success must carry the documented media type, and nothing may
be a 5xx. After the storm, a real attester's evidence is still appraised: no stored state broke.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rats_helpers import UEID, device_corim, digests, new_device_key

from iotsec.adapters.http.verifier import build_service, create_app
from iotsec.agent.attester import Attester, StaticPlatform
from iotsec.clock import FixedClock
from iotsec.core.cose import Algorithm, CoseKey
from iotsec.core.eat import corim
from iotsec.services.verifier import MEDIA_TYPES
from mutations import mutate

TOKEN = "t0ken-" + "f" * 26
NOW = 1_760_000_000
PREFIX = "/challenge-response/v1"


class Api:
    def __init__(self, db_url: str) -> None:
        self.service = build_service(db_url, CoseKey.generate(Algorithm.ES256), clock=FixedClock(NOW))
        self.http = TestClient(
            create_app(self.service, provisioning_token=TOKEN), raise_server_exceptions=False
        )
        self.spec: dict[str, Any] = self.http.get("/openapi.json").json()
        self.key = new_device_key()
        r = self.provision(device_corim(UEID, self.key))
        assert r.status_code == 200, r.text
        # evidence of a real attester, to mutate and, at the end, to check the service still works
        self.sample = Attester(StaticPlatform(ueid=UEID, comps=digests()), self.key).evidence(
            bytes(32), now=NOW
        )

    def provision(self, body: bytes, ctype: str = "application/corim-unsigned+cbor") -> httpx.Response:
        headers = {"content-type": ctype, "authorization": f"Bearer {TOKEN}"}
        return self.http.post("/endorsement-provisioning/v1/submit", content=body, headers=headers)

    def operation(self, method: str, template: str) -> dict[str, Any]:
        op: dict[str, Any] = self.spec["paths"][template][method.lower()]
        return op

    def check(self, r: httpx.Response, method: str, template: str | None) -> None:
        """``r`` answers what the OpenAPI description says (module docstring)."""
        assert r.status_code < 500, r.text
        ctype = r.headers.get("content-type", "")
        if r.status_code >= 400:
            assert ctype.startswith("application/problem+json"), (r.status_code, ctype, r.text)
            body = r.json()
            assert body["status"] == r.status_code and body["title"] and body["detail"] and body["reason"]
        if template is None:  # a path the API does not have
            assert r.status_code == 404
            return
        methods = {m.upper() for m in self.spec["paths"][template]}
        if method not in methods:
            assert r.status_code == 405
            assert set(r.headers["allow"].split(", ")) - {"HEAD"} == methods
            return
        responses = self.operation(method, template)["responses"]
        assert str(r.status_code) in responses, (method, template, r.status_code, r.text)
        documented = responses[str(r.status_code)].get("content")
        if documented and r.status_code < 400:
            assert ctype.split(";")[0] in documented, (ctype, documented)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    a = Api(f"sqlite:///{tmp_path_factory.mktemp('fuzz')}/v.db")
    yield a
    a.service.sessions.engine.dispose()  # type: ignore[attr-defined]


text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
# header values as they may arrive on the wire: any bytes but CR, LF and NUL (which HTTP/1.1 framing
# itself refuses before any handler runs)
header_value = st.binary(max_size=60).map(lambda b: b.translate(None, b"\r\n\x00"))
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(["nonce", "nonceSize", "nonce_size", "x"]) | text,
        text
        | st.integers(-5, 100).map(str)
        | st.binary(max_size=70).map(lambda b: base64.b64encode(b).decode()),
        max_size=3,
    )
)
def test_rats_http_fuzz_new_session(api: Api, params: dict[str, str]) -> None:
    r = api.http.post(f"{PREFIX}/newSession", params=params)
    api.check(r, "POST", f"{PREFIX}/newSession")


@FUZZ
@given(
    ctype=st.sampled_from([m.encode() for m in [*MEDIA_TYPES, "text/plain", "application/json"]])
    | header_value
    | st.none(),
    body=st.binary(max_size=600) | st.just(b"") | st.just(b"x" * 300_000),  # empty, too large
    mutated=st.booleans(),
    fresh=st.booleans(),
    sid=text,
    data=st.data(),
)
def test_rats_http_fuzz_submit(
    api: Api, ctype: bytes | None, body: bytes, mutated: bool, fresh: bool, sid: str, data: st.DataObject
) -> None:
    if mutated:  # a real attester's evidence, a few bytes changed
        body = mutate(api.sample, data.draw)
    if fresh:
        sid = api.http.post(f"{PREFIX}/newSession", params={"nonceSize": "32"}).headers["location"][8:]
    headers = {"content-type": ctype} if ctype is not None else {}
    r = api.http.post(f"{PREFIX}/session/{quote(sid, safe='')}", content=body, headers=headers)
    if "/" in sid or sid in ("", ".", ".."):
        return  # that is another path (or none); test_rats_http_fuzz_methods_and_paths covers those
    api.check(r, "POST", f"{PREFIX}/session/{{sid}}")


@FUZZ
@given(
    body=st.binary(max_size=400),
    ctype=st.sampled_from([m.encode() for m in corim.MEDIA_TYPES]) | header_value,
    token=st.sampled_from([TOKEN, "", "Bearer", TOKEN + "x"]),
)
def test_rats_http_fuzz_provisioning(api: Api, body: bytes, ctype: bytes, token: str) -> None:
    headers = {"content-type": ctype, "authorization": f"Bearer {token}".encode()}
    r = api.http.post("/endorsement-provisioning/v1/submit", content=body, headers=headers)
    api.check(r, "POST", "/endorsement-provisioning/v1/submit")
    if token != TOKEN:
        assert r.status_code == 401


@FUZZ
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
    path=st.sampled_from(
        [
            f"{PREFIX}/newSession",
            f"{PREFIX}/session/abc",
            "/endorsement-provisioning/v1/submit",
            "/.well-known/veraison/verification",
            f"{PREFIX}/v2",
            "/",
        ]
    ),
)
def test_rats_http_fuzz_methods_and_paths(api: Api, method: str, path: str) -> None:
    r = api.http.request(method, path, content=b"\x00" if method in ("POST", "PUT", "PATCH") else None)
    template = {f"{PREFIX}/session/abc": f"{PREFIX}/session/{{sid}}"}.get(path, path)
    api.check(r, method, template if template in api.spec["paths"] else None)


def test_rats_http_fuzz_leaves_the_service_working(api: Api) -> None:
    """Run last in this module (pytest keeps file order): a fresh session with real evidence is
    appraised and its EAR signed, whatever the fuzzing above sent."""
    nonce = bytes(range(32))
    r = api.http.post(f"{PREFIX}/newSession", params={"nonce": base64.b64encode(nonce).decode()})
    url = f"{PREFIX}/{r.headers['location']}"
    ev = Attester(StaticPlatform(ueid=UEID, comps=digests()), api.key).evidence(nonce, now=NOW)
    r = api.http.post(url, content=ev, headers={"content-type": Attester.media_type})
    assert r.status_code == 200 and r.json()["status"] == "complete" and r.json()["result"].count(".") == 2
