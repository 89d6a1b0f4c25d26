"""JWS compact serialization (RFC 7515) and JWKs (RFC 7517/7518/8037) on ``cryptography``.

A small base package, like ``core.cose``: JWT-format EATs and EARs are signed and verified here.
Algorithms: ES256/ES384/ES512 (RFC 7518 §3.4, raw r||s signatures), EdDSA (RFC 8037 §3.1, Ed25519)
and HS256/HS384/HS512 (RFC 7518 §3.2). ``none`` is never accepted.

    token = sign_compact(payload_bytes, key, "ES256")
    header, payload = verify_compact(token, public_key, algs=("ES256",))   # raises VerifyError
"""

from iotsec.core.jose.jwk import Key, PublicKey, jwk_from_key, key_from_jwk, public_of
from iotsec.core.jose.jws import (
    ALGORITHMS,
    b64u_decode,
    b64u_encode,
    decode_unverified,
    sign_compact,
    verify_compact,
)

__all__ = [
    "ALGORITHMS",
    "Key",
    "PublicKey",
    "b64u_decode",
    "b64u_encode",
    "decode_unverified",
    "jwk_from_key",
    "key_from_jwk",
    "public_of",
    "sign_compact",
    "verify_compact",
]
