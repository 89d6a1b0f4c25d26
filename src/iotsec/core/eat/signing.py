"""Signed EARs: JWT (JWS compact, RFC 7519) or CWT (COSE_Sign1, RFC 8392) — draft-ietf-rats-ear §4.

Media types: ``application/eat-jwt; eat_profile="tag:ietf.org,2026:rats/ear#03"`` and
``application/eat-cwt; ...`` (draft-ietf-rats-ear §6).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from iotsec.core import cbor, jose
from iotsec.core.cose import Algorithm, CoseKey, KeyType, Sign1Message, sign1
from iotsec.core.eat import ear
from iotsec.core.eat._util import b64u_decode, b64u_encode
from iotsec.errors import DecodeError, ValidationError

JWS_ALG_OF = {
    Algorithm.ES256: "ES256",
    Algorithm.ES384: "ES384",
    Algorithm.ES512: "ES512",
    Algorithm.EDDSA: "EdDSA",
}
ASYMMETRIC_JWS = ("ES256", "ES384", "ES512", "EdDSA")


def jws_alg(key: CoseKey) -> str:
    """The JWS ``alg`` for an asymmetric key (its own, or by curve)."""
    if key.alg in JWS_ALG_OF:
        return JWS_ALG_OF[key.alg]  # type: ignore[index]
    if key.kty == KeyType.OKP:
        return "EdDSA"
    size = key.public_key.key_size if hasattr(key.public_key, "key_size") else 256
    return {256: "ES256", 384: "ES384", 521: "ES512"}.get(size, "ES256")


@dataclass
class EarSigner:
    """Signs EARs with the verifier's key, as JWT (default) or CWT, in the chosen naming generation."""

    key: CoseKey
    format: str = "jwt"  # or "cwt"
    generation: str = "ietf"  # or "veraison-2023"

    def __post_init__(self) -> None:
        if self.format not in ("jwt", "cwt"):
            raise ValidationError("EAR format must be jwt or cwt", reason="ear.format")
        if self.generation not in ("ietf", "veraison-2023", "veraison-2022"):
            raise ValidationError("unknown EAR generation", reason="ear.generation")
        if not self.key.has_private or self.key.kty == KeyType.SYMMETRIC:
            raise ValidationError("the EAR signing key must be a private asymmetric key", reason="ear.key")
        self.alg = jws_alg(self.key)

    def sign_bytes(self, e: ear.Ear) -> bytes:
        """The signed EAR as bytes: JWS text or a COSE_Sign1."""
        if self.format == "jwt":
            return self.sign(e).encode()
        e = ear.Ear(**{**e.__dict__, "profile": ear.PROFILE_OF[self.generation]})
        return sign1(ear.encode_cbor(e), self.key, alg=_COSE_ALG[self.alg])

    def sign(self, e: ear.Ear) -> str:
        """The EAR as text: a compact JWS, or base64url of the COSE_Sign1 for CWT."""
        if self.format == "cwt":
            return b64u_encode(self.sign_bytes(e))
        payload = ear.encode_json(e, generation=self.generation).encode()
        return jose.sign_compact(payload, self.key.private_key, self.alg, header=_JWT_HEADER)

    def public_jwk(self) -> dict[str, Any]:
        """The verification key as a JWK with ``alg`` (published at /.well-known/veraison/verification)."""
        jwk = self.key.public().to_jwk(private=False)
        jwk["alg"] = self.alg
        return jwk


_COSE_ALG = {v: k for k, v in JWS_ALG_OF.items()}
_JWT_HEADER = {"typ": "JWT"}  # read, never changed, by jose.sign_compact


def verify_ear(token: str | bytes, key: CoseKey) -> ear.Ear:
    """Verify a JWT or CWT EAR with the verifier's public key and parse it (any generation)."""
    raw = token.encode() if isinstance(token, str) else token
    raw = raw.strip()
    if raw.count(b".") == 2 and raw[:2] == b"ey":
        _, payload = jose.verify_compact(raw, key.public_key, algs=ASYMMETRIC_JWS)
        return ear.parse_json(payload)
    if raw[:1] not in (b"\xd2", b"\x84"):  # not CBOR: base64url text of a COSE_Sign1
        try:
            raw = b64u_decode(raw.decode("ascii"), reason="ear.format")
        except UnicodeDecodeError as exc:
            raise DecodeError("an EAR is a JWT, a COSE_Sign1 or its base64url", reason="ear.format") from exc
    msg = Sign1Message.decode(raw)
    msg.verify(key)
    if msg.payload is None:
        raise ValidationError("the EAR CWT has no payload", reason="ear.payload")
    return ear.parse(cbor.loads(msg.payload))


__all__ = ["EarSigner", "jws_alg", "verify_ear"]
