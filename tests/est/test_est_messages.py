"""EST message formats against openssl and the RFC's own example; hypothesis for the decoders."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from est_support import run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iotsec.core import est, pki
from iotsec.errors import DecodeError, IotSecError, ValidationError

NOW = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)
# RFC 7030 §4.5.2 example CsrAttrs, as printed again (with its hex) in RFC 8951 §4
RFC_CSRATTRS = (
    "MEEGCSqGSIb3DQEJBzASBgcqhkjOPQIBMQcGBSuBBAAiMBYGCSqGSIb3DQEJDjEJ\nBgcrBgEBAQEWBggqhkjOPQQDAw==\n"
)
RFC_CSRATTRS_HEX = (
    "30 41 06 09 2a 86 48 86 f7 0d 01 09 07 30 12 06 07 2a 86 48 ce 3d"
    "02 01 31 07 06 05 2b 81 04 00 22 30 16 06 09 2a 86 48 86 f7 0d 01"
    "09 0e 31 09 06 07 2b 06 01 01 01 01 16 06 08 2a 86 48 ce 3d 04 03"
    "03"
)


def chain() -> list:
    rk = pki.generate_key()
    root = pki.Issuer(pki.root_ca(rk, pki.name("R"), serial=1, now=NOW), rk)
    ik = pki.generate_key()
    iss = pki.issuing_ca(ik.public_key(), pki.name("I"), root, serial=2, now=NOW)
    return [root.cert, iss]


def test_rfc_csrattrs_example() -> None:
    der = est.b64_decode(RFC_CSRATTRS.encode())
    assert der == bytes.fromhex(RFC_CSRATTRS_HEX.replace(" ", ""))
    attrs = est.decode_csrattrs(der)
    assert [a.oid for a in attrs] == [
        "1.2.840.113549.1.9.7",  # challengePassword
        "1.2.840.10045.2.1",  # id-ecPublicKey {secp384r1}
        "1.2.840.113549.1.9.14",  # extensionRequest {macAddress}
        "1.2.840.10045.4.3.3",  # ecdsa-with-SHA384
    ]
    assert attrs[1].values == (est.oid_der("1.3.132.0.34"),)
    assert attrs[2].values == (est.oid_der("1.3.6.1.1.1.1.22"),)
    assert est.encode_csrattrs(attrs) == der


def test_certs_only_both_ways_with_openssl(tmp_path: Path) -> None:
    certs = chain()
    (tmp_path / "c.pem").write_bytes(pki.certs_to_pem(certs))
    # openssl builds a certs-only PKCS#7; we decode it
    run(
        "openssl",
        "crl2pkcs7",
        "-nocrl",
        "-certfile",
        tmp_path / "c.pem",
        "-outform",
        "DER",
        "-out",
        tmp_path / "o.p7",
    )
    got = est.decode_certs_only((tmp_path / "o.p7").read_bytes())
    assert sorted(c.serial_number for c in got) == [1, 2]
    # we build one; openssl prints it
    (tmp_path / "i.p7").write_bytes(est.encode_certs_only(certs))
    out = run("openssl", "pkcs7", "-inform", "DER", "-in", tmp_path / "i.p7", "-print_certs").stdout.decode()
    assert "subject=CN = R" in out and "subject=CN = I" in out
    with pytest.raises(ValidationError):
        est.encode_certs_only([])


def test_signed_pkcs7_with_signers_refused(tmp_path: Path) -> None:
    certs = chain()
    key = pki.generate_key()
    (tmp_path / "k.pem").write_bytes(pki.key_to_pem(key, None))
    leaf = pki.device_cert(
        key.public_key(), pki.Issuer(certs[0], key), device=uuid.uuid4(), serial=3, now=NOW
    )
    (tmp_path / "l.pem").write_bytes(pki.certs_to_pem([leaf]))
    (tmp_path / "m.txt").write_bytes(b"hello")
    run(
        "openssl",
        "smime",
        "-sign",
        "-in",
        tmp_path / "m.txt",
        "-signer",
        tmp_path / "l.pem",
        "-inkey",
        tmp_path / "k.pem",
        "-outform",
        "DER",
        "-out",
        tmp_path / "s.p7",
        "-nodetach",
    )
    with pytest.raises(DecodeError) as err:
        est.decode_certs_only((tmp_path / "s.p7").read_bytes())
    assert err.value.reason == "est.pkcs7.signers"


def test_serverkeygen_multipart_roundtrip() -> None:
    key = pki.generate_key()
    certs = chain()
    ctype, body = est.encode_serverkeygen(pki.key_to_pkcs8_der(key), certs[:1], boundary="est-abc123")
    assert ctype == "multipart/mixed; boundary=est-abc123"
    assert b"Content-Type: application/pkcs8\r\n" in body and body.endswith(b"--est-abc123--\r\n")
    k, c = est.decode_serverkeygen(ctype, body)
    assert pki.load_private_key(k).public_key() == key.public_key()
    assert c == certs[:1]
    with pytest.raises(DecodeError):
        est.decode_serverkeygen("text/plain", body)
    with pytest.raises(DecodeError):
        est.decode_serverkeygen(ctype, body.split(b"--est-abc123\r\nContent-Type: application/pkcs7")[0])
    with pytest.raises(ValidationError):
        est.encode_serverkeygen(b"", certs, boundary="bad boundary\r\n")


def test_paths_and_labels() -> None:
    assert est.est_path("cacerts") == "/.well-known/est/cacerts"
    assert est.est_path("simpleenroll", "factory") == "/.well-known/est/factory/simpleenroll"
    for bad in ("", "../x", "a/b", "cacerts", "x" * 65, "é"):
        with pytest.raises(ValidationError):
            est.check_label(bad)
    with pytest.raises(ValidationError):
        est.est_path("nope")


def test_b64_bodies() -> None:
    assert est.b64_decode(b"AAEC\r\nAw==\n") == b"\x00\x01\x02\x03"
    assert est.b64_decode(est.b64_encode(bytes(range(256)))) == bytes(range(256))
    assert all(len(line) <= 64 for line in est.b64_encode(bytes(300)).splitlines())
    for bad in (b"", b"   \n", b"AA=A", b"A", b"****"):
        with pytest.raises(DecodeError):
            est.b64_decode(bad)
    with pytest.raises(DecodeError):
        est.b64_decode(b"A" * (est.MAX_BODY + 1))


# ---- property tests: decoders meet arbitrary bytes with a typed error only -------------------------

DECODERS = [
    est.decode_certs_only,
    est.decode_csrattrs,
    est.b64_decode,
    pki.parse_csr,
    pki.load_cert,
    pki.load_crl,
    pki.decode_mud_url,
]


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=600), which=st.integers(0, len(DECODERS) - 1))
def test_decoders_raise_only_typed_errors(data: bytes, which: int) -> None:
    with contextlib.suppress(IotSecError):
        DECODERS[which](data)


def _der_prefixes() -> st.SearchStrategy[bytes]:
    certs = chain()
    p7 = est.encode_certs_only(certs)
    csr = pki.build_csr(pki.generate_key(), uuid.uuid4(), challenge="x").public_bytes(Encoding.DER)
    attrs = base64.b64decode(RFC_CSRATTRS)
    return st.sampled_from([p7, csr, attrs])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=_der_prefixes(), cut=st.integers(0, 2000), flip=st.integers(0, 2000), bit=st.integers(0, 7))
def test_mutated_valid_messages(base: bytes, cut: int, flip: int, bit: int) -> None:
    """Truncated and bit-flipped real messages: decoded or refused with a typed error, never a crash."""
    data = bytearray(base[: max(1, cut % (len(base) + 1))])
    if data:
        data[flip % len(data)] ^= 1 << bit
    for decoder in (est.decode_certs_only, est.decode_csrattrs, pki.parse_csr):
        try:
            out = decoder(bytes(data))
        except IotSecError:
            continue
        if decoder is pki.parse_csr:
            with contextlib.suppress(IotSecError):
                pki.check_csr(out, identity=uuid.uuid4())  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(
    ctype=st.sampled_from(["multipart/mixed; boundary=b", "multipart/mixed", 'multipart/mixed; boundary=""']),
    body=st.binary(max_size=400) | st.text(max_size=400).map(str.encode),
)
def test_serverkeygen_decoder_garbage(ctype: str, body: bytes) -> None:
    with contextlib.suppress(IotSecError):
        est.decode_serverkeygen(ctype, b"--b\r\nContent-Type: application/pkcs8\r\n\r\n" + body)
