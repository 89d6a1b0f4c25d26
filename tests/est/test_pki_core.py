"""PKI core: profiles, keys at rest, CSR checks (CSRs made by openssl), MUD URL extension, CRLs."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from est_support import run
from hypothesis import given, settings
from hypothesis import strategies as st

from iotsec.core import pki
from iotsec.errors import ConfigError, DecodeError, PolicyError, ValidationError, VerifyError

NOW = dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.UTC)


def ca(kind: pki.KeyType = pki.KeyType.P256) -> tuple[pki.Issuer, pki.Issuer]:
    rk = pki.generate_key(kind)
    root = pki.Issuer(pki.root_ca(rk, pki.name("R", organization="o"), serial=11, now=NOW), rk)
    ik = pki.generate_key(kind)
    return root, pki.Issuer(pki.issuing_ca(ik.public_key(), pki.name("I"), root, serial=12, now=NOW), ik)


@pytest.mark.parametrize("kind", [pki.KeyType.P256, pki.KeyType.P384, pki.KeyType.ED25519])
def test_ca_profiles_verified_by_openssl(tmp_path: Path, kind: pki.KeyType) -> None:
    root, issuing = ca(kind)
    dev = uuid.uuid4()
    leaf_key = pki.generate_key()
    leaf = pki.device_cert(leaf_key.public_key(), issuing, device=dev, model="cam", serial=13, now=NOW)
    (tmp_path / "r.pem").write_bytes(pki.certs_to_pem([root.cert]))
    (tmp_path / "i.pem").write_bytes(pki.certs_to_pem([issuing.cert]))
    (tmp_path / "l.pem").write_bytes(pki.certs_to_pem([leaf]))
    at = str(int(NOW.timestamp()) + 60)
    run(
        "openssl",
        "verify",
        "-attime",
        at,
        "-CAfile",
        tmp_path / "r.pem",
        "-untrusted",
        tmp_path / "i.pem",
        tmp_path / "l.pem",
    )
    text = run("openssl", "x509", "-in", tmp_path / "i.pem", "-noout", "-text").stdout.decode()
    assert "CA:TRUE, pathlen:0" in text and "Certificate Sign, CRL Sign" in text
    text = run("openssl", "x509", "-in", tmp_path / "l.pem", "-noout", "-text").stdout.decode()
    assert "CA:FALSE" in text and f"serialNumber = {dev}" in text.replace("serialNumber=", "serialNumber = ")
    assert pki.device_uuid(leaf) == dev
    assert pki.verify_chain(leaf, [issuing.cert], [root.cert], now=NOW)[-1] == root.cert
    with pytest.raises(VerifyError):
        pki.verify_chain(leaf, [], [root.cert], now=NOW)
    with pytest.raises(VerifyError):
        pki.verify_chain(leaf, [issuing.cert], [root.cert], now=NOW + dt.timedelta(days=4000))


def test_server_and_operator_profiles(tmp_path: Path) -> None:
    _, issuing = ca()
    k = pki.generate_key()
    srv = pki.server_cert(
        k.public_key(), issuing, dns_names=["est.example"], ips=["127.0.0.1", "::1"], serial=5, now=NOW
    )
    (tmp_path / "s.pem").write_bytes(pki.certs_to_pem([srv]))
    text = run(
        "openssl", "x509", "-in", tmp_path / "s.pem", "-noout", "-ext", "subjectAltName,extendedKeyUsage"
    ).stdout.decode()
    assert (
        "DNS:est.example" in text
        and "IP Address:127.0.0.1" in text
        and "TLS Web Server Authentication" in text
    )
    op = pki.operator_cert(k.public_key(), issuing, operator="alice", serial=6, now=NOW)
    assert (
        op.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value[0].dotted_string
        == "1.3.6.1.5.5.7.3.2"
    )
    with pytest.raises(ValidationError):
        pki.server_cert(k.public_key(), issuing, serial=7, now=NOW)
    with pytest.raises(ValidationError):
        pki.server_cert(k.public_key(), issuing, ips=["300.1.1.1"], serial=7, now=NOW)
    with pytest.raises(ValidationError):
        pki.server_cert(k.public_key(), issuing, dns_names=["x"], serial=0, now=NOW)


def test_mud_url_extension_against_openssl_encoding(tmp_path: Path) -> None:
    url = "https://mud.example.com/.well-known/mud/v1/lightbulb2000"
    # DER made by openssl (not by the code under test)
    der_file = tmp_path / "mud.der"
    run("openssl", "asn1parse", "-genstr", f"IA5STRING:{url}", "-out", der_file, "-noout")
    assert pki.encode_mud_url(url) == der_file.read_bytes()
    assert pki.decode_mud_url(der_file.read_bytes()) == url
    _, issuing = ca()
    cert = pki.device_cert(
        pki.generate_key().public_key(), issuing, device=uuid.uuid4(), serial=3, now=NOW, mud_url=url
    )
    assert pki.mud_url_of(cert) == url
    ext = cert.extensions.get_extension_for_oid(pki.MUD_URL_OID)
    assert not ext.critical  # RFC 8520 §10: non-critical
    with pytest.raises(ValidationError):
        pki.encode_mud_url("http://insecure.example/mud")
    with pytest.raises(ValidationError):
        pki.encode_mud_url("https://ünicode.example/")
    with pytest.raises(DecodeError):
        pki.decode_mud_url(b"\x16\x05abc")
    with pytest.raises(ValidationError):
        pki.decode_mud_url(pki.encode_mud_url("https://a.example/")[:0] + b"\x16\x08ftp://x/")


def test_private_keys_encrypted_at_rest_readable_by_openssl(tmp_path: Path) -> None:
    key = pki.generate_key()
    pem = pki.key_to_pem(key, b"pass phrase")
    assert b"ENCRYPTED PRIVATE KEY" in pem
    (tmp_path / "k.pem").write_bytes(pem)
    r = run("openssl", "pkey", "-in", tmp_path / "k.pem", "-passin", "pass:wrong", "-noout", check=False)
    assert r.returncode != 0
    r = run("openssl", "pkey", "-in", tmp_path / "k.pem", "-passin", "pass:pass phrase", "-pubout")
    assert r.stdout == key.public_key().public_bytes(
        Encoding.PEM, pki.keys.serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(DecodeError):
        pki.load_private_key(pem, b"wrong")
    assert pki.load_private_key(pem, b"pass phrase").public_key() == key.public_key()
    with pytest.raises(ConfigError):
        pki.key_to_pem(key, b"")


def openssl_csr(tmp: Path, subj: str | None, *args: str) -> bytes:
    out = tmp / "r.der"
    run(
        "openssl",
        "req",
        "-new",
        "-nodes",
        "-keyout",
        tmp / "k.pem",
        *(["-subj", subj] if subj else []),
        "-outform",
        "DER",
        "-out",
        out,
        *args,
    )
    return out.read_bytes()


def test_csr_checks_on_openssl_requests(tmp_path: Path) -> None:
    dev = uuid.uuid4()
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256")
    good = pki.parse_csr(openssl_csr(tmp_path, f"/serialNumber={dev}", *ec))
    assert pki.check_csr(good, identity=dev).identity == dev
    assert pki.csr_identity(good) == dev
    # SAN naming the device is fine; a DNS name is not
    san = pki.parse_csr(
        openssl_csr(tmp_path, f"/CN={dev}", *ec, "-addext", f"subjectAltName=URI:urn:uuid:{dev}")
    )
    pki.check_csr(san, identity=dev)
    dns = pki.parse_csr(
        openssl_csr(tmp_path, f"/CN={dev}", *ec, "-addext", "subjectAltName=DNS:evil.example")
    )
    with pytest.raises(PolicyError, match="subjectAltName"):
        pki.check_csr(dns, identity=dev)
    with pytest.raises(PolicyError) as err:
        pki.check_csr(good, identity=uuid.uuid4())
    assert err.value.reason == "est.identity.mismatch"
    nobody = pki.parse_csr(openssl_csr(tmp_path, "/O=nobody", *ec))
    with pytest.raises(ValidationError):
        pki.check_csr(nobody, identity=dev)
    rsa1024 = pki.parse_csr(openssl_csr(tmp_path, f"/serialNumber={dev}", "-newkey", "rsa:1024"))
    with pytest.raises(PolicyError) as err:
        pki.check_csr(rsa1024, identity=dev)
    assert err.value.reason == "pki.key.weak"
    rsa2048 = pki.parse_csr(openssl_csr(tmp_path, f"/serialNumber={dev}", "-newkey", "rsa:2048"))
    pki.check_csr(rsa2048, identity=dev)
    ed = pki.parse_csr(openssl_csr(tmp_path, f"/serialNumber={dev}", "-newkey", "ed25519"))
    pki.check_csr(ed, identity=dev)
    secp256k1 = pki.parse_csr(
        openssl_csr(
            tmp_path, f"/serialNumber={dev}", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp256k1"
        )
    )
    with pytest.raises(PolicyError):
        pki.check_csr(secp256k1, identity=dev)
    der = bytearray(good.public_bytes(Encoding.DER))
    der[-3] ^= 0x40
    with pytest.raises((VerifyError, DecodeError)):
        pki.check_csr(pki.parse_csr(bytes(der)), identity=dev)
    with pytest.raises(DecodeError):
        pki.parse_csr(b"\x30\x00")
    with pytest.raises(DecodeError):
        pki.parse_csr(b"\x30" * 20000)


def test_challenge_password_made_by_openssl(tmp_path: Path) -> None:
    dev = uuid.uuid4()
    conf = tmp_path / "req.cnf"
    conf.write_text(
        "[req]\ndistinguished_name=dn\nattributes=attrs\nprompt=no\n[dn]\nserialNumber="
        f"{dev}\n[attrs]\nchallengePassword=open sesame 42\n"
    )
    der = openssl_csr(
        tmp_path,
        None,  # subject and attributes from the config (-subj would drop the attributes)
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-config",
        str(conf),
    )
    csr = pki.parse_csr(der)
    assert pki.challenge_password(csr) == "open sesame 42"
    pki.check_csr(csr, identity=dev, expected_challenge="open sesame 42")
    with pytest.raises(PolicyError) as err:
        pki.check_csr(csr, identity=dev, expected_challenge="open sesame 43")
    assert err.value.reason == "est.csr.challenge"
    # our own builder's challengePassword is read back by openssl
    built = pki.build_csr(pki.generate_key(), dev, challenge="xyzzy")
    (tmp_path / "b.pem").write_bytes(built.public_bytes(Encoding.PEM))
    text = run("openssl", "req", "-in", tmp_path / "b.pem", "-noout", "-text", "-verify").stdout.decode()
    assert "challengePassword" in text and "xyzzy" in text


def test_crl_read_by_openssl(tmp_path: Path) -> None:
    root, issuing = ca()
    crl = pki.build_crl(
        issuing,
        [pki.Revoked(0xABCDEF, NOW, x509.ReasonFlags.key_compromise), pki.Revoked(77, NOW)],
        number=3,
        now=NOW,
    )
    (tmp_path / "c.pem").write_bytes(crl.public_bytes(Encoding.PEM))
    (tmp_path / "i.pem").write_bytes(pki.certs_to_pem([issuing.cert]))
    r = run("openssl", "crl", "-in", tmp_path / "c.pem", "-CAfile", tmp_path / "i.pem", "-noout", "-text")
    text = r.stdout.decode() + r.stderr.decode()
    assert (
        "verify OK" in text and "ABCDEF" in text and "Key Compromise" in text and "X509v3 CRL Number" in text
    )
    k = pki.generate_key()
    leaf = pki.device_cert(k.public_key(), issuing, device=uuid.uuid4(), serial=0xABCDEF, now=NOW)
    with pytest.raises(VerifyError, match="revoked"):
        pki.check_not_revoked(leaf, pki.load_crl(crl.public_bytes(Encoding.DER)), issuing.cert)
    other = pki.device_cert(k.public_key(), issuing, device=uuid.uuid4(), serial=5, now=NOW)
    pki.check_not_revoked(other, crl, issuing.cert)
    with pytest.raises(VerifyError):
        pki.check_not_revoked(other, crl, root.cert)
    with pytest.raises(DecodeError):
        pki.load_crl(b"garbage")


def test_key_policy_and_types() -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    with pytest.raises(PolicyError):
        pki.check_public_key(object())
    small_e = rsa.RSAPublicNumbers(3, rsa.generate_private_key(65537, 2048).public_key().public_numbers().n)
    with pytest.raises(PolicyError, match="exponent"):
        pki.check_public_key(small_e.public_key())
    huge = rsa.RSAPublicNumbers(65537, (1 << 9000) + 24691).public_key()  # an odd 9001-bit modulus
    with pytest.raises(PolicyError) as err:
        pki.check_public_key(huge)
    assert err.value.reason == "pki.key.size"
    with pytest.raises(Exception, match="unknown key type"):
        pki.generate_key("dsa")
    assert pki.signature_hash(pki.generate_key(pki.KeyType.P384)).name == "sha384"  # type: ignore[union-attr]
    assert pki.signature_hash(pki.generate_key(pki.KeyType.ED25519)) is None
    assert pki.parse_uuid("not-a-uuid") is None
    u = uuid.UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
    assert pki.parse_uuid(str(u).upper()) == u  # RFC 9562 §4: case-insensitive on input
    assert pki.parse_uuid("{" + str(u)[1:-1] + "}") is None  # only the 8-4-4-4-12 form
    assert pki.parse_uuid(u.hex) is None


_KEY = pki.generate_key()
_ME = uuid.UUID("7d444840-9dc0-11d1-b245-5ffdce74fad2")
_OTHER = uuid.UUID("0f7b7a1e-3f0c-4b8e-9a55-6c1e1e2b3c4d")


@settings(max_examples=80, deadline=None)
@given(
    subject=st.lists(
        st.tuples(
            st.sampled_from(["serialNumber", "CN", "O"]),
            st.sampled_from([str(_ME), str(_ME).upper(), str(_OTHER), "device", "x"]),
        ),
        max_size=3,
    ),
    sans=st.lists(
        st.sampled_from([f"urn:uuid:{_ME}", f"urn:uuid:{_OTHER}", "dns", "https://evil.example/"]), max_size=2
    ),
)
def test_csr_identity_rule(subject: list[tuple[str, str]], sans: list[str]) -> None:
    """Accepted iff every serialNumber/CN and every SAN names this device, and at least one does."""
    oids = {"serialNumber": NameOID.SERIAL_NUMBER, "CN": NameOID.COMMON_NAME, "O": NameOID.ORGANIZATION_NAME}
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(oids[k], v) for k, v in subject])
    )
    general: list[x509.GeneralName] = [
        x509.DNSName("evil.example") if s == "dns" else x509.UniformResourceIdentifier(s) for s in sans
    ]
    if general:
        builder = builder.add_extension(x509.SubjectAlternativeName(general), critical=False)
    csr = builder.sign(_KEY, pki.signature_hash(_KEY))  # type: ignore[arg-type]
    names = [v.lower() for k, v in subject if k != "O"]
    expected = (
        bool(names or sans)
        and all(n == str(_ME) for n in names)
        and all(s == f"urn:uuid:{_ME}" for s in sans)
    )
    try:
        pki.check_csr(csr, identity=_ME)
        accepted = True
    except (PolicyError, ValidationError):
        accepted = False
    assert accepted == expected
