"""The RATS verifier use cases (RFC 9334 §3): challenge-response sessions, endorsement provisioning,
evidence appraisal and signed EAR results. Storage and clock come in through small Protocols.

Evidence formats (by media type, :data:`MEDIA_TYPES`): the PSA token (RFC 9783, both profiles)
and RFC 9711 EATs of the constrained-device profile, each as a tagged COSE_Sign1 CWT. The
attestation key is found through the attest-key triples of the provisioned CoRIMs by instance ID
(UEID), reference values through the reference-value triples.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from iotsec.clock import Clock
from iotsec.core.cose import CoseKey
from iotsec.core.eat import corim, ear, tokens
from iotsec.core.eat.appraisal import (
    AppraisalResult,
    Evidence,
    Finding,
    Policy,
    PreparedReferences,
    appraise,
    check_nonce,
    evidence_from_eat,
    evidence_from_psa,
)
from iotsec.core.eat.claims import Claim
from iotsec.core.eat.corim_signed import MEDIA_TYPE_SIGNED, unsigned_payload
from iotsec.core.eat.psa import PROFILE_PSA_2_0_0, PROFILE_RFC9783, validate_psa, veraison_annotated
from iotsec.core.eat.signing import EarSigner
from iotsec.errors import PolicyError, UnsupportedError, ValidationError, VerifyError

PROFILE_CONSTRAINED = "urn:ietf:rfc:rfc9711"  # RFC 9711 §6.3 constrained device standard profile
# The same claims as JWT (RFC 9711 §7.2.2 JSON encoding; ES256/384/512 or EdDSA; key by UEID): the
# constrained profile forbids JSON, so this variant has its own identifier (RFC 9711 §6.3, last para.)
PROFILE_JWT = "tag:iotsec.dev,2026:rats/eat-jwt#1"
# media type -> evidence family
MEDIA_TYPES: dict[str, str] = {
    "application/psa-attestation-token": "psa",
    f'application/eat+cwt; eat_profile="{PROFILE_RFC9783}"': "psa",  # RFC 9783 §7
    f'application/eat-cwt; profile="{PROFILE_PSA_2_0_0}"': "psa",  # Veraison
    f'application/eat+cwt; eat_profile="{PROFILE_CONSTRAINED}"': "eat",
    f'application/eat+jwt; eat_profile="{PROFILE_JWT}"': "eat-jwt",  # RFC 9782 media type
    "application/eat+cwt": "eat",
}
SESSION_STATES = ("waiting", "processing", "complete", "failed")
PURGE_EVERY = 256  # new sessions between two garbage collections of expired ones
INDEX_LIMIT = 65536  # instances remembered by the per-instance key and reference-value look-ups


def parse_media_type(value: str) -> tuple[str, dict[str, str]]:
    """Split ``type/subtype; a="b"`` into the lowercased type and its parameters."""
    base, *params = (p.strip() for p in value.split(";"))
    out: dict[str, str] = {}
    for p in params:
        k, _, v = p.partition("=")
        out[k.strip().lower()] = v.strip().strip('"')
    return base.lower(), out


_PROFILE = int(Claim.PROFILE)
_PARSED_TYPES = [(parse_media_type(mt), fam) for mt, fam in MEDIA_TYPES.items()]


@functools.lru_cache(maxsize=64)
def _family(media_type: str) -> str | None:
    parsed = parse_media_type(media_type)
    return next((fam for mt, fam in _PARSED_TYPES if mt == parsed), None)


def evidence_family(media_type: str) -> str:
    """The evidence family of a media type, matching parameters by value (415 when unknown)."""
    fam = _family(media_type[:512])
    if fam is None:
        raise UnsupportedError(
            f"unsupported evidence media type {media_type!r}", reason="verifier.media_type"
        )
    return fam


@dataclass
class Session:
    """A challenge-response session (Veraison challenge-response API)."""

    id: str
    nonce: bytes
    expiry: dt.datetime
    accept: list[str]
    status: str = "waiting"
    evidence_type: str | None = None
    evidence: bytes | None = None
    result: str | None = None
    failure: str | None = None
    findings: list[dict[str, str]] | None = None  # the appraisal findings (an iotsec extension)


class SessionStore(Protocol):
    """Where challenge-response sessions live."""

    def create(self, s: Session) -> None: ...
    def get(self, sid: str) -> Session: ...
    def update(self, s: Session) -> None: ...
    def claim(self, sid: str) -> Session:
        """Move a ``waiting`` session to ``processing`` atomically; ConflictError otherwise."""
        ...

    def delete(self, sid: str) -> None: ...
    def purge(self, before: dt.datetime) -> int:
        """Delete sessions that expired before ``before``; return how many."""
        ...


class EndorsementStore(Protocol):
    """Where provisioned CoRIMs live."""

    def add(self, corim_id: str, media_type: str, raw: bytes) -> None: ...
    def load(self, after: int) -> list[tuple[int, bytes]]:
        """Decoded-CoRIM bytes stored with an id greater than ``after``, in id order."""
        ...


@dataclass
class Outcome:
    """The appraisal of one piece of evidence."""

    ear: ear.Ear
    token: str
    findings: list[Finding] = field(default_factory=list)


class VerifierService:
    """Use cases of the verifier. Thread-safe: HTTP handlers call it from a thread pool."""

    def __init__(
        self,
        sessions: SessionStore,
        endorsements: EndorsementStore,
        clock: Clock,
        signer: EarSigner,
        *,
        policy: Policy | None = None,
        session_ttl: int = 300,
        include_raw_evidence: bool = False,
        developer: str = "https://iotsec.dev",
        build: str = "iotsec-verifier 0.1.0",
        corim_signers: Sequence[CoseKey] = (),
        ear_validity: int | None = None,
    ) -> None:
        self.sessions = sessions
        self.endorsements = endorsements
        self.clock = clock
        self.signer = signer
        self.policy = policy or Policy()
        self.session_ttl = session_ttl
        self.include_raw_evidence = include_raw_evidence
        self.developer, self.build = developer, build
        self.corim_signers = list(corim_signers)
        self.ear_validity = ear_validity  # seconds until the EAR's exp (draft-ietf-rats-ear §2)
        self._lock = threading.Lock()
        self._seen = 0
        self._refs: list[corim.ReferenceValue] = []
        self._keys: list[corim.AttestKey] = []
        self._key_cache: dict[bytes, CoseKey] = {}
        # per-instance look-ups, rebuilt (new dicts) whenever new endorsements are loaded
        self._keys_for: dict[tuple[bytes | None, bytes | None], list[CoseKey]] = {}
        self._refs_for: dict[tuple[bytes | None, bytes | None], PreparedReferences] = {}
        self._dirty = True
        self._loaded_at = -1
        self._created = 0

    # -- endorsements ----------------------------------------------------------------------------

    def provision(self, media_type: str, body: bytes) -> corim.Corim:
        """Store a CoRIM after checking it decodes (draft-ietf-rats-corim §4). A signed CoRIM (§4.2)
        must verify with one of the configured ``corim_signers``; it is stored unwrapped."""
        base, _ = parse_media_type(media_type)
        if base == MEDIA_TYPE_SIGNED:
            if not self.corim_signers:
                raise UnsupportedError(
                    "no trusted CoRIM signer is configured", reason="corim.signed.unconfigured"
                )
            body = unsigned_payload(body, self.corim_signers)
        elif base not in ("application/corim-unsigned+cbor", "application/rim+cbor"):
            raise UnsupportedError(
                f"unsupported endorsement media type {media_type!r}", reason="verifier.media_type"
            )
        c = corim.decode_unsigned(body)
        if not c.tags:
            raise ValidationError("the CoRIM holds no CoMID tag", reason="corim.empty")
        self.endorsements.add(c.id, base, body)
        self._dirty = True
        return c

    def _refresh(self) -> None:
        # endorsements provisioned through this process are seen at once; those provisioned through
        # another process sharing the database within a second
        now = self.clock.timestamp()
        if not self._dirty and now == self._loaded_at:
            return
        with self._lock:
            self._dirty, self._loaded_at = False, now
            loaded = False
            for rid, raw in self.endorsements.load(self._seen):
                c = corim.decode_unsigned(raw)
                self._refs.extend(c.reference_values)
                self._keys.extend(c.attest_keys)
                self._seen = rid
                loaded = True
            if loaded:
                self._keys_for, self._refs_for = {}, {}

    def attestation_keys(self, ev: Evidence) -> list[CoseKey]:
        """The keys endorsed for this instance (RFC 9711 §6.3: identified by UEID), in provisioning
        order; several when a key was rotated. PolicyError when there is none."""
        self._refresh()
        index = self._keys_for  # a refresh swaps in a new dict: a stale result is never stored in it
        ck = (ev.implementation_id, ev.instance_id)
        cached = index.get(ck)
        if cached is not None:
            return list(cached)
        out: list[CoseKey] = []
        for ak in self._keys:
            if (
                ev.instance_id is not None
                and ak.environment.instance_ueid == ev.instance_id
                and ak.environment.matches(
                    implementation_id=ev.implementation_id, instance_ueid=ev.instance_id
                )
            ):
                for spki in ak.keys_spki:
                    key = self._key_cache.get(spki)
                    if key is None:
                        key = self._key_cache[spki] = CoseKey.from_der(spki)
                    out.append(key)
        if not out:
            raise PolicyError("no endorsed attestation key for this instance", reason="eat.key.unknown")
        if len(index) < INDEX_LIMIT:  # only endorsed instances get here, so the index stays bounded
            index[ck] = out
        return list(out)

    def reference_values(self) -> Sequence[corim.ReferenceValue]:
        self._refresh()
        return self._refs

    def reference_values_for(self, ev: Evidence) -> Sequence[corim.ReferenceValue]:
        """The reference values whose environment matches this evidence (draft-ietf-rats-corim §8),
        in provisioning order: what :func:`appraise` would select from :meth:`reference_values`."""
        self._refresh()
        index = self._refs_for
        ck = (ev.implementation_id, ev.instance_id)
        cached = index.get(ck)
        if cached is None:
            cached = PreparedReferences(self._refs, implementation_id=ck[0], instance_id=ck[1])
            if len(index) < INDEX_LIMIT:
                index[ck] = cached
        return cached

    # -- appraisal ---------------------------------------------------------------------------------

    def appraise(self, media_type: str, data: bytes, *, nonce: bytes | None) -> Outcome:
        """Verify and appraise evidence; raises on signature, key or nonce problems (refusals)."""
        family = evidence_family(media_type)
        tok = tokens.peek(data)
        if tok.kind != ("jwt" if family == "eat-jwt" else "sign1"):
            raise UnsupportedError(
                "evidence must be a COSE_Sign1 CWT (or a JWT for eat+jwt)", reason="verifier.envelope"
            )
        annotated: dict[str, Any] | None = None
        if family == "psa":
            ptok = validate_psa(tok.claims)
            ev = evidence_from_psa(ptok)
            annotated = veraison_annotated(ptok)
        else:
            profile = PROFILE_JWT if family == "eat-jwt" else PROFILE_CONSTRAINED
            if tok.claims.get(_PROFILE) not in (profile, None):
                raise UnsupportedError("unsupported EAT profile", reason="eat.profile.unknown")
            if family == "eat":
                tokens.check_constrained_profile(tok)
            ev = evidence_from_eat(tok.claims)
            if ev.nonce is None:  # RFC 9711 §6.3: the nonce is required
                raise ValidationError("the evidence has no nonce", reason="eat.nonce.missing")
        keys = self.attestation_keys(ev)
        for i, key in enumerate(keys):  # raises VerifyError unless one of them verifies
            try:
                tokens.verify(data, key, peeked=tok, jws_algs=tokens.JWS_ALGS)
                break
            except VerifyError:
                if i == len(keys) - 1:
                    raise
        if nonce is not None:
            check_nonce(ev, nonce)
        result = appraise(ev, self.reference_values_for(ev), self.policy)
        if annotated is not None:  # what Veraison adds for PSA (draft-ietf-rats-ear, ext-veraison)
            result.appraisal.extensions["ear_veraison_annotated_evidence"] = annotated
        label = "PSA" if family == "psa" else "device"
        return self._sign(result, label, data, nonce)

    def _sign(self, result: AppraisalResult, label: str, data: bytes, nonce: bytes | None) -> Outcome:
        now = self.clock.timestamp()
        e = ear.Ear(  # positional: iat, developer, build, submods, status, exp, raw_evidence, nonce
            now,
            self.developer,
            self.build,
            {label: result.appraisal},
            result.appraisal.status,
            now + self.ear_validity if self.ear_validity else None,
            data if self.include_raw_evidence else None,
            nonce,
        )
        return Outcome(e, self.signer.sign(e), result.findings)

    # -- sessions ------------------------------------------------------------------------------------

    def new_session(self, *, nonce: bytes | None = None, nonce_size: int | None = None) -> Session:
        """Start a session with the caller's nonce or a fresh random one of ``nonce_size`` bytes."""
        if nonce is not None and nonce_size is not None:
            raise ValidationError("give either nonce or nonceSize, not both", reason="verifier.nonce")
        if nonce is None:
            size = 32 if nonce_size is None else nonce_size
            if not 8 <= size <= 64:
                raise ValidationError("nonceSize must be 8..64", reason="verifier.nonce.size")
            nonce = secrets.token_bytes(size)
        elif not 8 <= len(nonce) <= 64:
            raise ValidationError("the nonce must be 8..64 bytes", reason="verifier.nonce.size")
        s = Session(
            id=str(uuid.uuid4()),
            nonce=nonce,
            expiry=self.clock.now() + dt.timedelta(seconds=self.session_ttl),
            accept=list(MEDIA_TYPES),
        )
        self.sessions.create(s)
        self._created += 1
        if self._created % PURGE_EVERY == 0:
            self.purge_expired()
        return s

    def purge_expired(self) -> int:
        """Garbage-collect sessions whose expiry passed more than a TTL ago (kept that long so a
        late client still sees why its session failed)."""
        return self.sessions.purge(self.clock.now() - dt.timedelta(seconds=self.session_ttl))

    def get_session(self, sid: str) -> Session:
        return self.sessions.get(sid)

    def delete_session(self, sid: str) -> None:
        self.sessions.delete(sid)

    def submit(self, sid: str, media_type: str, data: bytes) -> Session:
        """Appraise evidence for a waiting session; the session ends complete or failed.

        Refusals (expired session, wrong nonce, unknown key, bad signature) raise after the session
        is marked failed; a session accepts evidence once (a replay gets ConflictError).
        """
        evidence_family(media_type)  # 415 before touching the session
        s = self.sessions.claim(sid)  # waiting -> processing, atomically; ConflictError otherwise
        if self.clock.now() >= s.expiry:
            s.status, s.failure = "failed", "eat.session.expired"
            self.sessions.update(s)
            raise PolicyError("the session has expired", reason="eat.session.expired")
        s.evidence_type, s.evidence = media_type, data
        try:
            out = self.appraise(media_type, data, nonce=s.nonce)
        except Exception as exc:
            s.status = "failed"
            s.failure = getattr(exc, "reason", "internal")
            self.sessions.update(s)
            raise
        s.status, s.result = "complete", out.token
        s.findings = [f.as_dict() for f in out.findings if f.severity != "info"]
        self.sessions.update(s)
        return s


def session_json(s: Session) -> dict[str, Any]:
    """The Veraison ChallengeResponseSession JSON (nonce in standard base64)."""
    import base64

    out: dict[str, Any] = {
        "nonce": base64.b64encode(s.nonce).decode(),
        "expiry": s.expiry.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "accept": s.accept,
        "status": s.status,
    }
    if s.evidence is not None and s.evidence_type is not None:
        out["evidence"] = {"type": s.evidence_type, "value": base64.b64encode(s.evidence).decode()}
    if s.result is not None:
        out["result"] = s.result
    if s.findings:
        out["iotsec-findings"] = s.findings  # warnings and errors of the appraisal (not in Veraison)
    if s.failure is not None:
        out["iotsec-failure"] = s.failure
    return out


__all__ = [
    "MEDIA_TYPES",
    "PROFILE_CONSTRAINED",
    "PROFILE_JWT",
    "EndorsementStore",
    "Outcome",
    "Session",
    "SessionStore",
    "VerifierService",
    "evidence_family",
    "parse_media_type",
    "session_json",
]
