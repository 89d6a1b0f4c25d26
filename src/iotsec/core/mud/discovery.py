"""Where a MUD URL comes from (RFC 8520 §10-§12): DHCPv4/DHCPv6 options, the LLDP TLV, X.509.

Each parser takes the bytes as they arrive from the device and returns a checked https MUD URL
(:func:`iotsec.core.mud.url.check_mud_url`), or raises DecodeError/ValidationError. Encoders are
provided for devices, tests and tools.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import ObjectIdentifier

from iotsec.core.mud.url import MAX_MUD_URL, check_mud_url
from iotsec.errors import DecodeError, ValidationError

DHCPV4_OPTION_MUD_URL = 161  # RFC 8520 §10, IANA "BOOTP Vendor Extensions and DHCP Options"
DHCPV6_OPTION_MUD_URL = 112  # RFC 8520 §10, IANA "DHCPv6 Option Codes": OPTION_MUD_URL_V6
LLDP_TLV_ORG_SPECIFIC = 127  # IEEE 802.1AB organizationally specific TLV
LLDP_OUI_IANA = b"\x00\x00\x5e"  # RFC 8520 §12: IANA OUI, subtype 1 = MUD URL
LLDP_SUBTYPE_MUD = 1
ID_PE_MUD_URL = ObjectIdentifier(
    "1.3.6.1.5.5.7.1.25"
)  # RFC 8520 §11: id-pe-mudURL, MUDURLSyntax ::= IA5String
ID_PE_MUD_SIGNER = ObjectIdentifier("1.3.6.1.5.5.7.1.30")  # RFC 8520 §11: id-pe-mudsigner, Name


def _url(raw: bytes, where: str) -> str:
    if not raw:
        raise DecodeError(f"{where}: empty MUD URL", reason="mud.discovery.empty")
    try:
        text = raw.decode("ascii")  # the MUDstring is a URL: US-ASCII
    except UnicodeDecodeError as err:
        raise DecodeError(f"{where}: MUD URL is not ASCII", reason="mud.discovery.ascii") from err
    return check_mud_url(text, path=(where,))


# --- DHCPv4 option 161: code (1) | len (1) | MUDstring (len) --------------------------------


def encode_dhcpv4_option(url: str) -> bytes:
    """DHCPv4 option 161 bytes (code, length, URL) for ``url``."""
    raw = check_mud_url(url).encode("ascii")
    if len(raw) > MAX_MUD_URL:
        raise ValidationError("MUD URL too long for DHCPv4 (255 octets)", reason="mud.discovery.length")
    return bytes([DHCPV4_OPTION_MUD_URL, len(raw)]) + raw


def parse_dhcpv4_option(data: bytes) -> str:
    """One option TLV starting with code 161 (as a DHCP library hands it over)."""
    if len(data) < 2:
        raise DecodeError("DHCPv4 option truncated", reason="mud.discovery.truncated")
    if data[0] != DHCPV4_OPTION_MUD_URL:
        raise DecodeError(
            f"not DHCPv4 option {DHCPV4_OPTION_MUD_URL} (got {data[0]})", reason="mud.discovery.code"
        )
    if len(data) != 2 + data[1]:
        raise DecodeError("DHCPv4 option length does not match", reason="mud.discovery.length")
    return _url(data[2:], "dhcpv4-option-161")


def find_in_dhcpv4_options(options: bytes) -> str | None:
    """Scan a DHCPv4 options field (after the magic cookie) for option 161 (RFC 2132 TLV walk)."""
    i = 0
    while i < len(options):
        code = options[i]
        if code == 0:  # pad
            i += 1
            continue
        if code == 255:  # end
            return None
        if i + 1 >= len(options) or i + 2 + options[i + 1] > len(options):
            raise DecodeError("DHCPv4 options truncated", reason="mud.discovery.truncated")
        length = options[i + 1]
        if code == DHCPV4_OPTION_MUD_URL:
            return parse_dhcpv4_option(options[i : i + 2 + length])
        i += 2 + length
    return None


# --- DHCPv6 option 112: option-code (2) | option-len (2) | MUDstring ---------------------------


def encode_dhcpv6_option(url: str) -> bytes:
    """DHCPv6 option 112 bytes (code, length, URL) for ``url``."""
    raw = check_mud_url(url).encode("ascii")
    if len(raw) > MAX_MUD_URL:
        raise ValidationError("MUD URL too long (255 octets)", reason="mud.discovery.length")
    return DHCPV6_OPTION_MUD_URL.to_bytes(2, "big") + len(raw).to_bytes(2, "big") + raw


def parse_dhcpv6_option(data: bytes) -> str:
    """The MUD URL in one DHCPv6 option 112 (code, 2-byte length, URL)."""
    if len(data) < 4:
        raise DecodeError("DHCPv6 option truncated", reason="mud.discovery.truncated")
    code, length = int.from_bytes(data[:2], "big"), int.from_bytes(data[2:4], "big")
    if code != DHCPV6_OPTION_MUD_URL:
        raise DecodeError(
            f"not DHCPv6 option {DHCPV6_OPTION_MUD_URL} (got {code})", reason="mud.discovery.code"
        )
    if len(data) != 4 + length:
        raise DecodeError("DHCPv6 option length does not match", reason="mud.discovery.length")
    if length > MAX_MUD_URL:
        raise ValidationError("MUD URL longer than 255 octets", reason="mud.discovery.length")
    return _url(data[4:], "dhcpv6-option-112")


def find_in_dhcpv6_options(options: bytes) -> str | None:
    """Scan a DHCPv6 message's options (RFC 8415 §21.1 TLVs) for option 112."""
    i = 0
    while i < len(options):
        if i + 4 > len(options):
            raise DecodeError("DHCPv6 options truncated", reason="mud.discovery.truncated")
        code, length = (
            int.from_bytes(options[i : i + 2], "big"),
            int.from_bytes(options[i + 2 : i + 4], "big"),
        )
        if i + 4 + length > len(options):
            raise DecodeError("DHCPv6 options truncated", reason="mud.discovery.truncated")
        if code == DHCPV6_OPTION_MUD_URL:
            return parse_dhcpv6_option(options[i : i + 4 + length])
        i += 4 + length
    return None


# --- LLDP: type 127 (7 bits) | length (9 bits) | OUI 00-00-5E | subtype 1 | MUDString -----------


def encode_lldp_tlv(url: str) -> bytes:
    """The LLDP MUD TLV (type 127, OUI 00-00-5E, subtype 1) for ``url``."""
    raw = check_mud_url(url).encode("ascii")
    if len(raw) > MAX_MUD_URL:
        raise ValidationError("MUD URL too long (255 octets)", reason="mud.discovery.length")
    length = 4 + len(raw)
    header = (LLDP_TLV_ORG_SPECIFIC << 9) | length
    return header.to_bytes(2, "big") + LLDP_OUI_IANA + bytes([LLDP_SUBTYPE_MUD]) + raw


def parse_lldp_tlv(data: bytes) -> str:
    """The MUD URL in one LLDP MUD TLV (header, OUI 00-00-5E, subtype 1, URL)."""
    if len(data) < 2:
        raise DecodeError("LLDP TLV truncated", reason="mud.discovery.truncated")
    header = int.from_bytes(data[:2], "big")
    tlv_type, length = header >> 9, header & 0x1FF
    if tlv_type != LLDP_TLV_ORG_SPECIFIC:
        raise DecodeError(
            f"not an organizationally specific LLDP TLV (type {tlv_type})", reason="mud.discovery.code"
        )
    if len(data) != 2 + length:
        raise DecodeError("LLDP TLV length does not match", reason="mud.discovery.length")
    if length < 5 or data[2:5] != LLDP_OUI_IANA or data[5] != LLDP_SUBTYPE_MUD:
        raise DecodeError(
            "LLDP TLV is not the IANA MUD URL TLV (OUI 00-00-5E, subtype 1)", reason="mud.discovery.oui"
        )
    return _url(data[6:], "lldp-mud-tlv")


def find_in_lldpdu(lldpdu: bytes) -> str | None:
    """Walk the TLVs of an LLDPDU (IEEE 802.1AB) for the MUD URL TLV; stops at End of LLDPDU."""
    i = 0
    while i + 2 <= len(lldpdu):
        header = int.from_bytes(lldpdu[i : i + 2], "big")
        tlv_type, length = header >> 9, header & 0x1FF
        if tlv_type == 0:  # End of LLDPDU
            return None
        if i + 2 + length > len(lldpdu):
            raise DecodeError("LLDPDU truncated", reason="mud.discovery.truncated")
        body = lldpdu[i + 2 : i + 2 + length]
        if (
            tlv_type == LLDP_TLV_ORG_SPECIFIC
            and body[:3] == LLDP_OUI_IANA
            and body[3:4] == bytes([LLDP_SUBTYPE_MUD])
        ):
            return parse_lldp_tlv(lldpdu[i : i + 2 + length])
        i += 2 + length
    if i != len(lldpdu):
        raise DecodeError("LLDPDU truncated", reason="mud.discovery.truncated")
    return None


# --- X.509: id-pe-mudURL / id-pe-mudsigner -----------------------------------------------------


def _ia5(der: bytes) -> bytes:
    # IA5String: tag 0x16, definite length (short or long form), no trailing bytes
    if len(der) < 2 or der[0] != 0x16:
        raise DecodeError("mudURL extension is not an IA5String", reason="mud.discovery.x509")
    n, i = der[1], 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 2 or len(der) < 2 + k:
            raise DecodeError("bad IA5String length", reason="mud.discovery.x509")
        n, i = int.from_bytes(der[2 : 2 + k], "big"), 2 + k
    if len(der) != i + n:
        raise DecodeError("IA5String length does not match", reason="mud.discovery.x509")
    return der[i:]


def encode_x509_extension(url: str) -> x509.UnrecognizedExtension:
    """The id-pe-mudURL extension value for a certificate builder."""
    raw = check_mud_url(url).encode("ascii")
    length = bytes([len(raw)]) if len(raw) < 128 else bytes([0x82]) + len(raw).to_bytes(2, "big")
    return x509.UnrecognizedExtension(ID_PE_MUD_URL, b"\x16" + length + raw)


def mud_url_from_certificate(cert: x509.Certificate) -> str | None:
    """The MUD URL in a device certificate (IDevID/LDevID), or None if it has none."""
    try:
        ext = cert.extensions.get_extension_for_oid(ID_PE_MUD_URL)
    except x509.ExtensionNotFound:
        return None
    except (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType) as err:
        raise DecodeError("certificate extensions are malformed", reason="mud.discovery.x509") from err
    value = ext.value
    if not isinstance(value, x509.UnrecognizedExtension):
        raise DecodeError("unexpected mudURL extension type", reason="mud.discovery.x509")
    return _url(_ia5(value.value), "x509-id-pe-mudURL")


def mud_url_from_certificate_der(der: bytes) -> str | None:
    """Same as :func:`mud_url_from_certificate` for DER bytes as received."""
    try:
        cert = x509.load_der_x509_certificate(der)
    except (ValueError, x509.InvalidVersion) as err:
        raise DecodeError("not a DER X.509 certificate", reason="mud.discovery.x509") from err
    return mud_url_from_certificate(cert)


def mud_signer_from_certificate(cert: x509.Certificate) -> bytes | None:
    """The DER Name in the id-pe-mudsigner extension (RFC 8520 §11), to pass as ``expected_signer``
    to :func:`iotsec.core.mud.signature.verify_mud_signature`; None if the certificate has none."""
    try:
        ext = cert.extensions.get_extension_for_oid(ID_PE_MUD_SIGNER)
    except x509.ExtensionNotFound:
        return None
    except (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType) as err:
        raise DecodeError("certificate extensions are malformed", reason="mud.discovery.x509") from err
    value = ext.value
    if not isinstance(value, x509.UnrecognizedExtension) or not value.value.startswith(b"\x30"):
        raise DecodeError("mudSigner extension is not a Name", reason="mud.discovery.x509")
    return bytes(value.value)


def encode_mudsigner_extension(signer: x509.Name) -> x509.UnrecognizedExtension:
    """The id-pe-mudsigner extension value naming the MUD file signer."""
    return x509.UnrecognizedExtension(ID_PE_MUD_SIGNER, signer.public_bytes())
