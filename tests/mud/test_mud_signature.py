"""RFC 8520 §13 signatures: iotsec <-> openssl cms both ways, and every refusal."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mud_pki import NOW, issue, manufacturer, name, openssl_cms_sign, openssl_cms_verify

from iotsec.core.mud.signature import sign_mud, verify_mud_signature
from iotsec.errors import DecodeError, IotSecError, PolicyError, ValidationError, VerifyError

VECTOR = Path(__file__).resolve().parent.parent / "vectors" / "rfc8520" / "rfc8520-section9.json"
OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl not installed")

CA_A, SIGNER_A = manufacturer("Lighting Example")
CA_B, SIGNER_B = manufacturer("Other Maker")
CONTENT = VECTOR.read_bytes()
SIG = sign_mud(CONTENT, SIGNER_A.key, SIGNER_A.cert, now=NOW)


def test_mud_sign_and_verify_roundtrip() -> None:
    signer = verify_mud_signature(CONTENT, SIG, trust_anchors=[CA_A.cert], now=NOW)
    assert signer == SIGNER_A.cert
    verify_mud_signature(
        CONTENT, SIG, trust_anchors=[CA_A.cert], now=NOW, expected_signer=SIGNER_A.cert.subject
    )


def test_mud_rsa_signer_and_intermediate_chain() -> None:
    root = issue(name("Root", "Lighting Example"), None, ca=True)
    inter = issue(name("Intermediate", "Lighting Example"), root, ca=True)
    leaf = issue(name("Signer", "Lighting Example"), inter, ca=False, rsa_key=True)
    sig = sign_mud(CONTENT, leaf.key, leaf.cert, now=NOW, chain=[inter.cert])
    assert verify_mud_signature(CONTENT, sig, trust_anchors=[root.cert], now=NOW) == leaf.cert
    # without the intermediate in the message the chain cannot be built
    sig2 = sign_mud(CONTENT, leaf.key, leaf.cert, now=NOW)
    with pytest.raises(PolicyError, match="trust anchor"):
        verify_mud_signature(CONTENT, sig2, trust_anchors=[root.cert], now=NOW)
    assert verify_mud_signature(CONTENT, sig2, trust_anchors=[root.cert], now=NOW, intermediates=[inter.cert])


def test_mud_tampered_file_is_refused() -> None:
    with pytest.raises(VerifyError) as e:
        verify_mud_signature(CONTENT.replace(b"443", b"444"), SIG, trust_anchors=[CA_A.cert], now=NOW)
    assert e.value.reason == "mud.signature.digest-mismatch"


def test_mud_bad_signature_value_is_refused() -> None:
    # flip one bit inside the ECDSA signature value (the last bytes of the DER)
    bad = SIG[:-3] + bytes([SIG[-3] ^ 0x01]) + SIG[-2:]
    with pytest.raises((VerifyError, DecodeError)):
        verify_mud_signature(CONTENT, bad, trust_anchors=[CA_A.cert], now=NOW)


def test_mud_signature_by_another_manufacturer_is_refused() -> None:
    other = sign_mud(CONTENT, SIGNER_B.key, SIGNER_B.cert, now=NOW)
    with pytest.raises(PolicyError) as e:
        verify_mud_signature(CONTENT, other, trust_anchors=[CA_A.cert], now=NOW)
    assert e.value.reason == "mud.signature.untrusted"
    # and a signer that chains fine but is not the one the device certificate names (id-pe-mudsigner)
    with pytest.raises(PolicyError) as e2:
        verify_mud_signature(
            CONTENT,
            other,
            trust_anchors=[CA_A.cert, CA_B.cert],
            now=NOW,
            expected_signer=SIGNER_A.cert.subject,
        )
    assert e2.value.reason == "mud.signature.signer-mismatch"


def test_mud_expired_signer_is_refused() -> None:
    old = issue(
        name("Old signer", "Lighting Example"), CA_A, ca=False, not_before=NOW - timedelta(days=400), days=30
    )
    sig = sign_mud(CONTENT, old.key, old.cert, now=NOW)
    with pytest.raises(PolicyError) as e:
        verify_mud_signature(CONTENT, sig, trust_anchors=[CA_A.cert], now=NOW)
    assert e.value.reason == "mud.signature.cert-time"


def test_mud_no_anchor_is_refused() -> None:
    with pytest.raises(PolicyError):
        verify_mud_signature(CONTENT, SIG, trust_anchors=[], now=NOW)


@needs_openssl
def test_mud_openssl_verifies_iotsec_signature(tmp_path: Path) -> None:
    (tmp_path / "mud.json").write_bytes(CONTENT)
    (tmp_path / "mud.p7s").write_bytes(SIG)
    (tmp_path / "ca.pem").write_bytes(CA_A.cert_pem())
    # RFC 8520 §13.2 verification command (plus the trust anchor and a neutral purpose)
    r = openssl_cms_verify(tmp_path, "mud.p7s", "mud.json", "ca.pem")
    assert r.returncode == 0, r.stderr
    assert "Verification successful" in r.stderr


@needs_openssl
@pytest.mark.parametrize("rsa_key", [False, True], ids=["ecdsa", "rsa"])
def test_mud_iotsec_verifies_openssl_signature(tmp_path: Path, rsa_key: bool) -> None:
    ca, signer = manufacturer("Openssl Maker", rsa_key=rsa_key)
    key, cert = signer.write(tmp_path, "signer")
    (tmp_path / "mud.json").write_bytes(CONTENT)
    # RFC 8520 §13.1 signing command
    openssl_cms_sign(tmp_path, cert, key, "mud.json", "mud.p7s")
    sig = (tmp_path / "mud.p7s").read_bytes()
    assert verify_mud_signature(CONTENT, sig, trust_anchors=[ca.cert], now=NOW) == signer.cert
    with pytest.raises(VerifyError):
        verify_mud_signature(CONTENT + b" ", sig, trust_anchors=[ca.cert], now=NOW)
    # an attached (non-detached) signature is not what RFC 8520 §13 specifies
    openssl_cms_sign(tmp_path, cert, key, "mud.json", "att.p7s", detached=False)
    with pytest.raises(ValidationError) as e:
        verify_mud_signature(CONTENT, (tmp_path / "att.p7s").read_bytes(), trust_anchors=[ca.cert], now=NOW)
    assert e.value.reason == "mud.signature.not-detached"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_mud_signature_random_bytes_typed_errors(data: bytes) -> None:
    with pytest.raises(IotSecError):
        verify_mud_signature(CONTENT, data, trust_anchors=[CA_A.cert], now=NOW)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(min_value=0, max_value=len(SIG) - 1),
    st.integers(min_value=1, max_value=255),
    st.integers(min_value=0, max_value=len(SIG)),
)
def test_mud_signature_mutated_der_typed_errors(pos: int, xor: int, cut: int) -> None:
    mutated = bytearray(SIG)
    mutated[pos] ^= xor
    for candidate in (bytes(mutated), SIG[:cut]):
        try:
            signer = verify_mud_signature(CONTENT, candidate, trust_anchors=[CA_A.cert], now=NOW)
        except IotSecError:
            continue
        # CMS leaves some fields unsigned (SignedData.digestAlgorithms): a flip there may still
        # verify, but never as anyone else than the real signer
        assert signer == SIGNER_A.cert


def test_mud_expected_signer_from_device_certificate() -> None:
    """A device certificate names the MUD signer (id-pe-mudsigner, RFC 8520 §11)."""
    from iotsec.core.mud.discovery import (
        encode_mudsigner_extension,
        encode_x509_extension,
        mud_signer_from_certificate,
        mud_url_from_certificate,
    )

    url = "https://lighting.example.com/lightbulb2000"
    dev = issue(
        name("bulb-0001"),
        CA_A,
        ca=False,
        extra=[encode_x509_extension(url), encode_mudsigner_extension(SIGNER_A.cert.subject)],
    )
    assert mud_url_from_certificate(dev.cert) == url
    want = mud_signer_from_certificate(dev.cert)
    assert want == SIGNER_A.cert.subject.public_bytes()
    assert verify_mud_signature(CONTENT, SIG, trust_anchors=[CA_A.cert], now=NOW, expected_signer=want)
    # another signer of the same manufacturer is not the one the device names
    second = issue(name("Second signer", "Lighting Example"), CA_A, ca=False)
    sig2 = sign_mud(CONTENT, second.key, second.cert, now=NOW)
    with pytest.raises(PolicyError) as e:
        verify_mud_signature(CONTENT, sig2, trust_anchors=[CA_A.cert], now=NOW, expected_signer=want)
    assert e.value.reason == "mud.signature.signer-mismatch"
    assert mud_signer_from_certificate(SIGNER_A.cert) is None
