"""RFC 8152 §4.5 (v1) counter signatures: the RFC 8152 appendix C.1.3 example verifies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iotsec.core import cbor
from iotsec.core.cose import CoseKey, SignMessage, sign
from iotsec.core.cose.countersign import countersignatures, verify_countersignature
from iotsec.errors import ValidationError, VerifyError


def _vector(shared_vectors: Path) -> dict:  # type: ignore[type-arg]
    path = shared_vectors / "cose" / "cose-wg-examples" / "RFC8152" / "Appendix_C_1_3.json"
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def test_rfc8152_c13_countersignature(shared_vectors: Path) -> None:
    v = _vector(shared_vectors)
    msg = SignMessage.decode(bytes.fromhex(v["output"]["cbor"]))
    cs_key = CoseKey.from_jwk(v["input"]["sign"]["countersign"]["signers"][0]["key"])
    signer_key = CoseKey.from_jwk(v["input"]["sign"]["signers"][0]["key"])
    assert [c.kid for c in countersignatures(msg)] == [b"11"]
    assert msg.verify(signer_key).kid == b"11"
    cs = verify_countersignature(msg, cs_key.public())
    # our to-be-signed bytes are the vector's intermediate
    expected_tbs = v["intermediates"]["countersigners"][0]["ToBeSign_hex"]
    tbs = cbor.dumps(["CounterSignature", b"", cs.protected_bytes, b"", msg.payload])
    assert tbs.hex().upper() == expected_tbs
    with pytest.raises(VerifyError):
        verify_countersignature(msg, cs_key, external_aad=b"x")
    with pytest.raises(VerifyError):
        verify_countersignature(msg, CoseKey.generate("ES256", kid="11"))


def test_no_or_bad_countersignature() -> None:
    key = CoseKey.generate("ES256", kid="a")
    msg = SignMessage.decode(sign(b"p", [key]))
    assert countersignatures(msg) == []
    with pytest.raises(VerifyError):
        verify_countersignature(msg, key)
    msg.unprotected[7] = [b"", {}]
    with pytest.raises(ValidationError):
        countersignatures(msg)
