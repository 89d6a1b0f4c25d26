"""Recipient algorithms of RFC 9053 §6 and how each obtains a key (RFC 9052 §8.5 classes)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from iotsec.core.cose.algorithms import Algorithm
from iotsec.errors import UnsupportedError


class Method(Enum):
    """Key distribution method classes (RFC 9052 §8.5)."""

    DIRECT = "direct"
    DIRECT_HKDF = "direct+hkdf"
    KEY_WRAP = "key-wrap"
    ECDH_DIRECT = "ecdh-direct"
    ECDH_WRAP = "ecdh-wrap"


@dataclass(frozen=True)
class RecipientAlg:
    """How one recipient algorithm obtains a key."""

    alg: Algorithm
    method: Method
    static: bool = False  # ECDH-SS (sender static key) rather than ECDH-ES (ephemeral)
    hash_name: str = "SHA-256"
    wrap_alg: Algorithm | None = None

    @property
    def determines_cek(self) -> bool:
        """True when the CEK is the key agreed/derived here (one recipient only, RFC 9052 §8.5.1)."""
        return self.method in (Method.DIRECT, Method.DIRECT_HKDF, Method.ECDH_DIRECT)


A = Algorithm
_RA = [
    RecipientAlg(A.DIRECT, Method.DIRECT),
    RecipientAlg(A.DIRECT_HKDF_SHA_256, Method.DIRECT_HKDF),
    RecipientAlg(A.DIRECT_HKDF_SHA_512, Method.DIRECT_HKDF, hash_name="SHA-512"),
    RecipientAlg(A.A128KW, Method.KEY_WRAP, wrap_alg=A.A128KW),
    RecipientAlg(A.A192KW, Method.KEY_WRAP, wrap_alg=A.A192KW),
    RecipientAlg(A.A256KW, Method.KEY_WRAP, wrap_alg=A.A256KW),
    RecipientAlg(A.ECDH_ES_HKDF_256, Method.ECDH_DIRECT),
    RecipientAlg(A.ECDH_ES_HKDF_512, Method.ECDH_DIRECT, hash_name="SHA-512"),
    RecipientAlg(A.ECDH_SS_HKDF_256, Method.ECDH_DIRECT, static=True),
    RecipientAlg(A.ECDH_SS_HKDF_512, Method.ECDH_DIRECT, static=True, hash_name="SHA-512"),
    RecipientAlg(A.ECDH_ES_A128KW, Method.ECDH_WRAP, wrap_alg=A.A128KW),
    RecipientAlg(A.ECDH_ES_A192KW, Method.ECDH_WRAP, wrap_alg=A.A192KW),
    RecipientAlg(A.ECDH_ES_A256KW, Method.ECDH_WRAP, wrap_alg=A.A256KW),
    RecipientAlg(A.ECDH_SS_A128KW, Method.ECDH_WRAP, static=True, wrap_alg=A.A128KW),
    RecipientAlg(A.ECDH_SS_A192KW, Method.ECDH_WRAP, static=True, wrap_alg=A.A192KW),
    RecipientAlg(A.ECDH_SS_A256KW, Method.ECDH_WRAP, static=True, wrap_alg=A.A256KW),
]
RECIPIENT_ALGS: dict[int, RecipientAlg] = {int(r.alg): r for r in _RA}


def recipient_alg(alg: object) -> RecipientAlg:
    """The :class:`RecipientAlg` of ``alg`` or :class:`UnsupportedError`."""
    if isinstance(alg, int) and not isinstance(alg, bool) and alg in RECIPIENT_ALGS:
        return RECIPIENT_ALGS[alg]
    raise UnsupportedError(f"unsupported recipient algorithm {alg!r}", reason="cose.alg.unsupported")


__all__ = ["RECIPIENT_ALGS", "Method", "RecipientAlg", "recipient_alg"]
