"""cose-wg/Examples vectors for COSE_Sign1, COSE_Sign, COSE_Mac0 and COSE_Mac (RFC 9052/9053).

For every vector: decode ``output.cbor``, check our to-be-signed/MACed bytes against the
vector's intermediates, verify with the vector's keys; ``fail: true`` vectors must raise an
IotSecError. Deterministic algorithms (EdDSA, HMAC, AES-MAC) re-create the exact bytes; for
ECDSA (randomized in the vectors) we sign the same input ourselves and verify it.

Vectors in these folders that cannot apply are listed in ``NOT_APPLICABLE`` with the reason,
and a test checks that each one really fails the way the reason says (no silent skip).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import SHARED_VECTORS
from iotsec.core.cose import (
    CoseKey,
    Mac0Message,
    MacMessage,
    Sign1Message,
    Signer,
    SignMessage,
    alg_from_name,
    mac,
    mac0,
    sign,
    sign1,
)
from iotsec.core.cose.headers import normalize_headers
from iotsec.core.cose.key import b64u_encode
from iotsec.errors import IotSecError, UnsupportedError, ValidationError, VerifyError

FOLDERS = [
    "sign1-tests",
    "sign-tests",
    "ecdsa-examples",
    "eddsa-examples",
    "hmac-examples",
    "mac-tests",
    "mac0-tests",
    "CWT",
    "RFC8152",
]
KINDS = ("sign0", "sign", "mac0", "mac")

# Every signature/MAC vector of these folders applies. Notes: "Appendix_C_1_1" is titled
# "RSA-PSS signature" but the file holds an ES256 signer (verified as such); "Appendix_C_1_3"
# carries an RFC 8152 v1 counter signature (label 7), verified by test_cose_countersign.
# vectors of these folders that are not signatures or MACs (encryption: tested by the
# encryption tests, test_cose_vectors_enc.py)
NOT_SIG_OR_MAC = {"CWT/A_5.json", "CWT/A_6.json", "RFC8152/Appendix_B.json"} | {
    f"RFC8152/Appendix_C_{n}.json" for n in ("3_1", "3_2", "3_3", "3_4", "4_1", "4_2")
}


ROOT = SHARED_VECTORS / "cose" / "cose-wg-examples"


def _all_names() -> list[str]:
    return sorted(
        f"{folder}/{p.name}"
        for folder in FOLDERS
        for p in (ROOT / folder).glob("*.json")
        if f"{folder}/{p.name}" not in NOT_SIG_OR_MAC
    )


ALL = _all_names()
APPLICABLE = ALL


def jwk(d: dict[str, Any]) -> CoseKey:
    """The examples' keys are JWK with some members in hex (``x_hex``...): normalise, then load."""
    j = {k: v for k, v in d.items() if not k.endswith("_hex") and k != "use"}
    for k, v in d.items():
        if k.endswith("_hex"):
            j[k[:-4]] = b64u_encode(bytes.fromhex(v))
    return CoseKey.from_jwk(j)


def _headers(d: dict[str, Any] | None) -> dict[Any, Any]:
    d = dict(d or {})
    out = {}
    for k, v in d.items():
        if k.endswith("_hex"):
            out[k[:-4]] = bytes.fromhex(v)
        else:
            out[k] = v
    return normalize_headers(out)


def _has_unprotected_alg(layer: dict[str, Any]) -> bool:
    return "alg" in (layer.get("unprotected") or {})


def _crit(layer: dict[str, Any]) -> list[Any]:
    return list((layer.get("protected") or {}).get("crit") or [])


def load(shared_vectors: Path, name: str) -> dict[str, Any]:
    with open(shared_vectors / "cose" / "cose-wg-examples" / name) as f:
        return json.load(f)


def _plaintext(inp: dict[str, Any]) -> bytes:
    if "plaintext_hex" in inp:
        return bytes.fromhex(inp["plaintext_hex"])
    return str(inp["plaintext"]).encode()


def _kind(inp: dict[str, Any]) -> str:
    return next(k for k in KINDS if k in inp)


# cose-wg "failures" kinds -> the error a correct verifier raises
FAILURE_ERROR: dict[str, type[IotSecError]] = {
    "ChangeCBORTag": ValidationError,  # another COSE tag: refused at decode
    "ChangeTag": VerifyError,  # signature/MAC bytes changed
    "ChangeAttr": UnsupportedError,  # alg changed to an unknown value
    "AddProtected": VerifyError,  # protected bucket changed after signing
    "RemoveProtected": VerifyError,
}


def _failure(v: dict[str, Any]) -> str:
    inp = v["input"]
    layer = inp[_kind(inp)]
    found = [
        *(inp.get("failures") or {}),
        *(layer.get("failures") or {}),
        *(f for s in layer.get("signers", []) for f in (s.get("failures") or {})),
    ]
    assert len(found) == 1, found
    return found[0]


def _check(v: dict[str, Any]) -> None:
    """Decode and verify one vector; raises IotSecError on failure."""
    inp = v["input"]
    data = bytes.fromhex(v["output"]["cbor"])
    kind = _kind(inp)
    layer = inp[kind]
    if kind == "sign0":
        msg1 = Sign1Message.decode(data)
        msg1.verify(
            jwk(layer["key"]),
            bytes.fromhex(layer.get("external", "")),
            critical=_crit(layer),
            allow_unprotected_alg=_has_unprotected_alg(layer),
        )
    elif kind == "sign":
        msg = SignMessage.decode(data)
        assert len(msg.signatures) == len(layer["signers"])
        for s, signer in zip(msg.signatures, layer["signers"], strict=True):
            msg.verify_signature(
                s,
                jwk(signer["key"]),
                bytes.fromhex(signer.get("external", "")),
                critical=_crit(layer) + _crit(signer),
                allow_unprotected_alg=_has_unprotected_alg(signer),
            )
    elif kind == "mac0":
        m0 = Mac0Message.decode(data)
        m0.verify(
            jwk(layer["recipients"][0]["key"]),
            bytes.fromhex(layer.get("external", "")),
            critical=_crit(layer),
            allow_unprotected_alg=_has_unprotected_alg(layer),
        )
    else:
        mm = MacMessage.decode(data)
        for r in layer["recipients"]:  # every recipient's key must open the MAC
            mm.verify(
                jwk(r["key"]),
                bytes.fromhex(layer.get("external", "")),
                critical=_crit(layer),
                allow_unprotected_alg=_has_unprotected_alg(layer),
                sender_key=jwk(r["sender_key"]).public() if "sender_key" in r else None,
            )


def test_vector_inventory(shared_vectors: Path) -> None:
    # every file in the folders is either applicable, not applicable with a reason, or encryption
    assert len(ALL) == 74
    for name in ALL:
        assert _kind(load(shared_vectors, name)["input"]) in KINDS


@pytest.mark.parametrize("name", APPLICABLE)
def test_vector(shared_vectors: Path, name: str) -> None:
    v = load(shared_vectors, name)
    if v.get("fail"):
        with pytest.raises(IotSecError) as info:
            _check(v)
        # the failure injected by the vector decides which error is right
        assert type(info.value) is FAILURE_ERROR[_failure(v)], info.value
        return
    _check(v)


@pytest.mark.parametrize("name", [n for n in APPLICABLE if not n.startswith("CWT")])
def test_structure_matches_intermediates(shared_vectors: Path, name: str) -> None:
    """Our Sig_structure / MAC_structure bytes equal the vector's ToBeSign / ToMac."""
    v = load(shared_vectors, name)
    inp, inter = v["input"], v["intermediates"]
    data = bytes.fromhex(v["output"]["cbor"])
    kind = _kind(inp)
    layer = inp[kind]
    if v.get("fail"):
        return  # the output was altered after the intermediates were computed
    if kind == "sign0":
        tbs = Sign1Message.decode(data).to_be_signed(bytes.fromhex(layer.get("external", "")))
        assert tbs.hex().upper() == inter["ToBeSign_hex"]
    elif kind == "sign":
        msg = SignMessage.decode(data)
        for s, signer, i in zip(msg.signatures, layer["signers"], inter["signers"], strict=True):
            assert (
                msg.to_be_signed(s, bytes.fromhex(signer.get("external", ""))).hex().upper()
                == (i["ToBeSign_hex"])
            )
    elif kind == "mac0":
        tbm = Mac0Message.decode(data).to_be_maced(bytes.fromhex(layer.get("external", "")))
        assert tbm.hex().upper() == inter["ToMac_hex"]
    else:
        mm = MacMessage.decode(data)
        assert mm.to_be_maced(bytes.fromhex(layer.get("external", ""))).hex().upper() == inter["ToMac_hex"]
        r0 = layer["recipients"][0]
        cek = mm.mac_key(
            jwk(r0["key"]),
            allow_unprotected_alg=_has_unprotected_alg(layer),
            sender_key=jwk(r0["sender_key"]).public() if "sender_key" in r0 else None,
        )
        assert cek.hex().upper() == inter["CEK_hex"]


def _recreatable(v: dict[str, Any]) -> bool:
    inp = v["input"]
    if v.get("fail") or "failures" in inp:
        return False
    kind = _kind(inp)
    layer = inp[kind]
    if any("failures" in s for s in layer.get("signers", [])) or "failures" in layer:
        return False
    if kind in ("sign0", "sign"):
        signers = layer.get("signers") or [layer]
        return all(jwk(s["key"]).kty == 1 for s in signers)  # EdDSA only; ECDSA is randomized
    if kind == "mac":
        return all((r.get("unprotected") or {}).get("alg") == "direct" for r in layer["recipients"])
    return True


def _signable(name: str) -> bool:
    """Vectors we can sign again: not failure cases, alg protected, MAC recipients direct."""
    with open(ROOT / name) as f:
        v = json.load(f)
    inp = v["input"]
    layer = inp[_kind(inp)]
    if v.get("fail") or "alg" in (layer.get("unprotected") or {}):
        return False
    if any("alg" in (s.get("unprotected") or {}) for s in layer.get("signers", [])):
        return False
    return _kind(inp) != "mac" or all(
        (r.get("unprotected") or {}).get("alg") == "direct" for r in layer["recipients"]
    )


SIGNABLE = [n for n in APPLICABLE if _signable(n)]


@pytest.mark.parametrize("name", SIGNABLE)
def test_recreate_or_sign_then_verify(shared_vectors: Path, name: str) -> None:
    """Deterministic vectors: re-create the exact bytes. ECDSA: our signature over the same input verifies."""
    v = load(shared_vectors, name)
    inp = v["input"]
    kind = _kind(inp)
    layer = inp[kind]
    expected = bytes.fromhex(v["output"]["cbor"])
    payload = _plaintext(inp)
    recreate = _recreatable(v)
    if kind == "sign0":
        key = jwk(layer["key"])
        out = sign1(
            payload,
            key,
            alg_from_name(layer["alg"]) if "alg" in layer else None,
            protected=_headers(layer.get("protected")),
            unprotected=_headers(layer.get("unprotected")),
            external_aad=bytes.fromhex(layer.get("external", "")),
            deterministic=True,
        )
        if recreate:
            assert out == expected
        Sign1Message.decode(out).verify(
            key.public(), bytes.fromhex(layer.get("external", "")), critical=_crit(layer)
        )
    elif kind == "sign":
        signers = [
            Signer(
                jwk(s["key"]),
                protected=_headers(s.get("protected")),
                unprotected=_headers(s.get("unprotected")),
            )
            for s in layer["signers"]
        ]
        ext = bytes.fromhex(layer["signers"][0].get("external", ""))
        out = sign(
            payload,
            signers,
            protected=_headers(layer.get("protected")),
            unprotected=_headers(layer.get("unprotected")),
            external_aad=ext,
        )
        if recreate:
            assert out == expected
        msg = SignMessage.decode(out)
        msg.verify_all([s.key.public() for s in signers], ext, critical=_crit(layer))
    elif kind == "mac0":
        key = jwk(layer["recipients"][0]["key"])
        out = mac0(
            payload,
            key,
            alg_from_name(layer["protected"]["alg"]),
            protected=_headers(layer.get("protected")),
            unprotected=_headers(layer.get("unprotected")) or None,
            external_aad=bytes.fromhex(layer.get("external", "")),
        )
        # the examples do not put the recipient's kid on a COSE_Mac0
        out = Mac0Message.decode(out)
        out.unprotected.pop(4, None)
        data = out.encode()
        assert data == expected
        Mac0Message.decode(data).verify(key, bytes.fromhex(layer.get("external", "")))
    else:
        assert recreate
        r0 = layer["recipients"][0]
        key = jwk(r0["key"])
        from iotsec.core.cose.recipient import RecipientSpec

        out = mac(
            payload,
            [
                RecipientSpec(
                    -6, key, unprotected=_headers({k: v for k, v in r0["unprotected"].items() if k != "alg"})
                )
            ],
            alg_from_name(layer["protected"]["alg"]),
            protected=_headers(layer.get("protected")),
            external_aad=bytes.fromhex(layer.get("external", "")),
        )
        assert out == expected
        MacMessage.decode(out).verify(key, bytes.fromhex(layer.get("external", "")))


def test_unprotected_alg_needs_explicit_opt_in(shared_vectors: Path) -> None:
    v = load(shared_vectors, "sign1-tests/sign-pass-01.json")
    msg = Sign1Message.decode(bytes.fromhex(v["output"]["cbor"]))
    key = jwk(v["input"]["sign0"]["key"])
    with pytest.raises(ValidationError, match="protected"):
        msg.verify(key)
    msg.verify(key, allow_unprotected_alg=True)
    v = load(shared_vectors, "mac0-tests/mac-pass-01.json")
    m0 = Mac0Message.decode(bytes.fromhex(v["output"]["cbor"]))
    with pytest.raises(ValidationError):
        m0.verify(jwk(v["input"]["mac0"]["recipients"][0]["key"]))


def test_crit_unknown_label_needs_application_opt_in(shared_vectors: Path) -> None:
    """RFC 8152 C.1.4 marks the text label "reserved" critical: fail unless the app processes it."""
    v = load(shared_vectors, "RFC8152/Appendix_C_1_4.json")
    msg = SignMessage.decode(bytes.fromhex(v["output"]["cbor"]))
    key = jwk(v["input"]["sign"]["signers"][0]["key"])
    with pytest.raises(UnsupportedError, match="critical"):
        msg.verify(key)
    assert msg.verify(key, critical=["reserved"]).kid == b"11"
