"""``describe``: annotated diagnostic notation of COSE messages (what ``iotsec cose show`` prints)."""

from __future__ import annotations

import json

import pytest

from conftest import SHARED_VECTORS
from iotsec.core import cbor
from iotsec.core.cose import CoseKey, sign1
from iotsec.core.cose.diag import describe
from iotsec.errors import DecodeError

ROOT = SHARED_VECTORS / "cose" / "cose-wg-examples"
ALL = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("*/*.json"))


def test_inventory() -> None:
    assert len(ALL) >= 200


@pytest.mark.parametrize("name", ALL)
def test_describe_parses_back_to_the_same_bytes(name: str) -> None:
    """Every WG example: the annotated text is valid EDN and encodes to the original bytes."""
    v = json.loads((ROOT / name).read_text())
    data = bytes.fromhex(v["output"]["cbor"])
    text = describe(data)
    assert cbor.from_diag(text) == data
    item = cbor.loads(data)
    if isinstance(item, list) or (isinstance(item, cbor.CBORTag) and item.tag in (16, 17, 18, 96, 97, 98)):
        assert "/ protected /" in text
    else:  # the "wrong CBOR tag" failure vectors: plain diagnostic notation
        assert text == cbor.to_diag(data)


def test_names_and_comments() -> None:
    v = json.loads((ROOT / "RFC8152" / "Appendix_C_5_4.json").read_text())
    text = describe(bytes.fromhex(v["output"]["cbor"]))
    assert text.startswith("97(  / COSE_Mac /")
    assert "/ alg / 1: 5 / HMAC 256\u2215256 /" in text  # "/" would end the EDN comment
    assert "/ alg / 1: -29 / ECDH-ES + A128KW /" in text
    assert "/ ephemeral key / -1: {" in text and "/ crv / -1: 3 / P-521 /" in text
    assert "/ kid / 4: h'62696c626f2e62616767696e7340686f626269746f6e2e6578616d706c65' / \"bilbo" in text


def test_untagged_and_non_cose() -> None:
    key = CoseKey.generate("Ed25519", kid="x")
    untagged = sign1(b"p", key, tagged=False)
    assert describe(untagged).startswith("/ untagged, looks like COSE_Sign1 or COSE_Mac0 /")
    assert cbor.from_diag(describe(untagged)) == untagged
    assert describe(cbor.dumps({"a": 1})) == cbor.to_diag(cbor.dumps({"a": 1}))
    with pytest.raises(DecodeError):
        describe(b"\xff")


def test_unknown_alg_and_labels_stay_numbers() -> None:
    data = cbor.dumps(cbor.tag(18, [cbor.dumps({1: -999, 77: "x"}), {"t": 1}, None, b"s"]))
    text = describe(data)
    assert "/ alg / 1: -999," in text and '77: "x"' in text and '"t": 1' in text
    assert cbor.from_diag(text) == data


def test_cwt_tag_and_duplicate_keys() -> None:
    key = CoseKey.generate("ES256", kid="x")
    inner = sign1(cbor.dumps({1: "issuer"}), key)
    cwt = bytes([0xD8, 61]) + inner  # 61(18([...]))
    text = describe(cwt)
    assert text.startswith("61(  / CWT /\n  18(  / COSE_Sign1 /")
    assert cbor.from_diag(text) == cwt
    dup = bytes.fromhex("a201010102")  # {1: 1, 1: 2}
    assert describe(dup) == cbor.to_diag(dup)
