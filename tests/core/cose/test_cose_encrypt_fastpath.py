"""The usual-shape COSE_Encrypt decoder gives what the general decoder gives (RFC 9052 §5.1, §3).

``EncryptMessage.decode`` of an already parsed, tagged COSE_Encrypt first tries
``encrypt._decode_usual`` (SUIT_Encryption_Info's shape: small protected maps, plain headers, flat
recipients); it must accept exactly what the general path accepts, build equal objects, and leave
every error to the general path.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iotsec.core import cbor
from iotsec.core.cbor import CBORTag
from iotsec.core.cose import Algorithm, CoseKey
from iotsec.core.cose.enc_common import TAG_ENCRYPT, decode_layer
from iotsec.core.cose.encrypt import EncryptMessage, _decode_usual
from iotsec.core.cose.recipient import Recipient
from iotsec.core.suit.encryption import encrypt_payload
from iotsec.errors import IotSecError

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _general(data: object) -> EncryptMessage:
    """EncryptMessage.decode without the usual-shape path (its general body)."""
    from iotsec.errors import ValidationError

    layer = decode_layer(data, tag=TAG_ENCRYPT, name="COSE_Encrypt", size=4)
    items = layer.rest[0]
    if not isinstance(items, list) or not items:
        raise ValidationError(
            "recipients must be a non-empty array", reason="cose.recipient.structure", path=(3,)
        )
    return EncryptMessage(layer, [Recipient.from_item(r, path=(3, i)) for i, r in enumerate(items)])


def _outcome(f: Any) -> tuple[Any, ...]:
    try:
        return ("ok", f())
    except IotSecError as err:
        return ("error", type(err).__name__, err.reason, str(err), getattr(err, "path", None))


def _same(obj: CBORTag) -> None:
    assert _outcome(lambda: EncryptMessage.decode(obj)) == _outcome(lambda: _general(obj))
    fast = _decode_usual(obj)
    if fast is not None:
        assert fast == _general(obj)


_LABELS = st.sampled_from([1, 2, 3, 4, 5, 6, -1, -20, -21, 33, "x", True, 7])
_VALUES = st.one_of(
    st.integers(-40, 40),
    st.binary(max_size=20),
    st.text(max_size=3),
    st.booleans(),
    st.none(),
    st.lists(st.integers(-3, 7), max_size=2),
    st.dictionaries(st.integers(-3, 3), st.binary(max_size=4), max_size=2),
)
_MAPS = st.dictionaries(_LABELS, _VALUES, max_size=3)


def _prot(m: dict[Any, Any], raw: bytes | None) -> bytes:
    if raw is not None:
        return raw
    try:
        return cbor.dumps(m) if m else b""
    except IotSecError:
        return b"\xa0"


_PROT = st.builds(_prot, _MAPS, st.one_of(st.none(), st.binary(max_size=6), st.just(b"\xa0")))
_CT = st.one_of(st.none(), st.binary(max_size=24), st.integers(0, 3))
_RECIPIENT = st.one_of(
    st.builds(lambda p, u, c: [p, u, c], _PROT, _MAPS, _CT),
    st.builds(lambda p, u, c: [p, u, c, []], _PROT, _MAPS, _CT),
    st.lists(st.binary(max_size=3), max_size=2),
    st.binary(max_size=3),
)


@SETTINGS
@given(
    tag=st.sampled_from([96, 96, 96, 16]),
    prot=_PROT,
    unprot=st.one_of(_MAPS, st.binary(max_size=2)),
    ct=_CT,
    recipients=st.one_of(st.lists(_RECIPIENT, max_size=3), st.binary(max_size=2)),
    extra=st.booleans(),
)
def test_usual_shape_matches_the_general_decoder(
    tag: int, prot: bytes, unprot: Any, ct: Any, recipients: Any, extra: bool
) -> None:
    items = [prot, unprot, ct, recipients] + ([b""] if extra else [])
    _same(CBORTag(tag, items))


@SETTINGS
@given(
    alg=st.sampled_from([Algorithm.A128GCM, Algorithm.A128CTR, Algorithm.CHACHA20_POLY1305]),
    label=_LABELS,
    value=_VALUES,
    where=st.sampled_from(["prot", "unprot", "r_prot", "r_unprot"]),
)
def test_suit_encryption_info_with_one_header_changed(alg: int, label: Any, value: Any, where: str) -> None:
    ep = encrypt_payload(b"x" * 20, [KEY.public()], alg)
    obj = cbor.loads(ep.info)
    _same(obj)  # the real thing
    v = obj.value
    r = v[3][0]
    if where == "prot":
        m = cbor.loads(v[0]) if v[0] else {}
        m[label] = value
        v[0] = _prot(m, None)
    elif where == "unprot":
        v[1][label] = value
    elif where == "r_prot":
        m = cbor.loads(r[0]) if r[0] else {}
        m[label] = value
        r[0] = _prot(m, None)
    else:
        r[1][label] = value
    _same(obj)


KEY = CoseKey.generate(Algorithm.ECDH_ES_A128KW, kid=b"dev")
