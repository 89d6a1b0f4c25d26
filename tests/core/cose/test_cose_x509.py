"""RFC 9360 x5chain / x5t with certificates made by openssl."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from iotsec.core.cose import CoseKey, Sign1Message, sign1
from iotsec.core.cose.x509 import check_x5t, leaf_key, x5bag, x5chain, x5t_of
from iotsec.errors import DecodeError, UnsupportedError, ValidationError, VerifyError


@pytest.fixture(scope="module")
def device_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    d = tmp_path_factory.mktemp("x509")
    key, cert = d / "key.pem", d / "cert.der"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            str(key),
            "-subj",
            "/CN=device-1",
            "-days",
            "2",
            "-outform",
            "DER",
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return key, cert.read_bytes()


def test_sign_with_x5chain_and_verify_with_leaf_key(device_cert: tuple[Path, bytes]) -> None:
    key_path, der = device_cert
    key = CoseKey.from_pem(key_path.read_bytes())
    data = sign1(b"report", key, unprotected={33: der, 34: x5t_of(der)})
    msg = Sign1Message.decode(data)
    assert x5chain(msg.protected, msg.unprotected) == [der]
    msg.verify(leaf_key(msg.protected, msg.unprotected))
    check_x5t(msg.unprotected[34], der)
    # x5t computed independently with hashlib
    assert msg.unprotected[34] == [-16, hashlib.sha256(der).digest()]
    assert x5t_of(der, -15)[1] == hashlib.sha256(der).digest()[:8]  # type: ignore[arg-type]


def test_x5t_mismatch_and_bad_values(device_cert: tuple[Path, bytes]) -> None:
    _, der = device_cert
    with pytest.raises(VerifyError):
        check_x5t([-16, bytes(32)], der)
    for bad in ([-16], [True, b""], "x", [-16, "hash"]):
        with pytest.raises(ValidationError):
            check_x5t(bad, der)
    with pytest.raises(UnsupportedError):
        check_x5t([-999, b""], der)


def test_x5chain_shapes(device_cert: tuple[Path, bytes]) -> None:
    _, der = device_cert
    assert x5chain({}, {}) == [] and x5bag({}, {}) == []
    assert x5chain({33: [der, der]}, {}) == [der, der]
    for bad in ([der], [], 5, [der, "x"]):  # RFC 9360: a bstr, or an array of two or more
        with pytest.raises(ValidationError):
            x5chain({}, {33: bad})
    with pytest.raises(DecodeError):
        leaf_key({}, {33: b"not a certificate"})
    with pytest.raises(ValidationError):
        leaf_key({}, {})
