"""COSE_Mac0 (RFC 9052 §6.2) and COSE_Mac with recipients (§6.1).

``Mac0Message.decode(data).verify(key)`` uses the symmetric key directly. A COSE_Mac carries
the MAC key for each recipient (RFC 9052 §6.1, §8.5): ``MacMessage.decode(data).verify(key)``
obtains it from the recipient that ``key`` opens (``direct``, ``direct+HKDF``, AES key wrap,
ECDH-ES/SS... through :mod:`iotsec.core.cose.recipient`), then checks the tag. The algorithm is
read from the protected bucket only (see :mod:`iotsec.core.cose.sign` for the opt-out used by
some cose-wg examples).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from iotsec.core.cose import _sig
from iotsec.core.cose._common import (
    MAC,
    MAC0,
    TAG_MAC,
    TAG_MAC0,
    alg_value,
    byte_field,
    check_aad,
    check_payload,
    decode_body,
    decode_four,
    encode_four,
    encode_message,
    headers_for,
    kid_value,
    layer_structure,
    nonempty_array,
    resolve_alg,
)
from iotsec.core.cose._recipients import make_recipients
from iotsec.core.cose.algorithms import AlgInfo, AlgKind, Algorithm, KeyOp, alg_info
from iotsec.core.cose.headers import HeaderLabel, HeaderMap, normalize_headers
from iotsec.core.cose.key import CoseKey
from iotsec.core.cose.recipient import (
    KdfParams,
    Recipient,
    RecipientSpec,
    try_recipients,
)
from iotsec.errors import ValidationError


def _mac_info(alg: object) -> AlgInfo:
    return alg_info(alg, kind=AlgKind.MAC)


def _layer_mac_info(
    protected: HeaderMap, unprotected: HeaderMap, critical: Collection[int | str], allow_unprotected_alg: bool
) -> AlgInfo:
    """The MAC algorithm of a message, from its protected bucket (RFC 9052 §3.1; ``crit`` enforced)."""
    return _mac_info(
        resolve_alg(protected, unprotected, allow_unprotected_alg=allow_unprotected_alg, critical=critical)
    )


def _default_mac_alg(key: CoseKey) -> Algorithm:
    if isinstance(key.alg, Algorithm):
        return key.alg
    return Algorithm.HMAC_256_256


def _to_be_maced(
    prefix: bytes, msg: Mac0Message | MacMessage, external_aad: bytes, detached_payload: bytes | None
) -> bytes:
    """The MAC_structure of a decoded message (RFC 9052 §6.3); the external AAD is checked first."""
    protected = msg.protected_bytes if msg.protected else b""  # protected_for_structure
    return layer_structure(prefix, protected, msg.payload, check_aad(external_aad), detached_payload)


# -- COSE_Mac0 -----------------------------------------------------------------------------------


@dataclass
class Mac0Message:
    """A decoded COSE_Mac0: ``[protected, unprotected, payload / nil, tag]``."""

    protected: HeaderMap
    protected_bytes: bytes
    unprotected: HeaderMap
    payload: bytes | None
    tag: bytes
    tagged: bool = True

    @classmethod
    def decode(cls, data: bytes) -> Mac0Message:
        """Decode a tagged (17) or untagged COSE_Mac0; typed errors only."""
        # 0xd1: the one-byte head of tag 17
        msg = decode_four(data, 0xD1, TAG_MAC0, "COSE_Mac0", "tag")
        tagged, protected, prot_bytes, unprotected, payload, tag = msg
        return cls(protected, prot_bytes, unprotected, payload, tag, tagged)

    @property
    def alg(self) -> Algorithm | int | str | None:
        """The protected ``alg``."""
        return alg_value(self.protected.get(HeaderLabel.ALG))

    @property
    def kid(self) -> bytes | None:
        """The ``kid`` header parameter from either bucket."""
        return kid_value(self.protected, self.unprotected)

    def to_be_maced(self, external_aad: bytes = b"", detached_payload: bytes | None = None) -> bytes:
        """The MAC_structure (RFC 9052 §6.3, context "MAC0")."""
        return _to_be_maced(MAC0, self, external_aad, detached_payload)

    def verify(
        self,
        key: CoseKey,
        external_aad: bytes = b"",
        detached_payload: bytes | None = None,
        *,
        critical: Collection[int | str] = (),
        allow_unprotected_alg: bool = False,
    ) -> None:
        """Check the tag with the symmetric ``key``; raise :class:`~iotsec.errors.VerifyError` if wrong."""
        info = _layer_mac_info(self.protected, self.unprotected, critical, allow_unprotected_alg)
        key.check_alg(info.alg, KeyOp.MAC_VERIFY)
        _sig.mac_verify(info, key.k, self.to_be_maced(external_aad, detached_payload), self.tag)

    def encode(self, *, tagged: bool | None = None) -> bytes:
        """Re-encode (protected bytes kept as received)."""
        return encode_message(
            [self.protected_bytes, self.unprotected, self.payload, self.tag],
            TAG_MAC0,
            self.tagged if tagged is None else tagged,
        )


def mac0(
    payload: bytes,
    key: CoseKey,
    alg: Algorithm | int | None = None,
    *,
    protected: Mapping[Any, Any] | None = None,
    unprotected: Mapping[Any, Any] | None = None,
    external_aad: bytes = b"",
    detached: bool = False,
    tagged: bool = True,
) -> bytes:
    """Make a COSE_Mac0 (RFC 9052 §6.2) with a symmetric key (HMAC 256/64 ... 512/512, AES-MAC).

    ``alg`` defaults to the key's ``alg`` or HMAC 256/256. The key's ``kid`` goes unprotected.
    """
    payload = check_payload(payload)
    given = normalize_headers(protected).get(HeaderLabel.ALG)
    info = _mac_info(alg if alg is not None else given if given is not None else _default_mac_alg(key))
    key.check_alg(info.alg, KeyOp.MAC_CREATE)
    _, prot_bytes, unprot = headers_for(info.alg, key.kid, protected, unprotected, "MAC")
    tag = _sig.mac_raw(info, key.k, layer_structure(MAC0, prot_bytes, payload, check_aad(external_aad), None))
    return encode_four(TAG_MAC0, tagged, prot_bytes, unprot, payload=None if detached else payload, last=tag)


# -- COSE_Mac ------------------------------------------------------------------------------------


@dataclass
class MacMessage:
    """A decoded COSE_Mac: ``[protected, unprotected, payload / nil, tag, [+ COSE_recipient]]``."""

    protected: HeaderMap
    protected_bytes: bytes
    unprotected: HeaderMap
    payload: bytes | None
    tag: bytes
    recipients: list[Recipient] = field(default_factory=list)
    tagged: bool = True

    @classmethod
    def decode(cls, data: bytes) -> MacMessage:
        """Decode a tagged (97) or untagged COSE_Mac; typed errors only."""
        item, tagged, protected, prot_bytes, unprotected, payload = decode_body(data, TAG_MAC, "COSE_Mac", 5)
        tag = byte_field(item[3], "tag")
        items = nonempty_array(item[4], "recipients")
        recipients = [Recipient.from_item(r, path=("recipients", i)) for i, r in enumerate(items)]
        return cls(protected, prot_bytes, unprotected, payload, tag, recipients, tagged)

    @property
    def alg(self) -> Algorithm | int | str | None:
        """The protected ``alg``."""
        return alg_value(self.protected.get(HeaderLabel.ALG))

    def to_be_maced(self, external_aad: bytes = b"", detached_payload: bytes | None = None) -> bytes:
        """The MAC_structure (RFC 9052 §6.3, context "MAC")."""
        return _to_be_maced(MAC, self, external_aad, detached_payload)

    def mac_key(
        self,
        key: CoseKey,
        *,
        critical: Collection[int | str] = (),
        allow_unprotected_alg: bool = False,
        sender_key: CoseKey | None = None,
        kdf: KdfParams | None = None,
    ) -> bytes:
        """The MAC key (CEK) this ``key`` obtains from one of the recipients."""
        info = _layer_mac_info(self.protected, self.unprotected, critical, allow_unprotected_alg)
        return try_recipients(self.recipients, key, int(info.alg), sender_key=sender_key, kdf=kdf)

    def verify(
        self,
        key: CoseKey,
        external_aad: bytes = b"",
        detached_payload: bytes | None = None,
        *,
        critical: Collection[int | str] = (),
        allow_unprotected_alg: bool = False,
        sender_key: CoseKey | None = None,
        kdf: KdfParams | None = None,
    ) -> None:
        """Obtain the MAC key through the recipients with ``key`` and check the tag.

        ``sender_key``: the sender's static public key for ECDH-SS recipients that only name it
        by kid; ``kdf``: application-profile COSE_KDF_Context inputs (RFC 9053 §5.2).
        """
        cek = self.mac_key(
            key,
            critical=critical,
            allow_unprotected_alg=allow_unprotected_alg,
            sender_key=sender_key,
            kdf=kdf,
        )
        info = _layer_mac_info(self.protected, self.unprotected, critical, allow_unprotected_alg)
        _sig.mac_verify(info, cek, self.to_be_maced(external_aad, detached_payload), self.tag)

    def encode(self, *, tagged: bool | None = None) -> bytes:
        """Re-encode (protected bytes kept as received)."""
        return encode_message(
            [
                self.protected_bytes,
                self.unprotected,
                self.payload,
                self.tag,
                [r.to_item() for r in self.recipients],
            ],
            TAG_MAC,
            self.tagged if tagged is None else tagged,
        )


def mac(
    payload: bytes,
    recipients: Sequence[RecipientSpec | CoseKey],
    alg: Algorithm | int = Algorithm.HMAC_256_256,
    *,
    protected: Mapping[Any, Any] | None = None,
    unprotected: Mapping[Any, Any] | None = None,
    external_aad: bytes = b"",
    detached: bool = False,
    tagged: bool = True,
) -> bytes:
    """Make a COSE_Mac (RFC 9052 §6.1) for one or more recipients.

    A :class:`CoseKey` recipient means ``direct`` with that symmetric key (RFC 9053 §6.1.1). A
    :class:`~iotsec.core.cose.recipient.RecipientSpec` selects any other method. RFC 9052 §8.5:
    a direct method fixes the MAC key, so it must be the only recipient; otherwise a random MAC
    key is made and conveyed to each recipient.
    """
    if not recipients:
        raise ValidationError("COSE_Mac needs at least one recipient", reason="cose.mac.recipients")
    payload = check_payload(payload)
    info = _mac_info(alg)
    specs = [
        r if isinstance(r, RecipientSpec) else RecipientSpec(int(Algorithm.DIRECT), r) for r in recipients
    ]
    built, cek = make_recipients(
        specs,
        int(info.alg),
        None,
        ("a direct key agreement recipient must be the only one", "cose.mac.direct"),
    )
    _, prot_bytes, unprot = headers_for(info.alg, None, protected, unprotected, "MAC")
    tag = _sig.mac_raw(info, cek, layer_structure(MAC, prot_bytes, payload, check_aad(external_aad), None))
    return encode_message(
        [prot_bytes, unprot, None if detached else payload, tag, [r.to_item() for r in built]],
        TAG_MAC,
        tagged,
    )


__all__ = ["Mac0Message", "MacMessage", "mac", "mac0"]
