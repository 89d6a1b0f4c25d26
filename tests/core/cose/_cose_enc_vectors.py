"""Reading the COSE WG example files (cose-wg/Examples) for the encryption tests.

The JSON uses JOSE-ish names; this module maps them to COSE values. It never computes an
expected value: expected bytes come from the files' ``output`` and ``intermediates``.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from iotsec.core.cose import Algorithm, CoseKey, alg_from_name
from iotsec.core.cose.headers import HeaderLabel
from iotsec.core.cose.kdf import PartyInfo

ENC_DIRS = [
    "aes-gcm-examples",
    "chacha-poly-examples",
    "aes-wrap-examples",
    "ecdh-direct-examples",
    "ecdh-wrap-examples",
    "X25519-tests",
    "hkdf-hmac-sha-examples",
    "encrypted-tests",
    "enveloped-tests",
    "RFC8152",
]

# Example-file spellings that are not IANA/JOSE names (RFC 9053 §4.2: AES-CCM-L-M-k is written
# "AES-CCM-L-k/M" in the files).
_NAMES = {
    "ChaCha-Poly1305": Algorithm.CHACHA20_POLY1305,
    "AES-CCM-16-128/64": Algorithm.AES_CCM_16_64_128,
    "AES-CCM-16-256/64": Algorithm.AES_CCM_16_64_256,
    "AES-CCM-64-128/64": Algorithm.AES_CCM_64_64_128,
    "AES-CCM-64-256/64": Algorithm.AES_CCM_64_64_256,
    "AES-CCM-16-128/128": Algorithm.AES_CCM_16_128_128,
    "AES-CCM-16-256/128": Algorithm.AES_CCM_16_128_256,
    "AES-CCM-64-128/128": Algorithm.AES_CCM_64_128_128,
    "AES-CCM-64-256/128": Algorithm.AES_CCM_64_128_256,
    "ECDH-SS-256": Algorithm.ECDH_SS_HKDF_256,
    "ECDH-ES-256": Algorithm.ECDH_ES_HKDF_256,
}


def alg(name: str) -> Algorithm:
    return _NAMES.get(name) or alg_from_name(name)


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk_key(jwk: dict[str, Any]) -> CoseKey:
    """Load a key of the example files: JWK, with ``x_hex``/``d_hex`` variants for X25519."""
    j = dict(jwk)
    for field in ("x", "y", "d", "k"):
        if f"{field}_hex" in j:
            j[field] = _b64u(bytes.fromhex(j.pop(f"{field}_hex")))
    j.pop("use", None)
    return CoseKey.from_jwk(j)


def header_value(name: str, value: Any) -> tuple[int | str, Any]:
    """Map one header entry of the example input (``"kid": "..."``, ``"apu_nonce_hex": ...``)."""
    if name.endswith("_hex"):
        name, value = name[:-4], bytes.fromhex(value)
    labels = {
        "alg": HeaderLabel.ALG,
        "kid": HeaderLabel.KID,
        "ctyp": HeaderLabel.CONTENT_TYPE,
        "IV": HeaderLabel.IV,
        "partialIV": HeaderLabel.PARTIAL_IV,
        "salt": HeaderLabel.SALT,
        "apu_id": HeaderLabel.PARTY_U_IDENTITY,
        "apu_nonce": HeaderLabel.PARTY_U_NONCE,
        "apu_other": HeaderLabel.PARTY_U_OTHER,
        "apv_id": HeaderLabel.PARTY_V_IDENTITY,
        "apv_nonce": HeaderLabel.PARTY_V_NONCE,
        "apv_other": HeaderLabel.PARTY_V_OTHER,
        "spk_kid": HeaderLabel.STATIC_KEY_ID,
    }
    label = labels[name]
    if label == HeaderLabel.ALG:
        return int(label), int(alg(value))
    if isinstance(value, str):
        value = value.encode()
    return int(label), value


def headers(m: dict[str, Any] | None) -> dict[int | str, Any]:
    out: dict[int | str, Any] = {}
    for k, v in (m or {}).items():
        if k == "epk":  # given for information; the ephemeral key comes from rng_stream
            continue
        lbl, val = header_value(k, v)
        out[lbl] = val
    return out


def party_infos(h: dict[int | str, Any]) -> tuple[PartyInfo | None, PartyInfo | None]:
    u = PartyInfo(h.get(-21), h.get(-22), h.get(-23))
    v = PartyInfo(h.get(-24), h.get(-25), h.get(-26))
    return (u if u != PartyInfo() else None), (v if v != PartyInfo() else None)
