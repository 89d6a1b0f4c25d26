"""Keys and readers for the SUIT companion vectors (../shared/vectors/suit/...).

Keys come from the drafts' texts (and ../shared/vectors/SOURCES.md): MAC key "a"*32, KEK "a"*16
(kid-1), the ES-DH receiver key kid-2 of draft-ietf-suit-firmware-encryption §6.1.3, and the
P-256 signing key printed in the drafts' example sections.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from iotsec.core.cose import CoseKey
from iotsec.core.suit import codec
from iotsec.core.suit.companion import SuitResult, process_suit
from iotsec.core.suit.model import Envelope
from iotsec.core.suit.processor import DeviceIdentity
from iotsec.core.suit.store import ComponentStore, Fetcher
from iotsec.core.suit.trust import Authority

ENC = "suit/firmware-encryption"
TD = "suit/trust-domains"
PLAINTEXT = b"This is a real firmware image."

# draft-ietf-suit-firmware-encryption "Complete Examples" / draft-ietf-suit-trust-domains App. B
SIGNER_PUB = b"""-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEhJaBGq4LqqvSYVcYnuzaJr6qi/Eb
bz/m4rVlnIXbwK07HypLbAmBMcCjbazR14vTgdzfsJwFLbM5kdtzOLSolg==
-----END PUBLIC KEY-----
"""
# draft-ietf-suit-firmware-encryption §9.3 "ES-DH Example with Dependency": the dependent's key
DEPENDENT_PRIV = b"""-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIIQa67e56m8CYL5zVaJFiLl30j0qxb8ray2DeUMqH+qYoAoGCCqGSM49
AwEHoUQDQgAEDpCKqPBm2x8ITgw2UsY5Ur2Z8qW9si+eATZ6rQOrpot32hvYrE8M
tJC6IQZIv3mrFk1JrTVR1x0xSydJ7kLSmg==
-----END EC PRIVATE KEY-----
"""
RECEIVER = {
    1: 2,
    -1: 1,
    -2: bytes.fromhex("5886CD61DD875862E5AAA820E7A15274C968A9BC96048DDCACE32F50C3651BA3"),
    -3: bytes.fromhex("9EED8125E932CD60C0EAD3650D0A485CF726D378D1B016ED4298B2961E258F1B"),
    -4: bytes.fromhex("60FE6DD6D85D5740A5349B6F91267EEAC5BA81B8CB53EE249E4B4EB102C476B3"),
    2: b"kid-2",
}


def signer() -> CoseKey:
    return CoseKey.from_pem(SIGNER_PUB)


def dependent_signer() -> CoseKey:
    return CoseKey.from_pem(DEPENDENT_PRIV).public()


def mac_key() -> CoseKey:
    return CoseKey.symmetric(b"a" * 32)


def kek() -> CoseKey:
    return CoseKey.symmetric(b"a" * 16, kid=b"kid-1")


def device_key() -> CoseKey:
    return CoseKey.from_cose(RECEIVER)


def example_anchors() -> list[CoseKey]:
    """The authentication keys of the firmware-encryption examples: the MAC key and the signer."""
    return [mac_key(), signer()]


def example_keys() -> list[CoseKey]:
    """The decryption keys of the firmware-encryption examples: the KEK and the ES-DH receiver."""
    return [kek(), device_key()]


def read_hex(path: Path) -> bytes:
    return bytes.fromhex("".join(path.read_text().split()))


def envelope(vectors: Path, folder: str, name: str) -> Envelope:
    return codec.decode(read_hex(vectors / folder / name))


def process(
    env: Envelope,
    store: ComponentStore,
    fetcher: Fetcher | None = None,
    *,
    anchors: Sequence[Authority | CoseKey] | None = None,
    decryption_keys: Sequence[CoseKey] = (),
    procedure: str = "all",
    stored_sequence: int | None = None,
) -> SuitResult:
    """``process_suit`` as the drafts' examples run: a device without class or vendor identifiers,
    at time 0, with no sequence number stored unless given; trusting the examples' signing key
    unless other anchors are given."""
    return process_suit(
        env,
        anchors=[signer()] if anchors is None else anchors,
        identity=DeviceIdentity(),
        stored_sequence=stored_sequence,
        now=0,
        store=store,
        fetcher=fetcher,
        decryption_keys=decryption_keys,
        procedure=procedure,
    )


class MapFetcher:
    """A Fetcher over a dict (the payload server of a test), recording what was asked."""

    def __init__(self, resources: dict[str, bytes]) -> None:
        self.resources = resources
        self.asked: list[str] = []

    def fetch(self, uri: str, arguments: bytes | None) -> bytes:
        from iotsec.errors import NotFoundError

        self.asked.append(uri)
        if uri not in self.resources:
            raise NotFoundError(f"no {uri}", reason="suit.fetch.notfound")
        return self.resources[uri]


def _report_cddl(vectors: Path, start: str, *, drop: str | None = None) -> object:
    import pycddl

    cddl = vectors / "suit" / "cddl"
    report = [
        line
        for line in (cddl / "draft-ietf-suit-report.cddl").read_text().splitlines()
        if "SUIT_Report_Protected" not in line
        and "SUIT_Report_Tool_Tweak" not in line
        and (drop is None or line.strip() != drop)
    ]
    text = f"iotsec-start = {start}\n" + "\n".join(report) + "\n"
    for name in ("manifest", "trust-domains", "update-management", "firmware-encryption"):
        text += (cddl / f"draft-ietf-suit-{name}.cddl").read_text() + "\n"
    return pycddl.Schema(_drop_undefined_sockets(text))


def validate_report(vectors: Path, data: bytes) -> None:
    """Validate an encoded SUIT_Report against the report CDDL (+ manifest CDDL for SUIT_Digest,
    $$SUIT_Parameters, SUIT_Component_Identifier) with pycddl.

    pycddl 0.6 mis-handles ``[* SUIT_Record / system-property-claims]`` (a choice between an array
    and a map holding a group socket: it never tries SUIT_Record). So the report is validated with
    its record list emptied, and each record on its own against SUIT_Record (system-property-claims
    against their rule) -- the same rules, applied piecewise. The capability report likewise.
    """
    import cbor2

    obj = cbor2.loads(data)
    records = obj.get(3, [])
    obj[3] = []
    caps = obj.pop(8, None)
    if caps is not None:
        # pycddl tries the optional wildcard entry "* [+int] => [+int]" on every key and fails;
        # iotsec reports no such extension, so the capability report is checked without it
        assert not any(isinstance(k, (list, tuple)) for k in caps)
        wildcard = "* [+int]                           => [+ int],"
        _report_cddl(vectors, "SUIT_Capability_Report", drop=wildcard).validate_cbor(  # type: ignore[attr-defined]
            cbor2.dumps(caps)
        )
    _report_cddl(vectors, "SUIT_Report").validate_cbor(cbor2.dumps(obj))  # type: ignore[attr-defined]
    record_schema = _report_cddl(vectors, "SUIT_Record")
    cid_schema = _report_cddl(vectors, "SUIT_Component_Identifier")
    for r in records:
        if isinstance(r, dict):
            # system-property-claims = {0 => SUIT_Component_Identifier, + $$SUIT_Parameters}: pycddl
            # cannot match that rule at all, so its two parts are checked with the same rules
            rest = {k: v for k, v in r.items() if k != 0}
            assert rest, "system-property-claims need at least one parameter"
            cid_schema.validate_cbor(cbor2.dumps(r[0]))  # type: ignore[attr-defined]
            record_schema.validate_cbor(cbor2.dumps([[], 0, 0, 0, rest]))  # type: ignore[attr-defined]
        else:
            record_schema.validate_cbor(cbor2.dumps(r))  # type: ignore[attr-defined]


def _drop_undefined_sockets(text: str) -> str:
    """pycddl (cddl-rs) does not match an undefined group socket as empty, as RFC 8610 §3.9
    says it should; drop the lines that only reference such a socket (in this copy only)."""
    import re

    defined = set(re.findall(r"(\$\$[\w-]+)\s*//?=", text))
    out = []
    for raw in text.splitlines():
        m = re.fullmatch(r"\s*\*?\s*(\$\$[\w-]+)\s*,?\s*", raw)
        if m and m.group(1) not in defined:
            continue
        out.append(
            re.sub(
                r",\s*\*\s*(\$\$[\w-]+)\s*$",
                lambda mm: "" if mm.group(1) not in defined else mm.group(0),
                raw,
            )
        )
    return "\n".join(out)
