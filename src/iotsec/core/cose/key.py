"""COSE_Key (RFC 9052 §7, RFC 9053 §7) with PEM/DER (PKCS#8, SPKI) and JWK (RFC 7517, RFC 8037) I/O.

A :class:`CoseKey` holds either a ``cryptography`` key object (EC2: P-256/384/521; OKP: Ed25519,
Ed448, X25519, X448) or symmetric bytes, plus the COSE_Key common parameters ``kid``, ``alg``,
``key_ops`` and ``Base IV``. Key objects are built once and kept, so verifying many messages
with one key does not re-parse it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, x448, x25519

from iotsec.core import cbor
from iotsec.core.cose._keyformats import (
    ALG,
    BASE_IV,
    CRV,
    KEY_OPS,
    KID,
    KTY,
    OKP_TYPE_CURVE,
    D,
    K,
    PrivateKey,
    PublicKey,
    X,
    Y,
    b64u_decode,
    b64u_encode,
    cose_to_jwk,
    jwk_to_cose,
    load_der,
    load_pem,
)
from iotsec.core.cose.algorithms import (
    CURVE_SIZE,
    AlgInfo,
    AlgKind,
    Algorithm,
    Curve,
    KeyOp,
    KeyType,
    alg_from_name,
    alg_info,
    alg_label,
    coerce_alg,
)
from iotsec.errors import UnsupportedError, ValidationError

_MAC, _DIRECT, _SYMMETRIC = AlgKind.MAC, AlgKind.DIRECT, KeyType.SYMMETRIC

_EC_CURVES: dict[Curve, ec.EllipticCurve] = {
    Curve.P_256: ec.SECP256R1(),
    Curve.P_384: ec.SECP384R1(),
    Curve.P_521: ec.SECP521R1(),
}
_EC_BY_NAME = {c.name: crv for crv, c in _EC_CURVES.items()}
_OKP_CURVES = (Curve.ED25519, Curve.ED448, Curve.X25519, Curve.X448)
_SIG_CURVE_DEFAULT: dict[Algorithm, Curve] = {
    Algorithm.ES256: Curve.P_256,
    Algorithm.ESP256: Curve.P_256,
    Algorithm.ES384: Curve.P_384,
    Algorithm.ESP384: Curve.P_384,
    Algorithm.ES512: Curve.P_521,
    Algorithm.ESP512: Curve.P_521,
    Algorithm.EDDSA: Curve.ED25519,
    Algorithm.ED25519: Curve.ED25519,
    Algorithm.ED448: Curve.ED448,
}


def _bad(msg: str, reason: str = "cose.key.invalid") -> ValidationError:
    return ValidationError(msg, reason=reason)


class CoseKey:
    """One COSE key: asymmetric (EC2/OKP) or symmetric, with optional ``kid``, ``alg``, ``key_ops``."""

    __slots__ = ("_k", "_private", "_public", "alg", "base_iv", "crv", "key_ops", "kid", "kty")

    def __init__(
        self,
        *,
        kty: KeyType,
        crv: Curve | None = None,
        private: PrivateKey | None = None,
        public: PublicKey | None = None,
        k: bytes | None = None,
        kid: bytes | None = None,
        alg: Algorithm | int | str | None = None,
        key_ops: Iterable[KeyOp | int | str] | None = None,
        base_iv: bytes | None = None,
    ) -> None:
        self.kty = kty
        self.crv = crv
        self._private = private
        if public is None and private is not None:
            public = private.public_key()
        self._public: PublicKey | None = public
        self._k = k
        self.kid = kid
        self.alg: Algorithm | int | str | None = coerce_alg(alg) if alg is not None else None
        self.key_ops: tuple[KeyOp | int | str, ...] = tuple(key_ops) if key_ops else ()
        self.base_iv = base_iv

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def from_cryptography(
        cls,
        key: PrivateKey | PublicKey,
        *,
        kid: bytes | str | None = None,
        alg: Algorithm | int | None = None,
    ) -> CoseKey:
        """Wrap a ``cryptography`` private or public key object."""
        kid_b = kid.encode() if isinstance(kid, str) else kid
        if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
            crv = _EC_BY_NAME.get(key.curve.name)
            if crv is None:
                raise UnsupportedError(f"unsupported EC curve {key.curve.name}", reason="cose.key.curve")
            kty = KeyType.EC2
        else:
            kty = KeyType.OKP
            crv = next((c for t, c in OKP_TYPE_CURVE if isinstance(key, t)), None)
            if crv is None:
                raise UnsupportedError(f"unsupported key type {type(key).__name__}", reason="cose.key.type")
        if _is_private(key):
            return cls(kty=kty, crv=crv, private=key, kid=kid_b, alg=alg)  # type: ignore[arg-type]
        return cls(kty=kty, crv=crv, public=key, kid=kid_b, alg=alg)  # type: ignore[arg-type]

    @classmethod
    def symmetric(
        cls, k: bytes, *, alg: Algorithm | int | None = None, kid: bytes | str | None = None
    ) -> CoseKey:
        """A Symmetric COSE key (RFC 9053 §7.3). With ``alg``, the length must fit the algorithm."""
        if not isinstance(k, bytes) or not k:
            raise _bad("symmetric key must be non-empty bytes")
        key = cls(kty=KeyType.SYMMETRIC, k=k, kid=kid.encode() if isinstance(kid, str) else kid, alg=alg)
        if alg is not None:
            key.check_alg(alg)
        return key

    @classmethod
    def generate(
        cls,
        alg: Algorithm | int | str,
        *,
        kid: bytes | str | None = None,
        curve: Curve | None = None,
        rng: Callable[[int], bytes] = os.urandom,
    ) -> CoseKey:
        """A fresh key for ``alg`` (curve from the algorithm, P-256/X25519 for ECDH unless ``curve``)."""
        a = alg_from_name(alg) if isinstance(alg, str) else alg
        info = alg_info(a)
        kid_b = kid.encode() if isinstance(kid, str) else kid
        if info.key_types == (KeyType.SYMMETRIC,):
            n = info.key_bytes or 32
            return cls.symmetric(rng(n), alg=info.alg, kid=kid_b)
        crv = curve or _SIG_CURVE_DEFAULT.get(info.alg, Curve.P_256)
        priv: PrivateKey
        if crv in _EC_CURVES:
            priv = ec.generate_private_key(_EC_CURVES[crv])
        elif crv == Curve.ED25519:
            priv = ed25519.Ed25519PrivateKey.generate()
        elif crv == Curve.ED448:
            priv = ed448.Ed448PrivateKey.generate()
        elif crv == Curve.X25519:
            priv = x25519.X25519PrivateKey.generate()
        elif crv == Curve.X448:
            priv = x448.X448PrivateKey.generate()
        else:
            raise UnsupportedError(f"cannot generate a key on {crv!r}", reason="cose.key.curve")
        key = cls.from_cryptography(priv, kid=kid_b, alg=info.alg)
        key.check_alg(info.alg)
        return key

    @classmethod
    def from_pem(
        cls,
        data: bytes | str,
        password: bytes | None = None,
        *,
        kid: bytes | str | None = None,
        alg: Algorithm | int | None = None,
    ) -> CoseKey:
        """Load a PEM private key (PKCS#8/SEC1, optionally encrypted), public key (SPKI) or certificate."""
        return cls.from_cryptography(load_pem(data, password), kid=kid, alg=alg)

    @classmethod
    def from_der(
        cls,
        data: bytes,
        password: bytes | None = None,
        *,
        kid: bytes | str | None = None,
        alg: Algorithm | int | None = None,
    ) -> CoseKey:
        """Load a DER private key (PKCS#8), public key (SPKI) or X.509 certificate."""
        return cls.from_cryptography(load_der(data, password), kid=kid, alg=alg)

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any] | str | bytes) -> CoseKey:
        """Load a JWK (RFC 7517; EC RFC 7518 §6.2, OKP RFC 8037 §2, oct RFC 7518 §6.4).

        ``kid`` (a JSON string) becomes its UTF-8 bytes; ``alg`` may be a JOSE or COSE name.
        """
        m, kid, alg, ops = jwk_to_cose(jwk)
        key = cls.from_cose(m)
        key.kid, key.alg, key.key_ops = kid, alg, tuple(ops or ())
        return key

    @classmethod
    def from_cose(cls, data: bytes | Mapping[Any, Any]) -> CoseKey:
        """Decode a COSE_Key (RFC 9052 §7): encoded bytes or an already decoded map."""
        m = cbor.loads(data) if isinstance(data, (bytes, bytearray, memoryview)) else data
        if not isinstance(m, Mapping):
            raise ValidationError("COSE_Key must be a map", reason="cose.key.type")
        kty = m.get(KTY)
        if isinstance(kty, bool) or not isinstance(kty, (int, str)):
            raise _bad("COSE_Key kty (1) is missing or not int/tstr", "cose.key.kty")
        kid = m.get(KID)
        if kid is not None and not isinstance(kid, bytes):
            raise _bad("COSE_Key kid (2) must be a bstr")
        alg = m.get(ALG)
        if alg is not None and (isinstance(alg, bool) or not isinstance(alg, (int, str))):
            raise _bad("COSE_Key alg (3) must be int or tstr")
        ops = m.get(KEY_OPS)
        if ops is not None and (
            not isinstance(ops, list)
            or not all(isinstance(o, (int, str)) and not isinstance(o, bool) for o in ops)
        ):
            raise _bad("COSE_Key key_ops (4) must be an array of int/tstr")
        base_iv = m.get(BASE_IV)
        if base_iv is not None and not isinstance(base_iv, bytes):
            raise _bad("COSE_Key Base IV (5) must be a bstr")
        common: dict[str, Any] = {
            "kid": kid,
            "alg": alg,
            "base_iv": base_iv,
            "key_ops": [_coerce_op(o) for o in ops] if ops else None,
        }
        if kty == KeyType.SYMMETRIC:
            k = m.get(K)
            if not isinstance(k, bytes) or not k:
                raise _bad("Symmetric COSE_Key needs a non-empty k (-1)")
            return cls(kty=KeyType.SYMMETRIC, k=k, **common)
        if kty == KeyType.EC2:
            return _ec2_from_map(m, common)
        if kty == KeyType.OKP:
            return _okp_from_map(m, common)
        raise UnsupportedError(f"unsupported COSE key type {kty!r}", reason="cose.key.kty")

    @classmethod
    def load(cls, data: bytes, password: bytes | None = None) -> CoseKey:
        """Sniff the format of a key file: PEM, JWK (JSON), COSE_Key (CBOR) or DER."""
        stripped = data.lstrip()
        if stripped.startswith(b"-----BEGIN"):
            return cls.from_pem(data, password)
        if stripped.startswith(b"{"):
            return cls.from_jwk(data)
        if stripped[:1] == b"\x30":
            return cls.from_der(data, password)
        return cls.from_cose(data)

    # -- properties ---------------------------------------------------------------------------

    @property
    def has_private(self) -> bool:
        """True for a private asymmetric key or a symmetric key."""
        return self._private is not None or self._k is not None

    @property
    def private_key(self) -> PrivateKey:
        """The ``cryptography`` private key object (``ValidationError`` if this key is public)."""
        if self._private is None:
            raise ValidationError("this COSE key has no private part", reason="cose.key.not_private")
        return self._private

    @property
    def public_key(self) -> PublicKey:
        """The ``cryptography`` public key object (``ValidationError`` for symmetric keys)."""
        if self._public is None:
            raise ValidationError("a symmetric COSE key has no public key", reason="cose.key.symmetric")
        return self._public

    @property
    def k(self) -> bytes:
        """The secret of a Symmetric key (``ValidationError`` for asymmetric keys)."""
        if self._k is None:
            raise ValidationError("not a symmetric COSE key", reason="cose.key.not_symmetric")
        return self._k

    def public(self) -> CoseKey:
        """The public part (same kid/alg/key_ops); a symmetric key has none."""
        if self.kty == KeyType.SYMMETRIC:
            raise ValidationError("a symmetric COSE key has no public part", reason="cose.key.symmetric")
        return CoseKey(
            kty=self.kty,
            crv=self.crv,
            public=self._public,
            kid=self.kid,
            alg=self.alg,
            key_ops=self.key_ops,
            base_iv=self.base_iv,
        )

    def check_alg(self, alg: object, op: KeyOp | None = None) -> None:
        """Raise unless this key may be used with ``alg`` (and ``op`` if given).

        RFC 9052 §7.1: a key's ``alg`` restricts it to that algorithm, ``key_ops`` to those
        operations; RFC 9053 §2-§7: the key type and curve must fit the algorithm.
        """
        self.check_info(alg_info(alg), op)

    def check_info(self, info: AlgInfo, op: KeyOp | None = None) -> None:
        """:meth:`check_alg` for an algorithm already looked up (the verification hot path)."""
        if self.alg is not None and self.alg != info.alg:
            raise ValidationError(
                f"key is restricted to {alg_label(self.alg)}, not {info.alg.iana_name}",
                reason="cose.key.alg_mismatch",
            )
        if self.kty not in info.key_types:
            raise ValidationError(
                f"{info.alg.iana_name} needs a {'/'.join(t.name for t in info.key_types)} key, "
                f"not {self.kty.name}",
                reason="cose.key.alg_mismatch",
            )
        if info.curves and self.crv not in info.curves:
            raise ValidationError(
                f"{info.alg.iana_name} cannot use curve {self.crv.name if self.crv else None}",
                reason="cose.key.alg_mismatch",
            )
        # RFC 9053 §3.1: an HMAC key may be longer than the hash output; other keys are exact
        # module constants, not enum attribute look-ups (EnumType.__getattr__ is slow)
        hmac_ok = info.kind is _MAC and info.hash_name is not None
        if (
            self.kty == _SYMMETRIC
            and info.key_bytes
            and info.kind is not _DIRECT
            and len(self.k) != info.key_bytes
            and not (hmac_ok and len(self.k) >= info.key_bytes)
        ):
            raise ValidationError(
                f"{info.alg.iana_name} needs a {info.key_bytes}-byte key, not {len(self.k)}",
                reason="cose.key.length",
            )
        if op is not None and self.key_ops and op not in self.key_ops:
            raise ValidationError(f"key_ops of this key do not allow {op.name}", reason="cose.key.ops")

    # -- export -------------------------------------------------------------------------------

    def to_cose_map(self, *, private: bool = True) -> dict[int, Any]:
        """The COSE_Key map (RFC 9052 §7); ``private=False`` leaves out ``d`` / ``k``."""
        m: dict[int, Any] = {KTY: int(self.kty)}
        if self.kid is not None:
            m[KID] = self.kid
        if self.alg is not None:
            m[ALG] = int(self.alg) if isinstance(self.alg, int) else self.alg
        if self.key_ops:
            m[KEY_OPS] = [int(o) if isinstance(o, int) else o for o in self.key_ops]
        if self.base_iv is not None:
            m[BASE_IV] = self.base_iv
        if self.kty == KeyType.SYMMETRIC:
            if not private:
                raise ValidationError(
                    "a symmetric key cannot be exported without its secret", reason="cose.key.symmetric"
                )
            m[K] = self.k
            return m
        assert self.crv is not None and self._public is not None
        m[CRV] = int(self.crv)
        size = CURVE_SIZE[self.crv]
        if isinstance(self._public, ec.EllipticCurvePublicKey):
            nums = self._public.public_numbers()
            m[X], m[Y] = nums.x.to_bytes(size, "big"), nums.y.to_bytes(size, "big")
            if private and isinstance(self._private, ec.EllipticCurvePrivateKey):
                m[D] = self._private.private_numbers().private_value.to_bytes(size, "big")
        else:
            m[X] = self._public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            if private and self._private is not None:
                m[D] = self._private.private_bytes(
                    serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
                )
        return m

    def encode(self, *, private: bool = True) -> bytes:
        """The deterministic CBOR encoding of the COSE_Key."""
        return cbor.dumps(self.to_cose_map(private=private))

    def thumbprint(self, hash_name: str = "sha256") -> bytes:
        """COSE Key Thumbprint (RFC 9679 §3): hash of the deterministic CBOR of the required members.

        Required members (RFC 9679 §4): EC2 kty, crv, x, y; OKP kty, crv, x; Symmetric kty, k.
        """
        m = self.to_cose_map(private=self.kty == KeyType.SYMMETRIC)
        required = (KTY, K) if self.kty == KeyType.SYMMETRIC else (KTY, CRV, X, Y)
        try:
            h = hashlib.new(hash_name)
        except ValueError as exc:
            raise UnsupportedError(f"unknown hash {hash_name!r}", reason="cose.key.hash") from exc
        h.update(cbor.dumps({k: m[k] for k in required if k in m}))
        return h.digest()

    def thumbprint_uri(self) -> str:
        """``urn:ietf:params:oauth:ckt:sha-256:<base64url>`` (RFC 9679 §5)."""
        return "urn:ietf:params:oauth:ckt:sha-256:" + b64u_encode(self.thumbprint())

    def to_jwk(self, *, private: bool = True) -> dict[str, Any]:
        """A JWK (RFC 7517) with base64url members; ``kid`` as UTF-8 text (base64url if not UTF-8)."""
        return cose_to_jwk(self.to_cose_map(private=private), self.kid, self.alg, self.key_ops)

    def to_pem(self, *, private: bool = True, password: bytes | None = None) -> bytes:
        """PEM: PKCS#8 for a private key (encrypted with ``password`` if given), else SPKI."""
        return self._serialize(serialization.Encoding.PEM, private=private, password=password)

    def to_der(self, *, private: bool = True, password: bytes | None = None) -> bytes:
        """DER: PKCS#8 for a private key, else SPKI."""
        return self._serialize(serialization.Encoding.DER, private=private, password=password)

    def _serialize(self, enc: serialization.Encoding, *, private: bool, password: bytes | None) -> bytes:
        if self.kty == KeyType.SYMMETRIC:
            raise UnsupportedError("symmetric keys have no PEM/DER form", reason="cose.key.symmetric")
        if private and self._private is not None:
            algo: serialization.KeySerializationEncryption = (
                serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
            )
            return self._private.private_bytes(enc, serialization.PrivateFormat.PKCS8, algo)
        assert self._public is not None
        return self._public.public_bytes(enc, serialization.PublicFormat.SubjectPublicKeyInfo)

    def __repr__(self) -> str:
        parts = [self.kty.name]
        if self.crv is not None:
            parts.append(self.crv.name)
        if self.kid is not None:
            parts.append(f"kid={self.kid!r}")
        if self.alg is not None:
            parts.append(f"alg={alg_label(self.alg)}")
        parts.append("private" if self.has_private else "public")
        return f"CoseKey({', '.join(parts)})"  # never the secret itself

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CoseKey):
            return NotImplemented
        return self.to_cose_map(private=self.has_private) == other.to_cose_map(private=other.has_private)

    def __hash__(self) -> int:
        return hash(self.encode(private=False) if self.kty != KeyType.SYMMETRIC else self.k)


def _is_private(key: object) -> bool:
    return isinstance(
        key,
        (
            ec.EllipticCurvePrivateKey,
            ed25519.Ed25519PrivateKey,
            ed448.Ed448PrivateKey,
            x25519.X25519PrivateKey,
            x448.X448PrivateKey,
        ),
    )


def _coerce_op(o: int | str) -> KeyOp | int | str:
    if isinstance(o, int):
        try:
            return KeyOp(o)
        except ValueError:
            return o
    return o


def _curve(m: Mapping[Any, Any], allowed: Iterable[Curve]) -> Curve:
    crv = m.get(CRV)
    try:
        if isinstance(crv, bool) or not isinstance(crv, int):
            raise TypeError(crv)
        c = Curve(crv)
    except (ValueError, TypeError) as exc:
        raise UnsupportedError(f"unsupported COSE curve {crv!r}", reason="cose.key.curve") from exc
    if c not in allowed:
        raise UnsupportedError(f"curve {c.name} is not usable with this key type", reason="cose.key.curve")
    return c


def _sized(v: object, size: int, what: str) -> bytes:
    # RFC 9053 §7.1.1: "leading zero octets MUST be preserved" -> exact length
    if not isinstance(v, bytes) or len(v) != size:
        raise _bad(f"{what} must be a {size}-byte bstr")
    return v


def _ec2_from_map(m: Mapping[Any, Any], common: dict[str, Any]) -> CoseKey:
    """RFC 9053 §7.1.1: EC2 keys (x, y as bstr or the sign bit of y as bool)."""
    crv = _curve(m, _EC_CURVES)
    size = CURVE_SIZE[crv]
    curve = _EC_CURVES[crv]
    x, y, d = m.get(X), m.get(Y), m.get(D)
    public: ec.EllipticCurvePublicKey | None = None
    try:
        if x is not None:
            xb = _sized(x, size, "EC2 x (-2)")
            if isinstance(y, bool):  # point compression: y is the sign bit
                point = bytes([0x03 if y else 0x02]) + xb
                public = ec.EllipticCurvePublicKey.from_encoded_point(curve, point)
            else:
                yb = _sized(y, size, "EC2 y (-3)")
                public = ec.EllipticCurvePublicNumbers(
                    int.from_bytes(xb, "big"), int.from_bytes(yb, "big"), curve
                ).public_key()
        private = None
        if d is not None:
            db = _sized(d, size, "EC2 d (-4)")
            private = ec.derive_private_key(int.from_bytes(db, "big"), curve)
    except ValueError as exc:
        raise _bad(f"invalid EC2 key: {exc}") from exc
    if private is None and public is None:
        raise _bad("EC2 COSE_Key needs x/y or d")
    if (
        private is not None
        and public is not None
        and (private.public_key().public_numbers() != public.public_numbers())
    ):
        raise _bad("EC2 private key d does not match x/y", "cose.key.mismatch")
    return CoseKey(kty=KeyType.EC2, crv=crv, private=private, public=public, **common)


_OKP_CLASSES: dict[Curve, tuple[Any, Any]] = {
    Curve.ED25519: (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey),
    Curve.ED448: (ed448.Ed448PrivateKey, ed448.Ed448PublicKey),
    Curve.X25519: (x25519.X25519PrivateKey, x25519.X25519PublicKey),
    Curve.X448: (x448.X448PrivateKey, x448.X448PublicKey),
}


def _okp_from_map(m: Mapping[Any, Any], common: dict[str, Any]) -> CoseKey:
    """RFC 9053 §7.2: OKP keys (x public, d private, raw RFC 8032/7748 encodings)."""
    crv = _curve(m, _OKP_CURVES)
    size = CURVE_SIZE[crv]
    priv_cls, pub_cls = _OKP_CLASSES[crv]
    x, d = m.get(X), m.get(D)
    try:
        public = pub_cls.from_public_bytes(_sized(x, size, "OKP x (-2)")) if x is not None else None
        private = priv_cls.from_private_bytes(_sized(d, size, "OKP d (-4)")) if d is not None else None
    except ValueError as exc:
        raise _bad(f"invalid OKP key: {exc}") from exc
    if private is None and public is None:
        raise _bad("OKP COSE_Key needs x or d")
    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    if private is not None and public is not None and private.public_key().public_bytes(*raw) != x:
        raise _bad("OKP private key d does not match x", "cose.key.mismatch")
    return CoseKey(kty=KeyType.OKP, crv=crv, private=private, public=public, **common)


__all__ = ["CoseKey", "PrivateKey", "PublicKey", "b64u_decode", "b64u_encode"]
