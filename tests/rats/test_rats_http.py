"""The verifier HTTP API on SQLite and PostgreSQL: shapes, storage, problem details for bad requests."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rats_helpers import UEID, device_corim, digests, new_device_key
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from iotsec.adapters.db import make_engine
from iotsec.adapters.db.rats import RatsEndorsement, RatsSession, SqlSessionStore
from iotsec.adapters.http.verifier import SESSION_MEDIA_TYPE, build_service, create_app
from iotsec.agent.attester import Attester, StaticPlatform
from iotsec.clock import FixedClock
from iotsec.core.cose import Algorithm, CoseKey
from iotsec.errors import ConflictError

TOKEN = "t0ken-" + "k" * 26
NOW = 1_760_000_000
MT = Attester.media_type


class Ctx:
    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.clock = FixedClock(NOW)
        self.service = build_service(db_url, CoseKey.generate(Algorithm.ES256), clock=self.clock)
        self.http = TestClient(create_app(self.service, provisioning_token=TOKEN))
        self.key = new_device_key()
        r = self.http.post(
            "/endorsement-provisioning/v1/submit",
            content=device_corim(UEID, self.key),
            headers={"content-type": "application/corim-unsigned+cbor", "authorization": f"Bearer {TOKEN}"},
        )
        assert r.status_code == 200 and r.json() == {"status": "success"}

    def evidence(self, nonce: bytes) -> bytes:
        return Attester(StaticPlatform(ueid=UEID, comps=digests()), self.key).evidence(nonce, now=NOW)


@pytest.fixture
def ctx(db_url: str) -> Iterator[Ctx]:
    c = Ctx(db_url)
    yield c
    c.service.sessions.engine.dispose()  # type: ignore[attr-defined]


def problem(r: Any, status: int, reason: str | None = None) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if reason:
        assert body["reason"] == reason


def test_rats_http_session_lifecycle_is_stored(ctx: Ctx) -> None:
    nonce = bytes(range(16))
    r = ctx.http.post("/challenge-response/v1/newSession", params={"nonce": base64.b64encode(nonce).decode()})
    assert r.status_code == 201 and r.headers["content-type"] == SESSION_MEDIA_TYPE
    loc = r.headers["location"]
    assert loc.startswith("session/")
    body = r.json()
    assert body["status"] == "waiting" and base64.b64decode(body["nonce"]) == nonce
    assert body["expiry"].endswith("Z") and MT in body["accept"]
    url = "/challenge-response/v1/" + loc
    r = ctx.http.post(url, content=ctx.evidence(nonce), headers={"content-type": MT})
    assert r.status_code == 200
    s = r.json()
    assert s["status"] == "complete" and s["result"].count(".") == 2
    assert s["evidence"]["type"] == MT
    # the row in the database (SQLite or PostgreSQL) holds the same session
    engine = make_engine(ctx.db_url)
    with DbSession(engine) as db:
        row = db.execute(select(RatsSession).where(RatsSession.id == loc.split("/")[1])).scalar_one()
        assert row.status == "complete" and bytes(row.nonce) == nonce and row.result == s["result"]
        assert db.execute(select(RatsEndorsement.corim_id)).scalars().all() == ["acme-1"]
    engine.dispose()
    assert ctx.http.get(url).json()["result"] == s["result"]
    assert ctx.http.delete(url).status_code == 204
    problem(ctx.http.get(url), 404, "verifier.session.unknown")


def test_rats_http_claim_is_atomic(ctx: Ctx) -> None:
    """Two submissions race for one session: exactly one moves it to processing."""
    s = ctx.service.new_session(nonce_size=32)
    store = SqlSessionStore(ctx.service.sessions.engine)  # type: ignore[attr-defined]
    wins: list[str] = []
    losses: list[str] = []

    def go() -> None:
        try:
            store.claim(s.id)
            wins.append("x")
        except ConflictError:
            losses.append("x")

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1 and len(losses) == 7


def test_rats_http_new_session_bad_requests(ctx: Ctx) -> None:
    url = "/challenge-response/v1/newSession"
    problem(ctx.http.post(url, params={"nonceSize": "7"}), 400, "verifier.nonce.size")
    problem(ctx.http.post(url, params={"nonceSize": "65"}), 400, "verifier.nonce.size")
    problem(ctx.http.post(url, params={"nonceSize": "abc"}), 400, "verifier.nonce.size")
    problem(ctx.http.post(url, params={"nonce": "!!!"}), 400, "verifier.nonce")
    problem(
        ctx.http.post(url, params={"nonce": base64.b64encode(b"short").decode()}), 400, "verifier.nonce.size"
    )
    problem(ctx.http.post(url, params={"nonce": "AAAAAAAAAAA=", "nonceSize": "8"}), 400, "verifier.nonce")
    problem(ctx.http.post(url, params={"bogus": "1"}), 400, "http.query")
    r = ctx.http.get(url)
    problem(r, 405)
    assert r.headers["allow"] == "POST"  # RFC 9110 §15.5.6: a 405 names the allowed methods


def test_rats_http_submit_bad_requests(ctx: Ctx) -> None:
    s = ctx.http.post("/challenge-response/v1/newSession").json()
    loc = ctx.http.post("/challenge-response/v1/newSession").headers["location"]
    url = "/challenge-response/v1/" + loc
    nonce = base64.b64decode(ctx.http.get(url).json()["nonce"])
    assert s["status"] == "waiting"
    problem(
        ctx.http.post("/challenge-response/v1/session/nope", content=b"x", headers={"content-type": MT}), 404
    )
    problem(
        ctx.http.post(url, content=b"x", headers={"content-type": "text/plain"}), 415, "verifier.media_type"
    )
    problem(ctx.http.post(url, content=b"", headers={"content-type": MT}), 400, "http.body.empty")
    problem(ctx.http.post(url, content=b"x" * 300_000, headers={"content-type": MT}), 400, "http.body.size")
    problem(ctx.http.post(url, content=b"\xff\x00garbage", headers={"content-type": MT}), 400)
    # the session failed on the garbage and stays failed: a second try is a conflict
    problem(
        ctx.http.post(url, content=ctx.evidence(nonce), headers={"content-type": MT}), 409, "eat.session.used"
    )
    problem(ctx.http.delete("/challenge-response/v1/session/nope"), 404)


def test_rats_http_provisioning_bad_requests(ctx: Ctx) -> None:
    url = "/endorsement-provisioning/v1/submit"
    ok = {"content-type": "application/corim-unsigned+cbor", "authorization": f"Bearer {TOKEN}"}
    problem(ctx.http.post(url, content=b"\xa0", headers={**ok, "authorization": ""}), 401)
    problem(ctx.http.post(url, content=b"\xa0", headers={**ok, "authorization": "Bearer wrong"}), 401)
    problem(ctx.http.post(url, content=b"\xa0", headers={**ok, "content-type": "application/json"}), 415)
    problem(ctx.http.post(url, content=b"\xff", headers=ok), 400, "cbor.malformed")
    problem(ctx.http.post(url, content=b"\xd9\x01\xf5\xa0", headers=ok), 400)  # 501({})
    problem(ctx.http.post(url, content=b"", headers=ok), 400)
    no_token = TestClient(create_app(ctx.service))
    problem(no_token.post(url, content=b"\xa0", headers=ok), 401, "verifier.provisioning.auth")


def test_rats_http_discovery_and_unknown_paths(ctx: Ctx) -> None:
    r = ctx.http.get("/.well-known/veraison/verification")
    assert r.status_code == 200 and r.json()["ear-verification-key"]["kty"] == "EC"
    r = ctx.http.post("/.well-known/veraison/verification")
    problem(r, 405)
    assert r.headers["allow"] == "GET"
    problem(ctx.http.get("/challenge-response/v2/newSession"), 404)


def test_rats_http_expired_sessions_are_purged(ctx: Ctx) -> None:
    old = ctx.service.new_session(nonce_size=8)
    ctx.clock.advance(200)
    recent = ctx.service.new_session(nonce_size=8)
    assert ctx.service.purge_expired() == 0  # expired 0 s ago: kept one more TTL
    ctx.clock.advance(401)
    assert ctx.service.purge_expired() == 1
    problem(ctx.http.get(f"/challenge-response/v1/session/{old.id}"), 404)
    assert ctx.service.get_session(recent.id).status == "waiting"


def test_rats_http_rotated_attestation_key(ctx: Ctx) -> None:
    """A second CoRIM endorses a new key for the same UEID: evidence signed with either verifies."""
    new_key = new_device_key()
    ctx.service.provision("application/corim-unsigned+cbor", device_corim(UEID, new_key, cid="acme-2"))
    assert len(ctx.service.attestation_keys(ap_evidence())) == 2
    for key in (ctx.key, new_key):
        s = ctx.service.new_session(nonce_size=32)
        ev = Attester(StaticPlatform(ueid=UEID, comps=digests()), key).evidence(s.nonce, now=NOW)
        assert ctx.service.submit(s.id, MT, ev).status == "complete"


def ap_evidence() -> Any:
    from iotsec.core.eat.appraisal import Evidence

    return Evidence(
        profile="", nonce=None, instance_id=UEID, implementation_id=None, components=(), debug=None
    )
