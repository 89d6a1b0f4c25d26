"""More fast paths checked against the general code they shortcut: reference values prepared once
per attester give the same appraisal (status, vector, findings) as the plain list of references."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from iotsec.core import jose
from iotsec.core.eat import corim
from iotsec.core.eat.appraisal import (
    AppraisalResult,
    Component,
    Evidence,
    Policy,
    PreparedReferences,
    appraise,
)
from iotsec.errors import ValidationError

IDS = [None, b"\x01" * 8, b"\x02" * 8]
NAMES = ["a", "b", "c"]
DIGESTS = [b"\x11" * 32, b"\x22" * 32]

measurements = st.builds(
    corim.Measurement,
    st.sampled_from(NAMES),
    st.lists(st.tuples(st.just(1), st.sampled_from(DIGESTS)), max_size=2).map(tuple),
    version=st.sampled_from([None, "1", "2"]),
    signer_id=st.sampled_from([None, b"s1", b"s2"]),
    psa=st.booleans(),
)
references = st.lists(
    st.builds(
        corim.ReferenceValue,
        st.builds(
            corim.Environment, implementation_id=st.sampled_from(IDS), instance_ueid=st.sampled_from(IDS)
        ),
        st.lists(measurements, max_size=3).map(tuple),
    ),
    max_size=3,
)
components = st.lists(
    st.builds(
        Component,
        st.sampled_from([*NAMES, "z"]),
        st.just(1),
        st.sampled_from(DIGESTS),
        st.sampled_from([None, "1", "2"]),
        st.sampled_from([None, b"s1", b"s2"]),
    ),
    max_size=4,
)
policies = st.builds(
    Policy,
    unknown_component=st.sampled_from(["allow", "warn", "contraindicate"]),
    require_reference_values=st.booleans(),
)


def _oracle(ev: Evidence, refs: list[corim.ReferenceValue], policy: Policy) -> list[tuple[str, str]]:
    """The component findings (id, path) by the rules of draft-ietf-rats-corim §8 as written in the
    appraisal docs, spelled out independently of the appraisal code."""
    known = [
        m
        for r in refs
        if r.environment.matches(implementation_id=ev.implementation_id, instance_ueid=ev.instance_id)
        for m in r.measurements
    ]
    if not known:
        return [("eat.refval.missing", "")]
    out, used = [], []
    for i, c in enumerate(ev.components):
        cands = [
            m
            for m in known
            if m.name == c.name
            and not (m.psa and m.signer_id is not None and m.signer_id != c.signer_id)
            and not (m.psa and m.version is not None and m.version != c.version)
        ]
        used += cands
        if not cands:
            if policy.unknown_component != "allow":
                out.append(("eat.component.unrecognized", f"/{i}"))
        elif any((c.alg, c.digest) in m.digests for m in cands):
            out.append(("eat.component.match", f"/{i}"))
        else:
            out.append(("eat.component.mismatch", f"/{i}"))
    out += [("eat.component.absent", "") for m in known if m.digests and all(m is not u for u in used)]
    return out


def _view(r: AppraisalResult) -> object:
    a = r.appraisal
    return (a.status, dict(a.vector), a.policy_ids, [f.as_dict() for f in r.findings])


@settings(max_examples=150, deadline=None)
@given(
    references,
    components,
    st.sampled_from(IDS),
    st.sampled_from(IDS),
    st.sampled_from(IDS),
    st.sampled_from(IDS),
    policies,
)
def test_rats_prepared_references_appraise_like_the_list(
    refs: list[corim.ReferenceValue],
    comps: list[Component],
    impl: bytes | None,
    inst: bytes | None,
    prep_impl: bytes | None,
    prep_inst: bytes | None,
    policy: Policy,
) -> None:
    ev = Evidence("p", b"n" * 8, inst, impl, tuple(comps), None)
    got = appraise(ev, refs, policy)
    assert [(f.id, f.path) for f in got.findings] == _oracle(ev, refs, policy)
    expected = _view(got)
    # prepared for another attester: the same as the references it holds, selected again
    prepared = PreparedReferences(refs, implementation_id=prep_impl, instance_id=prep_inst)
    assert _view(appraise(ev, prepared, policy)) == _view(appraise(ev, list(prepared), policy))
    mine = PreparedReferences(refs, implementation_id=impl, instance_id=inst)
    assert list(mine) == [
        r for r in refs if r.environment.matches(implementation_id=impl, instance_ueid=inst)
    ]
    assert _view(appraise(ev, mine, policy)) == expected
    assert _view(appraise(ev, mine, policy)) == expected  # cached findings are reused alike


def test_rats_jws_signing_key_check_is_remembered_per_key_and_alg() -> None:
    p256, p384 = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP384R1())
    for _ in range(2):  # the second round meets the remembered check
        token = jose.sign_compact(b"{}", p256, "ES256")
        assert jose.verify_compact(token.encode(), p256.public_key(), algs=("ES256",))[1] == b"{}"
        for key, alg in ((p384, "ES256"), (p256, "ES384"), (b"k" * 32, "ES256"), (p256, "HS256")):
            with pytest.raises(ValidationError) as ei:
                jose.sign_compact(b"{}", key, alg)
            assert ei.value.reason == "jws.key"
