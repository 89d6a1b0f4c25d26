"""MUD URL discovery parsers (RFC 8520 §10-§12): DHCPv4 161, DHCPv6 112, LLDP TLV, X.509."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import given, settings
from hypothesis import strategies as st
from mud_pki import issue, name

from iotsec.core.mud.discovery import (
    encode_dhcpv4_option,
    encode_dhcpv6_option,
    encode_lldp_tlv,
    encode_x509_extension,
    find_in_dhcpv4_options,
    find_in_dhcpv6_options,
    find_in_lldpdu,
    mud_url_from_certificate,
    mud_url_from_certificate_der,
    parse_dhcpv4_option,
    parse_dhcpv6_option,
    parse_lldp_tlv,
)
from iotsec.errors import DecodeError, IotSecError, ValidationError

URL = "https://lighting.example.com/lightbulb2000"


def test_mud_dhcpv4_option_bytes() -> None:
    # hand-built from RFC 8520 §10: code 161, length, the URL octets
    raw = bytes([161, len(URL)]) + URL.encode()
    assert encode_dhcpv4_option(URL) == raw
    assert parse_dhcpv4_option(raw) == URL
    options = bytes([53, 1, 1, 0, 0]) + raw + bytes([255])  # message type, two pads, MUD URL, end
    assert find_in_dhcpv4_options(options) == URL
    assert find_in_dhcpv4_options(bytes([53, 1, 1, 255])) is None


def test_mud_dhcpv6_option_bytes() -> None:
    raw = b"\x00\x70" + len(URL).to_bytes(2, "big") + URL.encode()  # 112 = 0x70
    assert encode_dhcpv6_option(URL) == raw
    assert parse_dhcpv6_option(raw) == URL


def test_mud_lldp_tlv_bytes() -> None:
    length = 4 + len(URL)
    raw = bytes([(127 << 1) | (length >> 8), length & 0xFF]) + b"\x00\x00\x5e\x01" + URL.encode()
    assert encode_lldp_tlv(URL) == raw
    assert parse_lldp_tlv(raw) == URL


def test_mud_x509_extension(tmp_path: Path) -> None:
    dev = issue(name("device-0001"), None, ca=False, extra=[encode_x509_extension(URL)])
    assert mud_url_from_certificate(dev.cert) == URL
    assert mud_url_from_certificate_der(dev.cert.public_bytes(Encoding.DER)) == URL
    assert mud_url_from_certificate(issue(name("plain"), None, ca=False).cert) is None
    openssl = shutil.which("openssl")
    if openssl:  # an independent decoder sees the same OID and IA5String
        (tmp_path / "d.pem").write_bytes(dev.cert_pem())
        out = subprocess.run(
            [openssl, "x509", "-in", "d.pem", "-noout", "-text"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
        assert "1.3.6.1.5.5.7.1.25" in out and URL in out


@pytest.mark.parametrize(
    "bad,reason",
    [
        (bytes([161, 9]) + b"https", "mud.discovery.length"),
        (bytes([160, 3]) + b"abc", "mud.discovery.code"),
        (bytes([161]), "mud.discovery.truncated"),
        (bytes([161, 0]), "mud.discovery.empty"),
        (bytes([161, 2]) + b"\xff\xfe", "mud.discovery.ascii"),
    ],
)
def test_mud_dhcpv4_malformed(bad: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as e:
        parse_dhcpv4_option(bad)
    assert e.value.reason == reason


def test_mud_non_https_url_is_refused_everywhere() -> None:
    http = "http://lighting.example.com/lightbulb2000"
    raw4 = bytes([161, len(http)]) + http.encode()
    raw6 = b"\x00\x70" + len(http).to_bytes(2, "big") + http.encode()
    n = 4 + len(http)
    lldp = bytes([(127 << 1) | (n >> 8), n & 0xFF]) + b"\x00\x00\x5e\x01" + http.encode()
    for parse, raw in ((parse_dhcpv4_option, raw4), (parse_dhcpv6_option, raw6), (parse_lldp_tlv, lldp)):
        with pytest.raises(ValidationError) as e:
            parse(raw)
        assert e.value.reason == "mud.url.not-https"
    with pytest.raises(ValidationError):
        encode_dhcpv4_option(http)


def test_mud_lldp_wrong_oui() -> None:
    n = 4 + len(URL)
    raw = bytes([(127 << 1) | (n >> 8), n & 0xFF]) + b"\x00\x80\xc2\x01" + URL.encode()
    with pytest.raises(DecodeError) as e:
        parse_lldp_tlv(raw)
    assert e.value.reason == "mud.discovery.oui"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_mud_discovery_parsers_random_bytes(data: bytes) -> None:
    for parse in (
        parse_dhcpv4_option,
        parse_dhcpv6_option,
        parse_lldp_tlv,
        find_in_dhcpv4_options,
        find_in_dhcpv6_options,
        find_in_lldpdu,
        mud_url_from_certificate_der,
    ):
        try:
            url = parse(data)
        except IotSecError:
            continue
        assert url is None or url.lower().startswith("https://")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=200))
def test_mud_discovery_roundtrip_or_refuse(path: str) -> None:
    url = "https://mfg.example.com/" + path
    for enc, dec in (
        (encode_dhcpv4_option, parse_dhcpv4_option),
        (encode_dhcpv6_option, parse_dhcpv6_option),
        (encode_lldp_tlv, parse_lldp_tlv),
    ):
        try:
            raw = enc(url)
        except IotSecError:
            continue
        assert dec(raw) == url


def test_mud_option_walkers() -> None:
    mud6 = encode_dhcpv6_option(URL)
    client_id = b"\x00\x01\x00\x04abcd"  # OPTION_CLIENTID, 4 bytes
    assert find_in_dhcpv6_options(client_id + mud6) == URL
    assert find_in_dhcpv6_options(client_id) is None
    with pytest.raises(DecodeError):
        find_in_dhcpv6_options(client_id + mud6[:-1])
    # LLDPDU: Chassis ID (type 1), Port ID (type 2), TTL (type 3), the MUD TLV, End (type 0)
    chassis = bytes([0x02, 0x07, 0x04]) + b"\x02\x42\xac\x11\x00\x02"
    port = bytes([0x04, 0x05, 0x05]) + b"eth0"
    ttl = bytes([0x06, 0x02, 0x00, 0x78])
    lldpdu = chassis + port + ttl + encode_lldp_tlv(URL) + b"\x00\x00"
    assert find_in_lldpdu(lldpdu) == URL
    assert find_in_lldpdu(chassis + port + ttl + b"\x00\x00") is None
    with pytest.raises(DecodeError):
        find_in_lldpdu(chassis + port + ttl + encode_lldp_tlv(URL)[:-3])


_DEV = issue(name("device-0002"), None, ca=False, extra=[encode_x509_extension(URL)])
_DEV_DER = _DEV.cert.public_bytes(Encoding.DER)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(_DEV_DER) - 1), st.integers(0, 7))
def test_mud_discovery_mutated_certificate(pos: int, bit: int) -> None:
    mutated = bytearray(_DEV_DER)
    mutated[pos] ^= 1 << bit
    try:
        url = mud_url_from_certificate_der(bytes(mutated))
    except IotSecError:
        return
    assert url is None or url.lower().startswith("https://")  # the scheme is case-insensitive
