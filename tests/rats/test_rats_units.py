"""Unit tests: JOSE, EAR model/signing, relying-party policy, appraisal findings, envelopes, attester."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from rats_helpers import COMPONENTS, UEID, VECTORS, digests

from iotsec.agent.attester import Attester, LinuxPlatform, StaticPlatform
from iotsec.core import cbor, jose
from iotsec.core.cose import Algorithm, CoseKey
from iotsec.core.eat import appraisal as ap
from iotsec.core.eat import claims as c
from iotsec.core.eat import corim, ear, psa, rp, tokens
from iotsec.core.eat.signing import EarSigner, verify_ear
from iotsec.errors import PolicyError, UnsupportedError, ValidationError, VerifyError

# --- JOSE ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alg", "key"),
    [
        ("ES256", ec.generate_private_key(ec.SECP256R1())),
        ("ES384", ec.generate_private_key(ec.SECP384R1())),
        ("ES512", ec.generate_private_key(ec.SECP521R1())),
        ("EdDSA", ed25519.Ed25519PrivateKey.generate()),
        ("HS256", b"k" * 32),
        ("HS384", b"k" * 48),
        ("HS512", b"k" * 64),
    ],
)
def test_rats_jose_sign_verify(alg: str, key: jose.Key) -> None:
    tok = jose.sign_compact(b'{"a":1}', key, alg)
    pub = jose.public_of(key)
    header, payload = jose.verify_compact(tok, pub, algs=(alg,))
    assert header["alg"] == alg and payload == b'{"a":1}'
    h, _p, s = tok.split(".")
    with pytest.raises(VerifyError):
        jose.verify_compact(f"{h}.{jose.b64u_encode(b'{}')}.{s}", pub, algs=(alg,))
    with pytest.raises(VerifyError):  # the caller's list of algorithms rules
        jose.verify_compact(tok, pub, algs=("ES256K",))
    if not isinstance(key, bytes):
        jwk = jose.jwk_from_key(key, private=True)
        assert jose.verify_compact(jose.sign_compact(b"x", jose.key_from_jwk(jwk), alg), pub, algs=(alg,))


def test_rats_jose_refuses_none_and_alg_confusion() -> None:
    k = ec.generate_private_key(ec.SECP256R1())
    none_tok = jose.b64u_encode(b'{"alg":"none"}') + "." + jose.b64u_encode(b"{}") + "."
    with pytest.raises(VerifyError):
        jose.verify_compact(none_tok, k.public_key(), algs=("ES256",))
    # HS256 "signed" with the public key bytes must not pass an ECDSA verifier
    from cryptography.hazmat.primitives import serialization

    pem = k.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    forged = jose.sign_compact(b"{}", pem, "HS256")
    with pytest.raises(VerifyError):
        jose.verify_compact(forged, k.public_key(), algs=("ES256", "HS256"))
    with pytest.raises(VerifyError):
        crit = jose.sign_compact(b"{}", k, "ES256", header={"crit": ["exp"]})
        jose.verify_compact(crit, k.public_key())


def test_rats_jose_rfc8037_ed25519_jwk() -> None:
    """RFC 8037 appendix A.1/A.2 key, A.4 signature over "Example of Ed25519 signing"."""
    jwk = {
        "kty": "OKP",
        "crv": "Ed25519",
        "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
    }
    key = jose.key_from_jwk(jwk)
    tok = jose.sign_compact(b"Example of Ed25519 signing", key, "EdDSA")
    assert tok == (
        "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09P"
        "GcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
    )
    assert jose.jwk_from_key(key, private=True) == jwk


# --- EAR -----------------------------------------------------------------------------------------


def _ear(**kw: object) -> ear.Ear:
    vec = {ear.Category.EXECUTABLES: 2, ear.Category.HARDWARE: 2}
    base: dict[str, object] = {
        "iat": 1000,
        "developer": "d",
        "build": "b",
        "submods": {"x": ear.Appraisal(status=ear.Tier.AFFIRMING, vector=vec)},
    }
    return ear.Ear(**{**base, **kw})  # type: ignore[arg-type]


def test_rats_ear_tiers() -> None:
    assert [ear.Tier.of(v) for v in (0, 1, -1, 2, 31, 32, 95, 96, 127, -128, 99)] == [
        ear.Tier.NONE,
        ear.Tier.NONE,
        ear.Tier.NONE,
        ear.Tier.AFFIRMING,
        ear.Tier.AFFIRMING,
        ear.Tier.WARNING,
        ear.Tier.WARNING,
        ear.Tier.CONTRAINDICATED,
        ear.Tier.CONTRAINDICATED,
        ear.Tier.CONTRAINDICATED,
        ear.Tier.CONTRAINDICATED,
    ]
    assert ear.Tier.AFFIRMING.worse(ear.Tier.NONE) == ear.Tier.NONE
    assert ear.Tier.NONE.worse(ear.Tier.WARNING) == ear.Tier.WARNING


def test_rats_ear_status_must_not_claim_more_trust() -> None:
    j = ear.to_json(_ear())
    j["submods"]["x"]["ear_trustworthiness_vector"]["executables"] = 96
    with pytest.raises(ValidationError) as ei:
        ear.parse(j)
    assert ei.value.reason == "ear.status.inconsistent"


@pytest.mark.parametrize("gen", ["ietf", "veraison-2023", "veraison-2022"])
@pytest.mark.parametrize("fmt", ["jwt", "cwt"])
def test_rats_ear_signer_generations(gen: str, fmt: str) -> None:
    key = CoseKey.generate(Algorithm.ES256)
    e = _ear(nonce=b"n" * 16, raw_evidence=b"evidence")
    e.submods["x"].policy_ids = ["p1"]
    tok = EarSigner(key, format=fmt, generation=gen).sign(e)
    back = verify_ear(tok, key.public())
    assert back.generation == gen and back.nonce == b"n" * 16 and back.raw_evidence == b"evidence"
    assert back.submods["x"].vector == e.submods["x"].vector and back.submods["x"].policy_ids == ["p1"]
    if fmt == "jwt" and gen != "ietf":
        payload = json.loads(jose.decode_unverified(tok)[1])
        assert payload["submods"]["x"]["ear.status"] == "affirming"
        assert payload["submods"]["x"]["ear.appraisal-policy-id"] == "p1"
    with pytest.raises(VerifyError):
        verify_ear(tok, CoseKey.generate(Algorithm.ES256).public())


def test_rats_ear_signer_refuses_symmetric_key() -> None:
    with pytest.raises(ValidationError):
        EarSigner(CoseKey.symmetric(b"k" * 32))


def test_rats_rp_policy() -> None:
    e = _ear(exp=2000, nonce=b"a" * 16)
    assert rp.check(e, rp.RpPolicy(), now=1500) == []
    ids = {f.id for f in rp.check(e, rp.RpPolicy(max_age=10), now=2500)}
    assert ids == {"ear.expired", "ear.stale"}
    assert [f.id for f in rp.check(e, rp.RpPolicy(), now=0)] == ["ear.future"]
    p = rp.RpPolicy(nonce=b"b" * 16)
    assert [f.id for f in rp.check(e, p, now=1500)] == ["ear.nonce.mismatch"]
    p = rp.RpPolicy.from_dict({"configuration": "affirming"})
    with pytest.raises(PolicyError) as ei:
        rp.require(e, p, now=1500)
    assert ei.value.reason == "ear.configuration.insufficient"  # no claim is not affirming
    with pytest.raises(ValidationError):
        rp.RpPolicy.from_dict({"executables": "great"})
    with pytest.raises(ValidationError):
        rp.RpPolicy.from_dict({"wings": "affirming"})


# --- appraisal -----------------------------------------------------------------------------------


def _refs(**kw: object) -> list[corim.ReferenceValue]:
    meas = tuple(corim.Measurement(n, ((1, d),)) for n, d in digests())
    return [corim.ReferenceValue(corim.Environment(instance_ueid=UEID), meas)]


def _evidence(
    comps: list[tuple[str, bytes]] | None = None, debug: c.DebugStatus = c.DebugStatus.DISABLED
) -> ap.Evidence:
    plat = StaticPlatform(ueid=UEID, comps=digests() if comps is None else comps, debug=debug)
    return ap.evidence_from_eat(Attester(plat, CoseKey.generate(Algorithm.ES256)).claims(b"n" * 16, now=1))


def test_rats_appraisal_findings() -> None:
    pol = ap.Policy()
    good = ap.appraise(_evidence(), _refs(), pol)
    assert good.status == ear.Tier.AFFIRMING
    assert sorted({f.id for f in good.findings}) == ["eat.component.match"]
    assert all(f.requirement == ap.REQ_BOOT for f in good.findings)
    extra = ap.appraise(_evidence([*digests(), ("debugger", b"\x00" * 32)]), _refs(), pol)
    assert extra.appraisal.vector[ear.Category.EXECUTABLES] == ear.UNRECOGNIZED_RUNTIME
    assert "eat.component.unrecognized" in {f.id for f in extra.findings}
    strict = ap.appraise(
        _evidence([*digests(), ("debugger", b"\x00" * 32)]),
        _refs(),
        ap.Policy(unknown_component="contraindicate"),
    )
    assert strict.status == ear.Tier.CONTRAINDICATED
    missing = ap.appraise(_evidence(digests()[:1]), _refs(), pol)
    assert [f.id for f in missing.findings if f.id == "eat.component.absent"] == ["eat.component.absent"] * 2
    none = ap.appraise(_evidence(), [], pol)
    assert none.status == ear.Tier.CONTRAINDICATED and none.findings[0].id == "eat.refval.missing"
    dbg = ap.appraise(_evidence(debug=c.DebugStatus.ENABLED), _refs(), ap.Policy(debug="contraindicate"))
    assert dbg.status == ear.Tier.CONTRAINDICATED and dbg.findings[-1].requirement == ap.REQ_DEBUG
    allowed = ap.appraise(_evidence(debug=c.DebugStatus.ENABLED), _refs(), ap.Policy(debug="allow"))
    assert allowed.status == ear.Tier.AFFIRMING


def test_rats_appraisal_psa_lifecycle_and_2_0_0_profile() -> None:
    claims = cbor.loads(cbor.from_diag((VECTORS / "rats/psa-token-rfc9783/test/GOOD_full.diag").read_text()))
    claims[265] = psa.PROFILE_PSA_2_0_0
    t = psa.validate_psa(claims)
    assert t.profile == psa.PROFILE_PSA_2_0_0
    for life, tier in (
        (0x3000, ear.Tier.AFFIRMING),
        (0x4001, ear.Tier.WARNING),
        (0x6000, ear.Tier.CONTRAINDICATED),
    ):
        ev = ap.evidence_from_psa(psa.validate_psa({**claims, 2395: life}))
        refs = [
            corim.ReferenceValue(
                corim.Environment(implementation_id=t.implementation_id),
                tuple(
                    corim.Measurement(
                        sc.measurement_type or "",
                        ((1, sc.measurement_value),),
                        signer_id=sc.signer_id,
                        psa=True,
                    )
                    for sc in t.software_components
                ),
            )
        ]
        assert ap.appraise(ev, refs, ap.Policy()).status == tier
    with pytest.raises(ValidationError) as ei:
        psa.validate_psa({**claims, 265: "http://arm.com/psa/1.0.0"})
    assert ei.value.reason == "psa.profile.unknown"
    with pytest.raises(ValidationError) as ei:
        psa.validate_psa({**claims, 2398: "12345"})
    assert ei.value.reason == "psa.certification_reference.format"
    with pytest.raises(ValidationError) as ei:
        psa.validate_psa({**claims, 2395: 0x7000})
    assert ei.value.reason == "psa.lifecycle.format"
    with pytest.raises(ValidationError) as ei:
        psa.validate_psa({**claims, 10: b"x" * 20})
    assert ei.value.reason == "psa.nonce.size"


def test_rats_check_nonce() -> None:
    ev = _evidence()
    ap.check_nonce(ev, b"n" * 16)
    with pytest.raises(PolicyError) as ei:
        ap.check_nonce(ev, b"m" * 16)
    assert ei.value.reason == "eat.nonce.mismatch"


# --- envelopes ----------------------------------------------------------------------------------


def test_rats_envelopes_round_trip() -> None:
    claims: dict[int | str, object] = {10: b"n" * 16, 256: UEID, 270: "fw", 263: c.DebugStatus.DISABLED}
    es = CoseKey.generate(Algorithm.ES256, kid=b"k1")
    for key in (es, CoseKey.generate(Algorithm.EDDSA), CoseKey.generate(Algorithm.ES384)):
        t = tokens.verify(tokens.create_cwt(claims, key, kid=key.kid), key.public())  # type: ignore[arg-type]
        assert t.kind == "sign1" and t.claims[270] == "fw"
    tagged = tokens.create_cwt(claims, es, cwt_tag=True)  # type: ignore[arg-type]
    assert tagged[:2] == b"\xd8\x3d" and tokens.verify(tagged, es).kid == b"k1"
    hk = CoseKey.symmetric(b"s" * 32)
    assert tokens.verify(tokens.create_cwt(claims, hk), hk).kind == "mac0"  # type: ignore[arg-type]
    jwt = tokens.create_jwt(claims, es, kid="k1")  # type: ignore[arg-type]
    assert tokens.verify(jwt.encode(), es.public()).claims[263] == c.DebugStatus.DISABLED
    uccs = tokens.create_uccs(claims)  # type: ignore[arg-type]
    assert tokens.peek(uccs).kind == "uccs"
    with pytest.raises(VerifyError):
        tokens.verify(uccs, es)
    with pytest.raises(UnsupportedError):
        tokens.peek(cbor.dumps(cbor.tag(99, {})))


def test_rats_detached_bundle_round_trip() -> None:
    key = CoseKey.generate(Algorithm.ES256)
    raw, digest = tokens.detached_digest({270: "tee-os", 262: True})
    main = tokens.create_cwt({10: b"n" * 16, 266: {"TEE": digest}}, key)
    deb = tokens.create_deb(main, {"TEE": raw})
    t = tokens.verify(deb, key.public())
    assert t.kind == "deb" and t.detached["TEE"][270] == "tee-os"
    tampered = tokens.create_deb(main, {"TEE": cbor.dumps({270: "evil-os", 262: True})})
    with pytest.raises(VerifyError) as ei:
        tokens.verify(tampered, key.public())
    assert ei.value.reason == "eat.deb.digest"


# --- attester ------------------------------------------------------------------------------------


def test_rats_linux_platform(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    (proc / "sys/kernel/random").mkdir(parents=True)
    (proc / "sys/kernel/random/boot_id").write_text("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\n")
    (proc / "uptime").write_text("1234.56 99.0\n")
    files = {}
    for name, content in COMPONENTS.items():
        (tmp_path / name).write_bytes(content)
        files[name] = tmp_path / name
    plat = LinuxPlatform(tmp_path / "state", files, ueid=UEID, software=("os", "1"), proc=proc)
    assert plat.uptime() == 1234 and len(plat.boot_seed()) == 32
    assert plat.boot_count() == 1 and plat.boot_count() == 1  # same boot
    (proc / "sys/kernel/random/boot_id").write_text("11111111-2222-3333-4444-555555555555\n")
    assert plat.boot_count() == 2
    assert dict(plat.components())["kernel"] == hashlib.sha256(COMPONENTS["kernel"]).digest()
    key = CoseKey.generate(Algorithm.ES256)
    t = tokens.verify(Attester(plat, key).evidence(b"n" * 32, now=5), key.public())
    assert t.claims[c.Claim.UPTIME] == 1234 and t.claims[c.Claim.BOOTCOUNT] == 2
    assert t.claims[c.Claim.PROFILE] == "urn:ietf:rfc:rfc9711"


# --- signed CoRIM -------------------------------------------------------------------------------


def test_rats_signed_corim() -> None:
    from rats_helpers import device_corim

    from iotsec.core.eat import corim_signed
    from iotsec.services.verifier import VerifierService

    signer, dev = CoseKey.generate(Algorithm.ES256), CoseKey.generate(Algorithm.ES256)
    unsigned = device_corim(UEID, dev)
    signed = corim_signed.sign_corim(unsigned, signer, signer="ACME supply chain")
    assert cbor.loads(signed).tag == 18
    assert corim_signed.signer_name(signed) == "ACME supply chain"
    c = corim_signed.verify_signed_corim(
        signed, [CoseKey.generate(Algorithm.ES256).public(), signer.public()]
    )
    assert c.id == "acme-1" and c.attest_keys[0].environment.instance_ueid == UEID
    old = cbor.dumps(cbor.tag(502, cbor.loads(signed)))  # the earlier drafts' wrapper
    assert corim_signed.verify_signed_corim(old, [signer.public()]).id == "acme-1"
    with pytest.raises(VerifyError) as ei:
        corim_signed.verify_signed_corim(signed, [dev.public()])
    assert ei.value.reason == "corim.signed.untrusted"

    class Mem:
        def __init__(self) -> None:
            self.rows: list[bytes] = []

        def add(self, corim_id: str, media_type: str, raw: bytes) -> None:
            self.rows.append(raw)

        def load(self, after: int) -> list[tuple[int, bytes]]:
            return [(i + 1, r) for i, r in enumerate(self.rows) if i + 1 > after]

    from iotsec.clock import FixedClock

    mem = Mem()
    svc = VerifierService(
        None,
        mem,
        FixedClock(1),
        EarSigner(CoseKey.generate(Algorithm.ES256)),  # type: ignore[arg-type]
        corim_signers=[signer.public()],
    )
    svc.provision("application/corim-signed+cbor", signed)
    assert mem.rows == [unsigned]
    with pytest.raises(VerifyError):
        svc.provision("application/corim-signed+cbor", corim_signed.sign_corim(unsigned, dev, signer="x"))
    bare = VerifierService(None, Mem(), FixedClock(1), EarSigner(CoseKey.generate(Algorithm.ES256)))  # type: ignore[arg-type]
    with pytest.raises(UnsupportedError):
        bare.provision("application/corim-signed+cbor", signed)


def test_rats_corim_cose_key_triple() -> None:
    """An attest-key triple carrying a tagged COSE_Key (#6.558) reads as the same public key."""
    dev = CoseKey.generate(Algorithm.ES256)
    env = {1: cbor.tag(550, UEID)}
    comid = cbor.dumps({1: {0: "c"}, 4: {3: [[env, [cbor.tag(558, dev.public().encode(private=False))]]]}})
    c = corim.decode_unsigned(cbor.dumps(cbor.tag(501, {0: "x", 1: [cbor.tag(506, comid)]})))
    assert c.attest_keys[0].keys_spki == (dev.public().to_der(private=False),)
    bad = cbor.dumps({1: {0: "c"}, 4: {3: [[env, [cbor.tag(558, b"\xa1\x01\x63")]]]}})
    with pytest.raises(ValidationError) as ei:
        corim.decode_comid(bad)
    assert ei.value.reason == "corim.key"


def test_rats_comid_triples_must_be_arrays() -> None:
    """A reference or attest-key triples member that is not an array is refused (it raised a bare
    TypeError when it was not iterable, e.g. a tagged item)."""
    for label in (0, 3):
        for v in (cbor.tag(6, [1]), 5, {}, "x"):
            with pytest.raises(ValidationError) as ei:
                corim.decode_comid(cbor.dumps({1: {0: "c"}, 4: {label: v}}))
            assert ei.value.reason == "comid.invalid"


def test_rats_constrained_profile_rules() -> None:
    """RFC 9711 §6.3: ES256/384/512 only; definite lengths and preferred serialization."""
    claims: dict[int | str, object] = {10: b"n" * 16, 256: UEID}
    es = CoseKey.generate(Algorithm.ES256)
    tokens.check_constrained_profile(tokens.peek(tokens.create_cwt(claims, es)))  # type: ignore[arg-type]
    ed = CoseKey.generate(Algorithm.EDDSA)
    with pytest.raises(ValidationError) as ei:
        tokens.check_constrained_profile(tokens.peek(tokens.create_cwt(claims, ed)))  # type: ignore[arg-type]
    assert ei.value.reason == "eat.profile.alg"
    from iotsec.core.cose import sign1

    # the same claims with a non-preferred integer (10 as 0x18 0x0a) and an indefinite-length map
    for payload in (
        bytes.fromhex("a2180a50") + b"n" * 16 + bytes.fromhex("19010058") + bytes([len(UEID)]) + UEID,
        bytes.fromhex("bf0a50") + b"n" * 16 + bytes.fromhex("19010058") + bytes([len(UEID)]) + UEID + b"\xff",
    ):
        tok = tokens.peek(sign1(payload, es))
        with pytest.raises(ValidationError) as ei:
            tokens.check_constrained_profile(tok)
        assert ei.value.reason == "eat.profile.encoding"


def test_rats_nested_token_submodules() -> None:
    """A device token nesting a secure element's CWT and a JWT: each verifies with its own key."""
    dev, se, tee = (CoseKey.generate(Algorithm.ES256) for _ in range(3))
    se_cwt = tokens.create_cwt({10: b"s" * 8, 270: "se-os"}, se)
    tee_jwt = tokens.create_jwt({10: b"t" * 8, 270: "tee-os"}, tee)
    outer_claims: dict[int | str, object] = {
        10: b"n" * 8,
        266: {
            "SE": c.NestedToken("CBOR", se_cwt),
            "TEE": c.NestedToken("JWT", tee_jwt),
            "OS": {270: "linux"},
        },
    }
    outer = tokens.verify(tokens.create_cwt(outer_claims, dev), dev.public())  # type: ignore[arg-type]
    keys = {"SE": se.public(), "TEE": tee.public()}
    got = tokens.verify_submodules(outer, lambda name, _t: keys.get(name))
    assert (
        set(got) == {"SE", "TEE"} and got["SE"].claims[270] == "se-os" and got["TEE"].claims[270] == "tee-os"
    )
    with pytest.raises(VerifyError):
        tokens.verify_submodules(outer, lambda name, _t: dev.public())
    with pytest.raises(VerifyError) as ei:
        tokens.verify_submodules(outer, lambda name, _t: None)
    assert ei.value.reason == "eat.submod.key"


def test_rats_psa_iot_profile_1() -> None:
    """PSA_IOT_PROFILE_1 (Veraison's P1): the -75000 keys of the Arm PSA attestation API 1.0 CDDL."""
    p1: dict[int, object] = {
        -75000: "PSA_IOT_PROFILE_1",
        -75001: 1,
        -75002: 0x3000,
        -75003: bytes(range(32)),
        -75004: b"\x11" * 32,
        -75005: "1234567890123-12345",
        -75006: [{1: "BL", 2: b"\x03" * 32, 4: "1.0", 5: b"\x04" * 32}],
        -75008: b"\x01" * 32,
        -75009: b"\x01" + b"\x02" * 32,
        -75010: "https://veraison.example/v1/challenge-response",
    }
    t = psa.validate_psa(p1)
    assert t.profile == psa.PROFILE_P1 and t.client_id == 1 and t.implementation_id == bytes(range(32))
    assert (
        t.software_components[0].measurement_type == "BL"
        and t.certification_reference == "1234567890123-12345"
    )
    with pytest.raises(ValidationError) as ei:
        psa.validate_psa({**p1, -75004: b"\x11" * 16})  # P1 boot seeds are exactly 32 bytes
    assert ei.value.reason == "psa.boot_seed.size"
    no_sw = {k: v for k, v in p1.items() if k != -75006}
    with pytest.raises(ValidationError) as ei:
        psa.validate_psa(no_sw)
    assert ei.value.reason == "psa.sw_components.missing"
    assert psa.validate_psa({**no_sw, -75007: 1}).software_components == ()
    with pytest.raises(ValidationError) as ei:
        psa.validate_psa({k: v for k, v in p1.items() if k != -75009})
    assert ei.value.reason == "psa.instance_id.missing"
