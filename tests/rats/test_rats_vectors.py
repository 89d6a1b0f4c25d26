"""External vectors: RFC 9783 tokens and claim sets, RFC 9711 examples, EAR examples (draft-ietf-rats-ear)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from rats_helpers import VECTORS

from iotsec.core import cbor, jose
from iotsec.core.cose import CoseKey
from iotsec.core.eat import claims as c
from iotsec.core.eat import ear, psa, tokens
from iotsec.errors import ValidationError, VerifyError

ROOT = VECTORS / "rats"
PSA_T = sorted((ROOT / "psa-token-rfc9783" / "test").glob("*.diag"))
EAT_DIAG = sorted((ROOT / "eat-rfc9711" / "Example-Payloads").glob("*.diag"))
EAT_JSON = sorted((ROOT / "eat-rfc9711" / "Example-Payloads").glob("*.json"))
EAR_EX = sorted((ROOT / "ear" / "examples").glob("*.diag"))

# The reason each FAIL_ claim set must be refused with (derived from the file name)
FAIL_REASONS = {
    "FAIL_BootSeed_too_big": "psa.boot_seed.size",
    "FAIL_BootSeed_too_small": "psa.boot_seed.size",
    "FAIL_ImplementationID_missing": "psa.implementation_id.missing",
    "FAIL_ImplementationID_wrong_format": "psa.implementation_id.format",
    "FAIL_InstanceID_missing": "psa.instance_id.missing",
    "FAIL_InstanceID_wrong_format": "psa.instance_id.format",
    "FAIL_SoftwareComponent_Measurement_missing": "psa.sw_component.measurement_missing",
}
# RFC 9711 example payloads that violate the RFC's own CDDL (vector findings, see docs/rats.md)
EAT_BROKEN = {
    "submods.diag": "eat.swversion.type",  # "Linux Android" labels swname "Android" with 271 (swversion)
    "simple.json": "eat.swversion.type",  # swversion "3.1.4" is text, the CDDL wants ["3.1.4", ?scheme]
}


def _diag(p: Path) -> object:
    return cbor.loads(cbor.from_diag(p.read_text()))


def test_rats_vectors_present(shared_vectors: Path) -> None:
    assert len(PSA_T) == 9 and len(EAT_DIAG) == 9 and len(EAT_JSON) == 6 and len(EAR_EX) == 8
    assert (shared_vectors / "rats").resolve() == ROOT.resolve()


@pytest.mark.parametrize("path", PSA_T, ids=lambda p: p.stem)
def test_rats_psa_claim_sets(path: Path) -> None:
    claims = _diag(path)
    assert isinstance(claims, dict)
    if path.stem.startswith("GOOD_"):
        t = psa.validate_psa(claims)
        assert t.profile == psa.PROFILE_RFC9783 and t.lifecycle_state == psa.Lifecycle.SECURED
        assert len(t.software_components) == 4
    else:
        with pytest.raises(ValidationError) as ei:
            psa.validate_psa(claims)
        assert ei.value.reason == FAIL_REASONS[path.stem]


def test_rats_psa_sign1_example_verifies() -> None:
    d = ROOT / "psa-token-rfc9783" / "example"
    key = CoseKey.from_pem((d / "tfm-es-iak.pem").read_bytes())
    jwk_key = CoseKey.from_jwk((d / "tfm-es-iak.json").read_text())
    data = (d / "psa-sign1.cbor").read_bytes()
    assert data.hex().upper() == "".join((d / "psa-sign1.hex").read_text().split()).upper()
    for k in (key.public(), jwk_key.public()):
        t = tokens.verify(data, k)
        assert t.kind == "sign1"
    p = psa.validate_psa(t.claims)
    assert p.claims == c.validate_claims(_diag(d / "sign1-claims.diag"))  # type: ignore[arg-type]
    assert p.nonce == bytes([1]) * 32 and p.client_id == 2147483647
    bad = bytearray(data)
    bad[-3] ^= 0x40
    with pytest.raises(VerifyError):
        tokens.verify(bytes(bad), key.public())


def test_rats_psa_mac0_example_verifies() -> None:
    d = ROOT / "psa-token-rfc9783" / "example"
    key = CoseKey.symmetric((d / "tfm-hs-iak.bin").read_bytes())
    data = (d / "psa-mac0.cbor").read_bytes()
    t = tokens.verify(data, key)
    assert t.kind == "mac0"
    assert psa.validate_psa(t.claims).instance_id.hex().startswith("01c557bd")
    with pytest.raises(VerifyError):
        tokens.verify(data, CoseKey.symmetric(bytes(64)))


@pytest.mark.parametrize("path", EAT_DIAG, ids=lambda p: p.name)
def test_rats_eat_cbor_payloads_round_trip(path: Path) -> None:
    raw = cbor.from_diag(path.read_text())
    if path.name in EAT_BROKEN:
        with pytest.raises(ValidationError) as ei:
            c.decode_claims(raw)
        assert ei.value.reason == EAT_BROKEN[path.name]
        return
    claims = c.decode_claims(raw)
    assert c.encode_claims(claims) == cbor.dumps(cbor.loads(raw))  # CBOR -> model -> CBOR
    j = json.loads(json.dumps(c.claims_to_json(claims)))  # and through JSON, stable from there on
    assert c.claims_to_json(c.claims_from_json(j)) == j


@pytest.mark.parametrize("path", EAT_JSON, ids=lambda p: p.name)
def test_rats_eat_json_payloads_round_trip(path: Path) -> None:
    text = path.read_text()
    if path.name in EAT_BROKEN:
        with pytest.raises(ValidationError) as ei:
            c.decode_json_claims(text)
        assert ei.value.reason == EAT_BROKEN[path.name]
        return
    claims = c.decode_json_claims(text)
    again = c.claims_to_json(claims)
    orig = json.loads(text)
    assert set(again) == set(orig)
    assert c.claims_from_json(again) == claims
    if path.name != "submods.json":  # its ueid carries base64 padding, which we drop on output
        assert again == orig


def test_rats_eat_detached_bundle_cbor() -> None:
    """valid_deb.diag: the TEE claims-set hashes to the digest in the main token (RFC 9711 §5)."""
    tok = tokens.peek(cbor.from_diag((ROOT / "eat-rfc9711/Example-Tokens/valid_deb.diag").read_text()))
    assert tok.kind == "deb" and set(tok.detached) == {"TEE"}
    digest = tok.claims[c.Claim.SUBMODS]["TEE"]
    assert isinstance(digest, c.DetachedDigest) and digest.alg == -16
    item = cbor.loads(cbor.from_diag((ROOT / "eat-rfc9711/Example-Tokens/valid_deb.diag").read_text()))
    tokens._check_digests(tok.claims, {"TEE": item.value[1]["TEE"]})
    with pytest.raises(VerifyError):
        tokens._check_digests(tok.claims, {"TEE": item.value[1]["TEE"] + b"\x00"})


def test_rats_eat_detached_bundle_json_hs256() -> None:
    """deb.json: an HS256 JWT (key "xxxxxx") with two detached JSON claims-sets checked by digest."""
    data = (ROOT / "eat-rfc9711/Example-Tokens/deb.json").read_bytes()
    tok = tokens.verify_json_deb(data, CoseKey.symmetric(b"xxxxxx"))
    assert set(tok.detached) == {"Audio Subsystem", "Graphics Subsystem"}
    assert tok.detached["Audio Subsystem"][c.Claim.SWNAME] == "Audio Processor OS"
    with pytest.raises(VerifyError):
        tokens.verify_json_deb(data, CoseKey.symmetric(b"yyyyyy"))


def test_rats_eat_cwt_example_structure() -> None:
    """valid_cwt.diag: a tagged CWT (61(18(...))); its key is not published, so only decode it."""
    tok = tokens.peek(cbor.from_diag((ROOT / "eat-rfc9711/Example-Tokens/valid_cwt.diag").read_text()))
    assert tok.kind == "sign1" and tok.claims[c.Claim.OEMID] == 64242
    assert tok.claims[c.Claim.DBGSTAT] == c.DebugStatus.DISABLED_PERMANENTLY


@pytest.mark.parametrize("path", EAR_EX, ids=lambda p: p.name)
def test_rats_ear_examples_parse(path: Path) -> None:
    obj = _diag(path)
    e = ear.parse(obj)  # type: ignore[arg-type]
    assert e.profile == ear.PROFILE_IETF and e.developer == "https://veraison-project.org"
    back = ear.to_json(e) if "json" in path.name else ear.to_cbor(e)
    assert back == obj
    if path.name in ("ear-json-1.diag", "ear-cbor-1.diag"):
        sub = e.submods["PSA"]
        assert sub.status == ear.Tier.CONTRAINDICATED and sub.vector[ear.Category.EXECUTABLES] == 96


def test_rats_ear_veraison_2023_jwt_from_the_draft() -> None:
    """The signed EAR of draft-ietf-rats-ear appendix (older Veraison naming) verifies and parses."""
    spec = (ROOT.parents[1] / "specs" / "draft-ietf-rats-ear.md").read_text()
    i = spec.index('"ear_token"')
    blob = re.sub(r"\\\n", "", spec[spec.rindex("{", 0, i) : spec.index("~~~", i)])
    obj = json.loads(blob)
    key = CoseKey.from_jwk(obj["trusted_verifiers"]["keys"][0])
    from iotsec.core.eat.signing import verify_ear

    e = verify_ear(obj["ear_token"], key)
    assert e.generation == "veraison-2023" and e.iat == 1666529184
    sub = e.submods["PARSEC_TPM"]
    assert sub.status == ear.Tier.AFFIRMING and sub.policy_ids == [
        "https://veraison.example/policy/1/60a0068d"
    ]
    assert "ear_veraison_key_attestation" in sub.extensions
    _, payload = jose.verify_compact(obj["ear_token"], key.public_key)
    assert hashlib.sha256(payload).digest()  # the payload is what the signature covers
    with pytest.raises(VerifyError):
        verify_ear(obj["ear_token"][:-4] + "AAAA", key)
