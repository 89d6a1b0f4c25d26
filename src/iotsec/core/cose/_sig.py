"""Signature and MAC primitives behind COSE_Sign/Sign1/Mac/Mac0 (RFC 9053 §2, §3; RFC 9864).

* ECDSA (RFC 9053 §2.1): the COSE signature is ``r || s``, each left-padded to the size of the
  key's curve; it is converted to and from the DER ``Ecdsa-Sig-Value`` that ``cryptography``
  uses. ``deterministic=True`` signs with RFC 6979 nonces (reproducible signatures).
* EdDSA (RFC 9053 §2.2, RFC 8032): pure Ed25519 / Ed448.
* HMAC (RFC 9053 §3.1): tag truncated to the algorithm's length; compared in constant time.
* AES-MAC (RFC 9053 §3.2): CBC-MAC with a zero IV, the message zero-padded to the block size.
"""

from __future__ import annotations

import hmac as _hmac
from typing import TypeGuard

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from iotsec.core.cose._keyclass import is_a
from iotsec.core.cose.algorithms import CURVE_SIZE, AlgInfo, AlgKind, Algorithm, Curve, KeyOp, KeyType
from iotsec.core.cose.key import CoseKey
from iotsec.errors import UnsupportedError, ValidationError, VerifyError

_HASHES: dict[str, hashes.HashAlgorithm] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}
_ECDSA = {name: ec.ECDSA(h) for name, h in _HASHES.items()}
_ECDSA_DET = {name: ec.ECDSA(h, deterministic_signing=True) for name, h in _HASHES.items()}

# Algorithm chosen for a key that carries no ``alg`` (RFC 9053 §2.1 suggested pairings)
_DEFAULT_SIG_ALG = {
    Curve.P_256: Algorithm.ES256,
    Curve.P_384: Algorithm.ES384,
    Curve.P_521: Algorithm.ES512,
    Curve.ED25519: Algorithm.EDDSA,
    Curve.ED448: Algorithm.EDDSA,
}


def default_sig_alg(key: CoseKey) -> Algorithm:
    """The key's ``alg`` or the usual signature algorithm for its curve."""
    if isinstance(key.alg, Algorithm):
        return key.alg
    if key.crv in _DEFAULT_SIG_ALG:
        return _DEFAULT_SIG_ALG[key.crv]
    raise ValidationError(f"no signature algorithm for {key!r}; pass alg", reason="cose.alg.missing")


def sign(info: AlgInfo, key: CoseKey, tbs: bytes, *, deterministic: bool = False) -> bytes:
    """Sign ``tbs`` (a Sig_structure) with ``key`` under ``info`` (key/alg match checked)."""
    key.check_alg(info.alg, KeyOp.SIGN)
    priv = key.private_key
    if isinstance(priv, ec.EllipticCurvePrivateKey):
        assert info.hash_name is not None and key.crv is not None
        table = _ECDSA_DET if deterministic else _ECDSA
        r, s = decode_dss_signature(priv.sign(tbs, table[info.hash_name]))
        n = CURVE_SIZE[key.crv]
        return r.to_bytes(n, "big") + s.to_bytes(n, "big")
    if isinstance(priv, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)):
        return priv.sign(tbs)
    raise UnsupportedError(f"{key!r} cannot sign", reason="cose.key.type")


def _der_int(b: bytes) -> bytes:
    b = b.lstrip(b"\x00")
    if not b or b[0] & 0x80:
        b = b"\x00" + b
    return b"\x02" + bytes((len(b),)) + b


def _templates(n: int) -> list[tuple[bytes, bytes]]:
    """DER framing around r and s of ``n`` bytes without a leading zero, by (r, s) high bits."""
    out = []
    for r_high in (0, 1):
        for s_high in (0, 1):
            rl, sl = n + r_high, n + s_high
            size = rl + sl + 4
            seq = b"\x30" + (bytes((size,)) if size < 0x80 else bytes((0x81, size)))
            out.append(
                (seq + b"\x02" + bytes((rl,)) + b"\x00" * r_high, b"\x02" + bytes((sl,)) + b"\x00" * s_high)
            )
    return out


_DER_FRAMES = {n: _templates(n) for n in set(CURVE_SIZE.values())}


def _der_signature(signature: bytes, n: int) -> bytes:
    """r || s (RFC 9053 §2.1) -> DER ``Ecdsa-Sig-Value`` (RFC 3279 §2.2.3), without big ints."""
    r0, s0 = signature[0], signature[n]
    if r0 and s0:  # the usual case: only a sign-padding zero may be needed
        pre, mid = _DER_FRAMES[n][((r0 >> 7) << 1) | (s0 >> 7)]
        return pre + signature[:n] + mid + signature[n:]
    body = _der_int(signature[:n]) + _der_int(signature[n:])
    size = len(body)
    return (b"\x30" + bytes((size,)) if size < 0x80 else b"\x30\x81" + bytes((size,))) + body


_VERIFY = KeyOp.VERIFY
_EC_PUBLIC_TYPES: set[type] = set()  # concrete classes seen to be EllipticCurvePublicKey


def _is_ec_public(pub: object) -> TypeGuard[ec.EllipticCurvePublicKey]:
    """``isinstance(pub, ec.EllipticCurvePublicKey)`` (:func:`._keyclass.is_a`)."""
    return is_a(pub, ec.EllipticCurvePublicKey, _EC_PUBLIC_TYPES)


def verify(info: AlgInfo, key: CoseKey, tbs: bytes, signature: bytes) -> None:
    """Verify ``signature`` over ``tbs``; raise :class:`VerifyError` (opaque) if it does not."""
    key.check_info(info, _VERIFY)
    pub = key.public_key
    try:
        if _is_ec_public(pub):
            assert key.crv is not None and info.hash_name is not None
            n = CURVE_SIZE[key.crv]
            if len(signature) != 2 * n:  # RFC 9053 §2.1: fixed-width r || s
                raise VerifyError("signature verification failed", reason="cose.signature.length")
            der = _der_signature(signature, n)
            pub.verify(der, tbs, _ECDSA[info.hash_name])
        elif isinstance(pub, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
            pub.verify(signature, tbs)
        else:
            raise UnsupportedError(f"{key!r} cannot verify signatures", reason="cose.key.type")
    except InvalidSignature:
        raise VerifyError("signature verification failed", reason="cose.signature.invalid") from None


def mac(info: AlgInfo, key: CoseKey, data: bytes) -> bytes:
    """Compute the MAC tag of ``data`` (a MAC_structure) with a symmetric key."""
    if info.kind is not AlgKind.MAC:
        raise UnsupportedError(f"{info.alg.iana_name} is not a MAC algorithm", reason="cose.alg.kind")
    if key.kty != KeyType.SYMMETRIC:
        raise ValidationError("MAC algorithms need a symmetric key", reason="cose.key.alg_mismatch")
    return mac_raw(info, key.k, data)


def mac_raw(info: AlgInfo, k: bytes, data: bytes) -> bytes:
    """MAC with raw key bytes (the CEK obtained from COSE_Mac recipients)."""
    assert info.tag_bytes is not None and info.key_bytes is not None
    if info.hash_name is not None:  # RFC 9053 §3.1 HMAC
        if len(k) < info.key_bytes:
            raise ValidationError(
                f"{info.alg.iana_name} needs a key of at least {info.key_bytes} bytes",
                reason="cose.key.length",
            )
        return _hmac.digest(k, data, info.hash_name)[: info.tag_bytes]
    # RFC 9053 §3.2 AES-MAC: CBC-MAC, IV of zeros, zero padding to a multiple of 16 bytes
    if len(k) != info.key_bytes:
        raise ValidationError(
            f"{info.alg.iana_name} needs a {info.key_bytes}-byte key", reason="cose.key.length"
        )
    padded = data + b"\x00" * (-len(data) % 16)
    enc = Cipher(algorithms.AES(k), modes.CBC(b"\x00" * 16)).encryptor()
    out = enc.update(padded) + enc.finalize()
    return out[-16:][: info.tag_bytes]


def mac_verify(info: AlgInfo, k: bytes, data: bytes, tag: bytes) -> None:
    """Recompute and compare in constant time; :class:`VerifyError` on mismatch."""
    if not _hmac.compare_digest(mac_raw(info, k, data), tag):
        raise VerifyError("MAC verification failed", reason="cose.mac.invalid")


__all__ = ["default_sig_alg", "mac", "mac_raw", "mac_verify", "sign", "verify"]
