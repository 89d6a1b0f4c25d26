"""COSE_Sign1 (RFC 9052 §4.2) and COSE_Sign with several signers (§4.1).

Signing: :func:`sign1` and :func:`sign` return the encoded message. Verifying:
``Sign1Message.decode(data).verify(key)`` and ``SignMessage.decode(data).verify(key)`` return
nothing or raise (:class:`~iotsec.errors.VerifyError` for a bad signature; other
:class:`~iotsec.errors.IotSecError` subclasses for malformed input, an unsupported or
unprotected algorithm, an unknown critical header, or a key that does not fit the algorithm).

The algorithm is read from the protected bucket only (RFC 9052 §3.1 "alg"; RFC 9052 §4.4: the
signature covers the protected bucket, so an unprotected alg could be swapped). Reading the
cose-wg examples that put ``alg`` in the unprotected bucket needs ``allow_unprotected_alg=True``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from iotsec.core.cose import _sig
from iotsec.core.cose._common import (
    SIGNATURE1,
    TAG_SIGN,
    TAG_SIGN1,
    alg_value,
    check_aad,
    check_payload,
    decode_body,
    decode_four,
    detached_or_attached,
    encode_four,
    encode_message,
    four_from_item,
    headers_for,
    kid_value,
    kids_differ,
    layer_headers,
    layer_structure,
    nonempty_array,
    protected_for_structure,
    resolve_alg,
    structure,
)
from iotsec.core.cose.algorithms import ALGORITHMS, AlgInfo, AlgKind, Algorithm, alg_info
from iotsec.core.cose.headers import (
    HeaderLabel,
    HeaderMap,
    check_buckets,
    encode_protected,
    normalize_headers,
)
from iotsec.core.cose.key import CoseKey
from iotsec.errors import IotSecError, ValidationError, VerifyError


def _choose_alg(alg: Algorithm | int | None, protected: Mapping[Any, Any] | None, key: CoseKey) -> object:
    """The explicit ``alg``, else the protected ``alg`` given, else the key's (or its curve's)."""
    if alg is not None:
        return alg
    given = normalize_headers(protected).get(HeaderLabel.ALG)
    return given if given is not None else _sig.default_sig_alg(key)


def _sig_info(alg: object) -> AlgInfo:
    if type(alg) is int:  # what alg_info returns for an implemented signature algorithm
        info = _SIG_INFO.get(alg)
        if info is not None:
            return info
    return alg_info(alg, kind=AlgKind.SIGNATURE)


# the registered signature algorithms by integer label (what alg_info returns for them)
_SIG_INFO: dict[int, AlgInfo] = {int(a): i for a, i in ALGORITHMS.items() if i.kind is AlgKind.SIGNATURE}


# -- COSE_Sign1 ----------------------------------------------------------------------------------


@dataclass
class Sign1Message:
    """A decoded COSE_Sign1: ``[protected, unprotected, payload / nil, signature]``."""

    protected: HeaderMap
    protected_bytes: bytes
    unprotected: HeaderMap
    payload: bytes | None
    signature: bytes
    tagged: bool = True

    @classmethod
    def decode(cls, data: bytes) -> Sign1Message:
        """Decode a tagged (18) or untagged COSE_Sign1; typed errors only."""
        # 0xd2: the one-byte head of tag 18
        msg = decode_four(data, 0xD2, TAG_SIGN1, "COSE_Sign1", "signature")
        tagged, protected, prot_bytes, unprotected, payload, signature = msg
        return cls(protected, prot_bytes, unprotected, payload, signature, tagged)

    @classmethod
    def from_decoded(cls, item: object) -> Sign1Message | None:
        """The message :meth:`decode` returns for a tagged COSE_Sign1 already decoded.

        ``item`` is the content of tag 18 as :func:`iotsec.core.deterministic.loads` returns it
        for bytes (at most ``cbor.DEFAULT_MAX_SIZE``) whose first byte is the tag head 0xd2: a
        caller that has decoded the message to check it (the SUIT authentication wrapper) need
        not decode it twice. None for an item of an unusual shape: then :meth:`decode` the bytes.
        Raises what :meth:`decode` raises for those bytes (header bucket checks).
        """
        fast = four_from_item(item)
        if fast is None:
            return None
        protected, prot_bytes, unprotected, payload, signature = fast
        return cls(protected, prot_bytes, unprotected, payload, signature, True)

    @property
    def alg(self) -> Algorithm | int | str | None:
        """The protected ``alg`` (None if absent from the protected bucket)."""
        return alg_value(self.protected.get(HeaderLabel.ALG))

    @property
    def kid(self) -> bytes | None:
        """The ``kid`` header parameter from either bucket."""
        return kid_value(self.protected, self.unprotected)

    def to_be_signed(self, external_aad: bytes = b"", detached_payload: bytes | None = None) -> bytes:
        """The Sig_structure (RFC 9052 §4.4, context "Signature1")."""
        return layer_structure(
            SIGNATURE1,
            self.protected_bytes if self.protected else b"",  # protected_for_structure
            self.payload,
            external_aad,
            detached_payload,
        )

    def verify(
        self,
        key: CoseKey,
        external_aad: bytes = b"",
        detached_payload: bytes | None = None,
        *,
        critical: Collection[int | str] = (),
        allow_unprotected_alg: bool = False,
    ) -> None:
        """Verify the signature with ``key`` (public or private); raise, never return a bool.

        ``critical``: header labels the application processes itself, which ``crit`` may list.
        """
        protected = self.protected
        alg = protected.get(1)
        if alg is None or 2 in protected:  # no protected alg, or crit present: the general rules
            alg = resolve_alg(
                protected, self.unprotected, allow_unprotected_alg=allow_unprotected_alg, critical=critical
            )
        _sig.verify(_sig_info(alg), key, self.to_be_signed(external_aad, detached_payload), self.signature)

    def encode(self, *, tagged: bool | None = None) -> bytes:
        """Re-encode (the protected bytes are kept as received)."""
        return encode_message(
            [self.protected_bytes, self.unprotected, self.payload, self.signature],
            TAG_SIGN1,
            self.tagged if tagged is None else tagged,
        )


def sign1(
    payload: bytes,
    key: CoseKey,
    alg: Algorithm | int | None = None,
    *,
    protected: Mapping[Any, Any] | None = None,
    unprotected: Mapping[Any, Any] | None = None,
    external_aad: bytes = b"",
    detached: bool = False,
    tagged: bool = True,
    deterministic: bool = False,
) -> bytes:
    """Make a COSE_Sign1 (RFC 9052 §4.2) over ``payload``.

    ``alg`` defaults to the key's ``alg`` or the usual algorithm of its curve (ES256 for P-256,
    EdDSA for Ed25519...); it is always put in the protected bucket. The key's ``kid`` goes in the
    unprotected bucket unless a ``kid`` is given. ``detached=True`` sends a nil payload.
    ``deterministic=True`` uses RFC 6979 ECDSA nonces (EdDSA is always deterministic).
    """
    payload = check_payload(payload)
    info = _sig_info(_choose_alg(alg, protected, key))
    _, prot_bytes, unprot = headers_for(info.alg, key.kid, protected, unprotected, "signing")
    tbs = layer_structure(SIGNATURE1, prot_bytes, payload, check_aad(external_aad), None)
    signature = _sig.sign(info, key, tbs, deterministic=deterministic)
    return encode_four(
        TAG_SIGN1, tagged, prot_bytes, unprot, payload=None if detached else payload, last=signature
    )


# -- COSE_Sign -----------------------------------------------------------------------------------


@dataclass
class Signature:
    """One COSE_Signature of a COSE_Sign: ``[protected, unprotected, signature]`` (RFC 9052 §4.1)."""

    protected: HeaderMap
    protected_bytes: bytes
    unprotected: HeaderMap
    signature: bytes

    @property
    def alg(self) -> Algorithm | int | str | None:
        """The signer's protected ``alg``."""
        return alg_value(self.protected.get(HeaderLabel.ALG))

    @property
    def kid(self) -> bytes | None:
        """The signer's ``kid``."""
        return kid_value(self.protected, self.unprotected)


@dataclass(frozen=True)
class Signer:
    """Input to :func:`sign`: one signer's key, algorithm and header buckets."""

    key: CoseKey
    alg: Algorithm | int | None = None
    protected: Mapping[Any, Any] | None = None
    unprotected: Mapping[Any, Any] | None = None


@dataclass
class SignMessage:
    """A decoded COSE_Sign: ``[protected, unprotected, payload / nil, [+ COSE_Signature]]``."""

    protected: HeaderMap
    protected_bytes: bytes
    unprotected: HeaderMap
    payload: bytes | None
    signatures: list[Signature] = field(default_factory=list)
    tagged: bool = True

    @classmethod
    def decode(cls, data: bytes) -> SignMessage:
        """Decode a tagged (98) or untagged COSE_Sign; typed errors only."""
        item, tagged, protected, prot_bytes, unprotected, payload = decode_body(
            data, TAG_SIGN, "COSE_Sign", 4
        )
        sigs = nonempty_array(item[3], "signatures")  # RFC 9052 §4.1: [+ COSE_Signature]
        out = []
        for i, s in enumerate(sigs):
            path = ("signatures", i)
            if not isinstance(s, list) or len(s) != 3:
                raise ValidationError(
                    "COSE_Signature must be an array of 3 items", reason="cose.structure", path=path
                )
            p, pb, u = layer_headers(s[0], s[1], path)
            if not isinstance(s[2], bytes):
                raise ValidationError("signature must be a byte string", reason="cose.structure", path=path)
            out.append(Signature(p, pb, u, s[2]))
        return cls(protected, prot_bytes, unprotected, payload, out, tagged)

    def to_be_signed(
        self, signature: Signature, external_aad: bytes = b"", detached_payload: bytes | None = None
    ) -> bytes:
        """The Sig_structure of one signer (RFC 9052 §4.4, context "Signature")."""
        return structure(
            "Signature",
            protected_for_structure(self.protected, self.protected_bytes),
            protected_for_structure(signature.protected, signature.protected_bytes),
            check_aad(external_aad),
            detached_or_attached(self.payload, detached_payload),
        )

    def verify_signature(
        self,
        signature: Signature,
        key: CoseKey,
        external_aad: bytes = b"",
        detached_payload: bytes | None = None,
        *,
        critical: Collection[int | str] = (),
        allow_unprotected_alg: bool = False,
    ) -> None:
        """Verify one given signer. The body's ``crit`` is honoured too (RFC 9052 §3.1)."""
        from iotsec.core.cose.headers import check_crit

        check_crit(self.protected, critical)
        alg = resolve_alg(
            signature.protected,
            signature.unprotected,
            allow_unprotected_alg=allow_unprotected_alg,
            critical=critical,
        )
        _sig.verify(
            _sig_info(alg),
            key,
            self.to_be_signed(signature, external_aad, detached_payload),
            signature.signature,
        )

    def _checker(
        self,
        external_aad: bytes,
        detached_payload: bytes | None,
        critical: Collection[int | str],
        allow_unprotected_alg: bool,
    ) -> Callable[[Signature, CoseKey], None]:
        """:meth:`verify_signature` with these arguments, for a signer and a key."""
        return partial(
            self.verify_signature,
            external_aad=external_aad,
            detached_payload=detached_payload,
            critical=critical,
            allow_unprotected_alg=allow_unprotected_alg,
        )

    def verify(
        self,
        key: CoseKey,
        external_aad: bytes = b"",
        detached_payload: bytes | None = None,
        *,
        critical: Collection[int | str] = (),
        allow_unprotected_alg: bool = False,
    ) -> Signature:
        """Verify the signature made by ``key``; return that :class:`Signature`.

        Candidates are the signers whose ``kid`` equals ``key.kid`` (all signers when either has
        no kid). RFC 9052 §4.1 leaves "how many signatures must verify" to the application: use
        :meth:`verify_all` to require every signer.
        """
        check = self._checker(external_aad, detached_payload, critical, allow_unprotected_alg)
        last: IotSecError | None = None
        for s in self.signatures:
            if kids_differ(key.kid, s.kid):
                continue
            try:
                check(s, key)
                return s
            except (VerifyError, ValidationError) as exc:
                last = exc
        if last is not None:
            raise last
        raise VerifyError("no signature made by this key", reason="cose.signature.nomatch")

    def verify_all(
        self,
        keys: Sequence[CoseKey],
        external_aad: bytes = b"",
        detached_payload: bytes | None = None,
        *,
        critical: Collection[int | str] = (),
        allow_unprotected_alg: bool = False,
    ) -> None:
        """Require every signature to verify with one of ``keys`` (matched by kid when present)."""
        check = self._checker(external_aad, detached_payload, critical, allow_unprotected_alg)
        for s in self.signatures:
            ok = False
            for key in keys:
                if kids_differ(key.kid, s.kid):
                    continue
                try:
                    check(s, key)
                    ok = True
                    break
                except (VerifyError, ValidationError):
                    continue
            if not ok:
                raise VerifyError(
                    "a signature did not verify with any given key", reason="cose.signature.invalid"
                )

    def encode(self, *, tagged: bool | None = None) -> bytes:
        """Re-encode (protected bytes kept as received)."""
        sigs = [[s.protected_bytes, s.unprotected, s.signature] for s in self.signatures]
        return encode_message(
            [self.protected_bytes, self.unprotected, self.payload, sigs],
            TAG_SIGN,
            self.tagged if tagged is None else tagged,
        )


def sign(
    payload: bytes,
    signers: Sequence[Signer | CoseKey],
    *,
    protected: Mapping[Any, Any] | None = None,
    unprotected: Mapping[Any, Any] | None = None,
    external_aad: bytes = b"",
    detached: bool = False,
    tagged: bool = True,
    deterministic: bool = False,
) -> bytes:
    """Make a COSE_Sign (RFC 9052 §4.1) with one COSE_Signature per signer.

    The body buckets usually stay empty; each signer's ``alg`` is in its own protected bucket.
    """
    if not signers:
        raise ValidationError("COSE_Sign needs at least one signer", reason="cose.sign.signers")
    payload = check_payload(payload)
    body_prot = normalize_headers(protected)
    body_unprot = normalize_headers(unprotected)
    check_buckets(body_prot, body_unprot)
    body_prot_bytes = encode_protected(body_prot)
    aad = check_aad(external_aad)
    sigs = []
    for sg in signers:
        signer = sg if isinstance(sg, Signer) else Signer(sg)
        info = _sig_info(_choose_alg(signer.alg, signer.protected, signer.key))
        _, prot_bytes, unprot = headers_for(
            info.alg, signer.key.kid, signer.protected, signer.unprotected, "signing"
        )
        tbs = structure("Signature", body_prot_bytes, prot_bytes, aad, payload)
        sigs.append([prot_bytes, unprot, _sig.sign(info, signer.key, tbs, deterministic=deterministic)])
    return encode_message(
        [body_prot_bytes, body_unprot, None if detached else payload, sigs], TAG_SIGN, tagged
    )


__all__ = ["Sign1Message", "SignMessage", "Signature", "Signer", "sign", "sign1"]
