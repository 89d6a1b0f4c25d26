"""COSE recipients and content-key distribution (RFC 9052 §5.1, RFC 9053 §6).

Receiving side: :func:`derive_cek` turns one decoded :class:`Recipient` and the recipient's key
into the content-encryption key (CEK) of the layer above -- a COSE_Encrypt or a COSE_Mac (which
reuses it: pass the MAC algorithm as ``content_alg``). Sending side: :func:`build_recipient`
makes a recipient structure from a :class:`RecipientSpec`.

Key distribution methods (RFC 9053 §6):

=====================  ======  ==================================================================
method                 alg     the recipient's key
=====================  ======  ==================================================================
direct                 -6      the symmetric CEK itself (§6.1.1)
direct+HKDF-SHA-256/512 -10/-11 a shared secret; CEK = HKDF(secret, COSE_KDF_Context) (§6.1.2)
A128KW/A192KW/A256KW   -3..-5  a KEK; CEK = AES-KW-unwrap(ciphertext) (§6.2.1)
ECDH-ES + HKDF-256/512 -25/-26 private key; epk (-1) from the sender; CEK = HKDF(Z, ctx) (§6.3.1)
ECDH-SS + HKDF-256/512 -27/-28 private key; sender static key (-2) or its kid (-3)
ECDH-ES + AxxxKW       -29..-31 as ECDH-ES, the derived key is a KEK for AES-KW (§6.4.1)
ECDH-SS + AxxxKW       -32..-34 as ECDH-SS, with AES-KW
=====================  ======  ==================================================================

The COSE_KDF_Context is built from the recipient's header parameters (salt, PartyU/PartyV
identity/nonce/other, RFC 9053 §5.1) unless the caller overrides them; ``supp_pub_other`` and
``supp_priv_info`` are never transmitted and come from the application profile (SUIT uses
``SuppPubInfo.other = 'SUIT Payload Encryption'``, see :mod:`iotsec.core.cose.kdf`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from iotsec.core.cose import ecdh, keywrap
from iotsec.core.cose._keymat import (
    peer_agreement_key,
    private_agreement_key,
    public_agreement_key,
    public_key_header,
    symmetric_secret,
)
from iotsec.core.cose.algorithms import alg_label
from iotsec.core.cose.headers import (
    HeaderLabel,
    encode_protected,
    normalize_headers,
)
from iotsec.core.cose.kdf import PartyInfo, hkdf, kdf_context, key_data_length
from iotsec.core.cose.key import CoseKey
from iotsec.core.cose.recipient_algs import RECIPIENT_ALGS, Method, RecipientAlg, recipient_alg
from iotsec.core.cose.recipient_struct import Recipient
from iotsec.errors import IotSecError, UnsupportedError, ValidationError, VerifyError

H = HeaderLabel


@dataclass(frozen=True)
class KdfParams:
    """Application-profile inputs to the COSE_KDF_Context that are not in the headers.

    ``party_u``/``party_v`` replace what the headers say when given (SUIT leaves both empty).
    """

    party_u: PartyInfo | None = None
    party_v: PartyInfo | None = None
    supp_pub_other: bytes | None = None
    supp_priv_info: bytes | None = None


_NO_KDF = KdfParams()
# module constants for the receiving path: enum attribute look-ups cost more than the checks
_M_DIRECT, _M_DIRECT_HKDF, _M_KEY_WRAP = Method.DIRECT, Method.DIRECT_HKDF, Method.KEY_WRAP
_SALT, _STATIC_KEY, _EPHEMERAL_KEY = int(H.SALT), int(H.STATIC_KEY), int(H.EPHEMERAL_KEY)


def _context(r: Recipient, target_alg: int, params: KdfParams) -> bytes:
    if (
        params.party_u is None
        and params.party_v is None
        and _PARTY_LABELS.isdisjoint(r.unprotected)
        and _PARTY_LABELS.isdisjoint(r.protected)
    ):
        # no PartyU/PartyV anywhere (SUIT, RFC 9053 examples): both are [nil, nil, nil]
        return kdf_context(
            target_alg,
            r.protected_bytes if r.protected else b"",
            supp_pub_other=params.supp_pub_other,
            supp_priv_info=params.supp_priv_info,
        )
    headers = {**r.protected, **r.unprotected}
    party_u = params.party_u or PartyInfo.from_headers(headers, party="u")
    party_v = params.party_v or PartyInfo.from_headers(headers, party="v")
    # RFC 9053 §5.2 SuppPubInfo.protected, like RFC 9052 §5.3: empty when there are no
    # protected parameters, whatever the sender encoded (h'' or h'a0')
    return kdf_context(
        target_alg,
        r.protected_bytes if r.protected else b"",
        party_u=party_u,
        party_v=party_v,
        supp_pub_other=params.supp_pub_other,
        supp_priv_info=params.supp_priv_info,
    )


_PARTY_LABELS = frozenset(
    int(h)
    for h in (
        H.PARTY_U_IDENTITY,
        H.PARTY_U_NONCE,
        H.PARTY_U_OTHER,
        H.PARTY_V_IDENTITY,
        H.PARTY_V_NONCE,
        H.PARTY_V_OTHER,
    )
)


def _salt(r: Recipient) -> bytes | None:
    salt = r.header(_SALT)
    if salt is not None and not isinstance(salt, bytes):
        raise ValidationError("salt must be a byte string", reason="cose.header.salt")
    return salt


def _expect_empty_ciphertext(r: Recipient, what: str) -> None:
    # RFC 9053 §6.1.1 / §6.3.1: direct methods carry a zero-length ciphertext
    if r.ciphertext not in (b"", None):
        raise ValidationError(
            f"{what} recipient must have an empty ciphertext", reason="cose.recipient.ciphertext"
        )


def _cek_length_check(cek: bytes, content_alg: int) -> bytes:
    if len(cek) * 8 != key_data_length(content_alg):
        raise ValidationError("content key has the wrong length for the algorithm", reason="cose.key.length")
    return cek


def _check_key_alg(key: CoseKey, ra: RecipientAlg, content_alg: int) -> None:
    """RFC 9052 §7.1: a key's ``alg`` restricts it to that algorithm. A direct key may name the
    content algorithm it is for instead of ``direct``."""
    alg = key.alg
    if alg is None:
        return
    if isinstance(alg, int) and (
        alg == ra.alg or (alg == content_alg and ra.method in (_M_DIRECT, _M_DIRECT_HKDF))
    ):
        return
    raise ValidationError(
        f"key is restricted to {alg_label(key.alg)}, not {ra.alg.iana_name}",
        reason="cose.key.alg_mismatch",
    )


def derive_cek(
    recipient: Recipient,
    key: CoseKey,
    content_alg: int,
    *,
    sender_key: CoseKey | None = None,
    kdf: KdfParams | None = None,
) -> bytes:
    """Obtain the CEK of the layer above from ``recipient`` with the recipient's ``key``.

    ``content_alg`` is the algorithm of the enclosing COSE_Encrypt (or COSE_Mac). For ECDH-SS,
    ``sender_key`` is the sender's static public key when the message only names it by
    ``static key id`` (-3). Raises :class:`VerifyError` when an unwrap fails, typed errors for
    malformed recipients, :class:`UnsupportedError` for unknown algorithms.
    """
    params = kdf or _NO_KDF
    ra = recipient_alg(recipient.alg)
    content_alg = int(content_alg)
    if ra.method is _M_DIRECT:
        _check_key_alg(key, ra, content_alg)
        if recipient.protected:  # RFC 9053 §6.1.1: "the 'protected' field MUST be zero length"
            raise ValidationError(
                "direct recipients have no protected headers", reason="cose.recipient.protected"
            )
        _expect_empty_ciphertext(recipient, "direct")
        return _cek_length_check(symmetric_secret(key), content_alg)
    if recipient.recipients:
        # RFC 9052 §5.1, §8.5.5 (two layers): the KEK of this key-wrap recipient is itself
        # distributed by the nested recipients, as a key for the wrap algorithm.
        if ra.method is not _M_KEY_WRAP or ra.wrap_alg is None:
            raise UnsupportedError(
                "nested recipients are supported under AES key wrap only", reason="cose.recipient.nested"
            )
        if recipient.protected:  # RFC 9053 §6.2.1
            raise ValidationError(
                "AES key wrap recipients have no protected headers", reason="cose.recipient.protected"
            )
        if not recipient.ciphertext:
            raise ValidationError("key wrap recipient has no wrapped key", reason="cose.recipient.ciphertext")
        kek = try_recipients(recipient.recipients, key, int(ra.wrap_alg), sender_key=sender_key, kdf=kdf)
        return _cek_length_check(keywrap.unwrap(ra.wrap_alg, kek, recipient.ciphertext), content_alg)
    _check_key_alg(key, ra, content_alg)  # (the nested layer checks the key itself)
    if ra.method is _M_KEY_WRAP:
        assert ra.wrap_alg is not None
        if recipient.protected:  # RFC 9053 §6.2.1: "The protected header ... MUST be empty"
            raise ValidationError(
                "AES key wrap recipients have no protected headers", reason="cose.recipient.protected"
            )
        if not recipient.ciphertext:
            raise ValidationError("key wrap recipient has no wrapped key", reason="cose.recipient.ciphertext")
        cek = keywrap.unwrap(ra.wrap_alg, symmetric_secret(key), recipient.ciphertext)
        return _cek_length_check(cek, content_alg)
    if ra.method is _M_DIRECT_HKDF:
        _expect_empty_ciphertext(recipient, "direct+HKDF")
        ctx = _context(recipient, content_alg, params)
        return hkdf(
            symmetric_secret(key),
            key_data_length(content_alg) // 8,
            ctx,
            salt=_salt(recipient),
            hash_name=ra.hash_name,
        )
    # ECDH (RFC 9053 §6.3.1, §6.4.1)
    private = private_agreement_key(key)
    if ra.static:
        peer_header = recipient.header(_STATIC_KEY)
        if peer_header is not None:
            peer = peer_agreement_key(peer_header)
        elif sender_key is not None:
            peer = public_agreement_key(sender_key)
        else:
            raise ValidationError(
                "ECDH-SS recipient without the sender's static key", reason="cose.recipient.static_key"
            )
    else:
        peer_header = recipient.header(_EPHEMERAL_KEY)
        if peer_header is None:
            raise ValidationError("ECDH-ES recipient without an ephemeral key", reason="cose.recipient.epk")
        peer = peer_agreement_key(peer_header)
    z = ecdh.shared_secret(private, peer)
    target = content_alg if ra.wrap_alg is None else int(ra.wrap_alg)
    derived = hkdf(
        z,
        key_data_length(target) // 8,
        _context(recipient, target, params),
        salt=_salt(recipient),
        hash_name=ra.hash_name,
    )
    if ra.wrap_alg is None:
        _expect_empty_ciphertext(recipient, "ECDH direct")
        return derived
    if not recipient.ciphertext:
        raise ValidationError(
            "ECDH key wrap recipient has no wrapped key", reason="cose.recipient.ciphertext"
        )
    return _cek_length_check(keywrap.unwrap(ra.wrap_alg, derived, recipient.ciphertext), content_alg)


@dataclass(frozen=True)
class RecipientSpec:
    """What a sender needs to make one recipient (see :func:`build_recipient`).

    ``key`` is the shared secret (direct, direct+HKDF), the KEK (AES-KW) or the recipient's
    public key (ECDH). ``kid`` defaults to ``key.kid``. ``sender_key`` is the sender's static
    private key for ECDH-SS; ``ephemeral_key`` fixes the ECDH-ES ephemeral private key (to
    reproduce vectors; generated otherwise). ``salt`` and ``party_u``/``party_v`` are sent as
    header parameters and enter the KDF context; ``kdf`` holds the untransmitted profile inputs.
    ``static_key_id=True`` sends the sender's kid (-3) instead of its public key (-2).
    ``compressed_point=True`` sends an EC2 ephemeral/static key with its y-coordinate as the sign
    bit (RFC 9053 §7.1.1), which saves 32-66 bytes. ``inner`` makes a two-layer recipient (RFC
    9052 §8.5.5, RFC 8152 Appendix B): this key-wrap recipient (``key=None``) wraps the CEK with
    a KEK that the ``inner`` recipients distribute (e.g. ECDH-ES + HKDF-256 for A128KW).
    """

    alg: int
    key: CoseKey | None
    kid: bytes | None = None
    sender_key: CoseKey | None = None
    ephemeral_key: CoseKey | None = None
    salt: bytes | None = None
    party_u: PartyInfo | None = None
    party_v: PartyInfo | None = None
    kdf: KdfParams = field(default_factory=KdfParams)
    protected: Mapping[Any, Any] | None = None
    unprotected: Mapping[Any, Any] | None = None
    static_key_id: bool = False
    compressed_point: bool = False
    inner: tuple[RecipientSpec, ...] = ()

    @property
    def method(self) -> RecipientAlg:
        """The :class:`RecipientAlg` for ``alg``."""
        return recipient_alg(int(self.alg))


def _party_headers(info: PartyInfo | None, labels: tuple[int, int, int]) -> dict[int, Any]:
    if info is None:
        return {}
    return {
        lbl: v
        for lbl, v in zip(labels, (info.identity, info.nonce, info.other), strict=True)
        if v is not None
    }


def build_recipient(
    spec: RecipientSpec, content_alg: int, cek: bytes | None = None
) -> tuple[Recipient, bytes]:
    """Make the recipient structure for ``spec``; return it with the CEK it conveys.

    For direct methods the CEK is determined here (``cek`` must be None); for key wrap the
    given ``cek`` (the random content key shared by all recipients) is wrapped.
    """
    ra = spec.method
    content_alg = int(content_alg)
    if spec.inner:
        return _build_two_layer(spec, ra, content_alg, cek)
    key = _need_key(spec)
    if ra.determines_cek and cek is not None:
        raise ValidationError(
            f"{ra.alg.iana_name} determines the content key; it cannot carry another",
            reason="cose.recipient.direct",
        )
    if not ra.determines_cek and cek is None:
        raise ValidationError("a key wrap recipient needs the content key", reason="cose.recipient.cek")
    _check_key_alg(key, ra, content_alg)
    if spec.sender_key is not None:
        _check_key_alg(spec.sender_key, ra, content_alg)
    alg_in_protected = ra.method in (Method.DIRECT_HKDF, Method.ECDH_DIRECT, Method.ECDH_WRAP)
    protected = normalize_headers(spec.protected)
    unprotected = normalize_headers(spec.unprotected)
    if protected and not alg_in_protected:  # RFC 9053 §6.1.1, §6.2.1: direct and key wrap
        raise ValidationError(
            f"{ra.alg.iana_name} recipients have no protected headers", reason="cose.recipient.protected"
        )
    (protected if alg_in_protected else unprotected)[int(H.ALG)] = int(ra.alg)
    kid = spec.kid if spec.kid is not None else key.kid
    if kid is not None:
        unprotected.setdefault(int(H.KID), kid)
    if spec.salt is not None:
        unprotected[int(H.SALT)] = spec.salt
    unprotected.update(_party_headers(spec.party_u, (H.PARTY_U_IDENTITY, H.PARTY_U_NONCE, H.PARTY_U_OTHER)))
    unprotected.update(_party_headers(spec.party_v, (H.PARTY_V_IDENTITY, H.PARTY_V_NONCE, H.PARTY_V_OTHER)))
    if (
        ra.method is Method.ECDH_DIRECT
        and ra.static
        and spec.salt is None
        and (spec.party_u is None or spec.party_u.nonce is None)
        and H.PARTY_U_NONCE not in unprotected
        and H.PARTY_U_NONCE not in protected
    ):
        # ECDH-SS + HKDF: two static keys always agree on the same secret, so without a salt or
        # a nonce every message would get the same content key (RFC 9053 §6.3.1 asks for one of
        # them); add a fresh PartyU nonce (RFC 9053 §5.1), as the COSE WG examples do.
        unprotected[int(H.PARTY_U_NONCE)] = os.urandom(32)
    if ra.method in (Method.ECDH_DIRECT, Method.ECDH_WRAP):
        peer = public_agreement_key(key)
        if ra.static:
            if spec.sender_key is None:
                raise ValidationError(
                    "ECDH-SS needs the sender's static private key", reason="cose.recipient.static_key"
                )
            own = private_agreement_key(spec.sender_key)
            if spec.static_key_id:
                if spec.sender_key.kid is None:
                    raise ValidationError(
                        "static key id needs a sender key with a kid", reason="cose.recipient.static_key"
                    )
                unprotected[int(H.STATIC_KEY_ID)] = spec.sender_key.kid
            else:
                unprotected[int(H.STATIC_KEY)] = public_key_header(
                    own.public_key(), compressed=spec.compressed_point
                )
        else:
            own = (
                private_agreement_key(spec.ephemeral_key) if spec.ephemeral_key else ecdh.generate_like(peer)
            )
            unprotected[int(H.EPHEMERAL_KEY)] = public_key_header(
                own.public_key(), compressed=spec.compressed_point
            )
    prot_bytes = encode_protected(protected)
    r = Recipient(protected, unprotected, b"", prot_bytes)
    params = spec.kdf  # party info not overridden here comes from the headers just built
    if ra.method is Method.DIRECT:
        return r, _cek_length_check(symmetric_secret(key), content_alg)
    if ra.method is Method.KEY_WRAP:
        assert ra.wrap_alg is not None and cek is not None
        r.ciphertext = keywrap.wrap(ra.wrap_alg, symmetric_secret(key), _cek_length_check(cek, content_alg))
        return r, cek
    if ra.method is Method.DIRECT_HKDF:
        ctx = _context(r, content_alg, params)
        return r, hkdf(
            symmetric_secret(key),
            key_data_length(content_alg) // 8,
            ctx,
            salt=spec.salt,
            hash_name=ra.hash_name,
        )
    z = ecdh.shared_secret(own, peer)
    target = content_alg if ra.wrap_alg is None else int(ra.wrap_alg)
    derived = hkdf(
        z, key_data_length(target) // 8, _context(r, target, params), salt=spec.salt, hash_name=ra.hash_name
    )
    if ra.wrap_alg is None:
        return r, derived
    assert cek is not None
    r.ciphertext = keywrap.wrap(ra.wrap_alg, derived, _cek_length_check(cek, content_alg))
    return r, cek


def _need_key(spec: RecipientSpec) -> CoseKey:
    if spec.key is None:
        raise ValidationError("this recipient needs a key", reason="cose.recipient.key")
    return spec.key


def _build_two_layer(
    spec: RecipientSpec, ra: RecipientAlg, content_alg: int, cek: bytes | None
) -> tuple[Recipient, bytes]:
    """A key-wrap recipient whose KEK the nested recipients carry (RFC 9052 §8.5.5)."""
    if ra.method is not Method.KEY_WRAP or ra.wrap_alg is None or cek is None:
        raise ValidationError(
            "nested recipients need an AES key wrap recipient above them", reason="cose.recipient.nested"
        )
    wrap_alg = int(ra.wrap_alg)
    direct = [s for s in spec.inner if s.method.determines_cek]
    if direct and len(spec.inner) > 1:
        raise ValidationError("a direct inner recipient must be alone", reason="cose.recipient.direct")
    if direct:
        inner_r, kek = build_recipient(direct[0], wrap_alg)
        nested = [inner_r]
    else:
        kek = random_cek(wrap_alg)
        nested = [build_recipient(s, wrap_alg, kek)[0] for s in spec.inner]
    unprotected = normalize_headers(spec.unprotected)
    unprotected[int(H.ALG)] = wrap_alg  # RFC 9053 §6.2.1: key wrap has no protected headers
    if spec.kid is not None:
        unprotected[int(H.KID)] = spec.kid
    wrapped = keywrap.wrap(ra.wrap_alg, kek, _cek_length_check(cek, content_alg))
    return Recipient({}, unprotected, wrapped, b"", nested), cek


def random_cek(content_alg: int) -> bytes:
    """A fresh random content key of the right length for ``content_alg``."""
    return os.urandom(key_data_length(content_alg) // 8)


def try_recipients(
    recipients: list[Recipient],
    key: CoseKey,
    content_alg: int,
    *,
    sender_key: CoseKey | None = None,
    kdf: KdfParams | None = None,
) -> bytes:
    """Find the CEK among ``recipients`` for ``key``.

    ``kid`` is a hint, not an identity (RFC 9052 §3.1: kid values need not be unique): recipients
    whose kid equals ``key.kid`` are tried first, then those without a kid, then the others.
    When none works, raises the error of the most relevant recipient (the first one tried).
    """
    first: IotSecError | None = None

    def rank(r: Recipient) -> int:
        if key.kid is None or r.kid == key.kid:
            return 0
        return 1 if r.kid is None else 2

    for r in sorted(recipients, key=rank) if len(recipients) > 1 else recipients:
        try:
            return derive_cek(r, key, content_alg, sender_key=sender_key, kdf=kdf)
        except (VerifyError, ValidationError, UnsupportedError) as exc:
            first = first or exc
    if first is not None:
        raise first
    raise VerifyError("no recipient matches the key", reason="cose.recipient.nomatch")


__all__ = [
    "RECIPIENT_ALGS",
    "KdfParams",
    "Method",
    "Recipient",
    "RecipientAlg",
    "RecipientSpec",
    "build_recipient",
    "derive_cek",
    "random_cek",
    "recipient_alg",
    "try_recipients",
]
