"""The shortcuts on the encrypted-install path change speed, not results.

* ``with_components`` hands back the manifest itself when the component table adds nothing
  (no dependency beyond suit-components), and the validation warnings are those of the rebuilt one.
* ``trust.authenticate`` checks the severed members once, after the signatures: a member that
  does not match still refuses the envelope as "no authentication block verifies" (what checking
  them per candidate key gave).
* ``EncryptionInfo`` looks its content algorithm up once: the properties read after decoding
  are those of a fresh look-up.
* AES-CTR in memory is decrypted straight into the image: the bytes ``cryptography`` gives.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from iotsec.core.cose import Algorithm, CoseKey
from iotsec.core.cose import ciphers as cc
from iotsec.core.suit.auth import sign_envelope
from iotsec.core.suit.builder_ext import build_extended
from iotsec.core.suit.companion_ops import with_components
from iotsec.core.suit.encryption import EncryptionInfo, _ctr_decrypt, encrypt_payload
from iotsec.core.suit.model import Envelope
from iotsec.core.suit.processor import resolve_sequences
from iotsec.core.suit.trust import as_authorities, authenticate
from iotsec.core.suit.validate import check_manifest
from iotsec.errors import VerifyError

SIGNER = CoseKey.generate(Algorithm.ES256)
DEVICE = CoseKey.generate(Algorithm.ECDH_ES_A128KW, kid=b"dev")


def _envelope(alg: int) -> tuple[Envelope, bytes]:
    plain = b"firmware" * 10
    ep = encrypt_payload(plain, [DEVICE.public()], alg)
    comp = {
        "component-id": ["app"],
        "uri": "https://cdn.example/app.enc",
        "encrypted": {"info": "app.info"},
        "install-digest": {"algorithm-id": "sha256", "digest-bytes": hashlib.sha256(plain).hexdigest()},
        "install-size": len(plain),
    }
    env = build_extended({"manifest-sequence-number": 1, "components": [comp]}, {"app.info": ep.info})
    return sign_envelope(env, keys=[(SIGNER, Algorithm.ES256)]), ep.info


def test_with_components_returns_the_manifest_when_nothing_is_added() -> None:
    env, _ = _envelope(Algorithm.A128GCM)
    man = env.manifest
    same = with_components(env, tuple(man.components))
    assert same is man
    rebuilt = replace(man, common=replace(man.common, components=tuple(man.components)))
    seqs = resolve_sequences(env)
    assert check_manifest(same, seqs) == check_manifest(rebuilt, seqs)
    more = (*man.components, (b"dep",))
    assert with_components(env, more).components == more


def test_severed_member_mismatch_is_no_verified_signer() -> None:
    env, _ = _envelope(Algorithm.A128GCM)
    anchors = as_authorities([SIGNER.public()])
    assert [a.key for a in authenticate(env, anchors, 0)] == [anchors[0].key]
    # a severed member the manifest holds no digest for
    odd = replace(env, severed={20: b"\x80"})
    with pytest.raises(VerifyError) as e:
        authenticate(odd, anchors, 0)
    assert e.value.reason == "suit.auth.failed"
    assert str(e.value) == "no authentication block verifies with a trusted key"
    # and no trusted key at all
    with pytest.raises(VerifyError) as e:
        authenticate(env, as_authorities([CoseKey.generate(Algorithm.ES256).public()]), 0)
    assert e.value.reason == "suit.auth.failed"


@pytest.mark.parametrize("alg", [Algorithm.A128GCM, Algorithm.A128CTR, Algorithm.CHACHA20_POLY1305])
def test_encryption_info_properties_match_a_fresh_lookup(alg: int) -> None:
    _, info_bytes = _envelope(alg)
    info = EncryptionInfo.decode(info_bytes)
    spec = cc.cipher_spec(info.content_alg)
    assert info.aead == spec.aead
    assert info._cipher_params()[0] == spec.alg
    assert info == EncryptionInfo(info.message, info.encoded)  # the cache is not a field
    assert "_spec" not in repr(info)


@settings(max_examples=60, deadline=None)
@given(plain=st.binary(max_size=3000), view=st.booleans())
def test_ctr_into_the_image_matches_cryptography(plain: bytes, view: bool) -> None:
    # AES-CTR decrypted by one update_into into the BytesIO image: the bytes of the one-shot call
    key, iv = bytes(range(16)), bytes(range(16, 32))
    enc = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    ct = enc.update(plain) + enc.finalize()
    out = _ctr_decrypt(cc.decryptor(Algorithm.A128CTR, key, iv), memoryview(ct) if view else ct)
    assert type(out) is bytes and out == plain


def test_anchor_authority_is_the_dataclass_one() -> None:
    from iotsec.core.suit.trust import Authority, pattern

    key = SIGNER.public()
    assert Authority.anchor("oem", key) == Authority("oem", key, (None,))
    scope = [pattern(["app"]), pattern(["cfg"], prefix=True)]
    a = Authority.anchor("op", key, scope)
    b = Authority("op", key, (tuple(scope),))
    assert a == b and repr(a) == repr(b) and hash(a.scopes) == hash(b.scopes)
    assert a.covers((b"cfg", b"x")) and not a.covers((b"boot",))
    with pytest.raises(AttributeError):
        a.name = "other"  # type: ignore[misc]  # still frozen
