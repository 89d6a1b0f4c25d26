"""The PSA attestation token claim set (RFC 9783 §4) and its profiles (RFC 9783 §5).

Two profile identifiers are accepted: ``tag:psacertified.org,2023:psa#tfm`` (RFC 9783 §5.1) and
``http://arm.com/psa/2.0.0`` (the claim set of draft-tschofenig-rats-psa-token that deployed
verifiers such as Veraison accept). Both use the same claim keys; they differ in the profile string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from iotsec.core.eat._util import is_int
from iotsec.core.eat.claims import Claim, validate_claims
from iotsec.errors import PathItem, ValidationError

PROFILE_RFC9783 = "tag:psacertified.org,2023:psa#tfm"
PROFILE_PSA_2_0_0 = "http://arm.com/psa/2.0.0"
PROFILE_P1 = "PSA_IOT_PROFILE_1"  # draft-tschofenig-rats-psa-token-07, Veraison's "P1"
PROFILES = (PROFILE_RFC9783, PROFILE_PSA_2_0_0, PROFILE_P1)
# PSA_IOT_PROFILE_1 claim keys (private CWT range, Arm PSA attestation API 1.0 CDDL) -> current keys
P1_KEYS = {
    -75000: 265,  # arm_psa_profile_id -> eat_profile
    -75001: 2394,  # arm_psa_partition_id -> client id
    -75002: 2395,  # arm_psa_security_lifecycle
    -75003: 2396,  # arm_psa_implementation_id
    -75004: 268,  # arm_psa_boot_seed -> bootseed
    -75005: 2398,  # arm_psa_hw_version -> certification reference
    -75006: 2399,  # arm_psa_sw_components
    -75008: 10,  # arm_psa_nonce
    -75009: 256,  # arm_psa_UEID
    -75010: 2400,  # arm_psa_origination -> verification service indicator
}
P1_NO_SW_MEASUREMENTS = -75007


class PsaClaim(IntEnum):
    """RFC 9783 §10.1 CWT claim keys specific to PSA."""

    CLIENT_ID = 2394
    SECURITY_LIFECYCLE = 2395
    IMPLEMENTATION_ID = 2396
    CERTIFICATION_REFERENCE = 2398
    SOFTWARE_COMPONENTS = 2399
    VERIFICATION_SERVICE_INDICATOR = 2400


class Lifecycle(IntEnum):
    """RFC 9783 §4.3.1 security lifecycle major states (the high byte of the 16-bit value)."""

    UNKNOWN = 0x00
    ASSEMBLY_AND_TEST = 0x10
    PSA_ROT_PROVISIONING = 0x20
    SECURED = 0x30
    NON_PSA_ROT_DEBUG = 0x40
    RECOVERABLE_PSA_ROT_DEBUG = 0x50
    DECOMMISSIONED = 0x60

    @classmethod
    def of(cls, value: int) -> Lifecycle:
        return cls(value >> 8)


# RFC 9783 §4.4.1 software component map keys
SWC_TYPE, SWC_VALUE, SWC_VERSION, SWC_SIGNER, SWC_DESC = 1, 2, 4, 5, 6
_CERT_REF = re.compile(r"^[0-9]{13}-[0-9]{5}$")  # RFC 9783 §4.2.4
HASH_SIZES = (32, 48, 64)  # psa-hash-type


@dataclass(frozen=True)
class SoftwareComponent:
    """One entry of psa-software-components (RFC 9783 §4.4.1)."""

    measurement_value: bytes
    signer_id: bytes
    measurement_type: str | None = None
    version: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class PsaToken:
    """A validated PSA claim set."""

    profile: str
    nonce: bytes
    instance_id: bytes
    implementation_id: bytes
    client_id: int
    lifecycle: int
    software_components: tuple[SoftwareComponent, ...]
    certification_reference: str | None
    boot_seed: bytes | None
    verification_service: str | None
    claims: Mapping[int | str, Any]

    @property
    def lifecycle_state(self) -> Lifecycle:
        return Lifecycle.of(self.lifecycle)

    @property
    def debug_enabled(self) -> bool:
        return self.lifecycle_state in (Lifecycle.NON_PSA_ROT_DEBUG, Lifecycle.RECOVERABLE_PSA_ROT_DEBUG)


def _err(what: str, problem: str, msg: str, *path: PathItem) -> ValidationError:
    return ValidationError(msg, reason=f"psa.{what}.{problem}", path=path)


def _require(claims: Mapping[Any, Any], key: int, what: str) -> Any:
    if key not in claims:
        raise _err(what, "missing", f"the PSA claim {what} ({key}) is missing", key)
    return claims[key]


def _hash(v: Any, what: str, *path: PathItem) -> bytes:
    if not isinstance(v, bytes):
        raise _err(what, "format", f"{what} must be a byte string", *path)
    if len(v) not in HASH_SIZES:
        raise _err(what, "format", f"{what} must be 32, 48 or 64 bytes, not {len(v)}", *path)
    return v


def _opt_text(c: Mapping[Any, Any], key: int, what: str, *path: PathItem) -> str | None:
    v = c.get(key)
    if v is not None and not isinstance(v, str):
        raise _err(what, "format", f"{what} must be text", *path, key)
    return v


def validate_psa(claims: Mapping[Any, Any], *, profiles: tuple[str, ...] = PROFILES) -> PsaToken:
    """Check a decoded claims-set against the PSA token CDDL (RFC 9783 §4, Appendix A).

    Raises :class:`ValidationError` with reasons such as ``psa.instance_id.missing`` or
    ``psa.boot_seed.size``.
    """
    claims = dict(claims)
    no_sw = False
    if -75000 in claims:  # PSA_IOT_PROFILE_1: private keys, translated to the current ones
        no_sw = claims.pop(P1_NO_SW_MEASUREMENTS, None) is not None
        claims = {P1_KEYS.get(k, k): v for k, v in claims.items()}
    c = validate_claims(claims)  # the generic EAT rules first (RFC 9711 §4)
    profile = _require(c, Claim.PROFILE, "profile")
    if not isinstance(profile, str) or profile not in profiles:
        raise _err("profile", "unknown", f"unsupported PSA profile {profile!r}", Claim.PROFILE)
    nonce = _require(c, Claim.NONCE, "nonce")
    if isinstance(nonce, list) or not isinstance(nonce, bytes) or len(nonce) not in HASH_SIZES:
        raise _err("nonce", "size", "the PSA nonce must be 32, 48 or 64 bytes (RFC 9783 §4.1.1)", Claim.NONCE)
    inst = _require(c, Claim.UEID, "instance_id")
    # RFC 9783 §4.2.2: UEID of type RAND (0x01) followed by 32 bytes
    if not isinstance(inst, bytes) or len(inst) != 33 or inst[0] != 0x01:
        raise _err("instance_id", "format", "the instance ID must be 0x01 followed by 32 bytes", Claim.UEID)
    impl = _require(c, PsaClaim.IMPLEMENTATION_ID, "implementation_id")
    if not isinstance(impl, bytes) or len(impl) != 32:
        raise _err(
            "implementation_id",
            "format",
            "the implementation ID must be 32 bytes",
            PsaClaim.IMPLEMENTATION_ID,
        )
    client = _require(c, PsaClaim.CLIENT_ID, "client_id")
    if not is_int(client) or not -(2**31) <= client <= 2**31 - 1:  # RFC 9783 §4.2.1
        raise _err("client_id", "format", "the client ID must be a 32-bit signed integer", PsaClaim.CLIENT_ID)
    life = _require(c, PsaClaim.SECURITY_LIFECYCLE, "lifecycle")
    if not is_int(life) or not 0 <= life <= 0xFFFF or (life >> 8) not in Lifecycle._value2member_map_:
        raise _err("lifecycle", "format", "unknown security lifecycle state", PsaClaim.SECURITY_LIFECYCLE)
    cert = _opt_text(c, PsaClaim.CERTIFICATION_REFERENCE, "certification_reference")
    if cert is not None and not _CERT_REF.match(cert):
        raise _err(
            "certification_reference",
            "format",
            "must be EAN-13 '-' 5 digits",
            PsaClaim.CERTIFICATION_REFERENCE,
        )
    seed = c.get(Claim.BOOTSEED)
    if seed is not None and not 8 <= len(seed) <= 32:  # RFC 9783 §4.3.2; type checked by the EAT registry
        raise _err("boot_seed", "size", f"the boot seed must be 8..32 bytes, not {len(seed)}", Claim.BOOTSEED)
    vsi = _opt_text(c, PsaClaim.VERIFICATION_SERVICE_INDICATOR, "verification_service")
    if profile == PROFILE_P1 and (seed is None or len(seed) != 32):  # P1: boot seed bytes .size 32
        raise _err("boot_seed", "size", "PSA_IOT_PROFILE_1 needs a 32-byte boot seed", Claim.BOOTSEED)
    swcs = (
        []
        if no_sw and PsaClaim.SOFTWARE_COMPONENTS not in c
        else _require(c, PsaClaim.SOFTWARE_COMPONENTS, "sw_components")
    )
    if not isinstance(swcs, list) or (not swcs and not no_sw):
        raise _err("sw_components", "format", "software components must be a non-empty array", 2399)
    comps = []
    for i, sc in enumerate(swcs):
        p: tuple[PathItem, ...] = (int(PsaClaim.SOFTWARE_COMPONENTS), i)
        if not isinstance(sc, dict):
            raise _err("sw_component", "format", "a software component is a map", *p)
        if SWC_VALUE not in sc:
            raise _err("sw_component", "measurement_missing", "measurement value is missing", *p)
        if SWC_SIGNER not in sc:
            raise _err("sw_component", "signer_missing", "signer ID is missing", *p)
        comps.append(
            SoftwareComponent(
                measurement_value=_hash(sc[SWC_VALUE], "sw_component", *p, SWC_VALUE),
                signer_id=_hash(sc[SWC_SIGNER], "sw_component", *p, SWC_SIGNER),
                measurement_type=_opt_text(sc, SWC_TYPE, "sw_component", *p),
                version=_opt_text(sc, SWC_VERSION, "sw_component", *p),
                description=_opt_text(sc, SWC_DESC, "sw_component", *p),
            )
        )
    return PsaToken(
        profile=profile,
        nonce=nonce,
        instance_id=inst,
        implementation_id=impl,
        client_id=client,
        lifecycle=life,
        software_components=tuple(comps),
        certification_reference=cert,
        boot_seed=seed,
        verification_service=vsi,
        claims=c,
    )


# JSON names of the PSA claims, as Veraison's annotated evidence prints them
PSA_JSON_NAMES = {
    PsaClaim.CLIENT_ID: "psa-client-id",
    PsaClaim.SECURITY_LIFECYCLE: "psa-security-lifecycle",
    PsaClaim.IMPLEMENTATION_ID: "psa-implementation-id",
    PsaClaim.CERTIFICATION_REFERENCE: "psa-certification-reference",
    PsaClaim.SOFTWARE_COMPONENTS: "psa-software-components",
    PsaClaim.VERIFICATION_SERVICE_INDICATOR: "psa-verification-service-indicator",
}
SWC_JSON_NAMES = {
    SWC_TYPE: "measurement-type",
    SWC_VALUE: "measurement-value",
    SWC_VERSION: "version",
    SWC_SIGNER: "signer-id",
    SWC_DESC: "measurement-desc",
}


def rename_json(claims_json: dict[str, Any]) -> dict[str, Any]:
    """Give the PSA claims of a JSON claims-set (from ``claims_to_json``) their readable names."""
    names = {str(int(k)): n for k, n in PSA_JSON_NAMES.items()}
    swc_names = {str(k): n for k, n in SWC_JSON_NAMES.items()}
    out: dict[str, Any] = {}
    for k, v in claims_json.items():
        name = names.get(k, k)
        if name == "psa-software-components" and isinstance(v, list):
            out[name] = [
                {swc_names.get(a, a): b for a, b in sc.items()} if isinstance(sc, dict) else sc for sc in v
            ]
        else:
            out[name] = v
    return out


def claims_from_json(obj: Any) -> dict[int | str, Any]:
    """A PSA claims-set from JSON: the RFC 9711 names plus the PSA names of :data:`PSA_JSON_NAMES`
    (binary values in base64url), validated with :func:`validate_psa`; the inverse of
    ``rename_json(claims_to_json(...))``."""
    from iotsec.core.eat._util import b64u_decode
    from iotsec.core.eat.claims import claims_from_json as eat_from_json

    if not isinstance(obj, dict):
        raise ValidationError("a JSON claims-set must be an object", reason="eat.claims.type")
    names = {n: int(k) for k, n in PSA_JSON_NAMES.items()}
    swc_names = {n: k for k, n in SWC_JSON_NAMES.items()}
    rest = {k: v for k, v in obj.items() if k not in names}
    out = eat_from_json(rest)
    if isinstance(out.get(Claim.NONCE), str):  # PSA nonces are binary (RFC 9783 §4.1.1): base64url
        out[int(Claim.NONCE)] = b64u_decode(out[Claim.NONCE], reason="psa.nonce.format", path=("eat_nonce",))
    for name, key in names.items():
        if name not in obj:
            continue
        v = obj[name]
        p = (name,)
        if key == PsaClaim.IMPLEMENTATION_ID:
            v = b64u_decode(v, reason="psa.implementation_id.format", path=p)
        elif key == PsaClaim.SOFTWARE_COMPONENTS:
            if not isinstance(v, list):
                raise _err("sw_components", "format", "software components must be an array", name)
            comps = []
            for i, sc in enumerate(v):
                if not isinstance(sc, dict):
                    raise _err("sw_component", "format", "a software component is an object", name, i)
                m: dict[int, Any] = {}
                for k2, x in sc.items():
                    k = swc_names.get(k2)
                    if k is None:
                        raise _err("sw_component", "format", f"unknown member {k2!r}", name, i)
                    m[k] = (
                        b64u_decode(x, reason="psa.sw_component.format", path=(name, i, k2))
                        if k in (SWC_VALUE, SWC_SIGNER)
                        else x
                    )
                comps.append(m)
            v = comps
        out[key] = v
    validate_psa(out)
    return out


def veraison_annotated(tok: PsaToken) -> dict[str, Any]:
    """The claims as Veraison's ``ear.veraison.annotated-evidence`` shows them (kebab-case names,
    standard base64), for the EAR appraisal extension of draft-ietf-rats-ear's ext-veraison."""
    import base64

    def b64(b: bytes) -> str:
        return base64.b64encode(b).decode("ascii")

    swcs = []
    for sc in tok.software_components:
        d: dict[str, Any] = {"measurement-value": b64(sc.measurement_value), "signer-id": b64(sc.signer_id)}
        if sc.measurement_type is not None:
            d["measurement-type"] = sc.measurement_type
        if sc.version is not None:
            d["version"] = sc.version
        if sc.description is not None:
            d["measurement-desc"] = sc.description
        swcs.append(d)
    out: dict[str, Any] = {
        "eat-profile": tok.profile,
        "psa-client-id": tok.client_id,
        "psa-security-lifecycle": tok.lifecycle,
        "psa-implementation-id": b64(tok.implementation_id),
        "psa-software-components": swcs,
        "psa-nonce": b64(tok.nonce),
        "psa-instance-id": b64(tok.instance_id),
    }
    if tok.certification_reference is not None:
        out["psa-certification-reference"] = tok.certification_reference
    if tok.boot_seed is not None:
        out["psa-boot-seed"] = b64(tok.boot_seed)
    if tok.verification_service is not None:
        out["psa-verification-service-indicator"] = tok.verification_service
    return out


__all__ = [
    "PROFILES",
    "PROFILE_P1",
    "PROFILE_PSA_2_0_0",
    "PROFILE_RFC9783",
    "Lifecycle",
    "PsaClaim",
    "PsaToken",
    "SoftwareComponent",
    "claims_from_json",
    "rename_json",
    "validate_psa",
    "veraison_annotated",
]
