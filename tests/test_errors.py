from iotsec.errors import DecodeError, IotSecError, PolicyError, ValidationError, VerifyError


def test_tree_and_reason_codes() -> None:
    for cls in (DecodeError, ValidationError, VerifyError, PolicyError):
        assert issubclass(cls, IotSecError)
    err = ValidationError("bad sequence number", reason="suit.seq", path=("manifest", 2))
    assert err.reason == "suit.seq"
    assert str(err) == "bad sequence number (at /manifest/2)"
    outer = err.at("envelope")
    assert outer.path == ("envelope", "manifest", 2)
    assert outer.as_dict() == {
        "error": "ValidationError",
        "reason": "suit.seq",
        "message": "bad sequence number",
        "path": "/envelope/manifest/2",
    }
    assert DecodeError("x").reason == "decode.malformed"
