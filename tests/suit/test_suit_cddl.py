"""Encoder output against the draft's CDDL with pycddl (see suit_cddl.py for what pycddl can check)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from suit_cddl import Schemas, schemas, validate_envelope
from suit_vectors import EXAMPLES, load_example, private_key_pem

from iotsec.core import cbor
from iotsec.core.cose import CoseKey
from iotsec.core.suit import builder, codec
from iotsec.core.suit.auth import sign_envelope


@pytest.fixture(scope="module")
def schema(shared_vectors: Path) -> Schemas:
    return schemas((shared_vectors / "suit" / "cddl" / "draft-ietf-suit-manifest.cddl").read_text())


@pytest.mark.parametrize("name", EXAMPLES)
def test_spec_examples_validate(schema: Schemas, shared_vectors: Path, name: str) -> None:
    for blob in load_example(shared_vectors, name).blocks:
        validate_envelope(schema, blob)


def test_the_schema_rejects_what_the_spec_forbids(schema: Schemas, shared_vectors: Path) -> None:
    obj = cbor.loads(load_example(shared_vectors, "example0").signed)
    bad = [
        {**obj.value, 3: cbor.dumps({1: 1, 2: -1, 3: cbor.loads(obj.value[3])[3]})},  # nint sequence number
        {**obj.value, 3: cbor.dumps({1: 2, 2: 0, 3: cbor.loads(obj.value[3])[3]})},  # version 2
        {2: obj.value[2]},  # no manifest
        {**obj.value, 3: cbor.dumps({1: 1, 2: 0, 3: cbor.dumps({2: [[1]]})})},  # component id not bstr
        {**obj.value, 3: cbor.dumps({1: 1, 2: 0, 3: cbor.loads(obj.value[3])[3], 4: b"uri"})},  # uri not tstr
    ]
    for m in bad:
        with pytest.raises(Exception):  # noqa: B017 - pycddl raises its own ValidationError type
            schema[0].validate_cbor(cbor.dumps(cbor.tag(107, m)))


_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=1, max_size=12)
_component = st.fixed_dictionaries(
    {"component-id": st.lists(_names, min_size=1, max_size=3)},
    optional={
        "vendor-domain": _names,
        "model-info": _names,
        "file": st.sampled_from(["a.bin", "b.bin"]),
        "uri": st.sampled_from(["https://example.com/a.bin", "coap://[2001:db8::1]/fw", "#a.bin"]),
        "slot": st.integers(0, 3),
        "bootable": st.booleans(),
        "device-id": st.uuids().map(str),
        "description": st.fixed_dictionaries(
            {
                "en": st.fixed_dictionaries(
                    {}, optional={"component-version": _names, "vendor-name": _names, "model-name": _names}
                )
            }
        ),
    },
)
_description = st.fixed_dictionaries(
    {
        "manifest-sequence-number": st.integers(0, 2**63),
        "components": st.lists(
            _component, min_size=1, max_size=4, unique_by=lambda c: tuple(c["component-id"])
        ),
    },
    optional={
        "reference-uri": st.just("https://example.com/m.suit"),
        "sever": st.lists(st.sampled_from(["install", "text"]), unique=True),
        "description": st.fixed_dictionaries(
            {
                "en-US": st.fixed_dictionaries(
                    {}, optional={"manifest-description": _names, "update-description": _names}
                )
            }
        ),
    },
)
IMAGES = {"a.bin": b"a" * 1000, "b.bin": b"b" * 300}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(desc=_description)
def test_builder_output_validates(schema: Schemas, shared_vectors: Path, desc: dict) -> None:  # type: ignore[type-arg]
    for c in desc["components"]:
        if "model-info" in c and "vendor-domain" not in c:
            c["vendor-domain"] = "example.com"
    env = builder.build(desc, IMAGES)
    blob = codec.encode(env)
    validate_envelope(schema, blob)
    decoded = codec.decode(blob)  # and the strict decoder agrees
    assert codec.encode(decoded) == blob
    key = CoseKey.load(private_key_pem(shared_vectors))
    validate_envelope(schema, codec.encode(sign_envelope(env, keys=[(key, -7)])))


_ab = st.builds(
    lambda cid, slots, uri, files: {
        "manifest-sequence-number": 3,
        "components": [
            {
                "component-id": cid,
                "slot": s,
                "vendor-domain": "example.com",
                "model-info": "m",
                **({"uri": f"https://example.com/{s}.bin"} if uri else {}),
                **({"file": f} if f else {}),
            }
            for s, f in zip(slots, files, strict=False)
        ],
    },
    st.lists(_names, min_size=1, max_size=2),
    st.lists(st.integers(0, 5), min_size=2, max_size=3, unique=True),
    st.booleans(),
    st.lists(st.sampled_from([None, "a.bin", "b.bin"]), min_size=3, max_size=3),
)
_dl = st.builds(
    lambda boot, load, dl: {
        "manifest-sequence-number": 4,
        "components": [
            {
                "install-id": ["00"],
                "file": "a.bin",
                "uri": "https://example.com/a.bin",
                "bootable": boot,
                **(
                    {
                        "loadable": True,
                        "load-id": ["01"],
                        "load-digest": {"algorithm-id": "sha256", "digest-bytes": "11" * 32},
                        "load-size": 5,
                    }
                    if load
                    else {}
                ),
                **(
                    {
                        "download-id": ["02"],
                        "download-digest": {"algorithm-id": "sha256", "digest-bytes": "22" * 32},
                    }
                    if dl
                    else {}
                ),
            }
        ],
    },
    st.booleans(),
    st.booleans(),
    st.booleans(),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(desc=st.one_of(_ab, _dl))
def test_template_output_validates(schema: Schemas, desc: dict) -> None:  # type: ignore[type-arg]
    blob = codec.encode(builder.build(desc, IMAGES))
    validate_envelope(schema, blob)
    assert codec.encode(codec.decode(blob, allow_unsigned=True)) == blob


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 2**70) | st.text(max_size=6) | st.floats(allow_nan=True),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c, max_size=3),
    max_leaves=8,
)
_keys = st.sampled_from(
    [
        "install-id",
        "component-id",
        "vendor-id",
        "class-id",
        "vendor-domain",
        "model-info",
        "device-id",
        "file",
        "install-digest",
        "install-size",
        "uri",
        "integrated",
        "slot",
        "bootable",
        "description",
        "download-id",
        "load-id",
        "loadable",
        "load-digest",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    top=st.dictionaries(
        st.sampled_from(
            [
                "manifest-sequence-number",
                "reference-uri",
                "sever",
                "severable",
                "description",
                "manifest-version",
            ]
        ),
        _json,
        max_size=4,
    ),
    comps=st.lists(st.dictionaries(_keys, _json, max_size=6), max_size=3),
    seq=st.integers(-1, 5),
)
def test_hostile_descriptions_give_typed_errors(top: dict, comps: list, seq: int) -> None:  # type: ignore[type-arg]
    import contextlib

    from iotsec.errors import IotSecError

    desc = {**top, "components": comps}
    if seq >= 0:
        desc["manifest-sequence-number"] = seq
    with contextlib.suppress(IotSecError):
        codec.decode(codec.encode(builder.build(desc, IMAGES)), allow_unsigned=True)
