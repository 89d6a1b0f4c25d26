"""Authentication of a SUIT envelope (draft-ietf-suit-manifest §8.3, §8.6, §6.2).

1. The SUIT_Digest in the authentication wrapper must match the digest of the bstr-wrapped
   manifest (the bstr *with* its CBOR header, §8.3).
2. At least one COSE block (COSE_Sign1 or COSE_Mac0, detached payload = the encoded SUIT_Digest)
   must verify with one of the trust anchors. Signature and MAC checks are done by
   :mod:`iotsec.core.cose`, never here.
3. Every severable member present in the envelope must match the digest that the manifest holds
   for it (§8.4.12); a severed member without a digest in the manifest is refused.

All failures raise :class:`~iotsec.errors.VerifyError`; nothing is returned but a summary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from iotsec.core import cbor
from iotsec.core.cbor import CBORTag
from iotsec.core.cose import CoseKey, Mac0Message, MacMessage, Sign1Message, SignMessage
from iotsec.core.suit import codec
from iotsec.core.suit.codec import encode_digest
from iotsec.core.suit.digest import verify_manifest_digest, verify_severed, verify_wrapper_digest
from iotsec.core.suit.model import Authentication, Envelope
from iotsec.errors import DecodeError, IotSecError, UnsupportedError, ValidationError, VerifyError


@dataclass(frozen=True)
class AuthResult:
    """Which authentication blocks verified (index in the wrapper, COSE kind, algorithm)."""

    verified: tuple[tuple[int, str, int | str | None], ...]
    failed: tuple[tuple[int, str, str], ...]


_DECODERS: dict[int, Any] = {
    18: Sign1Message.decode,
    17: Mac0Message.decode,
    98: SignMessage.decode,
    97: MacMessage.decode,
}


def verify_blocks(
    auth: Authentication | None,
    manifest_bytes: bytes,
    trust_anchors: Sequence[CoseKey],
    *,
    digest_verified: bool = False,
) -> AuthResult:
    """§8.3: the digest covers the bstr-wrapped manifest, and a COSE block over it verifies.

    Succeeds when at least one block verifies with a trust anchor (§8.3: several blocks may use
    different algorithms or authorities); raises VerifyError otherwise. ``digest_verified``: the
    caller has already run :func:`iotsec.core.suit.digest.verify_manifest_digest` on this very
    wrapper and manifest (a caller trying several keys need not hash the manifest per key).
    """
    return _verify_blocks(auth, manifest_bytes, trust_anchors, None, digest_verified)


def _verify_blocks(
    auth: Authentication | None,
    manifest_bytes: bytes,
    trust_anchors: Sequence[CoseKey],
    pre: codec.Decoded | None,
    digest_verified: bool = False,
) -> AuthResult:
    """:func:`verify_blocks`; ``pre``: what the codec decoded of this very wrapper, if known."""
    if auth is None or not digest_verified:
        auth = verify_wrapper_digest(auth, manifest_bytes)  # suit.auth.missing, suit.digest.manifest
    blocks = auth.blocks
    if not blocks:
        raise VerifyError("the authentication wrapper holds no signature or MAC", reason="suit.auth.missing")
    # detached payload: the encoded SUIT_Digest (§8.3)
    payload = pre[0] if pre is not None else None
    if payload is None:
        payload = encode_digest(auth.digest)
    verified: list[tuple[int, str, int | str | None]] = []
    failed: list[tuple[int, str, str]] = []
    for i, block in enumerate(blocks, start=1):
        tag = _TAG_BYTES.get(block[0]) if block else None  # block_tag, inline for the usual tags
        if tag is None:
            tag = block_tag(block)
        kind = _KINDS.get(tag) or str(tag)
        try:
            msg: Sign1Message | Mac0Message | SignMessage | MacMessage | None = None
            decoder = _DECODERS.get(tag)
            if decoder is None:
                raise UnsupportedError(f"{kind} blocks are not supported", reason="suit.auth.unsupported")
            if tag == 18 and pre is not None and block[0] == 0xD2 and len(block) <= cbor.DEFAULT_MAX_SIZE:
                msg = Sign1Message.from_decoded(pre[1][i - 1])  # what decoder(block) returns
            if msg is None:
                msg = decoder(block)
                assert msg is not None
            if msg.payload is not None:
                raise ValidationError(
                    "the COSE payload must be detached (§8.3)",
                    reason="suit.auth.attached",
                    path=("authentication-wrapper", i),
                )
        except (DecodeError, ValidationError, UnsupportedError) as err:
            failed.append((i, kind, err.reason))
            continue
        ok = False
        for key in trust_anchors:
            try:
                msg.verify(key, detached_payload=payload)
            except IotSecError:
                continue
            ok = True
            break
        if ok:
            alg = msg.protected.get(1) if type(msg) is Sign1Message else None
            if type(alg) is not int:  # an int alg is what the Algorithm member converts back to
                alg = getattr(msg, "alg", None)
                alg = int(alg) if isinstance(alg, int) else alg
            verified.append((i, kind, alg))
        else:
            failed.append((i, kind, "verify.failed"))
    if not verified:
        raise VerifyError("no authentication block verifies with a trusted key", reason="suit.auth.failed")
    result = _new(AuthResult)  # as model.make_command builds objects
    d = result.__dict__
    d["verified"] = tuple(verified)
    d["failed"] = tuple(failed)
    return result


_TAG_HEADS = {b"\xd2": 18, b"\xd1": 17}
_TAG_BYTES = {0xD2: 18, 0xD1: 17}
_new = object.__new__
_KINDS = {18: "COSE_Sign1", 17: "COSE_Mac0", 98: "COSE_Sign", 97: "COSE_Mac"}


def verify_authentication(env: Envelope, trust_anchors: Sequence[CoseKey]) -> AuthResult:
    """Verify the manifest digest, the COSE blocks and the severed members of a decoded envelope."""
    result = verify_blocks(env.authentication, env.manifest_bytes, trust_anchors)
    verify_severed(env)
    return result


def authenticate(data: bytes, trust_anchors: Sequence[CoseKey]) -> tuple[Envelope, AuthResult]:
    """Parse and authenticate an envelope the way §6.2 asks: verify before parsing.

    Only the envelope map and the authentication wrapper are parsed before the digest and the
    signatures are checked over the raw manifest bytes; then the manifest is decoded, and each
    severed member only after its digest matches.
    """
    outer, pre = codec.decode_outer_for_auth(data)
    assert isinstance(outer, codec.OuterEnvelope)  # bare manifests are refused without allow_unsigned
    result = _verify_blocks(outer.authentication, outer.manifest_bytes, trust_anchors, pre)
    return codec.complete(outer, check_severed=True), result


def block_tag(block: bytes) -> int:
    """The COSE tag of an authentication block (the codec already checked it is a tagged item)."""
    if block[:1] in _TAG_HEADS:
        return _TAG_HEADS[block[:1]]
    obj = cbor.loads(block)
    return obj.tag if isinstance(obj, CBORTag) else -1


__all__ = [
    "AuthResult",
    "authenticate",
    "verify_blocks",
    "block_tag",
    "verify_authentication",
    "verify_manifest_digest",
    "verify_severed",
]


def sign_envelope(
    env: Envelope,
    *,
    keys: Sequence[tuple[CoseKey, int]] = (),
    mac_keys: Sequence[tuple[CoseKey, int]] = (),
    deterministic: bool = False,
    replace: bool = False,
) -> Envelope:
    """Add COSE_Sign1 (``keys``) and COSE_Mac0 (``mac_keys``) blocks over the manifest digest.

    §8.3: the signer first checks the existing SUIT_Digest against the manifest (no time-of-check
    to time-of-use gap), then signs the encoded SUIT_Digest as a detached payload. Existing blocks
    are kept unless ``replace``. Each key comes with its COSE algorithm.
    """
    from dataclasses import replace as dc_replace

    from iotsec.core.cose import mac0, sign1
    from iotsec.core.suit.digest import make_digest

    if env.authentication is not None:
        verify_manifest_digest(env)
        digest = env.authentication.digest
        blocks = [] if replace else list(env.authentication.blocks)
    else:
        digest = make_digest(cbor.dumps(env.manifest_bytes))
        blocks = []
    verify_severed(env)
    payload = encode_digest(digest)
    for key, alg in keys:
        blocks.append(sign1(payload, key, alg=alg, detached=True, tagged=True, deterministic=deterministic))
    for key, alg in mac_keys:
        blocks.append(mac0(payload, key, alg=alg, detached=True, tagged=True))
    return dc_replace(env, authentication=Authentication(digest, tuple(blocks)))
