"""Property tests: every RATS decoder meets hostile input with a typed IotSecError, nothing else."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rats_helpers import UEID, VECTORS, device_corim, digests, new_device_key

from iotsec.agent.attester import Attester, StaticPlatform
from iotsec.core import cbor, jose
from iotsec.core.cose import Algorithm, CoseKey
from iotsec.core.eat import claims, corim, coswid, ear, psa, tokens
from iotsec.core.eat.rp import RpPolicy
from iotsec.core.eat.signing import EarSigner, verify_ear
from iotsec.errors import IotSecError

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=False),
    st.binary(max_size=40),
    st.text(max_size=20),
)
labels = st.one_of(
    st.sampled_from(
        [
            1,
            2,
            3,
            4,
            6,
            7,
            10,
            256,
            257,
            258,
            259,
            260,
            261,
            262,
            263,
            264,
            265,
            266,
            267,
            268,
            269,
            270,
            271,
            272,
            273,
            274,
            275,
            2394,
            2395,
            2396,
            2398,
            2399,
            2400,
            1000,
            1001,
            1002,
            1003,
            1004,
            0,
            5,
        ]
    ),
    st.integers(-100, 100),
    st.text(max_size=8),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(labels, inner, max_size=4)),
    max_leaves=12,
)
maps = st.dictionaries(labels, values, max_size=8)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.text(max_size=20)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
json_names = st.sampled_from(
    [*sorted(claims.BY_JSON_NAME), "ear_status", "ear.status", "eat_profile", "ear_verifier_id", "x"]
)
json_maps = st.dictionaries(json_names, json_values, max_size=8)


def only_typed(fn: Callable[[], Any]) -> None:
    with contextlib.suppress(IotSecError):
        fn()


def _good_cwt() -> bytes:
    key = new_device_key()
    return Attester(StaticPlatform(ueid=UEID, comps=digests()), key).evidence(b"n" * 32, now=1)


GOOD_CWT = _good_cwt()
PSA_SIGN1 = (VECTORS / "rats/psa-token-rfc9783/example/psa-sign1.cbor").read_bytes()
GOOD_CORIM = device_corim(UEID, new_device_key())
EAR_KEY = CoseKey.generate(Algorithm.ES256)
GOOD_EAR = EarSigner(EAR_KEY).sign(
    ear.Ear(iat=1, developer="d", build="b", submods={"x": ear.Appraisal(status=ear.Tier.AFFIRMING)})
)


def mutate(data: bytes, pos: int, byte: int, cut: int) -> bytes:
    b = bytearray(data)
    b[pos % len(b)] = byte
    return bytes(b[: max(1, len(b) - cut)])


@SETTINGS
@given(maps)
def test_rats_prop_claims_cbor(m: dict[Any, Any]) -> None:
    only_typed(lambda: claims.encode_claims(claims.validate_claims(m)))
    only_typed(lambda: psa.validate_psa(m))
    only_typed(lambda: ear.parse(m))


@SETTINGS
@given(json_maps)
def test_rats_prop_claims_json(m: dict[str, Any]) -> None:
    only_typed(lambda: claims.claims_to_json(claims.claims_from_json(m)))
    only_typed(lambda: ear.parse(m))
    only_typed(lambda: RpPolicy.from_dict(m))
    only_typed(lambda: psa.claims_from_json(m))


@SETTINGS
@given(st.binary(max_size=300))
def test_rats_prop_random_bytes(data: bytes) -> None:
    for fn in (
        claims.decode_claims,
        claims.decode_json_claims,
        tokens.peek,
        coswid.decode,
        corim.decode_unsigned,
        corim.decode_comid,
        ear.parse_json,
        ear.parse_cbor,
        jose.decode_unverified,
        lambda d: verify_ear(d, EAR_KEY),
        lambda d: tokens.verify(d, EAR_KEY),
        lambda d: tokens.verify_json_deb(d, EAR_KEY),
        jose.key_from_jwk,
    ):
        only_typed(lambda fn=fn: fn(data))  # type: ignore[misc]


@SETTINGS
@given(st.integers(0, 10_000), st.integers(0, 255), st.integers(0, 40))
def test_rats_prop_mutated_tokens(pos: int, byte: int, cut: int) -> None:
    key = CoseKey.from_pem((VECTORS / "rats/psa-token-rfc9783/example/tfm-es-iak.pem").read_bytes())
    for good in (GOOD_CWT, PSA_SIGN1):
        bad = mutate(good, pos, byte, cut)
        only_typed(lambda bad=bad: psa.validate_psa(tokens.verify(bad, key.public()).claims))  # type: ignore[misc]
    only_typed(lambda: corim.decode_unsigned(mutate(GOOD_CORIM, pos, byte, cut)))
    only_typed(lambda: verify_ear(mutate(GOOD_EAR.encode(), pos, byte, cut), EAR_KEY))


@SETTINGS
@given(values)
def test_rats_prop_structures_in_envelopes(v: Any) -> None:
    """Arbitrary CBOR inside the tags the decoders dispatch on (CWT, UCCS, DEB, CoRIM, CoMID, CoSWID)."""
    for t in (61, 601, 602, 501, 18, 17, 1398229316):
        try:
            blob = cbor2.dumps(cbor2.CBORTag(t, v))
        except Exception:
            return
        only_typed(lambda blob=blob: tokens.peek(blob))  # type: ignore[misc]
        only_typed(lambda blob=blob: corim.decode_unsigned(blob))  # type: ignore[misc]
        only_typed(lambda blob=blob: coswid.decode(blob))  # type: ignore[misc]
    only_typed(lambda: corim.decode_comid(cbor.dumps(v)) if not isinstance(v, float) else None)


@SETTINGS
@given(json_values)
def test_rats_prop_jwk_and_jws(v: Any) -> None:
    only_typed(lambda: jose.key_from_jwk(v) if isinstance(v, dict) else jose.key_from_jwk(json.dumps(v)))
    header = jose.b64u_encode(json.dumps(v).encode())
    only_typed(lambda: jose.verify_compact(f"{header}.e30.AAAA", EAR_KEY.public_key))


@pytest.mark.parametrize("field", ["kty", "crv", "x", "y", "d"])
def test_rats_prop_jwk_members_missing(field: str) -> None:
    jwk = jose.jwk_from_key(EAR_KEY.private_key, private=True)
    del jwk[field]
    try:
        jose.key_from_jwk(jwk)
    except IotSecError:
        return
    assert field == "d"  # without d it is a valid public key


GOOD_PSA = cbor.loads(cbor.from_diag((VECTORS / "rats/psa-token-rfc9783/test/GOOD_full.diag").read_text()))
GOOD_EAR_JSON = ear.to_json(
    ear.parse_json(
        json.dumps(
            {
                "eat_profile": ear.PROFILE_IETF,
                "iat": 1,
                "ear_verifier_id": {"developer": "d", "build": "b"},
                "submods": {
                    "x": {"ear_status": "affirming", "ear_trustworthiness_vector": {"executables": 2}}
                },
            }
        )
    )
)


@SETTINGS
@given(labels, values)
def test_rats_prop_one_claim_replaced(label: Any, value: Any) -> None:
    """Valid claim sets with one member replaced by anything."""
    only_typed(lambda: psa.validate_psa({**GOOD_PSA, label: value}))
    only_typed(lambda: claims.claims_to_json(claims.validate_claims({**GOOD_PSA, label: value})))
    sub = dict(GOOD_EAR_JSON["submods"]["x"])
    sub[str(label)] = value
    only_typed(lambda: ear.parse({**GOOD_EAR_JSON, "submods": {"x": sub}}))
    only_typed(lambda: ear.parse({**GOOD_EAR_JSON, str(label): value}))


@SETTINGS
@given(json_names, json_values)
def test_rats_prop_one_json_claim_replaced(name: str, value: Any) -> None:
    base = claims.claims_to_json(claims.validate_claims(GOOD_PSA))
    only_typed(lambda: claims.claims_from_json({**base, name: value}))
    psa_json = psa.rename_json(base)
    assert psa.claims_from_json(psa_json) == claims.validate_claims(GOOD_PSA)
    for k in (name, "psa-software-components", "psa-client-id", "psa-implementation-id"):
        only_typed(lambda k=k: psa.claims_from_json({**psa_json, k: value}))  # type: ignore[misc]
    only_typed(lambda: ear.parse({**GOOD_EAR_JSON, name: value}))


def test_rats_prop_signed_corim_decoders() -> None:
    from iotsec.core.eat import corim_signed

    signer = CoseKey.generate(Algorithm.ES256)
    good = corim_signed.sign_corim(GOOD_CORIM, signer, signer="s")

    @SETTINGS
    @given(st.integers(0, 10_000), st.integers(0, 255), st.integers(0, 40))
    def run(pos: int, byte: int, cut: int) -> None:
        bad = mutate(good, pos, byte, cut)
        only_typed(lambda: corim_signed.verify_signed_corim(bad, [signer.public()]))
        only_typed(lambda: corim_signed.peek_signed_corim(bad))
        only_typed(lambda: corim_signed.signer_name(bad))

    run()


def test_rats_prop_http_endpoints_never_fail_inside(tmp_path: Path) -> None:
    """Hostile bodies, media types and query strings: a status below 500, problem details on errors."""
    from fastapi.testclient import TestClient

    from iotsec.adapters.http.verifier import build_service, create_app
    from iotsec.clock import FixedClock

    service = build_service(
        f"sqlite:///{tmp_path / 'v.db'}", CoseKey.generate(Algorithm.ES256), clock=FixedClock(1_760_000_000)
    )
    http = TestClient(create_app(service, provisioning_token="p" * 20))
    mts = st.one_of(
        st.sampled_from(
            [
                *Attester.media_type.split(";")[:1],
                Attester.media_type,
                "application/psa-attestation-token",
                "application/corim-unsigned+cbor",
                "application/corim-signed+cbor",
            ]
        ),
        st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=30),
    )

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        st.binary(max_size=200),
        mts,
        st.dictionaries(st.sampled_from(["nonce", "nonceSize", "x"]), st.text(max_size=12), max_size=2),
    )
    def run(body: bytes, mt: str, query: dict[str, str]) -> None:
        r = http.post("/challenge-response/v1/newSession", params=query)
        assert r.status_code in (201, 400), r.text
        s = http.post("/challenge-response/v1/newSession")
        url = "/challenge-response/v1/" + s.headers["location"]
        for resp in (
            http.post(url, content=body, headers={"content-type": mt}),
            http.post(
                "/endorsement-provisioning/v1/submit",
                content=body,
                headers={"content-type": mt, "authorization": "Bearer " + "p" * 20},
            ),
        ):
            assert resp.status_code < 500, resp.text
            if resp.status_code >= 400:
                assert resp.headers["content-type"].startswith("application/problem+json")

    try:
        run()
    finally:
        service.sessions.engine.dispose()  # type: ignore[attr-defined]
