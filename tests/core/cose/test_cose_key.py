"""COSE_Key (RFC 9052 §7, RFC 9053 §7), PEM/DER/JWK import and export, algorithm/key matching."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from iotsec.core import cbor
from iotsec.core.cose import Algorithm, CoseKey, Curve, KeyOp, KeyType, alg_from_name
from iotsec.core.cose.algorithms import coerce_alg
from iotsec.errors import DecodeError, IotSecError, UnsupportedError, ValidationError

# RFC 8152 / cose-wg Examples key "11" (P-256), as JWK
P256_JWK = {
    "kty": "EC",
    "kid": "11",
    "crv": "P-256",
    "x": "usWxHK2PmfnHKwXPS54m0kTcGJ90UiglWiGahtagnv8",
    "y": "IBOL-C3BttVivg-lSreASjpkttcsz-1rb7btKLv8EX4",
    "d": "V8kgd2ZBRuh2dgyVINBUqpPDr7BOMGcF22CQMIUHtNM",
}
# RFC 8032 §7.1 TEST 1 key (Ed25519)
ED25519_D = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
ED25519_X = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")


def test_registry_code_points_match_iana() -> None:
    # IANA COSE Algorithms registry values, written out independently of the enum
    expected = {
        "ES256": -7,
        "ES384": -35,
        "ES512": -36,
        "EdDSA": -8,
        "ESP256": -9,
        "ESP384": -51,
        "ESP512": -52,
        "Ed25519": -19,
        "Ed448": -53,
        "HMAC 256/64": 4,
        "HMAC 256/256": 5,
        "HMAC 384/384": 6,
        "HMAC 512/512": 7,
        "A128GCM": 1,
        "A192GCM": 2,
        "A256GCM": 3,
        "ChaCha20/Poly1305": 24,
        "A128KW": -3,
        "A192KW": -4,
        "A256KW": -5,
        "direct": -6,
        "ECDH-ES + HKDF-256": -25,
        "ECDH-ES + HKDF-512": -26,
        "ECDH-ES + A128KW": -29,
        "ECDH-ES + A192KW": -30,
        "ECDH-ES + A256KW": -31,
        "direct+HKDF-SHA-256": -10,
        "A128CTR": -65534,
        "A192CTR": -65533,
        "A256CTR": -65532,
        "A128CBC": -65531,
        "A192CBC": -65530,
        "A256CBC": -65529,
        "SHA-256": -16,
    }
    for name, value in expected.items():
        assert alg_from_name(name) == value, name
        assert Algorithm(value).iana_name == name
    assert alg_from_name("HS256") == 5 and alg_from_name("-7") == Algorithm.ES256
    assert coerce_alg(-999) == -999 and not isinstance(coerce_alg(-999), Algorithm)
    with pytest.raises(UnsupportedError):
        alg_from_name("NOPE")
    assert (KeyType.OKP, KeyType.EC2, KeyType.SYMMETRIC) == (1, 2, 4)
    assert (Curve.P_256, Curve.P_521, Curve.X25519, Curve.ED25519, Curve.ED448) == (1, 3, 4, 6, 7)


def test_jwk_to_cose_key_known_encoding() -> None:
    key = CoseKey.from_jwk(P256_JWK)
    assert key.kty == KeyType.EC2 and key.crv == Curve.P_256 and key.kid == b"11" and key.has_private
    m = cbor.loads(key.encode(private=False))
    assert m[1] == 2 and m[-1] == 1 and m[2] == b"11"
    assert m[-2].hex() == "bac5b11cad8f99f9c72b05cf4b9e26d244dc189f745228255a219a86d6a09eff"
    assert m[-3].hex() == "20138bf82dc1b6d562be0fa54ab7804a3a64b6d72ccfed6b6fb6ed28bbfc117e"
    assert -4 not in m
    assert cbor.loads(key.encode())[-4].hex() == (
        "57c92077664146e876760c9520d054aa93c3afb04e306705db6090308507b4d3"
    )
    assert CoseKey.from_cose(key.encode()) == key
    assert CoseKey.from_jwk(json.dumps(key.to_jwk())) == key
    assert key.to_jwk() == P256_JWK
    pub = key.public()
    assert not pub.has_private and pub.kid == b"11" and "d" not in pub.to_jwk()


def test_okp_raw_keys_rfc8032() -> None:
    key = CoseKey.from_cose({1: 1, -1: 6, -4: ED25519_D, -2: ED25519_X})
    raw = key.public_key.public_bytes_raw()  # type: ignore[union-attr]
    assert raw == ED25519_X
    assert CoseKey.from_cose({1: 1, -1: 6, -4: ED25519_D}).to_cose_map()[-2] == ED25519_X
    with pytest.raises(ValidationError, match="does not match"):
        CoseKey.from_cose({1: 1, -1: 6, -4: ED25519_D, -2: bytes(32)})


@pytest.mark.parametrize(
    "alg", ["ES256", "ES384", "ES512", "ESP256", "EdDSA", "Ed25519", "Ed448", "ECDH-ES + HKDF-256"]
)
def test_pem_der_roundtrip_and_openssl_reads_it(alg: str, tmp_path: Path) -> None:
    key = CoseKey.generate(alg, kid="k1")
    assert CoseKey.from_pem(key.to_pem()).kid is None  # PEM carries no kid
    back = CoseKey.from_pem(key.to_pem(), kid="k1", alg=key.alg)  # type: ignore[arg-type]
    assert back == key
    assert CoseKey.from_der(key.to_der()).to_cose_map(private=True)[-4] == key.to_cose_map()[-4]
    assert not CoseKey.from_pem(key.to_pem(private=False)).has_private
    enc = key.to_pem(password=b"secret pw")
    assert b"ENCRYPTED" in enc
    assert CoseKey.from_pem(enc, password=b"secret pw").to_cose_map()[-4] == key.to_cose_map()[-4]
    with pytest.raises(DecodeError):
        CoseKey.from_pem(enc, password=b"wrong")
    with pytest.raises(DecodeError):
        CoseKey.from_pem(enc)
    # an independent implementation (openssl) parses our PKCS#8 and agrees on the public key
    p = tmp_path / "k.pem"
    p.write_bytes(key.to_pem())
    out = subprocess.run(["openssl", "pkey", "-in", str(p), "-pubout"], capture_output=True, check=True)
    assert out.stdout == key.to_pem(private=False)


def test_load_sniffs_formats() -> None:
    key = CoseKey.from_jwk(P256_JWK)
    for blob in (key.to_pem(), key.to_der(), json.dumps(P256_JWK).encode(), key.encode()):
        assert CoseKey.load(blob).to_cose_map()[-4] == key.to_cose_map()[-4]


def test_compressed_point_y_as_bool() -> None:
    key = CoseKey.from_jwk(P256_JWK).public()
    m = key.to_cose_map(private=False)
    y_odd = m[-3][-1] & 1 == 1
    comp = {1: 2, -1: 1, -2: m[-2], -3: y_odd}
    assert CoseKey.from_cose(comp).to_cose_map(private=False)[-3] == m[-3]


def test_symmetric_and_jwk_oct() -> None:
    k = bytes(range(32))
    key = CoseKey.symmetric(k, alg=Algorithm.HMAC_256_256, kid="s")
    assert key.to_jwk() == {
        "kty": "oct",
        "k": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
        "kid": "s",
        "alg": "HS256",
    }
    assert CoseKey.from_jwk(key.to_jwk()).k == k
    assert cbor.loads(key.encode()) == {1: 4, 2: b"s", 3: 5, -1: k}
    with pytest.raises(ValidationError):
        CoseKey.symmetric(bytes(16), alg=Algorithm.A256GCM)
    with pytest.raises(ValidationError):
        key.public()
    with pytest.raises(UnsupportedError):
        key.to_pem()
    assert "0001020304" not in repr(key)


def test_check_alg_key_type_curve_alg_and_ops() -> None:
    p256 = CoseKey.from_jwk(P256_JWK)
    p256.check_alg(Algorithm.ES256)
    p256.check_alg(Algorithm.ESP256)
    p256.check_alg(Algorithm.ES512)  # RFC 9053 §2.1: polymorphic ES512 on P-256 is only discouraged
    with pytest.raises(ValidationError, match="curve"):
        p256.check_alg(Algorithm.ESP512)  # RFC 9864: fully specified -> P-521 only
    with pytest.raises(ValidationError):
        p256.check_alg(Algorithm.EDDSA)
    with pytest.raises(ValidationError):
        p256.check_alg(Algorithm.HMAC_256_256)
    with pytest.raises(UnsupportedError):
        p256.check_alg(-999)
    ed = CoseKey.from_cryptography(ed25519.Ed25519PrivateKey.generate())
    ed.check_alg(Algorithm.EDDSA)
    ed.check_alg(Algorithm.ED25519)
    with pytest.raises(ValidationError):
        ed.check_alg(Algorithm.ED448)
    restricted = CoseKey.from_cose({**p256.to_cose_map(), 3: -7, 4: [2]})
    restricted.check_alg(Algorithm.ES256, KeyOp.VERIFY)
    with pytest.raises(ValidationError, match="restricted"):
        restricted.check_alg(Algorithm.ESP256)
    with pytest.raises(ValidationError, match="key_ops"):
        restricted.check_alg(Algorithm.ES256, KeyOp.SIGN)


BAD_COSE_KEYS = [
    {},
    {1: "nope"},
    {1: 99},
    {1: 2, -1: 1, -2: b"\x01" * 32, -3: b"\x02" * 32},  # not on the curve
    {1: 2, -1: 1, -2: b"\x01" * 31, -3: b"\x02" * 32},  # leading zeros not preserved
    {1: 2, -1: 6, -2: b"\x01" * 32},  # OKP curve on EC2
    {1: 2, -1: 1},
    {1: 1, -1: 1, -2: bytes(32)},  # EC curve on OKP
    {1: 1, -1: 6, -2: bytes(31)},
    {1: 4},
    {1: 4, -1: "text"},
    {1: 4, -1: b"k", 2: "kid-not-bytes"},
    {1: 4, -1: b"k", 4: "sign"},
    {1: 2, -1: True, -2: bytes(32), -3: bytes(32)},
]


@pytest.mark.parametrize("m", BAD_COSE_KEYS)
def test_bad_cose_keys_raise_typed_errors(m: dict[int, object]) -> None:
    with pytest.raises(IotSecError):
        CoseKey.from_cose(cbor.dumps(m))


GARBAGE = [
    b"",
    b"\xa1",
    b"[]",
    b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    b'{"kty": "EC", "crv": "P-256", "x": 5}',
    b'{"kty": "RSA"}',
    b"\x30\x03\x02\x01\x00",
    b'{"kty": "oct", "k": "***"}',
]


@pytest.mark.parametrize("blob", GARBAGE)
def test_load_rejects_garbage(blob: bytes) -> None:
    with pytest.raises(IotSecError):
        CoseKey.load(blob)


def test_from_cryptography_rejects_other_curves() -> None:
    with pytest.raises(UnsupportedError):
        CoseKey.from_cryptography(ec.generate_private_key(ec.SECP256K1()))


def test_thumbprint_rfc9679_example() -> None:
    """RFC 9679 §6: the example EC2 P-256 key and its SHA-256 thumbprint."""
    key = CoseKey.from_cose(
        {
            1: 2,
            -1: 1,
            -2: bytes.fromhex("65eda5a12577c2bae829437fe338701a10aaa375e1bb5b5de108de439c08551d"),
            -3: bytes.fromhex("1e52ed75701163f7f9e40ddf9f341b3dc9ba860af7e0ca7ca7e9eecd0084d19c"),
            2: b"meriadoc.brandybuck@buckland.example",
            3: -7,
        }
    )
    expected = "496bd8afadf307e5b08c64b0421bf9dc01528a344a43bda88fadd1669da253ec"
    assert key.thumbprint().hex() == expected
    assert (
        key.thumbprint_uri()
        == "urn:ietf:params:oauth:ckt:sha-256:SWvYr63zB-WwjGSwQhv53AFSijRKQ72oj63RZp2iU-w"
    )
    # kid/alg and the private part do not change it
    priv = CoseKey.generate("Ed25519")
    assert priv.thumbprint() == priv.public().thumbprint()
    with pytest.raises(UnsupportedError):
        priv.thumbprint("nope")
