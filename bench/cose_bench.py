"""COSE benchmark: COSE_Sign1 verify/sign through iotsec vs the raw ``cryptography`` calls.

* ES256 verify: ``Sign1Message.decode(data).verify(key)`` (strict CBOR decode, header checks,
  Sig_structure, r||s -> DER, ECDSA verify) vs ``public_key.verify(der, tbs, ECDSA(SHA256))`` on
  the same signatures, DER-converted and Sig_structures built beforehand. Target ratio >= 0.85.
* ES256 sign, Ed25519 verify/sign, HMAC 256/256 Mac0 verify: same comparison.

Run: ``.venv/bin/python bench/cose_bench.py [--json]``.
"""

from __future__ import annotations

import hmac
import itertools
import time
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from harness import Result, rate, report
from iotsec.core.cose import CoseKey, Mac0Message, Sign1Message, mac0, sign1

N = 64  # distinct messages cycled through, so no result is cached anywhere
PAYLOAD = b"\x00" * 200  # a small manifest / token sized payload
ROUNDS = 80  # batches of each side, alternating
BATCH = 40  # calls per batch


def paired(
    name: str,
    ours: Callable[[], object],
    raw: Callable[[], object],
    unit: str,
    *,
    target: float | None = None,
) -> Result:
    """Measure ``ours`` and ``raw`` in alternating small batches; keep the fastest batch of each.

    On a shared, loaded machine the fastest batch is the one least disturbed by other jobs, and
    alternating batches exposes both sides to the same conditions, so the ratio stays meaningful.
    """
    rate(ours, seconds=0.2)  # warm up both (and check they run)
    rate(raw, seconds=0.2)
    best_ours = best_raw = float("inf")
    for _ in range(ROUNDS):
        for fn, is_ours in ((ours, True), (raw, False)):
            start = time.perf_counter()
            for _ in range(BATCH):
                fn()
            elapsed = (time.perf_counter() - start) / BATCH
            if is_ours:
                best_ours = min(best_ours, elapsed)
            else:
                best_raw = min(best_raw, elapsed)
    return Result(name, 1 / best_ours, 1 / best_raw, unit, target)


def main() -> None:
    results: list[Result] = []

    # -- ES256 verify
    key = CoseKey.generate("ES256", kid="bench")
    pub = key.public()
    msgs = [sign1(PAYLOAD + i.to_bytes(2, "big"), key) for i in range(N)]
    raw_pub = pub.public_key
    assert isinstance(raw_pub, ec.EllipticCurvePublicKey)
    prepared = []
    for m in msgs:
        d = Sign1Message.decode(m)
        der = encode_dss_signature(
            int.from_bytes(d.signature[:32], "big"), int.from_bytes(d.signature[32:], "big")
        )
        prepared.append((der, d.to_be_signed()))
    ecdsa = ec.ECDSA(hashes.SHA256())
    it_msgs = itertools.cycle(msgs)
    it_raw = itertools.cycle(prepared)

    def iotsec_verify() -> None:
        Sign1Message.decode(next(it_msgs)).verify(pub)

    def raw_verify() -> None:
        der, tbs = next(it_raw)
        raw_pub.verify(der, tbs, ecdsa)

    results.append(paired("COSE_Sign1 ES256 verify", iotsec_verify, raw_verify, "verify/s", target=0.85))

    # -- ES256 sign
    priv = key.private_key
    assert isinstance(priv, ec.EllipticCurvePrivateKey)
    tbs0 = prepared[0][1]
    results.append(
        paired("COSE_Sign1 ES256 sign", lambda: sign1(PAYLOAD, key), lambda: priv.sign(tbs0, ecdsa), "sign/s")
    )

    # -- Ed25519
    ekey = CoseKey.generate("Ed25519", kid="bench")
    epub = ekey.public()
    emsgs = [sign1(PAYLOAD + i.to_bytes(2, "big"), ekey) for i in range(N)]
    eprep = [(Sign1Message.decode(m).signature, Sign1Message.decode(m).to_be_signed()) for m in emsgs]
    eraw = epub.public_key
    assert isinstance(eraw, ed25519.Ed25519PublicKey)
    it_e, it_er = itertools.cycle(emsgs), itertools.cycle(eprep)

    def e_verify() -> None:
        Sign1Message.decode(next(it_e)).verify(epub)

    def e_raw() -> None:
        sig, tbs = next(it_er)
        eraw.verify(sig, tbs)

    results.append(paired("COSE_Sign1 Ed25519 verify", e_verify, e_raw, "verify/s"))
    epriv = ekey.private_key
    assert isinstance(epriv, ed25519.Ed25519PrivateKey)
    results.append(
        paired(
            "COSE_Sign1 Ed25519 sign", lambda: sign1(PAYLOAD, ekey), lambda: epriv.sign(eprep[0][1]), "sign/s"
        )
    )

    # -- HMAC 256/256 Mac0 verify (raw: hmac.digest + compare_digest of the same MAC_structure)
    hkey = CoseKey.generate("HMAC 256/256", kid="bench")
    hmsgs = [mac0(PAYLOAD + i.to_bytes(2, "big"), hkey) for i in range(N)]
    hprep = [(Mac0Message.decode(m).tag, Mac0Message.decode(m).to_be_maced()) for m in hmsgs]
    it_h, it_hr = itertools.cycle(hmsgs), itertools.cycle(hprep)
    k = hkey.k

    def h_verify() -> None:
        Mac0Message.decode(next(it_h)).verify(hkey)

    def h_raw() -> None:
        tag, tbm = next(it_hr)
        if not hmac.compare_digest(hmac.digest(k, tbm, "sha256"), tag):
            raise AssertionError

    results.append(paired("COSE_Mac0 HMAC 256/256 verify", h_verify, h_raw, "verify/s"))
    report(results)


if __name__ == "__main__":
    main()
