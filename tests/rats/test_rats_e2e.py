"""End to end over HTTPS on loopback: attester -> verifier (uvicorn thread) -> EAR -> relying party."""

from __future__ import annotations

import hashlib
import secrets
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from rats_helpers import COMPONENTS, UEID, device_corim, digests, new_device_key, self_signed, serve

from iotsec.adapters.http.verifier import build_service, create_app
from iotsec.adapters.http.verifier_client import VerifierClient
from iotsec.agent.attester import Attester, StaticPlatform, attest
from iotsec.clock import FixedClock
from iotsec.core import cbor
from iotsec.core.cose import Algorithm, CoseKey
from iotsec.core.eat import corim, rp
from iotsec.core.eat.claims import DebugStatus
from iotsec.core.eat.ear import Category, Tier
from iotsec.errors import ConflictError, PolicyError, VerifyError
from iotsec.services.relying_party import RelyingParty

TOKEN = "prov-" + "x" * 24
NOW = 1_760_000_000
PSA = Path("psa-token-rfc9783/example")


class Env:
    def __init__(self, url: str, http: httpx.Client, clock: FixedClock, device_key: CoseKey) -> None:
        self.url, self.http, self.clock, self.device_key = url, http, clock, device_key
        self.client = VerifierClient(url, http)
        self.ear_key = self.client.ear_key()
        self.rp = RelyingParty(self.ear_key, rp.RpPolicy(), clock)

    def attester(self, **kw: Any) -> Attester:
        key = kw.pop("key", self.device_key)
        plat = StaticPlatform(ueid=kw.pop("ueid", UEID), comps=kw.pop("comps", digests()), **kw)
        return Attester(plat, key)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("rats-e2e")
    cert, key = self_signed(tmp)
    clock = FixedClock(NOW)
    service = build_service(
        f"sqlite:///{tmp / 'v.db'}", CoseKey.generate(Algorithm.ES256), clock=clock, session_ttl=60
    )
    device_key = new_device_key()
    with (
        serve(create_app(service, provisioning_token=TOKEN), cert=cert, key=key) as url,
        httpx.Client(verify=ssl.create_default_context(cafile=str(cert)), timeout=10) as http,
    ):
        VerifierClient(url, http).provision(device_corim(UEID, device_key), TOKEN)
        yield Env(url, http, clock, device_key)


def test_rats_e2e_good_device_is_affirming(env: Env) -> None:
    s = attest(env.client, env.attester(), now=NOW)
    assert s["status"] == "complete"
    d = env.rp.accept(s["result"])
    sub = d.ear.submods["device"]
    assert sub.status == Tier.AFFIRMING
    assert sub.vector[Category.EXECUTABLES] == 2 and sub.vector[Category.HARDWARE] == 2
    assert sub.vector[Category.INSTANCE_IDENTITY] == 2
    assert d.ear.nonce is not None and len(d.ear.nonce) == 32


def test_rats_e2e_modified_component_is_contraindicated(env: Env) -> None:
    comps = digests({**COMPONENTS, "kernel": b"linux kernel 6.1 image + rootkit"})
    s = attest(env.client, env.attester(comps=comps), now=NOW)
    with pytest.raises(PolicyError) as ei:
        env.rp.accept(s["result"])
    assert ei.value.reason == "ear.executables.insufficient"
    from iotsec.core.eat.signing import verify_ear

    e = verify_ear(s["result"], env.ear_key)
    assert e.submods["device"].vector[Category.EXECUTABLES] == 96
    assert e.overall() == Tier.CONTRAINDICATED


def _problem(resp: httpx.Response, status: int, reason: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["reason"] == reason


def test_rats_e2e_stale_nonce_is_refused(env: Env) -> None:
    old = env.client.new_session(nonce_size=32)
    evidence = env.attester().evidence(old.nonce, now=NOW)
    fresh = env.client.new_session(nonce_size=32)
    r = env.http.post(fresh.url, content=evidence, headers={"content-type": Attester.media_type})
    _problem(r, 403, "eat.nonce.mismatch")
    failed = env.http.get(fresh.url).json()
    assert failed["status"] == "failed" and failed["iotsec-failure"] == "eat.nonce.mismatch"


def test_rats_e2e_replayed_evidence_is_refused(env: Env) -> None:
    s = env.client.new_session(nonce_size=32)
    evidence = env.attester().evidence(s.nonce, now=NOW)
    assert env.client.submit(s, Attester.media_type, evidence)["status"] == "complete"
    with pytest.raises(ConflictError):
        env.client.submit(s, Attester.media_type, evidence)
    r = env.http.post(s.url, content=evidence, headers={"content-type": Attester.media_type})
    _problem(r, 409, "eat.session.used")


def test_rats_e2e_expired_session_is_refused(env: Env) -> None:
    s = env.client.new_session(nonce_size=16)
    evidence = env.attester().evidence(s.nonce, now=NOW)
    env.clock.advance(61)
    try:
        r = env.http.post(s.url, content=evidence, headers={"content-type": Attester.media_type})
        _problem(r, 403, "eat.session.expired")
    finally:
        env.clock.advance(-61)


def test_rats_e2e_unknown_attestation_key_is_refused(env: Env) -> None:
    stranger = env.attester(ueid=b"\x01" + secrets.token_bytes(32), key=new_device_key())
    s = env.client.new_session(nonce_size=32)
    r = env.http.post(
        s.url, content=stranger.evidence(s.nonce, now=NOW), headers={"content-type": Attester.media_type}
    )
    _problem(r, 403, "eat.key.unknown")
    # the right UEID but another key: the signature does not verify
    impostor = env.attester(key=new_device_key())
    with pytest.raises(VerifyError):
        attest(env.client, impostor, now=NOW)


def test_rats_e2e_debug_enabled_warns(env: Env) -> None:
    s = attest(env.client, env.attester(debug=DebugStatus.ENABLED), now=NOW)
    assert [f["id"] for f in s["iotsec-findings"]] == ["eat.debug.enabled"]
    assert s["iotsec-findings"][0]["severity"] == "warning"
    d = env.rp.accept(s["result"])  # executables and hardware still affirming: accepted
    sub = d.ear.submods["device"]
    assert sub.status == Tier.WARNING and sub.vector[Category.CONFIGURATION] == 32
    strict = RelyingParty(env.ear_key, rp.RpPolicy.from_dict({"status": "affirming"}), env.clock)
    with pytest.raises(PolicyError) as ei:
        strict.accept(s["result"])
    assert ei.value.reason == "ear.status.insufficient"


def test_rats_e2e_psa_rfc9783_example_token(env: Env, shared_vectors: Path) -> None:
    """The RFC 9783 Sign1 example, appraised against a PSA CoRIM holding its key and measurements."""
    d = shared_vectors / "rats" / PSA
    tok = (d / "psa-sign1.cbor").read_bytes()
    claims = cbor.loads(cbor.loads(tok).value[2])
    iak = CoseKey.from_pem((d / "tfm-es-iak.pem").read_bytes())
    env_psa = corim.Environment(implementation_id=claims[2396], instance_ueid=claims[256])
    swc = claims[2399][0]
    meas = corim.Measurement(swc[1], ((1, swc[2]),), signer_id=swc[5], psa=True)
    c = corim.Corim(
        "psa-example",
        [
            corim.Comid(
                "psa-example-comid",
                [corim.ReferenceValue(env_psa, (meas,))],
                [corim.AttestKey(env_psa, (iak.public().to_der(private=False),))],
            )
        ],
    )
    env.client.provision(corim.encode(c), TOKEN)
    s = env.client.new_session(nonce=claims[10])  # the example's nonce, supplied by the challenger
    out = env.client.submit(s, 'application/eat+cwt; eat_profile="tag:psacertified.org,2023:psa#tfm"', tok)
    d2 = env.rp.accept(out["result"])
    assert d2.ear.submods["PSA"].status == Tier.AFFIRMING
    assert d2.ear.submods["PSA"].profile == "tag:psacertified.org,2023:psa#tfm"
    ann = d2.ear.submods["PSA"].extensions["ear_veraison_annotated_evidence"]
    assert ann["psa-client-id"] == 2147483647 and ann["psa-security-lifecycle"] == 12288
    assert ann["psa-nonce"] == "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
    assert ann["psa-software-components"][0]["measurement-type"] == "PRoT"
    assert hashlib.sha256(tok).digest()  # the token bytes were submitted unchanged


def test_rats_e2e_discovery_publishes_the_key(env: Env) -> None:
    info = env.http.get(env.url + "/.well-known/veraison/verification").json()
    assert info["service-state"] == "READY"
    assert info["ear-verification-key"]["alg"] == "ES256" and "d" not in info["ear-verification-key"]
    assert Attester.media_type in info["media-types"]
    assert info["api-endpoints"]["newChallengeResponseSession"] == "/challenge-response/v1/newSession"


def test_rats_e2e_real_server_on_each_database(db_url: str, tmp_path: Path) -> None:
    """A real uvicorn server on SQLite and on PostgreSQL, emitting CWT EARs in Veraison's 2023 naming."""
    from iotsec.core.eat.signing import verify_ear

    clock = FixedClock(NOW)
    service = build_service(
        db_url,
        CoseKey.generate(Algorithm.ES256),
        clock=clock,
        ear_format="cwt",
        ear_generation="veraison-2023",
        ear_validity=600,
    )
    dev = new_device_key()
    try:
        with serve(create_app(service, provisioning_token=TOKEN)) as url, httpx.Client(timeout=10) as http:
            client = VerifierClient(url, http)
            client.provision(device_corim(UEID, dev), TOKEN)
            plat = StaticPlatform(ueid=UEID, comps=digests())
            s = attest(client, Attester(plat, dev), now=NOW)
            key = CoseKey.from_jwk(client.discover()["ear-verification-key"])
            e = verify_ear(s["result"], key)
            assert e.generation == "veraison-2023" and e.submods["device"].status == Tier.AFFIRMING
            assert e.exp == NOW + 600
            d = RelyingParty(key, rp.RpPolicy(), clock).accept(s["result"])
            assert d.ear.submods["device"].vector[Category.EXECUTABLES] == 2
    finally:
        service.sessions.engine.dispose()  # type: ignore[attr-defined]


def test_rats_e2e_jwt_evidence(env: Env) -> None:
    """The same device reporting as a JWT (application/eat+jwt): affirming; a stale nonce is refused."""
    plat = StaticPlatform(ueid=UEID, comps=digests())
    jwt_attester = Attester(plat, env.device_key, fmt="jwt")
    s = attest(env.client, jwt_attester, now=NOW)
    d = env.rp.accept(s["result"])
    assert d.ear.submods["device"].status == Tier.AFFIRMING
    assert d.ear.submods["device"].profile == "tag:iotsec.dev,2026:rats/eat-jwt#1"
    old = env.client.new_session(nonce_size=32)
    fresh = env.client.new_session(nonce_size=32)
    r = env.http.post(
        fresh.url,
        content=jwt_attester.evidence(old.nonce, now=NOW),
        headers={"content-type": jwt_attester.media_type},
    )
    _problem(r, 403, "eat.nonce.mismatch")
    # a JWT sent with the CWT media type is refused as the wrong envelope
    s2 = env.client.new_session(nonce_size=32)
    r = env.http.post(
        s2.url,
        content=jwt_attester.evidence(s2.nonce, now=NOW),
        headers={"content-type": Attester.media_type},
    )
    _problem(r, 415, "verifier.envelope")
