"""Relying-party checks of an EAR (draft-ietf-rats-ear §2; RFC 9334 §7.3 appraisal of results).

A policy names, per AR4SI category, the lowest tier it accepts, e.g. ``{"executables": "affirming",
"hardware": "affirming"}``, plus the overall status and a maximum age. :func:`check` returns findings;
:func:`require` raises :class:`PolicyError` on the first error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from iotsec.core.eat.appraisal import REQ_VERIFY, Finding, Severity
from iotsec.core.eat.ear import Category, Ear, Tier
from iotsec.errors import PolicyError, ValidationError


@dataclass
class RpPolicy:
    """What a relying party accepts: lowest tier per AR4SI category and overall, maximum age, nonce."""

    categories: dict[Category, Tier] = field(
        default_factory=lambda: {Category.EXECUTABLES: Tier.AFFIRMING, Category.HARDWARE: Tier.AFFIRMING}
    )
    status: Tier = Tier.WARNING  # the lowest overall tier accepted
    max_age: int | None = 3600  # seconds since iat
    nonce: bytes | None = None  # when the relying party was the challenger

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RpPolicy:
        """Parse ``{"executables": "affirming", "status": "warning", "max_age": 3600}``."""

        def tier(v: Any, where: str) -> Tier:
            for t in Tier:
                if t.json_name == v:
                    return t
            raise ValidationError(f"unknown tier {v!r}", reason="ear.policy.invalid", path=(where,))

        p = cls(categories={})
        for k, v in d.items():
            if k == "status":
                p.status = tier(v, k)
            elif k == "max_age":
                if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                    raise ValidationError("max_age must be seconds", reason="ear.policy.invalid", path=(k,))
                p.max_age = v
            else:
                try:
                    p.categories[Category.from_name(k)] = tier(v, k)
                except KeyError:
                    raise ValidationError(
                        f"unknown category {k!r}", reason="ear.policy.invalid", path=(k,)
                    ) from None
        return p


def check(result: Ear, policy: RpPolicy, *, now: int) -> list[Finding]:
    """Findings of ``result`` against ``policy`` at time ``now`` (NumericDate)."""
    out: list[Finding] = []
    if result.exp is not None and now >= result.exp:
        out.append(Finding("ear.expired", Severity.ERROR, "the EAR has expired", REQ_VERIFY))
    if policy.max_age is not None and now - result.iat > policy.max_age:
        out.append(
            Finding("ear.stale", Severity.ERROR, f"the EAR is older than {policy.max_age}s", REQ_VERIFY)
        )
    if result.iat > now + 60:
        out.append(Finding("ear.future", Severity.ERROR, "the EAR was issued in the future", REQ_VERIFY))
    if (
        policy.nonce is not None
        and result.nonce != policy.nonce
        and not any(a.nonce == policy.nonce for a in result.submods.values())
    ):
        out.append(
            Finding("ear.nonce.mismatch", Severity.ERROR, "the EAR does not echo our nonce", REQ_VERIFY)
        )
    for name, a in result.submods.items():
        for cat, need in policy.categories.items():
            got = a.tier(cat)
            if got.trust < need.trust or (need == Tier.AFFIRMING and got != Tier.AFFIRMING):
                out.append(
                    Finding(
                        f"ear.{cat.json_name}.insufficient",
                        Severity.ERROR,
                        f"{name}: {cat.json_name} is {got.json_name}, policy needs {need.json_name}",
                        REQ_VERIFY,
                        f"/submods/{name}",
                    )
                )
    overall = result.overall()
    if overall.trust < policy.status.trust:
        out.append(
            Finding(
                "ear.status.insufficient",
                Severity.ERROR,
                f"overall status {overall.json_name} is below {policy.status.json_name}",
                REQ_VERIFY,
            )
        )
    return out


def require(result: Ear, policy: RpPolicy, *, now: int) -> list[Finding]:
    """Like :func:`check`, but raise :class:`PolicyError` (reason = the first error's id)."""
    findings = check(result, policy, now=now)
    errors = [f for f in findings if f.severity == Severity.ERROR]
    if errors:
        raise PolicyError("; ".join(f.message for f in errors), reason=errors[0].id)
    return findings


__all__ = ["RpPolicy", "check", "require"]
