"""A third round of appraisal fast paths, each checked against the general code it shortcuts: claims
that pass their check unchanged, CoSWID file entries of the usual shape, Component / Evidence objects
built without the frozen-dataclass ``__init__``, base64url, the JWS ``r || s`` read from DER, the
COSE_Sign1 Sig_structure and algorithm look-up, and the EAR submodule text cache."""

from __future__ import annotations

import base64
import dataclasses
import importlib
import json
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st

from iotsec.core import cbor, jose
from iotsec.core.cose import Algorithm, CoseKey, Sign1Message, sign1
from iotsec.core.cose.algorithms import ALGORITHMS, AlgKind, alg_info
from iotsec.core.eat import _util, appraisal, claims, coswid, ear
from iotsec.core.jose import jws
from iotsec.errors import IotSecError, UnsupportedError

cose_sign = importlib.import_module("iotsec.core.cose.sign")  # the package exports a sign() function

# --- claims that pass their check unchanged ---------------------------------------------------------


def _samples(t: type, lo: int, hi: int) -> list[Any]:
    if t is int:
        return [v for v in (lo, lo + 1, 0, 1, 2**32, hi - 1) if lo <= v <= hi]
    unit: Any = "é" if t is str else b"\x00"
    lengths = {n for n in (lo, lo + 1, hi - 1, hi, 0, 1, 100) if 0 <= n <= min(hi, 200) and n >= lo}
    return [unit * n for n in sorted(lengths)]


@pytest.mark.parametrize("label", sorted(claims._UNCHANGED))
def test_rats_unchanged_claims_table_matches_the_checks(label: int) -> None:
    """Every value the table lets through is returned unchanged (the same object) by the claim's check."""
    t, lo, hi = claims._UNCHANGED[label]
    check = claims.REGISTRY[label].check
    for v in _samples(t, lo, hi):
        assert check(v, (label,)) is v, (label, v)
        assert claims.validate_claims({label: v})[label] is v


claim_values = st.one_of(
    st.integers(-(2**70), 2**70),
    st.binary(max_size=70),
    st.text(max_size=5),
    st.booleans(),
    st.none(),
    st.lists(st.integers(0, 3), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(claims.REGISTRY)), claim_values, max_size=6))
def test_rats_validate_claims_like_each_check(raw: dict[int, Any]) -> None:
    """validate_claims gives what the registry's checks give, value by value (or the same error)."""
    expected: dict[int, Any] = {}
    try:
        for k, v in raw.items():
            if k == claims.Claim.SUBMODS:
                expected[k] = claims._check_submods(v, (k,), 0, from_json=False)
            else:
                expected[k] = claims.REGISTRY[k].check(v, (k,))
    except IotSecError as exc:
        with pytest.raises(type(exc)) as ei:
            claims.validate_claims(raw)
        assert (ei.value.reason, ei.value.path) == (exc.reason, exc.path)  # type: ignore[attr-defined]
        return
    got = claims.validate_claims(raw)
    assert got == expected
    assert [type(x) for x in got.values()] == [type(x) for x in expected.values()]


# --- CoSWID file entries -------------------------------------------------------------------------------


def _files_reference(data: bytes) -> list[tuple[str, int, bytes, int | None]]:
    """The file-entry checks as written before the exact-type shortcut (the oracle)."""
    m = cbor.loads(data)
    if isinstance(m, cbor.CBORTag) and m.tag == coswid.COSWID_TAG:
        m = m.value
    if not isinstance(m, dict):
        raise coswid._bad("a CoSWID is a map")
    tag_id, name = m.get(0), m.get(1)
    if not isinstance(tag_id, (str, bytes)) or not isinstance(name, str):
        raise coswid._bad("tag-id and software-name are required", 0)
    ev = m.get(3, {})
    if not isinstance(ev, dict):
        raise coswid._bad("evidence must be a map", 3)
    raw_files = ev.get(17, [])
    if isinstance(raw_files, dict):
        raw_files = [raw_files]
    if not isinstance(raw_files, list):
        raise coswid._bad("file must be a map or an array of maps", 3, 17)
    out = []
    for i, f in enumerate(raw_files):
        if not isinstance(f, dict) or not isinstance(fs_name := f.get(24), str):
            raise coswid._bad("a file entry needs fs-name", 3, 17, i)
        h = f.get(7)
        if not isinstance(h, list) or len(h) != 2 or not _util.is_int(h[0]) or not isinstance(h[1], bytes):
            raise coswid._bad("a file entry needs hash [alg, value]", 3, 17, i)
        alg, digest = h
        if alg in coswid.HASH_SIZES and len(digest) != coswid.HASH_SIZES[alg]:
            raise coswid._bad("the hash value has the wrong length for its algorithm", 3, 17, i)
        size = f.get(20)
        out.append((fs_name, alg, digest, size if _util.is_int(size) else None))
    return out


entry_values = st.one_of(
    st.text(max_size=3),
    st.binary(min_size=30, max_size=34),
    st.integers(-2, 9),
    st.booleans(),
    st.none(),
    st.lists(st.one_of(st.integers(0, 8), st.booleans(), st.binary(min_size=31, max_size=33)), max_size=3),
)
file_entries = st.one_of(
    st.dictionaries(st.sampled_from([24, 7, 20, 99]), entry_values, max_size=4),
    st.fixed_dictionaries(
        {
            24: st.text(max_size=3),
            7: st.tuples(st.sampled_from([1, 7, 8, 99]), st.binary(min_size=32, max_size=64)).map(list),
        },
        optional={20: st.one_of(st.integers(0, 9), st.none(), st.text(max_size=1))},
    ),
    entry_values,
)


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(st.lists(file_entries, max_size=4), file_entries),
    st.booleans(),
    st.sampled_from([{}, None, "x", {17: None}]),
)
def test_rats_coswid_file_entries_like_the_general_checks(files: Any, tagged: bool, other: Any) -> None:
    m: dict[int, Any] = {0: "t", 1: "fw", 3: {17: files}, 13: "1.0"}
    for body in (m, {**m, 3: other}):
        data = cbor2.dumps(cbor2.CBORTag(coswid.COSWID_TAG, body) if tagged else body)
        try:
            expected: Any = ("ok", _files_reference(data))
        except IotSecError as exc:
            expected = ("error", type(exc), exc.reason, getattr(exc, "path", None))
        for fn, cut in ((coswid.file_digests, 3), (coswid.decode, 4)):
            try:
                got: Any = fn(data)
            except IotSecError as exc:
                assert expected == ("error", type(exc), exc.reason, getattr(exc, "path", None))
                continue
            assert expected[0] == "ok"
            if fn is coswid.file_digests:
                assert got[0] == [f[:cut] for f in expected[1]]
            else:
                assert [(f.name, f.alg, f.digest, f.size) for f in got.files] == expected[1]


# --- Component / Evidence without the frozen-dataclass __init__ ----------------------------------------


def test_rats_fast_component_and_evidence_equal_the_constructors() -> None:
    assert [f.name for f in dataclasses.fields(appraisal.Component)] == [
        "name",
        "alg",
        "digest",
        "version",
        "signer_id",
    ]
    fast = appraisal._component("fw", 1, b"d" * 32, "1.2")
    slow = appraisal.Component("fw", 1, b"d" * 32, "1.2")
    assert fast == slow and vars(fast) == vars(slow) and repr(fast) == repr(slow) and hash(fast) == hash(slow)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.name = "x"  # type: ignore[misc]
    claims_set = {10: b"n" * 8}
    ev = appraisal._evidence("p", b"n" * 8, b"u" * 8, None, (fast,), False, claims_set)
    slow_ev = appraisal.Evidence("p", b"n" * 8, b"u" * 8, None, (slow,), False, None, claims_set)
    assert ev == slow_ev and vars(ev) == vars(slow_ev) and repr(ev) == repr(slow_ev)
    assert list(vars(ev)) == [f.name for f in dataclasses.fields(appraisal.Evidence)]


# --- base64url and the JWS r || s ------------------------------------------------------------------


@given(st.binary(max_size=300))
def test_rats_b64u_encoders_agree_with_base64(data: bytes) -> None:
    expected = base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
    assert jose.b64u_encode(data) == _util.b64u_encode(data) == expected
    assert jws._b64u(data) == expected.encode()
    assert jose.b64u_encode(bytearray(data)) == _util.b64u_encode(memoryview(data)) == expected


@settings(max_examples=500)
@given(st.sampled_from([(32, 256), (48, 384), (66, 521)]), st.data())
def test_rats_raw_ecdsa_from_der_like_decode_dss_signature(
    curve: tuple[int, int], data: st.DataObject
) -> None:
    size, bits = curve
    ints = st.one_of(
        st.integers(1, 2**bits - 1), st.integers(1, 2**16), st.integers(2 ** (bits - 9), 2 ** (bits - 7))
    )
    r, s = data.draw(ints), data.draw(ints)
    der = encode_dss_signature(r, s)
    assert jws._raw_ecdsa(der, size) == r.to_bytes(size, "big") + s.to_bytes(size, "big")


def test_rats_raw_ecdsa_leaves_unusual_der_to_the_library() -> None:
    der = encode_dss_signature(5, 7)
    assert decode_dss_signature(der) == (5, 7)
    for bad in (der[:-1], der + b"\x00", b"\x31" + der[1:], der[:2] + b"\x03" + der[3:]):
        with pytest.raises(ValueError):
            jws._raw_ecdsa(bad, 32)
    key = ec.generate_private_key(ec.SECP521R1())  # long-form SEQUENCE length
    for _ in range(5):
        token = jose.sign_compact(b"{}", key, "ES512")
        assert jose.verify_compact(token, key.public_key(), algs=("ES512",))[1] == b"{}"


# --- COSE_Sign1: Sig_structure and algorithm look-up -----------------------------------------------


def test_rats_sign1_verify_builds_the_to_be_signed_structure(monkeypatch: pytest.MonkeyPatch) -> None:
    key = CoseKey.generate(Algorithm.ES256)
    for protected in (None, {3: 0}):
        msg = Sign1Message.decode(sign1(b"payload", key, protected=protected))
        msg.verify(key.public())
        seen: list[tuple[Any, bytes]] = []

        def record(info: Any, k: Any, t: bytes, sig: bytes, seen: list[tuple[Any, bytes]] = seen) -> None:
            seen.append((info, t))

        with monkeypatch.context() as mp:
            mp.setattr(cose_sign._sig, "verify", record)
            msg.verify(key)
            msg.verify(key, b"aad")
            msg.verify(key, bytearray(b"aad"))
        assert [t for _, t in seen] == [
            msg.to_be_signed(),
            msg.to_be_signed(b"aad"),
            msg.to_be_signed(b"aad"),
        ]
        assert all(info is alg_info(Algorithm.ES256, kind=AlgKind.SIGNATURE) for info, _ in seen)
    assert {int(a): i for a, i in ALGORITHMS.items() if i.kind is AlgKind.SIGNATURE} == cose_sign._SIG_INFO
    mac_alg = cose_sign.Sign1Message({1: int(Algorithm.HMAC_256_256)}, b"\xa1\x01\x05", {}, b"p", b"s")
    with pytest.raises(UnsupportedError) as ei:
        mac_alg.verify(key)
    assert ei.value.reason == "cose.alg.kind"


# --- EAR submodule text cache ----------------------------------------------------------------------


def test_rats_ear_submodule_cache_keeps_look_alike_appraisals_apart() -> None:
    cat = ear.Category
    looks = [
        ear.Appraisal(ear.Tier.AFFIRMING, {cat.EXECUTABLES: 2}, ["p"], "urn:x"),
        ear.Appraisal(ear.Tier.AFFIRMING, {cat.EXECUTABLES: True}, ["p"], "urn:x"),  # 1 == True
        ear.Appraisal(ear.Tier.AFFIRMING, {cat.EXECUTABLES: 1}, ["p"], "urn:x"),
        ear.Appraisal(ear.Tier.AFFIRMING, {cat.EXECUTABLES: 1.0}, ["p"], "urn:x"),  # type: ignore[dict-item]
        ear.Appraisal(ear.Tier.AFFIRMING, {cat.EXECUTABLES: 2}, ["p", "q"], ""),
        ear.Appraisal(ear.Tier.AFFIRMING, {cat.EXECUTABLES: 2}, ["p", "q"], None, b"x" * 8),
        ear.Appraisal(ear.Tier.WARNING, {}, [], []),  # type: ignore[arg-type]
        ear.Appraisal(ear.Tier.WARNING, None, None, 0),  # type: ignore[arg-type]
    ]
    for gen in ("ietf", "veraison-2023"):
        for _ in range(2):  # the second round meets the cached texts
            for name in ("device", "PSA"):
                for a in looks:
                    e = ear.Ear(7, "d", "b", {name: a, "other": a}, nonce=b"n" * 8)
                    expected = json.dumps(ear.to_json(e, generation=gen), separators=(",", ":"))
                    assert ear.encode_json(e, generation=gen) == expected
