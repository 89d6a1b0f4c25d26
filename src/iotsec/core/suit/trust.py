"""Who may update what: signer authority over components and delegation chains.

draft-ietf-suit-manifest §9 (Access Control Lists) lets a device "use an ACL to determine the
extent of the rights conferred by that authenticity"; draft-ietf-suit-trust-domains reserves
envelope member 1 (suit-delegation) for delegation chains of CWTs (REQ.USE.DELEGATION of RFC 9124,
"Delegation Chain" per I-D.tschofenig-cose-cwt-chain). This module implements both:

* :class:`Authority` -- a key the device trusts, with a scope: the component identifiers (exact, or
  prefixes ending in a wildcard, as SUIT_Component_Capability ``[*bstr, ?true]`` of
  draft-ietf-suit-report) it may touch. ``scope=None`` is the whole device (e.g. the OEM).
* Delegation: ``SUIT_Delegation = [+ [+ bstr .cbor CWT]]`` where each CWT (RFC 8392, a tagged
  COSE_Sign1 verified by :mod:`iotsec.core.cose`) is issued by the previous key of the chain and
  binds a new key with the ``cnf`` claim (RFC 8747, ``{1: COSE_Key}``). Claim
  :data:`CLAIM_COMPONENTS` (private-use label) narrows the scope; a delegate never gets more
  than its issuer: scopes along a chain intersect. ``exp``/``nbf`` are checked against ``now``.
* :func:`check_authority` raises :class:`~iotsec.errors.PolicyError` ``suit.component.unauthorised``
  naming the component when none of the manifest's signers covers it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from iotsec.core import cbor
from iotsec.core.cbor import CBORTag
from iotsec.core.cose import Algorithm, CoseKey, Sign1Message, sign1
from iotsec.core.suit.model import ComponentId
from iotsec.errors import DecodeError, IotSecError, PolicyError, ValidationError, VerifyError

# RFC 8392 §3.1 claim keys, RFC 8747 §3.1 cnf / COSE_Key
CLAIM_ISS, CLAIM_SUB, CLAIM_EXP, CLAIM_NBF, CLAIM_IAT, CLAIM_CNF = 1, 2, 4, 5, 6, 8
CNF_COSE_KEY = 1
TAG_CWT = 61  # RFC 8392 §6
# Private-use CWT claim (RFC 8392 §9.1: integers below -65536): the SUIT components delegated,
# as an array of SUIT_Component_Capability ([*bstr, ?true]).
CLAIM_COMPONENTS = -70001
_new = object.__new__

Pattern = tuple[tuple[bytes, ...], bool]
"""A component id, and whether it is a prefix (SUIT_Component_Capability ending in ``true``)."""


def pattern(cid: Sequence[bytes | str], prefix: bool = False) -> Pattern:
    """A scope entry; text segments are UTF-8 encoded."""
    return tuple(s.encode() if isinstance(s, str) else bytes(s) for s in cid), prefix


def _matches(p: Pattern, cid: ComponentId) -> bool:
    segs, prefix = p
    return cid[: len(segs)] == segs if prefix else cid == segs


@dataclass(frozen=True)
class Authority:
    """A trusted key and the components it may update; ``scopes`` intersect along a chain."""

    name: str
    key: CoseKey
    scopes: tuple[tuple[Pattern, ...] | None, ...] = (None,)

    @classmethod
    def anchor(cls, name: str, key: CoseKey, scope: Iterable[Pattern] | None = None) -> Authority:
        """A trust anchor provisioned on the device (``scope=None``: every component)."""
        scopes = (None if scope is None else tuple(scope),)
        if cls is not Authority:
            return cls(name, key, scopes)
        # built as model.make_command builds objects (one per anchor and run: no frozen
        # dataclass __init__ with one __setattr__ per field)
        a = _new(Authority)
        a.__dict__.update(name=name, key=key, scopes=scopes)
        return a

    def covers(self, cid: ComponentId) -> bool:
        """True when every scope along the chain admits ``cid``."""
        for s in self.scopes:  # noqa: SIM110 - a loop: no generator per check (hot path)
            if s is not None and not any(_matches(p, cid) for p in s):
                return False
        return True

    def describe_scope(self) -> str:
        s = self.scopes[-1]
        if s is None:
            return "all components"
        return ", ".join(component_text(p[0]) + ("/*" if p[1] else "") for p in s)


def component_text(cid: ComponentId) -> str:
    """``['bootloader']`` for printable segments, ``[h'00']`` otherwise (for messages)."""
    parts = []
    for seg in cid:
        try:
            txt = seg.decode("ascii")
            parts.append(f"'{txt}'" if txt.isprintable() and txt else f"h'{seg.hex()}'")
        except UnicodeDecodeError:
            parts.append(f"h'{seg.hex()}'")
    return "[" + ", ".join(parts) + "]"


def scope_to_cbor(scope: Iterable[Pattern]) -> list[list[Any]]:
    """Scope as an array of SUIT_Component_Capability."""
    return [[*segs, True] if prefix else list(segs) for segs, prefix in scope]


def scope_from_cbor(v: Any) -> tuple[Pattern, ...]:
    if not isinstance(v, list) or not v:
        raise ValidationError("delegated components are a non-empty array", reason="suit.delegation.claims")
    out = []
    for item in v:
        if not isinstance(item, list):
            raise ValidationError("a delegated component is an array", reason="suit.delegation.claims")
        prefix = bool(item) and item[-1] is True
        segs = item[:-1] if prefix else item
        if not all(isinstance(s, bytes) for s in segs):
            raise ValidationError("component segments are byte strings", reason="suit.delegation.claims")
        out.append((tuple(segs), prefix))
    return tuple(out)


def issue_delegation(
    issuer_key: CoseKey,
    subject_key: CoseKey,
    *,
    issuer: str,
    subject: str,
    components: Iterable[Pattern] | None = None,
    not_before: int | None = None,
    expires: int | None = None,
    issued_at: int | None = None,
    alg: int | None = None,
) -> bytes:
    """A delegation CWT: ``issuer_key`` grants ``subject_key`` (public part) the ``components``.

    ``alg`` defaults to the issuer key's ``alg``, else ESP256.
    """
    claims: dict[int, Any] = {
        CLAIM_ISS: issuer,
        CLAIM_SUB: subject,
        CLAIM_CNF: {CNF_COSE_KEY: subject_key.public().to_cose_map(private=False)},
    }
    if components is not None:
        claims[CLAIM_COMPONENTS] = scope_to_cbor(components)
    for label, value in ((CLAIM_NBF, not_before), (CLAIM_EXP, expires), (CLAIM_IAT, issued_at)):
        if value is not None:
            claims[label] = value
    if alg is None:
        alg = issuer_key.alg if isinstance(issuer_key.alg, int) else Algorithm.ESP256
    return sign1(cbor.dumps(claims), issuer_key, alg=alg)


def _claims(token: bytes) -> tuple[Sign1Message, dict[Any, Any]]:
    obj = cbor.loads(token)
    if isinstance(obj, CBORTag) and obj.tag == TAG_CWT:  # optional CWT tag around the COSE tag
        obj = obj.value
        token = cbor.dumps(obj)
    msg = Sign1Message.decode(token)
    if msg.payload is None:
        raise ValidationError("a delegation CWT has an attached payload", reason="suit.delegation.claims")
    claims = cbor.loads(msg.payload)
    if not isinstance(claims, dict):
        raise ValidationError("CWT claims are a map", reason="suit.delegation.claims")
    return msg, claims


def _verify_link(token: bytes, issuers: Sequence[Authority], now: int) -> Authority:
    msg, claims = _claims(token)
    parent = None
    for cand in issuers:
        try:
            msg.verify(cand.key)
        except IotSecError:
            continue
        parent = cand
        break
    if parent is None:
        raise VerifyError("delegation CWT is not signed by a trusted key", reason="suit.delegation.signature")
    exp, nbf = claims.get(CLAIM_EXP), claims.get(CLAIM_NBF)
    if isinstance(exp, int) and now >= exp:
        raise PolicyError("delegation CWT has expired", reason="suit.delegation.expired")
    if isinstance(nbf, int) and now < nbf:
        raise PolicyError("delegation CWT is not yet valid", reason="suit.delegation.early")
    cnf = claims.get(CLAIM_CNF)
    if not isinstance(cnf, dict) or not isinstance(cnf.get(CNF_COSE_KEY), dict):
        raise ValidationError("delegation CWT lacks cnf/COSE_Key", reason="suit.delegation.claims")
    key = CoseKey.from_cose(cnf[CNF_COSE_KEY])
    scope = scope_from_cbor(claims[CLAIM_COMPONENTS]) if CLAIM_COMPONENTS in claims else None
    sub = claims.get(CLAIM_SUB)
    name = sub if isinstance(sub, str) else f"delegate of {parent.name}"
    return Authority(name, key, (*parent.scopes, scope))


def delegated_authorities(delegation: Any, anchors: Sequence[Authority], now: int) -> list[Authority]:
    """Authorities that the envelope's suit-delegation chains establish from ``anchors``.

    A chain that does not verify raises (a forged chain must not be silently ignored).
    """
    if delegation is None:
        return []
    if not isinstance(delegation, list) or not delegation:
        raise ValidationError(
            "suit-delegation is [+ [+ bstr .cbor CWT]]",
            reason="suit.delegation.structure",
            path=("delegation",),
        )
    out: list[Authority] = []
    for i, chain in enumerate(delegation):
        if not isinstance(chain, list) or not chain or not all(isinstance(t, bytes) for t in chain):
            raise ValidationError(
                "a delegation chain is [+ bstr .cbor CWT]",
                reason="suit.delegation.structure",
                path=("delegation", i),
            )
        issuers: Sequence[Authority] = anchors
        for token in chain:
            try:
                link = _verify_link(token, issuers, now)
            except DecodeError as err:
                raise ValidationError(
                    f"delegation CWT is malformed: {err}",
                    reason="suit.delegation.claims",
                    path=("delegation", i),
                ) from err
            issuers = [link]
        out.append(issuers[0])
    return out


def authenticate(env: Any, anchors: Sequence[Authority], now: int) -> list[Authority]:
    """The authorities whose key verifies ``env`` (directly trusted or delegated by CWT).

    Raises VerifyError like :func:`iotsec.core.suit.auth.verify_authentication` when none does.
    """
    from iotsec.core.suit.auth import verify_blocks
    from iotsec.core.suit.digest import verify_manifest_digest, verify_severed

    verify_manifest_digest(env)  # once, with its own reason; not again per candidate key
    candidates = [*anchors, *delegated_authorities(env.delegation, anchors, now)]
    signers = []
    for cand in candidates:
        try:
            verify_blocks(env.authentication, env.manifest_bytes, [cand.key], digest_verified=True)
        except VerifyError:
            continue
        signers.append(cand)
    if not signers:
        raise _no_signer()
    # as verify_authentication (blocks, then severed members) per candidate, with the severed
    # members checked once: they do not depend on the key, and a mismatch refused every candidate
    try:
        verify_severed(env)
    except VerifyError:
        raise _no_signer() from None
    return signers


def _no_signer() -> VerifyError:
    return VerifyError("no authentication block verifies with a trusted key", reason="suit.auth.failed")


def check_authority(
    components: Iterable[ComponentId], signers: Sequence[Authority], *, what: str = "component"
) -> None:
    """Raise PolicyError naming the first component that no signer covers."""
    for cid in components:
        for s in signers:
            if s.covers(cid):
                break
        else:
            names = ", ".join(s.name for s in signers) or "nobody"
            raise PolicyError(
                f"signer {names} has no authority over {what} {component_text(cid)}",
                reason="suit.component.unauthorised",
            )


def as_authorities(anchors: Sequence[Authority | CoseKey]) -> list[Authority]:
    """Plain keys become full-device authorities (the single-authority model of §9)."""
    out = []
    for n, a in enumerate(anchors):
        if isinstance(a, Authority):
            out.append(a)
        else:
            kid = a.kid.decode("utf-8", "replace") if isinstance(a.kid, bytes) else None
            out.append(Authority.anchor(kid or f"anchor-{n}", a))
    return out


def named_scope(spec: Mapping[str, Any]) -> list[Pattern]:
    """Scope from a description ``{"components": [["app"], ["cfg", "*"]]}`` (``*`` = prefix)."""
    out = []
    for item in spec.get("components", []):
        segs = list(item)
        prefix = bool(segs) and segs[-1] == "*"
        out.append(pattern(segs[:-1] if prefix else segs, prefix))
    return out


__all__ = [
    "CLAIM_COMPONENTS",
    "authenticate",
    "Authority",
    "Pattern",
    "as_authorities",
    "check_authority",
    "component_text",
    "delegated_authorities",
    "issue_delegation",
    "named_scope",
    "pattern",
    "scope_from_cbor",
    "scope_to_cbor",
]
