"""Property tests: hostile input to the encryption decoders gives only IotSecError subclasses,
and any change to ciphertext or tag gives VerifyError."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iotsec.core import cbor
from iotsec.core.cose import CoseKey
from iotsec.core.cose.algorithms import Algorithm, Curve
from iotsec.core.cose.encrypt import EncryptMessage, encrypt
from iotsec.core.cose.encrypt0 import Encrypt0Message, encrypt0
from iotsec.core.cose.recipient import RecipientSpec
from iotsec.errors import IotSecError, VerifyError

KEY = CoseKey.symmetric(bytes(range(16)), kid="k")
KEK = CoseKey.symmetric(bytes(range(32)), kid="kek")
BOB = CoseKey.generate(Algorithm.ECDH_ES_A128KW, kid="bob", curve=Curve.P_256)
MSG0 = encrypt0(b"hello world" * 3, KEY, Algorithm.A128GCM, unprotected={"kid": b"k"})
MSG = encrypt(
    b"hello world" * 3,
    [RecipientSpec(Algorithm.A256KW, KEK), RecipientSpec(Algorithm.ECDH_ES_A128KW, BOB.public())],
    Algorithm.A128GCM,
)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _decrypt_any(data: bytes) -> None:
    """Everything a receiver would do with untrusted bytes."""
    for decode, keys in (
        (Encrypt0Message.decode, (KEY,)),
        (EncryptMessage.decode, (KEK, BOB)),
    ):
        try:
            msg = decode(data)
        except IotSecError:
            continue
        for k in keys:
            with contextlib.suppress(IotSecError):
                msg.decrypt(k, allow_unprotected_alg=True)  # type: ignore[arg-type]


@SETTINGS
@given(st.binary(max_size=300))
def test_random_bytes_only_typed_errors(blob: bytes) -> None:
    _decrypt_any(blob)


@SETTINGS
@given(st.data())
def test_mutated_messages_only_typed_errors(data: st.DataObject) -> None:
    base = bytearray(data.draw(st.sampled_from([MSG0, MSG])))
    op = data.draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
    i = data.draw(st.integers(0, len(base) - 1))
    if op == "flip":
        base[i] ^= data.draw(st.integers(1, 255))
    elif op == "truncate":
        del base[i:]
    elif op == "insert":
        base[i:i] = data.draw(st.binary(min_size=1, max_size=8))
    else:
        del base[i : i + data.draw(st.integers(1, 8))]
    _decrypt_any(bytes(base))


def _structured_cbor() -> st.SearchStrategy[object]:
    leaves = st.one_of(
        st.none(), st.booleans(), st.integers(-70000, 70000), st.binary(max_size=40), st.text(max_size=8)
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=5),
            st.dictionaries(st.integers(-30, 10) | st.text(max_size=3), inner, max_size=5),
        ),
        max_leaves=25,
    )


@SETTINGS
@given(_structured_cbor(), st.sampled_from([None, 16, 96]))
def test_well_formed_but_wrong_structures_only_typed_errors(obj: object, tag: int | None) -> None:
    """Valid CBOR of the right general shape but wrong contents (headers, recipients, keys)."""
    try:
        data = cbor.dumps(cbor.tag(tag, obj) if tag else obj)
    except IotSecError:
        return
    _decrypt_any(data)


@SETTINGS
@given(st.data())
def test_tampered_ciphertext_is_verify_error(data: st.DataObject) -> None:
    obj = cbor.loads(MSG0)
    ct = bytearray(obj.value[2])
    i = data.draw(st.integers(0, len(ct) - 1))
    ct[i] ^= data.draw(st.integers(1, 255))
    obj.value[2] = bytes(ct)
    msg = Encrypt0Message.decode(cbor.dumps(obj))
    try:
        msg.decrypt(KEY)
    except VerifyError:
        return
    raise AssertionError("tampered ciphertext decrypted")


@SETTINGS
@given(st.data())
def test_tampered_wrapped_key_or_content_is_verify_error(data: st.DataObject) -> None:
    obj = cbor.loads(MSG)
    which = data.draw(st.sampled_from(["content", "wrapped"]))
    target = bytearray(obj.value[2] if which == "content" else obj.value[3][0][2])
    i = data.draw(st.integers(0, len(target) - 1))
    target[i] ^= data.draw(st.integers(1, 255))
    if which == "content":
        obj.value[2] = bytes(target)
    else:
        obj.value[3][0][2] = bytes(target)
    msg = EncryptMessage.decode(cbor.dumps(obj))
    try:
        msg.decrypt(KEK)
    except VerifyError:
        return
    raise AssertionError("tampered message decrypted")


def _layer_or_error(data: bytes | object) -> object:
    from iotsec.core.cose.enc_common import TAG_ENCRYPT0, decode_layer

    try:
        layer = decode_layer(data, tag=TAG_ENCRYPT0, name="COSE_Encrypt0", size=3)
    except IotSecError as exc:
        return type(exc)
    ct = layer.ciphertext
    return (
        layer.tagged,
        layer.protected_bytes,
        layer.protected,
        layer.unprotected,
        None if ct is None else bytes(ct),
    )


@SETTINGS
@given(st.data())
def test_encrypt0_fast_path_accepts_exactly_what_the_strict_decoder_accepts(data: st.DataObject) -> None:
    """decode_layer(bytes) may take the zero-copy path; decode_layer(parsed item) never does."""
    base = bytearray(MSG0)
    for _ in range(data.draw(st.integers(0, 3))):
        i = data.draw(st.integers(0, len(base) - 1))
        base[i] = data.draw(st.integers(0, 255))
    blob = bytes(base)
    try:
        item = cbor.loads(blob)
    except IotSecError:
        fast = _layer_or_error(blob)  # the strict decoder refuses: so must the fast path
        assert isinstance(fast, type) and issubclass(fast, IotSecError)
        return
    assert _layer_or_error(blob) == _layer_or_error(item)


@SETTINGS
@given(
    st.dictionaries(
        st.sampled_from([1, 2, 3, 4, 5, -1, -2, -3, -4, "x"]),
        st.one_of(
            st.integers(-70000, 70000), st.binary(max_size=70), st.booleans(), st.text(max_size=4), st.none()
        ),
        max_size=6,
    ),
    st.sampled_from([-1, -2, -20, -22, -25]),
)
def test_hostile_recipient_header_values_only_typed_errors(value: dict[object, object], label: int) -> None:
    """Ephemeral/static keys, salt and party nonces with hostile contents (RFC 9053 §6.3.1)."""
    obj = cbor.loads(MSG)
    for rec in obj.value[3]:
        rec[1][label] = value if label in (-1, -2) else next(iter(value.values()), b"")
    data = cbor.dumps(obj)
    for key in (BOB, KEK):
        with contextlib.suppress(IotSecError):
            EncryptMessage.decode(data).decrypt(key)
