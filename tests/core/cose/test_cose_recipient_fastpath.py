"""The recipient fast paths give what the general code gives (RFC 9053 §6.3.1, §5.2).

* :func:`iotsec.core.cose._keymat.peer_agreement_key` reads the usual EC2 ephemeral/static key
  header directly; for every map it must return the same key, or raise the same error, as
  ``public_agreement_key(cose_key_from_header(map))``.
* The COSE_KDF_Context built without PartyU/PartyV header parameters must be the one the general
  construction (``PartyInfo.from_headers``) encodes.
* The key ``alg`` restriction (RFC 9052 §7.1) accepts and refuses what the set-based rule did.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iotsec.core.cose import CoseKey
from iotsec.core.cose._keymat import cose_key_from_header, peer_agreement_key, public_agreement_key
from iotsec.core.cose.algorithms import Algorithm
from iotsec.core.cose.kdf import PartyInfo, kdf_context
from iotsec.core.cose.recipient import (
    KdfParams,
    Recipient,
    _check_key_alg,
    _context,
    recipient_alg,
)
from iotsec.errors import IotSecError

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CURVES = {1: (ec.SECP256R1(), 32), 2: (ec.SECP384R1(), 48), 3: (ec.SECP521R1(), 66)}
POINTS = {
    crv: [ec.generate_private_key(c).public_key().public_numbers() for _ in range(3)]
    for crv, (c, _) in CURVES.items()
}


def _header(crv: int, n: int) -> dict[int, Any]:
    size = CURVES[crv][1]
    nums = POINTS[crv][n]
    return {1: 2, -1: crv, -2: nums.x.to_bytes(size, "big"), -3: nums.y.to_bytes(size, "big")}


def _outcome(f: Any) -> tuple[Any, ...]:
    try:
        key = f()
    except IotSecError as err:
        return ("error", type(err).__name__, err.reason, str(err))
    nums = key.public_numbers()
    return ("key", key.curve.name, nums.x, nums.y)


def _general(value: object) -> Any:
    return public_agreement_key(cose_key_from_header(value))


def _same(value: object) -> None:
    assert _outcome(lambda: peer_agreement_key(value)) == _outcome(lambda: _general(value))


def test_valid_points_on_each_curve() -> None:
    for crv in CURVES:
        for n in range(3):
            h = _header(crv, n)
            assert _outcome(lambda h=h: peer_agreement_key(h))[0] == "key"
            _same(h)


@SETTINGS
@given(
    crv=st.sampled_from([1, 2, 3]),
    n=st.integers(0, 2),
    coord=st.sampled_from([-2, -3]),
    pos=st.integers(0, 65),
    bit=st.integers(0, 7),
)
def test_altered_coordinates(crv: int, n: int, coord: int, pos: int, bit: int) -> None:
    h = _header(crv, n)
    raw = bytearray(h[coord])
    raw[pos % len(raw)] ^= 1 << bit  # off the curve (or, rarely, another point)
    h[coord] = bytes(raw)
    _same(h)


def test_coordinates_outside_the_field() -> None:
    # x = p (and y = p) are not field elements: refused or read the same way by both paths
    p = 2**256 - 2**224 + 2**192 + 2**96 - 1
    h = _header(1, 0)
    for coord in (-2, -3):
        g = dict(h)
        g[coord] = p.to_bytes(32, "big")
        _same(g)
        g[coord] = (2**256 - 1).to_bytes(32, "big")
        _same(g)
    _same({1: 2, -1: 1, -2: bytes(32), -3: bytes(32)})


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.binary(min_size=0, max_size=70),
    st.text(max_size=3),
    st.lists(st.integers(0, 3), max_size=2),
)


@SETTINGS
@given(
    crv=st.sampled_from([1, 2, 3]),
    n=st.integers(0, 2),
    changes=st.dictionaries(st.sampled_from([1, -1, -2, -3, -4, 2, 3, 4, 5, 7]), _VALUES, max_size=3),
    drop=st.lists(st.sampled_from([1, -1, -2, -3]), max_size=2),
)
def test_altered_maps(crv: int, n: int, changes: dict[int, Any], drop: list[int]) -> None:
    h = _header(crv, n)
    for k in drop:
        h.pop(k, None)
    h.update(changes)
    _same(h)


@SETTINGS
@given(value=st.one_of(_VALUES, st.dictionaries(st.integers(-4, 4), _VALUES, max_size=5)))
def test_arbitrary_values(value: object) -> None:
    _same(value)


def test_private_key_in_the_header_is_refused_by_both() -> None:
    key = CoseKey.generate(Algorithm.ECDH_ES_A128KW)
    m = key.to_cose_map(private=True)
    _same(m)
    assert _outcome(lambda: peer_agreement_key(m))[0] == "error"


# ---------------------------------------------------------------- COSE_KDF_Context (RFC 9053 §5.2)


def _general_context(r: Recipient, alg: int, params: KdfParams) -> bytes:
    headers = {**r.protected, **r.unprotected}
    return kdf_context(
        alg,
        r.protected_bytes if r.protected else b"",
        party_u=params.party_u or PartyInfo.from_headers(headers, party="u"),
        party_v=params.party_v or PartyInfo.from_headers(headers, party="v"),
        supp_pub_other=params.supp_pub_other,
        supp_priv_info=params.supp_priv_info,
    )


def _ctx_outcome(f: Any) -> tuple[Any, ...]:
    try:
        return ("ok", f())
    except IotSecError as err:
        return ("error", type(err).__name__, err.reason, str(err))


_PARTY = st.sampled_from([-21, -22, -23, -24, -25, -26, -20, 4, 33])


@SETTINGS
@given(
    unprotected=st.dictionaries(
        _PARTY, st.one_of(st.none(), st.binary(max_size=4), st.integers(0, 3)), max_size=3
    ),
    protected=st.dictionaries(_PARTY, st.binary(max_size=4), max_size=2),
    alg=st.sampled_from([-3, -4, -5, 1, 3]),
    other=st.one_of(st.none(), st.binary(max_size=8)),
    priv=st.one_of(st.none(), st.binary(max_size=8)),
    party_u=st.one_of(st.none(), st.builds(PartyInfo, st.one_of(st.none(), st.binary(max_size=3)))),
)
def test_context_matches_the_general_construction(
    unprotected: dict[int, Any],
    protected: dict[int, Any],
    alg: int,
    other: bytes | None,
    priv: bytes | None,
    party_u: PartyInfo | None,
) -> None:
    from iotsec.core import cbor

    prot = {1: -29, **protected}
    r = Recipient(prot, unprotected, b"", cbor.dumps(prot))
    params = KdfParams(party_u=party_u, supp_pub_other=other, supp_priv_info=priv)
    assert _ctx_outcome(lambda: _context(r, alg, params)) == _ctx_outcome(
        lambda: _general_context(r, alg, params)
    )


# ---------------------------------------------------------------- key alg restriction (RFC 9052 §7.1)


def _old_rule(key_alg: Any, ra_alg: int, direct: bool, content_alg: int) -> bool:
    if key_alg is None:
        return True
    allowed = {ra_alg}
    if direct:
        allowed.add(content_alg)
    return isinstance(key_alg, int) and int(key_alg) in allowed


@given(
    key_alg=st.one_of(st.none(), st.booleans(), st.integers(-40, 40), st.text(max_size=3)),
    ra_alg=st.sampled_from([-6, -10, -3, -5, -25, -29, -31, -32]),
    content_alg=st.sampled_from([1, 3, 24, -65534]),
)
def test_key_alg_rule_unchanged(key_alg: Any, ra_alg: int, content_alg: int) -> None:
    key = CoseKey.symmetric(bytes(16))
    key.alg = key_alg
    ra = recipient_alg(ra_alg)
    direct = ra.method.value in ("direct", "direct+hkdf")
    try:
        _check_key_alg(key, ra, content_alg)
        ok = True
    except IotSecError as err:
        assert err.reason == "cose.key.alg_mismatch"
        ok = False
    assert ok == _old_rule(key_alg, ra_alg, direct, content_alg)


def test_agreement_key_checks_remember_classes_without_changing_answers() -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519, x448, x25519

    from iotsec.core.cose import ecdh

    ec_key = ec.generate_private_key(ec.SECP256R1())
    x_key = x25519.X25519PrivateKey.generate()
    privs: list[object] = [ec_key, x_key, x448.X448PrivateKey.generate()]
    pubs: list[object] = [ec_key.public_key(), x_key.public_key()]
    others: list[object] = [ed25519.Ed25519PrivateKey.generate(), b"key", None, 3]
    for _ in range(2):  # the second round answers from the remembered classes
        assert all(ecdh.is_agreement_private(k) for k in privs)
        assert all(ecdh.is_agreement_public(k) for k in pubs)
        assert not any(ecdh.is_agreement_private(k) for k in pubs + others)
        assert not any(ecdh.is_agreement_public(k) for k in privs + others)
        z = ecdh.shared_secret(ec_key, ec.generate_private_key(ec.SECP256R1()).public_key())
        assert len(z) == 32
        p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
        for bad in (p384, x_key.public_key()):
            try:
                ecdh.shared_secret(ec_key, bad)
            except IotSecError as err:
                assert err.reason == "cose.key.curve"
            else:
                raise AssertionError("a key on another curve was accepted")


@given(
    context=st.one_of(
        st.sampled_from(["Encrypt0", "Encrypt", "Enc_Recipient", "Mac_Recipient", "Rec_Recipient"]),
        st.text(max_size=30),
    ),
    protected=st.binary(max_size=300),
    aad=st.binary(max_size=70000),
)
@settings(max_examples=100, deadline=None)
def test_enc_structure_is_the_cbor_encoding(context: str, protected: bytes, aad: bytes) -> None:
    # RFC 9052 §5.3, with the array head and context of the usual contexts precomputed
    from iotsec.core import cbor
    from iotsec.core.cose.enc_common import enc_structure

    assert enc_structure(context, protected, aad) == cbor.dumps([context, protected, aad])
