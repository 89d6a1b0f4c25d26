"""The relying party (RFC 9334 §3.3): verify a signed EAR from a trusted verifier and apply a policy."""

from __future__ import annotations

from dataclasses import dataclass

from iotsec.clock import Clock
from iotsec.core.cose import CoseKey
from iotsec.core.eat import rp
from iotsec.core.eat.appraisal import Finding
from iotsec.core.eat.ear import Ear
from iotsec.core.eat.signing import verify_ear


@dataclass
class Decision:
    """An accepted EAR and the findings of the policy check."""

    ear: Ear
    findings: list[Finding]


class RelyingParty:
    """Accepts an attester only when its EAR verifies with ``verifier_key`` and meets ``policy``."""

    def __init__(self, verifier_key: CoseKey, policy: rp.RpPolicy, clock: Clock) -> None:
        self.key, self.policy, self.clock = verifier_key, policy, clock

    def accept(self, token: str | bytes) -> Decision:
        """Verify and check; raises VerifyError (signature) or PolicyError (policy not met)."""
        result = verify_ear(token, self.key)
        findings = rp.require(result, self.policy, now=self.clock.timestamp())
        return Decision(result, findings)


__all__ = ["Decision", "RelyingParty"]
