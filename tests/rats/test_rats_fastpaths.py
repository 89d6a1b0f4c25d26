"""The fast paths of the appraisal pipeline give the same answers as the general code they shortcut:
strict CBOR decoding with the re-encoding flag, CoSWID file entries, the EAR JSON text, cached JWS
headers, COSE_Sign1 CWTs peeked from the bytes received, and the verifier's per-instance indexes."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st
from rats_helpers import COMPONENTS, UEID, device_corim, digests

from iotsec.agent.attester import Attester, StaticPlatform
from iotsec.clock import FixedClock
from iotsec.core import cbor, jose
from iotsec.core.cose import Algorithm, CoseKey, sign1
from iotsec.core.eat import coswid, ear, tokens
from iotsec.core.eat.claims import validate_claims
from iotsec.core.eat.signing import EarSigner, verify_ear
from iotsec.errors import DecodeError, IotSecError, UnsupportedError
from iotsec.services.verifier import Session, VerifierService

# --- cbor.loads_reencodes ------------------------------------------------------------------------

leaves = st.one_of(
    st.integers(-(2**64), 2**64 - 1), st.binary(max_size=40), st.text(max_size=20), st.booleans(), st.none()
)
values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.one_of(st.integers(-30, 300), st.text(max_size=5)), inner, max_size=5),
    ),
    max_leaves=25,
)


@given(values, st.data())
@settings(max_examples=300)
def test_rats_loads_reencodes_agrees_with_loads(value: object, data: st.DataObject) -> None:
    """Same value or same error as ``loads``; the flag says whether cbor2 writes ``data`` back."""
    enc = bytearray(cbor2.dumps(value))  # map order as generated: not necessarily deterministic
    for _ in range(data.draw(st.integers(0, 2))):
        i = data.draw(st.integers(0, len(enc) - 1))
        enc[i] = data.draw(st.integers(0, 255))
    blob = bytes(enc)
    try:
        expected: Any = ("ok", cbor.loads(blob))
    except DecodeError as exc:
        expected = ("error", exc.reason)
    try:
        got, same = cbor.loads_reencodes(blob)
    except DecodeError as exc:
        assert expected == ("error", exc.reason)
        return
    assert expected == ("ok", got)
    assert same == (cbor2.dumps(got) == blob)


def test_rats_loads_reencodes_flag() -> None:
    assert cbor.loads_reencodes(bytes.fromhex("a2020101f6")) == ({2: 1, 1: None}, True)  # any key order
    assert cbor.loads_reencodes(bytes.fromhex("1801")) == (1, False)  # not the shortest form
    assert cbor.loads_reencodes(bytes.fromhex("9f0102ff")) == ([1, 2], False)  # indefinite length
    with pytest.raises(DecodeError) as ei:
        cbor.loads_reencodes(bytes.fromhex("a201010102"))
    assert ei.value.reason == "cbor.duplicate_key"


# --- CoSWID file entries ---------------------------------------------------------------------------


def test_rats_coswid_file_digests_match_decode() -> None:
    files = tuple(coswid.FileMeasurement(n, coswid.HASH_SHA256, d, 7) for n, d in digests())
    body = coswid.encode(coswid.EvidenceCoswid("t", "fw", files, software_version="1.2"), tagged=True)
    got, version = coswid.file_digests(body)
    assert got == [(f.name, f.alg, f.digest) for f in coswid.decode(body).files]
    assert got[0] == ("bootloader", 1, hashlib.sha256(COMPONENTS["bootloader"]).digest())
    assert version == "1.2"
    bad = [
        cbor.dumps({0: "t", 1: "fw", 3: {17: [{24: "a", 7: [1, b"short"]}]}}),  # wrong digest length
        cbor.dumps({0: "t", 1: "fw", 3: {17: [{7: [1, b"x" * 32]}]}}),  # no fs-name
        cbor.dumps({0: "t", 1: "fw", 3: {17: [{24: "a", 7: [True, b"x" * 32]}]}}),  # bool alg
        cbor.dumps([1, 2]),
    ]
    for blob in bad:
        errors = []
        for fn in (coswid.decode, coswid.file_digests):
            with pytest.raises(IotSecError) as ei:
                fn(blob)
            errors.append((type(ei.value), ei.value.reason, getattr(ei.value, "path", None)))
        assert errors[0] == errors[1]


# --- EAR JSON ------------------------------------------------------------------------------------


def _ears() -> list[ear.Ear]:
    vec = {ear.Category.EXECUTABLES: 33, ear.Category.INSTANCE_IDENTITY: 2, ear.Category.HARDWARE: 2}
    a = ear.Appraisal(ear.Tier.WARNING, vec, ["https://p/1", "https://p/2"], "urn:x", b"n" * 16)
    b = ear.Appraisal(
        ear.Tier.AFFIRMING, extensions={"ear_veraison_annotated_evidence": {"é": [1, 2.5, None]}}
    )
    collide = ear.Appraisal(ear.Tier.NONE, {}, [], None, None, {"eat_profile": {"x": 1}})
    return [
        ear.Ear(1, "dev\u00e9", 'b"uild', {"device": a}, ear.Tier.WARNING, nonce=b"m" * 8),
        ear.Ear(2, "d", "b", {"PSA": b, "other": a}, None, exp=99, raw_evidence=b"\x00\xff"),
        ear.Ear(3, "d", "b", {"s": collide}),
        ear.Ear(4, "d", "b", {"s": b}, extra={"iat": 7, "x-ext": [1]}),
        ear.Ear(True, "d", "b", {"s": b}),  # a bool iat takes the general path
        ear.Ear(5, "d", "b", {"s": ear.Appraisal(ear.Tier.NONE, {ear.Category.EXECUTABLES: 1})}),
        ear.Ear(5, "d", "b", {"s": ear.Appraisal(ear.Tier.NONE, {ear.Category.EXECUTABLES: True})}),
    ]


@pytest.mark.parametrize("generation", ["ietf", "veraison-2023", "veraison-2022"])
def test_rats_ear_json_text_is_json_dumps_of_to_json(generation: str) -> None:
    for e in _ears() + _ears():  # twice: the second round meets the cached vector texts
        expected = json.dumps(ear.to_json(e, generation=generation), separators=(",", ":"))
        assert ear.encode_json(e, generation=generation) == expected


def test_rats_ear_signed_json_round_trips() -> None:
    key = CoseKey.generate(Algorithm.ES256)
    e = _ears()[0]
    back = verify_ear(EarSigner(key).sign(e), key.public())
    assert back.submods["device"].vector == e.submods["device"].vector
    assert back.nonce == e.nonce and back.developer == e.developer


# --- JWS headers -----------------------------------------------------------------------------------


def test_rats_jws_header_cache_keeps_values_apart() -> None:
    k = ec.generate_private_key(ec.SECP256R1())
    for header in ({"typ": "JWT"}, {"x": 1}, {"x": True}, {"x": "1"}, {"x": [1]}, {"typ": "JWT"}):
        tok = jose.sign_compact(b"{}", k, "ES256", header=header)
        got, _ = jose.verify_compact(tok, k.public_key(), algs=("ES256",))
        assert got == {"alg": "ES256", **header}
        head = tok.split(".")[0]
        assert (
            jose.b64u_decode(head) == json.dumps({"alg": "ES256", **header}, separators=(",", ":")).encode()
        )


# --- CWT peek --------------------------------------------------------------------------------------


def test_rats_peek_from_received_bytes_matches_general_path() -> None:
    key = CoseKey.generate(Algorithm.ES256, kid=b"k1")
    claims: dict[int | str, object] = {10: b"n" * 16, 256: UEID, 270: "fw"}
    cwt = tokens.create_cwt(claims, key, kid=b"k1")
    wrapped = tokens.create_cwt(claims, key, kid=b"k1", cwt_tag=True)  # #6.61: the general path
    a, b = tokens.peek(cwt), tokens.peek(wrapped)
    assert (
        (a.kind, a.claims, a.kid, a.alg)
        == (b.kind, b.claims, b.kid, b.alg)
        == ("sign1", a.claims, b"k1", a.alg)
    )
    assert a.payload_reencodes and b.payload_reencodes
    tokens.verify(cwt, key.public(), peeked=a)
    # an unprotected map in non-deterministic order takes the general decoder and still reads the same
    item = cbor2.loads(cwt)
    item.value[1] = {4: b"k1", 99: 1}
    odd = cbor2.dumps(item)
    assert tokens.peek(odd).claims == a.claims
    for bad, reason in ((cwt + b"\x00", "cbor.trailing"), (cwt[:-3], "cbor.truncated")):
        with pytest.raises(DecodeError) as ei:
            tokens.peek(bad)
        assert ei.value.reason == reason
    # a non-preferred claims-set: peeked, but refused by the constrained profile
    tok = tokens.peek(sign1(bytes.fromhex("a1180a50") + b"n" * 16, key))
    assert not tok.payload_reencodes


# --- verifier indexes ------------------------------------------------------------------------------


class _Mem:
    def __init__(self) -> None:
        self.rows: list[bytes] = []

    def add(self, corim_id: str, media_type: str, raw: bytes) -> None:
        self.rows.append(raw)

    def load(self, after: int) -> list[tuple[int, bytes]]:
        return [(i + 1, r) for i, r in enumerate(self.rows) if i + 1 > after]


class _NoSessions:
    def create(self, s: Session) -> None: ...


def test_rats_verifier_indexes_follow_new_endorsements() -> None:
    """A key rotated in and a component added after the first appraisal are seen at once."""
    old, new = CoseKey.generate(Algorithm.ES256), CoseKey.generate(Algorithm.ES256)
    svc = VerifierService(
        _NoSessions(),  # type: ignore[arg-type]
        _Mem(),
        FixedClock(1_800_000_000),
        EarSigner(CoseKey.generate(Algorithm.ES256)),
    )
    svc.provision("application/corim-unsigned+cbor", device_corim(UEID, old))
    nonce = b"\x07" * 32
    comps = {**COMPONENTS, "extra": b"new module"}
    plat = StaticPlatform(ueid=UEID, comps=digests(comps))
    mt = Attester.media_type
    out = svc.appraise(mt, Attester(plat, old).evidence(nonce, now=1_800_000_000), nonce=nonce)
    assert out.ear.overall().json_name == "warning"  # "extra" has no reference value yet
    with pytest.raises(IotSecError) as ei:
        svc.appraise(mt, Attester(plat, new).evidence(nonce, now=1_800_000_000), nonce=nonce)
    assert ei.value.reason == "cose.signature.invalid"
    svc.provision("application/corim-unsigned+cbor", device_corim(UEID, new, comps, cid="acme-2"))
    out = svc.appraise(mt, Attester(plat, new).evidence(nonce, now=1_800_000_000), nonce=nonce)
    assert out.ear.overall().json_name == "affirming"
    out = svc.appraise(mt, Attester(plat, old).evidence(nonce, now=1_800_000_000), nonce=nonce)
    assert out.ear.overall().json_name == "affirming"  # both keys are endorsed for this UEID


def _peek_general(data: bytes) -> tokens.Token:
    """The general route for a tagged COSE_Sign1 CWT: decode, re-encode, decode as COSE."""
    from iotsec.core.cose import Sign1Message

    item = cbor.loads(data)
    if not (isinstance(item, cbor.CBORTag) and item.tag == 18):
        raise UnsupportedError("not a COSE_Sign1", reason="eat.format")
    msg = Sign1Message.decode(cbor.dumps(item))
    claims = validate_claims(cbor.loads(msg.payload or b""))
    return tokens.Token("sign1", claims, msg.kid, msg.alg, msg)


_CWT = tokens.create_cwt(
    {10: b"n" * 16, 256: UEID, 270: "fw", 271: ["1.0"]}, CoseKey.generate(Algorithm.ES256)
)


@given(st.data())
@settings(max_examples=200)
def test_rats_peek_of_mutated_cwt_matches_general_route(data: st.DataObject) -> None:
    blob = bytearray(_CWT)
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(1, len(blob) - 1))  # keep the tag byte: the fast route's entry
        blob[i] = data.draw(st.integers(0, 255))
    outcomes = []
    for fn in (tokens.peek, _peek_general):
        try:
            t = fn(bytes(blob))
            outcomes.append(("ok", t.kind, t.claims, t.kid, t.alg))
        except IotSecError as exc:
            outcomes.append(("error", type(exc).__name__, exc.reason))
    assert outcomes[0] == outcomes[1]
