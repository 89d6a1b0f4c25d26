"""COSE registries: algorithms, key types, elliptic curves, key operations.

Every enum cites its IANA registry ("CBOR Object Signing and Encryption (COSE)",
https://www.iana.org/assignments/cose/cose.xhtml). Unknown code points stay plain ``int``s:
:func:`coerce_alg` returns an :class:`Algorithm` when the value is registered here and the int
otherwise, so a decoder never loses information and never raises on an unknown number.

:data:`ALGORITHMS` describes each algorithm this package implements (what it is for, the key type
and curves it needs, the hash, the key and tag lengths); :func:`alg_info` looks one up and raises
:class:`~iotsec.errors.UnsupportedError` for the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum

from iotsec.errors import UnsupportedError


class Algorithm(IntEnum):
    """IANA "COSE Algorithms" registry (RFC 9052, RFC 9053, RFC 9459, RFC 9864, RFC 8230)."""

    # -- signatures: RFC 9053 §2, fully-specified ones RFC 9864 §2
    ES256 = -7  # ECDSA w/ SHA-256 (polymorphic; RFC 9864 deprecates it for new uses)
    ES384 = -35
    ES512 = -36
    EDDSA = -8  # EdDSA (polymorphic: Ed25519 or Ed448 by key)
    ESP256 = -9  # RFC 9864: ECDSA using P-256 curve and SHA-256
    ESP384 = -51  # RFC 9864: ECDSA using P-384 curve and SHA-384
    ESP512 = -52  # RFC 9864: ECDSA using P-521 curve and SHA-512
    ED25519 = -19  # RFC 9864: EdDSA using the Ed25519 parameter set
    ED448 = -53  # RFC 9864: EdDSA using the Ed448 parameter set
    PS256 = -37  # RFC 8230 RSASSA-PSS (registry entry; not implemented)
    PS384 = -38
    PS512 = -39
    RS256 = -257  # RFC 8812 RSASSA-PKCS1-v1_5 (registry entry; not implemented)
    # -- MAC: RFC 9053 §3
    HMAC_256_64 = 4  # "HMAC 256/64"
    HMAC_256_256 = 5
    HMAC_384_384 = 6
    HMAC_512_512 = 7
    AES_MAC_128_64 = 14  # RFC 9053 §3.2 (CBC-MAC)
    AES_MAC_256_64 = 15
    AES_MAC_128_128 = 25
    AES_MAC_256_128 = 26
    # -- content encryption: RFC 9053 §4, RFC 9459
    A128GCM = 1
    A192GCM = 2
    A256GCM = 3
    AES_CCM_16_64_128 = 10
    AES_CCM_16_64_256 = 11
    AES_CCM_64_64_128 = 12
    AES_CCM_64_64_256 = 13
    AES_CCM_16_128_128 = 30
    AES_CCM_16_128_256 = 31
    AES_CCM_64_128_128 = 32
    AES_CCM_64_128_256 = 33
    CHACHA20_POLY1305 = 24  # "ChaCha20/Poly1305"
    A128CTR = -65534  # RFC 9459 (not AEAD: only under a signature or MAC)
    A192CTR = -65533
    A256CTR = -65532
    A128CBC = -65531
    A192CBC = -65530
    A256CBC = -65529
    # -- key distribution: RFC 9053 §6
    DIRECT = -6
    DIRECT_HKDF_SHA_256 = -10
    DIRECT_HKDF_SHA_512 = -11
    DIRECT_HKDF_AES_128 = -12
    DIRECT_HKDF_AES_256 = -13
    A128KW = -3
    A192KW = -4
    A256KW = -5
    ECDH_ES_HKDF_256 = -25  # "ECDH-ES + HKDF-256"
    ECDH_ES_HKDF_512 = -26
    ECDH_SS_HKDF_256 = -27
    ECDH_SS_HKDF_512 = -28
    ECDH_ES_A128KW = -29  # "ECDH-ES + A128KW"
    ECDH_ES_A192KW = -30
    ECDH_ES_A256KW = -31
    ECDH_SS_A128KW = -32
    ECDH_SS_A192KW = -33
    ECDH_SS_A256KW = -34
    # -- hashes: RFC 9054 (used by SUIT digests, x5t)
    SHA_1 = -14
    SHA_256_64 = -15
    SHA_256 = -16
    SHA_512_256 = -17
    SHAKE128 = -18
    SHA_384 = -43
    SHA_512 = -44
    SHAKE256 = -45
    # -- HSS-LMS: RFC 8778 (registry entry; not implemented yet)
    HSS_LMS = -46

    @property
    def iana_name(self) -> str:
        """The name in the IANA registry, e.g. ``HMAC 256/256`` or ``ECDH-ES + HKDF-256``."""
        return _IANA_NAMES.get(self, self.name.replace("_", "-"))


_IANA_NAMES: dict[Algorithm, str] = {
    Algorithm.EDDSA: "EdDSA",
    Algorithm.ED25519: "Ed25519",
    Algorithm.ED448: "Ed448",
    Algorithm.HMAC_256_64: "HMAC 256/64",
    Algorithm.HMAC_256_256: "HMAC 256/256",
    Algorithm.HMAC_384_384: "HMAC 384/384",
    Algorithm.HMAC_512_512: "HMAC 512/512",
    Algorithm.AES_MAC_128_64: "AES-MAC 128/64",
    Algorithm.AES_MAC_256_64: "AES-MAC 256/64",
    Algorithm.AES_MAC_128_128: "AES-MAC 128/128",
    Algorithm.AES_MAC_256_128: "AES-MAC 256/128",
    Algorithm.CHACHA20_POLY1305: "ChaCha20/Poly1305",
    Algorithm.DIRECT: "direct",
    Algorithm.DIRECT_HKDF_SHA_256: "direct+HKDF-SHA-256",
    Algorithm.DIRECT_HKDF_SHA_512: "direct+HKDF-SHA-512",
    Algorithm.DIRECT_HKDF_AES_128: "direct+HKDF-AES-128",
    Algorithm.DIRECT_HKDF_AES_256: "direct+HKDF-AES-256",
    Algorithm.ECDH_ES_HKDF_256: "ECDH-ES + HKDF-256",
    Algorithm.ECDH_ES_HKDF_512: "ECDH-ES + HKDF-512",
    Algorithm.ECDH_SS_HKDF_256: "ECDH-SS + HKDF-256",
    Algorithm.ECDH_SS_HKDF_512: "ECDH-SS + HKDF-512",
    Algorithm.ECDH_ES_A128KW: "ECDH-ES + A128KW",
    Algorithm.ECDH_ES_A192KW: "ECDH-ES + A192KW",
    Algorithm.ECDH_ES_A256KW: "ECDH-ES + A256KW",
    Algorithm.ECDH_SS_A128KW: "ECDH-SS + A128KW",
    Algorithm.ECDH_SS_A192KW: "ECDH-SS + A192KW",
    Algorithm.ECDH_SS_A256KW: "ECDH-SS + A256KW",
    Algorithm.SHA_1: "SHA-1",
    Algorithm.SHA_256_64: "SHA-256/64",
    Algorithm.SHA_256: "SHA-256",
    Algorithm.SHA_512_256: "SHA-512/256",
    Algorithm.SHA_384: "SHA-384",
    Algorithm.SHA_512: "SHA-512",
    Algorithm.HSS_LMS: "HSS-LMS",
}

# Extra spellings accepted by :func:`alg_from_name` (JOSE names used in the COSE WG examples).
_ALIASES: dict[str, Algorithm] = {
    "HS256": Algorithm.HMAC_256_256,
    "HS256/64": Algorithm.HMAC_256_64,
    "HS384": Algorithm.HMAC_384_384,
    "HS512": Algorithm.HMAC_512_512,
    "ECDH-ES": Algorithm.ECDH_ES_HKDF_256,
    "ECDH-ES-512": Algorithm.ECDH_ES_HKDF_512,
    "ECDH-SS": Algorithm.ECDH_SS_HKDF_256,
    "ECDH-SS-512": Algorithm.ECDH_SS_HKDF_512,
    "ECDH-ES-A128KW": Algorithm.ECDH_ES_A128KW,
    "ECDH-ES-A192KW": Algorithm.ECDH_ES_A192KW,
    "ECDH-ES-A256KW": Algorithm.ECDH_ES_A256KW,
    "ECDH-SS-A128KW": Algorithm.ECDH_SS_A128KW,
    "ECDH-SS-A192KW": Algorithm.ECDH_SS_A192KW,
    "ECDH-SS-A256KW": Algorithm.ECDH_SS_A256KW,
    "AES-MAC-128/64": Algorithm.AES_MAC_128_64,
    "AES-MAC-256/64": Algorithm.AES_MAC_256_64,
    "AES-MAC-128/128": Algorithm.AES_MAC_128_128,
    "AES-MAC-256/128": Algorithm.AES_MAC_256_128,
    "HKDF-HMAC-SHA-256": Algorithm.DIRECT_HKDF_SHA_256,
    "HKDF-HMAC-SHA-512": Algorithm.DIRECT_HKDF_SHA_512,
    "HKDF-AES-128": Algorithm.DIRECT_HKDF_AES_128,
    "HKDF-AES-256": Algorithm.DIRECT_HKDF_AES_256,
}


def _norm(name: str) -> str:
    return name.strip().upper().replace(" ", "").replace("_", "-")


_BY_NAME: dict[str, Algorithm] = {}
for _a in Algorithm:
    _BY_NAME[_norm(_a.name)] = _a
    _BY_NAME[_norm(_a.iana_name)] = _a
for _n, _a in _ALIASES.items():
    _BY_NAME[_norm(_n)] = _a


def alg_from_name(name: str) -> Algorithm:
    """Parse an algorithm name: IANA (``HMAC 256/256``), Python (``HMAC_256_256``) or JOSE (``HS256``).

    A decimal integer string (``"-7"``) is accepted too.
    """
    key = _norm(name)
    if key in _BY_NAME:
        return _BY_NAME[key]
    try:
        return Algorithm(int(name))
    except ValueError:
        pass
    raise UnsupportedError(f"unknown COSE algorithm name {name!r}", reason="cose.alg.unknown")


def coerce_alg(value: int | str) -> Algorithm | int | str:
    """Map a header value to :class:`Algorithm` when registered here; keep unknown values as they are.

    RFC 9052 §3.1: ``alg`` is ``int / tstr``; text names are not registered by IANA and stay text.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        try:
            return Algorithm(value)
        except ValueError:
            return value
    return value


def alg_label(value: object) -> str:
    """A human label for a header ``alg`` value: ``ES256``, ``HMAC 256/256``, or the raw value."""
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return Algorithm(value).iana_name
        except ValueError:
            return str(value)
    return repr(value)


class KeyType(IntEnum):
    """IANA "COSE Key Types" registry (RFC 9053 §7, RFC 8230, RFC 8778)."""

    OKP = 1
    EC2 = 2
    RSA = 3
    SYMMETRIC = 4
    HSS_LMS = 5
    WALNUT_DSA = 6


class Curve(IntEnum):
    """IANA "COSE Elliptic Curves" registry (RFC 9053 §7.1)."""

    P_256 = 1
    P_384 = 2
    P_521 = 3
    X25519 = 4
    X448 = 5
    ED25519 = 6
    ED448 = 7
    SECP256K1 = 8

    @property
    def jwk_name(self) -> str:
        """The JOSE/JWK name (RFC 7518 §6.2.1.1, RFC 8037 §2): ``P-256``, ``Ed25519``..."""
        return _CURVE_JWK[self]


_CURVE_JWK: dict[Curve, str] = {
    Curve.P_256: "P-256",
    Curve.P_384: "P-384",
    Curve.P_521: "P-521",
    Curve.X25519: "X25519",
    Curve.X448: "X448",
    Curve.ED25519: "Ed25519",
    Curve.ED448: "Ed448",
    Curve.SECP256K1: "secp256k1",
}
CURVE_BY_JWK_NAME: dict[str, Curve] = {v: k for k, v in _CURVE_JWK.items()}

#: Coordinate / scalar size in bytes of each curve (RFC 9053 §7.1.1, §7.2).
CURVE_SIZE: dict[Curve, int] = {
    Curve.P_256: 32,
    Curve.P_384: 48,
    Curve.P_521: 66,
    Curve.X25519: 32,
    Curve.X448: 56,
    Curve.ED25519: 32,
    Curve.ED448: 57,
    Curve.SECP256K1: 32,
}


class KeyOp(IntEnum):
    """``key_ops`` values, RFC 9052 §7.1 table 5."""

    SIGN = 1
    VERIFY = 2
    ENCRYPT = 3
    DECRYPT = 4
    WRAP_KEY = 5
    UNWRAP_KEY = 6
    DERIVE_KEY = 7
    DERIVE_BITS = 8
    MAC_CREATE = 9
    MAC_VERIFY = 10


class AlgKind(Enum):
    """What an algorithm is for."""

    SIGNATURE = "signature"
    MAC = "mac"
    CONTENT = "content"  # AEAD or RFC 9459 non-AEAD content encryption
    KEY_WRAP = "key-wrap"
    DIRECT = "direct"  # direct, direct+HKDF
    KEY_AGREEMENT = "key-agreement"  # ECDH-ES/SS (+HKDF or +KW)
    HASH = "hash"


@dataclass(frozen=True)
class AlgInfo:
    """Facts about one implemented algorithm (RFC 9053 tables)."""

    alg: Algorithm
    kind: AlgKind
    key_types: tuple[KeyType, ...]
    curves: tuple[Curve, ...] = ()  # allowed curves; empty: any of the key type's curves
    hash_name: str | None = None  # "sha256"... for ECDSA, HMAC, HKDF
    key_bytes: int | None = None  # symmetric key length (MAC, content, key wrap)
    tag_bytes: int | None = None  # MAC tag / AEAD tag length
    nonce_bytes: int | None = None  # IV length for content encryption
    aead: bool = True  # content algorithms: False for RFC 9459 CTR/CBC
    wrap_alg: Algorithm | None = None  # ECDH-ES + AxxxKW: the key wrap used


_EC = (KeyType.EC2,)
_OKP = (KeyType.OKP,)
_SYM = (KeyType.SYMMETRIC,)
_NIST = (Curve.P_256, Curve.P_384, Curve.P_521)
_ECDH_KT = (KeyType.EC2, KeyType.OKP)
_ECDH_CURVES = (Curve.P_256, Curve.P_384, Curve.P_521, Curve.X25519, Curve.X448)


def _i(alg: Algorithm, kind: AlgKind, kt: tuple[KeyType, ...], **kw: object) -> tuple[Algorithm, AlgInfo]:
    return alg, AlgInfo(alg, kind, kt, **kw)  # type: ignore[arg-type]


def _ecdh_kw(alg: Algorithm, wrap: Algorithm, key_bytes: int) -> tuple[Algorithm, AlgInfo]:
    """RFC 9053 §6.4.1: ECDH-ES/SS + AES key wrap (``wrap``), all with HKDF SHA-256."""
    return _i(
        alg,
        AlgKind.KEY_AGREEMENT,
        _ECDH_KT,
        curves=_ECDH_CURVES,
        hash_name="sha256",
        key_bytes=key_bytes,
        wrap_alg=wrap,
    )


_SIG, _MAC, _CON = AlgKind.SIGNATURE, AlgKind.MAC, AlgKind.CONTENT
_KW, _DIR, _KA = AlgKind.KEY_WRAP, AlgKind.DIRECT, AlgKind.KEY_AGREEMENT

#: The algorithms implemented by :mod:`iotsec.core.cose`.
ALGORITHMS: dict[Algorithm, AlgInfo] = dict(
    [
        # RFC 9053 §2.1: ES* are polymorphic (any NIST curve is accepted; the matching size is
        # only "suggested"); RFC 9864 §2.1: ESP* fix the curve.
        _i(Algorithm.ES256, _SIG, _EC, curves=_NIST, hash_name="sha256"),
        _i(Algorithm.ES384, _SIG, _EC, curves=_NIST, hash_name="sha384"),
        _i(Algorithm.ES512, _SIG, _EC, curves=_NIST, hash_name="sha512"),
        _i(Algorithm.ESP256, _SIG, _EC, curves=(Curve.P_256,), hash_name="sha256"),
        _i(Algorithm.ESP384, _SIG, _EC, curves=(Curve.P_384,), hash_name="sha384"),
        _i(Algorithm.ESP512, _SIG, _EC, curves=(Curve.P_521,), hash_name="sha512"),
        # RFC 9053 §2.2; RFC 9864 §2.2
        _i(Algorithm.EDDSA, _SIG, _OKP, curves=(Curve.ED25519, Curve.ED448)),
        _i(Algorithm.ED25519, _SIG, _OKP, curves=(Curve.ED25519,)),
        _i(Algorithm.ED448, _SIG, _OKP, curves=(Curve.ED448,)),
        # RFC 9053 §3.1 table 3
        _i(Algorithm.HMAC_256_64, _MAC, _SYM, hash_name="sha256", key_bytes=32, tag_bytes=8),
        _i(Algorithm.HMAC_256_256, _MAC, _SYM, hash_name="sha256", key_bytes=32, tag_bytes=32),
        _i(Algorithm.HMAC_384_384, _MAC, _SYM, hash_name="sha384", key_bytes=48, tag_bytes=48),
        _i(Algorithm.HMAC_512_512, _MAC, _SYM, hash_name="sha512", key_bytes=64, tag_bytes=64),
        # RFC 9053 §3.2 table 4 (AES CBC-MAC)
        _i(Algorithm.AES_MAC_128_64, _MAC, _SYM, key_bytes=16, tag_bytes=8),
        _i(Algorithm.AES_MAC_256_64, _MAC, _SYM, key_bytes=32, tag_bytes=8),
        _i(Algorithm.AES_MAC_128_128, _MAC, _SYM, key_bytes=16, tag_bytes=16),
        _i(Algorithm.AES_MAC_256_128, _MAC, _SYM, key_bytes=32, tag_bytes=16),
        # RFC 9053 §4.1 table 5, §4.2 table 6, §4.3 table 7
        _i(Algorithm.A128GCM, _CON, _SYM, key_bytes=16, tag_bytes=16, nonce_bytes=12),
        _i(Algorithm.A192GCM, _CON, _SYM, key_bytes=24, tag_bytes=16, nonce_bytes=12),
        _i(Algorithm.A256GCM, _CON, _SYM, key_bytes=32, tag_bytes=16, nonce_bytes=12),
        _i(Algorithm.AES_CCM_16_64_128, _CON, _SYM, key_bytes=16, tag_bytes=8, nonce_bytes=13),
        _i(Algorithm.AES_CCM_16_64_256, _CON, _SYM, key_bytes=32, tag_bytes=8, nonce_bytes=13),
        _i(Algorithm.AES_CCM_64_64_128, _CON, _SYM, key_bytes=16, tag_bytes=8, nonce_bytes=7),
        _i(Algorithm.AES_CCM_64_64_256, _CON, _SYM, key_bytes=32, tag_bytes=8, nonce_bytes=7),
        _i(Algorithm.AES_CCM_16_128_128, _CON, _SYM, key_bytes=16, tag_bytes=16, nonce_bytes=13),
        _i(Algorithm.AES_CCM_16_128_256, _CON, _SYM, key_bytes=32, tag_bytes=16, nonce_bytes=13),
        _i(Algorithm.AES_CCM_64_128_128, _CON, _SYM, key_bytes=16, tag_bytes=16, nonce_bytes=7),
        _i(Algorithm.AES_CCM_64_128_256, _CON, _SYM, key_bytes=32, tag_bytes=16, nonce_bytes=7),
        _i(Algorithm.CHACHA20_POLY1305, _CON, _SYM, key_bytes=32, tag_bytes=16, nonce_bytes=12),
        # RFC 9459 §4 (CTR) and §5 (CBC): 16-byte IV, no tag
        _i(Algorithm.A128CTR, _CON, _SYM, key_bytes=16, tag_bytes=0, nonce_bytes=16, aead=False),
        _i(Algorithm.A192CTR, _CON, _SYM, key_bytes=24, tag_bytes=0, nonce_bytes=16, aead=False),
        _i(Algorithm.A256CTR, _CON, _SYM, key_bytes=32, tag_bytes=0, nonce_bytes=16, aead=False),
        _i(Algorithm.A128CBC, _CON, _SYM, key_bytes=16, tag_bytes=0, nonce_bytes=16, aead=False),
        _i(Algorithm.A192CBC, _CON, _SYM, key_bytes=24, tag_bytes=0, nonce_bytes=16, aead=False),
        _i(Algorithm.A256CBC, _CON, _SYM, key_bytes=32, tag_bytes=0, nonce_bytes=16, aead=False),
        # RFC 9053 §6.1 direct, §6.1.2 direct+HKDF
        _i(Algorithm.DIRECT, _DIR, _SYM),
        _i(Algorithm.DIRECT_HKDF_SHA_256, _DIR, _SYM, hash_name="sha256"),
        _i(Algorithm.DIRECT_HKDF_SHA_512, _DIR, _SYM, hash_name="sha512"),
        # RFC 9053 §6.2.1 AES key wrap
        _i(Algorithm.A128KW, _KW, _SYM, key_bytes=16),
        _i(Algorithm.A192KW, _KW, _SYM, key_bytes=24),
        _i(Algorithm.A256KW, _KW, _SYM, key_bytes=32),
        # RFC 9053 §6.3.1 ECDH (+HKDF) and §6.4.1 ECDH + key wrap
        _i(Algorithm.ECDH_ES_HKDF_256, _KA, _ECDH_KT, curves=_ECDH_CURVES, hash_name="sha256"),
        _i(Algorithm.ECDH_ES_HKDF_512, _KA, _ECDH_KT, curves=_ECDH_CURVES, hash_name="sha512"),
        _i(Algorithm.ECDH_SS_HKDF_256, _KA, _ECDH_KT, curves=_ECDH_CURVES, hash_name="sha256"),
        _i(Algorithm.ECDH_SS_HKDF_512, _KA, _ECDH_KT, curves=_ECDH_CURVES, hash_name="sha512"),
        _ecdh_kw(Algorithm.ECDH_ES_A128KW, Algorithm.A128KW, 16),
        _ecdh_kw(Algorithm.ECDH_ES_A192KW, Algorithm.A192KW, 24),
        _ecdh_kw(Algorithm.ECDH_ES_A256KW, Algorithm.A256KW, 32),
        _ecdh_kw(Algorithm.ECDH_SS_A128KW, Algorithm.A128KW, 16),
        _ecdh_kw(Algorithm.ECDH_SS_A192KW, Algorithm.A192KW, 24),
        _ecdh_kw(Algorithm.ECDH_SS_A256KW, Algorithm.A256KW, 32),
        # RFC 9054 hashes
        _i(Algorithm.SHA_256, AlgKind.HASH, (), hash_name="sha256"),
        _i(Algorithm.SHA_384, AlgKind.HASH, (), hash_name="sha384"),
        _i(Algorithm.SHA_512, AlgKind.HASH, (), hash_name="sha512"),
    ]
)


def alg_info(alg: object, *, kind: AlgKind | None = None) -> AlgInfo:
    """Return :class:`AlgInfo` for an implemented algorithm, else raise ``UnsupportedError``.

    With ``kind``, also refuse an algorithm of another kind (e.g. a MAC alg on a COSE_Sign1).
    """
    if isinstance(alg, bool) or not isinstance(alg, int):
        raise UnsupportedError(f"unsupported COSE algorithm {alg!r}", reason="cose.alg.unsupported")
    info: AlgInfo | None = ALGORITHMS.get(alg)  # type: ignore[call-overload]
    if info is None:
        raise UnsupportedError(f"unsupported COSE algorithm {alg_label(alg)}", reason="cose.alg.unsupported")
    if kind is not None and info.kind is not kind:
        raise UnsupportedError(
            f"{info.alg.iana_name} is a {info.kind.value} algorithm, not {kind.value}",
            reason="cose.alg.kind",
        )
    return info


__all__ = [
    "ALGORITHMS",
    "CURVE_BY_JWK_NAME",
    "CURVE_SIZE",
    "AlgInfo",
    "AlgKind",
    "Algorithm",
    "Curve",
    "KeyOp",
    "KeyType",
    "alg_from_name",
    "alg_info",
    "alg_label",
    "coerce_alg",
]
