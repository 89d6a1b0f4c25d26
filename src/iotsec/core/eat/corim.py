"""CoRIM/CoMID reference values and attestation keys (draft-ietf-rats-corim).

Implemented: the unsigned CoRIM (``#6.501(corim-map)``, §4.1) carrying CoMID tags
(``#6.506(bytes .cbor concise-mid-tag)``, §5.1) with reference-value triples (§5.1.4.4) and
attest-key triples (§5.1.4.8); environments with class (``class-id`` as PSA implementation ID
``#6.600``, UUID ``#6.37`` or tagged bytes ``#6.560``, vendor, model) and instance (UEID ``#6.550``);
measurements keyed by name (text) or PSA ``psa-refval-id`` (``#6.601``) with digests, version and the
``is-debug`` flag; keys as PKIX base64 SPKI (``#6.554``, written) or COSE_Key (``#6.558``, read).
Signed CoRIMs (``#6.18`` COSE_Sign1, or the older ``#6.502``) are in
:mod:`iotsec.core.eat.corim_signed`.

:func:`from_description` builds a CoRIM from a readable dict (YAML/JSON) for ``iotsec corim create``.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

from iotsec.core import cbor
from iotsec.core.eat._util import is_int
from iotsec.errors import DecodeError, IotSecError, ValidationError

TAG_CORIM = 501  # tagged-unsigned-corim-map
TAG_SIGNED_CORIM_OLD = 502
TAG_COMID = 506
TAG_UUID = 37
TAG_UEID = 550
TAG_PKIX_B64_KEY = 554
TAG_COSE_KEY = 558
TAG_BYTES = 560
TAG_IMPL_ID = 600  # PSA profile: tagged-implementation-id-type
TAG_PSA_REFVAL_ID = 601  # PSA profile: tagged-psa-refval-id
TAG_URI = 32
# corim-map (§4.1.1), concise-mid-tag (§5.1), triples-map (§5.1.4)
C_ID, C_TAGS, C_PROFILE = 0, 1, 3
M_TAG_IDENTITY, M_TRIPLES = 1, 4
T_REFERENCE, T_ATTEST_KEY = 0, 3
E_CLASS, E_INSTANCE = 0, 1
K_CLASS_ID, K_VENDOR, K_MODEL = 0, 1, 2
MM_KEY, MM_VAL = 0, 1
MV_VERSION, MV_SVN, MV_DIGESTS, MV_FLAGS = 0, 1, 2, 3
FLAG_IS_DEBUG = 3
PSA_LABEL, PSA_VERSION, PSA_SIGNER = 1, 4, 5
DIGEST_ALGS = {"sha-256": 1, "sha-384": 7, "sha-512": 8}  # IANA Named Information Hash Algorithm
MEDIA_TYPES = ("application/corim-unsigned+cbor", "application/rim+cbor", "application/corim-signed+cbor")


def _bad(msg: str, reason: str = "corim.invalid", *path: int | str) -> ValidationError:
    return ValidationError(msg, reason=reason, path=path)


@dataclass(frozen=True)
class Environment:
    """environment-map (§5.1.4.1): who the values are about."""

    implementation_id: bytes | None = None  # class-id #6.600 (PSA) or #6.560
    vendor: str | None = None
    model: str | None = None
    instance_ueid: bytes | None = None

    def matches(self, *, implementation_id: bytes | None, instance_ueid: bytes | None) -> bool:
        """True if every field set here equals the evidence's (unset fields match anything)."""
        if self.implementation_id is not None and self.implementation_id != implementation_id:
            return False
        return not (self.instance_ueid is not None and self.instance_ueid != instance_ueid)


@dataclass(frozen=True)
class Measurement:
    """measurement-map (§5.1.4.5): a named component and its acceptable digests."""

    name: str  # text mkey, or the PSA label ("" when absent)
    digests: tuple[tuple[int, bytes], ...] = ()
    version: str | None = None
    signer_id: bytes | None = None  # PSA psa-refval-id
    debug: bool | None = None  # flags-map is-debug
    psa: bool = False


@dataclass(frozen=True)
class ReferenceValue:
    """reference-triple-record (§5.1.4.4): an environment and its acceptable measurements."""

    environment: Environment
    measurements: tuple[Measurement, ...]


@dataclass(frozen=True)
class AttestKey:
    """attest-key-triple-record (§5.1.4.8): an environment and the keys that sign its evidence."""

    environment: Environment
    keys_spki: tuple[bytes, ...]  # DER SubjectPublicKeyInfo


@dataclass
class Comid:
    """A concise-mid-tag (§5.1) reduced to its identity and triples."""

    tag_id: str
    reference_values: list[ReferenceValue] = field(default_factory=list)
    attest_keys: list[AttestKey] = field(default_factory=list)


@dataclass
class Corim:
    """A corim-map (§4.1): id, CoMID tags, optional profile."""

    id: str
    tags: list[Comid]
    profile: str | None = None

    @property
    def reference_values(self) -> list[ReferenceValue]:
        return [rv for t in self.tags for rv in t.reference_values]

    @property
    def attest_keys(self) -> list[AttestKey]:
        return [k for t in self.tags for k in t.attest_keys]


# --- encode -------------------------------------------------------------------------------------


def _env_cbor(e: Environment) -> dict[int, Any]:
    out: dict[int, Any] = {}
    cls: dict[int, Any] = {}
    if e.implementation_id is not None:
        cls[K_CLASS_ID] = cbor.tag(TAG_IMPL_ID, e.implementation_id)
    if e.vendor is not None:
        cls[K_VENDOR] = e.vendor
    if e.model is not None:
        cls[K_MODEL] = e.model
    if cls:
        out[E_CLASS] = cls
    if e.instance_ueid is not None:
        out[E_INSTANCE] = cbor.tag(TAG_UEID, e.instance_ueid)
    return out


def _meas_cbor(m: Measurement) -> dict[int, Any]:
    if m.psa:
        rid: dict[int, Any] = {}
        if m.name:
            rid[PSA_LABEL] = m.name
        if m.version is not None:
            rid[PSA_VERSION] = m.version
        if m.signer_id is not None:
            rid[PSA_SIGNER] = m.signer_id
        key: Any = cbor.tag(TAG_PSA_REFVAL_ID, rid)
    else:
        key = m.name
    val: dict[int, Any] = {}
    if m.version is not None and not m.psa:
        val[MV_VERSION] = {0: m.version}
    if m.digests:
        val[MV_DIGESTS] = [[a, d] for a, d in m.digests]
    if m.debug is not None:
        val[MV_FLAGS] = {FLAG_IS_DEBUG: m.debug}
    return {MM_KEY: key, MM_VAL: val}


def encode_comid(c: Comid) -> bytes:
    """Encode a concise-mid-tag (§5.1)."""
    triples: dict[int, Any] = {}
    if c.reference_values:
        triples[T_REFERENCE] = [
            [_env_cbor(r.environment), [_meas_cbor(m) for m in r.measurements]] for r in c.reference_values
        ]
    if c.attest_keys:
        triples[T_ATTEST_KEY] = [
            [
                _env_cbor(k.environment),
                [cbor.tag(TAG_PKIX_B64_KEY, base64.b64encode(s).decode()) for s in k.keys_spki],
            ]
            for k in c.attest_keys
        ]
    return cbor.dumps({M_TAG_IDENTITY: {0: c.tag_id}, M_TRIPLES: triples})


def encode(c: Corim) -> bytes:
    """Encode an unsigned CoRIM: ``#6.501(corim-map)`` (§4.1)."""
    m: dict[int, Any] = {C_ID: c.id, C_TAGS: [cbor.tag(TAG_COMID, encode_comid(t)) for t in c.tags]}
    if c.profile:
        m[C_PROFILE] = cbor.tag(TAG_URI, c.profile)
    return cbor.dumps(cbor.tag(TAG_CORIM, m))


# --- decode -------------------------------------------------------------------------------------


def _text_or_uuid(v: Any, what: str) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, cbor.CBORTag) and v.tag == TAG_UUID and isinstance(v.value, bytes):
        return v.value.hex()
    if hasattr(v, "hex") and type(v).__name__ == "UUID":  # cbor2 decodes tag 37 to uuid.UUID
        return str(v)
    raise _bad(f"{what} must be text or a UUID")


def _env(v: Any) -> Environment:
    if not isinstance(v, dict):
        raise _bad("an environment-map is a map")
    impl = vendor = model = inst = None
    cls = v.get(E_CLASS)
    if cls is not None:
        if not isinstance(cls, dict):
            raise _bad("class-map must be a map", "corim.invalid", E_CLASS)
        cid = cls.get(K_CLASS_ID)
        if cid is not None:
            if (
                isinstance(cid, cbor.CBORTag)
                and cid.tag in (TAG_IMPL_ID, TAG_BYTES)
                and isinstance(cid.value, bytes)
            ) or (isinstance(cid, cbor.CBORTag) and cid.tag == TAG_UUID and isinstance(cid.value, bytes)):
                impl = cid.value
            elif type(cid).__name__ == "UUID":
                impl = cid.bytes
            else:
                raise _bad("unsupported class-id", "corim.class_id", E_CLASS, K_CLASS_ID)
        vendor, model = cls.get(K_VENDOR), cls.get(K_MODEL)
        if vendor is not None and not isinstance(vendor, str):
            raise _bad("vendor must be text")
        if model is not None and not isinstance(model, str):
            raise _bad("model must be text")
    ins = v.get(E_INSTANCE)
    if ins is not None:
        if (
            isinstance(ins, cbor.CBORTag)
            and ins.tag in (TAG_UEID, TAG_BYTES)
            and isinstance(ins.value, bytes)
        ):
            inst = ins.value
        else:
            raise _bad("unsupported instance-id (UEID #6.550 expected)", "corim.instance", E_INSTANCE)
    return Environment(impl, vendor, model, inst)


def _digests(v: Any) -> tuple[tuple[int, bytes], ...]:
    if not isinstance(v, list) or not v:
        raise _bad("digests must be a non-empty array")
    out = []
    for d in v:
        if not isinstance(d, list) or len(d) != 2 or not isinstance(d[1], bytes):
            raise _bad("a digest is [alg, value]")
        alg = DIGEST_ALGS.get(d[0], d[0]) if isinstance(d[0], str) else d[0]
        if not is_int(alg):
            raise _bad("unknown digest algorithm")
        out.append((int(alg), d[1]))
    return tuple(out)


def _meas(v: Any) -> Measurement:
    if not isinstance(v, dict) or MM_VAL not in v:
        raise _bad("a measurement-map needs mval")
    key, val = v.get(MM_KEY), v[MM_VAL]
    if not isinstance(val, dict):
        raise _bad("mval must be a map")
    digests = _digests(val[MV_DIGESTS]) if MV_DIGESTS in val else ()
    flags = val.get(MV_FLAGS)
    debug = flags.get(FLAG_IS_DEBUG) if isinstance(flags, dict) else None
    if debug is not None and not isinstance(debug, bool):
        raise _bad("is-debug must be a bool")
    ver = val.get(MV_VERSION)
    version = ver.get(0) if isinstance(ver, dict) and isinstance(ver.get(0), str) else None
    if isinstance(key, cbor.CBORTag) and key.tag == TAG_PSA_REFVAL_ID and isinstance(key.value, dict):
        rid = key.value
        label, pver, signer = rid.get(PSA_LABEL, ""), rid.get(PSA_VERSION), rid.get(PSA_SIGNER)
        if not isinstance(label, str) or (pver is not None and not isinstance(pver, str)):
            raise _bad("psa-refval-id label and version are text")
        if signer is not None and not isinstance(signer, bytes):
            raise _bad("psa-refval-id signer-id is bytes")
        return Measurement(label, digests, pver, signer, debug, psa=True)
    if key is None:
        key = ""
    return Measurement(_text_or_uuid(key, "mkey"), digests, version, None, debug)


def _key(v: Any) -> bytes:
    if isinstance(v, cbor.CBORTag) and v.tag == TAG_PKIX_B64_KEY and isinstance(v.value, str):
        body = "".join(x for x in v.value.splitlines() if not x.startswith("-----"))
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _bad("invalid base64 key", "corim.key") from exc
    if isinstance(v, cbor.CBORTag) and v.tag == TAG_COSE_KEY and isinstance(v.value, (bytes, dict)):
        # tagged-cose-key-type (§5.1.4.8): kept as SPKI, like every other key here
        from iotsec.core.cose import CoseKey

        try:
            return CoseKey.from_cose(v.value).public().to_der(private=False)
        except IotSecError as exc:
            raise _bad(f"unusable COSE_Key: {exc}", "corim.key") from exc
    raise _bad("unsupported key type (#6.554 PKIX base64 key or #6.558 COSE_Key expected)", "corim.key")


def decode_comid(data: bytes) -> Comid:
    """Decode a concise-mid-tag; DecodeError / ValidationError on bad input."""
    m = cbor.loads(data)
    if not isinstance(m, dict) or not isinstance(m.get(M_TAG_IDENTITY), dict) or M_TRIPLES not in m:
        raise _bad("a concise-mid-tag needs tag-identity and triples", "comid.invalid")
    c = Comid(_text_or_uuid(m[M_TAG_IDENTITY].get(0), "tag-id"))
    triples = m[M_TRIPLES]
    if not isinstance(triples, dict):
        raise _bad("triples must be a map", "comid.invalid", M_TRIPLES)
    refs, keys = triples.get(T_REFERENCE, []), triples.get(T_ATTEST_KEY, [])
    if not isinstance(refs, list):  # §5.1.4: the triples are arrays of records
        raise _bad("a reference triple is [environment, [+ measurement]]", "comid.invalid")
    if not isinstance(keys, list):
        raise _bad("an attest-key triple is [environment, [+ key]]", "comid.invalid")
    for rec in refs:
        if not isinstance(rec, list) or len(rec) != 2 or not isinstance(rec[1], list):
            raise _bad("a reference triple is [environment, [+ measurement]]", "comid.invalid")
        c.reference_values.append(ReferenceValue(_env(rec[0]), tuple(_meas(x) for x in rec[1])))
    for rec in keys:
        if not isinstance(rec, list) or len(rec) not in (2, 3) or not isinstance(rec[1], list) or not rec[1]:
            raise _bad("an attest-key triple is [environment, [+ key]]", "comid.invalid")
        c.attest_keys.append(AttestKey(_env(rec[0]), tuple(_key(k) for k in rec[1])))
    return c


def decode_unsigned(data: bytes) -> Corim:
    """Decode ``#6.501(corim-map)`` (the tag is optional). Raises DecodeError / ValidationError."""
    m = cbor.loads(data)
    if isinstance(m, cbor.CBORTag):
        if m.tag != TAG_CORIM:
            raise DecodeError(f"not an unsigned CoRIM (tag {m.tag})", reason="corim.tag")
        m = m.value
    if not isinstance(m, dict) or C_ID not in m or not isinstance(m.get(C_TAGS), list):
        raise _bad("a corim-map needs id and tags")
    prof = m.get(C_PROFILE)
    if isinstance(prof, cbor.CBORTag):
        prof = prof.value
    tags = []
    for i, t in enumerate(m[C_TAGS]):
        if isinstance(t, cbor.CBORTag) and t.tag == TAG_COMID and isinstance(t.value, bytes):
            try:
                tags.append(decode_comid(t.value))
            except ValidationError as e:
                raise e.at(C_TAGS, i) from None
        # CoSWID (#6.505) and CoTL (#6.508) tags are carried but not used for appraisal here
    return Corim(_text_or_uuid(m[C_ID], "corim-id"), tags, prof if isinstance(prof, str) else None)


# --- readable description ----------------------------------------------------------------------


def _hex(v: Any, what: str) -> bytes:
    try:
        return bytes.fromhex(str(v))
    except ValueError as exc:
        raise _bad(f"{what} must be hex", "corim.description") from exc


def _env_desc(d: Any) -> Environment:
    if not isinstance(d, dict):
        raise _bad("environment must be a mapping", "corim.description")
    cls = d.get("class", {}) or {}
    inst = d.get("instance", {}) or {}
    return Environment(
        implementation_id=_hex(cls["implementation-id"], "implementation-id")
        if "implementation-id" in cls
        else None,
        vendor=cls.get("vendor"),
        model=cls.get("model"),
        instance_ueid=_hex(inst["ueid"], "ueid") if "ueid" in inst else None,
    )


def _meas_desc(d: Any) -> Measurement:
    if not isinstance(d, dict):
        raise _bad("a measurement must be a mapping", "corim.description")
    digests = []
    for x in d.get("digests", []):
        alg, _, hx = str(x).partition(":")
        if alg not in DIGEST_ALGS:
            raise _bad(f"digest {x!r}: use sha-256:HEX, sha-384:HEX or sha-512:HEX", "corim.description")
        digests.append((DIGEST_ALGS[alg], _hex(hx, "digest")))
    psa = "signer-id" in d
    return Measurement(
        name=str(d.get("name", "")),
        digests=tuple(digests),
        version=d.get("version"),
        signer_id=_hex(d["signer-id"], "signer-id") if psa else None,
        debug=d.get("debug"),
        psa=psa,
    )


def from_description(desc: Any, *, load_spki: Any = None) -> Corim:
    """Build a CoRIM from a readable description (see docs/rats.md). ``load_spki(text) -> DER`` turns
    a PEM or JWK into SubjectPublicKeyInfo (supplied by the caller, which may read files)."""
    if not isinstance(desc, dict) or "id" not in desc:
        raise _bad("a CoRIM description needs an id", "corim.description")
    tags = []
    for i, t in enumerate(desc.get("tags", [])):
        if not isinstance(t, dict):
            raise _bad("a tag must be a mapping", "corim.description", "tags", i)
        c = Comid(str(t.get("id", f"{desc['id']}/{i}")))
        for rv in t.get("reference-values", []):
            c.reference_values.append(
                ReferenceValue(
                    _env_desc(rv.get("environment", {})), tuple(_meas_desc(m) for m in rv["measurements"])
                )
            )
        for ak in t.get("attestation-keys", []):
            if load_spki is None:
                raise _bad("attestation keys need a key loader", "corim.description")
            c.attest_keys.append(
                AttestKey(_env_desc(ak.get("environment", {})), tuple(load_spki(k) for k in ak["keys"]))
            )
        tags.append(c)
    return Corim(str(desc["id"]), tags, desc.get("profile"))


def to_description(c: Corim) -> dict[str, Any]:
    """The readable description of ``c`` (inverse of :func:`from_description`, keys as base64 SPKI)."""

    def env(e: Environment) -> dict[str, Any]:
        out: dict[str, Any] = {}
        cls = {
            k: v
            for k, v in (
                ("implementation-id", e.implementation_id.hex() if e.implementation_id else None),
                ("vendor", e.vendor),
                ("model", e.model),
            )
            if v is not None
        }
        if cls:
            out["class"] = cls
        if e.instance_ueid is not None:
            out["instance"] = {"ueid": e.instance_ueid.hex()}
        return out

    names = {v: k for k, v in DIGEST_ALGS.items()}

    def meas(m: Measurement) -> dict[str, Any]:
        out: dict[str, Any] = {"name": m.name}
        if m.digests:
            out["digests"] = [f"{names.get(a, a)}:{d.hex()}" for a, d in m.digests]
        if m.version is not None:
            out["version"] = m.version
        if m.signer_id is not None:
            out["signer-id"] = m.signer_id.hex()
        if m.debug is not None:
            out["debug"] = m.debug
        return out

    d: dict[str, Any] = {"id": c.id}
    if c.profile:
        d["profile"] = c.profile
    d["tags"] = [
        {
            "id": t.tag_id,
            "reference-values": [
                {"environment": env(r.environment), "measurements": [meas(m) for m in r.measurements]}
                for r in t.reference_values
            ],
            "attestation-keys": [
                {
                    "environment": env(k.environment),
                    "keys": [base64.b64encode(s).decode() for s in k.keys_spki],
                }
                for k in t.attest_keys
            ],
        }
        for t in c.tags
    ]
    return d


__all__ = [
    "MEDIA_TYPES",
    "AttestKey",
    "Comid",
    "Corim",
    "Environment",
    "Measurement",
    "ReferenceValue",
    "decode_comid",
    "decode_unsigned",
    "encode",
    "encode_comid",
    "from_description",
    "to_description",
]
